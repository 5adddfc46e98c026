/* test_batch: quote batches, several answers to one RFQ in one stream message. The engine's
 * responder sends the answers it has ready at once as one message; the aggregator stores each
 * answer as if it came alone, dead-letters a bad one alone, and refuses a malformed batch as a
 * whole without storing any of it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_quote_batch.h"
#include "scenarios.h"

/* Publish body as a batch message to rfq_id's quote subject; batch_hdr is the Rfq-Batch
 * header (NULL: none). */
static void publish_batch(const char *tenant, const char *rfq_id, const char *batch_hdr,
                          const char *body, size_t len)
{
    static int n;
    char subject[RFQ_KEY_MAX], mid[160];
    H_CHECK(rfq_subject_quote(subject, sizeof(subject), tenant, rfq_id) == RFQ_OK, "quote subject");
    snprintf(mid, sizeof(mid), "%s.it-batch-%d", rfq_id, ++n);
    const char *hdrs[] = {"Rfq-Id",
                          rfq_id,
                          "Rfq-Tenant",
                          tenant,
                          "Nats-Msg-Id",
                          mid,
                          batch_hdr ? RFQ_HDR_BATCH : NULL,
                          batch_hdr,
                          NULL};
    h_js_publish(subject, hdrs, body, len, NULL, NULL);
}

/* Submit an RFQ in eu-west asking for max_quotes; its id into id. */
static void new_rfq(const struct h_proc *req, const char *tok, int max_quotes,
                    char id[RFQ_ID_MAX + 1])
{
    char *body = h_submit_body("eu-west", max_quotes, 20000);
    json_decref(h_submit(req, tok, body, id));
    free(body);
}

/* "[a,b]": good answers of responders r1 and r2 to rfq_id; returns the length. */
static int two_answers(const char *rfq_id, const char *r1, const char *r2, char *out, size_t cap)
{
    char *a1 = h_quote_body(rfq_id, r1, 1000, 60, "USD");
    char *a2 = h_quote_body(rfq_id, r2, 1100, 60, "USD");
    int n = snprintf(out, cap, "[%s,%s]", a1, a2);
    free(a1);
    free(a2);
    H_CHECK(n > 0 && (size_t)n < cap, "two answers do not fit %zu bytes", cap);
    return n;
}

/* Expect one dead letter of rfq_id's quote subject with exactly this body and reason; its
 * detail must start with detail_prefix. */
static void expect_dead(const char *what, const char *rfq_id, const char *body, const char *reason,
                        const char *detail_prefix)
{
    char subject[RFQ_KEY_MAX];
    H_CHECK(rfq_subject_quote(subject, sizeof(subject), "acme", rfq_id) == RFQ_OK, "quote subject");
    struct h_dlq_entry e;
    H_CHECK(h_dlq_wait(subject, body, strlen(body), 5000, &e),
            "%s: no dead letter with body %.120s within 5 s", what, body);
    H_CHECK_STR(e.reason, reason, what);
    H_CHECK(strncmp(e.detail, detail_prefix, strlen(detail_prefix)) == 0,
            "%s: detail \"%s\" does not start with \"%s\"", what, e.detail, detail_prefix);
    h_log("%s: dead-lettered (%s: %s)", what, e.reason, e.detail);
    h_dlq_entry_free(&e);
}

/* (a) The engine's responder: six unicorns answering at once make one stream message. */
static void responder_batches(struct h_proc *req, struct h_proc *agg, const char *tok)
{
    static const char *const fleet_env[] = {"RFQ_FLEET_SIZE=6",   "RFQ_REGIONS=eu-west",
                                            "RFQ_DECLINE_PCT=0",  "RFQ_THINK_MS_MIN=0",
                                            "RFQ_THINK_MS_MAX=0", NULL};
    struct h_proc *rsp = h_responder_start(fleet_env);
    h_proc_freeze(agg);
    uint64_t before = h_stream_msgs(RFQ_STREAM_QUOTES);
    char id[RFQ_ID_MAX + 1];
    new_rfq(req, tok, 6, id);
    int64_t until = h_now_ms() + 5000;
    while (h_stream_msgs(RFQ_STREAM_QUOTES) < before + 1 && h_now_ms() < until)
        h_sleep_ms(20);
    h_sleep_ms(300); /* room for any answer sent on its own */
    uint64_t held = h_stream_msgs(RFQ_STREAM_QUOTES) - before;
    H_CHECK_INT((long long)held, 1, "stream messages for six answers ready at once");
    h_proc_signal(agg, SIGCONT);

    json_t *st = h_wait_quote_count(req, tok, id, 6, 5000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "status of the batched RFQ");
    json_decref(st);
    char path[160];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id);
    json_t *q = h_get_json(req, tok, path);
    json_t *list = json_object_get(q, "quotes");
    H_CHECK_INT((long long)json_array_size(list), 6, "ranked quotes of the batched RFQ");
    /* One message: every answer has its stream sequence as arrival. */
    long long arrival = h_jint(json_array_get(list, 0), "arrival", -1);
    for (size_t i = 1; i < json_array_size(list); i++)
        H_CHECK_INT(h_jint(json_array_get(list, i), "arrival", -2), arrival,
                    "arrival of every answer in the batch");
    json_decref(q);
    H_CHECK(h_events_wait(id, "quote", 6, 5000), "six quote events for the batched RFQ");
    H_CHECK(h_events_wait(id, "completed", 1, 5000), "completed event for the batched RFQ");
    h_log("six answers in one stream message (seq %lld): stored, ranked, completed", arrival);
    h_proc_stop(rsp);
}

/* (b) A batch mixing good and bad answers: the good ones are stored, each bad one goes to the
 * DLQ alone, with its own bytes and "answer k of n" in the detail. */
static void mixed_batch(struct h_proc *req, const char *tok)
{
    char id[RFQ_ID_MAX + 1];
    new_rfq(req, tok, 5, id);

    char *good = h_quote_body(id, "r-b1", 1200, 300, "USD");
    char decline[256], negative[256], other[256];
    snprintf(decline, sizeof(decline),
             "{\"rfq_id\":\"%s\",\"responder_id\":\"r-b2\",\"decline\":\"busy\"}", id);
    snprintf(negative, sizeof(negative),
             "{\"rfq_id\":\"%s\",\"responder_id\":\"r-b3\",\"price\":{\"amount_minor\":-5,"
             "\"currency\":\"USD\"},\"eta_s\":10}",
             id);
    snprintf(other, sizeof(other),
             "{\"rfq_id\":\"another-rfq\",\"responder_id\":\"r-b4\",\"price\":{\"amount_minor\":"
             "900,\"currency\":\"USD\"},\"eta_s\":60,\"perks\":[]}");
    char *euro = h_quote_body(id, "r-b5", 800, 120, "EUR");
    char *again = h_quote_body(id, "r-b1", 700, 100, "USD");
    const char *parts[] = {good, decline, negative, other, euro, again};
    char batch[4096];
    size_t at = 0;
    batch[at++] = '[';
    for (size_t i = 0; i < 6; i++)
        at += (size_t)snprintf(batch + at, sizeof(batch) - at, "%s%s", parts[i], i < 5 ? "," : "]");
    publish_batch("acme", id, "6", batch, at);

    expect_dead("schema answer", id, negative, "schema", "answer 3 of 6: ");
    expect_dead("answer for another rfq", id, other, "mismatch", "answer 4 of 6: ");
    expect_dead("answer in another currency", id, euro, "currency", "answer 5 of 6: ");
    expect_dead("second answer of r-b1", id, again, "duplicate", "answer 6 of 6: ");
    json_t *st = h_wait_quote_count(req, tok, id, 1, 5000);
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "aggregator left the batch unprocessed");
    json_decref(st);
    char key[RFQ_KEY_MAX];
    rfq_key_rfq(key, sizeof(key), "acme", id);
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 1, "priced quotes stored from the batch");
    H_CHECK_INT(h_redis_hget_int(key, "declines", -1), 1, "declines stored from the batch");
    H_CHECK_INT(h_redis_hget_int(key, "dups", -1), 1, "duplicates counted in the batch");
    char subject[RFQ_KEY_MAX];
    rfq_subject_quote(subject, sizeof(subject), "acme", id);
    H_CHECK_INT(h_dlq_count_subject(subject, NULL), 4, "dead letters of the mixed batch");
    H_CHECK_INT(h_events_count(id, "quote"), 1, "quote events of the mixed batch");
    h_log("mixed batch of 6: 1 quote and 1 decline stored, 4 answers dead-lettered alone");
    free(good);
    free(euro);
    free(again);
}

/* (c) Batches refused as a whole store nothing; a good batch afterwards is stored. */
static void refused_batches(struct h_proc *req, const char *tok)
{
    char id[RFQ_ID_MAX + 1];
    new_rfq(req, tok, 5, id);
    char two[1024];
    int two_len = two_answers(id, "r-c1", "r-c2", two, sizeof(two));

    publish_batch("acme", id, NULL, "[]", 2);
    expect_dead("empty batch", id, "[]", "schema", "a batch must be");
    const char *cut = "[{\"rfq_id\":";
    publish_batch("acme", id, NULL, cut, strlen(cut));
    expect_dead("truncated batch", id, cut, "bad_json", "batch is not valid JSON");
    publish_batch("acme", id, "3", two, (size_t)two_len);
    expect_dead("Rfq-Batch header disagreeing", id, two, "mismatch", "Rfq-Batch header 3");

    /* 33 answers, one over the most a batch holds. */
    size_t cap = 64 * 1024, at = 0;
    char *many = malloc(cap);
    H_CHECK(many != NULL, "out of memory");
    many[at++] = '[';
    for (int i = 0; i < RFQ_QUOTE_BATCH_MAX + 1; i++) {
        char who[16];
        snprintf(who, sizeof(who), "r-m%d", i);
        char *q = h_quote_body(id, who, 1000 + i, 60, "USD");
        at += (size_t)snprintf(many + at, cap - at, "%s%s", q, i < RFQ_QUOTE_BATCH_MAX ? "," : "]");
        free(q);
    }
    publish_batch("acme", id, NULL, many, at);
    expect_dead("batch of 33", id, many, "schema", "a batch must be");

    /* Over the 60 KiB a batch may hold (the stream takes up to 64 KiB). */
    size_t big = RFQ_QUOTE_BATCH_BODY_MAX + 100;
    memset(many, 'x', big);
    memcpy(many, "[\"", 2);
    memcpy(many + big - 2, "\"]", 2);
    many[big] = '\0';
    publish_batch("acme", id, NULL, many, big);
    expect_dead("oversize batch", id, many, "oversize", "batch is");
    free(many);

    H_CHECK(h_quotes_drained(5000, NULL, NULL), "aggregator left refused batches unprocessed");
    char key[RFQ_KEY_MAX];
    rfq_key_rfq(key, sizeof(key), "acme", id);
    H_CHECK_INT(h_redis_hget_int(key, "count", 0), 0, "quotes stored from refused batches");

    publish_batch("acme", id, "2", two, (size_t)two_len);
    json_decref(h_wait_quote_count(req, tok, id, 2, 5000));
    h_log("refused batches (empty, truncated, header, 33 answers, oversize) stored nothing; "
          "the good batch after them stored 2");
}

/* (d) Garbage shaped like batches: cut, bytes flipped, nested, padded, with headers right,
 * missing or wrong. The aggregator settles every message (stored answers, dead letters) and
 * stays up; a good batch afterwards is stored. */
static void garbage_batches(struct h_proc *req, struct h_proc *agg, const char *tok)
{
    char id[RFQ_ID_MAX + 1];
    new_rfq(req, tok, 5, id);
    char good[2048];
    int good_len = 0;
    good[good_len++] = '[';
    for (int i = 0; i < 4; i++) {
        char who[16];
        snprintf(who, sizeof(who), "r-g%d", i);
        char *q = h_quote_body(id, who, 1000 + i, 60, "USD");
        good_len += snprintf(good + good_len, sizeof(good) - (size_t)good_len, "%s%s", q,
                             i < 3 ? "," : "]");
        free(q);
    }
    static const char *const shapes[] = {
        "[[]]", "[{}, []]", "[null]",      "[\"x\"]", "[{\"a\":1,\"a\":2}]", "[{\"rfq_id\":1e999}]",
        "[ ]",  "[\n]",     "[{},{},{},{}"};
    uint32_t seed = 12345;
    char buf[4096];
    const int n = 400;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t len = 0;
        switch (seed >> 28 & 3) {
        case 0: /* a good batch cut anywhere */
            len = 1 + (seed >> 8) % (size_t)(good_len - 1);
            memcpy(buf, good, len);
            break;
        case 1: /* a good batch with one byte changed */
            memcpy(buf, good, (size_t)good_len);
            len = (size_t)good_len;
            buf[1 + (seed >> 8) % (len - 1)] = (char)(seed >> 16);
            break;
        case 2: { /* a fixed odd shape */
            const char *sh = shapes[(seed >> 8) % (sizeof(shapes) / sizeof(shapes[0]))];
            len = strlen(sh);
            memcpy(buf, sh, len);
            break;
        }
        default: /* the good batch itself, under a header that may disagree */
            memcpy(buf, good, (size_t)good_len);
            len = (size_t)good_len;
            break;
        }
        static const char *const counts[] = {NULL, "4", "0", "-1", "4x", "99999999999"};
        publish_batch("acme", id, counts[(seed >> 4) % 6], buf, len);
    }
    H_CHECK(h_quotes_drained(20000, NULL, NULL), "aggregator did not settle the garbage batches");
    h_proc_check_alive(agg);
    char key[RFQ_KEY_MAX];
    rfq_key_rfq(key, sizeof(key), "acme", id);
    long long stored = h_redis_hget_int(key, "count", 0);
    /* A changed byte can make a new valid responder id: up to max_quotes (5) are stored. */
    H_CHECK(stored >= 0 && stored <= 5, "quotes stored from the garbage: %lld", stored);
    /* A good batch for a fresh RFQ still goes through. */
    char id2[RFQ_ID_MAX + 1];
    new_rfq(req, tok, 2, id2);
    char two[1024];
    int two_len = two_answers(id2, "r-h1", "r-h2", two, sizeof(two));
    publish_batch("acme", id2, "2", two, (size_t)two_len);
    json_t *st = h_wait_quote_count(req, tok, id2, 2, 5000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "status after the garbage");
    json_decref(st);
    h_log("%d garbage batches settled (%lld answers among them stored); the "
          "aggregator is up and stores a good batch after them",
          n, stored);
}

void sc_quote_batch(void)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    struct h_proc *agg = h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    responder_batches(req, agg, tok);
    mixed_batch(req, tok);
    refused_batches(req, tok);
    garbage_batches(req, agg, tok);
    free(tok);
}
