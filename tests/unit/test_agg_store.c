/* Unit tests of agg_store's pure parts: add_quote and sweep reply parsing, argument building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg_store.h"

/* Hand-built hiredis replies (freed with freeReplyObject, which frees str and elements). */
static redisReply *mk(int type)
{
    redisReply *r = calloc(1, sizeof(*r));
    r->type = type;
    return r;
}

static redisReply *mk_str(int type, const char *s)
{
    redisReply *r = mk(type);
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

static redisReply *mk_arr_of(size_t n, redisReply *const *els)
{
    redisReply *r = mk(REDIS_REPLY_ARRAY);
    r->elements = n;
    r->element = calloc(n ? n : 1, sizeof(redisReply *));
    for (size_t i = 0; i < n; i++)
        r->element[i] = els[i];
    return r;
}

/* mk_arr(n, a, b, ...): an array reply of the given elements. */
#define mk_arr(n, ...) mk_arr_of((n), (redisReply *const[]){__VA_ARGS__})

#define S(x) mk_str(REDIS_REPLY_STRING, x)

static void test_add_reply_outcomes(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        agg_outcome o;
    } cases[] = {{"stored", AGG_OUT_STORED},     {"completed", AGG_OUT_COMPLETED},
                 {"declined", AGG_OUT_DECLINED}, {"duplicate", AGG_OUT_DUPLICATE},
                 {"late", AGG_OUT_LATE},         {"closed", AGG_OUT_CLOSED},
                 {"unknown", AGG_OUT_UNKNOWN},   {"currency", AGG_OUT_CURRENCY}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        redisReply *r = mk_arr(3, S(cases[i].name), mk_int(4), S("open"));
        struct agg_store_result res;
        assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
        assert_int_equal(res.outcome, cases[i].o);
        assert_int_equal(res.count, 4);
        assert_string_equal(res.status, "open");
        assert_string_equal(agg_outcome_str(res.outcome), cases[i].name);
        freeReplyObject(r);
    }
}

static void test_add_reply_shapes(void **state)
{
    (void)state;
    struct agg_store_result res;

    /* Lua stops a table at a nil: count and status may be missing. */
    redisReply *r = mk_arr(1, S("closed"));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_int_equal(res.outcome, AGG_OUT_CLOSED);
    assert_int_equal(res.count, 0);
    assert_string_equal(res.status, "");
    freeReplyObject(r);

    /* A count as a decimal string is accepted, garbage reads as 0. */
    r = mk_arr(3, S("stored"), S("12"), S("open"));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_int_equal(res.count, 12);
    freeReplyObject(r);
    r = mk_arr(3, S("stored"), S("12x"), mk(REDIS_REPLY_NIL));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_int_equal(res.count, 0);
    assert_string_equal(res.status, "");
    freeReplyObject(r);

    /* A status that does not fit is dropped, not truncated. */
    r = mk_arr(3, S("closed"), mk_int(1), S("a-very-long-status-value"));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_string_equal(res.status, "");
    freeReplyObject(r);

    /* completed carries the best quote (copied out of the reply); nil when there is none;
     * other outcomes never do. */
    r = mk_arr(4, S("completed"), mk_int(5), S("completed"), S("{\"responder_id\":\"u1\"}"));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    freeReplyObject(r);
    assert_non_null(res.best_json);
    assert_string_equal(res.best_json, "{\"responder_id\":\"u1\"}");
    agg_store_result_clear(&res);
    assert_null(res.best_json);
    r = mk_arr(4, S("completed"), mk_int(5), S("completed"), mk(REDIS_REPLY_NIL));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_null(res.best_json);
    freeReplyObject(r);
    r = mk_arr(4, S("stored"), mk_int(5), S("open"), S("{}"));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_null(res.best_json);
    freeReplyObject(r);

    /* completed also carries the RFQ's created_ms, after the best quote (nil or not). */
    r = mk_arr(5, S("completed"), mk_int(3), S("completed"), mk(REDIS_REPLY_NIL),
               mk_int(1795000000123LL));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_int_equal(res.created_ms, 1795000000123LL);
    freeReplyObject(r);
    r = mk_arr(5, S("completed"), mk_int(3), S("completed"), S("{}"), S("x"));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_int_equal(res.created_ms, 0); /* not a number: unknown */
    agg_store_result_clear(&res);
    freeReplyObject(r);
    r = mk_arr(5, S("stored"), mk_int(3), S("open"), mk(REDIS_REPLY_NIL), mk_int(7));
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_OK);
    assert_int_equal(res.created_ms, 0); /* only completed carries it */
    freeReplyObject(r);
}

static void test_add_reply_errors(void **state)
{
    (void)state;
    struct agg_store_result res;
    assert_int_equal(agg_store_parse_add_reply(NULL, &res), RFQ_EREDIS);
    assert_int_equal(res.outcome, AGG_OUT_RETRY);

    redisReply *r = mk_str(REDIS_REPLY_ERROR, "NOSCRIPT No matching script.");
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_EPROTO);
    assert_int_equal(res.outcome, AGG_OUT_ERROR);
    assert_string_equal(res.error, "NOSCRIPT No matching script.");
    freeReplyObject(r);

    char longerr[600];
    memset(longerr, 'E', sizeof(longerr) - 1);
    longerr[sizeof(longerr) - 1] = '\0';
    r = mk_str(REDIS_REPLY_ERROR, longerr);
    assert_int_equal(agg_store_parse_add_reply(r, &res), RFQ_EPROTO);
    assert_int_equal(strlen(res.error), sizeof(res.error) - 1);
    freeReplyObject(r);

    redisReply *bad[] = {
        mk_int(1),
        mk(REDIS_REPLY_NIL),
        S("stored"),
        mk_arr_of(0, NULL),
        mk_arr(1, mk_int(3)),
        mk_arr(1, mk(REDIS_REPLY_NIL)),
        mk_arr(3, S("weird"), mk_int(1), S("open")),
        mk_arr(3, S("error"), mk_int(1), S("open")), /* our own names are not script outcomes */
        mk_arr(2, mk_arr(1, S("stored")), mk_int(1)),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agg_store_parse_add_reply(bad[i], &res), RFQ_EPROTO);
        assert_int_equal(res.outcome, AGG_OUT_ERROR);
        assert_true(strlen(res.error) > 0);
        freeReplyObject(bad[i]);
    }
}

static void test_outcome_names(void **state)
{
    (void)state;
    assert_int_equal(agg_outcome_parse("stored", 6), AGG_OUT_STORED);
    assert_int_equal(agg_outcome_parse("stored", 5), AGG_OUT_ERROR);
    assert_int_equal(agg_outcome_parse("retry", 5), AGG_OUT_ERROR);
    assert_int_equal(agg_outcome_parse(NULL, 0), AGG_OUT_ERROR);
    assert_string_equal(agg_outcome_str(AGG_OUT_RETRY), "retry");
    assert_string_equal(agg_outcome_str((agg_outcome)77), "invalid");
}

static struct rfq_quote priced(const char *responder, int64_t amount, int eta)
{
    struct rfq_quote q;
    memset(&q, 0, sizeof(q));
    snprintf(q.rfq_id, sizeof(q.rfq_id), "r1");
    snprintf(q.responder_id, sizeof(q.responder_id), "%s", responder);
    q.amount_minor = amount;
    snprintf(q.currency, sizeof(q.currency), "EUR");
    q.eta_s = eta;
    return q;
}

static void test_add_args(void **state)
{
    (void)state;
    struct agg_add_args a;
    struct rfq_quote q = priced("u1", 1200, 300);
    assert_int_equal(agg_add_args_build(&a, "acme", "r1", &q, 1700000000123LL, 7, 1700000000999LL),
                     RFQ_OK);
    assert_string_equal(a.key_rfq, "rfq:acme:{r1}");
    assert_string_equal(a.key_quotes, "rfq:acme:{r1}:quotes");
    assert_string_equal(a.key_rank, "rfq:acme:{r1}:rank");
    assert_string_equal(a.deadline_member, "acme/r1");
    assert_string_equal(a.rank_member, "0000000000001200|000300|00000000000000000007|u1");
    assert_string_equal(a.arrival_ms, "1700000000123");
    assert_string_equal(a.now_ms, "1700000000999");
    assert_string_equal(a.currency, "EUR");
    assert_string_equal(a.key_open, "rfq:acme:open");
    /* usage is metered in the UTC month of the arrival (1700000000123 = 2023-11-14) */
    assert_string_equal(a.key_usage, "rfq:acme:usage:2023-11");
    struct agg_add_args u;
    assert_int_equal(agg_add_args_build(&u, "acme", "r1", &q, 1701388800000LL, 7, 1LL), RFQ_OK);
    assert_string_equal(u.key_usage, "rfq:acme:usage:2023-12"); /* 2023-12-01T00:00:00Z */
    /* an arrival time out of range falls back to now's month */
    assert_int_equal(agg_add_args_build(&u, "acme", "r1", &q, -5, 7, 1700000000999LL), RFQ_OK);
    assert_string_equal(u.key_usage, "rfq:acme:usage:2023-11");
    assert_int_equal(agg_add_args_build(&u, "acme", "r1", &q, -5, 7, -5), RFQ_EINVAL);

    /* Ranking order is lexicographic: cheaper first, then faster, then earlier. */
    struct agg_add_args b, c;
    struct rfq_quote q2 = priced("u2", 1200, 299), q3 = priced("u0", 1200, 299);
    agg_add_args_build(&b, "acme", "r1", &q2, 1, 9, 1);
    agg_add_args_build(&c, "acme", "r1", &q3, 1, 10, 1);
    assert_true(strcmp(b.rank_member, a.rank_member) < 0);
    assert_true(strcmp(b.rank_member, c.rank_member) < 0);

    struct rfq_quote d;
    memset(&d, 0, sizeof(d));
    snprintf(d.rfq_id, sizeof(d.rfq_id), "r1");
    snprintf(d.responder_id, sizeof(d.responder_id), "u3");
    d.decline = true;
    assert_int_equal(agg_add_args_build(&a, "acme", "r1", &d, 1, 1, 1), RFQ_OK);
    assert_string_equal(a.rank_member, "");
    assert_string_equal(a.currency, "");

    assert_int_equal(agg_add_args_build(&a, "ACME", "r1", &q, 1, 1, 1), RFQ_EINVAL);
    assert_int_equal(agg_add_args_build(&a, "acme", "r/1", &q, 1, 1, 1), RFQ_EINVAL);
    snprintf(q.responder_id, sizeof(q.responder_id), "bad id");
    assert_int_equal(agg_add_args_build(&a, "acme", "r1", &q, 1, 1, 1), RFQ_EINVAL);
}

/* The answer part alone, on arguments built for another answer of the same RFQ, equals a
 * full build of that answer: the batch path reuses the keys. */
static void test_add_args_answer(void **state)
{
    (void)state;
    struct rfq_quote q1 = priced("u1", 1200, 300), q2 = priced("u2", 900, 120);
    struct rfq_quote d;
    memset(&d, 0, sizeof(d));
    snprintf(d.rfq_id, sizeof(d.rfq_id), "r1");
    snprintf(d.responder_id, sizeof(d.responder_id), "u3");
    d.decline = true;
    const struct rfq_quote *next[] = {&q2, &d};
    for (int i = 0; i < 2; i++) {
        struct agg_add_args shared, full;
        assert_int_equal(agg_add_args_build(&shared, "acme", "r1", &q1, 1700000000123LL, 7, 5),
                         RFQ_OK);
        assert_int_equal(agg_add_args_answer(&shared, next[i], 1700000000123LL, 7, 5), RFQ_OK);
        assert_int_equal(agg_add_args_build(&full, "acme", "r1", next[i], 1700000000123LL, 7, 5),
                         RFQ_OK);
        assert_string_equal(shared.rank_member, full.rank_member);
        assert_string_equal(shared.currency, full.currency);
        assert_string_equal(shared.arrival_ms, full.arrival_ms);
        assert_string_equal(shared.key_usage, full.key_usage);
    }
    struct agg_add_args a;
    assert_int_equal(agg_add_args_build(&a, "acme", "r1", &q1, 1, 1, 1), RFQ_OK);
    snprintf(q2.responder_id, sizeof(q2.responder_id), "bad id");
    assert_int_equal(agg_add_args_answer(&a, &q2, 1, 1, 1), RFQ_EINVAL);
}

static void test_sweep_reply(void **state)
{
    (void)state;
    struct agg_expired ex[4];
    redisReply *r = mk_arr(4, S("acme/r1"), S("3"), S("globex/r-2"), mk_int(0));
    assert_int_equal(agg_store_parse_sweep_reply(r, ex, 4), 2);
    assert_string_equal(ex[0].tenant, "acme");
    assert_string_equal(ex[0].rfq_id, "r1");
    assert_int_equal(ex[0].count, 3);
    assert_string_equal(ex[1].tenant, "globex");
    assert_string_equal(ex[1].rfq_id, "r-2");
    assert_int_equal(ex[1].count, 0);
    freeReplyObject(r);

    /* A missing count (nil dropped by Lua) does not shift the next member into a count. */
    r = mk_arr(3, S("acme/r1"), S("acme/r2"), S("5"));
    assert_int_equal(agg_store_parse_sweep_reply(r, ex, 4), 2);
    assert_int_equal(ex[0].count, 0);
    assert_string_equal(ex[1].rfq_id, "r2");
    assert_int_equal(ex[1].count, 5);
    freeReplyObject(r);

    /* Malformed members are skipped; cap is respected. */
    r = mk_arr(7, S("no-slash"), S("1"), S("UPPER/r1"), mk(REDIS_REPLY_NIL), S("a/b"), S("a/c"),
               S("a/d"));
    assert_int_equal(agg_store_parse_sweep_reply(r, ex, 2), 2);
    assert_string_equal(ex[0].rfq_id, "b");
    assert_string_equal(ex[1].rfq_id, "c");
    freeReplyObject(r);

    r = mk_arr_of(0, NULL);
    assert_int_equal(agg_store_parse_sweep_reply(r, ex, 4), 0);
    freeReplyObject(r);
    r = mk_str(REDIS_REPLY_ERROR, "ERR boom");
    assert_int_equal(agg_store_parse_sweep_reply(r, ex, 4), -1);
    freeReplyObject(r);
    assert_int_equal(agg_store_parse_sweep_reply(NULL, ex, 4), -1);
}

/* Without a connection nothing is sent and every item is marked for retry. */
static void test_add_quotes_no_connection(void **state)
{
    (void)state;
    struct rfq_quote q = priced("u1", 1, 1);
    struct agg_store_item items[2] = {
        {.tenant = "acme", .rfq_id = "r1", .quote = &q, .json = "{}", .json_len = 2},
        {.tenant = "acme", .rfq_id = "r1", .quote = &q, .json = "{}", .json_len = 2},
    };
    assert_int_equal(agg_store_add_quotes(NULL, items, 2, 1), RFQ_EREDIS);
    assert_int_equal(items[0].result.outcome, AGG_OUT_RETRY);
    assert_int_equal(items[1].result.outcome, AGG_OUT_RETRY);
    struct agg_best_req best[1] = {{"acme", "r1", (char *)1}};
    assert_int_equal(agg_store_best_quotes(NULL, best, 1), RFQ_EREDIS);
    assert_null(best[0].best_json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_reply_outcomes), cmocka_unit_test(test_add_reply_shapes),
        cmocka_unit_test(test_add_reply_errors),   cmocka_unit_test(test_outcome_names),
        cmocka_unit_test(test_add_args),           cmocka_unit_test(test_add_args_answer),
        cmocka_unit_test(test_sweep_reply),        cmocka_unit_test(test_add_quotes_no_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
