/* test_metrics: GET /metrics of all three processes (RFQ_METRICS_ADDR) agrees with what the
 * engine did: RFQs completed and expired, quotes stored, answers sent, HTTP and NATS answers
 * by status; the text is valid exposition format; other paths and methods are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "scenarios.h"

/* Scrape until series reads want, for up to bound_ms; the last value read. */
static double wait_value(const struct h_metrics *t, const char *series, double want, int bound_ms)
{
    int64_t until = h_now_ms() + bound_ms;
    double v = h_metric(t, series);
    while (v != want && h_now_ms() < until) {
        h_sleep_ms(50);
        v = h_metric(t, series);
    }
    return v;
}

/* Submit over NATS; the Rfq-Status of the answer. */
static int nats_submit_status(const char *authorization, const char *body)
{
    natsMsg *reply = h_nats_submit_request(authorization, body, strlen(body));
    int status = h_nats_reply_status(reply);
    natsMsg_Destroy(reply);
    return status;
}

/* Other paths 404 and other methods 405, both with a JSON error body. */
static void check_refusals(const struct h_metrics *t)
{
    struct h_proc target;
    memset(&target, 0, sizeof(target));
    snprintf(target.http_base, sizeof(target.http_base), "%s", t->base);
    struct h_resp r;
    h_http(&r, &target, "GET", "/v1/rfqs", NULL, NULL, NULL, 0);
    h_check_error(&r, 404, "not_found", "metrics server, another path");
    h_resp_free(&r);
    h_http(&r, &target, "POST", "/metrics", NULL, "text/plain", "x", 1);
    h_check_error(&r, 405, "method_not_allowed", "POST /metrics");
    char allow[64] = "";
    h_resp_header(&r, "Allow", allow, sizeof(allow));
    H_CHECK_STR(allow, "GET, HEAD", "Allow of /metrics");
    h_resp_free(&r);
    h_http(&r, &target, "HEAD", "/metrics", NULL, NULL, NULL, 0);
    H_CHECK_INT(r.status, 200, "HEAD /metrics");
    H_CHECK_INT((long long)r.body_len, 0, "HEAD /metrics body");
    h_resp_free(&r);
}

void sc_metrics(void)
{
    struct h_metrics tr, ta, ts;
    h_metrics_init(&tr);
    h_metrics_init(&ta);
    h_metrics_init(&ts);
    h_nats_start();
    h_redis_start();
    const char *agg_env[] = {ta.env, NULL};
    h_aggregator_start(agg_env);
    const char *req_env[] = {tr.env, NULL};
    struct h_proc *req = h_requester_start(req_env);
    enum { FLEET = 4, N = 4, M = 2, MAX_QUOTES = 3 };
    const char *rsp_env[] = {ts.env,
                             "RFQ_FLEET_SIZE=4",
                             "RFQ_REGIONS=eu-west",
                             "RFQ_DECLINE_PCT=0",
                             "RFQ_THINK_MS_MIN=0",
                             "RFQ_THINK_MS_MAX=0",
                             NULL};
    h_responder_start(rsp_env);

    /* Before any traffic: the families are there, at zero, with the process ones. */
    char *text = h_metrics_scrape(&ta);
    H_CHECK(h_metrics_value(text, "rfq_aggregator_quotes_stored_total") == 0,
            "stored before traffic");
    H_CHECK(h_metrics_value(text, "rfq_aggregator_fetch_loops") == 2,
            "fetch loops (RFQ_AGG_WORKERS)");
    H_CHECK(h_metrics_value(text, "process_resident_memory_bytes") > 1e6, "aggregator RSS");
    H_CHECK(h_metrics_value(text, "process_open_fds") > 3, "aggregator open fds");
    free(text);
    H_CHECK(h_metric(&ts, "rfq_responder_unicorns") == FLEET, "unicorns hosted");
    H_CHECK(h_metric(&tr, "rfq_requester_dependency_up{dependency=\"redis\"}") == 1,
            "requester sees Redis up");
    check_refusals(&ta);
    check_refusals(&ts);
    check_refusals(&tr);

    /* N RFQs that complete (4 unicorns, max_quotes 3) and M nobody serves, which expire; one
     * submit without a token and one malformed, over HTTP; two over NATS (202 and 401). */
    char *tok = h_token("metrics-acme", "enterprise", 3600);
    char ids[N + M][RFQ_ID_MAX + 1];
    char *served = h_submit_body("eu-west", MAX_QUOTES, 5000);
    char *unserved = h_submit_body("ap-south", MAX_QUOTES, 500);
    for (int i = 0; i < N + M; i++)
        json_decref(h_submit(req, tok, i < N ? served : unserved, ids[i]));
    struct h_resp r;
    h_http(&r, req, "POST", "/v1/rfqs", NULL, "application/json", served, strlen(served));
    H_CHECK_INT(r.status, 401, "submit without a token");
    h_resp_free(&r);
    h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", "{", 1);
    H_CHECK_INT(r.status, 400, "malformed submit");
    h_resp_free(&r);
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    H_CHECK_INT(nats_submit_status(auth, unserved), 202, "NATS submit");
    H_CHECK_INT(nats_submit_status(NULL, unserved), 401, "NATS submit without a token");

    long long quotes = 0;
    int status_reads = 0;
    for (int i = 0; i < N + M; i++) {
        json_t *st = h_wait_closed(req, tok, ids[i], 10000);
        H_CHECK_STR(h_jstr(st, "status"), i < N ? "completed" : "expired", "RFQ status");
        quotes += h_jint(st, "quote_count", 0);
        json_decref(st);
    }
    H_CHECK(h_quotes_drained(10000, NULL, NULL), "the aggregator did not drain the quotes");
    /* The NATS-submitted RFQ expires too (ap-south, 500 ms), once the sweeper gets to it. */
    double expired = wait_value(&ta, "rfq_aggregator_rfqs_expired_total", M + 1, 5000);
    H_CHECK(expired == M + 1, "expired RFQs: %g, want %d", expired, M + 1);

    text = h_metrics_scrape(&ta);
    h_log("aggregator metrics:\n%.1500s", text);
    H_CHECK(h_metrics_value(text, "rfq_aggregator_rfqs_completed_total") == N, "completed RFQs");
    H_CHECK(h_metrics_value(text, "rfq_aggregator_quotes_stored_total") == (double)quotes,
            "stored quotes = sum of quote_count (%lld)", quotes);
    double answers = h_metrics_value(text, "rfq_aggregator_answers_total");
    double surplus = h_metrics_value(text, "rfq_aggregator_surplus_total");
    double dups = h_metrics_value(text, "rfq_aggregator_duplicates_total");
    H_CHECK(answers == N * FLEET, "answers %g, %d RFQs x %d unicorns", answers, N, FLEET);
    H_CHECK(answers == quotes + surplus + dups, "answers = stored + surplus + duplicates");
    H_CHECK(h_metrics_value(text, "rfq_aggregator_messages_total") >= N &&
                h_metrics_value(text, "rfq_aggregator_messages_total") <= answers,
            "stream messages between one per RFQ and one per answer");
    /* Every completed RFQ is in the time-to-complete histogram, within its 5 s deadline. */
    const char *hist = "rfq_aggregator_completion_seconds";
    char series[96];
    snprintf(series, sizeof(series), "%s_count", hist);
    H_CHECK(h_metrics_value(text, series) == N, "completion histogram count");
    snprintf(series, sizeof(series), "%s_bucket{le=\"+Inf\"}", hist);
    H_CHECK(h_metrics_value(text, series) == N, "completion histogram +Inf bucket");
    snprintf(series, sizeof(series), "%s_bucket{le=\"5\"}", hist);
    H_CHECK(h_metrics_value(text, series) == N, "completions within 5 s");
    snprintf(series, sizeof(series), "%s_sum", hist);
    double sum = h_metrics_value(text, series);
    H_CHECK(sum > 0 && sum < 5.0 * N, "completion histogram sum %g s", sum);
    H_CHECK(h_metrics_value(text, "rfq_aggregator_dead_lettered_total") == 0,
            "nothing dead-lettered");
    free(text);

    text = h_metrics_scrape(&ts);
    H_CHECK(h_metrics_value(text, "rfq_responder_rfqs_received_total") == N,
            "RFQs received (eu-west only)");
    H_CHECK(h_metrics_value(text, "rfq_responder_answers_total{kind=\"quote\"}") == N * FLEET,
            "quotes sent");
    H_CHECK(h_metrics_value(text, "rfq_responder_answers_total{kind=\"decline\"}") == 0,
            "declines sent");
    H_CHECK(h_metrics_value(text, "rfq_responder_pubacks_total") == N * FLEET,
            "PubAcks per answer");
    H_CHECK(h_metrics_value(text, "rfq_responder_send_errors_total") == 0, "send errors");
    free(text);

    text = h_metrics_scrape(&tr);
    h_log("requester metrics:\n%.1500s", text);
    H_CHECK(h_metrics_value(
                text, "rfq_requester_http_responses_total{route=\"submit\",status=\"202\"}") ==
                N + M,
            "HTTP submits accepted");
    H_CHECK(h_metrics_value(
                text, "rfq_requester_http_responses_total{route=\"submit\",status=\"401\"}") == 1,
            "HTTP submits without a token");
    H_CHECK(h_metrics_value(
                text, "rfq_requester_http_responses_total{route=\"submit\",status=\"400\"}") == 1,
            "malformed HTTP submits");
    status_reads = (int)h_metrics_value(text, "rfq_requester_http_responses_total{route=\"rfq\","
                                              "status=\"200\"}");
    H_CHECK(status_reads >= N + M, "status reads counted (%d)", status_reads);
    H_CHECK(h_metrics_value(text, "rfq_requester_nats_submits_total{status=\"202\"}") == 1,
            "NATS submits accepted");
    H_CHECK(h_metrics_value(text, "rfq_requester_nats_submits_total{status=\"401\"}") == 1,
            "NATS submits without a token");
    H_CHECK(h_metrics_value(text, "rfq_requester_shedding{cause=\"backlog\"}") == 0,
            "not shedding");
    free(text);

    free(served);
    free(unserved);
    free(tok);
}
