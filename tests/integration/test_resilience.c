/* test_resilience: an aggregator killed mid-RFQ loses nothing; two aggregators close each RFQ
 * exactly once. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "scenarios.h"

/* Every quote event of rfq_id carries a different count (no quote announced twice). */
static void check_quote_event_counts(const char *id, int max)
{
    int n = h_events_count(id, "quote");
    H_CHECK(n <= max, "%d quote events for %s, at most %d quotes were stored", n, id, max);
    bool seen[128] = {false};
    for (int i = 0; i < n; i++) {
        long long c = h_jint(h_events_get(id, "quote", i), "count", -1);
        H_CHECK(c >= 1 && c <= max && c < 128 && !seen[c],
                "quote event count %lld repeated or out of range for %s", c, id);
        seen[c] = true;
    }
}

void sc_aggregator_restart(void)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    struct h_proc *agg = h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 6, 60000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));

    h_publish_quote("acme", id, "r-1", 1100, 300, NULL);
    h_publish_quote("acme", id, "r-2", 1000, 300, NULL);
    json_decref(h_wait_quote_count(req, tok, id, 2, 5000));
    /* Kill once both are acknowledged (a kill between store and ack is the in-flight
     * scenario), and give nats-server a moment to drop the dead client's pull request. */
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "first quotes not acknowledged");
    h_proc_kill9(agg);
    h_sleep_ms(300);
    /* While no aggregator runs: quotes are acknowledged by the stream (durable), and a second
     * RFQ's deadline passes with nobody sweeping. */
    h_publish_quote("acme", id, "r-3", 900, 200, NULL);
    h_publish_quote("acme", id, "r-4", 1000, 100, NULL);
    char *short_body = h_submit_body("eu-west", 5, 500);
    char id_exp[RFQ_ID_MAX + 1];
    json_t *se = h_submit(req, tok, short_body, id_exp);
    long long dl_exp = h_jint(se, "deadline_ms", -1);
    json_decref(se);
    while (h_now_ms() < dl_exp + 500)
        h_sleep_ms(20);
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    json_t *st = h_get_json(req, tok, path);
    H_CHECK_INT(h_jint(st, "quote_count", -1), 2, "quote_count while no aggregator runs");
    json_decref(st);

    int64_t t_restart = h_now_ms();
    h_proc_restart(agg);
    h_publish_quote("acme", id, "r-5", 1300, 50, NULL);
    h_publish_quote("acme", id, "r-6", 1000, 300, NULL);

    /* Nothing waits for a redelivery here: the quotes sat in the stream, undelivered. */
    st = h_wait_closed(req, tok, id, 10000);
    h_log("RFQ closed %lld ms after the restart", (long long)(h_now_ms() - t_restart));
    H_CHECK_STR(h_jstr(st, "status"), "completed", "status after the restart");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 6, "quote_count after the restart");
    json_decref(st);

    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id);
    json_t *qa = h_get_json(req, tok, path);
    h_check_ranked(qa, id, 6);
    bool seen[7] = {false};
    json_t *qs = json_object_get(qa, "quotes");
    for (size_t i = 0; i < json_array_size(qs); i++) {
        const char *rid = h_jstr(json_array_get(qs, i), "responder_id");
        int n = rid && strncmp(rid, "r-", 2) == 0 ? atoi(rid + 2) : 0;
        H_CHECK(n >= 1 && n <= 6 && !seen[n], "unexpected or repeated responder %s", rid);
        seen[n] = true;
    }
    /* r-3 (900) is cheapest; r-4, r-2 and r-6 tie on 1000: eta 100 first, then arrival. */
    const char *order[] = {"r-3", "r-4", "r-2", "r-6", "r-1", "r-5"};
    for (int i = 0; i < 6; i++)
        H_CHECK_STR(h_jstr(json_array_get(qs, (size_t)i), "responder_id"), order[i],
                    "ranking after the restart");
    json_decref(qa);

    char key[RFQ_KEY_MAX], qkey[RFQ_KEY_MAX], rkey[RFQ_KEY_MAX];
    rfq_key_rfq(key, sizeof(key), "acme", id);
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
    rfq_key_rank(rkey, sizeof(rkey), "acme", id);
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 6, "stored count");
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), 6, "stored quotes");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", rkey), 6, "ranked quotes (no quote ranked twice)");
    h_log("dups counted after the kill: %lld", h_redis_hget_int(key, "dups", 0));

    /* The RFQ whose deadline passed while no aggregator ran is swept after the restart. */
    st = h_wait_closed(req, tok, id_exp, 10000);
    H_CHECK_STR(h_jstr(st, "status"), "expired", "RFQ that expired during the outage");
    json_decref(st);
    H_CHECK(h_events_wait(id_exp, "expired", 1, 5000), "no expired event for %s", id_exp);

    uint64_t pending = 0;
    int64_t ack_pending = 0;
    H_CHECK(h_quotes_drained(5000, &pending, &ack_pending),
            "quote consumer not drained: %llu pending, %lld unacknowledged",
            (unsigned long long)pending, (long long)ack_pending);
    H_CHECK(h_events_wait(id, "completed", 1, 5000), "no completed event");
    h_sleep_ms(300);
    H_CHECK_INT(h_events_count(id, "completed"), 1, "completed events");
    H_CHECK_INT(h_events_count(id_exp, "expired"), 1, "expired events");
    check_quote_event_counts(id, 6);
    char subject[RFQ_KEY_MAX];
    rfq_subject_quote(subject, sizeof(subject), "acme", id);
    H_CHECK_INT(h_dlq_count_subject(subject, NULL), 0, "dead letters for the restarted RFQ");

    free(short_body);
    free(body);
    free(tok);
}

/* Freeze the aggregator (SIGSTOP) and publish a quote until one is delivered to the frozen
 * process (its outstanding pull request takes it: delivered, not acknowledged), so that the
 * following SIGKILL loses a quote in flight. Quotes not taken are consumed after SIGCONT.
 * Returns the responder id of the in-flight quote (static buffer) and counts every quote
 * published in *published. */
static const char *freeze_with_quote_in_flight(struct h_proc *agg, const char *id, int *published)
{
    static char rid[32];
    for (int attempt = 0; attempt < 8; attempt++) {
        snprintf(rid, sizeof(rid), "r-flight-%d", attempt);
        h_proc_signal(agg, SIGSTOP);
        h_publish_quote("acme", id, rid, 700 + attempt, 120, NULL);
        (*published)++;
        h_sleep_ms(100);
        uint64_t pending = 0;
        int64_t ack_pending = 0;
        h_quotes_drained(0, &pending, &ack_pending);
        if (ack_pending == 1 && pending == 0)
            return rid;
        h_proc_signal(agg, SIGCONT);
        H_CHECK(h_quotes_drained(5000, NULL, NULL), "aggregator did not consume after SIGCONT");
    }
    h_fail(__FILE__, __LINE__, "no quote was delivered to the frozen aggregator in 8 attempts");
}

void sc_aggregator_crash_inflight(void)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    struct h_proc *agg = h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    const int want = 12;
    char *body = h_submit_body("eu-west", want, 60000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));
    int published = 0;
    h_publish_quote("acme", id, "r-before", 1000, 60, NULL);
    published++;
    json_decref(h_wait_quote_count(req, tok, id, 1, 5000));
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "first quote not acknowledged");

    const char *flight = freeze_with_quote_in_flight(agg, id, &published);
    h_log("quote of %s delivered to the frozen aggregator, not acknowledged", flight);
    h_proc_kill9(agg);
    h_sleep_ms(300);
    int64_t t_restart = h_now_ms();
    h_proc_restart(agg);
    for (int i = 0; published < want; i++) {
        char rid[32];
        snprintf(rid, sizeof(rid), "r-after-%d", i);
        h_publish_quote("acme", id, rid, 1100 + i, 90, NULL);
        published++;
    }

    /* The in-flight quote is not lost: it comes back once its AckWait runs out. */
    char qkey[RFQ_KEY_MAX], key[RFQ_KEY_MAX];
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
    rfq_key_rfq(key, sizeof(key), "acme", id);
    int64_t until = h_now_ms() + 45000;
    for (;;) {
        redisReply *r = redisCommand(h_redis(), "HEXISTS %s %s", qkey, flight);
        H_CHECK(r && r->type == REDIS_REPLY_INTEGER, "HEXISTS failed");
        long long ex = r->integer;
        freeReplyObject(r);
        if (ex == 1)
            break;
        H_CHECK(h_now_ms() < until, "in-flight quote %s not stored 45 s after the restart", flight);
        h_check_all_alive();
        h_sleep_ms(100);
    }
    int64_t delay = h_now_ms() - t_restart;
    h_log("in-flight quote stored %lld ms after the restart", (long long)delay);
    if (delay > 5000)
        h_note("a quote in flight in a crashed aggregator was stored only %lld ms after the "
               "restart (AckWait redelivery); an RFQ with a shorter deadline would have lost it",
               (long long)delay);

    json_t *st = h_wait_closed(req, tok, id, 10000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "status");
    H_CHECK_INT(h_jint(st, "quote_count", -1), want, "quote_count");
    json_decref(st);
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), want, "stored quotes (each once)");
    char rkey[RFQ_KEY_MAX];
    rfq_key_rank(rkey, sizeof(rkey), "acme", id);
    H_CHECK_INT(h_redis_int_cmd("ZCARD", rkey), want, "ranked quotes (each once)");
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "quote consumer not drained");
    H_CHECK(h_events_wait(id, "completed", 1, 5000), "no completed event");
    check_quote_event_counts(id, want);

    free(body);
    free(tok);
}

#define N_EXPIRE 50
#define N_COMPLETE 20

void sc_two_aggregators(void)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    struct h_proc *a1 = h_aggregator_start(NULL);
    struct h_proc *a2 = h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);

    /* Many short RFQs with no responder: they all expire, both sweepers race for them. */
    static char exp_ids[N_EXPIRE][RFQ_ID_MAX + 1];
    for (int i = 0; i < N_EXPIRE; i++) {
        char *b = h_submit_body("eu-west", 5, 300 + (i % 5) * 100);
        json_decref(h_submit(req, tok, b, exp_ids[i]));
        free(b);
    }
    /* RFQs wanting 2 quotes that get 3: completion races between the two consumers. */
    static char cmp_ids[N_COMPLETE][RFQ_ID_MAX + 1];
    char *cb = h_submit_body("eu-west", 2, 30000);
    for (int i = 0; i < N_COMPLETE; i++)
        json_decref(h_submit(req, tok, cb, cmp_ids[i]));
    free(cb);
    for (int i = 0; i < N_COMPLETE; i++) {
        h_publish_quote("acme", cmp_ids[i], "r-a", 1000 + i, 60, NULL);
        h_publish_quote("acme", cmp_ids[i], "r-b", 900 + i, 60, NULL);
        h_publish_quote("acme", cmp_ids[i], "r-c", 800 + i, 60, NULL);
    }
    h_log("submitted %d expiring and %d completing RFQs", N_EXPIRE, N_COMPLETE);

    /* Wait until every RFQ is closed in Redis (bounded). */
    int64_t until = h_now_ms() + 20000;
    for (;;) {
        int open = 0;
        char key[RFQ_KEY_MAX], v[32];
        for (int i = 0; i < N_EXPIRE + N_COMPLETE; i++) {
            const char *id = i < N_EXPIRE ? exp_ids[i] : cmp_ids[i - N_EXPIRE];
            rfq_key_rfq(key, sizeof(key), "acme", id);
            if (!h_redis_hget(key, "status", v, sizeof(v)) || strcmp(v, "open") == 0)
                open++;
        }
        if (open == 0)
            break;
        H_CHECK(h_now_ms() < until, "%d RFQs still open after 20 s", open);
        h_check_all_alive();
        h_sleep_ms(100);
    }
    H_CHECK(h_quotes_drained(10000, NULL, NULL), "quote consumer not drained");
    h_sleep_ms(1000); /* a window for any second close event to show up */

    char key[RFQ_KEY_MAX], qkey[RFQ_KEY_MAX], subject[RFQ_KEY_MAX], v[32];
    for (int i = 0; i < N_EXPIRE; i++) {
        const char *id = exp_ids[i];
        rfq_key_rfq(key, sizeof(key), "acme", id);
        H_CHECK(h_redis_hget(key, "status", v, sizeof(v)), "hash of %s vanished", id);
        H_CHECK_STR(v, "expired", "status of an RFQ without quotes");
        int ne = h_events_count(id, "expired");
        H_CHECK(ne == 1, "RFQ %s (#%d) got %d expired events, expected exactly 1", id, i, ne);
        H_CHECK_INT(h_events_count(id, "completed"), 0, "completed events of an expiring RFQ");
    }
    for (int i = 0; i < N_COMPLETE; i++) {
        const char *id = cmp_ids[i];
        rfq_key_rfq(key, sizeof(key), "acme", id);
        rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
        rfq_subject_quote(subject, sizeof(subject), "acme", id);
        H_CHECK(h_redis_hget(key, "status", v, sizeof(v)), "hash of %s vanished", id);
        H_CHECK_STR(v, "completed", "status of an RFQ with enough quotes");
        int nc = h_events_count(id, "completed");
        H_CHECK(nc == 1, "RFQ %s got %d completed events, expected exactly 1", id, nc);
        H_CHECK_INT(h_events_count(id, "expired"), 0, "expired events of a completed RFQ");
        H_CHECK_INT(h_redis_hget_int(key, "count", -1), 2, "count of a completed RFQ");
        H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), 2, "stored quotes of a completed RFQ");
        H_CHECK_INT(h_redis_hget_int(key, "closed_drops", 0), 1, "closed_drops (third quote)");
        /* A surplus quote of a completed RFQ is counted, not dead-lettered. */
        H_CHECK_INT(h_dlq_count_subject(subject, "closed"), 0, "dead letters of a surplus quote");
        check_quote_event_counts(id, 2);
    }
    /* Spot-check the HTTP view of a few. */
    for (int i = 0; i < N_EXPIRE; i += 17) {
        char path[128];
        snprintf(path, sizeof(path), "/v1/rfqs/%.64s", exp_ids[i]);
        json_t *st = h_get_json(req, tok, path);
        H_CHECK_STR(h_jstr(st, "status"), "expired", "HTTP status");
        json_decref(st);
    }
    h_proc_check_alive(a1);
    h_proc_check_alive(a2);
    free(tok);
}
