/* Unit tests of rfq_quote_batch (batch detection, fitting, joining, parsing) and of
 * rfq_quote_from_json, the per-answer decoder of a batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rfq_msg.h"
#include "rfq_quote_batch.h"

#define PRICED                                                                                     \
    "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1250,"              \
    "\"currency\":\"USD\"},\"eta_s\":240,\"perks\":[\"free_drinks\"]}"
#define DECLINE "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u2\",\"decline\":\"too far\"}"

/* A new string of n objects "[{},{},...]" (n >= 1). */
static char *objects_array(int n)
{
    char *s = malloc((size_t)n * 3 + 2);
    assert_non_null(s);
    size_t at = 0;
    s[at++] = '[';
    for (int i = 0; i < n; i++) {
        memcpy(s + at, "{}", 2);
        at += 2;
        s[at++] = i + 1 < n ? ',' : ']';
    }
    s[at] = '\0';
    return s;
}

/* A new string of exactly len bytes: body, then blanks. */
static char *padded(const char *body, size_t len)
{
    size_t n = strlen(body);
    assert_true(n <= len);
    char *s = malloc(len + 1);
    assert_non_null(s);
    memcpy(s, body, n);
    memset(s + n, ' ', len - n);
    s[len] = '\0';
    return s;
}

/* ---- rfq_quote_body_is_batch ------------------------------------------------------------- */

static void test_is_batch(void **state)
{
    (void)state;
    static const char *const yes[] = {"[", "[]", "  \n[{\"a\":1}]", "\t\r\n [x", "[{"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!rfq_quote_body_is_batch(yes[i], strlen(yes[i])))
            fail_msg("\"%s\" should be a batch", yes[i]);
    static const char *const no[] = {"{\"a\":1}", "  {\"a\":[1]}", "",    "   ", " \t\r\n ",
                                     "x[",        "\v[",           "\f[", "null"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (rfq_quote_body_is_batch(no[i], strlen(no[i])))
            fail_msg("\"%s\" should not be a batch", no[i]);
    assert_false(rfq_quote_body_is_batch(NULL, 0));
    /* Only the first len bytes count. */
    assert_false(rfq_quote_body_is_batch("  [", 2));
    assert_false(rfq_quote_body_is_batch("[", 0));
    assert_true(rfq_quote_body_is_batch("  [", 3));
}

/* ---- rfq_quote_batch_fit ----------------------------------------------------------------- */

/* What a batch of lens[0..k) weighs: '[' then each answer followed by ',' or ']'. */
static size_t batch_size(const size_t *lens, int k)
{
    size_t total = 1;
    for (int i = 0; i < k; i++)
        total += lens[i] + 1;
    return total;
}

static void test_fit_counts(void **state)
{
    (void)state;
    size_t lens[40];
    assert_int_equal(rfq_quote_batch_fit(NULL, 0), 0);
    assert_int_equal(rfq_quote_batch_fit(lens, -1), 0);

    for (int i = 0; i < 40; i++)
        lens[i] = 150;
    assert_int_equal(rfq_quote_batch_fit(lens, 40), RFQ_QUOTE_BATCH_MAX);
    assert_int_equal(rfq_quote_batch_fit(lens, 32), 32);
    assert_int_equal(rfq_quote_batch_fit(lens, 33), 32);
    assert_int_equal(rfq_quote_batch_fit(lens, 5), 5);
    assert_int_equal(rfq_quote_batch_fit(lens, 1), 1);

    /* 5000-byte answers: 1 + 12 * 5001 = 60013 fits, 1 + 13 * 5001 = 65014 does not. */
    for (int i = 0; i < 40; i++)
        lens[i] = 5000;
    assert_true(batch_size(lens, 12) <= RFQ_QUOTE_BATCH_BODY_MAX);
    assert_true(batch_size(lens, 13) > RFQ_QUOTE_BATCH_BODY_MAX);
    assert_int_equal(rfq_quote_batch_fit(lens, 40), 12);
    assert_int_equal(rfq_quote_batch_fit(lens, 12), 12);
    assert_int_equal(rfq_quote_batch_fit(lens, 7), 7);
}

static void test_fit_boundary(void **state)
{
    (void)state;
    /* Two answers that make a body of exactly the limit fit; one byte more does not. */
    size_t lens[3];
    lens[0] = 1000;
    lens[1] = RFQ_QUOTE_BATCH_BODY_MAX - 1 - (lens[0] + 1) - 1;
    lens[2] = 10;
    assert_int_equal(batch_size(lens, 2), RFQ_QUOTE_BATCH_BODY_MAX);
    assert_int_equal(rfq_quote_batch_fit(lens, 2), 2);
    assert_int_equal(rfq_quote_batch_fit(lens, 3), 2);
    lens[1]++;
    assert_int_equal(batch_size(lens, 2), RFQ_QUOTE_BATCH_BODY_MAX + 1);
    assert_int_equal(rfq_quote_batch_fit(lens, 2), 1);
    assert_int_equal(rfq_quote_batch_fit(lens, 3), 1);

    /* Varied sizes: the count is the longest prefix within the limit. */
    size_t var[20];
    for (int i = 0; i < 20; i++)
        var[i] = 1000 + (size_t)i * 700;
    int want = 0;
    while (want < 20 && batch_size(var, want + 1) <= RFQ_QUOTE_BATCH_BODY_MAX)
        want++;
    assert_true(want > 1 && want < 20);
    assert_int_equal(rfq_quote_batch_fit(var, 20), want);

    /* An answer too big for any batch still goes, alone. */
    size_t huge[3] = {RFQ_QUOTE_BATCH_BODY_MAX + 5000, 10, 10};
    assert_int_equal(rfq_quote_batch_fit(huge, 1), 1);
    assert_int_equal(rfq_quote_batch_fit(huge, 3), 1);
    size_t exact[2] = {RFQ_QUOTE_BATCH_BODY_MAX - 2, 1}; /* "[" + answer + "]" = the limit */
    assert_int_equal(rfq_quote_batch_fit(exact, 2), 1);
    /* A small answer then a huge one: the small one goes alone. */
    size_t then_huge[2] = {100, RFQ_QUOTE_BATCH_BODY_MAX};
    assert_int_equal(rfq_quote_batch_fit(then_huge, 2), 1);
}

/* ---- rfq_quote_batch_join ---------------------------------------------------------------- */

static void test_join_exact(void **state)
{
    (void)state;
    char a[] = "a", bb[] = "bb", c[] = "c";
    char *bodies[3] = {a, bb, c};
    size_t lens[3] = {1, 2, 1};
    char *out = NULL;
    size_t out_len = 0;
    assert_int_equal(rfq_quote_batch_join(bodies, lens, 3, &out, &out_len), RFQ_OK);
    assert_string_equal(out, "[a,bb,c]");
    assert_int_equal(out_len, 8);
    free(out);

    /* Only lens[i] bytes of each body are copied; out_len may be NULL. */
    char abcdef[] = "abcdef", xyz[] = "xyz";
    char *longer[2] = {abcdef, xyz};
    size_t cut[2] = {2, 1};
    assert_int_equal(rfq_quote_batch_join(longer, cut, 2, &out, NULL), RFQ_OK);
    assert_string_equal(out, "[ab,x]");
    free(out);

    assert_int_equal(rfq_quote_batch_join(bodies, lens, 1, &out, &out_len), RFQ_OK);
    assert_string_equal(out, "[a]");
    assert_int_equal(out_len, 3);
    free(out);
}

static void test_join_refused(void **state)
{
    (void)state;
    static char obj[] = "{}", sentinel[] = "sentinel";
    char *bodies[RFQ_QUOTE_BATCH_MAX + 1];
    size_t lens[RFQ_QUOTE_BATCH_MAX + 1];
    for (int i = 0; i <= RFQ_QUOTE_BATCH_MAX; i++) {
        bodies[i] = obj;
        lens[i] = 2;
    }
    char *out = sentinel;
    size_t out_len = 0;
    assert_int_equal(rfq_quote_batch_join(bodies, lens, 0, &out, &out_len), RFQ_EINVAL);
    assert_null(out);
    out = sentinel;
    assert_int_equal(rfq_quote_batch_join(bodies, lens, -1, &out, &out_len), RFQ_EINVAL);
    assert_null(out);
    out = sentinel;
    assert_int_equal(rfq_quote_batch_join(bodies, lens, RFQ_QUOTE_BATCH_MAX + 1, &out, &out_len),
                     RFQ_EINVAL);
    assert_null(out);

    /* The most answers allowed. */
    assert_int_equal(rfq_quote_batch_join(bodies, lens, RFQ_QUOTE_BATCH_MAX, &out, &out_len),
                     RFQ_OK);
    assert_int_equal(out_len, 1 + RFQ_QUOTE_BATCH_MAX * 3);
    char *want = objects_array(RFQ_QUOTE_BATCH_MAX);
    assert_string_equal(out, want);
    free(want);
    free(out);

    /* Exactly the size limit is joined; one byte more is too big. */
    size_t big_len = RFQ_QUOTE_BATCH_BODY_MAX - 1 - 3 - 1;
    char *big = malloc(big_len + 2);
    assert_non_null(big);
    memset(big, 'x', big_len + 1);
    big[big_len + 1] = '\0';
    char *two[2] = {obj, big};
    size_t two_lens[2] = {2, big_len};
    assert_int_equal(rfq_quote_batch_join(two, two_lens, 2, &out, &out_len), RFQ_OK);
    assert_int_equal(out_len, RFQ_QUOTE_BATCH_BODY_MAX);
    assert_int_equal(strlen(out), RFQ_QUOTE_BATCH_BODY_MAX);
    assert_int_equal(out[out_len - 1], ']');
    free(out);
    two_lens[1]++;
    out = sentinel;
    assert_int_equal(rfq_quote_batch_join(two, two_lens, 2, &out, &out_len), RFQ_ETOOBIG);
    assert_null(out);
    free(big);

    /* join agrees with fit: fit's count joins, one more is too big. */
    size_t fl[20];
    char *fb[20];
    char *chunk = malloc(7001);
    assert_non_null(chunk);
    memset(chunk, 'y', 7000);
    chunk[7000] = '\0';
    for (int i = 0; i < 20; i++) {
        fb[i] = chunk;
        fl[i] = 7000;
    }
    int k = rfq_quote_batch_fit(fl, 20);
    assert_int_equal(k, 8); /* 1 + 8 * 7001 = 56009; 1 + 9 * 7001 = 63010 */
    assert_int_equal(rfq_quote_batch_join(fb, fl, k, &out, &out_len), RFQ_OK);
    assert_true(out_len <= RFQ_QUOTE_BATCH_BODY_MAX);
    free(out);
    assert_int_equal(rfq_quote_batch_join(fb, fl, k + 1, &out, &out_len), RFQ_ETOOBIG);
    assert_null(out);
    free(chunk);
}

/* Field by field: what an encode -> decode round trip must keep. */
static void assert_quote_equal(const struct rfq_quote *a, const struct rfq_quote *b)
{
    assert_string_equal(a->rfq_id, b->rfq_id);
    assert_string_equal(a->responder_id, b->responder_id);
    assert_int_equal(a->decline, b->decline);
    assert_string_equal(a->decline_reason, b->decline_reason);
    assert_int_equal(a->amount_minor, b->amount_minor);
    assert_string_equal(a->currency, b->currency);
    assert_int_equal(a->eta_s, b->eta_s);
    assert_int_equal(a->n_perks, b->n_perks);
    for (int i = 0; i < a->n_perks; i++)
        assert_string_equal(a->perks[i], b->perks[i]);
    assert_int_equal(a->valid_until_ms, b->valid_until_ms);
}

static void test_join_parse_round_trip(void **state)
{
    (void)state;
    struct rfq_quote q[4];
    memset(q, 0, sizeof(q));
    snprintf(q[0].rfq_id, sizeof(q[0].rfq_id), "rfq-1");
    snprintf(q[0].responder_id, sizeof(q[0].responder_id), "unicorn-1");
    q[0].amount_minor = 1250;
    snprintf(q[0].currency, sizeof(q[0].currency), "USD");
    q[0].eta_s = 240;
    snprintf(q[0].perks[0], sizeof(q[0].perks[0]), "free_drinks");
    snprintf(q[0].perks[1], sizeof(q[0].perks[1]), "wifi");
    q[0].n_perks = 2;
    q[0].valid_until_ms = 1700000000123LL;

    snprintf(q[1].rfq_id, sizeof(q[1].rfq_id), "rfq-1");
    snprintf(q[1].responder_id, sizeof(q[1].responder_id), "unicorn-2");
    q[1].decline = true;
    snprintf(q[1].decline_reason, sizeof(q[1].decline_reason), "no \"cars\" \\ nearby");

    snprintf(q[2].rfq_id, sizeof(q[2].rfq_id), "rfq-1");
    snprintf(q[2].responder_id, sizeof(q[2].responder_id), "unicorn-3");
    snprintf(q[2].currency, sizeof(q[2].currency), "EUR");

    snprintf(q[3].rfq_id, sizeof(q[3].rfq_id), "rfq-1");
    snprintf(q[3].responder_id, sizeof(q[3].responder_id), "unicorn-4");
    q[3].amount_minor = 1000000000000LL;
    snprintf(q[3].currency, sizeof(q[3].currency), "JPY");
    q[3].eta_s = 86400;

    char *bodies[4];
    size_t lens[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(rfq_quote_encode(&q[i], &bodies[i], &lens[i]), RFQ_OK);
    assert_int_equal(rfq_quote_batch_fit(lens, 4), 4);
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(rfq_quote_batch_join(bodies, lens, 4, &body, &len), RFQ_OK);
    assert_int_equal(len, batch_size(lens, 4));
    assert_true(rfq_quote_body_is_batch(body, len));

    rfq_status why = RFQ_EIO;
    struct rfq_err err = {{0}, {0}};
    json_t *arr = rfq_quote_batch_parse(body, len, &why, &err);
    assert_non_null(arr);
    assert_int_equal(why, RFQ_OK);
    assert_int_equal(json_array_size(arr), 4);
    for (size_t i = 0; i < 4; i++) {
        struct rfq_quote back;
        assert_int_equal(rfq_quote_from_json(&back, json_array_get(arr, i), &err), RFQ_OK);
        assert_quote_equal(&q[i], &back);
        /* Each answer re-encodes to the bytes it was sent as. */
        char *again = NULL;
        size_t again_len = 0;
        assert_int_equal(rfq_quote_encode(&back, &again, &again_len), RFQ_OK);
        assert_int_equal(again_len, lens[i]);
        assert_memory_equal(again, bodies[i], lens[i]);
        free(again);
    }
    json_decref(arr);
    free(body);
    for (int i = 0; i < 4; i++)
        free(bodies[i]);
}

/* ---- rfq_quote_batch_parse --------------------------------------------------------------- */

/* Parse s (strlen) and expect a refusal with status want and a message. */
static void expect_refused(const char *s, size_t len, rfq_status want)
{
    rfq_status why = RFQ_OK;
    struct rfq_err err = {{0}, {0}};
    json_t *arr = rfq_quote_batch_parse(s, len, &why, &err);
    if (arr) {
        json_decref(arr);
        fail_msg("%.60s (%zu bytes) was accepted", s ? s : "(null)", len);
    }
    if (why != want)
        fail_msg("%.60s: got %s, want %s", s ? s : "(null)", rfq_status_str(why),
                 rfq_status_str(want));
    assert_true(err.message[0] != '\0');
    assert_non_null(memchr(err.message, '\0', sizeof(err.message)));
}

static void test_parse_valid(void **state)
{
    (void)state;
    const char *body = "[" PRICED "," DECLINE "]";
    rfq_status why = RFQ_EIO;
    struct rfq_err err = {{0}, {0}};
    json_t *arr = rfq_quote_batch_parse(body, strlen(body), &why, &err);
    assert_non_null(arr);
    assert_int_equal(why, RFQ_OK);
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "responder_id")),
                        "u2");
    json_decref(arr);

    /* Blanks around, one object, err may be NULL. */
    const char *one = " \n [ {} ] \n";
    why = RFQ_EIO;
    arr = rfq_quote_batch_parse(one, strlen(one), &why, NULL);
    assert_non_null(arr);
    assert_int_equal(why, RFQ_OK);
    assert_int_equal(json_array_size(arr), 1);
    json_decref(arr);

    /* The most objects; only len bytes are read. */
    char *max = objects_array(RFQ_QUOTE_BATCH_MAX);
    arr = rfq_quote_batch_parse(max, strlen(max), &why, &err);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), RFQ_QUOTE_BATCH_MAX);
    json_decref(arr);
    free(max);
    const char *tail = "[{}]garbage";
    arr = rfq_quote_batch_parse(tail, 4, &why, &err);
    assert_non_null(arr);
    json_decref(arr);

    /* Exactly the size limit is parsed. */
    char *big = padded("[" PRICED "]", RFQ_QUOTE_BATCH_BODY_MAX);
    arr = rfq_quote_batch_parse(big, RFQ_QUOTE_BATCH_BODY_MAX, &why, &err);
    assert_non_null(arr);
    assert_int_equal(why, RFQ_OK);
    json_decref(arr);
    free(big);
}

static void test_parse_refused(void **state)
{
    (void)state;
    /* Not JSON at all. */
    static const char *const not_json[] = {
        "[{",
        "[",
        "not json",
        "[{}]garbage",
        "[{},]",
        "[{\"a\":1,}]",
        "[{'a':1}]",
        /* duplicate key inside an element */
        "[{\"rfq_id\":\"rfq-1\",\"rfq_id\":\"rfq-1\"}]",
        "[{},{\"price\":{\"amount_minor\":1,\"amount_minor\":2}}]",
    };
    for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++)
        expect_refused(not_json[i], strlen(not_json[i]), RFQ_EINVAL);
    expect_refused("", 0, RFQ_EINVAL);
    expect_refused(NULL, 0, RFQ_EINVAL);

    /* JSON, but not an array of 1..RFQ_QUOTE_BATCH_MAX objects. */
    static const char *const not_batch[] = {
        "{}",       "[]",      "[1]",
        "[{},2]",   "[{},[]]", "[null]",
        "[\"{}\"]", "[[{}]]",  "{\"rfq_id\":\"rfq-1\"}",
    };
    for (size_t i = 0; i < sizeof(not_batch) / sizeof(not_batch[0]); i++)
        expect_refused(not_batch[i], strlen(not_batch[i]), RFQ_EPROTO);
    char *many = objects_array(RFQ_QUOTE_BATCH_MAX + 1);
    expect_refused(many, strlen(many), RFQ_EPROTO);
    free(many);

    /* A bare scalar: jansson's loader only takes an array or an object at the top, so these
     * count as "not JSON" here; refused either way. */
    static const char *const scalars[] = {"\"[]\"", "3", "null", "true"};
    for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
        rfq_status why = RFQ_OK;
        struct rfq_err err = {{0}, {0}};
        assert_null(rfq_quote_batch_parse(scalars[i], strlen(scalars[i]), &why, &err));
        assert_true(why == RFQ_EINVAL || why == RFQ_EPROTO);
        assert_true(err.message[0] != '\0');
    }

    /* Over the size cap, even when valid. */
    char *big = padded("[" PRICED "]", RFQ_QUOTE_BATCH_BODY_MAX + 1);
    expect_refused(big, RFQ_QUOTE_BATCH_BODY_MAX + 1, RFQ_ETOOBIG);
    free(big);
}

/* ---- rfq_quote_from_json ----------------------------------------------------------------- */

static void test_from_json(void **state)
{
    (void)state;
    struct rfq_quote q;
    struct rfq_err err = {{0}, {0}};

    json_t *num = json_integer(7);
    assert_int_equal(rfq_quote_from_json(&q, num, &err), RFQ_EINVAL);
    assert_true(err.message[0] != '\0');
    json_decref(num);
    json_t *arr = json_array();
    assert_int_equal(rfq_quote_from_json(&q, arr, NULL), RFQ_EINVAL);
    json_decref(arr);

    json_error_t jerr;
    json_t *both = json_loads("{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"no\","
                              "\"price\":{\"amount_minor\":1,\"currency\":\"USD\"},\"eta_s\":1}",
                              0, &jerr);
    assert_non_null(both);
    memset(&err, 0, sizeof(err));
    assert_int_equal(rfq_quote_from_json(&q, both, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "decline");
    assert_true(err.message[0] != '\0');
    json_decref(both);

    /* A stale out is fully overwritten. */
    memset(&q, 0x5a, sizeof(q));
    json_t *priced = json_loads("{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":"
                                "{\"amount_minor\":1250,\"currency\":\"USD\"},\"eta_s\":240,"
                                "\"perks\":[\"free_drinks\",\"wifi\"],\"valid_until_ms\":17,"
                                "\"extra\":{\"ignored\":true}}",
                                0, &jerr);
    assert_non_null(priced);
    assert_int_equal(rfq_quote_from_json(&q, priced, &err), RFQ_OK);
    assert_string_equal(q.rfq_id, "rfq-1");
    assert_string_equal(q.responder_id, "u1");
    assert_false(q.decline);
    assert_string_equal(q.decline_reason, "");
    assert_int_equal(q.amount_minor, 1250);
    assert_string_equal(q.currency, "USD");
    assert_int_equal(q.eta_s, 240);
    assert_int_equal(q.n_perks, 2);
    assert_string_equal(q.perks[0], "free_drinks");
    assert_string_equal(q.perks[1], "wifi");
    assert_int_equal(q.valid_until_ms, 17);
    /* root is borrowed: still ours. */
    assert_int_equal(priced->refcount, 1);
    json_decref(priced);

    json_t *decline = json_loads(DECLINE, 0, &jerr);
    assert_int_equal(rfq_quote_from_json(&q, decline, &err), RFQ_OK);
    assert_true(q.decline);
    assert_string_equal(q.decline_reason, "too far");
    assert_int_equal(q.amount_minor, 0);
    assert_int_equal(q.n_perks, 0);
    assert_string_equal(q.currency, "");
    json_decref(decline);
}

/* rfq_quote_from_json on a parsed object gives what rfq_quote_decode gives on its text. */
static void test_from_json_same_as_decode(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        PRICED,
        DECLINE,
        "{}",
        "{\"rfq_id\":\"rfq-1\"}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"\"}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":-1,"
        "\"currency\":\"USD\"},\"eta_s\":1}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"usd\"},\"eta_s\":1}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"USD\"},\"eta_s\":86401}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"USD\"},\"eta_s\":1,\"perks\":[\"a\",\"a\"]}",
        "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":1,"
        "\"currency\":\"USD\"},\"eta_s\":1,\"valid_until_ms\":-1}",
        "{\"rfq_id\":7,\"responder_id\":\"u1\",\"decline\":\"x\"}",
        "{\"rfq_id\":\"r f\",\"responder_id\":\"u1\",\"decline\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct rfq_quote a, b;
        struct rfq_err ea = {{0}, {0}}, eb = {{0}, {0}};
        rfq_status sa = rfq_quote_decode(&a, bodies[i], strlen(bodies[i]), &ea);
        json_error_t jerr;
        json_t *root = json_loads(bodies[i], JSON_REJECT_DUPLICATES, &jerr);
        assert_non_null(root);
        rfq_status sb = rfq_quote_from_json(&b, root, &eb);
        json_decref(root);
        if (sa != sb)
            fail_msg("case %zu: decode %s, from_json %s", i, rfq_status_str(sa),
                     rfq_status_str(sb));
        if (sa == RFQ_OK) {
            assert_quote_equal(&a, &b);
        } else {
            assert_string_equal(ea.field, eb.field);
            assert_string_equal(ea.message, eb.message);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_batch),     cmocka_unit_test(test_fit_counts),
        cmocka_unit_test(test_fit_boundary), cmocka_unit_test(test_join_exact),
        cmocka_unit_test(test_join_refused), cmocka_unit_test(test_join_parse_round_trip),
        cmocka_unit_test(test_parse_valid),  cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_from_json),    cmocka_unit_test(test_from_json_same_as_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
