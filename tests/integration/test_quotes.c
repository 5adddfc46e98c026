/* test_quotes: quotes the aggregator must not store (duplicate, late, wrong tenant, malformed),
 * published by the test itself exactly as a responder would, with no responder running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "scenarios.h"

/* nats-server, redis-server, one aggregator (returned in *agg when non-NULL), one requester. */
static struct h_proc *start_stack(struct h_proc **agg)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    struct h_proc *a = h_aggregator_start(NULL);
    if (agg)
        *agg = a;
    return h_requester_start(NULL);
}

static void quote_subject(char *out, size_t cap, const char *tenant, const char *id)
{
    H_CHECK(rfq_subject_quote(out, cap, tenant, id) == RFQ_OK, "quote subject");
}

/* Wait until an integer field of a Redis hash reaches want (bounded). */
static void wait_hash_int(const char *key, const char *field, long long want, int bound_ms)
{
    int64_t until = h_now_ms() + bound_ms;
    long long v = -1;
    while ((v = h_redis_hget_int(key, field, 0)) < want && h_now_ms() < until)
        h_sleep_ms(20);
    H_CHECK(v >= want, "%s %s is %lld after %d ms, expected %lld", key, field, v, bound_ms, want);
}

/* Publish raw bytes to subject with the given responder headers and expect a DLQ entry whose reason
 * is one of the accepted codes (comma list); returns nothing, fails the scenario otherwise. */
static void expect_dlq(const char *what, const char *subject, const char *hdr_id,
                       const char *hdr_tenant, const char *hdr_responder, const char *data,
                       size_t len, const char *accepted)
{
    static int n;
    char mid[64];
    snprintf(mid, sizeof(mid), "it-dlq-%d", ++n);
    const char *hdrs[] = {"Rfq-Id",
                          hdr_id ? hdr_id : "none",
                          "Rfq-Tenant",
                          hdr_tenant ? hdr_tenant : "none",
                          "Rfq-Responder",
                          hdr_responder,
                          "Nats-Msg-Id",
                          mid,
                          NULL};
    h_js_publish(subject, hdrs, data, len, NULL, NULL);
    struct h_dlq_entry e;
    H_CHECK(h_dlq_wait(subject, data, len, 5000, &e),
            "%s: no dead letter for the message on %s within 5 s", what, subject);
    char list[128];
    snprintf(list, sizeof(list), ",%s,", accepted);
    char needle[80];
    snprintf(needle, sizeof(needle), ",%s,", e.reason);
    H_CHECK(e.reason[0] && strstr(list, needle) != NULL,
            "%s: dead-letter reason \"%s\", expected one of {%s}", what, e.reason, accepted);
    H_CHECK_STR(e.subject, "rfq.v1.dlq.aggregator", "dead-letter subject (stage aggregator)");
    h_log("%s: dead-lettered with reason %s", what, e.reason);
    h_dlq_entry_free(&e);
}

void sc_duplicate_quote(void)
{
    struct h_proc *req = start_stack(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 5, 20000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));

    char subject[RFQ_KEY_MAX], key[RFQ_KEY_MAX], qkey[RFQ_KEY_MAX], rkey[RFQ_KEY_MAX];
    quote_subject(subject, sizeof(subject), "acme", id);
    rfq_key_rfq(key, sizeof(key), "acme", id);
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
    rfq_key_rank(rkey, sizeof(rkey), "acme", id);
    char mid1[160], mid2[160], mid3[160];
    snprintf(mid1, sizeof(mid1), "%s.r-1", id);
    snprintf(mid2, sizeof(mid2), "%s.r-1.resend", id);
    snprintf(mid3, sizeof(mid3), "%s.r-1.reprice", id);
    char *q = h_quote_body(id, "r-1", 1000, 300, "USD");
    char *q_cheaper = h_quote_body(id, "r-1", 500, 100, "USD");
    const char *h1[] = {"Rfq-Id",      id,   "Rfq-Tenant", "acme", "Rfq-Responder", "r-1",
                        "Nats-Msg-Id", mid1, NULL};
    const char *h2[] = {"Rfq-Id",      id,   "Rfq-Tenant", "acme", "Rfq-Responder", "r-1",
                        "Nats-Msg-Id", mid2, NULL};
    const char *h3[] = {"Rfq-Id",      id,   "Rfq-Tenant", "acme", "Rfq-Responder", "r-1",
                        "Nats-Msg-Id", mid3, NULL};
    uint64_t s1 = 0, s2 = 0, s3 = 0, s4 = 0;
    bool d1 = true, d2 = true, d3 = false, d4 = true;
    h_js_publish(subject, h1, q, strlen(q), &s1, &d1);
    h_js_publish(subject, h2, q, strlen(q), &s2, &d2);                 /* new Nats-Msg-Id */
    h_js_publish(subject, h1, q, strlen(q), &s3, &d3);                 /* same Nats-Msg-Id */
    h_js_publish(subject, h3, q_cheaper, strlen(q_cheaper), &s4, &d4); /* same responder */
    H_CHECK(!d1 && !d2 && !d4, "JetStream flagged a quote with a fresh Nats-Msg-Id duplicate");
    H_CHECK(d3, "JetStream did not flag the re-sent Nats-Msg-Id as duplicate");
    H_CHECK(s2 > s1 && s4 > s2, "stream sequences not increasing (%llu %llu %llu)",
            (unsigned long long)s1, (unsigned long long)s2, (unsigned long long)s4);
    /* A second responder after the duplicates: once it is stored, they were all processed. */
    h_publish_quote("acme", id, "r-2", 1500, 200, NULL);

    wait_hash_int(key, "dups", 2, 5000);
    json_t *st = h_wait_quote_count(req, tok, id, 2, 5000);
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "aggregator left quotes unprocessed");
    h_sleep_ms(300); /* let any wrongly emitted event arrive */

    H_CHECK_INT(h_redis_hget_int(key, "dups", -1), 2, "rfq hash dups");
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 2, "rfq hash count");
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), 2, "stored quotes");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", rkey), 2, "ranked quotes");
    json_decref(st);

    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    st = h_get_json(req, tok, path);
    H_CHECK_INT(h_jint(st, "quote_count", -1), 2, "quote_count");
    H_CHECK_STR(h_jstr(st, "status"), "open", "status");
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id);
    json_t *qa = h_get_json(req, tok, path);
    h_check_ranked(qa, id, 2);
    /* First stored wins: r-1 keeps its first price, the cheaper re-quote was dropped. */
    json_t *r1 = json_array_get(json_object_get(qa, "quotes"), 0);
    H_CHECK_STR(h_jstr(r1, "responder_id"), "r-1", "rank 1 responder");
    H_CHECK_INT(h_jint(json_object_get(r1, "price"), "amount_minor", -1), 1000,
                "r-1 price (first quote wins)");
    H_CHECK_INT(h_events_count(id, "quote"), 2, "quote events (duplicates emit none)");
    /* The two re-sends under new Nats-Msg-Ids are new stream messages: counted above and
     * dead-lettered; the copy under the same id never reached the aggregator. */
    H_CHECK_INT(h_dlq_count_subject(subject, "duplicate"), 2, "dead letters for duplicates");
    H_CHECK_INT(h_dlq_count_subject(subject, NULL), 2, "dead letters for the RFQ");

    json_decref(qa);
    json_decref(st);
    free(q);
    free(q_cheaper);
    free(body);
    free(tok);
}

void sc_late_quote(void)
{
    struct h_proc *agg = NULL;
    struct h_proc *req = start_stack(&agg);
    char *tok = h_token("acme", "enterprise", 3600);

    /* Case 1: the sweeper closed the RFQ, then a quote arrives. */
    char *body = h_submit_body("eu-west", 5, 300);
    char id[RFQ_ID_MAX + 1], key[RFQ_KEY_MAX], qkey[RFQ_KEY_MAX], subject[RFQ_KEY_MAX];
    json_decref(h_submit(req, tok, body, id));
    json_t *st = h_wait_closed(req, tok, id, 5000);
    H_CHECK_STR(h_jstr(st, "status"), "expired", "status after the deadline");
    json_decref(st);
    quote_subject(subject, sizeof(subject), "acme", id);
    rfq_key_rfq(key, sizeof(key), "acme", id);
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
    char *q = h_quote_body(id, "r-late", 800, 60, "USD");
    expect_dlq("quote after expiry", subject, id, "acme", "r-late", q, strlen(q), "late,closed");
    struct h_dlq_entry e;
    H_CHECK(h_dlq_wait(subject, q, strlen(q), 100, &e), "dead letter vanished");
    H_CHECK_STR(e.rfq_id, id, "dead letter Rfq-Id header");
    H_CHECK_STR(e.tenant, "acme", "dead letter Rfq-Tenant header");
    h_dlq_entry_free(&e);
    H_CHECK_INT(h_redis_hget_int(key, "late", 0) + h_redis_hget_int(key, "closed_drops", 0), 1,
                "late + closed_drops counters");
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), 0, "stored quotes of the expired RFQ");
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    st = h_get_json(req, tok, path);
    H_CHECK_STR(h_jstr(st, "status"), "expired", "status after the late quote");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 0, "quote_count after the late quote");
    json_decref(st);
    H_CHECK_INT(h_events_count(id, "quote"), 0, "quote events for a late quote");
    free(q);

    /* Case 2: no aggregator runs across the deadline and the quote is stamped by JetStream
     * after it. An aggregator whose sweeper waits 60 s past deadlines sees the RFQ still open
     * in Redis: the arrival time (JetStream timestamp, not processing time) makes it late. */
    char id2[RFQ_ID_MAX + 1], key2[RFQ_KEY_MAX], subject2[RFQ_KEY_MAX];
    char *body2 = h_submit_body("eu-west", 5, 1000);
    json_t *sub = h_submit(req, tok, body2, id2);
    long long deadline2 = h_jint(sub, "deadline_ms", -1);
    json_decref(sub);
    H_CHECK(h_proc_stop(agg) == 0, "aggregator did not exit cleanly on SIGTERM");
    while (h_now_ms() < deadline2 + 300)
        h_sleep_ms(20);
    quote_subject(subject2, sizeof(subject2), "acme", id2);
    rfq_key_rfq(key2, sizeof(key2), "acme", id2);
    char *q2 = h_quote_body(id2, "r-late", 800, 60, "USD");
    const char *hdrs[] = {"Rfq-Id", id2,           "Rfq-Tenant", "acme", "Rfq-Responder",
                          "r-late", "Nats-Msg-Id", "late-2",     NULL};
    h_js_publish(subject2, hdrs, q2, strlen(q2), NULL, NULL);
    const char *slow_sweep[] = {"RFQ_SWEEP_GRACE_MS=60000", NULL};
    struct h_proc *lazy = h_aggregator_start(slow_sweep);
    H_CHECK(h_dlq_wait(subject2, q2, strlen(q2), 5000, &e),
            "quote published after the deadline was not dead-lettered");
    H_CHECK_STR(e.reason, "late", "dead-letter reason of a quote stamped after the deadline");
    h_dlq_entry_free(&e);
    H_CHECK_INT(h_redis_hget_int(key2, "late", -1), 1, "late counter of RFQ 2");
    char v[32];
    H_CHECK(h_redis_hget(key2, "status", v, sizeof(v)), "RFQ 2 hash missing");
    H_CHECK_STR(v, "open", "RFQ 2 status before any sweep");
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "late quote left unacknowledged");

    /* The ordinary aggregator comes back and sweeps RFQ 2: expired, nothing stored. */
    H_CHECK(h_proc_stop(lazy) == 0, "aggregator-2 did not exit cleanly on SIGTERM");
    h_proc_restart(agg);
    st = h_wait_closed(req, tok, id2, 5000);
    H_CHECK_STR(h_jstr(st, "status"), "expired", "status of RFQ 2");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 0, "quote_count of RFQ 2");
    json_decref(st);
    H_CHECK(h_events_wait(id2, "expired", 1, 5000), "no expired event for RFQ 2");
    H_CHECK_INT(h_events_count(id2, "quote"), 0, "quote events of RFQ 2");

    free(q2);
    free(body2);
    free(body);
    free(tok);
}

void sc_wrong_tenant_quote(void)
{
    struct h_proc *req = start_stack(NULL);
    char *acme = h_token("acme", "enterprise", 3600);
    char *globex = h_token("globex", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 5, 20000);
    char x[RFQ_ID_MAX + 1], y[RFQ_ID_MAX + 1], z[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, acme, body, x));   /* acme's RFQ under attack */
    json_decref(h_submit(req, acme, body, y));   /* another acme RFQ */
    json_decref(h_submit(req, globex, body, z)); /* globex's own RFQ */

    char s_acme_x[RFQ_KEY_MAX], s_globex_x[RFQ_KEY_MAX], s_acme_z[RFQ_KEY_MAX];
    quote_subject(s_acme_x, sizeof(s_acme_x), "acme", x);
    quote_subject(s_globex_x, sizeof(s_globex_x), "globex", x);
    quote_subject(s_acme_z, sizeof(s_acme_z), "acme", z);

    /* (a) addressed to globex with acme's RFQ id: globex has no such RFQ. */
    char *qx = h_quote_body(x, "r-a", 100, 10, "USD");
    expect_dlq("globex subject, acme rfq id", s_globex_x, x, "globex", "r-a", qx, strlen(qx),
               "unknown_rfq");
    /* (b) acme's subject, Rfq-Tenant header says globex. */
    char *qb = h_quote_body(x, "r-b", 100, 10, "USD");
    expect_dlq("Rfq-Tenant header differs from subject", s_acme_x, x, "globex", "r-b", qb,
               strlen(qb), "mismatch");
    /* (c) acme's subject for X, body names acme's other RFQ Y. */
    char *qc = h_quote_body(y, "r-c", 100, 10, "USD");
    expect_dlq("body rfq_id differs from subject", s_acme_x, x, "acme", "r-c", qc, strlen(qc),
               "mismatch");
    /* (d) globex's RFQ id under acme's subject: acme has no such RFQ. */
    char *qd = h_quote_body(z, "r-d", 100, 10, "USD");
    expect_dlq("acme subject, globex rfq id", s_acme_z, z, "acme", "r-d", qd, strlen(qd),
               "unknown_rfq");

    /* A proper quote is still stored, and nothing else leaked anywhere. */
    h_publish_quote("acme", x, "r-good", 1200, 60, NULL);
    json_t *st = h_wait_quote_count(req, acme, x, 1, 5000);
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "aggregator left quotes unprocessed");
    json_decref(st);
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", x);
    json_t *qa = h_get_json(req, acme, path);
    h_check_ranked(qa, x, 1);
    H_CHECK_STR(h_jstr(json_array_get(json_object_get(qa, "quotes"), 0), "responder_id"), "r-good",
                "the only stored quote");
    json_decref(qa);

    char k[RFQ_KEY_MAX];
    rfq_key_rfq(k, sizeof(k), "globex", x);
    H_CHECK_INT(h_redis_int_cmd("EXISTS", k), 0, "a globex hash created for acme's RFQ id");
    rfq_key_quotes(k, sizeof(k), "globex", x);
    H_CHECK_INT(h_redis_int_cmd("EXISTS", k), 0, "globex quotes key for acme's RFQ id");
    rfq_key_rfq(k, sizeof(k), "acme", z);
    H_CHECK_INT(h_redis_int_cmd("EXISTS", k), 0, "an acme hash created for globex's RFQ id");
    rfq_key_quotes(k, sizeof(k), "acme", y);
    H_CHECK_INT(h_redis_int_cmd("EXISTS", k), 0, "quotes stored on acme's other RFQ");
    rfq_key_quotes(k, sizeof(k), "globex", z);
    H_CHECK_INT(h_redis_int_cmd("EXISTS", k), 0, "quotes stored on globex's RFQ");
    rfq_key_rfq(k, sizeof(k), "acme", x);
    H_CHECK_INT(h_redis_hget_int(k, "count", -1), 1, "acme RFQ count");
    H_CHECK_INT(h_redis_hget_int(k, "dups", -1), 0, "acme RFQ dups");

    /* Neither tenant sees the other's RFQ over HTTP. */
    struct h_resp r;
    snprintf(path, sizeof(path), "/v1/rfqs/%s", x);
    h_http(&r, req, "GET", path, globex, NULL, NULL, 0);
    h_check_error(&r, 404, "not_found", "globex reading acme's RFQ");
    h_resp_free(&r);
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", x);
    h_http(&r, req, "GET", path, globex, NULL, NULL, 0);
    h_check_error(&r, 404, "not_found", "globex reading acme's quotes");
    h_resp_free(&r);
    H_CHECK_INT(h_events_count(x, "quote"), 1, "quote events on acme's RFQ");
    H_CHECK_INT(h_events_count(z, "quote"), 0, "quote events on globex's RFQ");

    free(qx);
    free(qb);
    free(qc);
    free(qd);
    free(body);
    free(acme);
    free(globex);
}

void sc_malformed_quote(void)
{
    struct h_proc *req = start_stack(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 5, 20000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));
    char subject[RFQ_KEY_MAX], key[RFQ_KEY_MAX];
    quote_subject(subject, sizeof(subject), "acme", id);
    rfq_key_rfq(key, sizeof(key), "acme", id);

    const char *not_json = "{\"rfq_id\": \"oops";
    expect_dlq("truncated JSON", subject, id, "acme", "r-bad", not_json, strlen(not_json),
               "bad_json,schema");
    const char *array = "[1,2,3]";
    expect_dlq("JSON array", subject, id, "acme", "r-bad", array, strlen(array), "bad_json,schema");
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"rfq_id\":\"%s\",\"responder_id\":\"r-s\"}", id);
    expect_dlq("quote without price", subject, id, "acme", "r-s", buf, strlen(buf),
               "schema,bad_json");
    snprintf(buf, sizeof(buf),
             "{\"rfq_id\":\"%s\",\"responder_id\":\"r-n\",\"price\":{\"amount_minor\":-5,"
             "\"currency\":\"USD\"},\"eta_s\":10}",
             id);
    expect_dlq("negative price", subject, id, "acme", "r-n", buf, strlen(buf), "schema,bad_json");
    snprintf(buf, sizeof(buf),
             "{\"rfq_id\":\"%s\",\"responder_id\":\"r-d\",\"responder_id\":\"r-e\",\"price\":{"
             "\"amount_minor\":5,\"currency\":\"USD\"},\"eta_s\":10}",
             id);
    expect_dlq("duplicate JSON key", subject, id, "acme", "r-d", buf, strlen(buf),
               "bad_json,schema");
    expect_dlq("empty body", subject, id, "acme", "r-bad", "", 0, "bad_json,schema");

    /* Subjects that are not rfq.v1.quote.<tenant>.<rfq_id> (still captured by the stream). */
    char *good = h_quote_body(id, "r-subj", 100, 10, "USD");
    expect_dlq("subject without rfq id", "rfq.v1.quote.acme", id, "acme", "r-subj", good,
               strlen(good), "subject");
    char s_upper[RFQ_KEY_MAX], s_extra[RFQ_KEY_MAX];
    snprintf(s_upper, sizeof(s_upper), "rfq.v1.quote.ACME.%s", id);
    expect_dlq("upper-case tenant token", s_upper, id, "ACME", "r-subj", good, strlen(good),
               "subject");
    snprintf(s_extra, sizeof(s_extra), "rfq.v1.quote.acme.%s.extra", id);
    expect_dlq("extra subject token", s_extra, id, "acme", "r-subj", good, strlen(good), "subject");

    /* A well-formed quote in the wrong currency. */
    char *eur = h_quote_body(id, "r-eur", 100, 10, "EUR");
    expect_dlq("currency differs from the RFQ", subject, id, "acme", "r-eur", eur, strlen(eur),
               "currency");

    /* Nothing was stored; the aggregator is alive and stores the next good quote. */
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 0, "count after malformed quotes");
    h_publish_quote("acme", id, "r-fine", 999, 99, NULL);
    json_t *st = h_wait_quote_count(req, tok, id, 1, 5000);
    H_CHECK_STR(h_jstr(st, "status"), "open", "status");
    json_decref(st);
    H_CHECK(h_quotes_drained(5000, NULL, NULL),
            "malformed quotes stay unacknowledged on the quote stream (redelivery loop)");
    h_sleep_ms(300);
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 1, "count after the good quote");
    H_CHECK_INT(h_redis_hget_int(key, "dups", -1), 0, "dups");
    char qkey[RFQ_KEY_MAX];
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), 1, "stored quotes");
    H_CHECK_INT(h_events_count(id, "quote"), 1, "quote events");

    free(eur);
    free(good);
    free(body);
    free(tok);
}
