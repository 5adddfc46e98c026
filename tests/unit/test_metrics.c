/* test_metrics: the Prometheus text of every process (format, names, values), listening
 * address parsing, and RFQ_METRICS_ADDR checked at start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agg_metrics.h"
#include "req_metrics.h"
#include "rfq_cfg.h"
#include "rfq_metrics.h"
#include "rfq_metrics_http.h"
#include "rsp_metrics.h"

/* The value of the sample line that starts with "<series> " in text, or -1 when absent. */
static double sample_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

/* Every sample line belongs to a family declared before it by "# TYPE", every family has a
 * "# HELP", and every line ends with a newline. Returns the number of samples. */
static int check_exposition(const char *text)
{
    int samples = 0;
    char family[128] = "", type[16] = "";
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t len = (size_t)(nl - p);
        char line[512];
        assert_true(len < sizeof(line));
        memcpy(line, p, len);
        line[len] = '\0';
        if (strncmp(line, "# HELP ", 7) == 0) {
            assert_true(strlen(line) > 8);
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(line + 7, "%127s %15s", family, type), 2);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
        } else {
            size_t fl = strlen(family);
            assert_true(fl > 0);
            assert_memory_equal(line, family, fl);
            const char *rest = line + fl;
            if (strcmp(type, "histogram") == 0)
                for (const char *const *sfx =
                         (const char *const[]){"_bucket", "_sum", "_count", NULL};
                     *sfx; sfx++)
                    if (strncmp(rest, *sfx, strlen(*sfx)) == 0)
                        rest += strlen(*sfx);
            assert_true(*rest == ' ' || *rest == '{');
            const char *v = strrchr(line, ' ');
            char *end = NULL;
            strtod(v + 1, &end);
            assert_true(end && *end == '\0');
            samples++;
        }
        p = nl + 1;
    }
    return samples;
}

static void test_format(void **state)
{
    (void)state;
    struct rfq_strbuf o = {0};
    rfq_metrics_counter(&o, "rfq_x_total", "Things.", 18446744073709551615ULL);
    rfq_metrics_gauge(&o, "rfq_y", "A level.", 2.5);
    rfq_metrics_family(&o, "rfq_z_total", "counter", "By kind.");
    rfq_metrics_sample(&o, "rfq_z_total", "kind", "a\"b\\c\nd", 3);
    rfq_metrics_sample_labels(&o, "rfq_z_total", "kind=\"e\",more=\"f\"", 4);
    assert_false(o.failed);
    assert_string_equal(o.p, "# HELP rfq_x_total Things.\n# TYPE rfq_x_total counter\n"
                             "rfq_x_total 18446744073709551615\n"
                             "# HELP rfq_y A level.\n# TYPE rfq_y gauge\nrfq_y 2.5\n"
                             "# HELP rfq_z_total By kind.\n# TYPE rfq_z_total counter\n"
                             "rfq_z_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n"
                             "rfq_z_total{kind=\"e\",more=\"f\"} 4\n");
    assert_int_equal(check_exposition(o.p), 4);
    rfq_strbuf_free(&o);
    assert_null(o.p);
}

static void test_histogram(void **state)
{
    (void)state;
    const double bounds[3] = {0.01, 0.1, 1};
    assert_int_equal(rfq_metrics_bucket(bounds, 3, 0), 0);
    assert_int_equal(rfq_metrics_bucket(bounds, 3, 0.01), 0); /* le: at the bound is inside */
    assert_int_equal(rfq_metrics_bucket(bounds, 3, 0.0100001), 1);
    assert_int_equal(rfq_metrics_bucket(bounds, 3, 1), 2);
    assert_int_equal(rfq_metrics_bucket(bounds, 3, 7), 3);
    const uint64_t counts[4] = {2, 0, 5, 1};
    struct rfq_strbuf o = {0};
    rfq_metrics_histogram(&o, "rfq_t_seconds", "Times.", bounds, 3, counts, 4.25);
    assert_string_equal(o.p, "# HELP rfq_t_seconds Times.\n# TYPE rfq_t_seconds histogram\n"
                             "rfq_t_seconds_bucket{le=\"0.01\"} 2\n"
                             "rfq_t_seconds_bucket{le=\"0.1\"} 2\n"
                             "rfq_t_seconds_bucket{le=\"1\"} 7\n"
                             "rfq_t_seconds_bucket{le=\"+Inf\"} 8\n"
                             "rfq_t_seconds_sum 4.25\nrfq_t_seconds_count 8\n");
    assert_int_equal(check_exposition(o.p), 6);
    rfq_strbuf_free(&o);
}

static void test_growth(void **state)
{
    (void)state;
    struct rfq_strbuf o = {0};
    for (int i = 0; i < 2000; i++)
        rfq_metrics_counter(&o, "rfq_many_total", "Grows the buffer past several doublings.",
                            (uint64_t)i);
    assert_false(o.failed);
    assert_int_equal(check_exposition(o.p), 2000);
    assert_int_equal(strlen(o.p), o.len);
    rfq_strbuf_free(&o);
}

static void test_process(void **state)
{
    (void)state;
    void *keep = malloc(1 << 20);
    memset(keep, 1, 1 << 20);
    struct rfq_strbuf o = {0};
    rfq_metrics_process(&o);
    check_exposition(o.p);
    assert_true(sample_of(o.p, "process_resident_memory_bytes") > 1 << 20);
    assert_true(sample_of(o.p, "process_virtual_memory_bytes") >=
                sample_of(o.p, "process_resident_memory_bytes"));
    assert_true(sample_of(o.p, "process_cpu_seconds_total") >= 0);
    assert_true(sample_of(o.p, "process_open_fds") >= 3);
    assert_true(sample_of(o.p, "process_threads") >= 1);
    assert_true(sample_of(o.p, "process_start_time_seconds") > 1.6e9);
    assert_true(sample_of(o.p, "rfq_heap_in_use_bytes") >= 0);
    rfq_strbuf_free(&o);
    free(keep);
}

static void test_aggregator(void **state)
{
    (void)state;
    struct agg_metrics_view v = {.batches = {.msgs = 10,
                                             .answers = 40,
                                             .stored = 30,
                                             .completed = 7,
                                             .declined = 5,
                                             .duplicates = 2,
                                             .surplus = 1,
                                             .dead_lettered = 2,
                                             .retried = 3,
                                             .repaired = 1,
                                             .completion_buckets = {[3] = 4, [5] = 2, [12] = 1},
                                             .completion_ms_sum = 40500},
                                 .expired = 4,
                                 .fetch_loops = 2};
    struct rfq_strbuf o = {0};
    agg_metrics_render(&o, &v);
    check_exposition(o.p);
    assert_true(sample_of(o.p, "rfq_aggregator_messages_total") == 10);
    assert_true(sample_of(o.p, "rfq_aggregator_answers_total") == 40);
    assert_true(sample_of(o.p, "rfq_aggregator_quotes_stored_total") == 30);
    assert_true(sample_of(o.p, "rfq_aggregator_declines_stored_total") == 5);
    assert_true(sample_of(o.p, "rfq_aggregator_rfqs_completed_total") == 7);
    assert_true(sample_of(o.p, "rfq_aggregator_rfqs_expired_total") == 4);
    assert_true(sample_of(o.p, "rfq_aggregator_duplicates_total") == 2);
    assert_true(sample_of(o.p, "rfq_aggregator_surplus_total") == 1);
    assert_true(sample_of(o.p, "rfq_aggregator_dead_lettered_total") == 2);
    assert_true(sample_of(o.p, "rfq_aggregator_retried_total") == 3);
    assert_true(sample_of(o.p, "rfq_aggregator_completed_republished_total") == 1);
    assert_true(sample_of(o.p, "rfq_aggregator_fetch_loops") == 2);
    assert_true(sample_of(o.p, "rfq_aggregator_completion_seconds_bucket{le=\"0.025\"}") == 0);
    assert_true(sample_of(o.p, "rfq_aggregator_completion_seconds_bucket{le=\"0.05\"}") == 4);
    assert_true(sample_of(o.p, "rfq_aggregator_completion_seconds_bucket{le=\"0.25\"}") == 6);
    assert_true(sample_of(o.p, "rfq_aggregator_completion_seconds_bucket{le=\"30\"}") == 6);
    assert_true(sample_of(o.p, "rfq_aggregator_completion_seconds_bucket{le=\"+Inf\"}") == 7);
    assert_true(sample_of(o.p, "rfq_aggregator_completion_seconds_count") == 7);
    assert_true(sample_of(o.p, "rfq_aggregator_completion_seconds_sum") == 40.5);
    assert_true(sample_of(o.p, "process_resident_memory_bytes") > 0);
    rfq_strbuf_free(&o);
}

static void test_responder(void **state)
{
    (void)state;
    struct rsp_agent_stats s = {.received = 9,
                                .bad = 1,
                                .expired = 2,
                                .unrouted = 3,
                                .quotes = 20,
                                .declines = 4,
                                .no_answer = 5,
                                .invalid = 6,
                                .late = 7,
                                .shed = 8,
                                .cancelled = 11,
                                .send_errors = 12,
                                .acked = 24,
                                .duplicates = 13,
                                .ack_errors = 14,
                                .retries = 15,
                                .dead_lettered = 16,
                                .dlq_dropped = 17};
    struct rfq_strbuf o = {0};
    rsp_metrics_render(&o, &s, 10);
    check_exposition(o.p);
    assert_true(sample_of(o.p, "rfq_responder_rfqs_received_total") == 9);
    assert_true(sample_of(o.p, "rfq_responder_rfqs_refused_total") == 1);
    assert_true(sample_of(o.p, "rfq_responder_rfqs_expired_total") == 2);
    assert_true(sample_of(o.p, "rfq_responder_rfqs_unrouted_total") == 3);
    assert_true(sample_of(o.p, "rfq_responder_answers_total{kind=\"quote\"}") == 20);
    assert_true(sample_of(o.p, "rfq_responder_answers_total{kind=\"decline\"}") == 4);
    assert_true(sample_of(o.p, "rfq_responder_answers_dropped_total{reason=\"no_answer\"}") == 5);
    assert_true(sample_of(o.p, "rfq_responder_answers_dropped_total{reason=\"invalid\"}") == 6);
    assert_true(sample_of(o.p, "rfq_responder_answers_dropped_total{reason=\"late\"}") == 7);
    assert_true(sample_of(o.p, "rfq_responder_answers_dropped_total{reason=\"shed\"}") == 8);
    assert_true(sample_of(o.p, "rfq_responder_answers_dropped_total{reason=\"cancelled\"}") == 11);
    assert_true(sample_of(o.p, "rfq_responder_send_errors_total") == 12);
    assert_true(sample_of(o.p, "rfq_responder_pubacks_total") == 24);
    assert_true(sample_of(o.p, "rfq_responder_puback_duplicates_total") == 13);
    assert_true(sample_of(o.p, "rfq_responder_puback_errors_total") == 14);
    assert_true(sample_of(o.p, "rfq_responder_resends_total") == 15);
    assert_true(sample_of(o.p, "rfq_responder_dead_lettered_total") == 16);
    assert_true(sample_of(o.p, "rfq_responder_dlq_dropped_total") == 17);
    assert_true(sample_of(o.p, "rfq_responder_unicorns") == 10);
    rfq_strbuf_free(&o);
}

static void test_requester(void **state)
{
    (void)state;
    static struct req_metrics m; /* zeroed atomics */
    struct req_route post, get, quotes, none;
    req_route_match(&post, "POST", "/v1/rfqs");
    req_route_match(&get, "GET", "/v1/rfqs");
    req_route_match(&quotes, "GET", "/v1/rfqs/abc/quotes");
    req_route_match(&none, "GET", "/nowhere");
    assert_int_equal(req_metrics_route_of(&post, false), REQ_METRICS_SUBMIT);
    assert_int_equal(req_metrics_route_of(&get, false), REQ_METRICS_LIST);
    assert_int_equal(req_metrics_route_of(&quotes, false), REQ_METRICS_QUOTES);
    assert_int_equal(req_metrics_route_of(&none, false), REQ_METRICS_OTHER);
    assert_int_equal(req_metrics_route_of(&none, true), REQ_METRICS_DASHBOARD);
    for (int i = 0; i < 3; i++)
        req_metrics_count_http(&m, REQ_METRICS_SUBMIT, 202);
    req_metrics_count_http(&m, REQ_METRICS_SUBMIT, 400);
    req_metrics_count_http(&m, REQ_METRICS_OTHER, 404);
    req_metrics_count_http(&m, REQ_METRICS_LIST, 418);
    req_metrics_count_http(&m, REQ_METRICS_LIST, 599);
    req_metrics_count_http(&m, (enum req_metrics_route)99, 200);
    req_metrics_count_nats_submit(&m, 202);
    req_metrics_count_nats_submit(&m, 429);
    req_metrics_count_nats_submit(&m, 429);
    struct req_metrics_gauges g = {.event_streams = 3,
                                   .shed_backlog = true,
                                   .backlog = 1234,
                                   .nats_ok = true,
                                   .redis_ok = false};
    struct rfq_strbuf o = {0};
    req_metrics_render(&o, &m, &g);
    check_exposition(o.p);
    const char *h = "rfq_requester_http_responses_total";
    char series[128];
    snprintf(series, sizeof(series), "%s{route=\"submit\",status=\"202\"}", h);
    assert_true(sample_of(o.p, series) == 3);
    snprintf(series, sizeof(series), "%s{route=\"submit\",status=\"400\"}", h);
    assert_true(sample_of(o.p, series) == 1);
    snprintf(series, sizeof(series), "%s{route=\"other\",status=\"404\"}", h);
    assert_true(sample_of(o.p, series) == 1);
    snprintf(series, sizeof(series), "%s{route=\"list\",status=\"other\"}", h);
    assert_true(sample_of(o.p, series) == 2);
    snprintf(series, sizeof(series), "%s{route=\"other\",status=\"200\"}", h);
    assert_true(sample_of(o.p, series) == 1);
    snprintf(series, sizeof(series), "%s{route=\"list\",status=\"200\"}", h);
    assert_true(sample_of(o.p, series) == -1); /* zero samples are left out */
    assert_true(sample_of(o.p, "rfq_requester_nats_submits_total{status=\"202\"}") == 1);
    assert_true(sample_of(o.p, "rfq_requester_nats_submits_total{status=\"429\"}") == 2);
    assert_true(sample_of(o.p, "rfq_requester_event_streams") == 3);
    assert_true(sample_of(o.p, "rfq_requester_shedding{cause=\"backlog\"}") == 1);
    assert_true(sample_of(o.p, "rfq_requester_shedding{cause=\"redis\"}") == 0);
    assert_true(sample_of(o.p, "rfq_requester_quote_backlog") == 1234);
    assert_true(sample_of(o.p, "rfq_requester_dependency_up{dependency=\"nats\"}") == 1);
    assert_true(sample_of(o.p, "rfq_requester_dependency_up{dependency=\"redis\"}") == 0);
    rfq_strbuf_free(&o);

    g.backlog = -1; /* unknown: no sample rather than a made-up one */
    req_metrics_render(&o, &m, &g);
    assert_true(sample_of(o.p, "rfq_requester_quote_backlog") == -1);
    rfq_strbuf_free(&o);
}

static void render_two(struct rfq_strbuf *o, void *ud)
{
    int *calls = ud;
    (*calls)++;
    rfq_metrics_counter(o, "rfq_test_total", "Scrapes so far.", (uint64_t)*calls);
}

/* One HTTP/1.0 exchange with 127.0.0.1:port; the whole answer (new). */
static char *http_exchange(int port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    ssize_t n;
    while ((n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    buf[len] = '\0';
    return buf;
}

static void test_server(void **state)
{
    (void)state;
    int calls = 0;
    rfq_metrics_http *m = NULL;
    assert_int_equal(rfq_metrics_http_start(&m, "127.0.0.1:0", "test", render_two, &calls), RFQ_OK);
    int port = rfq_metrics_http_port(m);
    assert_true(port > 0);

    char *a = http_exchange(port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, "HTTP/1.0 200") ? a : strstr(a, "HTTP/1.1 200"));
    assert_non_null(strstr(a, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    assert_non_null(strstr(a, "\r\n\r\n# HELP rfq_test_total Scrapes so far.\n"));
    assert_non_null(strstr(a, "rfq_test_total 1\n"));
    free(a);
    a = http_exchange(port, "GET /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, "rfq_test_total 2\n"));
    free(a);

    a = http_exchange(port, "GET /other HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 404 "));
    assert_non_null(strstr(a, "{\"error\":{\"code\":\"not_found\""));
    free(a);
    a = http_exchange(port, "DELETE /metrics HTTP/1.0\r\n\r\n");
    assert_non_null(strstr(a, " 405 "));
    assert_non_null(strstr(a, "Allow: GET, HEAD"));
    free(a);
    a = http_exchange(port, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
    assert_non_null(strstr(a, " 405 "));
    free(a);
    assert_int_equal(calls, 2); /* refusals never render */

    /* The address is taken now: a second server cannot start there. */
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    rfq_metrics_http *second = NULL;
    assert_int_equal(rfq_metrics_http_start(&second, addr, "test", render_two, &calls), RFQ_EIO);
    assert_null(second);
    assert_int_equal(rfq_metrics_http_start(&second, "nohost", "test", render_two, &calls),
                     RFQ_EINVAL);
    assert_int_equal(rfq_metrics_http_start(&second, "example.org:1", "test", render_two, &calls),
                     RFQ_EINVAL); /* numeric hosts only: nothing resolves at start */
    rfq_metrics_http_stop(m);
    rfq_metrics_http_stop(NULL);
}

static void test_listen_addr(void **state)
{
    (void)state;
    char host[64];
    int port = -1;
    assert_int_equal(rfq_parse_listen_addr("127.0.0.1:9102", host, sizeof(host), &port), RFQ_OK);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9102);
    assert_int_equal(rfq_parse_listen_addr("[::1]:0", host, sizeof(host), &port), RFQ_OK);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(rfq_parse_listen_addr(":80", host, sizeof(host), &port), RFQ_OK);
    assert_string_equal(host, "0.0.0.0");
    const char *bad[] = {"",      "127.0.0.1", "127.0.0.1:", "h:65536", "h:-1",
                         "h:12x", "[::1]80",   "[::1",       NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(rfq_parse_listen_addr(bad[i], host, sizeof(host), &port), RFQ_EINVAL);
    assert_int_equal(rfq_parse_listen_addr(NULL, host, sizeof(host), &port), RFQ_EINVAL);
    assert_int_equal(rfq_parse_listen_addr("127.0.0.1:1", host, 4, &port), RFQ_EINVAL);
}

static void test_cfg_metrics_addr(void **state)
{
    (void)state;
    struct rfq_common_cfg c;
    unsetenv("RFQ_METRICS_ADDR");
    assert_int_equal(rfq_common_cfg_load(&c), RFQ_OK);
    assert_string_equal(c.metrics_addr, "");
    setenv("RFQ_METRICS_ADDR", "127.0.0.1:9103", 1);
    assert_int_equal(rfq_common_cfg_load(&c), RFQ_OK);
    assert_string_equal(c.metrics_addr, "127.0.0.1:9103");
    setenv("RFQ_METRICS_ADDR", "9103", 1); /* a port alone is refused at start, not later */
    assert_int_equal(rfq_common_cfg_load(&c), RFQ_EINVAL);
    unsetenv("RFQ_METRICS_ADDR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),           cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_growth),           cmocka_unit_test(test_process),
        cmocka_unit_test(test_aggregator),       cmocka_unit_test(test_responder),
        cmocka_unit_test(test_requester),        cmocka_unit_test(test_listen_addr),
        cmocka_unit_test(test_cfg_metrics_addr), cmocka_unit_test(test_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
