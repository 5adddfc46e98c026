/* Unit tests of agg_quote_check and of its batch forms (agg_quote_check_batch,
 * agg_quote_check_answer): every refusal reason, and random input that must not crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg_quote_check.h"
#include "rfq_quote_batch.h"

#define SUBJ "rfq.v1.quote.acme.rfq-1"
#define PRICED                                                                                     \
    "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1250,"              \
    "\"currency\":\"USD\"},\"eta_s\":240,\"perks\":[\"free_drinks\"]}"

/* Check one message with the usual good headers unless overridden. */
static agg_reason check(const char *subject, const char *body, const char *tenant,
                        struct agg_checked_quote *out, char *detail)
{
    struct agg_quote_in in = {subject, body, body ? strlen(body) : 0, tenant, NULL, NULL, NULL};
    return agg_quote_check(&in, out, detail, 192);
}

static void test_valid_priced(void **state)
{
    (void)state;
    struct agg_checked_quote q;
    char detail[192];
    struct agg_quote_in in = {SUBJ, PRICED, strlen(PRICED), "acme", "rfq-1", "u1", NULL};
    assert_int_equal(agg_quote_check(&in, &q, detail, sizeof(detail)), AGG_REASON_NONE);
    assert_string_equal(q.tenant, "acme");
    assert_string_equal(q.rfq_id, "rfq-1");
    assert_string_equal(q.quote.responder_id, "u1");
    assert_int_equal(q.quote.amount_minor, 1250);
    assert_string_equal(q.quote.currency, "USD");
    assert_false(q.quote.decline);
    assert_string_equal(detail, "");
}

static void test_valid_decline(void **state)
{
    (void)state;
    struct agg_checked_quote q;
    char detail[192];
    const char *body = "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u2\",\"decline\":\"too far\"}";
    assert_int_equal(check(SUBJ, body, "acme", &q, detail), AGG_REASON_NONE);
    assert_true(q.quote.decline);
    assert_string_equal(q.quote.decline_reason, "too far");
}

static void test_bad_subjects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "rfq.v1.quote.",
        "rfq.v1.quote.acme",
        "rfq.v1.quote.acme.",
        "rfq.v1.quote..rfq-1",
        "rfq.v1.quote.ACME.rfq-1",
        "rfq.v1.quote.acme.rfq.1",
        "rfq.v1.quote.acme.rfq*1",
        "rfq.v1.quote.-acme.rfq-1",
        "rfq.v1.req.acme.rfq-1",
        "rfq.v2.quote.acme.rfq-1",
        "rfq.v1.quote.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.x",
        "rfq.v1.quote.acme.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct agg_checked_quote q;
        char detail[192];
        assert_int_equal(check(bad[i], PRICED, "acme", &q, detail), AGG_REASON_SUBJECT);
        assert_string_equal(q.tenant, "");
        assert_string_equal(q.rfq_id, "");
        assert_true(strlen(detail) > 0);
    }
    struct agg_checked_quote q;
    assert_int_equal(check(NULL, PRICED, "acme", &q, NULL), AGG_REASON_SUBJECT);
}

static void test_bad_json(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "{",
        "[1,2]",
        "\"str\"",
        "123",
        "null",
        "{\"a\":1,}",
        "{\"rfq_id\":\"rfq-1\",\"rfq_id\":\"rfq-1\"}", /* duplicate key */
        /* jansson refuses NUL in strings at parse time */
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"a\\u0000b\"}",
        /* jansson cannot represent the integer: a parse error, not a schema one */
        "{\"rfq_id\":\"rfq-1\",\"price\":{\"amount_minor\":99999999999999999999}}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct agg_checked_quote q;
        char detail[192];
        assert_int_equal(check(SUBJ, bad[i], "acme", &q, detail), AGG_REASON_BAD_JSON);
        assert_string_equal(q.tenant, "acme"); /* context for the DLQ entry */
        assert_true(strlen(detail) > 0);
    }
    struct agg_checked_quote q;
    struct agg_quote_in in = {SUBJ, NULL, 0, "acme", NULL, NULL, NULL};
    assert_int_equal(agg_quote_check(&in, &q, NULL, 0), AGG_REASON_BAD_JSON);

    /* Over the size cap, even if it were valid: oversize, with the subject's context. */
    size_t big = RFQ_BODY_MAX + 10;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    memcpy(body, PRICED, strlen(PRICED));
    body[big] = '\0';
    char detail[192];
    assert_int_equal(check(SUBJ, body, "acme", &q, detail), AGG_REASON_OVERSIZE);
    assert_string_equal(q.tenant, "acme");
    assert_non_null(strstr(detail, "16384"));
    body[RFQ_BODY_MAX] = '\0'; /* at the cap: parsed */
    assert_int_equal(check(SUBJ, body, "acme", &q, NULL), AGG_REASON_NONE);
    free(body);
}

static void test_schema(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{}",
        "{\"rfq_id\":\"rfq-1\"}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\"}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u 1\",\"decline\":\"x\"}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"\"}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"x\",\"price\":{}}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":-1,"
        "\"currency\":\"USD\"},\"eta_s\":1}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1.5,"
        "\"currency\":\"USD\"},\"eta_s\":1}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"usd\"},\"eta_s\":1}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"USD\"},\"eta_s\":86401}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"USD\"},\"eta_s\":1,\"perks\":[\"A\"]}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":\"cheap\",\"eta_s\":1}",
        "{\"rfq_id\":7,\"responder_id\":\"u1\",\"decline\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct agg_checked_quote q;
        char detail[192];
        agg_reason r = check(SUBJ, bad[i], "acme", &q, detail);
        if (r != AGG_REASON_SCHEMA)
            fail_msg("case %zu: %s gave %s", i, bad[i], agg_reason_str(r));
        assert_true(strlen(detail) > 0);
    }
}

static void test_mismatch(void **state)
{
    (void)state;
    struct agg_checked_quote q;
    char detail[192];
    const char *other_rfq = "{\"rfq_id\":\"rfq-2\",\"responder_id\":\"u1\",\"decline\":\"no\"}";
    assert_int_equal(check(SUBJ, other_rfq, "acme", &q, detail), AGG_REASON_MISMATCH);
    assert_non_null(strstr(detail, "rfq-2"));
    assert_int_equal(check(SUBJ, PRICED, NULL, &q, detail), AGG_REASON_MISMATCH);
    assert_non_null(strstr(detail, "missing"));
    assert_int_equal(check(SUBJ, PRICED, "globex", &q, detail), AGG_REASON_MISMATCH);
    assert_int_equal(check(SUBJ, PRICED, "", &q, detail), AGG_REASON_MISMATCH);

    struct agg_quote_in in = {SUBJ, PRICED, strlen(PRICED), "acme", "rfq-9", NULL, NULL};
    assert_int_equal(agg_quote_check(&in, &q, detail, sizeof(detail)), AGG_REASON_MISMATCH);
    in.hdr_rfq_id = NULL;
    in.hdr_responder = "u7";
    assert_int_equal(agg_quote_check(&in, &q, detail, sizeof(detail)), AGG_REASON_MISMATCH);

    /* A very long header is cut in the detail, which stays terminated. */
    char longhdr[4096];
    memset(longhdr, 'x', sizeof(longhdr) - 1);
    longhdr[sizeof(longhdr) - 1] = '\0';
    in.hdr_responder = NULL;
    in.hdr_tenant = longhdr;
    char small[16];
    assert_int_equal(agg_quote_check(&in, &q, small, sizeof(small)), AGG_REASON_MISMATCH);
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_reason_names(void **state)
{
    (void)state;
    static const char *const want[] = {"ok",          "bad_json", "schema", "subject",  "mismatch",
                                       "unknown_rfq", "late",     "closed", "currency", "store"};
    for (int r = AGG_REASON_NONE; r <= AGG_REASON_STORE; r++)
        assert_string_equal(agg_reason_str((agg_reason)r), want[r]);
    assert_string_equal(agg_reason_str((agg_reason)99), "unknown");
}

/* ---- batches ----------------------------------------------------------------------------- */

#define DECLINED "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u2\",\"decline\":\"too far\"}"
#define BATCH2 "[" PRICED "," DECLINED "]"

/* Check a batch message; on a refusal, *answers must be NULL. */
static agg_reason check_batch(const struct agg_quote_in *in, json_t **answers,
                              struct agg_checked_quote *out, char *detail)
{
    json_t *stale = json_object(); /* *answers must be overwritten, not read */
    *answers = stale;
    agg_reason r = agg_quote_check_batch(in, answers, out, detail, 192);
    json_decref(stale);
    if (r != AGG_REASON_NONE)
        assert_null(*answers);
    else
        assert_non_null(*answers);
    return r;
}

static void test_batch_valid(void **state)
{
    (void)state;
    struct agg_checked_quote q;
    char detail[192];
    json_t *answers = NULL;
    struct agg_quote_in in = {SUBJ, BATCH2, strlen(BATCH2), "acme", "rfq-1", NULL, "2"};
    assert_int_equal(check_batch(&in, &answers, &q, detail), AGG_REASON_NONE);
    assert_true(json_is_array(answers));
    assert_int_equal(json_array_size(answers), 2);
    assert_string_equal(q.tenant, "acme");
    assert_string_equal(q.rfq_id, "rfq-1");
    assert_string_equal(detail, "");

    assert_int_equal(agg_quote_check_answer(json_array_get(answers, 0), &q, detail, 192),
                     AGG_REASON_NONE);
    assert_string_equal(q.tenant, "acme");
    assert_string_equal(q.rfq_id, "rfq-1");
    assert_string_equal(q.quote.responder_id, "u1");
    assert_false(q.quote.decline);
    assert_int_equal(q.quote.amount_minor, 1250);
    assert_string_equal(q.quote.currency, "USD");
    assert_int_equal(q.quote.eta_s, 240);
    assert_int_equal(q.quote.n_perks, 1);
    assert_string_equal(q.quote.perks[0], "free_drinks");
    assert_string_equal(detail, "");

    /* The next answer replaces the quote, keeps the context. */
    assert_int_equal(agg_quote_check_answer(json_array_get(answers, 1), &q, detail, 192),
                     AGG_REASON_NONE);
    assert_string_equal(q.tenant, "acme");
    assert_string_equal(q.rfq_id, "rfq-1");
    assert_string_equal(q.quote.responder_id, "u2");
    assert_true(q.quote.decline);
    assert_string_equal(q.quote.decline_reason, "too far");
    assert_int_equal(q.quote.amount_minor, 0);
    assert_int_equal(q.quote.n_perks, 0);
    json_decref(answers);

    /* Optional headers absent; blanks around; one answer; the most answers. */
    const char *one = " \n[" DECLINED "]\n";
    struct agg_quote_in in1 = {SUBJ, one, strlen(one), "acme", NULL, NULL, NULL};
    assert_int_equal(check_batch(&in1, &answers, &q, detail), AGG_REASON_NONE);
    assert_int_equal(json_array_size(answers), 1);
    json_decref(answers);

    char max[RFQ_QUOTE_BATCH_MAX * (sizeof(DECLINED)) + 2];
    size_t at = 0;
    max[at++] = '[';
    for (int i = 0; i < RFQ_QUOTE_BATCH_MAX; i++) {
        // NOLINTNEXTLINE(bugprone-not-null-terminated-result): a body, sized by at
        memcpy(max + at, DECLINED, strlen(DECLINED));
        at += strlen(DECLINED);
        max[at++] = i + 1 < RFQ_QUOTE_BATCH_MAX ? ',' : ']';
    }
    struct agg_quote_in inmax = {SUBJ, max, at, "acme", "rfq-1", NULL, "32"};
    assert_int_equal(check_batch(&inmax, &answers, &q, NULL), AGG_REASON_NONE);
    assert_int_equal(json_array_size(answers), RFQ_QUOTE_BATCH_MAX);
    json_decref(answers);

    /* A body of exactly the batch limit (far over a single quote's) is looked at. */
    char *big = malloc(RFQ_QUOTE_BATCH_BODY_MAX + 1);
    assert_non_null(big);
    memset(big, ' ', RFQ_QUOTE_BATCH_BODY_MAX);
    memcpy(big, BATCH2, strlen(BATCH2));
    big[RFQ_QUOTE_BATCH_BODY_MAX] = '\0';
    struct agg_quote_in inbig = {SUBJ, big, RFQ_QUOTE_BATCH_BODY_MAX, "acme", NULL, NULL, "2"};
    assert_int_equal(check_batch(&inbig, &answers, &q, detail), AGG_REASON_NONE);
    json_decref(answers);
    free(big);
}

static void test_batch_refused(void **state)
{
    (void)state;
    struct agg_checked_quote q;
    char detail[192];
    json_t *answers = NULL;

    /* Subject: no tenant, no rfq id, not a quote subject. */
    static const char *const bad_subjects[] = {"rfq.v1.quote..rfq-1", "rfq.v1.quote.acme.",
                                               "rfq.v1.quote.acme", "rfq.v1.req.acme.rfq-1", ""};
    for (size_t i = 0; i < sizeof(bad_subjects) / sizeof(bad_subjects[0]); i++) {
        struct agg_quote_in in = {
            bad_subjects[i], BATCH2, strlen(BATCH2), "acme", NULL, NULL, NULL};
        assert_int_equal(check_batch(&in, &answers, &q, detail), AGG_REASON_SUBJECT);
        assert_string_equal(q.tenant, "");
        assert_string_equal(q.rfq_id, "");
        assert_true(strlen(detail) > 0);
    }
    struct agg_quote_in nosub = {NULL, BATCH2, strlen(BATCH2), "acme", NULL, NULL, NULL};
    assert_int_equal(check_batch(&nosub, &answers, &q, detail), AGG_REASON_SUBJECT);

    /* Oversize: one byte over 60 KiB, unread, with the subject's context. */
    size_t big_len = RFQ_QUOTE_BATCH_BODY_MAX + 1;
    char *big = malloc(big_len + 1);
    assert_non_null(big);
    memset(big, ' ', big_len);
    memcpy(big, BATCH2, strlen(BATCH2));
    big[big_len] = '\0';
    struct agg_quote_in inbig = {SUBJ, big, big_len, "acme", NULL, NULL, NULL};
    assert_int_equal(check_batch(&inbig, &answers, &q, detail), AGG_REASON_OVERSIZE);
    assert_string_equal(q.tenant, "acme");
    assert_string_equal(q.rfq_id, "rfq-1");
    assert_non_null(strstr(detail, "61440"));
    free(big);

    /* Not JSON. */
    static const char *const not_json[] = {"[{", "[", "[" PRICED ",]",
                                           "[{\"rfq_id\":\"rfq-1\",\"rfq_id\":\"rfq-1\"}]"};
    for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
        struct agg_quote_in in = {SUBJ, not_json[i], strlen(not_json[i]), "acme", NULL, NULL, NULL};
        agg_reason r = check_batch(&in, &answers, &q, detail);
        if (r != AGG_REASON_BAD_JSON)
            fail_msg("%s gave %s", not_json[i], agg_reason_str(r));
        assert_string_equal(q.tenant, "acme");
        assert_true(strlen(detail) > 0);
    }
    struct agg_quote_in empty = {SUBJ, NULL, 0, "acme", NULL, NULL, NULL};
    assert_int_equal(check_batch(&empty, &answers, &q, detail), AGG_REASON_BAD_JSON);

    /* JSON, but not a batch of answers. */
    static const char *const not_batch[] = {"[]", "[1,2]", "[" PRICED ",2]", "[[" PRICED "]]",
                                            "{}"};
    for (size_t i = 0; i < sizeof(not_batch) / sizeof(not_batch[0]); i++) {
        struct agg_quote_in in = {SUBJ, not_batch[i], strlen(not_batch[i]), "acme", NULL,
                                  NULL, NULL};
        agg_reason r = check_batch(&in, &answers, &q, detail);
        if (r != AGG_REASON_SCHEMA)
            fail_msg("%s gave %s", not_batch[i], agg_reason_str(r));
        assert_true(strlen(detail) > 0);
    }
    char many[(RFQ_QUOTE_BATCH_MAX + 1) * 3 + 2];
    size_t at = 0;
    many[at++] = '[';
    for (int i = 0; i <= RFQ_QUOTE_BATCH_MAX; i++) {
        // NOLINTNEXTLINE(bugprone-not-null-terminated-result): a body, sized by at
        memcpy(many + at, "{}", 2);
        at += 2;
        many[at++] = i < RFQ_QUOTE_BATCH_MAX ? ',' : ']';
    }
    struct agg_quote_in inmany = {SUBJ, many, at, "acme", NULL, NULL, NULL};
    assert_int_equal(check_batch(&inmany, &answers, &q, detail), AGG_REASON_SCHEMA);
}

static void test_batch_mismatch(void **state)
{
    (void)state;
    struct agg_checked_quote q;
    char detail[192];
    json_t *answers = NULL;
    struct agg_quote_in in = {SUBJ, BATCH2, strlen(BATCH2), NULL, NULL, NULL, NULL};
    assert_int_equal(check_batch(&in, &answers, &q, detail), AGG_REASON_MISMATCH);
    assert_non_null(strstr(detail, "missing"));
    assert_string_equal(q.tenant, "acme"); /* context for the DLQ entry */
    in.hdr_tenant = "globex";
    assert_int_equal(check_batch(&in, &answers, &q, detail), AGG_REASON_MISMATCH);
    assert_non_null(strstr(detail, "globex"));
    in.hdr_tenant = "";
    assert_int_equal(check_batch(&in, &answers, &q, detail), AGG_REASON_MISMATCH);
    in.hdr_tenant = "acme";
    in.hdr_rfq_id = "rfq-9";
    assert_int_equal(check_batch(&in, &answers, &q, detail), AGG_REASON_MISMATCH);
    assert_non_null(strstr(detail, "rfq-9"));
    in.hdr_rfq_id = "rfq-1";
    static const char *const bad_counts[] = {"3", "1", "0", "", "two", "2 ", "-2"};
    for (size_t i = 0; i < sizeof(bad_counts) / sizeof(bad_counts[0]); i++) {
        in.hdr_batch = bad_counts[i];
        agg_reason r = check_batch(&in, &answers, &q, detail);
        if (r != AGG_REASON_MISMATCH)
            fail_msg("Rfq-Batch \"%s\" on 2 answers gave %s", bad_counts[i], agg_reason_str(r));
        assert_non_null(strstr(detail, "Rfq-Batch"));
    }
    in.hdr_batch = "2";
    assert_int_equal(check_batch(&in, &answers, &q, detail), AGG_REASON_NONE);
    json_decref(answers);

    /* A long header is cut in the detail, which stays terminated. */
    char longhdr[4096];
    memset(longhdr, '7', sizeof(longhdr) - 1);
    longhdr[sizeof(longhdr) - 1] = '\0';
    in.hdr_batch = longhdr;
    char small[16];
    answers = NULL;
    assert_int_equal(agg_quote_check_batch(&in, &answers, &q, small, sizeof(small)),
                     AGG_REASON_MISMATCH);
    assert_null(answers);
    assert_int_equal(strlen(small), sizeof(small) - 1);
}

/* Run agg_quote_check_answer on one element given as text, with the context of SUBJ. */
static agg_reason check_answer_text(const char *element, struct agg_checked_quote *q, char *detail)
{
    json_error_t jerr;
    json_t *a = json_loads(element, JSON_DECODE_ANY, &jerr);
    assert_non_null(a);
    memset(q, 0, sizeof(*q));
    snprintf(q->tenant, sizeof(q->tenant), "acme");
    snprintf(q->rfq_id, sizeof(q->rfq_id), "rfq-1");
    agg_reason r = agg_quote_check_answer(a, q, detail, 192);
    assert_int_equal(a->refcount, 1); /* borrowed */
    json_decref(a);
    assert_string_equal(q->tenant, "acme");
    assert_string_equal(q->rfq_id, "rfq-1");
    return r;
}

static void test_batch_answer(void **state)
{
    (void)state;
    struct agg_checked_quote q;
    char detail[192];
    assert_int_equal(check_answer_text(PRICED, &q, detail), AGG_REASON_NONE);
    assert_string_equal(q.quote.rfq_id, "rfq-1");
    assert_string_equal(q.quote.responder_id, "u1");
    assert_int_equal(q.quote.amount_minor, 1250);
    assert_string_equal(detail, "");

    const char *negative = "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{"
                           "\"amount_minor\":-1,\"currency\":\"USD\"},\"eta_s\":1}";
    assert_int_equal(check_answer_text(negative, &q, detail), AGG_REASON_SCHEMA);
    assert_non_null(strstr(detail, "amount_minor"));
    static const char *const schema[] = {
        "{}",
        "1",
        "[]",
        "\"quote\"",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"x\",\"price\":{}}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"\"}",
        // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one body over two lines
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"USD\"},\"eta_s\":86401}",
    };
    for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++) {
        agg_reason r = check_answer_text(schema[i], &q, detail);
        if (r != AGG_REASON_SCHEMA)
            fail_msg("case %zu: %s gave %s", i, schema[i], agg_reason_str(r));
        assert_true(strlen(detail) > 0);
    }

    const char *other = "{\"rfq_id\":\"rfq-2\",\"responder_id\":\"u1\",\"decline\":\"no\"}";
    assert_int_equal(check_answer_text(other, &q, detail), AGG_REASON_MISMATCH);
    assert_non_null(strstr(detail, "rfq-2"));
}

/* xorshift: deterministic pseudo-random input. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Garbage subjects, bodies and headers, plus single-byte mutations of a valid quote: the
 * verdict is always one of the reasons, never a crash (run under ASan in the sanitizer build). */
static void test_random_input(void **state)
{
    (void)state;
    char subject[160], body[512], hdr[80];
    const char *alphabet = "rfq.v1quote-acme_{}[]\":,0123456789 \\u\x01\xff";
    size_t an = strlen(alphabet);
    for (int iter = 0; iter < 100000; iter++) {
        size_t sl = rnd() % sizeof(subject);
        for (size_t i = 0; i < sl; i++)
            subject[i] = (iter & 1) ? alphabet[rnd() % an] : (char)(rnd() % 256);
        subject[sl] = '\0';
        if (iter % 3 == 0)
            memcpy(subject, SUBJ, sizeof(SUBJ));
        size_t bl;
        if (iter % 2 == 0) {
            bl = strlen(PRICED);
            memcpy(body, PRICED, bl);
            for (int k = 0; k < 1 + (int)(rnd() % 3); k++)
                body[rnd() % bl] = iter % 4 == 0 ? (char)(rnd() % 256) : alphabet[rnd() % an];
        } else {
            bl = rnd() % sizeof(body);
            for (size_t i = 0; i < bl; i++)
                body[i] = alphabet[rnd() % an];
        }
        size_t hl = rnd() % sizeof(hdr);
        for (size_t i = 0; i < hl; i++)
            hdr[i] = (char)(1 + rnd() % 255);
        hdr[hl] = '\0';
        struct agg_quote_in in = {subject,
                                  body,
                                  bl,
                                  (iter % 5) ? "acme" : hdr,
                                  (iter % 7) ? NULL : hdr,
                                  (iter % 11) ? NULL : hdr,
                                  (iter % 13) ? NULL : hdr};
        struct agg_checked_quote q;
        char detail[192];
        agg_reason r = agg_quote_check(&in, &q, detail, sizeof(detail));
        assert_true(r >= AGG_REASON_NONE && r <= AGG_REASON_MISMATCH);
        assert_true(strlen(detail) < sizeof(detail));
    }
}

/* Random batch bodies (always starting with '['): arrays of good and bad answers with
 * byte mutations, and garbage. The verdict is a reason in range; an accepted batch hands back
 * 1..RFQ_QUOTE_BATCH_MAX answers, each judged NONE, SCHEMA or MISMATCH; the array is released
 * (ASan in the sanitizer build checks both). */
static void test_random_batches(void **state)
{
    (void)state;
    static const char *const parts[] = {
        PRICED,
        DECLINED,
        "{\"rfq_id\":\"rfq-2\",\"responder_id\":\"u3\",\"decline\":\"no\"}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u4\",\"price\":{\"amount_minor\":-5,"
        "\"currency\":\"USD\"},\"eta_s\":1}",
        "{}",
        "1",
        "[]",
        "null",
        "\"x\"",
    };
    const size_t np = sizeof(parts) / sizeof(parts[0]);
    const char *alphabet = "rfq-1u_{}[]\":,0123456789 \\eal\x01\xff";
    size_t an = strlen(alphabet);
    static char body[40 * 160];
    char hdr[24];
    int accepted = 0, answers_ok = 0, answers_refused = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t bl = 0;
        body[bl++] = '[';
        if (iter % 4 != 3) {
            int n = (int)(rnd() % 36);
            for (int i = 0; i < n; i++) {
                /* Mostly good answers, so that whole batches get through. */
                const char *p = parts[rnd() % 3 ? rnd() % 2 : rnd() % np];
                size_t pl = strlen(p);
                // NOLINTNEXTLINE(bugprone-not-null-terminated-result): sized by bl
                memcpy(body + bl, p, pl);
                bl += pl;
                if (i + 1 < n)
                    body[bl++] = ',';
            }
            body[bl++] = ']';
            int muts = iter % 3 == 0 ? 1 + (int)(rnd() % 3) : 0;
            for (int k = 0; k < muts; k++)
                body[1 + rnd() % (bl - 1)] = iter % 2 ? (char)(rnd() % 256) : alphabet[rnd() % an];
        } else {
            size_t gl = rnd() % 600;
            for (size_t i = 0; i < gl; i++)
                body[bl++] = alphabet[rnd() % an];
        }
        snprintf(hdr, sizeof(hdr), "%d", (int)(rnd() % 36));
        struct agg_quote_in in = {iter % 17 ? SUBJ : "rfq.v1.quote.acme",
                                  body,
                                  bl,
                                  iter % 11 ? "acme" : "globex",
                                  iter % 5 ? NULL : (iter % 10 ? "rfq-1" : "rfq-2"),
                                  NULL,
                                  iter % 7 ? NULL : hdr};
        struct agg_checked_quote q;
        char detail[192];
        json_t *answers = NULL;
        agg_reason r = agg_quote_check_batch(&in, &answers, &q, detail, sizeof(detail));
        assert_true(r == AGG_REASON_NONE || r == AGG_REASON_BAD_JSON || r == AGG_REASON_SCHEMA ||
                    r == AGG_REASON_SUBJECT || r == AGG_REASON_MISMATCH);
        assert_true(strlen(detail) < sizeof(detail));
        if (r != AGG_REASON_NONE) {
            assert_null(answers);
            assert_true(strlen(detail) > 0);
            continue;
        }
        accepted++;
        assert_true(json_is_array(answers));
        size_t n = json_array_size(answers);
        assert_true(n >= 1 && n <= RFQ_QUOTE_BATCH_MAX);
        assert_string_equal(q.tenant, "acme");
        assert_string_equal(q.rfq_id, "rfq-1");
        for (size_t i = 0; i < n; i++) {
            agg_reason ra =
                agg_quote_check_answer(json_array_get(answers, i), &q, detail, sizeof(detail));
            assert_true(ra == AGG_REASON_NONE || ra == AGG_REASON_SCHEMA ||
                        ra == AGG_REASON_MISMATCH);
            assert_string_equal(q.tenant, "acme");
            assert_string_equal(q.rfq_id, "rfq-1");
            if (ra == AGG_REASON_NONE) {
                answers_ok++;
                assert_string_equal(q.quote.rfq_id, "rfq-1");
            } else {
                answers_refused++;
                assert_true(strlen(detail) > 0);
            }
        }
        json_decref(answers);
    }
    /* The loop reached every path it is meant to. */
    assert_true(accepted > 100);
    assert_true(answers_ok > 100);
    assert_true(answers_refused > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_priced),   cmocka_unit_test(test_valid_decline),
        cmocka_unit_test(test_bad_subjects),   cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_schema),         cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_reason_names),   cmocka_unit_test(test_random_input),
        cmocka_unit_test(test_batch_valid),    cmocka_unit_test(test_batch_refused),
        cmocka_unit_test(test_batch_mismatch), cmocka_unit_test(test_batch_answer),
        cmocka_unit_test(test_random_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
