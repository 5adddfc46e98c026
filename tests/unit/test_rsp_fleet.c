/* Unit tests of rsp_fleet: naming, round-robin regions, validation, the fleet callback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_ids.h"
#include "rsp_fleet.h"

static struct rsp_fleet_cfg fleet_cfg(int size, const char *r1, const char *r2)
{
    struct rsp_fleet_cfg c;
    memset(&c, 0, sizeof(c));
    c.size = size;
    snprintf(c.regions[0], sizeof(c.regions[0]), "%s", r1);
    c.n_regions = 1;
    if (r2) {
        snprintf(c.regions[1], sizeof(c.regions[1]), "%s", r2);
        c.n_regions = 2;
    }
    snprintf(c.prefix, sizeof(c.prefix), "unicorn");
    c.pricing = (struct rsp_pricing_cfg){400, 180, 0, 0, 0, 42};
    return c;
}

static void test_names_round_robin(void **state)
{
    struct rsp_fleet_cfg c = fleet_cfg(5, "eu-west", "us-east");
    rsp_fleet *f = NULL;
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_OK);
    assert_int_equal(rsp_fleet_size(f), 5);
    const char *want[][2] = {{"unicorn-eu-west-1", "eu-west"},
                             {"unicorn-us-east-1", "us-east"},
                             {"unicorn-eu-west-2", "eu-west"},
                             {"unicorn-us-east-2", "us-east"},
                             {"unicorn-eu-west-3", "eu-west"}};
    for (size_t i = 0; i < 5; i++) {
        const struct rsp_unicorn *u = rsp_fleet_unicorn(f, i);
        assert_non_null(u);
        assert_string_equal(u->id, want[i][0]);
        assert_string_equal(u->region, want[i][1]);
    }
    assert_null(rsp_fleet_unicorn(f, 5));
    rsp_fleet_destroy(f);
    rsp_fleet_destroy(NULL);
}

static void test_longest_ids_are_valid(void **state)
{
    struct rsp_fleet_cfg c = fleet_cfg(3, "r23456789012345678901234567890ab", NULL);
    memset(c.prefix, 'p', RSP_PREFIX_MAX);
    c.prefix[RSP_PREFIX_MAX] = '\0';
    rsp_fleet *f = NULL;
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_OK);
    for (size_t i = 0; i < rsp_fleet_size(f); i++)
        assert_true(rfq_ident_valid(rsp_fleet_unicorn(f, i)->id));
    rsp_fleet_destroy(f);
}

static void test_invalid(void **state)
{
    rsp_fleet *f = NULL;
    struct rsp_fleet_cfg c = fleet_cfg(0, "eu-west", NULL);
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_EINVAL);
    c = fleet_cfg(RSP_FLEET_MAX + 1, "eu-west", NULL);
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_EINVAL);
    c = fleet_cfg(3, "eu-west", "eu-west");
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_EINVAL);
    c = fleet_cfg(3, "EU.west", NULL);
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_EINVAL);
    c = fleet_cfg(3, "eu-west", NULL);
    snprintf(c.prefix, sizeof(c.prefix), "uni.corn");
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_EINVAL);
    c = fleet_cfg(3, "eu-west", NULL);
    c.n_regions = 0;
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_EINVAL);
    assert_null(f);
}

/* The fleet callback is what rsp_fleet_attach registers: check it prices with the unicorn's
 * own traits through the closure. */
struct capture {
    int n;
    char ids[8][RFQ_ID_MAX + 1];
    struct rfq_quote quotes[8];
};

static rfq_status capture_send(void *closure, const struct rsp_reply *r)
{
    struct capture *c = closure;
    if (c->n < 8) {
        snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s", r->responder_id);
        c->quotes[c->n] = *r->quote;
        c->n++;
    }
    return RFQ_OK;
}

static void test_attach_and_quote(void **state)
{
    struct rsp_fleet_cfg c = fleet_cfg(4, "eu-west", "us-east");
    rsp_fleet *f = NULL;
    assert_int_equal(rsp_fleet_create(&f, &c), RFQ_OK);
    struct capture cap = {0};
    struct rsp_agent_cfg acfg;
    rsp_agent_cfg_init(&acfg);
    acfg.send = capture_send;
    acfg.send_closure = &cap;
    rsp_agent *a = NULL;
    assert_int_equal(rsp_agent_create(&a, &acfg, rsp_fleet_quote), RFQ_OK);
    assert_int_equal(rsp_fleet_attach(f, a), RFQ_OK);
    assert_int_equal(rsp_fleet_attach(f, a), RFQ_EINVAL); /* ids already hosted */

    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.rfq_id, sizeof(r.rfq_id), "rfq-fleet");
    snprintf(r.tenant, sizeof(r.tenant), "acme");
    r.created_ms = rfq_now_ms();
    r.deadline_ms = r.created_ms + 5000;
    snprintf(r.body.region, sizeof(r.body.region), "us-east");
    r.body.pickup = (struct rfq_point){40.7128, -74.0060};
    r.body.dropoff = (struct rfq_point){40.7580, -73.9855};
    r.body.passengers = 1;
    r.body.max_quotes = 5;
    memcpy(r.body.currency, "USD", 4);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(rfq_request_encode(&r, &json, &len), RFQ_OK);
    assert_int_equal(rsp_agent_deliver(a, "rfq.v1.req.us-east.acme", "rfq.v1.quote.acme.rfq-fleet",
                                       json, len, NULL),
                     RFQ_OK);
    free(json);
    rsp_agent_destroy(a);

    assert_int_equal(cap.n, 2); /* think 0: sent during deliver */
    for (int i = 0; i < cap.n; i++) {
        const struct rsp_unicorn *u = NULL;
        for (size_t k = 0; k < rsp_fleet_size(f); k++)
            if (strcmp(rsp_fleet_unicorn(f, k)->id, cap.ids[i]) == 0)
                u = rsp_fleet_unicorn(f, k);
        assert_non_null(u);
        assert_string_equal(u->region, "us-east");
        struct rfq_quote q;
        memset(&q, 0, sizeof(q));
        int think = 0;
        snprintf(q.rfq_id, sizeof(q.rfq_id), "%s", r.rfq_id);
        snprintf(q.responder_id, sizeof(q.responder_id), "%s", u->id);
        memcpy(q.currency, "USD", 4);
        assert_int_equal(rsp_price(&c.pricing, u, &r, &q, &think), RSP_QUOTE);
        assert_int_equal(cap.quotes[i].amount_minor, q.amount_minor);
        assert_int_equal(cap.quotes[i].eta_s, q.eta_s);
    }
    rsp_fleet_destroy(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_round_robin),
        cmocka_unit_test(test_longest_ids_are_valid),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_attach_and_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
