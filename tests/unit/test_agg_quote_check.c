/* Unit tests of agg_quote_check: every refusal reason, and random input that must not crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg_quote_check.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_priced), cmocka_unit_test(test_valid_decline),
        cmocka_unit_test(test_bad_subjects), cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_schema),       cmocka_unit_test(test_mismatch),
        cmocka_unit_test(test_reason_names), cmocka_unit_test(test_random_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
