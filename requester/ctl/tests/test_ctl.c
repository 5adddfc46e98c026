/* test_ctl: the pure helpers of rfqctl: argument parsing, output formatting, SSE framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void test_parse_int(void **state)
{
    long long v = -1;
    assert_true(ctl_parse_int("0", 0, 10, &v));
    assert_int_equal(v, 0);
    assert_true(ctl_parse_int("100", 1, 100, &v));
    assert_int_equal(v, 100);
    assert_true(ctl_parse_int("-5", -10, 10, &v));
    static const char *const bad[] = {"",   "101", "0",   "1x",   "x1",
                                      " 1", "1 ",  "1.0", "0x10", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(ctl_parse_int(bad[i], 1, 100, &v));
    assert_false(ctl_parse_int(NULL, 1, 100, &v));
}

static void test_parse_point(void **state)
{
    double lat = 0, lon = 0;
    assert_true(ctl_parse_point("48.8566,2.3522", &lat, &lon));
    assert_true(lat == 48.8566 && lon == 2.3522);
    assert_true(ctl_parse_point("-90,-180", &lat, &lon));
    assert_true(lat == -90 && lon == -180);
    assert_true(ctl_parse_point("90,180", &lat, &lon));
    assert_true(ctl_parse_point("4.5e1,-1E-3", &lat, &lon));
    assert_true(lat == 45 && lon == -0.001);
    static const char *const bad[] = {"",     ",",        "1",     "1,",    ",1",      "1,2,3",
                                      "91,0", "0,180.01", "nan,1", "1,inf", "0x10,1",  "1 ,2",
                                      "1, 2", "a,b",      "1;2",   "--1,2", "1e999,1", "1,2 "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ctl_parse_point(bad[i], &lat, &lon))
            print_error("\"%s\" accepted\n", bad[i]);
        assert_false(ctl_parse_point(bad[i], &lat, &lon));
    }
    assert_false(ctl_parse_point(NULL, &lat, &lon));
}

static void test_parse_list(void **state)
{
    json_t *a = ctl_parse_list("free_drinks,quiet_ride");
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(json_string_value(json_array_get(a, 1)), "quiet_ride");
    json_decref(a);
    a = ctl_parse_list("one");
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    a = ctl_parse_list("");
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    assert_null(ctl_parse_list("a,,b"));
    assert_null(ctl_parse_list("a,"));
    assert_null(ctl_parse_list(",a"));
    assert_null(ctl_parse_list("caf\xe9")); /* not UTF-8 */
}

static void test_set_api(void **state)
{
    struct ctl_global g = {.api = "unset"};
    char buf[64];
    assert_true(ctl_set_api(&g, "http://127.0.0.1:8080", buf, sizeof(buf)));
    assert_string_equal(g.api, "http://127.0.0.1:8080");
    assert_true(ctl_set_api(&g, "https://api.example.com/base///", buf, sizeof(buf)));
    assert_string_equal(g.api, "https://api.example.com/base");
    assert_true(ctl_set_api(&g, "HTTP://h/", buf, sizeof(buf)));
    assert_string_equal(g.api, "HTTP://h");
    static const char *const bad[] = {
        "",           "127.0.0.1:8080",   "ftp://h",   "file:///etc/passwd",
        "http://h x", "http://h\r\nX: y", "gopher://h"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(ctl_set_api(&g, bad[i], buf, sizeof(buf)));
    assert_false(ctl_set_api(&g, NULL, buf, sizeof(buf)));
    char tiny[8];
    assert_false(ctl_set_api(&g, "http://long-host", tiny, sizeof(tiny)));
}

static void test_format(void **state)
{
    char b[64];
    ctl_format_money(b, sizeof(b), 1250, "USD");
    assert_string_equal(b, "12.50");
    ctl_format_money(b, sizeof(b), 5, "EUR");
    assert_string_equal(b, "0.05");
    ctl_format_money(b, sizeof(b), 0, "USD");
    assert_string_equal(b, "0.00");
    ctl_format_money(b, sizeof(b), 1250, "JPY");
    assert_string_equal(b, "1250");
    ctl_format_money(b, sizeof(b), 1250, "KWD");
    assert_string_equal(b, "1.250");
    ctl_format_money(b, sizeof(b), -1250, "USD");
    assert_string_equal(b, "-12.50");
    ctl_format_money(b, sizeof(b), 1000000000000LL, NULL);
    assert_string_equal(b, "10000000000.00");
    ctl_format_money(b, sizeof(b), INT64_MIN, "USD");
    assert_string_equal(b, "-92233720368547758.08");

    ctl_format_eta(b, sizeof(b), 0);
    assert_string_equal(b, "0s");
    ctl_format_eta(b, sizeof(b), 59);
    assert_string_equal(b, "59s");
    ctl_format_eta(b, sizeof(b), 60);
    assert_string_equal(b, "1m00s");
    ctl_format_eta(b, sizeof(b), 3725);
    assert_string_equal(b, "1h02m05s");
    ctl_format_eta(b, sizeof(b), -1);
    assert_string_equal(b, "-");

    ctl_format_time(b, sizeof(b), 1760000000000LL);
    assert_string_equal(b, "2025-10-09 08:53:20");
    ctl_format_time(b, sizeof(b), 0);
    assert_string_equal(b, "-");
}

/* Collected events, "name=data" joined by '|'. */
struct events {
    char text[1024];
    int stop_after; /* return false on this event number (1-based), 0 = never */
    int n;
};

static bool collect_event(void *arg, const char *event, const char *data)
{
    struct events *e = arg;
    size_t used = strlen(e->text);
    snprintf(e->text + used, sizeof(e->text) - used, "%s%s=%s", used ? "|" : "", event, data);
    e->n++;
    return e->stop_after == 0 || e->n < e->stop_after;
}

static bool feed(struct ctl_sse *s, struct events *e, const char *line)
{
    return ctl_sse_line(s, line, strlen(line), collect_event, e);
}

static void test_sse(void **state)
{
    struct ctl_sse s;
    struct events e = {.text = ""};
    ctl_sse_init(&s);
    static const char *const lines[] = {
        ": ping",
        "", /* a comment alone dispatches nothing */
        "event: quote",
        "data: {\"a\":1}",
        "", /* one event */
        "data:x",
        "data: y",
        "", /* no name: message, two data lines */
        "event: empty",
        "", /* no data: not dispatched */
        "event:done",
        "id: 7",
        "retry: 10",
        "data",
        "", /* "data" alone is an empty data line */
        "event: quote",
        "data:  two",
        "", /* only one space is stripped */
    };
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        assert_true(feed(&s, &e, lines[i]));
    assert_string_equal(e.text, "quote={\"a\":1}|message=x\ny|done=|quote= two");
    ctl_sse_free(&s);

    /* the callback's false stops the stream */
    struct events stop = {.text = "", .stop_after = 1};
    ctl_sse_init(&s);
    assert_true(feed(&s, &stop, "event: completed"));
    assert_true(feed(&s, &stop, "data: {}"));
    assert_false(feed(&s, &stop, ""));
    ctl_sse_free(&s);

    /* long data accumulates */
    ctl_sse_init(&s);
    struct events big = {.text = ""};
    char line[700];
    memset(line, 'x', sizeof(line) - 1);
    memcpy(line, "data: ", 6);
    line[sizeof(line) - 1] = '\0';
    for (int i = 0; i < 50; i++)
        assert_true(feed(&s, &big, line));
    assert_int_equal(s.len, 50 * (sizeof(line) - 7) + 49);
    ctl_sse_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_int),  cmocka_unit_test(test_parse_point),
        cmocka_unit_test(test_parse_list), cmocka_unit_test(test_set_api),
        cmocka_unit_test(test_format),     cmocka_unit_test(test_sse),
    };
    return cmocka_run_group_tests_name("ctl", tests, NULL, NULL);
}
