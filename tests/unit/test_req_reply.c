/* Unit tests of req_reply: JSON error bodies, status mapping, headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "req_reply.h"

/* Parse the reply body and check it is {"error":{"code":code,"message":message}}. */
static void assert_error_body(const struct req_reply *r, const char *code, const char *message)
{
    json_error_t jerr;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 1);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_object(e));
    assert_int_equal(json_object_size(e), 2);
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_string_equal(json_string_value(json_object_get(e, "message")), message);
    json_decref(j);
}

static void test_error_codes(void **state)
{
    static const struct {
        int status;
        const char *code;
    } cases[] = {{400, "bad_request"},       {401, "unauthorized"},
                 {404, "not_found"},         {405, "method_not_allowed"},
                 {413, "payload_too_large"}, {415, "unsupported_media_type"},
                 {503, "unavailable"},       {500, "internal"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct req_reply r;
        req_reply_init(&r);
        req_reply_error(&r, cases[i].status, "why %d", cases[i].status);
        assert_int_equal(r.status, cases[i].status);
        char msg[32];
        snprintf(msg, sizeof(msg), "why %d", cases[i].status);
        assert_error_body(&r, cases[i].code, msg);
        if (cases[i].status == 401)
            assert_non_null(req_reply_header_get(&r, "www-authenticate"));
        else
            assert_null(req_reply_header_get(&r, "WWW-Authenticate"));
        req_reply_clear(&r);
    }
}

static void test_message_is_escaped(void **state)
{
    struct req_reply r;
    req_reply_init(&r);
    req_reply_error(&r, 400, "bad \"quote\" and\nnewline \\ %s", "x");
    assert_error_body(&r, "bad_request", "bad \"quote\" and\nnewline \\ x");
    assert_null(memchr(r.body, '\n', r.body_len));
    req_reply_clear(&r);
}

static void test_status_mapping(void **state)
{
    assert_int_equal(req_http_status_of(RFQ_OK), 200);
    assert_int_equal(req_http_status_of(RFQ_EINVAL), 400);
    assert_int_equal(req_http_status_of(RFQ_EAUTH), 401);
    assert_int_equal(req_http_status_of(RFQ_ENOTFOUND), 404);
    assert_int_equal(req_http_status_of(RFQ_ETOOBIG), 413);
    assert_int_equal(req_http_status_of(RFQ_EREDIS), 503);
    assert_int_equal(req_http_status_of(RFQ_ENATS), 503);
    assert_int_equal(req_http_status_of(RFQ_ETIMEOUT), 503);
    assert_int_equal(req_http_status_of(RFQ_ENOMEM), 500);
}

static void test_headers(void **state)
{
    struct req_reply r;
    req_reply_init(&r);
    req_reply_header(&r, "Location", "/v1/rfqs/%s", "abc");
    req_reply_header(&r, "X-Evil", "a\r\nSet-Cookie: x");
    assert_string_equal(req_reply_header_get(&r, "location"), "/v1/rfqs/abc");
    assert_null(strpbrk(req_reply_header_get(&r, "X-Evil"), "\r\n"));
    for (int i = 0; i < 10; i++)
        req_reply_header(&r, "X-More", "%d", i);
    assert_int_equal(r.n_headers, REQ_REPLY_HEADERS_MAX);
    req_reply_json(&r, 202, json_pack("{s:s}", "rfq_id", "abc"));
    assert_int_equal(r.status, 202);
    assert_string_equal(r.body, "{\"rfq_id\":\"abc\"}");
    req_reply_clear(&r);
    assert_null(r.body);
}

static void test_links(void **state)
{
    json_t *l = req_links_json("abc");
    assert_string_equal(json_string_value(json_object_get(l, "self")), "/v1/rfqs/abc");
    assert_string_equal(json_string_value(json_object_get(l, "quotes")), "/v1/rfqs/abc/quotes");
    assert_string_equal(json_string_value(json_object_get(l, "events")), "/v1/rfqs/abc/events");
    json_decref(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_codes),    cmocka_unit_test(test_message_is_escaped),
        cmocka_unit_test(test_status_mapping), cmocka_unit_test(test_headers),
        cmocka_unit_test(test_links),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
