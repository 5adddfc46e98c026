/* test_rank: the rank member's byte order is the ranking order (cheapest, then ETA, then
 * arrival), checked by sorting many random quotes; and the responder comes back out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_msg.h"

#define N_QUOTES 5000

/* A quote with the key fields of its rank, plus its member string. */
struct ranked {
    int64_t amount;
    int eta;
    uint64_t arrival;
    char responder[RFQ_ID_MAX + 1];
    char member[RFQ_RANK_MEMBER_MAX];
};

static uint64_t rng_state;

/* xorshift64*: deterministic, seeded per run and printed so a failure can be replayed. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static struct rfq_quote make_quote(int64_t amount, int eta, const char *responder)
{
    struct rfq_quote q;
    memset(&q, 0, sizeof(q));
    snprintf(q.rfq_id, sizeof(q.rfq_id), "rfq-1");
    snprintf(q.responder_id, sizeof(q.responder_id), "%s", responder);
    q.amount_minor = amount;
    snprintf(q.currency, sizeof(q.currency), "USD");
    q.eta_s = eta;
    return q;
}

/* The ranking rule, written out directly. */
static int cmp_rule(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    if (a->amount != b->amount)
        return a->amount < b->amount ? -1 : 1;
    if (a->eta != b->eta)
        return a->eta < b->eta ? -1 : 1;
    if (a->arrival != b->arrival)
        return a->arrival < b->arrival ? -1 : 1;
    return 0;
}

/* What Redis does with score-0 zset members: plain byte order. */
static int cmp_member(const void *pa, const void *pb)
{
    const struct ranked *a = pa, *b = pb;
    return strcmp(a->member, b->member);
}

/* Pick from a mix of narrow ranges (many ties) and the full range (digit-count changes). */
static int64_t pick_amount(void)
{
    switch (rng() % 4) {
    case 0:
        return (int64_t)(rng() % 5) * 100; /* few distinct prices: ties on amount */
    case 1:
        return (int64_t)(rng() % 1000000000001ULL); /* anything up to the decode cap */
    case 2:
        return (int64_t)(rng() % 100); /* 1- and 2-digit prices vs longer ones */
    default:
        return 999 + (int64_t)(rng() % 3); /* 999 vs 1000 vs 1001 */
    }
}

static void test_sort_order_matches_rule(void **state)
{
    const char *env = getenv("RFQ_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : 0x9e3779b97f4a7c15ULL;
    rng_state = seed ? seed : 1;
    print_message("rank seed %llu (set RFQ_TEST_SEED to replay)\n", (unsigned long long)seed);

    struct ranked *qs = calloc(N_QUOTES, sizeof(*qs));
    assert_non_null(qs);
    for (size_t i = 0; i < N_QUOTES; i++) {
        struct ranked *r = &qs[i];
        r->amount = pick_amount();
        r->eta = rng() % 3 == 0 ? (int)(rng() % 3) * 60 : (int)(rng() % 86401);
        /* arrival is the stream sequence: unique; sometimes huge */
        r->arrival = rng() % 8 == 0 ? UINT64_MAX - i : (uint64_t)i * 7 + 1;
        /* responder names sort against the rule on purpose ("z..." for the cheapest) */
        snprintf(r->responder, sizeof(r->responder), "%c-unicorn-%zu", (char)('z' - i % 26), i);
        struct rfq_quote q = make_quote(r->amount, r->eta, r->responder);
        assert_int_equal(rfq_rank_member(r->member, sizeof(r->member), &q, r->arrival), RFQ_OK);
        assert_string_equal(rfq_rank_member_responder(r->member), r->responder);
    }
    struct ranked *by_rule = malloc(N_QUOTES * sizeof(*qs));
    assert_non_null(by_rule);
    memcpy(by_rule, qs, N_QUOTES * sizeof(*qs));
    qsort(qs, N_QUOTES, sizeof(*qs), cmp_member);
    qsort(by_rule, N_QUOTES, sizeof(*qs), cmp_rule);
    for (size_t i = 0; i < N_QUOTES; i++) {
        if (strcmp(qs[i].member, by_rule[i].member) != 0)
            print_error("position %zu: member order %s, rule order %s\n", i, qs[i].member,
                        by_rule[i].member);
        assert_string_equal(qs[i].member, by_rule[i].member);
    }
    /* and pairwise: cheapest first, then eta, then arrival */
    for (size_t i = 1; i < N_QUOTES; i++) {
        const struct ranked *a = &qs[i - 1], *b = &qs[i];
        assert_true(a->amount <= b->amount);
        if (a->amount == b->amount) {
            assert_true(a->eta <= b->eta);
            if (a->eta == b->eta)
                assert_true(a->arrival < b->arrival);
        }
    }
    free(by_rule);
    free(qs);
}

static void test_tie_breaks(void **state)
{
    /* same price: lower eta wins; same price and eta: earlier arrival wins, whatever the
     * responder is called */
    struct rfq_quote a = make_quote(1000, 300, "aaa"), b = make_quote(1000, 120, "zzz"),
                     c = make_quote(999, 86400, "mmm");
    char ma[RFQ_RANK_MEMBER_MAX], mb[RFQ_RANK_MEMBER_MAX], mc[RFQ_RANK_MEMBER_MAX];
    assert_int_equal(rfq_rank_member(ma, sizeof(ma), &a, 1), RFQ_OK);
    assert_int_equal(rfq_rank_member(mb, sizeof(mb), &b, 2), RFQ_OK);
    assert_int_equal(rfq_rank_member(mc, sizeof(mc), &c, 3), RFQ_OK);
    assert_true(strcmp(mc, mb) < 0);
    assert_true(strcmp(mb, ma) < 0);

    struct rfq_quote d = make_quote(500, 60, "zzz"), e = make_quote(500, 60, "aaa");
    assert_int_equal(rfq_rank_member(ma, sizeof(ma), &d, 9), RFQ_OK);
    assert_int_equal(rfq_rank_member(mb, sizeof(mb), &e, 10), RFQ_OK);
    assert_true(strcmp(ma, mb) < 0);
    /* arrival 9 vs 10 must not compare as text "9" > "10" */
    assert_int_equal(rfq_rank_member(mb, sizeof(mb), &e, 100000000000ULL), RFQ_OK);
    assert_true(strcmp(ma, mb) < 0);
}

static void test_member_format_and_bounds(void **state)
{
    char m[RFQ_RANK_MEMBER_MAX];
    struct rfq_quote q = make_quote(1250, 240, "unicorn-7");
    assert_int_equal(rfq_rank_member(m, sizeof(m), &q, 42), RFQ_OK);
    assert_string_equal(m, "0000000000001250|000240|00000000000000000042|unicorn-7");

    /* the widest member fits RFQ_RANK_MEMBER_MAX exactly */
    char id64[RFQ_ID_MAX + 1];
    memset(id64, 'Z', RFQ_ID_MAX);
    id64[RFQ_ID_MAX] = '\0';
    q = make_quote(1000000000000LL, 86400, id64);
    assert_int_equal(rfq_rank_member(m, sizeof(m), &q, UINT64_MAX), RFQ_OK);
    assert_int_equal(strlen(m), RFQ_RANK_MEMBER_MAX - 1);
    assert_string_equal(rfq_rank_member_responder(m), id64);
    /* one byte short */
    assert_int_equal(rfq_rank_member(m, RFQ_RANK_MEMBER_MAX - 1, &q, UINT64_MAX), RFQ_ETOOBIG);

    /* zero is the cheapest possible price */
    q = make_quote(0, 0, "u");
    assert_int_equal(rfq_rank_member(m, sizeof(m), &q, 0), RFQ_OK);
    assert_string_equal(m, "0000000000000000|000000|00000000000000000000|u");
}

static void test_member_refusals(void **state)
{
    char m[RFQ_RANK_MEMBER_MAX];
    struct rfq_quote q = make_quote(100, 10, "u1");
    q.decline = true; /* declines are counted, never ranked */
    assert_int_equal(rfq_rank_member(m, sizeof(m), &q, 1), RFQ_EINVAL);
    q = make_quote(-1, 10, "u1");
    assert_int_equal(rfq_rank_member(m, sizeof(m), &q, 1), RFQ_EINVAL);
    static const char *const bad_ids[] = {"", "a|b", "a.b", "a b", "*", ">"};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        q = make_quote(100, 10, bad_ids[i]);
        assert_int_equal(rfq_rank_member(m, sizeof(m), &q, 1), RFQ_EINVAL);
    }
}

static void test_responder_extraction(void **state)
{
    assert_string_equal(rfq_rank_member_responder("0000000000001250|000240|00000000000000000042|"
                                                  "unicorn-7"),
                        "unicorn-7");
    assert_string_equal(rfq_rank_member_responder("a|b|c"), "c");
    assert_string_equal(rfq_rank_member_responder("|x"), "x");
    assert_null(rfq_rank_member_responder(NULL));
    assert_null(rfq_rank_member_responder(""));
    assert_null(rfq_rank_member_responder("no-bar-here"));
    assert_null(rfq_rank_member_responder("0000000000001250|000240|00000000000000000042|"));
    /* a decoded quote's responder comes back out unchanged */
    const char *json = "{\"rfq_id\":\"r1\",\"responder_id\":\"Uni_corn-99\",\"price\":"
                       "{\"amount_minor\":777,\"currency\":\"EUR\"},\"eta_s\":61}";
    struct rfq_quote q;
    assert_int_equal(rfq_quote_decode(&q, json, strlen(json), NULL), RFQ_OK);
    char m[RFQ_RANK_MEMBER_MAX];
    assert_int_equal(rfq_rank_member(m, sizeof(m), &q, 5), RFQ_OK);
    assert_string_equal(rfq_rank_member_responder(m), "Uni_corn-99");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_order_matches_rule),  cmocka_unit_test(test_tie_breaks),
        cmocka_unit_test(test_member_format_and_bounds), cmocka_unit_test(test_member_refusals),
        cmocka_unit_test(test_responder_extraction),
    };
    return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
