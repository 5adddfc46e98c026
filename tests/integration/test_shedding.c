/* test_shedding: back pressure. With the aggregator frozen, quotes pile up in the quote stream;
 * once the backlog passes RFQ_SHED_BACKLOG the requester answers new submits (HTTP and NATS)
 * with 503 and Retry-After and stores nothing, reads go on, and it accepts again by itself once
 * the aggregator has caught up. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "scenarios.h"

#define SHED_LIMIT 200   /* RFQ_SHED_BACKLOG of the requester under test */
#define SHED_QUOTES 260  /* quotes published while the aggregator is frozen */
#define DRAIN_QUOTES 700 /* above REQ_SHED_DRAIN_MIN (500): the drain time is judged */

static long long index_size(const char *tenant)
{
    char k[RFQ_KEY_MAX];
    rfq_key_index(k, sizeof(k), tenant);
    return h_redis_int_cmd("ZCARD", k);
}

/* The Retry-After of a shed answer: whole seconds 1..5. */
static int check_retry_after(const char *v, const char *what)
{
    char *end = NULL;
    long s = v ? strtol(v, &end, 10) : -1;
    H_CHECK(v && end && *end == '\0' && s >= 1 && s <= 5, "%s: Retry-After \"%s\", expected 1..5",
            what, v ? v : "(none)");
    return (int)s;
}

/* One HTTP submit; returns the status (the response is freed). For a 503, checks the shed
 * answer: code unavailable, a message naming the backlog, Retry-After 1..5. */
static long submit_once(const struct h_proc *req, const char *tok, const char *body, int *retry)
{
    struct h_resp r;
    h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
    long status = r.status;
    if (status == 503) {
        h_check_error(&r, 503, "unavailable", "shed submit");
        const char *msg = h_jstr(json_object_get(r.json, "error"), "message");
        H_CHECK(msg && strstr(msg, "quotes are waiting for the aggregators"),
                "503 message does not name the backlog: %s", msg ? msg : "(none)");
        char ra[16];
        bool has = h_resp_header(&r, "Retry-After", ra, sizeof(ra));
        int s = check_retry_after(has ? ra : NULL, "HTTP 503");
        if (retry)
            *retry = s;
    } else {
        H_CHECK(status == 202, "submit: HTTP %ld (%.300s)", status, r.body);
    }
    h_resp_free(&r);
    return status;
}

/* rfq.v1.submit request; returns Rfq-Status and copies Retry-After (or "") into ra. */
static int nats_submit(const char *tok, const char *body, char *ra, size_t cap)
{
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    natsMsg *m = NULL, *reply = NULL;
    natsStatus s = natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, NULL, body, (int)strlen(body));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_AUTH, auth);
    if (s == NATS_OK)
        s = natsConnection_RequestMsg(&reply, h_nc(), m, 5000);
    natsMsg_Destroy(m);
    H_CHECK(s == NATS_OK, "request on %s: %s", RFQ_SUBJECT_SUBMIT, natsStatus_GetText(s));
    const char *v = NULL;
    int status = natsMsgHeader_Get(reply, RFQ_HDR_STATUS, &v) == NATS_OK && v ? atoi(v) : 0;
    v = NULL;
    snprintf(ra, cap, "%s", natsMsgHeader_Get(reply, "Retry-After", &v) == NATS_OK && v ? v : "");
    if (status == 503) {
        json_t *j =
            json_loadb(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 0, NULL);
        H_CHECK_STR(h_jstr(json_object_get(j, "error"), "code"), "unavailable",
                    "NATS 503 error code");
        json_decref(j);
    }
    natsMsg_Destroy(reply);
    return status;
}

/* Freeze the aggregator, then publish n quotes for acme's RFQ id: they wait in the stream. */
static void hold_quotes(struct h_proc *agg, const char *id, int n)
{
    h_proc_freeze(agg);
    for (int i = 0; i < n; i++) {
        char who[32];
        snprintf(who, sizeof(who), "r-held-%d", i);
        h_publish_quote("acme", id, who, 1000 + i, 60, NULL);
    }
}

static json_t *health(const struct h_proc *req)
{
    return h_get_json(req, NULL, "/healthz");
}

void sc_shed_backlog(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *agg = h_aggregator_start(NULL);
    char limit_env[64];
    snprintf(limit_env, sizeof(limit_env), "RFQ_SHED_BACKLOG=%d", SHED_LIMIT);
    const char *const req_env[] = {limit_env, NULL};
    struct h_proc *req = h_requester_start(req_env);
    char *tok = h_token("acme", "enterprise", 3600);
    /* Long deadline: the held quotes are still on time when they are finally processed. */
    char *body = h_submit_body("eu-west", 100, 60000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));

    json_t *hz = health(req);
    H_CHECK(json_is_null(json_object_get(hz, "shedding")), "healthz shedding before the load: %s",
            json_dumps(hz, JSON_COMPACT));
    json_decref(hz);

    /* Freeze the gather side, then pile quotes up past the limit. */
    hold_quotes(agg, id, SHED_QUOTES);
    int64_t t_over = h_now_ms();
    h_log("%d quotes held behind the frozen aggregator (limit %d)", SHED_QUOTES, SHED_LIMIT);

    /* Shed within about a second: the monitor samples every 250 ms. */
    int retry = 0, accepted_before = 0;
    long status = 202;
    while ((status = submit_once(req, tok, body, &retry)) == 202) {
        accepted_before++;
        H_CHECK(h_now_ms() - t_over < 1500, "still 202 %lld ms after the backlog passed %d",
                (long long)(h_now_ms() - t_over), SHED_LIMIT);
        h_sleep_ms(20);
    }
    int64_t time_to_shed = h_now_ms() - t_over;
    h_log("time to shed: %lld ms (%d submits accepted meanwhile), Retry-After %d s",
          (long long)time_to_shed, accepted_before, retry);
    H_CHECK(time_to_shed <= 1000, "first 503 after %lld ms, expected within ~1 s",
            (long long)time_to_shed);

    /* While shedding: every submit refused, over HTTP and NATS, and nothing stored. */
    long long stored = index_size("acme");
    for (int i = 0; i < 20; i++)
        H_CHECK_INT(submit_once(req, tok, body, NULL), 503, "HTTP submit while shedding");
    char ra[16];
    for (int i = 0; i < 5; i++) {
        H_CHECK_INT(nats_submit(tok, body, ra, sizeof(ra)), 503, "NATS submit while shedding");
        check_retry_after(ra, "NATS 503");
    }
    H_CHECK_INT(index_size("acme"), stored, "RFQs stored while shedding");

    /* Reads go on; /healthz names the cause. */
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    json_decref(h_get_json(req, tok, path));
    hz = health(req);
    H_CHECK_STR(h_jstr(hz, "status"), "ok", "healthz status while shedding");
    H_CHECK_STR(h_jstr(hz, "shedding"), "backlog", "healthz shedding");
    H_CHECK(h_jint(hz, "backlog", -1) > SHED_LIMIT * 8 / 10, "healthz backlog %lld",
            h_jint(hz, "backlog", -1));
    json_decref(hz);

    /* Thaw: the aggregator drains the stream and the requester accepts again by itself. */
    int64_t t_cont = h_now_ms();
    h_proc_signal(agg, SIGCONT);
    int refused_after = 0;
    while ((status = submit_once(req, tok, body, NULL)) == 503) {
        refused_after++;
        H_CHECK(h_now_ms() - t_cont < 5000, "still 503 %lld ms after SIGCONT",
                (long long)(h_now_ms() - t_cont));
        h_sleep_ms(20);
    }
    int64_t time_to_recover = h_now_ms() - t_cont;
    h_log("time to recover: %lld ms after SIGCONT (%d submits refused meanwhile)",
          (long long)time_to_recover, refused_after);
    H_CHECK_INT(nats_submit(tok, body, ra, sizeof(ra)), 202, "NATS submit after recovery");
    hz = health(req);
    H_CHECK(json_is_null(json_object_get(hz, "shedding")), "healthz shedding after recovery");
    json_decref(hz);

    /* The held quotes were all processed: max_quotes 100 stored, the rest surplus. */
    uint64_t pending = 0;
    int64_t unacked = 0;
    H_CHECK(h_quotes_drained(10000, &pending, &unacked), "quote stream not drained: %llu + %lld",
            (unsigned long long)pending, (long long)unacked);
    json_t *st = h_wait_closed(req, tok, id, 5000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "RFQ fed by the held quotes");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 100, "quotes stored from the held backlog");
    json_decref(st);
    printf("SHED time_to_shed_ms=%lld time_to_recover_ms=%lld retry_after_s=%d\n",
           (long long)time_to_shed, (long long)time_to_recover, retry);
    free(body);
    free(tok);
}

/* The drain-time limit alone (size limit off): 700 quotes held behind a frozen aggregator are
 * far below any size worth shedding for, but nothing is being acknowledged, so they would
 * never be worked off in time: new RFQs get 503 naming the time; after SIGCONT intake
 * resumes by itself. */
void sc_shed_drain_time(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *agg = h_aggregator_start(NULL);
    const char *const req_env[] = {"RFQ_SHED_BACKLOG=0", "RFQ_SHED_DRAIN_MS=1000", NULL};
    struct h_proc *req = h_requester_start(req_env);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 100, 60000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));
    hold_quotes(agg, id, DRAIN_QUOTES);
    int64_t t_over = h_now_ms();
    int retry = 0;
    while (submit_once(req, tok, body, &retry) == 202) {
        H_CHECK(h_now_ms() - t_over < 3000,
                "still 202 %lld ms after %d quotes piled up with "
                "nothing acknowledged",
                (long long)(h_now_ms() - t_over), DRAIN_QUOTES);
        h_sleep_ms(20);
    }
    h_log("drain-time shedding after %lld ms (%d quotes held), Retry-After %d s",
          (long long)(h_now_ms() - t_over), DRAIN_QUOTES, retry);
    struct h_resp r;
    h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
    const char *msg = h_jstr(json_object_get(r.json, "error"), "message");
    H_CHECK(r.status == 503 && msg && strstr(msg, "drain-time limit 1.0 s"),
            "503 message does not name the drain time: HTTP %ld %s", r.status, msg ? msg : "");
    h_log("503 message: %s", msg);
    h_resp_free(&r);
    json_t *hz = health(req);
    H_CHECK_STR(h_jstr(hz, "shedding"), "backlog", "healthz shedding");
    json_decref(hz);

    int64_t t_cont = h_now_ms();
    h_proc_signal(agg, SIGCONT);
    while (submit_once(req, tok, body, NULL) == 503) {
        H_CHECK(h_now_ms() - t_cont < 5000, "still 503 %lld ms after SIGCONT",
                (long long)(h_now_ms() - t_cont));
        h_sleep_ms(20);
    }
    h_log("accepting again %lld ms after SIGCONT", (long long)(h_now_ms() - t_cont));
    free(body);
    free(tok);
}
