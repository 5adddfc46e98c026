/* Unit tests of the event JSON: field names and values as the contract spells them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "agg_events.h"

static json_t *parse(char *s)
{
    assert_non_null(s);
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(j);
    return j;
}

static void test_quote_event(void **state)
{
    (void)state;
    struct rfq_quote q;
    memset(&q, 0, sizeof(q));
    snprintf(q.rfq_id, sizeof(q.rfq_id), "r1");
    snprintf(q.responder_id, sizeof(q.responder_id), "u1");
    q.amount_minor = 1250;
    snprintf(q.currency, sizeof(q.currency), "USD");
    q.eta_s = 240;
    snprintf(q.perks[0], sizeof(q.perks[0]), "free_drinks");
    q.n_perks = 1;
    char *qjson = NULL;
    assert_int_equal(rfq_quote_encode(&q, &qjson, NULL), RFQ_OK);
    json_t *j = parse(agg_event_quote_json("acme", "r1", 3, qjson));
    free(qjson);
    /* Ids that are not identifiers cannot be spliced into JSON: refused. */
    assert_null(agg_event_quote_json("ac\"me", "r1", 3, "{}"));
    assert_null(agg_event_quote_json("acme", "r\\1", 3, "{}"));
    assert_string_equal(json_string_value(json_object_get(j, "type")), "quote");
    assert_string_equal(json_string_value(json_object_get(j, "rfq_id")), "r1");
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "acme");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 3);
    json_t *qj = json_object_get(j, "quote");
    assert_string_equal(json_string_value(json_object_get(qj, "responder_id")), "u1");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(qj, "price"), "amount_minor")), 1250);
    assert_int_equal(json_object_size(j), 5);
    json_decref(j);
}

static void test_closed_event(void **state)
{
    (void)state;
    const char *best = "{\"rfq_id\":\"r1\",\"responder_id\":\"u2\",\"price\":{\"amount_minor\":900,"
                       "\"currency\":\"USD\"},\"eta_s\":60,\"perks\":[]}";
    json_t *j = parse(agg_event_closed_json("completed", "acme", "r1", 5, best));
    assert_string_equal(json_string_value(json_object_get(j, "type")), "completed");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "completed");
    assert_string_equal(json_string_value(json_object_get(j, "tenant")), "acme");
    assert_int_equal(json_integer_value(json_object_get(j, "count")), 5);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "best"), "responder_id")), "u2");
    assert_int_equal(json_object_size(j), 6);
    json_decref(j);

    /* No quote, or a stored value that is not a JSON object: best is null. */
    const char *nobest[] = {NULL, "", "garbage", "[1]", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(nobest) / sizeof(nobest[0]); i++) {
        j = parse(agg_event_closed_json("expired", "acme", "r1", 0, nobest[i]));
        assert_string_equal(json_string_value(json_object_get(j, "type")), "expired");
        assert_string_equal(json_string_value(json_object_get(j, "status")), "expired");
        assert_true(json_is_null(json_object_get(j, "best")));
        json_decref(j);
    }
    /* Nothing is spliced around ids that are not identifiers or an unknown type. */
    assert_null(agg_event_closed_json("completed", "ac\"me", "r1", 1, best));
    assert_null(agg_event_closed_json("completed", "acme", "r}1", 1, best));
    assert_null(agg_event_closed_json("done\"", "acme", "r1", 1, best));
}

static void test_publish_rejects_bad_ids(void **state)
{
    (void)state;
    /* Checked before the connection is touched. */
    assert_int_equal(agg_event_publish(NULL, "ACME", "r1", "{}"), RFQ_EINVAL);
    assert_int_equal(agg_event_publish(NULL, "acme", "r.1", "{}"), RFQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_event),
        cmocka_unit_test(test_closed_event),
        cmocka_unit_test(test_publish_rejects_bad_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
