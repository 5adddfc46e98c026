/* test_tenants: tenant records in NATS KV: registration, suspension, live changes,
 * revision-checked updates, and open event streams cut by a suspension. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "rfq_tenant_kv.h"
#include "scenarios.h"

#define LIVE_BOUND_MS 1000 /* a change must reach every requester within this */
/* A watch without its consumer is replaced after 6 s of silence, then resyncs. */
#define WATCH_LOST_BOUND_MS 10000

/* ---- tenant records, written the way rfqctl does (through the test's admin client) ---- */

static kvStore *the_bucket;

static kvStore *bucket(void)
{
    if (!the_bucket)
        H_CHECK(rfq_tenant_bucket_open(&the_bucket, h_js(), true) == RFQ_OK, "open %s",
                RFQ_TENANTS_BUCKET);
    return the_bucket;
}

/* Before the harness closes the test's NATS client. */
static void bucket_close(void)
{
    kvStore_Destroy(the_bucket);
    the_bucket = NULL;
}

/* Record and Redis user (the harness's registration, as rfqctl tenant create/set does). */
static void rec_put(struct rfq_tenant_rec *r)
{
    h_tenant_put(r);
}

static void rec_delete(const char *tenant)
{
    struct rfq_err err = {{0}, {0}};
    H_CHECK(rfq_tenant_delete(bucket(), tenant, &err) == RFQ_OK, "delete tenant %s: %s", tenant,
            err.message);
}

/* ---- HTTP and NATS probes ---- */

/* Status of GET path, and the error message of a 403 into msg (may be NULL). */
static long get_status(const struct h_proc *req, const char *token, const char *path, char *msg,
                       size_t cap)
{
    struct h_resp r;
    h_http(&r, req, "GET", path, token, NULL, NULL, 0);
    long st = r.status;
    if (msg) {
        const char *m = h_jstr(json_object_get(r.json, "error"), "message");
        snprintf(msg, cap, "%s", m ? m : "");
    }
    h_resp_free(&r);
    return st;
}

/* Poll GET path until it answers want (bounded); returns the wait in ms, -1 on timeout. */
static long long wait_status(const struct h_proc *req, const char *token, const char *path,
                             long want, int bound_ms)
{
    int64_t t0 = h_now_ms();
    for (;;) {
        long st = get_status(req, token, path, NULL, 0);
        int64_t dt = h_now_ms() - t0;
        if (st == want)
            return dt;
        if (dt > bound_ms)
            return -1;
        h_sleep_ms(2);
    }
}

/* Delete every consumer of the tenant bucket's stream (the requesters' watches); returns how
 * many there were. */
static int delete_watch_consumers(void)
{
    jsConsumerNamesList *names = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_ConsumerNames(&names, h_js(), "KV_" RFQ_TENANTS_BUCKET, NULL, &jerr);
    if (s == NATS_NOT_FOUND)
        return 0;
    H_CHECK(s == NATS_OK, "consumer names of KV_%s: %s (js error %d)", RFQ_TENANTS_BUCKET,
            natsStatus_GetText(s), (int)jerr);
    int n = names->Count;
    for (int i = 0; i < n; i++)
        H_CHECK(js_DeleteConsumer(h_js(), "KV_" RFQ_TENANTS_BUCKET, names->List[i], NULL, NULL) ==
                    NATS_OK,
                "delete consumer %s", names->List[i]);
    jsConsumerNamesList_Destroy(names);
    return n;
}

static void expect_403(const struct h_resp *r, const char *message, const char *what)
{
    h_check_error(r, 403, "forbidden", what);
    const char *m = h_jstr(json_object_get(r->json, "error"), "message");
    H_CHECK(m && strcmp(m, message) == 0, "%s: message \"%s\", expected \"%s\"", what,
            m ? m : "(none)", message);
}

/* Every /v1 endpoint answers 403 with message for token. id names an RFQ (existing or not). */
static void expect_all_403(const struct h_proc *req, const char *token, const char *id,
                           const char *message)
{
    struct h_resp r;
    char *body = h_submit_body("eu-west", 0, 0);
    h_http(&r, req, "POST", "/v1/rfqs", token, "application/json", body, strlen(body));
    expect_403(&r, message, "POST /v1/rfqs");
    h_resp_free(&r);
    free(body);
    char path[160];
    const char *fmts[] = {"/v1/rfqs",
                          "/v1/rfqs/%s",
                          "/v1/rfqs/%s/quotes",
                          "/v1/rfqs/%s/events",
                          "/v1/rfqs?status=open&limit=5",
                          "/v1/usage"};
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        snprintf(path, sizeof(path), fmts[i], id);
        h_http(&r, req, "GET", path, token, NULL, NULL, 0);
        char what[200];
        snprintf(what, sizeof(what), "GET %s", path);
        expect_403(&r, message, what);
        h_resp_free(&r);
    }
}

/* NATS submit (rfq.v1.submit) with token: the Rfq-Status header, and the reply's JSON (new). */
static json_t *nats_submit(const char *token, char *status, size_t cap)
{
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", token);
    char *body = h_submit_body("eu-west", 0, 0);
    natsMsg *m = NULL, *reply = NULL;
    natsStatus s = natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, NULL, body, (int)strlen(body));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_AUTH, auth);
    if (s == NATS_OK)
        s = natsConnection_RequestMsg(&reply, h_nc(), m, 5000);
    natsMsg_Destroy(m);
    free(body);
    H_CHECK(s == NATS_OK, "request on %s: %s", RFQ_SUBJECT_SUBMIT, natsStatus_GetText(s));
    const char *v = NULL;
    status[0] = '\0';
    if (natsMsgHeader_Get(reply, RFQ_HDR_STATUS, &v) == NATS_OK && v)
        snprintf(status, cap, "%s", v);
    json_t *j = json_loadb(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 0, NULL);
    natsMsg_Destroy(reply);
    return j;
}

static void expect_nats_403(const char *token, const char *message)
{
    char status[16];
    json_t *j = nats_submit(token, status, sizeof(status));
    H_CHECK_STR(status, "403", "Rfq-Status of a NATS submit");
    json_t *e = json_object_get(j, "error");
    H_CHECK_STR(h_jstr(e, "code"), "forbidden", "NATS submit error code");
    H_CHECK_STR(h_jstr(e, "message"), message, "NATS submit error message");
    json_decref(j);
}

/* Number of Redis keys of tenant (the admin client sees every key). */
static long long tenant_key_count(const char *tenant)
{
    char pattern[RFQ_KEY_MAX];
    snprintf(pattern, sizeof(pattern), "rfq:%s:*", tenant);
    long long n = 0;
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(h_redis(), "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        H_CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "SCAN failed");
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        n += (long long)r->element[1]->elements;
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return n;
}

/* ---- rfqctl ---- */

#ifdef RFQ_IT_RFQCTL_BIN
/* No password or secret of the scenario in rfqctl's output. */
static void check_no_secret(const struct h_ctl_run *o, const char *what)
{
    h_check_no_secret(o->out, o->err, what);
}

static void ctl_expect(struct h_ctl_run *o, const char *const *env, const char *const *args, int rc,
                       const char *out_has, const char *what)
{
    h_rfqctl(o, env, args);
    H_CHECK(o->rc == rc, "%s: rfqctl exit %d, expected %d; stdout: %s; stderr: %s", what, o->rc, rc,
            o->out, o->err);
    H_CHECK(!out_has || strstr(o->out, out_has), "%s: stdout lacks \"%s\": %s", what, out_has,
            o->out);
}

/* The admin tool end to end: record, Redis user, exit codes, and the API's view of it. */
static void registry_rfqctl(const struct h_proc *req)
{
    struct h_ctl_run o;
    char secret_env[700], admin_env[600];
    /* The requester's secret: the Redis user rfqctl makes must have the password the
     * requester derives. */
    snprintf(secret_env, sizeof(secret_env), "RFQ_TENANT_SECRET_FILE=%s", h_secret_path());
    snprintf(admin_env, sizeof(admin_env), "RFQ_REDIS_ADMIN_URL=%s", h_redis_admin_url());
    const char *const admin[] = {secret_env, admin_env, NULL};

    /* Without a Redis admin URL: record only, and a warning. */
    ctl_expect(&o, NULL,
               (const char *[]){"tenant", "create", "t-ctl", "--tier", "premium",
                                "--default-max-quotes", "4", NULL},
               0, "tenant t-ctl created", "create");
    H_CHECK(strstr(o.err, "no Redis user rfq-t-t-ctl was made"), "create without Redis: %s", o.err);
    /* Again with the same settings: idempotent, and now the Redis user is made. */
    ctl_expect(&o, admin,
               (const char *[]){"tenant", "create", "t-ctl", "--default-max-quotes", "4", NULL}, 0,
               "exists already", "create again");
    H_CHECK(strstr(o.out, "redis user rfq-t-t-ctl set up"), "create again: %s", o.out);
    redisReply *r = redisCommand(h_redis(), "ACL GETUSER rfq-t-t-ctl");
    H_CHECK(r && r->type == REDIS_REPLY_ARRAY, "ACL user rfq-t-t-ctl missing after create");
    freeReplyObject(r);
    check_no_secret(&o, "create again");
    /* Other settings on an existing tenant: refused, record unchanged. */
    ctl_expect(&o, NULL, (const char *[]){"tenant", "create", "t-ctl", "--tier", "basic", NULL}, 1,
               NULL, "create with other settings");
    ctl_expect(&o, NULL, (const char *[]){"tenant", "get", "t-ctl", NULL}, 0, "premium", "get");
    ctl_expect(&o, NULL, (const char *[]){"tenant", "get", "t-ctl", "--json", NULL}, 0, NULL,
               "get --json");
    json_t *j = json_loads(o.out, 0, NULL);
    H_CHECK(j, "get --json is not JSON: %s", o.out);
    H_CHECK_STR(h_jstr(j, "tenant_id"), "t-ctl", "get --json tenant_id");
    H_CHECK_STR(h_jstr(j, "status"), "active", "get --json status");
    H_CHECK_INT(h_jint(j, "default_max_quotes", -1), 4, "get --json default_max_quotes");
    json_decref(j);
    ctl_expect(&o, NULL, (const char *[]){"tenant", "list", NULL}, 0, "t-ctl", "list");

    /* The API follows: the record's default applies, suspension refuses within a second. */
    char *tok = h_token("t-ctl", "basic", 3600);
    char id[RFQ_ID_MAX + 1];
    char *body = h_submit_body("eu-west", 0, 0);
    json_t *acc = h_submit(req, tok, body, id);
    H_CHECK_INT(h_jint(acc, "max_quotes", -1), 4, "max_quotes from the record's default");
    json_decref(acc);
    ctl_expect(&o, NULL, (const char *[]){"tenant", "suspend", "t-ctl", NULL}, 0, "suspended",
               "suspend");
    long long dt = wait_status(req, tok, "/v1/rfqs", 403, LIVE_BOUND_MS);
    H_CHECK(dt >= 0, "rfqctl suspend not applied within %d ms", LIVE_BOUND_MS);
    h_log("rfqctl suspend applied after %lld ms", dt);
    ctl_expect(&o, NULL, (const char *[]){"tenant", "resume", "t-ctl", NULL}, 0, "active",
               "resume");
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    dt = wait_status(req, tok, path, 200, LIVE_BOUND_MS);
    H_CHECK(dt >= 0, "rfqctl resume not applied within %d ms", LIVE_BOUND_MS);
    ctl_expect(&o, NULL, (const char *[]){"tenant", "set", "t-ctl", "--clear", "all", NULL}, 0,
               "updated", "set --clear all");

    /* Errors: unknown tenant 1, bad command line 2. */
    ctl_expect(&o, NULL, (const char *[]){"tenant", "get", "nobody", NULL}, 1, NULL,
               "get an unknown tenant");
    ctl_expect(&o, NULL, (const char *[]){"tenant", "suspend", "nobody", NULL}, 1, NULL,
               "suspend an unknown tenant");
    ctl_expect(&o, NULL, (const char *[]){"tenant", "get", "Bad_Id", NULL}, 2, NULL,
               "get an invalid id");
    ctl_expect(&o, NULL, (const char *[]){"tenant", "set", "t-ctl", "--rate", "x", NULL}, 2, NULL,
               "set --rate x");
    ctl_expect(&o, NULL, (const char *[]){"tenant", "create", "--help", NULL}, 0, "Usage",
               "--help");

    /* Delete: record and Redis user gone; the API refuses. */
    ctl_expect(&o, admin, (const char *[]){"tenant", "delete", "t-ctl", NULL}, 0, "deleted",
               "delete");
    check_no_secret(&o, "delete");
    r = redisCommand(h_redis(), "ACL GETUSER rfq-t-t-ctl");
    H_CHECK(r && r->type == REDIS_REPLY_NIL, "ACL user rfq-t-t-ctl still there after delete");
    freeReplyObject(r);
    dt = wait_status(req, tok, "/v1/rfqs", 403, LIVE_BOUND_MS);
    H_CHECK(dt >= 0, "rfqctl delete not applied within %d ms", LIVE_BOUND_MS);
    free(body);
    free(tok);
}
#endif

/* ---- revision-checked updates ---- */

/* One writer of the race: n increments of one field through rfq_tenant_update, on its own
 * NATS connection. */
struct racer {
    const char *tenant;
    bool burst; /* which field: burst, else rate_per_s */
    int n;
    int conflicts; /* writes refused and retried */
    rfq_status st; /* first failure, RFQ_OK when every update landed */
    char err[192]; /* its message */
    kvStore *kv;   /* owned by the racer's connection */
    jsCtx *js;
    natsConnection *nc;
};

static bool bump(struct rfq_tenant_rec *r, void *arg)
{
    int64_t *f = *(const bool *)arg ? &r->burst : &r->rate_per_s;
    *f = (*f == RFQ_TENANT_UNSET ? 0 : *f) + 1;
    return true;
}

static void *race_main(void *arg)
{
    struct racer *w = arg;
    for (int i = 0; i < w->n; i++) {
        struct rfq_tenant_update_res res;
        struct rfq_err err = {{0}, {0}};
        w->st = rfq_tenant_update(w->kv, w->tenant, bump, &w->burst, &res, &err);
        w->conflicts += res.conflicts;
        if (w->st != RFQ_OK || !res.written) {
            snprintf(w->err, sizeof(w->err), "%s", err.message);
            if (w->st == RFQ_OK)
                w->st = RFQ_EPROTO; /* not written although the change asked for it */
            return NULL;
        }
        /* The other writer gets a chance between two writes, as between two admins. */
        usleep((useconds_t)(500 + (i * 7919 + (w->burst ? 3 : 0) * 1237) % 2500));
    }
    return NULL;
}

static void racer_connect(struct racer *w)
{
    H_CHECK(natsConnection_ConnectTo(&w->nc, h_nats_url()) == NATS_OK, "racer: connect NATS");
    H_CHECK(natsConnection_JetStream(&w->js, w->nc, NULL) == NATS_OK, "racer: JetStream");
    H_CHECK(rfq_tenant_bucket_open(&w->kv, w->js, false) == RFQ_OK, "racer: open %s",
            RFQ_TENANTS_BUCKET);
}

static void racer_close(struct racer *w)
{
    kvStore_Destroy(w->kv);
    jsCtx_Destroy(w->js);
    natsConnection_Close(w->nc);
    natsConnection_Destroy(w->nc);
}

/* A write with a stale revision is refused; two writers racing on two connections both
 * land (no lost update); an update never brings a deleted tenant back. */
static void revision_checks(void)
{
    const char *t = "t-rev";
    struct rfq_tenant_rec rec, got;
    struct rfq_err err = {{0}, {0}};
    rfq_tenant_rec_init(&rec, t);
    rec_put(&rec);

    /* Stale revision. */
    uint64_t rev = 0, rev2 = 0;
    H_CHECK(rfq_tenant_get_rev(bucket(), t, &got, &rev, &err) == RFQ_OK && rev > 0, "get_rev: %s",
            err.message);
    got.default_max_quotes = 3;
    bool conflict = true;
    H_CHECK(rfq_tenant_put_rev(bucket(), &got, rev, &rev2, &conflict, &err) == RFQ_OK,
            "put_rev with the current revision: %s", err.message);
    H_CHECK(!conflict && rev2 > rev, "put_rev: revision %llu after %llu", (unsigned long long)rev2,
            (unsigned long long)rev);
    got.default_max_quotes = 9;
    rfq_status st = rfq_tenant_put_rev(bucket(), &got, rev, NULL, &conflict, &err);
    H_CHECK(st != RFQ_OK && conflict, "a write with a stale revision was not refused (%s)",
            rfq_status_str(st));
    h_log("stale revision refused: %s", err.message);
    H_CHECK(rfq_tenant_get(bucket(), t, &got, &err) == RFQ_OK, "get: %s", err.message);
    H_CHECK_INT(got.default_max_quotes, 3, "the record after a refused stale write");
    /* rev 0 = "only when not registered": refused for an existing tenant. */
    st = rfq_tenant_put_rev(bucket(), &got, 0, NULL, &conflict, &err);
    H_CHECK(st != RFQ_OK && conflict, "a create over an existing record was not refused");

    /* Two writers, two connections, each incrementing its own field. */
    enum { N = 25 };
    struct racer w[2] = {{.tenant = t, .burst = false, .n = N},
                         {.tenant = t, .burst = true, .n = N}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        racer_connect(&w[i]);
    for (int i = 0; i < 2; i++)
        H_CHECK(pthread_create(&th[i], NULL, race_main, &w[i]) == 0, "start racer %d", i);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        racer_close(&w[i]);
        H_CHECK(w[i].st == RFQ_OK, "racer %d: update failed (%s): %s", i, rfq_status_str(w[i].st),
                w[i].err);
    }
    H_CHECK(rfq_tenant_get(bucket(), t, &got, &err) == RFQ_OK, "get: %s", err.message);
    H_CHECK_INT(got.rate_per_s, N, "rate_per_s after the race (a lost update?)");
    H_CHECK_INT(got.burst, N, "burst after the race (a lost update?)");
    H_CHECK_INT(got.default_max_quotes, 3, "a field neither writer touched");
    h_log("two writers x %d revision-checked updates all landed; %d + %d conflicts retried", N,
          w[0].conflicts, w[1].conflicts);
    if (w[0].conflicts + w[1].conflicts == 0)
        h_note("the two writers never collided in this run (stale refusal checked above)");

    /* Deleted: an update refuses, a create (rev 0) takes the delete marker's place. */
    rec_delete(t);
    struct rfq_tenant_update_res res;
    bool is_burst = false;
    st = rfq_tenant_update(bucket(), t, bump, &is_burst, &res, &err);
    H_CHECK(st == RFQ_ENOTFOUND, "update of a deleted tenant: %s, expected not_found",
            rfq_status_str(st));
    rfq_tenant_rec_init(&rec, t);
    H_CHECK(rfq_tenant_put_rev(bucket(), &rec, 0, NULL, &conflict, &err) == RFQ_OK,
            "create over a delete marker: %s", err.message);
    rec_delete(t);
}

/* ---- scenarios ---- */

void sc_tenant_registry(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *req = h_requester_start(NULL);
    const char *t = "t-reg";
    char *tok = h_token(t, "enterprise", 3600);
    /* Whatever the token helper registered, this tenant starts unregistered. */
    rec_delete(t);
    H_CHECK(wait_status(req, tok, "/v1/rfqs", 403, 2000) >= 0, "tenant %s still admitted", t);

    /* Unregistered: every endpoint and the NATS submit refuse; nothing is stored. */
    char missing_id[37];
    rfq_id_new(missing_id);
    expect_all_403(req, tok, missing_id, "tenant is not registered");
    expect_nats_403(tok, "tenant is not registered");
    H_CHECK_INT(tenant_key_count(t), 0, "Redis keys of an unregistered tenant");
    H_CHECK_INT(get_status(req, NULL, "/healthz", NULL, 0), 200, "/healthz needs no tenant");

    /* Registered: accepted at once (no wait for the watcher: the miss reads the bucket). */
    struct rfq_tenant_rec rec;
    rfq_tenant_rec_init(&rec, t);
    rec_put(&rec);
    char id[RFQ_ID_MAX + 1];
    char *body = h_submit_body("eu-west", 0, 0);
    json_decref(h_submit(req, tok, body, id));
    char status[16];
    json_t *j = nats_submit(tok, status, sizeof(status));
    H_CHECK_STR(status, "202", "NATS submit of a registered tenant");
    json_decref(j);

    /* Suspended on the running requester: refused within a second; data kept. */
    rec.suspended = true;
    int64_t t0 = h_now_ms();
    rec_put(&rec);
    long long dt = wait_status(req, tok, "/v1/rfqs", 403, LIVE_BOUND_MS);
    H_CHECK(dt >= 0, "suspension not applied within %d ms", LIVE_BOUND_MS);
    h_log("suspension applied on the requester %lld ms after the put (put took %lld ms)", dt,
          (long long)(h_now_ms() - t0 - dt));
    expect_all_403(req, tok, id, "tenant is suspended");
    expect_nats_403(tok, "tenant is suspended");
    char k_rfq[RFQ_KEY_MAX];
    rfq_key_rfq(k_rfq, sizeof(k_rfq), t, id);
    H_CHECK_INT(h_redis_int_cmd("EXISTS", k_rfq), 1, "a suspended tenant's RFQ is kept");

    /* Resumed: its data readable again, submits accepted. */
    rec.suspended = false;
    rec_put(&rec);
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    dt = wait_status(req, tok, path, 200, LIVE_BOUND_MS);
    H_CHECK(dt >= 0, "resume not applied within %d ms", LIVE_BOUND_MS);
    h_log("resume applied after %lld ms", dt);
    json_t *st = h_get_json(req, tok, path);
    H_CHECK_STR(h_jstr(st, "rfq_id"), id, "resumed tenant reads its RFQ");
    json_decref(st);
    char id2[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id2));

    /* Deleted: not registered any more. */
    rec_delete(t);
    dt = wait_status(req, tok, "/v1/rfqs", 403, LIVE_BOUND_MS);
    H_CHECK(dt >= 0, "delete not applied within %d ms", LIVE_BOUND_MS);
    char msg[128];
    get_status(req, tok, "/v1/rfqs", msg, sizeof(msg));
    H_CHECK_STR(msg, "tenant is not registered", "message after delete");
    h_log("delete applied after %lld ms", dt);

    /* A malformed record is ignored: the tenant keeps its last good record. */
    rfq_tenant_rec_init(&rec, t);
    rec_put(&rec);
    H_CHECK(wait_status(req, tok, "/v1/rfqs", 200, LIVE_BOUND_MS) >= 0, "re-registered");
    H_CHECK(kvStore_PutString(NULL, bucket(), t, "{\"tenant_id\":\"t-reg\",\"tier\":7}") == NATS_OK,
            "put a malformed record");
    h_sleep_ms(300);
    H_CHECK_INT(get_status(req, tok, "/v1/rfqs", NULL, 0), 200,
                "a malformed record must not lock the tenant out");
    h_proc_check_alive(req);

    revision_checks();
#ifdef RFQ_IT_RFQCTL_BIN
    registry_rfqctl(req);
#else
    h_note("rfqctl checks skipped: RFQ_IT_RFQCTL_BIN not defined");
#endif
    free(body);
    free(tok);
    bucket_close();
}

/* Submit without max_quotes/timeout_ms until the answer shows want_mq and want_timeout (0 =
 * do not check); returns the wait in ms, -1 after bound_ms. */
static long long wait_defaults(const struct h_proc *req, const char *token, int want_mq,
                               int want_timeout, int bound_ms)
{
    char *body = h_submit_body("eu-west", 0, 0);
    int64_t t0 = h_now_ms();
    long long dt = -1;
    char id[RFQ_ID_MAX + 1];
    for (;;) {
        json_t *a = h_submit(req, token, body, id);
        long long mq = h_jint(a, "max_quotes", -1);
        long long to = h_jint(a, "deadline_ms", 0) - h_jint(a, "created_ms", 0);
        json_decref(a);
        int64_t now = h_now_ms() - t0;
        if (mq == want_mq && to == want_timeout) {
            dt = now;
            break;
        }
        if (now > bound_ms)
            break;
        h_sleep_ms(5);
    }
    free(body);
    return dt;
}

/* POST until the RateLimit-Limit header is present (want) or absent; wait in ms or -1. */
static long long wait_ratelimit(const struct h_proc *req, const char *token, bool want,
                                int bound_ms, char *limit, size_t cap)
{
    char *body = h_submit_body("eu-west", 0, 0);
    int64_t t0 = h_now_ms();
    long long dt = -1;
    for (;;) {
        struct h_resp r;
        h_http(&r, req, "POST", "/v1/rfqs", token, "application/json", body, strlen(body));
        H_CHECK(r.status == 202, "submit answered %ld: %s", r.status, r.body);
        bool has = h_resp_header(&r, "RateLimit-Limit", limit, cap);
        h_resp_free(&r);
        int64_t now = h_now_ms() - t0;
        if (has == want) {
            dt = now;
            break;
        }
        if (now > bound_ms)
            break;
        h_sleep_ms(20);
    }
    free(body);
    return dt;
}

void sc_tenant_live_change(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *reqs[2] = {h_requester_start(NULL), h_requester_start(NULL)};
    const char *t = "t-live";
    char *tok = h_token(t, "enterprise", 3600);
    struct rfq_tenant_rec rec;
    rfq_tenant_rec_init(&rec, t);
    rec_put(&rec);

    /* Engine defaults first (5 quotes, 2000 ms). */
    for (int i = 0; i < 2; i++)
        H_CHECK(wait_defaults(reqs[i], tok, 5, 2000, LIVE_BOUND_MS) >= 0,
                "requester %d: engine defaults expected before the change", i);

    /* The tenant's defaults change; both requesters apply them within a second. */
    rec.default_max_quotes = 2;
    rec.default_timeout_ms = 1500;
    rec_put(&rec);
    int64_t put_done = h_now_ms();
    for (int i = 0; i < 2; i++) {
        /* Requester 1 is probed after requester 0 answered: its bound still counts from the
         * put. */
        long long dt = wait_defaults(reqs[i], tok, 2, 1500, LIVE_BOUND_MS);
        long long since_put = (long long)(h_now_ms() - put_done);
        H_CHECK(dt >= 0 && since_put <= LIVE_BOUND_MS + 100,
                "requester %d: new defaults not applied within %d ms", i, LIVE_BOUND_MS);
        h_log("requester %d applies default_max_quotes=2 default_timeout_ms=1500: seen %lld ms "
              "after the put (%lld ms of probing)",
              i, since_put, dt);
    }
    /* A body's own values still win. */
    char id[RFQ_ID_MAX + 1];
    char *body = h_submit_body("eu-west", 7, 3000);
    json_t *a = h_submit(reqs[1], tok, body, id);
    H_CHECK_INT(h_jint(a, "max_quotes", -1), 7, "explicit max_quotes");
    H_CHECK_INT(h_jint(a, "deadline_ms", 0) - h_jint(a, "created_ms", 0), 3000,
                "explicit timeout_ms");
    json_decref(a);
    free(body);

    /* Tier override: basic (rate limited: RateLimit-* headers) then enterprise (none). */
    snprintf(rec.tier, sizeof(rec.tier), "basic");
    rec_put(&rec);
    char limit[32];
    long long dt = wait_ratelimit(reqs[0], tok, true, 1500, limit, sizeof(limit));
    if (dt < 0) {
        h_note("no RateLimit-Limit header for a basic tenant: the quota headers are not in this "
               "build; tier change checked through the defaults only");
    } else {
        H_CHECK_STR(limit, "40", "RateLimit-Limit of the basic tier");
        h_log("tier override basic applied after %lld ms (RateLimit-Limit %s)", dt, limit);
        snprintf(rec.tier, sizeof(rec.tier), "enterprise");
        rec_put(&rec);
        for (int i = 0; i < 2; i++) {
            dt = wait_ratelimit(reqs[i], tok, false, LIVE_BOUND_MS, limit, sizeof(limit));
            H_CHECK(dt >= 0,
                    "requester %d: RateLimit-Limit still sent %d ms after the tier "
                    "became enterprise",
                    i, LIVE_BOUND_MS);
            h_log("requester %d: tier override enterprise applied after %lld ms", i, dt);
        }
    }
    /* Clearing the defaults brings the engine's back. */
    rec.default_max_quotes = RFQ_TENANT_UNSET;
    rec.default_timeout_ms = RFQ_TENANT_UNSET;
    rec.tier[0] = '\0';
    rec_put(&rec);
    for (int i = 0; i < 2; i++)
        H_CHECK(wait_defaults(reqs[i], tok, 5, 2000, LIVE_BOUND_MS) >= 0,
                "requester %d: engine defaults not back within %d ms", i, LIVE_BOUND_MS);
    for (int i = 0; i < 2; i++)
        h_proc_check_alive(reqs[i]);
    free(tok);
    bucket_close();
}

/* ---- an event stream read raw: libcurl on its own thread ---- */

struct raw_stream {
    char url[256];
    char auth[RFQ_JWT_MAX + 64];
    long timeout_ms;
    pthread_t th;
    pthread_mutex_t mu;
    char body[32768]; /* what arrived (decoded from chunks), guarded by mu */
    size_t len;
    bool chunked;    /* Transfer-Encoding: chunked, guarded */
    bool done;       /* the transfer ended, guarded */
    int64_t done_ms; /* when, guarded */
    CURLcode rc;     /* valid once done */
    long status;     /* valid once done */
};

/* The requester's watch loses its consumer (deleted on the server, as a server restart within
 * the reconnect wait would): without heartbeats for 6 s the watch is replaced, which replays
 * every record, and changes apply again. */
void sc_tenant_watch_lost(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *req = h_requester_start(NULL);
    const char *t = "t-watch";
    char *tok = h_token(t, "enterprise", 3600);
    struct rfq_tenant_rec rec;
    rfq_tenant_rec_init(&rec, t);
    rec_put(&rec);
    H_CHECK(wait_defaults(req, tok, 5, 2000, LIVE_BOUND_MS) >= 0, "engine defaults expected");
    int gone = delete_watch_consumers();
    H_CHECK(gone >= 1, "no watch consumer on KV_%s to delete", RFQ_TENANTS_BUCKET);
    int64_t deleted = h_now_ms();
    rec.default_max_quotes = 3;
    rec_put(&rec);
    long long dt = wait_defaults(req, tok, 3, 2000, WATCH_LOST_BOUND_MS);
    H_CHECK(dt >= 0, "a change made after the watch lost its consumer is not applied within %d ms",
            WATCH_LOST_BOUND_MS);
    h_log("watch consumer deleted: the change applied %lld ms later (resync)",
          (long long)(h_now_ms() - deleted));
    /* The replacement is live: the next change applies within the usual bound. */
    rec.default_max_quotes = 4;
    rec_put(&rec);
    H_CHECK(wait_defaults(req, tok, 4, 2000, LIVE_BOUND_MS) >= 0,
            "the replaced watch does not apply a change within %d ms", LIVE_BOUND_MS);
    h_proc_check_alive(req);
    free(tok);
    bucket_close();
}

static size_t raw_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct raw_stream *s = ud;
    size_t n = size * nmemb;
    pthread_mutex_lock(&s->mu);
    size_t room = sizeof(s->body) - 1 - s->len;
    size_t k = n < room ? n : room;
    memcpy(s->body + s->len, ptr, k);
    s->len += k;
    s->body[s->len] = '\0';
    pthread_mutex_unlock(&s->mu);
    return n;
}

static size_t raw_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct raw_stream *s = ud;
    size_t n = size * nmemb;
    char line[256];
    size_t k = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    for (size_t i = 0; i < k; i++)
        line[i] = (char)(ptr[i] >= 'A' && ptr[i] <= 'Z' ? ptr[i] - 'A' + 'a' : ptr[i]);
    line[k] = '\0';
    if (strncmp(line, "transfer-encoding:", 18) == 0 && strstr(line, "chunked")) {
        pthread_mutex_lock(&s->mu);
        s->chunked = true;
        pthread_mutex_unlock(&s->mu);
    }
    return n;
}

static void *raw_main(void *arg)
{
    struct raw_stream *s = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = curl_slist_append(NULL, s->auth);
    hl = curl_slist_append(hl, "Accept: text/event-stream");
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, raw_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, raw_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    s->status = status;
    s->done = true;
    s->done_ms = h_now_ms();
    pthread_mutex_unlock(&s->mu);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

static void raw_open(struct raw_stream *s, const struct h_proc *req, const char *token,
                     const char *id, long timeout_ms)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->url, sizeof(s->url), "%s/v1/rfqs/%s/events", req->http_base, id);
    snprintf(s->auth, sizeof(s->auth), "Authorization: Bearer %s", token);
    s->timeout_ms = timeout_ms;
    pthread_mutex_init(&s->mu, NULL);
    H_CHECK(pthread_create(&s->th, NULL, raw_main, s) == 0, "cannot start the stream reader");
}

/* Wait until the body holds needle (true) or the stream ended or bound_ms passed (false). */
static bool raw_wait_for(struct raw_stream *s, const char *needle, int bound_ms)
{
    int64_t until = h_now_ms() + bound_ms;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool has = strstr(s->body, needle) != NULL, done = s->done;
        pthread_mutex_unlock(&s->mu);
        if (has)
            return true;
        if (done || h_now_ms() > until)
            return false;
        h_sleep_ms(5);
    }
}

/* Wait until the transfer ended; false after bound_ms. */
static bool raw_wait_done(struct raw_stream *s, int bound_ms)
{
    int64_t until = h_now_ms() + bound_ms;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool done = s->done;
        pthread_mutex_unlock(&s->mu);
        if (done)
            return true;
        if (h_now_ms() > until)
            return false;
        h_sleep_ms(2);
    }
}

static void raw_close(struct raw_stream *s)
{
    pthread_join(s->th, NULL);
    pthread_mutex_destroy(&s->mu);
}

/* The stream was cut the way it should be: 200, chunked transfer ended properly (curl
 * reports an error for a missing last chunk), and the last event is `error` with the 403
 * body. */
static void check_cut(struct raw_stream *s, const char *message, const char *what)
{
    H_CHECK_INT(s->status, 200, what);
    H_CHECK(s->chunked, "%s: the stream was not chunked", what);
    H_CHECK(s->rc == CURLE_OK, "%s: the transfer did not end cleanly (curl: %s)", what,
            curl_easy_strerror(s->rc));
    const char *ev = NULL;
    for (const char *p = s->body; (p = strstr(p, "event: ")) != NULL; p++)
        ev = p;
    H_CHECK(ev && strncmp(ev, "event: error\n", 13) == 0, "%s: last event is not an error: %s",
            what, s->body);
    const char *data = strstr(ev, "\ndata: ");
    H_CHECK(data, "%s: the error event has no data", what);
    data += 7;
    json_t *j = json_loadb(data, strcspn(data, "\n"), 0, NULL);
    H_CHECK(j, "%s: error event data is not JSON: %s", what, data);
    json_t *e = json_object_get(j, "error");
    H_CHECK_STR(h_jstr(e, "code"), "forbidden", "error event code");
    H_CHECK_STR(h_jstr(e, "message"), message, "error event message");
    json_decref(j);
    const char *end = data + strcspn(data, "\n");
    H_CHECK(strcmp(end, "\n\n") == 0, "%s: bytes after the final error event: %s", what, ev);
}

#ifdef RFQ_IT_RFQCTL_BIN
/* `rfqctl watch` on its own thread (it blocks until the stream ends). */
struct watch_run {
    const char *env[3];
    const char *id;
    struct h_ctl_run o;
    pthread_t th;
};

static void *watch_main(void *arg)
{
    struct watch_run *w = arg;
    h_rfqctl(&w->o, w->env, (const char *[]){"watch", w->id, NULL});
    return NULL;
}

/* Wait until the running rfqctl's stdout holds needle (watch flushes every event). */
static bool ctl_out_wait(const char *needle, int bound_ms)
{
    char path[600], buf[8192];
    snprintf(path, sizeof(path), "%s/rfqctl.out", h_tmpdir());
    int64_t until = h_now_ms() + bound_ms;
    for (;;) {
        h_read_file(path, buf, sizeof(buf));
        if (strstr(buf, needle))
            return true;
        if (h_now_ms() > until)
            return false;
        h_sleep_ms(10);
    }
}
#endif

/* An open event stream ends within 2 s once its tenant is suspended (final `error` event, the
 * 403 body) or unregistered; a resumed tenant streams again. */
void sc_tenant_suspend_cuts_stream(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    const char *t = "t-cut";
    char *tok = h_token(t, "enterprise", 3600);
    struct rfq_tenant_rec rec;
    rfq_tenant_rec_init(&rec, t);
    rec_put(&rec);

    /* An RFQ that stays open (30 s, no responders), one stored quote. */
    char *body = h_submit_body("eu-west", 5, 30000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));
    h_publish_quote(t, id, "r-1", 1500, 120, NULL);
    json_decref(h_wait_quote_count(req, tok, id, 1, 5000));

    /* The stream is live: the stored quote, then a live one. */
    struct raw_stream s;
    raw_open(&s, req, tok, id, 20000);
    H_CHECK(raw_wait_for(&s, "\"r-1\"", 5000), "the stream did not replay the stored quote: %s",
            s.body);
    h_publish_quote(t, id, "r-2", 1400, 100, NULL);
    H_CHECK(raw_wait_for(&s, "\"r-2\"", 5000), "the stream did not deliver a live quote: %s",
            s.body);

    /* Suspended: the open stream ends with the 403 body as its last event. */
    rec.suspended = true;
    int64_t t0 = h_now_ms();
    rec_put(&rec);
    bool ended = raw_wait_done(&s, 2000);
    long long dt = ended ? (long long)(s.done_ms - t0) : -1;
    H_CHECK(ended && dt <= 2000, "the open stream was not ended within 2 s of the suspension");
    h_log("suspension ended the open stream %lld ms after the record was written", dt);
    raw_close(&s);
    check_cut(&s, "tenant is suspended", "stream of a suspended tenant");

    /* Resumed: a new stream works and stays open (replay, then live). */
    rec.suspended = false;
    rec_put(&rec);
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    H_CHECK(wait_status(req, tok, path, 200, LIVE_BOUND_MS) >= 0, "resume not applied");
    raw_open(&s, req, tok, id, 20000);
    H_CHECK(raw_wait_for(&s, "\"r-2\"", 5000), "resumed: no replay: %s", s.body);
    h_sleep_ms(1200); /* more than two admission re-checks */
    H_CHECK(!raw_wait_done(&s, 0), "resumed: the stream ended: %s", s.body);
    h_publish_quote(t, id, "r-3", 1300, 100, NULL);
    H_CHECK(raw_wait_for(&s, "\"r-3\"", 5000), "resumed: no live quote: %s", s.body);
    H_CHECK(!strstr(s.body, "event: error"), "resumed: error event: %s", s.body);
#ifdef RFQ_IT_RFQCTL_BIN
    /* rfqctl watch follows the same RFQ: a cut stream is an error for it (exit 1). */
    static struct watch_run wr;
    char api_env[128], tok_env[RFQ_JWT_MAX + 16];
    snprintf(api_env, sizeof(api_env), "RFQ_API_URL=%s", req->http_base);
    snprintf(tok_env, sizeof(tok_env), "RFQ_TOKEN=%s", tok);
    wr.env[0] = api_env;
    wr.env[1] = tok_env;
    wr.id = id;
    H_CHECK(pthread_create(&wr.th, NULL, watch_main, &wr) == 0, "start rfqctl watch");
    H_CHECK(ctl_out_wait("r-3", 5000), "rfqctl watch printed no replayed quote");
#endif

    /* Unregistered: the stream ends the same way. */
    t0 = h_now_ms();
    rec_delete(t);
    ended = raw_wait_done(&s, 2000);
    dt = ended ? (long long)(s.done_ms - t0) : -1;
    H_CHECK(ended && dt <= 2000, "the open stream was not ended within 2 s of the delete");
    h_log("unregistering ended the open stream %lld ms after the delete", dt);
    raw_close(&s);
    check_cut(&s, "tenant is not registered", "stream of an unregistered tenant");
#ifdef RFQ_IT_RFQCTL_BIN
    pthread_join(wr.th, NULL);
    H_CHECK(wr.o.rc == 1, "rfqctl watch of a cut stream: exit %d, expected 1; stderr: %s", wr.o.rc,
            wr.o.err);
    H_CHECK(strstr(wr.o.err, "\"forbidden\"") && strstr(wr.o.err, "tenant is not registered"),
            "rfqctl watch: stderr lacks the error event: %s", wr.o.err);
    check_no_secret(&wr.o, "rfqctl watch");
#endif

    h_proc_check_alive(req);
    free(body);
    free(tok);
    bucket_close();
}
