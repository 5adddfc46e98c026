/* Unit tests of req_read's pure parts: rank members, ranked quote lists, listing parameters
 * and the status body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "req_read.h"
#include "rfq_msg.h"

static void make_quote(struct rfq_quote *q, const char *resp, int64_t amount, int eta)
{
    memset(q, 0, sizeof(*q));
    strcpy(q->rfq_id, "r1");
    strcpy(q->responder_id, resp);
    q->amount_minor = amount;
    strcpy(q->currency, "USD");
    q->eta_s = eta;
}

static void test_rank_parse(void **state)
{
    struct rfq_quote q;
    make_quote(&q, "unicorn-7", 1250, 240);
    char m[RFQ_RANK_MEMBER_MAX];
    assert_int_equal(rfq_rank_member(m, sizeof(m), &q, 42), RFQ_OK);
    int64_t amount;
    int eta;
    uint64_t arrival;
    const char *resp;
    assert_int_equal(req_rank_parse(m, &amount, &eta, &arrival, &resp), RFQ_OK);
    assert_int_equal(amount, 1250);
    assert_int_equal(eta, 240);
    assert_int_equal(arrival, 42);
    assert_string_equal(resp, "unicorn-7");
    assert_int_equal(req_rank_parse(m, NULL, NULL, NULL, NULL), RFQ_OK);
    assert_int_not_equal(req_rank_parse(NULL, NULL, NULL, NULL, NULL), RFQ_OK);
    assert_int_not_equal(req_rank_parse("", NULL, NULL, NULL, NULL), RFQ_OK);
    assert_int_not_equal(req_rank_parse("garbage|x|y|z", NULL, NULL, NULL, NULL), RFQ_OK);
    m[3] = 'x';
    assert_int_not_equal(req_rank_parse(m, NULL, NULL, NULL, NULL), RFQ_OK);
}

/* Three quotes: b cheapest; a and c tie on price, a faster; d ties with c on price and eta
 * but arrived later. Expected ranking: b, a, c, d. */
static void test_ranked_and_arrival(void **state)
{
    struct {
        const char *resp;
        int64_t amount;
        int eta;
        uint64_t arrival;
    } in[] = {{"a", 1000, 100, 1}, {"b", 900, 300, 2}, {"c", 1000, 200, 3}, {"d", 1000, 200, 4}};
    char members[4][RFQ_RANK_MEMBER_MAX];
    json_t *quotes = json_object();
    for (int i = 0; i < 4; i++) {
        struct rfq_quote q;
        make_quote(&q, in[i].resp, in[i].amount, in[i].eta);
        assert_int_equal(rfq_rank_member(members[i], sizeof(members[i]), &q, in[i].arrival),
                         RFQ_OK);
        char *text;
        assert_int_equal(rfq_quote_encode(&q, &text, NULL), RFQ_OK);
        json_object_set_new(quotes, in[i].resp, json_string(text));
        free(text);
    }
    /* Redis returns members in lexicographic order: emulate ZRANGE. */
    const char *sorted[5];
    for (int i = 0; i < 4; i++)
        sorted[i] = members[i];
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (strcmp(sorted[j], sorted[i]) < 0) {
                const char *t = sorted[i];
                sorted[i] = sorted[j];
                sorted[j] = t;
            }
    sorted[4] = "0000000000000001|000001|00000000000000000009|ghost"; /* no quote stored */
    json_t *ranked = req_quotes_ranked(sorted, 5, quotes);
    assert_int_equal(json_array_size(ranked), 4);
    const char *want[] = {"b", "a", "c", "d"};
    for (int i = 0; i < 4; i++) {
        json_t *q = json_array_get(ranked, (size_t)i);
        assert_string_equal(json_string_value(json_object_get(q, "responder_id")), want[i]);
        assert_int_equal(json_integer_value(json_object_get(q, "rank")), i + 1);
    }
    json_t *by_arrival = req_quotes_by_arrival(ranked);
    const char *want_arrival[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        json_t *q = json_array_get(by_arrival, (size_t)i);
        assert_string_equal(json_string_value(json_object_get(q, "responder_id")), want_arrival[i]);
        assert_int_equal(json_integer_value(json_object_get(q, "arrival")), i + 1);
    }
    json_decref(by_arrival);

    struct req_rfq_view v;
    memset(&v, 0, sizeof(v));
    strcpy(v.rfq_id, "r1");
    strcpy(v.tenant, "acme");
    strcpy(v.status, "completed");
    v.created_ms = 1000;
    v.deadline_ms = 3000;
    v.closed_ms = 2500;
    v.max_quotes = 4;
    v.count = 4;
    v.ranked = ranked;
    json_t *st = req_view_status_json(&v);
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(st, "status")), "completed");
    assert_int_equal(json_integer_value(json_object_get(st, "quote_count")), 4);
    assert_int_equal(json_integer_value(json_object_get(st, "closed_ms")), 2500);
    json_t *best = json_object_get(st, "best");
    assert_string_equal(json_string_value(json_object_get(best, "responder_id")), "b");
    assert_null(json_object_get(best, "rank"));
    assert_true(json_is_null(json_object_get(st, "request")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(st, "links"), "self")),
                        "/v1/rfqs/r1");
    json_decref(st);
    req_rfq_view_clear(&v);
    json_decref(quotes);
}

static void test_status_open_has_no_closed_ms(void **state)
{
    struct req_rfq_view v;
    memset(&v, 0, sizeof(v));
    strcpy(v.rfq_id, "r2");
    strcpy(v.tenant, "acme");
    strcpy(v.status, "open");
    v.ranked = json_array();
    json_t *empty = req_quotes_by_arrival(v.ranked);
    assert_int_equal(json_array_size(empty), 0);
    json_decref(empty);
    json_t *none = req_quotes_ranked(NULL, 0, NULL);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    json_t *st = req_view_status_json(&v);
    assert_null(json_object_get(st, "closed_ms"));
    assert_true(json_is_null(json_object_get(st, "best")));
    json_decref(st);
    req_rfq_view_clear(&v);
}

static void test_list_params(void **state)
{
    const char *status;
    int limit;
    struct rfq_err err;
    assert_int_equal(req_list_params(NULL, NULL, &status, &limit, &err), RFQ_OK);
    assert_null(status);
    assert_int_equal(limit, 20);
    assert_int_equal(req_list_params("open", "100", &status, &limit, &err), RFQ_OK);
    assert_string_equal(status, "open");
    assert_int_equal(limit, 100);
    assert_int_equal(req_list_params("", "1", &status, &limit, &err), RFQ_OK);
    assert_null(status);
    assert_int_equal(req_list_params("expired", NULL, &status, &limit, &err), RFQ_OK);
    assert_int_equal(req_list_params("completed", NULL, &status, &limit, &err), RFQ_OK);
    assert_int_equal(req_list_params("closed", NULL, &status, &limit, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "status");
    assert_int_equal(req_list_params(NULL, "0", &status, &limit, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "limit");
    assert_int_equal(req_list_params(NULL, "101", &status, &limit, &err), RFQ_EINVAL);
    assert_int_equal(req_list_params(NULL, "ten", &status, &limit, &err), RFQ_EINVAL);
    assert_int_equal(req_list_params(NULL, "", &status, &limit, &err), RFQ_EINVAL);
    assert_int_equal(req_list_params(NULL, "5x", &status, &limit, &err), RFQ_EINVAL);
    assert_int_equal(req_list_params(NULL, "-1", &status, &limit, &err), RFQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_parse),
        cmocka_unit_test(test_ranked_and_arrival),
        cmocka_unit_test(test_status_open_has_no_closed_ms),
        cmocka_unit_test(test_list_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
