/* test_req_quota: create_rfq.lua's verdict parsing, the 429 and RateLimit headers it makes, and
 * the usage answer's month parameter and body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "req_quota.h"
#include "req_route.h"
#include "req_usage.h"

/* Hand-built hiredis replies (freed with freeReplyObject). */
static redisReply *mk(int type)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = type;
    return r;
}

static redisReply *mk_str(const char *s)
{
    redisReply *r = mk(REDIS_REPLY_STRING);
    r->len = strlen(s);
    r->str = malloc(r->len + 1);
    memcpy(r->str, s, r->len + 1);
    return r;
}

static redisReply *mk_int(long long v)
{
    redisReply *r = mk(REDIS_REPLY_INTEGER);
    r->integer = v;
    return r;
}

/* {outcome, limit, remaining, reset_ms, retry_after_ms} */
static redisReply *verdict(const char *outcome, long long a, long long b, long long c, long long d)
{
    redisReply *r = mk(REDIS_REPLY_ARRAY);
    r->elements = 5;
    r->element = calloc(5, sizeof(redisReply *));
    r->element[0] = mk_str(outcome);
    r->element[1] = mk_int(a);
    r->element[2] = mk_int(b);
    r->element[3] = mk_int(c);
    r->element[4] = mk_int(d);
    return r;
}

static void test_parse(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        enum req_quota_outcome o;
    } cases[] = {{"created", REQ_QUOTA_CREATED},
                 {"exists", REQ_QUOTA_EXISTS},
                 {"rate", REQ_QUOTA_RATE},
                 {"open", REQ_QUOTA_OPEN}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        redisReply *r = verdict(cases[i].name, 40, 39, 50, 7);
        struct req_quota_verdict v;
        assert_int_equal(req_quota_parse(r, &v), RFQ_OK);
        assert_int_equal(v.outcome, cases[i].o);
        assert_int_equal(v.limit, 40);
        assert_int_equal(v.remaining, 39);
        assert_int_equal(v.reset_ms, 50);
        assert_int_equal(v.retry_after_ms, 7);
        freeReplyObject(r);
    }
    struct req_quota_verdict v;
    assert_int_equal(req_quota_parse(NULL, &v), RFQ_EREDIS);
    redisReply *bad[] = {
        mk_int(1), /* the old create_rfq reply */
        mk_str("created"),
        verdict("made", 0, 0, 0, 0),
        verdict("rate", -1, 0, 0, 0),
        verdict("creat", 0, 0, 0, 0),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(req_quota_parse(bad[i], &v), RFQ_EPROTO);
        freeReplyObject(bad[i]);
    }
    redisReply *r = verdict("created", 1, 2, 3, 4);
    freeReplyObject(r->element[3]);
    r->element[3] = mk_str("3");
    assert_int_equal(req_quota_parse(r, &v), RFQ_EPROTO);
    r->elements = 4;
    assert_int_equal(req_quota_parse(r, &v), RFQ_EPROTO);
    r->elements = 5;
    freeReplyObject(r);
}

static void test_ceil(void **state)
{
    (void)state;
    assert_int_equal(req_quota_ceil_s(-5), 1);
    assert_int_equal(req_quota_ceil_s(0), 1);
    assert_int_equal(req_quota_ceil_s(1), 1);
    assert_int_equal(req_quota_ceil_s(1000), 1);
    assert_int_equal(req_quota_ceil_s(1001), 2);
    assert_int_equal(req_quota_ceil_s(29999), 30);
}

static void test_headers(void **state)
{
    (void)state;
    struct req_reply rep;
    req_reply_init(&rep);
    struct req_quota_verdict v = {REQ_QUOTA_CREATED, 40, 12, 1401, 0};
    req_quota_headers(&rep, &v);
    assert_string_equal(req_reply_header_get(&rep, "RateLimit-Limit"), "40");
    assert_string_equal(req_reply_header_get(&rep, "RateLimit-Remaining"), "12");
    assert_string_equal(req_reply_header_get(&rep, "RateLimit-Reset"), "2");
    req_reply_clear(&rep);

    /* a full bucket resets in 0 s */
    v.reset_ms = 0;
    v.remaining = 40;
    req_quota_headers(&rep, &v);
    assert_string_equal(req_reply_header_get(&rep, "RateLimit-Reset"), "0");
    req_reply_clear(&rep);

    /* unlimited: no RateLimit headers at all */
    struct req_quota_verdict u = {REQ_QUOTA_CREATED, 0, 0, 0, 0};
    req_quota_headers(&rep, &u);
    assert_int_equal(rep.n_headers, 0);
    req_reply_clear(&rep);
}

/* The "message" of an error body. */
static const char *message_of(const struct req_reply *rep, char *buf, size_t cap)
{
    json_t *j = json_loadb(rep->body, rep->body_len, 0, NULL);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "rate_limited");
    snprintf(buf, cap, "%s", json_string_value(json_object_get(e, "message")));
    json_decref(j);
    return buf;
}

static void test_refuse(void **state)
{
    (void)state;
    struct rfq_quota q = {20, 40, 100};
    struct req_reply rep;
    char msg[256];
    req_reply_init(&rep);
    struct req_quota_verdict v = {REQ_QUOTA_RATE, 40, 0, 1990, 40};
    req_quota_refuse(&rep, &v, &q);
    assert_int_equal(rep.status, 429);
    assert_string_equal(req_reply_header_get(&rep, "Retry-After"), "1");
    assert_string_equal(req_reply_header_get(&rep, "RateLimit-Limit"), "40");
    assert_string_equal(req_reply_header_get(&rep, "RateLimit-Remaining"), "0");
    assert_string_equal(req_reply_header_get(&rep, "RateLimit-Reset"), "2");
    assert_non_null(strstr(message_of(&rep, msg, sizeof(msg)), "rate limit"));
    req_reply_clear(&rep);

    /* open-RFQ limit: Retry-After is the time to the earliest open deadline */
    struct req_quota_verdict o = {REQ_QUOTA_OPEN, 40, 3, 1000, 29001};
    req_quota_refuse(&rep, &o, &q);
    assert_int_equal(rep.status, 429);
    assert_string_equal(req_reply_header_get(&rep, "Retry-After"), "30");
    assert_non_null(strstr(message_of(&rep, msg, sizeof(msg)), "open RFQ limit"));
    assert_non_null(strstr(msg, "100"));
    req_reply_clear(&rep);

    /* an open-limited tenant without a rate: Retry-After only */
    struct rfq_quota q2 = {0, 0, 5};
    struct req_quota_verdict o2 = {REQ_QUOTA_OPEN, 0, 0, 0, 0};
    req_quota_refuse(&rep, &o2, &q2);
    assert_string_equal(req_reply_header_get(&rep, "Retry-After"), "1");
    assert_null(req_reply_header_get(&rep, "RateLimit-Limit"));
    req_reply_clear(&rep);
}

static void test_usage_month(void **state)
{
    (void)state;
    char m[RFQ_MONTH_LEN + 1];
    struct rfq_err err = {{0}, {0}};
    assert_int_equal(req_usage_month(NULL, 1709251200000LL, m, &err), RFQ_OK);
    assert_string_equal(m, "2024-03");
    assert_int_equal(req_usage_month("1999-01", 1709251200000LL, m, &err), RFQ_OK);
    assert_string_equal(m, "1999-01");
    static const char *const bad[] = {"", "bad", "2024-13", "2024-3", "2024-03x", "2024-03&x=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&err, 0, sizeof(err));
        assert_int_equal(req_usage_month(bad[i], 1709251200000LL, m, &err), RFQ_EINVAL);
        assert_string_equal(err.field, "month");
        assert_true(strlen(err.message) > 0);
    }
}

static void test_usage_json(void **state)
{
    (void)state;
    const long long c[REQ_USAGE_FIELDS] = {1, 2, 3, 4, 5, 6, 7};
    json_t *j = req_usage_json("acme", "2024-03", c);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "acme");
    assert_string_equal(json_string_value(json_object_get(j, "month")), "2024-03");
    static const char *const names[] = {"rfqs",      "quotes",  "declines", "fanout",
                                        "completed", "expired", "throttled"};
    for (int i = 0; i < REQ_USAGE_FIELDS; i++) {
        assert_string_equal(req_usage_fields[i], names[i]);
        assert_int_equal(json_integer_value(json_object_get(j, names[i])), i + 1);
    }
    assert_int_equal(json_object_size(j), 2 + REQ_USAGE_FIELDS);
    json_decref(j);
}

static void test_usage_route(void **state)
{
    (void)state;
    struct req_route r;
    req_route_match(&r, "GET", "/v1/usage");
    assert_int_equal(r.id, REQ_ROUTE_USAGE);
    assert_int_equal(r.status, 0);
    req_route_match(&r, "HEAD", "/v1/usage");
    assert_int_equal(r.status, 0);
    req_route_match(&r, "POST", "/v1/usage");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    req_route_match(&r, "DELETE", "/v1/usage");
    assert_int_equal(r.status, 405);
    req_route_match(&r, "GET", "/v1/usage/2024-03");
    assert_int_equal(r.status, 404);
    req_route_match(&r, "GET", "/v1/usages");
    assert_int_equal(r.status, 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),       cmocka_unit_test(test_ceil),
        cmocka_unit_test(test_headers),     cmocka_unit_test(test_refuse),
        cmocka_unit_test(test_usage_month), cmocka_unit_test(test_usage_json),
        cmocka_unit_test(test_usage_route),
    };
    return cmocka_run_group_tests_name("req_quota", tests, NULL, NULL);
}
