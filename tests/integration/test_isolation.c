/* test_isolation: storage and bus isolation: Redis ACL users and NATS permissions. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "rfq_nats.h"
#include "rfq_redis_acl.h"
#include "scenarios.h"

/* How long a refused message is given to show up anyway. Short: it is waited for only after
 * the server reported the violation and answered a PING of the watching connection, i.e.
 * after it already handled the message. */
#define SILENCE_MS 100

/* ---- Redis ----------------------------------------------------------------------------- */

/* Port of the scenario's Redis, from the admin URL. */
static int redis_port(void)
{
    const char *p = strrchr(h_redis_admin_url(), ':');
    H_CHECK(p != NULL, "no port in the Redis URL");
    return atoi(p + 1);
}

/* A connection authenticated as user/pass; fails the scenario unless AUTH succeeds. */
static redisContext *redis_as(const char *user, const char *pass)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port(), tv);
    H_CHECK(c && !c->err, "connect to Redis: %s", c ? c->errstr : "out of memory");
    redisSetTimeout(c, tv);
    redisReply *r = redisCommand(c, "AUTH %s %s", user, pass);
    H_CHECK(r && r->type == REDIS_REPLY_STATUS, "AUTH as %s: %s", user,
            r && r->type == REDIS_REPLY_ERROR ? r->str : "no reply");
    freeReplyObject(r);
    return c;
}

/* Tenant's Redis password, derived from the requester's secret file as the requester does. */
static void tenant_password(const char *tenant, char *out)
{
    unsigned char *secret = NULL;
    size_t len = 0;
    struct rfq_err err = {{0}, {0}};
    H_CHECK(rfq_acl_secret_load(h_secret_path(), &secret, &len, &err) == RFQ_OK,
            "load the tenant secret: %s", err.message);
    H_CHECK(rfq_acl_tenant_password(out, secret, len, tenant) == RFQ_OK, "derive a password");
    OPENSSL_cleanse(secret, len);
    free(secret);
}

/* Run a command given as argv; the reply (new) must not be NULL. */
static redisReply *cmd(redisContext *c, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    H_CHECK(r != NULL, "redis %s: %s", argv[0], c->errstr);
    return r;
}

#define CMD(c, ...)                                                                                \
    cmd((c), (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),                  \
        (const char *[]){__VA_ARGS__})

/* The reply must be an ACL refusal. */
static void expect_noperm(redisReply *r, const char *who, const char *what)
{
    H_CHECK(r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0,
            "%s: %s was not refused with NOPERM (reply type %d%s%s)", who, what, r->type,
            r->type == REDIS_REPLY_ERROR ? ": " : "", r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
    h_log("  %s: %s -> NOPERM", who, what);
}

/* The reply must be a non-empty array (or a non-empty hash as an array). */
static void expect_rows(redisReply *r, const char *who, const char *what)
{
    H_CHECK(r->type == REDIS_REPLY_ARRAY && r->elements > 0, "%s: %s gave %s", who, what,
            r->type == REDIS_REPLY_ERROR ? r->str : "no rows");
    h_log("  %s: %s -> %zu elements", who, what, r->elements);
    freeReplyObject(r);
}

/* Number of Redis clients logged in as user (CLIENT LIST, as admin). */
static int clients_of(const char *user)
{
    redisReply *r = redisCommand(h_redis(), "CLIENT LIST");
    H_CHECK(r && r->type == REDIS_REPLY_STRING, "CLIENT LIST");
    char pat[RFQ_ACL_USER_MAX + 8];
    snprintf(pat, sizeof(pat), " user=%s ", user);
    int n = 0;
    for (const char *p = r->str; (p = strstr(p, pat)) != NULL; p++)
        n++;
    freeReplyObject(r);
    return n;
}

static void submit_one(const struct h_proc *req, const char *tok, char *id)
{
    char *body = h_submit_body("eu-west", 3, 20000);
    json_decref(h_submit(req, tok, body, id));
    free(body);
}

void sc_redis_isolation(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    h_tenant_register("a", NULL);
    h_tenant_register("b", NULL);
    char *tok_a = h_token("a", "enterprise", 3600), *tok_b = h_token("b", "enterprise", 3600);
    char id_a[RFQ_ID_MAX + 1], id_b[RFQ_ID_MAX + 1];
    submit_one(req, tok_a, id_a);
    submit_one(req, tok_b, id_b);
    h_publish_quote("a", id_a, "unicorn-1", 1500, 300, NULL);
    json_decref(h_wait_quote_count(req, tok_a, id_a, 1, 5000));
    h_log("RFQ %s of tenant a (1 quote), RFQ %s of tenant b", id_a, id_b);

    /* The requester read a's RFQ through a connection logged in as rfq-t-a. */
    H_CHECK(clients_of("rfq-t-a") >= 1, "no Redis connection as rfq-t-a after a's reads");
    h_log("requester holds %d connection(s) as rfq-t-a", clients_of("rfq-t-a"));

    char ka[RFQ_KEY_MAX], ka_q[RFQ_KEY_MAX], ka_r[RFQ_KEY_MAX], ka_idx[RFQ_KEY_MAX];
    char kb[RFQ_KEY_MAX], kb_r[RFQ_KEY_MAX], kb_idx[RFQ_KEY_MAX];
    H_CHECK(rfq_key_rfq(ka, sizeof(ka), "a", id_a) == RFQ_OK &&
                rfq_key_quotes(ka_q, sizeof(ka_q), "a", id_a) == RFQ_OK &&
                rfq_key_rank(ka_r, sizeof(ka_r), "a", id_a) == RFQ_OK &&
                rfq_key_index(ka_idx, sizeof(ka_idx), "a") == RFQ_OK &&
                rfq_key_rfq(kb, sizeof(kb), "b", id_b) == RFQ_OK &&
                rfq_key_rank(kb_r, sizeof(kb_r), "b", id_b) == RFQ_OK &&
                rfq_key_index(kb_idx, sizeof(kb_idx), "b") == RFQ_OK,
            "key names");

    char pw_a[RFQ_ACL_PASSWORD_LEN + 1], pw_b[RFQ_ACL_PASSWORD_LEN + 1];
    tenant_password("a", pw_a);
    tenant_password("b", pw_b);
    redisContext *a = redis_as("rfq-t-a", pw_a);
    const char *who = "rfq-t-a";
    h_log("as rfq-t-a, own keys:");
    expect_rows(CMD(a, "HGETALL", ka), who, "HGETALL own RFQ");
    expect_rows(CMD(a, "HGETALL", ka_q), who, "HGETALL own quotes");
    expect_rows(CMD(a, "ZRANGE", ka_r, "0", "-1"), who, "ZRANGE own rank");
    expect_rows(CMD(a, "ZREVRANGE", ka_idx, "0", "-1"), who, "ZREVRANGE own index");
    expect_rows(CMD(a, "HMGET", ka, "status", "tenant"), who, "HMGET own RFQ");
    h_log("as rfq-t-a, tenant b's keys:");
    expect_noperm(CMD(a, "GET", kb), who, "GET b's RFQ");
    expect_noperm(CMD(a, "HGETALL", kb), who, "HGETALL b's RFQ");
    expect_noperm(CMD(a, "HMGET", kb, "status"), who, "HMGET b's RFQ");
    expect_noperm(CMD(a, "ZRANGE", kb_r, "0", "-1"), who, "ZRANGE b's rank");
    expect_noperm(CMD(a, "ZREVRANGE", kb_idx, "0", "-1"), who, "ZREVRANGE b's index");
    expect_noperm(CMD(a, "HGETALL", RFQ_SYS_DEADLINES), who, "HGETALL rfq:_sys:deadlines");
    h_log("as rfq-t-a, keyspace, scripting, admin, pub/sub:");
    expect_noperm(CMD(a, "SCAN", "0"), who, "SCAN 0");
    expect_noperm(CMD(a, "KEYS", "*"), who, "KEYS *");
    expect_noperm(CMD(a, "EXISTS", ka), who, "EXISTS own RFQ");
    expect_noperm(CMD(a, "TYPE", ka), who, "TYPE own RFQ");
    expect_noperm(CMD(a, "DEL", kb), who, "DEL b's RFQ");
    expect_noperm(CMD(a, "FLUSHALL"), who, "FLUSHALL");
    expect_noperm(CMD(a, "CONFIG", "GET", "maxmemory"), who, "CONFIG GET");
    expect_noperm(CMD(a, "EVAL", "return redis.call('get',KEYS[1])", "1", kb), who,
                  "EVAL get b's key");
    expect_noperm(CMD(a, "EVAL", "return 1", "0"), who, "EVAL with no keys");
    expect_noperm(CMD(a, "SCRIPT", "LOAD", "return 1"), who, "SCRIPT LOAD");
    expect_noperm(CMD(a, "SUBSCRIBE", "rfq.events"), who, "SUBSCRIBE");
    expect_noperm(CMD(a, "ACL", "LIST"), who, "ACL LIST");
    h_log("as rfq-t-a, writes on its own keys:");
    expect_noperm(CMD(a, "HSET", ka, "status", "completed"), who, "HSET own RFQ");
    expect_noperm(CMD(a, "DEL", ka), who, "DEL own RFQ");
    expect_noperm(CMD(a, "ZADD", ka_idx, "1", "x"), who, "ZADD own index");
    redisFree(a);
    H_CHECK(h_redis_hget_int(ka, "count", -1) == 1, "a's RFQ changed");

    /* Wrong passwords: the other tenant's, and a made-up one. */
    const char *bad[][2] = {{"rfq-t-a", pw_b}, {"rfq-t-a", "wrong-password"}, {"rfq-t-zz", pw_a}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        redisContext *c = redisConnect("127.0.0.1", redis_port());
        H_CHECK(c && !c->err, "connect to Redis");
        redisReply *r = redisCommand(c, "AUTH %s %s", bad[i][0], bad[i][1]);
        H_CHECK(r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "WRONGPASS", 9) == 0,
                "AUTH %s with a wrong password was not refused", bad[i][0]);
        freeReplyObject(r);
        r = redisCommand(c, "HGETALL %s", ka);
        H_CHECK(r && r->type == REDIS_REPLY_ERROR, "unauthenticated HGETALL answered");
        freeReplyObject(r);
        redisFree(c);
    }
    h_log("AUTH with another tenant's or a wrong password -> WRONGPASS; no default access");

    /* The service user: the engine's commands on rfq:* only. */
    const char *svc_pw = strstr(h_redis_service_url(), "rfq-svc:") + 8;
    char svc_pass[64];
    snprintf(svc_pass, sizeof(svc_pass), "%.*s", (int)strcspn(svc_pw, "@"), svc_pw);
    redisContext *svc = redis_as("rfq-svc", svc_pass);
    who = "rfq-svc";
    h_log("as rfq-svc:");
    expect_rows(CMD(svc, "HMGET", kb, "status"), who, "HMGET any tenant's RFQ");
    expect_noperm(CMD(svc, "FLUSHALL"), who, "FLUSHALL");
    expect_noperm(CMD(svc, "CONFIG", "GET", "maxmemory"), who, "CONFIG GET");
    expect_noperm(CMD(svc, "KEYS", "*"), who, "KEYS *");
    expect_noperm(CMD(svc, "SCAN", "0"), who, "SCAN 0");
    expect_noperm(CMD(svc, "GET", "outside"), who, "GET a key outside rfq:*");
    expect_noperm(CMD(svc, "ACL", "SETUSER", "x", "on"), who, "ACL SETUSER");
    expect_noperm(CMD(svc, "EVAL", "return 1", "0"), who, "EVAL (only EVALSHA of loaded scripts)");
    redisFree(svc);

    /* Through the API: a reads a, never b. */
    char path[160];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id_b);
    struct h_resp r;
    h_http(&r, req, "GET", path, tok_a, NULL, NULL, 0);
    h_check_error(&r, 404, "not_found", "tenant a reads b's RFQ");
    h_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id_b);
    h_http(&r, req, "GET", path, tok_a, NULL, NULL, 0);
    h_check_error(&r, 404, "not_found", "tenant a reads b's quotes");
    h_resp_free(&r);
    json_t *list = h_get_json(req, tok_a, "/v1/rfqs");
    json_t *rows = json_object_get(list, "rfqs");
    H_CHECK_INT(json_array_size(rows), 1, "rows in a's listing");
    H_CHECK_STR(h_jstr(json_array_get(rows, 0), "rfq_id"), id_a, "a's listing");
    json_decref(list);
    h_log("API: a GET b's RFQ and quotes -> 404; a's listing holds only %s", id_a);

    /* A refusal on a tenant connection (never expected) is a 500 with a log line, no crash:
     * take HMGET away from rfq-t-a, read, then give the user back its rules. */
    redisReply *rr = redisCommand(h_redis(), "ACL SETUSER rfq-t-a -hmget");
    H_CHECK(rr && rr->type == REDIS_REPLY_STATUS, "ACL SETUSER rfq-t-a -hmget");
    freeReplyObject(rr);
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id_a);
    h_http(&r, req, "GET", path, tok_a, NULL, NULL, 0);
    h_check_error(&r, 500, "internal", "read refused by Redis");
    h_resp_free(&r);
    h_tenant_register("a", NULL); /* rules reset */
    json_decref(h_get_json(req, tok_a, path));
    h_proc_check_alive(req);
    h_log("NOPERM on a tenant connection -> 500 internal; after the rules are back -> 200");

    free(tok_a);
    free(tok_b);
}

/* ---- NATS ------------------------------------------------------------------------------ */

/* Permission errors a connection was told about (async error handler). */
struct perm_log {
    pthread_mutex_t mu;
    int n;
    char last[256];
};

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)sub;
    struct perm_log *pl = closure;
    const char *text = NULL;
    natsConnection_GetLastError(nc, &text);
    pthread_mutex_lock(&pl->mu);
    if (err == NATS_NOT_PERMITTED) {
        pl->n++;
        snprintf(pl->last, sizeof(pl->last), "%s", text ? text : "");
    }
    pthread_mutex_unlock(&pl->mu);
}

/* A connection as role; inbox: its inbox prefix (NULL: nats.c's _INBOX). */
static natsConnection *nats_as(const char *role, const char *inbox, struct perm_log *pl)
{
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s == NATS_OK)
        s = natsOptions_SetURL(o, h_nats_url_as(role));
    if (s == NATS_OK)
        s = natsOptions_SetName(o, role);
    if (s == NATS_OK && inbox)
        s = natsOptions_SetCustomInboxPrefix(o, inbox);
    if (s == NATS_OK && pl)
        s = natsOptions_SetErrorHandler(o, on_async_error, pl);
    if (s == NATS_OK)
        s = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    H_CHECK(s == NATS_OK, "connect as %s: %s", role, natsStatus_GetText(s));
    return nc;
}

/* Wait until pl counted a violation after before, naming subject; fail otherwise. */
static void expect_violation(struct perm_log *pl, int before, const char *subject, const char *what)
{
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&pl->mu);
        int n = pl->n;
        char last[256];
        snprintf(last, sizeof(last), "%s", pl->last);
        pthread_mutex_unlock(&pl->mu);
        if (n > before) {
            H_CHECK(strstr(last, subject), "%s: violation names another subject: %s", what, last);
            return;
        }
        h_sleep_ms(10);
    }
    h_fail(__FILE__, __LINE__, "%s: no permissions violation reported", what);
}

static int perm_count(struct perm_log *pl)
{
    pthread_mutex_lock(&pl->mu);
    int n = pl->n;
    pthread_mutex_unlock(&pl->mu);
    return n;
}

/* An admin subscription (flushed: active on the server) to watch a subject. */
static natsSubscription *watch(const char *subject)
{
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_SubscribeSync(&sub, h_nc(), subject);
    if (s == NATS_OK)
        s = natsConnection_Flush(h_nc());
    H_CHECK(s == NATS_OK, "subscribe %s: %s", subject, natsStatus_GetText(s));
    return sub;
}

/* sub must receive nothing within SILENCE_MS. */
static void expect_silence(natsSubscription *sub, const char *what)
{
    natsMsg *m = NULL;
    natsStatus s = natsConnection_Flush(h_nc());
    if (s == NATS_OK)
        s = natsSubscription_NextMsg(&m, sub, SILENCE_MS);
    H_CHECK(s == NATS_TIMEOUT, "%s: a message arrived on %s", what,
            m ? natsMsg_GetSubject(m) : "(error)");
}

static void expect_msg(natsSubscription *sub, const char *what)
{
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, sub, 2000);
    H_CHECK(s == NATS_OK, "%s: nothing arrived (%s)", what, natsStatus_GetText(s));
    natsMsg_Destroy(m);
}

/* role publishes to subject: refused (no delivery, violation reported) or delivered. */
static void check_publish(natsConnection *nc, struct perm_log *pl, const char *role,
                          const char *subject, bool allowed)
{
    natsSubscription *w = watch(subject);
    int before = perm_count(pl);
    natsStatus s = natsConnection_PublishString(nc, subject, "{}");
    if (s == NATS_OK)
        s = natsConnection_Flush(nc);
    H_CHECK(s == NATS_OK, "%s publish %s: %s", role, subject, natsStatus_GetText(s));
    if (allowed) {
        expect_msg(w, subject);
        h_log("  %s: publish %s -> delivered", role, subject);
    } else {
        expect_violation(pl, before, subject, subject);
        expect_silence(w, subject);
        h_log("  %s: publish %s -> refused, nothing delivered", role, subject);
    }
    natsSubscription_Destroy(w);
}

/* role subscribes to pattern, admin publishes to subject: refused or delivered. */
static void check_subscribe(natsConnection *nc, struct perm_log *pl, const char *role,
                            const char *pattern, const char *subject, bool allowed)
{
    natsSubscription *sub = NULL;
    int before = perm_count(pl);
    natsStatus s = natsConnection_SubscribeSync(&sub, nc, pattern);
    if (s == NATS_OK)
        s = natsConnection_Flush(nc);
    H_CHECK(s == NATS_OK || s == NATS_NOT_PERMITTED, "%s subscribe %s: %s", role, pattern,
            natsStatus_GetText(s));
    if (!allowed)
        expect_violation(pl, before, pattern, pattern);
    s = natsConnection_PublishString(h_nc(), subject, "{}");
    if (s == NATS_OK)
        s = natsConnection_Flush(h_nc());
    H_CHECK(s == NATS_OK, "admin publish %s", subject);
    if (allowed) {
        expect_msg(sub, pattern);
        h_log("  %s: subscribe %s -> receives %s", role, pattern, subject);
    } else {
        expect_silence(sub, pattern);
        h_log("  %s: subscribe %s -> refused, %s not delivered", role, pattern, subject);
    }
    natsSubscription_Destroy(sub);
}

/* A refused subscription of role's connection: the violation is reported, the returned
 * subscription (new) never gets anything. */
static natsSubscription *refused_sub(natsConnection *nc, struct perm_log *pl, const char *role,
                                     const char *pattern)
{
    natsSubscription *sub = NULL;
    int before = perm_count(pl);
    natsStatus s = natsConnection_SubscribeSync(&sub, nc, pattern);
    if (s == NATS_OK)
        s = natsConnection_Flush(nc);
    H_CHECK(s == NATS_OK || s == NATS_NOT_PERMITTED, "%s subscribe %s: %s", role, pattern,
            natsStatus_GetText(s));
    expect_violation(pl, before, pattern, pattern);
    return sub;
}

/* Submit over NATS as the app connection; returns the reply (new) or NULL with *st set. */
static natsMsg *app_submit(natsConnection *app, int timeout_ms, natsStatus *st)
{
    char *tok = h_token("perm-app", "enterprise", 3600);
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    char *body = h_submit_body("eu-west", 1, 500);
    natsMsg *m = NULL, *reply = NULL;
    natsStatus s = natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, NULL, body, (int)strlen(body));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Authorization", auth);
    if (s == NATS_OK)
        s = natsConnection_RequestMsg(&reply, app, m, timeout_ms);
    natsMsg_Destroy(m);
    free(body);
    free(tok);
    *st = s;
    return s == NATS_OK ? reply : NULL;
}

/* Whole file (new, NUL-terminated), or NULL. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    char chunk[4096];
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (n + got + 1 > cap) {
            cap = (n + got + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown)
                break;
            buf = grown;
        }
        memcpy(buf + n, chunk, got);
        n += got;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* The counter "<name> <n>" of a responder's "stopped: ..." line, -1 when absent. */
static long long stopped_counter(const char *log, const char *name)
{
    const char *line = log ? strstr(log, "stopped: received") : NULL;
    char key[64];
    snprintf(key, sizeof(key), ", %s ", name);
    const char *p = line ? strstr(line, key) : NULL;
    return p ? atoll(p + strlen(key)) : -1;
}

void sc_nats_permissions(void)
{
    h_nats_start();
    h_redis_start();
    H_CHECK(rfq_streams_ensure(h_js()) == RFQ_OK, "create the streams as admin");

    struct perm_log rsp_log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    natsConnection *rsp = nats_as("responder", RFQ_NATS_INBOX_RESPONDER, &rsp_log);
    h_log("as responder (inbox prefix %s):", RFQ_NATS_INBOX_RESPONDER);
    check_subscribe(rsp, &rsp_log, "responder", "rfq.v1.req.>", "rfq.v1.req.eu-west.a", true);
    check_subscribe(rsp, &rsp_log, "responder", "rfq.v1.event.>", "rfq.v1.event.a.x1", false);
    check_subscribe(rsp, &rsp_log, "responder", "rfq.v1.submit", "rfq.v1.submit", false);
    check_subscribe(rsp, &rsp_log, "responder", ">", "rfq.v1.dlq.aggregator", false);
    /* Replies to others: the services' inboxes and the apps' are not the responder's. */
    check_subscribe(rsp, &rsp_log, "responder", "_INBOX.>", "_INBOX.x1.y", false);
    check_subscribe(rsp, &rsp_log, "responder", "_INBOX_app.>", "_INBOX_app.x1.y", false);
    check_subscribe(rsp, &rsp_log, "responder", "_INBOX_responder.>", "_INBOX_responder.x1.y",
                    true);
    check_publish(rsp, &rsp_log, "responder", "rfq.v1.req.eu-west.a", false);
    check_publish(rsp, &rsp_log, "responder", "rfq.v1.submit", false);
    check_publish(rsp, &rsp_log, "responder", "rfq.v1.event.a.x1", false);
    check_publish(rsp, &rsp_log, "responder", "$JS.API.STREAM.PURGE." RFQ_STREAM_QUOTES, false);
    check_publish(rsp, &rsp_log, "responder", "rfq.v1.quote.a.x1", true);
    /* Its JetStream publish: the PubAck comes back on its inbox (_INBOX_responder.*). */
    jsCtx *js = NULL;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_JetStream(&js, rsp, NULL);
    if (s == NATS_OK)
        s = js_Publish(&pa, js, "rfq.v1.quote.a.x2", "{}", 2, NULL, &jerr);
    H_CHECK(s == NATS_OK && pa && strcmp(pa->Stream, RFQ_STREAM_QUOTES) == 0,
            "responder JetStream publish: %s (js error %d)", natsStatus_GetText(s), (int)jerr);
    h_log("  responder: JetStream publish rfq.v1.quote.a.x2 -> PubAck from %s seq %llu", pa->Stream,
          (unsigned long long)pa->Sequence);
    jsPubAck_Destroy(pa);
    /* ...but no JetStream API: account info gets no answer. */
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = SILENCE_MS;
    jsAccountInfo *ai = NULL;
    s = js_GetAccountInfo(&ai, js, &jo, &jerr);
    H_CHECK(s != NATS_OK, "responder read the JetStream account info");
    jsAccountInfo_Destroy(ai);
    jsCtx_Destroy(js);
    h_log("  responder: $JS.API.INFO -> no answer (%s)", natsStatus_GetText(s));
    natsConnection_Destroy(rsp);

    struct perm_log req_log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    natsConnection *rq = nats_as("requester", NULL, &req_log);
    h_log("as requester:");
    check_publish(rq, &req_log, "requester", "rfq.v1.quote.a.x3", false);
    check_publish(rq, &req_log, "requester", "rfq.v1.event.a.x3", false);
    check_publish(rq, &req_log, "requester", "rfq.v1.req.eu-west.a", true);
    check_subscribe(rq, &req_log, "requester", "rfq.v1.quote.>", "rfq.v1.quote.a.x4", false);
    natsConnection_Destroy(rq);

    struct perm_log agg_log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    natsConnection *ag = nats_as("aggregator", NULL, &agg_log);
    h_log("as aggregator:");
    check_publish(ag, &agg_log, "aggregator", "rfq.v1.req.eu-west.a", false);
    check_publish(ag, &agg_log, "aggregator", "rfq.v1.quote.a.x5", false);
    check_publish(ag, &agg_log, "aggregator", "rfq.v1.event.a.x5", true);
    check_subscribe(ag, &agg_log, "aggregator", "rfq.v1.req.>", "rfq.v1.req.eu-west.a", false);
    natsConnection_Destroy(ag);

    /* The app user with a real requester answering rfq.v1.submit, and two rfq-responder
     * fleets: one with its default inbox prefix, one told to use _INBOX (not its user's). */
    struct h_proc *req = h_requester_start(NULL);
    (void)req;
    const char *fleet[] = {"RFQ_FLEET_SIZE=2",   "RFQ_REGIONS=eu-west", "RFQ_DECLINE_PCT=0",
                           "RFQ_THINK_MS_MIN=5", "RFQ_THINK_MS_MAX=20", NULL};
    const char *fleet_inbox[] = {"RFQ_FLEET_SIZE=1",
                                 "RFQ_REGIONS=eu-west",
                                 "RFQ_DECLINE_PCT=0",
                                 "RFQ_THINK_MS_MIN=5",
                                 "RFQ_THINK_MS_MAX=20",
                                 "RFQ_RESPONDER_PREFIX=inbox",
                                 "RFQ_NATS_INBOX_PREFIX=_INBOX",
                                 NULL};
    struct h_proc *fleet_ok = h_responder_start(fleet);
    struct h_proc *fleet_bad = h_responder_start(fleet_inbox);
    struct perm_log app_log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    natsConnection *app = nats_as("app", RFQ_NATS_INBOX_APP, &app_log);
    h_log("as app (inbox prefix %s):", RFQ_NATS_INBOX_APP);
    check_publish(app, &app_log, "app", "rfq.v1.quote.a.x6", false);
    check_publish(app, &app_log, "app", "rfq.v1.req.eu-west.a", false);
    check_subscribe(app, &app_log, "app", "rfq.v1.event.>", "rfq.v1.event.a.x6", false);
    check_subscribe(app, &app_log, "app", "_INBOX_responder.>", "_INBOX_responder.x6.y", false);
    check_subscribe(app, &app_log, "app", "_INBOX.>", "_INBOX.x6.y", false);
    check_subscribe(app, &app_log, "app", "_INBOX_app.>", "_INBOX_app.x6.y", true);

    /* A responder listening for replies (other than its own) while an app submits: refused,
     * and it sees nothing of the answer, which really travels on _INBOX_app (admin sees it). */
    struct perm_log spy_log = {.mu = PTHREAD_MUTEX_INITIALIZER};
    natsConnection *spy = nats_as("responder", RFQ_NATS_INBOX_RESPONDER, &spy_log);
    natsSubscription *spy_all = refused_sub(spy, &spy_log, "responder", "_INBOX.>");
    natsSubscription *spy_app = refused_sub(spy, &spy_log, "responder", "_INBOX_app.>");
    natsSubscription *seen = watch(RFQ_NATS_INBOX_APP ".>");
    natsMsg *reply = app_submit(app, 5000, &s);
    H_CHECK(reply != NULL, "app request %s: %s", RFQ_SUBJECT_SUBMIT, natsStatus_GetText(s));
    const char *status = rfq_nats_header(reply, "Rfq-Status");
    H_CHECK(status && strcmp(status, "202") == 0, "app submit answered Rfq-Status %s: %.200s",
            status ? status : "(none)", natsMsg_GetData(reply));
    H_CHECK(strncmp(natsMsg_GetSubject(reply), RFQ_NATS_INBOX_APP ".",
                    strlen(RFQ_NATS_INBOX_APP) + 1) == 0,
            "the answer came on %s", natsMsg_GetSubject(reply));
    h_log("  app: request %s -> reply on %s.* with Rfq-Status %s", RFQ_SUBJECT_SUBMIT,
          RFQ_NATS_INBOX_APP, status);
    natsMsg_Destroy(reply);
    expect_msg(seen, "admin watching _INBOX_app.>");
    natsSubscription_Destroy(seen);
    H_CHECK(natsConnection_Flush(spy) == NATS_OK, "flush the responder's connection");
    expect_silence(spy_all, "responder on _INBOX.> during an app submit");
    expect_silence(spy_app, "responder on _INBOX_app.> during an app submit");
    h_log("  responder: subscribe _INBOX.> and _INBOX_app.> -> refused, the app's answer not "
          "received");
    natsSubscription_Destroy(spy_all);
    natsSubscription_Destroy(spy_app);
    natsConnection_Destroy(spy);

    /* An app on the default _INBOX cannot hear its own answer: the prefix is required. */
    int before = perm_count(&app_log);
    natsConnection *app_default = nats_as("app", NULL, &app_log);
    reply = app_submit(app_default, 500, &s);
    H_CHECK(reply == NULL, "an app on _INBOX got its answer");
    expect_violation(&app_log, before, "_INBOX.", "app request with the _INBOX prefix");
    h_log("  app with the default _INBOX prefix: reply inbox refused, request -> %s",
          natsStatus_GetText(s));
    natsConnection_Destroy(app_default);
    natsConnection_Destroy(app);

    /* Both fleets answered the submitted RFQ (deadline 500 ms). Their stop logs: PubAcks on
     * _INBOX_responder arrived; on _INBOX the subscription was refused, and the logged error
     * names the subject. */
    h_sleep_ms(700);
    H_CHECK_INT(h_proc_stop(fleet_ok), 0, "exit status of the responder fleet");
    H_CHECK_INT(h_proc_stop(fleet_bad), 0, "exit status of the responder on _INBOX");
    char *log_ok = read_text(fleet_ok->log_path), *log_bad = read_text(fleet_bad->log_path);
    H_CHECK(log_ok && log_bad, "read the responders' logs");
    long long acked = stopped_counter(log_ok, "acked");
    H_CHECK(acked >= 2 && stopped_counter(log_ok, "ack errors") == 0,
            "responder fleet: acked %lld, ack errors %lld", acked,
            stopped_counter(log_ok, "ack errors"));
    H_CHECK(!strstr(log_ok, "Permissions Violation"), "responder fleet met a permissions error");
    H_CHECK(strstr(log_ok, "PubAcks on " RFQ_NATS_INBOX_RESPONDER ".>"),
            "responder fleet does not log its inbox prefix");
    H_CHECK(stopped_counter(log_bad, "acked") == 0, "the responder on _INBOX got PubAcks");
    H_CHECK(strstr(log_bad, "nats async error: Not Permitted: Permissions Violation for "
                            "Subscription to \\\"_INBOX."),
            "the responder on _INBOX does not log the refused subject");
    h_log("responder fleet (_INBOX_responder): %lld PubAcks, no permission error; responder on "
          "_INBOX: no PubAck, logged the refused subscription with its subject",
          acked);
    free(log_ok);
    free(log_bad);

    /* Refused credentials fail at once (not after the connect wait). */
    char bad_url[128];
    snprintf(bad_url, sizeof(bad_url), "nats://responder:wrong-password@127.0.0.1:%s",
             strrchr(h_nats_url(), ':') + 1);
    natsConnection *refused = NULL;
    int64_t t0 = h_now_ms();
    rfq_status rst = rfq_nats_connect(&refused, bad_url, "perm-test", true, 10000);
    int64_t took = h_now_ms() - t0;
    H_CHECK(rst == RFQ_EAUTH && !refused, "rfq_nats_connect with a wrong password: %s",
            rfq_status_str(rst));
    H_CHECK(took < 2000, "rfq_nats_connect took %lld ms to give up on refused credentials",
            (long long)took);
    h_log("rfq_nats_connect with a wrong password -> %s after %lld ms", rfq_status_str(rst),
          (long long)took);

    /* A wrong password, or none, is refused at connect. */
    char url[64];
    snprintf(url, sizeof(url), "nats://127.0.0.1:%s", strrchr(h_nats_url(), ':') + 1);
    natsOptions *o = NULL;
    natsConnection *nc = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url);
    natsOptions_SetUserInfo(o, "app", "wrong-password");
    s = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    H_CHECK(s != NATS_OK, "connect with a wrong password succeeded");
    natsConnection_Destroy(nc);
    nc = NULL;
    natsOptions_Create(&o);
    natsOptions_SetURL(o, url);
    natsStatus s2 = natsConnection_Connect(&nc, o);
    natsOptions_Destroy(o);
    H_CHECK(s2 != NATS_OK, "connect without credentials succeeded");
    natsConnection_Destroy(nc);
    h_log("wrong password or none -> connect refused (%s, %s)", natsStatus_GetText(s),
          natsStatus_GetText(s2));
}
