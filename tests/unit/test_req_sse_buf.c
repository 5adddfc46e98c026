/* Unit tests of req_sse_buf: SSE framing, buffering, dedupe, live-event translation and the
 * stored-state snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "req_sse_buf.h"

/* Take everything pending as a NUL-terminated string (caller frees). */
static char *take_all(struct req_sse_buf *b)
{
    size_t n = req_sse_buf_pending(b);
    char *s = malloc(n + 1);
    size_t got = 0;
    while (req_sse_buf_pending(b))
        got += req_sse_buf_take(b, s + got, 7); /* small chunks, like a short write */
    assert_int_equal(got, n);
    s[n] = '\0';
    return s;
}

static void test_framing(void **state)
{
    struct req_sse_buf b = {0};
    json_t *d = json_pack("{s:s,s:s}", "type", "quote", "text", "line1\nline2");
    assert_int_equal(req_sse_event(&b, "quote", d), RFQ_OK);
    assert_int_equal(req_sse_comment(&b, "ping"), RFQ_OK);
    assert_int_equal(req_sse_event(&b, "Bad-Name", d), RFQ_EINVAL);
    assert_int_equal(req_sse_event(&b, "", d), RFQ_EINVAL);
    char *s = take_all(&b);
    assert_string_equal(s, "event: quote\ndata: {\"type\":\"quote\",\"text\":\"line1\\nline2\"}\n\n"
                           ": ping\n\n");
    free(s);
    assert_int_equal(req_sse_buf_pending(&b), 0);
    json_decref(d);
    req_sse_buf_free(&b);
}

static void test_buffer_cap(void **state)
{
    struct req_sse_buf b = {0};
    char *big = malloc(64 * 1024);
    memset(big, 'x', 64 * 1024 - 1);
    big[64 * 1024 - 1] = '\0';
    json_t *d = json_pack("{s:s}", "x", big);
    int ok = 0;
    rfq_status st;
    while ((st = req_sse_event(&b, "quote", d)) == RFQ_OK)
        ok++;
    assert_int_equal(st, RFQ_ETOOBIG);
    assert_true(ok >= 15 && ok <= 16);
    assert_true(req_sse_buf_pending(&b) <= REQ_SSE_BUF_MAX);
    /* Nothing half-written: the buffer ends with a complete event. */
    assert_memory_equal(b.data + b.len - 2, "\n\n", 2);
    json_decref(d);
    free(big);
    req_sse_buf_free(&b);
}

static void test_seen(void **state)
{
    struct req_sse_seen s = {0};
    assert_true(req_sse_seen_add(&s, "a"));
    assert_true(req_sse_seen_add(&s, "b"));
    assert_false(req_sse_seen_add(&s, "a"));
    for (int i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof(id), "r%d", i);
        assert_true(req_sse_seen_add(&s, id));
    }
    assert_false(req_sse_seen_add(&s, "r50"));
    req_sse_seen_free(&s);
}

static void test_feed(void **state)
{
    struct req_sse_buf b = {0};
    struct req_sse_seen s = {0};
    const char *q1 = "{\"type\":\"quote\",\"rfq_id\":\"r\",\"tenant\":\"acme\",\"count\":1,"
                     "\"quote\":{\"responder_id\":\"u1\"}}";
    assert_int_equal(req_sse_feed(&b, &s, q1, strlen(q1)), REQ_SSE_QUOTE);
    assert_int_equal(req_sse_feed(&b, &s, q1, strlen(q1)), REQ_SSE_SKIP); /* duplicate */
    const char *bad[] = {"",
                         "not json",
                         "[]",
                         "{\"type\":1}",
                         "{\"type\":\"Quote\"}",
                         "{\"type\":\"quote\"}",
                         "{\"type\":\"quote\",\"quote\":{}}",
                         "{\"type\":\"quote\",\"quote\":{\"responder_id\":\"a b\"}}",
                         "{\"type\":\"quote\",\"type\":\"completed\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(req_sse_feed(&b, &s, bad[i], strlen(bad[i])), REQ_SSE_SKIP);
    const char *other = "{\"type\":\"awarded\",\"rfq_id\":\"r\"}";
    assert_int_equal(req_sse_feed(&b, &s, other, strlen(other)), REQ_SSE_OTHER);
    const char *fin = "{\"type\":\"completed\",\"rfq_id\":\"r\",\"status\":\"completed\","
                      "\"count\":1,\"best\":null}";
    assert_int_equal(req_sse_feed(&b, &s, fin, strlen(fin)), REQ_SSE_FINAL);
    const char *exp = "{\"type\":\"expired\"}";
    assert_int_equal(req_sse_feed(&b, &s, exp, strlen(exp)), REQ_SSE_FINAL);
    char *out = take_all(&b);
    assert_non_null(strstr(out, "event: quote\ndata: {\"type\":\"quote\""));
    assert_non_null(strstr(out, "event: awarded\n"));
    assert_non_null(strstr(out, "event: completed\ndata: "));
    assert_null(strstr(out, "event: quote\ndata: {\"type\":\"quote\",\"rfq_id\":\"r\",\"tenant\""
                            "\":\"acme\",\"count\":1,\"quote\":{\"responder_id\":\"u1\"}}\n\n"
                            "event: quote"));
    free(out);
    req_sse_buf_free(&b);
    req_sse_seen_free(&s);
}

static void test_state(void **state)
{
    struct req_sse_buf b = {0};
    struct req_sse_seen s = {0};
    json_t *arr = json_pack("[{s:s,s:i,s:i},{s:s,s:i,s:i}]", "responder_id", "u1", "rank", 2,
                            "arrival", 1, "responder_id", "u2", "rank", 1, "arrival", 2);
    /* Open: quotes only. */
    assert_int_equal(req_sse_state(&b, &s, "acme", "r", "open", 2, arr, NULL), REQ_SSE_SKIP);
    char *out = take_all(&b);
    assert_non_null(strstr(out, "\"count\":1,\"quote\":{\"responder_id\":\"u1\"}"));
    assert_non_null(strstr(out, "\"count\":2,\"quote\":{\"responder_id\":\"u2\"}"));
    assert_null(strstr(out, "rank"));
    free(out);
    /* Closed later: the quotes already sent are not repeated; the final event follows. */
    json_t *best = json_array_get(arr, 1);
    assert_int_equal(req_sse_state(&b, &s, "acme", "r", "expired", 2, arr, best), REQ_SSE_FINAL);
    out = take_all(&b);
    assert_null(strstr(out, "event: quote"));
    assert_non_null(strstr(out, "event: expired\ndata: {\"type\":\"expired\",\"rfq_id\":\"r\","
                                "\"tenant\":\"acme\",\"status\":\"expired\",\"count\":2,"
                                "\"best\":{\"responder_id\":\"u2\"}}\n\n"));
    free(out);
    struct req_sse_seen s2 = {0};
    assert_int_equal(req_sse_state(&b, &s2, "acme", "r", "completed", 0, NULL, NULL),
                     REQ_SSE_FINAL);
    out = take_all(&b);
    assert_non_null(strstr(out, "\"best\":null"));
    free(out);
    json_decref(arr);
    req_sse_buf_free(&b);
    req_sse_seen_free(&s);
    req_sse_seen_free(&s2);
}

/* Only completed and expired are final, and holding them queues nothing; anything
 * unparsable or other is not final. */
static void test_is_final(void **state)
{
    (void)state;
    const char *yes[] = {"{\"type\":\"completed\",\"rfq_id\":\"r1\"}",
                         "{\"rfq_id\":\"r1\",\"type\":\"expired\"}"};
    const char *no[] = {"{\"type\":\"quote\"}",
                        "{\"type\":\"Completed\"}",
                        "{\"type\":1}",
                        "{\"type\":\"completed\",\"type\":\"completed\"}",
                        "[\"completed\"]",
                        "not json",
                        ""};
    struct req_sse_buf b = {0};
    struct req_sse_seen s = {0};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        assert_true(req_sse_feed_hold_final(&b, &s, yes[i], strlen(yes[i])) == REQ_SSE_FINAL);
        assert_int_equal(b.len, 0);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(req_sse_feed_hold_final(&b, &s, no[i], strlen(no[i])) == REQ_SSE_FINAL);
    req_sse_buf_free(&b);
    req_sse_seen_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing), cmocka_unit_test(test_buffer_cap),
        cmocka_unit_test(test_seen),    cmocka_unit_test(test_feed),
        cmocka_unit_test(test_state),   cmocka_unit_test(test_is_final),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
