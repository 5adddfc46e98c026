/* Unit tests of rsp_pricing: distance, seeded hashing, unicorn traits, prices and declines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp_pricing.h"

static struct rfq_request make_rfq(const char *id, int passengers)
{
    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.rfq_id, sizeof(r.rfq_id), "%s", id);
    snprintf(r.tenant, sizeof(r.tenant), "acme");
    r.created_ms = 1700000000000;
    r.deadline_ms = r.created_ms + 2000;
    snprintf(r.body.region, sizeof(r.body.region), "eu-west");
    r.body.pickup = (struct rfq_point){48.8566, 2.3522};  /* Paris */
    r.body.dropoff = (struct rfq_point){48.8738, 2.2950}; /* Arc de Triomphe */
    r.body.passengers = passengers;
    r.body.max_quotes = 5;
    memcpy(r.body.currency, "EUR", 4);
    return r;
}

static struct rfq_quote prefilled(const struct rfq_request *r, const char *responder)
{
    struct rfq_quote q;
    memset(&q, 0, sizeof(q));
    snprintf(q.rfq_id, sizeof(q.rfq_id), "%s", r->rfq_id);
    snprintf(q.responder_id, sizeof(q.responder_id), "%s", responder);
    memcpy(q.currency, r->body.currency, 4);
    return q;
}

static struct rsp_pricing_cfg pricing(int decline_pct, uint64_t seed)
{
    struct rsp_pricing_cfg p = {.base_fare_minor = 400,
                                .per_km_minor = 180,
                                .think_ms_min = 5,
                                .think_ms_max = 60,
                                .decline_pct = decline_pct,
                                .seed = seed};
    return p;
}

static void test_distance(void **state)
{
    struct rfq_point paris = {48.8566, 2.3522}, london = {51.5074, -0.1278};
    assert_true(rsp_distance_km(paris, paris) < 1e-9);
    double d = rsp_distance_km(paris, london);
    assert_true(fabs(d - 343.5) < 1.0);
    assert_true(fabs(d - rsp_distance_km(london, paris)) < 1e-9);
    /* Half the circumference between antipodes, no NaN from rounding. */
    double half = rsp_distance_km((struct rfq_point){0, 0}, (struct rfq_point){0, 180});
    assert_true(fabs(half - M_PI * 6371.0) < 1e-6);
    double pole = rsp_distance_km((struct rfq_point){90, 0}, (struct rfq_point){-90, 0});
    assert_false(isnan(pole));
}

static void test_hash(void **state)
{
    assert_int_equal(rsp_hash(1, "a", "b", 3), rsp_hash(1, "a", "b", 3));
    assert_int_not_equal(rsp_hash(1, "a", "b", 3), rsp_hash(2, "a", "b", 3));
    assert_int_not_equal(rsp_hash(1, "a", "b", 3), rsp_hash(1, "a", "b", 4));
    assert_int_not_equal(rsp_hash(1, "ab", "c", 3), rsp_hash(1, "a", "bc", 3));
    assert_int_equal(rsp_hash(7, NULL, NULL, 0), rsp_hash(7, NULL, NULL, 0));
}

static void test_unicorn_traits(void **state)
{
    for (int i = 0; i < 2000; i++) {
        char id[32];
        snprintf(id, sizeof(id), "unicorn-eu-west-%d", i);
        struct rsp_unicorn u, again;
        rsp_unicorn_init(&u, id, "eu-west", 42);
        rsp_unicorn_init(&again, id, "eu-west", 42);
        assert_memory_equal(&u, &again, sizeof(u));
        assert_string_equal(u.id, id);
        assert_string_equal(u.region, "eu-west");
        assert_true(u.price_factor >= 0.85 - 1e-9 && u.price_factor <= 1.25 + 1e-9);
        assert_in_range(u.speed_kmh, 20, 59);
        assert_in_range(u.seats, 4, 8);
        assert_in_range(u.n_perks, 0, RSP_PERKS_MAX);
        for (int k = 0; k < u.n_perks; k++)
            assert_true(strlen(u.perks[k]) > 0 && strlen(u.perks[k]) <= RFQ_TAG_MAX);
    }
}

static void test_price_formula(void **state)
{
    struct rsp_pricing_cfg p = pricing(0, 42);
    struct rsp_unicorn u;
    rsp_unicorn_init(&u, "unicorn-eu-west-1", "eu-west", 42);
    struct rfq_request r = make_rfq("rfq-1", 1);
    struct rfq_quote q = prefilled(&r, u.id);
    int think = -1;
    assert_int_equal(rsp_price(&p, &u, &r, &q, &think), RSP_QUOTE);
    double km = rsp_distance_km(r.body.pickup, r.body.dropoff);
    assert_int_equal(q.amount_minor, llround((400 + 180 * km) * u.price_factor));
    assert_false(q.decline);
    assert_string_equal(q.currency, "EUR");
    assert_in_range(q.eta_s, 30, 30 + 6 * 3600 / 20);
    assert_in_range(think, 5, 60);
    assert_int_equal(q.n_perks, u.n_perks);
    assert_int_equal(q.valid_until_ms, r.deadline_ms + 5 * 60 * 1000);

    /* Zero distance: the base fare times the factor. */
    r.body.dropoff = r.body.pickup;
    q = prefilled(&r, u.id);
    assert_int_equal(rsp_price(&p, &u, &r, &q, &think), RSP_QUOTE);
    assert_int_equal(q.amount_minor, llround(400 * u.price_factor));
}

static void test_price_deterministic(void **state)
{
    struct rsp_pricing_cfg p = pricing(20, 1234);
    struct rsp_unicorn u;
    rsp_unicorn_init(&u, "unicorn-us-east-3", "us-east", 1234);
    int differs = 0;
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof(id), "rfq-%d", i);
        struct rfq_request r = make_rfq(id, 1);
        struct rfq_quote a = prefilled(&r, u.id), b = prefilled(&r, u.id), c = prefilled(&r, u.id);
        int ta, tb, tc;
        rsp_decision da = rsp_price(&p, &u, &r, &a, &ta);
        rsp_decision db = rsp_price(&p, &u, &r, &b, &tb);
        assert_int_equal(da, db);
        assert_int_equal(ta, tb);
        assert_memory_equal(&a, &b, sizeof(a));
        struct rsp_pricing_cfg other = pricing(20, 99);
        rsp_decision dc = rsp_price(&other, &u, &r, &c, &tc);
        differs += dc != da || tc != ta || c.eta_s != a.eta_s;
    }
    assert_true(differs > 100); /* another seed gives other draws */
}

static void test_decline_rate(void **state)
{
    struct rsp_unicorn u;
    rsp_unicorn_init(&u, "unicorn-eu-west-2", "eu-west", 7);
    for (int pct = 0; pct <= 100; pct += 25) {
        struct rsp_pricing_cfg p = pricing(pct, 7);
        int declines = 0, n = 4000;
        for (int i = 0; i < n; i++) {
            char id[32];
            snprintf(id, sizeof(id), "rfq-%d", i);
            struct rfq_request r = make_rfq(id, 1);
            struct rfq_quote q = prefilled(&r, u.id);
            int think;
            if (rsp_price(&p, &u, &r, &q, &think) == RSP_DECLINE) {
                declines++;
                assert_string_equal(q.decline_reason, "busy");
            }
        }
        if (pct == 0)
            assert_int_equal(declines, 0);
        else if (pct == 100)
            assert_int_equal(declines, n);
        else
            assert_true(abs(declines * 100 / n - pct) <= 3);
    }
}

static void test_capacity_and_think(void **state)
{
    struct rsp_pricing_cfg p = pricing(0, 5);
    p.think_ms_min = p.think_ms_max = 17;
    struct rsp_unicorn u;
    rsp_unicorn_init(&u, "unicorn-eu-west-9", "eu-west", 5);
    struct rfq_request r = make_rfq("rfq-cap", u.seats + 1);
    struct rfq_quote q = prefilled(&r, u.id);
    int think = 0;
    assert_int_equal(rsp_price(&p, &u, &r, &q, &think), RSP_DECLINE);
    assert_string_equal(q.decline_reason, "capacity");
    assert_int_equal(think, 17);
    r.body.passengers = u.seats;
    q = prefilled(&r, u.id);
    assert_int_equal(rsp_price(&p, &u, &r, &q, &think), RSP_QUOTE);
    p.think_ms_min = p.think_ms_max = 0;
    assert_int_equal(rsp_price(&p, &u, &r, &q, &think), RSP_QUOTE);
    assert_int_equal(think, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_unicorn_traits),
        cmocka_unit_test(test_price_formula),
        cmocka_unit_test(test_price_deterministic),
        cmocka_unit_test(test_decline_rate),
        cmocka_unit_test(test_capacity_and_think),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
