/* test_req_shed: the load-shedding decision (limits, hysteresis, unknown backlog, Redis not
 * answering), its Retry-After and the 503 it produces when no monitor runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "req_shed.h"

static const struct req_shed_limits lim = {.backlog_max = 1000, .redis_ms_max = 200};

static enum req_shed_cause feed_ping(struct req_shed_state *st, int64_t at_ms, int64_t backlog,
                                     double redis_ms, bool answered)
{
    struct req_shed_sample s = {
        .at_ms = at_ms, .backlog = backlog, .redis_ms = redis_ms, .redis_answered = answered};
    return req_shed_update(st, &lim, &s);
}

static enum req_shed_cause feed(struct req_shed_state *st, int64_t at_ms, int64_t backlog,
                                double redis_ms)
{
    return feed_ping(st, at_ms, backlog, redis_ms, true);
}

static void test_backlog_hysteresis(void **state)
{
    struct req_shed_state st = {.backlog = -1};
    assert_int_equal(feed(&st, 0, 0, 0.2), REQ_SHED_NONE);
    assert_int_equal(feed(&st, 250, 1000, 0.2), REQ_SHED_NONE); /* at the limit: not beyond */
    assert_int_equal(feed(&st, 500, 1001, 0.2), REQ_SHED_BACKLOG);
    assert_string_equal(req_shed_cause_str(REQ_SHED_BACKLOG), "backlog");
    /* Between the resume mark (80 %) and the limit: still shedding. */
    assert_int_equal(feed(&st, 750, 900, 0.2), REQ_SHED_BACKLOG);
    assert_int_equal(feed(&st, 1000, 801, 0.2), REQ_SHED_BACKLOG);
    assert_int_equal(feed(&st, 1250, 800, 0.2), REQ_SHED_NONE);
    /* And it does not start again below the limit. */
    assert_int_equal(feed(&st, 1500, 950, 0.2), REQ_SHED_NONE);
    assert_null(req_shed_cause_str(REQ_SHED_NONE));
}

static void test_redis_hysteresis_and_silence(void **state)
{
    struct req_shed_state st = {.backlog = -1};
    assert_int_equal(feed(&st, 0, 10, 150), REQ_SHED_NONE);
    assert_int_equal(feed(&st, 250, 10, 201), REQ_SHED_REDIS);
    assert_int_equal(feed(&st, 500, 10, 170), REQ_SHED_REDIS); /* above 160 ms: still on */
    assert_int_equal(feed(&st, 750, 10, 160), REQ_SHED_NONE);
    /* No answer within the pool's timeout: a hung Redis. */
    assert_int_equal(feed_ping(&st, 1000, 10, 2000, false), REQ_SHED_REDIS);
    assert_int_equal(req_shed_retry_after(&st, &lim, REQ_SHED_REDIS), REQ_SHED_RETRY_MAX_S);
    assert_int_equal(feed(&st, 1250, 10, 0.3), REQ_SHED_NONE);
    /* Refused at once (Redis down): submits fail fast by themselves, nothing to shed. */
    assert_int_equal(feed_ping(&st, 1500, 10, 0.2, false), REQ_SHED_NONE);
    assert_string_equal(req_shed_cause_str(REQ_SHED_REDIS), "redis");
}

static void test_backlog_reported_first(void **state)
{
    struct req_shed_state st = {.backlog = -1};
    assert_int_equal(feed(&st, 0, 5000, 900), REQ_SHED_BACKLOG);
    assert_int_equal(feed(&st, 250, 10, 900), REQ_SHED_REDIS);
    assert_int_equal(feed(&st, 500, 10, 1), REQ_SHED_NONE);
}

/* An unreadable backlog keeps the decision for a while, then stops counting. */
static void test_unknown_backlog(void **state)
{
    struct req_shed_state st = {.backlog = -1};
    assert_int_equal(feed(&st, 0, -1, 1), REQ_SHED_NONE); /* never known: nothing to shed */
    assert_int_equal(feed(&st, 250, 2000, 1), REQ_SHED_BACKLOG);
    assert_int_equal(feed(&st, 500, -1, 1), REQ_SHED_BACKLOG);
    assert_int_equal(feed(&st, 250 + REQ_SHED_UNKNOWN_HOLD_MS, -1, 1), REQ_SHED_BACKLOG);
    assert_int_equal(feed(&st, 251 + REQ_SHED_UNKNOWN_HOLD_MS, -1, 1), REQ_SHED_NONE);
    assert_int_equal(st.backlog, -1);
}

/* Retry-After: the time to drain down to the resume mark at the measured rate, 1..5 s. */
static void test_retry_after(void **state)
{
    struct req_shed_state st = {.backlog = -1};
    feed(&st, 0, 3000, 1);
    /* Not draining (no rate yet): the maximum. */
    assert_int_equal(req_shed_retry_after(&st, &lim, REQ_SHED_BACKLOG), REQ_SHED_RETRY_MAX_S);
    feed(&st, 1000, 3000, 1); /* flat: still the maximum */
    assert_int_equal(req_shed_retry_after(&st, &lim, REQ_SHED_BACKLOG), REQ_SHED_RETRY_MAX_S);
    /* 1600/s after a flat second: smoothed 800/s; (1400 - 800) / 800 -> 1 s. */
    feed(&st, 2000, 1400, 1);
    assert_true(st.drain_per_s > 0);
    assert_int_equal(req_shed_retry_after(&st, &lim, REQ_SHED_BACKLOG), 1);
    /* Growing: the maximum again once the rate turns negative. */
    feed(&st, 2250, 5000, 1);
    assert_int_equal(req_shed_retry_after(&st, &lim, REQ_SHED_BACKLOG), REQ_SHED_RETRY_MAX_S);
    /* Redis: round trip in multiples of the limit, rounded up. */
    feed(&st, 2500, 10, 450);
    assert_int_equal(req_shed_retry_after(&st, &lim, REQ_SHED_REDIS), 3);
    feed(&st, 2750, 10, 5000);
    assert_int_equal(req_shed_retry_after(&st, &lim, REQ_SHED_REDIS), REQ_SHED_RETRY_MAX_S);
}

/* The drain-time limit: a backlog the aggregators cannot work off within 2 s at the rate they
 * acknowledge quotes is shed for, far below the size limit; a small one never is. */
static void test_drain_time(void **state)
{
    (void)state;
    const struct req_shed_limits dl = {.backlog_max = 20000, .drain_ms_max = 2000};
    struct req_shed_state st = {.backlog = -1};
    struct req_shed_sample s = {.at_ms = 0, .backlog = 3000, .consumed = 0};
    /* No rate measured yet: not judged. */
    assert_int_equal(req_shed_update(&st, &dl, &s), REQ_SHED_NONE);
    assert_true(st.drain_ms == 0);
    /* 1000 quotes/s acknowledged: 3000 waiting is 3 s of work, beyond 2 s. */
    s = (struct req_shed_sample){.at_ms = 1000, .backlog = 3000, .consumed = 1000};
    assert_int_equal(req_shed_update(&st, &dl, &s), REQ_SHED_BACKLOG);
    assert_true(st.drain_ms > 2900 && st.drain_ms < 3100);
    /* 1800 waiting at 1000/s: 1.8 s, between the resume mark (1.6 s) and the limit: on. */
    s = (struct req_shed_sample){.at_ms = 2000, .backlog = 1800, .consumed = 2000};
    assert_int_equal(req_shed_update(&st, &dl, &s), REQ_SHED_BACKLOG);
    /* 1500 at 1000/s: 1.5 s: off. */
    s = (struct req_shed_sample){.at_ms = 3000, .backlog = 1500, .consumed = 3000};
    assert_int_equal(req_shed_update(&st, &dl, &s), REQ_SHED_NONE);
    /* The aggregators stop acknowledging: the rate decays and the drain time soars. */
    for (int i = 1; i <= 8; i++) {
        s = (struct req_shed_sample){.at_ms = 3000 + 250 * i, .backlog = 1500, .consumed = 3000};
        req_shed_update(&st, &dl, &s);
    }
    assert_int_equal(req_shed_cause_of(&st), REQ_SHED_BACKLOG);
    /* Below REQ_SHED_DRAIN_MIN nothing is judged, however slow. */
    s = (struct req_shed_sample){
        .at_ms = 6000, .backlog = REQ_SHED_DRAIN_MIN - 1, .consumed = 3000};
    assert_int_equal(req_shed_update(&st, &dl, &s), REQ_SHED_NONE);
    /* A consumer created again (its floor went back) starts the rate over: not judged. */
    s = (struct req_shed_sample){.at_ms = 6250, .backlog = 5000, .consumed = 10};
    assert_int_equal(req_shed_update(&st, &dl, &s), REQ_SHED_NONE);
    /* The size limit still applies on its own. */
    s = (struct req_shed_sample){.at_ms = 6500, .backlog = 20001, .consumed = 100000};
    assert_int_equal(req_shed_update(&st, &dl, &s), REQ_SHED_BACKLOG);
}

/* Limits of 0 switch a measure off. */
static void test_limits_off(void **state)
{
    const struct req_shed_limits off = {0, 0, 0};
    struct req_shed_state st = {.backlog = -1};
    struct req_shed_sample s = {.at_ms = 0, .backlog = 1000000, .redis_ms = 1e6};
    assert_int_equal(req_shed_update(&st, &off, &s), REQ_SHED_NONE);
}

/* Without a monitor (both limits 0) nothing is refused and /healthz reports no shedding. */
static void test_no_monitor(void **state)
{
    struct req_reply rep;
    req_reply_init(&rep);
    assert_false(req_shed_refuse(NULL, &rep));
    assert_null(rep.body);
    int64_t backlog = 7;
    assert_int_equal(req_shed_now(NULL, &backlog), REQ_SHED_NONE);
    assert_int_equal(backlog, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backlog_hysteresis),
        cmocka_unit_test(test_redis_hysteresis_and_silence),
        cmocka_unit_test(test_backlog_reported_first),
        cmocka_unit_test(test_drain_time),
        cmocka_unit_test(test_unknown_backlog),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_limits_off),
        cmocka_unit_test(test_no_monitor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
