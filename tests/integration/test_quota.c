/* test_quota: tier quotas (429 back pressure: rate bucket and open-RFQ limit, over HTTP and
 * NATS) and usage metering (GET /v1/usage and rfqctl usage). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "scenarios.h"

/* basic tier (rfq_tier_quota): 20 RFQs/s, burst 40, 100 open. */
#define BASIC_RATE 20
#define BASIC_BURST 40
#define BASIC_OPEN 100

/* A header as an integer, -1 when absent or not a number. */
static long long header_int(const struct h_resp *r, const char *name)
{
    char v[64];
    if (!h_resp_header(r, name, v, sizeof(v)) || !*v)
        return -1;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    return end && *end == '\0' ? n : -1;
}

/* Every 429 of the rate bucket: code rate_limited, Retry-After >= 1, RateLimit-* of a basic
 * tenant with an empty bucket. */
static void check_rate_refusal(const struct h_resp *r, const char *what)
{
    h_check_error(r, 429, "rate_limited", what);
    long long retry = header_int(r, "Retry-After");
    H_CHECK(retry >= 1 && retry <= 2, "%s: Retry-After %lld, expected 1..2", what, retry);
    H_CHECK_INT(header_int(r, "RateLimit-Limit"), BASIC_BURST, what);
    H_CHECK_INT(header_int(r, "RateLimit-Remaining"), 0, what);
    long long reset = header_int(r, "RateLimit-Reset");
    H_CHECK(reset >= 1 && reset <= BASIC_BURST / BASIC_RATE, "%s: RateLimit-Reset %lld", what,
            reset);
}

/* GET /v1/usage[?query] as the token's tenant (200 expected). New reference. */
static json_t *usage_of(const struct h_proc *req, const char *tok, const char *query)
{
    char path[96];
    snprintf(path, sizeof(path), "/v1/usage%s", query ? query : "");
    return h_get_json(req, tok, path);
}

/* Fire n submits back to back; counts 202 and 429 (anything else fails), checks the headers of
 * each answer for a basic tenant (limited) or an unlimited one. Returns the elapsed ms. */
static long long burst_submit(const struct h_proc *req, const char *tok, const char *body, int n,
                              bool limited, int *accepted, int *refused)
{
    *accepted = *refused = 0;
    long long t0 = h_now_ms();
    for (int i = 0; i < n; i++) {
        struct h_resp r;
        h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
        if ((r.status == 202 && *accepted == 0) || (r.status == 429 && *refused == 0))
            h_log("first %ld answer's headers:\n%s", r.status, r.headers ? r.headers : "");
        if (r.status == 202) {
            (*accepted)++;
            long long limit = header_int(&r, "RateLimit-Limit");
            if (limited) {
                long long rem = header_int(&r, "RateLimit-Remaining");
                H_CHECK(limit > 0 && rem >= 0 && rem < limit,
                        "202 #%d: RateLimit-Limit %lld, RateLimit-Remaining %lld", i + 1, limit,
                        rem);
                H_CHECK(header_int(&r, "RateLimit-Reset") >= 1, "202 #%d without RateLimit-Reset",
                        i + 1);
            } else {
                H_CHECK(limit == -1 && header_int(&r, "RateLimit-Remaining") == -1,
                        "202 #%d of an unlimited tenant carries RateLimit headers", i + 1);
            }
        } else {
            H_CHECK(limited, "submit #%d of an unlimited tenant: HTTP %ld (%.200s)", i + 1,
                    r.status, r.body);
            char what[64];
            snprintf(what, sizeof(what), "submit #%d refused", i + 1);
            check_rate_refusal(&r, what);
            (*refused)++;
        }
        h_resp_free(&r);
    }
    return h_now_ms() - t0;
}

void sc_quota_rate(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *req = h_requester_start(NULL);
    char *body = h_submit_body("eu-west", 3, 20000);

    /* basic: the bucket holds 40 and refills 20/s; a burst of 60 overflows it. */
    char *tok = h_token("rate-basic", "basic", 3600);
    int ok = 0, refused = 0;
    long long elapsed = burst_submit(req, tok, body, 60, true, &ok, &refused);
    long long refill = elapsed * BASIC_RATE / 1000;
    h_log("basic: %d accepted, %d refused in %lld ms", ok, refused, elapsed);
    H_CHECK(refused > 0, "60 fast submits of a basic tenant: none refused (%lld ms)", elapsed);
    H_CHECK(ok >= BASIC_BURST && ok <= BASIC_BURST + refill + 1,
            "accepted %d, expected %d..%lld (burst + refill over %lld ms)", ok, BASIC_BURST,
            BASIC_BURST + refill + 1, elapsed);
    /* a refusal stores nothing: the listing index holds exactly the accepted ones */
    char idx[RFQ_KEY_MAX];
    rfq_key_index(idx, sizeof(idx), "rate-basic");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", idx), ok, "index entries after the burst");
    json_t *u = usage_of(req, tok, NULL);
    H_CHECK_INT(h_jint(u, "throttled", -1), refused, "usage throttled");
    H_CHECK_INT(h_jint(u, "rfqs", -1), ok, "usage rfqs");
    json_decref(u);

    /* After Retry-After seconds the bucket has a token again. The bucket refills while the
     * checks above run, so probe until a refusal names its Retry-After. */
    struct h_resp r;
    long long retry = 0;
    for (int probe = 0; probe < 20 && retry <= 0; probe++) {
        h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
        if (r.status == 429)
            retry = header_int(&r, "Retry-After");
        h_resp_free(&r);
    }
    H_CHECK(retry >= 1, "no 429 with a Retry-After in 20 back-to-back submits");
    h_sleep_ms((int)retry * 1000);
    h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
    H_CHECK(r.status == 202, "submit after Retry-After (%lld s): HTTP %ld (%.200s)", retry,
            r.status, r.body);
    H_CHECK_INT(header_int(&r, "RateLimit-Limit"), BASIC_BURST, "RateLimit-Limit on 202");
    h_resp_free(&r);
    free(tok);

    /* premium: burst 400, so 100 fast submits all pass, with RateLimit headers. */
    tok = h_token("rate-premium", "premium", 3600);
    elapsed = burst_submit(req, tok, body, 100, true, &ok, &refused);
    h_log("premium: %d accepted in %lld ms", ok, elapsed);
    H_CHECK_INT(ok, 100, "premium submits accepted");
    free(tok);

    /* enterprise: unlimited, no RateLimit headers. */
    tok = h_token("rate-enterprise", "enterprise", 3600);
    elapsed = burst_submit(req, tok, body, 150, false, &ok, &refused);
    h_log("enterprise: %d accepted in %lld ms", ok, elapsed);
    H_CHECK_INT(ok, 150, "enterprise submits accepted");
    u = usage_of(req, tok, NULL);
    H_CHECK_INT(h_jint(u, "throttled", -1), 0, "enterprise usage throttled");
    H_CHECK_INT(h_jint(u, "rfqs", -1), 150, "enterprise usage rfqs");
    json_decref(u);
    free(tok);
    free(body);
}

void sc_quota_open(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *req = h_requester_start(NULL);
    /* No aggregator yet: nothing sweeps, so the open RFQs stay open past their deadlines. */
    const int timeout_ms = 8000;
    char *body = h_submit_body("eu-west", 3, timeout_ms);
    char *tok = h_token("open-basic", "basic", 3600);

    /* Fill the open set, pacing on the rate bucket (a rate refusal waits and tries again). */
    long long first_deadline = 0;
    int rate_refusals = 0;
    struct h_resp r;
    for (int open = 0; open < BASIC_OPEN;) {
        h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
        if (r.status == 202) {
            if (open++ == 0)
                first_deadline = h_jint(r.json, "deadline_ms", -1);
        } else {
            check_rate_refusal(&r, "rate refusal while filling the open set");
            rate_refusals++;
            h_sleep_ms(1000 / BASIC_RATE + 5);
        }
        h_resp_free(&r);
    }
    h_log("%d open after %d rate refusals; first deadline in %lld ms", BASIC_OPEN, rate_refusals,
          first_deadline - h_now_ms());
    char open_key[RFQ_KEY_MAX];
    rfq_key_open(open_key, sizeof(open_key), "open-basic");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", open_key), BASIC_OPEN, "open set size");

    /* The 101st: refused for the open limit, Retry-After = time to the earliest deadline. */
    long long retry = -1;
    for (int tries = 0; tries < 200 && retry < 0; tries++) {
        long long before = h_now_ms();
        h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
        H_CHECK(r.status == 429, "submit beyond %d open RFQs: HTTP %ld (%.200s)", BASIC_OPEN,
                r.status, r.body);
        const char *msg = h_jstr(json_object_get(r.json, "error"), "message");
        if (msg && strstr(msg, "open")) {
            h_check_error(&r, 429, "rate_limited", "open-limit refusal");
            retry = header_int(&r, "Retry-After");
            long long want = (first_deadline - before + 999) / 1000;
            h_log("open-limit refusal: \"%s\", Retry-After %lld (earliest deadline in %lld ms)",
                  msg, retry, first_deadline - before);
            H_CHECK(retry >= 1 && retry <= want + 1 && retry >= want - 1,
                    "open-limit Retry-After %lld, earliest deadline in %lld ms", retry,
                    first_deadline - before);
        } else {
            check_rate_refusal(&r, "rate refusal before the open-limit one");
            h_sleep_ms(1000 / BASIC_RATE + 5);
        }
        h_resp_free(&r);
    }
    H_CHECK(retry > 0, "no open-limit refusal seen");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", open_key), BASIC_OPEN, "open set after the refusal");

    /* Expiry frees room: start the sweeper, wait Retry-After, and a submit passes again. */
    h_aggregator_start(NULL);
    h_sleep_ms((int)retry * 1000);
    bool passed = false;
    for (int tries = 0; tries < 40 && !passed; tries++) {
        h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
        passed = r.status == 202;
        if (!passed) {
            H_CHECK(r.status == 429, "submit after the expiry: HTTP %ld", r.status);
            h_sleep_ms(100);
        }
        h_resp_free(&r);
    }
    H_CHECK(passed, "no submit accepted once the earliest RFQ expired");
    long long still_open = h_redis_int_cmd("ZCARD", open_key);
    H_CHECK(still_open <= BASIC_OPEN, "open set holds %lld after expiries", still_open);
    h_log("after the first expiries: %lld open", still_open);
    json_t *u = usage_of(req, tok, NULL);
    H_CHECK(h_jint(u, "expired", -1) >= 1, "usage expired %lld after the sweep",
            h_jint(u, "expired", -1));
    H_CHECK(h_jint(u, "throttled", -1) >= rate_refusals + 1, "usage throttled %lld < %d",
            h_jint(u, "throttled", -1), rate_refusals + 1);
    json_decref(u);
    free(tok);
    free(body);
}

struct nats_answer {
    char status[16];
    char retry_after[32], limit[32], remaining[32], reset[32];
    json_t *json;
};

/* Copy header name of m into out ("" when absent). */
static void nats_header(natsMsg *m, const char *name, char *out, size_t cap)
{
    const char *v = NULL;
    out[0] = '\0';
    if (natsMsgHeader_Get(m, name, &v) == NATS_OK && v)
        snprintf(out, cap, "%s", v);
}

static void nats_submit(struct nats_answer *a, const char *authorization, const char *body)
{
    memset(a, 0, sizeof(*a));
    natsMsg *m = NULL, *reply = NULL;
    natsStatus s = natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, NULL, body, (int)strlen(body));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_AUTH, authorization);
    if (s == NATS_OK)
        s = natsConnection_RequestMsg(&reply, h_nc(), m, 5000);
    natsMsg_Destroy(m);
    H_CHECK(s == NATS_OK, "request on %s: %s", RFQ_SUBJECT_SUBMIT, natsStatus_GetText(s));
    nats_header(reply, RFQ_HDR_STATUS, a->status, sizeof(a->status));
    nats_header(reply, "Retry-After", a->retry_after, sizeof(a->retry_after));
    nats_header(reply, "RateLimit-Limit", a->limit, sizeof(a->limit));
    nats_header(reply, "RateLimit-Remaining", a->remaining, sizeof(a->remaining));
    nats_header(reply, "RateLimit-Reset", a->reset, sizeof(a->reset));
    a->json = json_loadb(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 0, NULL);
    natsMsg_Destroy(reply);
}

void sc_quota_nats_submit(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("nats-basic", "basic", 3600);
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    char *body = h_submit_body("eu-west", 3, 20000);

    int ok = 0, refused = 0;
    for (int i = 0; i < 60; i++) {
        struct nats_answer a;
        nats_submit(&a, auth, body);
        H_CHECK(a.json != NULL, "NATS submit #%d: reply is not JSON", i + 1);
        H_CHECK(*a.limit && atoll(a.limit) == BASIC_BURST,
                "NATS submit #%d (Rfq-Status %s): RateLimit-Limit \"%s\"", i + 1, a.status,
                a.limit);
        H_CHECK(*a.remaining && *a.reset, "NATS submit #%d: RateLimit-Remaining/Reset missing",
                i + 1);
        if (strcmp(a.status, "202") == 0) {
            ok++;
        } else {
            H_CHECK_STR(a.status, "429", "Rfq-Status of a refused NATS submit");
            json_t *err = json_object_get(a.json, "error");
            H_CHECK_STR(h_jstr(err, "code"), "rate_limited", "NATS 429 error code");
            H_CHECK(atoll(a.retry_after) >= 1, "NATS 429: Retry-After \"%s\"", a.retry_after);
            H_CHECK_STR(a.remaining, "0", "NATS 429 RateLimit-Remaining");
            if (refused == 0)
                h_log("NATS 429: Retry-After %s, RateLimit-Limit %s, -Remaining %s, -Reset %s, "
                      "message \"%s\"",
                      a.retry_after, a.limit, a.remaining, a.reset, h_jstr(err, "message"));
            refused++;
        }
        json_decref(a.json);
    }
    h_log("NATS: %d accepted, %d refused", ok, refused);
    H_CHECK(refused > 0 && ok >= BASIC_BURST, "NATS burst: %d accepted, %d refused", ok, refused);
    char idx[RFQ_KEY_MAX];
    rfq_key_index(idx, sizeof(idx), "nats-basic");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", idx), ok, "index entries after the NATS burst");
    json_t *u = usage_of(req, tok, NULL);
    H_CHECK_INT(h_jint(u, "throttled", -1), refused, "usage throttled (NATS)");
    json_decref(u);
    free(body);
    free(tok);
}

/* Run rfqctl usage for tok against req; its stdout into out. */
static void run_rfqctl_usage(const struct h_proc *req, const char *tok, char *out, size_t cap)
{
#ifdef RFQ_IT_RFQCTL_BIN
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "RFQ_API_URL='%s' RFQ_TOKEN='%s' '%s' usage", req->http_base, tok,
             RFQ_IT_RFQCTL_BIN);
    FILE *p = popen(cmd, "r");
    H_CHECK(p != NULL, "cannot run rfqctl");
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    H_CHECK(st == 0, "rfqctl usage exited with status %d: %s", st, out);
#else
    (void)req, (void)tok;
    snprintf(out, cap, "%s", "");
#endif
}

/* The value rfqctl usage prints on the line of field ("<field> <value> ..."), -1 if none. */
static long long rfqctl_value(const char *out, const char *field)
{
    size_t n = strlen(field);
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, field, n) == 0 && l[n] == ' ')
            return atoll(l + n);
    return -1;
}

void sc_usage_metering(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    const int fleet_n = 4, max_quotes = 3;
    const char *fleet[] = {"RFQ_FLEET_SIZE=4",
                           "RFQ_REGIONS=eu-west",
                           "RFQ_DECLINE_PCT=0",
                           "RFQ_THINK_MS_MIN=5",
                           "RFQ_THINK_MS_MAX=40",
                           "RFQ_SEED=11",
                           NULL};
    h_responder_start(fleet);
    char *tok = h_token("meter-acme", "premium", 3600);

    /* N that complete (eu-west is served) and M that expire (nobody serves ap-south). */
    enum { N = 5, M = 3 };
    char ids[N + M][RFQ_ID_MAX + 1];
    char *served = h_submit_body("eu-west", max_quotes, 5000);
    char *unserved = h_submit_body("ap-south", max_quotes, 1500);
    for (int i = 0; i < N + M; i++)
        json_decref(h_submit(req, tok, i < N ? served : unserved, ids[i]));
    long long quotes = 0, declines = 0;
    for (int i = 0; i < N + M; i++) {
        json_t *st = h_wait_closed(req, tok, ids[i], 10000);
        H_CHECK_STR(h_jstr(st, "status"), i < N ? "completed" : "expired", "RFQ status");
        quotes += h_jint(st, "quote_count", 0);
        declines += h_jint(st, "declines", 0);
        json_decref(st);
    }
    H_CHECK(h_quotes_drained(10000, NULL, NULL), "the aggregator did not drain the quotes");
    /* The surplus answers (fleet larger than max_quotes) may still be in flight: wait. */
    h_sleep_ms(300);
    H_CHECK(h_quotes_drained(10000, NULL, NULL), "the aggregator did not drain the quotes");

    char month[RFQ_MONTH_LEN + 1];
    rfq_month_utc(h_now_ms(), month);
    json_t *u = usage_of(req, tok, NULL);
    char *text = json_dumps(u, JSON_COMPACT);
    h_log("usage: %s", text);
    free(text);
    H_CHECK_STR(h_jstr(u, "tenant"), "meter-acme", "usage tenant");
    H_CHECK_STR(h_jstr(u, "month"), month, "usage month");
    H_CHECK_INT(h_jint(u, "rfqs", -1), N + M, "usage rfqs");
    H_CHECK_INT(h_jint(u, "completed", -1), N, "usage completed");
    H_CHECK_INT(h_jint(u, "expired", -1), M, "usage expired");
    H_CHECK_INT(h_jint(u, "quotes", -1), quotes, "usage quotes (sum of quote_count)");
    H_CHECK_INT(h_jint(u, "declines", -1), declines, "usage declines");
    H_CHECK_INT(h_jint(u, "throttled", -1), 0, "usage throttled");
    long long fanout = h_jint(u, "fanout", -1);
    H_CHECK(fanout >= quotes, "usage fanout %lld < quotes %lld", fanout, quotes);
    if (fanout != (long long)N * fleet_n)
        h_note("fanout %lld, %d RFQs x %d responders = %d", fanout, N, fleet_n, N * fleet_n);

    /* The same month named explicitly; another month is all zeros; a bad one is 400. */
    char q[32];
    snprintf(q, sizeof(q), "?month=%s", month);
    json_t *same = usage_of(req, tok, q);
    H_CHECK(json_equal(same, u), "usage of ?month=%s differs from the default", month);
    json_decref(same);
    json_t *old = usage_of(req, tok, "?month=1999-01");
    H_CHECK_STR(h_jstr(old, "month"), "1999-01", "month of an old usage");
    static const char *const counters[] = {"rfqs",      "quotes",  "declines", "fanout",
                                           "completed", "expired", "throttled"};
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        H_CHECK_INT(h_jint(old, counters[i], -1), 0, counters[i]);
    json_decref(old);
    struct h_resp r;
    h_http(&r, req, "GET", "/v1/usage?month=bad", tok, NULL, NULL, 0);
    h_check_error(&r, 400, "bad_request", "GET /v1/usage?month=bad");
    h_resp_free(&r);
    h_http(&r, req, "GET", "/v1/usage?month=2024-13", tok, NULL, NULL, 0);
    h_check_error(&r, 400, "bad_request", "GET /v1/usage?month=2024-13");
    h_resp_free(&r);
    h_http(&r, req, "POST", "/v1/usage", tok, "application/json", "{}", 2);
    h_check_error(&r, 405, "method_not_allowed", "POST /v1/usage");
    h_resp_free(&r);
    h_http(&r, req, "GET", "/v1/usage", NULL, NULL, NULL, 0);
    h_check_error(&r, 401, "unauthorized", "GET /v1/usage without a token");
    h_resp_free(&r);
    /* Another tenant sees its own (empty) usage, never meter-acme's. */
    char *other = h_token("meter-globex", "basic", 3600);
    json_t *ou = usage_of(req, other, NULL);
    H_CHECK_STR(h_jstr(ou, "tenant"), "meter-globex", "other tenant's usage tenant");
    H_CHECK_INT(h_jint(ou, "rfqs", -1), 0, "other tenant's usage rfqs");
    json_decref(ou);
    free(other);

    /* rfqctl usage prints the same counts. */
    char out[4096];
    run_rfqctl_usage(req, tok, out, sizeof(out));
    if (*out) {
        h_log("rfqctl usage:\n%s", out);
        H_CHECK(strstr(out, "meter-acme") && strstr(out, month), "rfqctl usage: tenant or month "
                                                                 "missing");
        for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
            H_CHECK_INT(rfqctl_value(out, counters[i]), h_jint(u, counters[i], -2), counters[i]);
    } else {
        h_note("rfqctl is not built here: its usage output was not checked");
    }
    json_decref(u);
    free(served);
    free(unserved);
    free(tok);
}
