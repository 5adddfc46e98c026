/* Unit tests of req_route: path table, id validation, method handling, content types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "req_route.h"

static void check(const char *method, const char *path, enum req_route_id id, int status)
{
    struct req_route r;
    req_route_match(&r, method, path);
    assert_int_equal(r.id, id);
    assert_int_equal(r.status, status);
}

static void test_known_paths(void **state)
{
    check("GET", "/healthz", REQ_ROUTE_HEALTH, 0);
    check("GET", "/v1/rfqs", REQ_ROUTE_RFQS, 0);
    check("POST", "/v1/rfqs", REQ_ROUTE_RFQS, 0);
    check("GET", "/v1/rfqs/abc-123_X", REQ_ROUTE_RFQ, 0);
    check("HEAD", "/v1/rfqs/abc", REQ_ROUTE_RFQ, 0);
    check("GET", "/v1/rfqs/abc/quotes", REQ_ROUTE_QUOTES, 0);
    check("GET", "/v1/rfqs/abc/events", REQ_ROUTE_EVENTS, 0);
    struct req_route r;
    req_route_match(&r, "GET", "/v1/rfqs/0f8e2b0c-1111-4222-8333-944445555666/quotes");
    assert_string_equal(r.rfq_id, "0f8e2b0c-1111-4222-8333-944445555666");
}

static void test_unknown_paths(void **state)
{
    check("GET", "/", REQ_ROUTE_NONE, 404);
    check("GET", "/v1", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqsx", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/abc/", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/abc/other", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/abc/quotes/x", REQ_ROUTE_NONE, 404);
    check("GET", "/healthz/", REQ_ROUTE_NONE, 404);
    check("GET", "", REQ_ROUTE_NONE, 404);
    check("GET", NULL, REQ_ROUTE_NONE, 404);
    /* Unknown paths are 404 whatever the method. */
    check("DELETE", "/nope", REQ_ROUTE_NONE, 404);
}

static void test_bad_ids_are_not_found(void **state)
{
    check("GET", "/v1/rfqs/..", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/../quotes", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/../../etc/passwd", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/a.b", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/a b", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/a*", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/{x}", REQ_ROUTE_NONE, 404);
    check("GET", "/v1/rfqs/a:b", REQ_ROUTE_NONE, 404);
    char path[200] = "/v1/rfqs/";
    memset(path + 9, 'a', 65);
    path[9 + 65] = '\0';
    check("GET", path, REQ_ROUTE_NONE, 404);
    path[9 + 64] = '\0';
    check("GET", path, REQ_ROUTE_RFQ, 0);
}

static void test_methods(void **state)
{
    struct req_route r;
    req_route_match(&r, "DELETE", "/v1/rfqs");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD, POST");
    req_route_match(&r, "POST", "/v1/rfqs/abc");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET, HEAD");
    req_route_match(&r, "PUT", "/healthz");
    assert_int_equal(r.status, 405);
    req_route_match(&r, "HEAD", "/v1/rfqs/abc/events");
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "GET");
    req_route_match(&r, "get", "/v1/rfqs");
    assert_int_equal(r.status, 405); /* methods are case-sensitive */
    assert_int_equal(req_method_parse("POST"), REQ_METHOD_POST);
    assert_int_equal(req_method_parse(NULL), REQ_METHOD_OTHER);
}

static void test_content_type(void **state)
{
    assert_true(req_content_type_is_json("application/json"));
    assert_true(req_content_type_is_json("Application/JSON"));
    assert_true(req_content_type_is_json("application/json; charset=utf-8"));
    assert_true(req_content_type_is_json("  application/json ;charset=utf-8"));
    assert_false(req_content_type_is_json(NULL));
    assert_false(req_content_type_is_json(""));
    assert_false(req_content_type_is_json("text/plain"));
    assert_false(req_content_type_is_json("application/jsonx"));
    assert_false(req_content_type_is_json("application/json-patch+json"));
    assert_false(req_content_type_is_json("application/x-www-form-urlencoded"));
}

static void unescape(const char *in, const char *want)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", in);
    size_t n = req_url_unescape(buf);
    assert_int_equal(n, strlen(want));
    assert_string_equal(buf, want);
}

static void test_unescape(void **state)
{
    unescape("/v1/rfqs/abc", "/v1/rfqs/abc");
    unescape("/v1/rfqs/%2e%2E", "/v1/rfqs/..");
    unescape("a%2fb", "a/b");
    unescape("a%00b", "a%00b"); /* a NUL never hides the rest */
    unescape("a%0", "a%0");
    unescape("a%zz", "a%zz");
    unescape("%", "%");
    unescape("100%25", "100%");
    unescape("", "");
    struct req_route r;
    char path[] = "/v1/rfqs/a%00b";
    req_url_unescape(path);
    req_route_match(&r, "GET", path);
    assert_int_equal(r.status, 404);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_paths),           cmocka_unit_test(test_unknown_paths),
        cmocka_unit_test(test_bad_ids_are_not_found), cmocka_unit_test(test_methods),
        cmocka_unit_test(test_content_type),          cmocka_unit_test(test_unescape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
