/* test_req_tenant: the admission rule (registered and active, suspended, unknown, records
 * unreadable) and the settings a record gives a caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "req_tenant.h"

/* The reply is {"error":{"code":code,"message":message}} with status. */
static void assert_error(const struct req_reply *r, int status, const char *code,
                         const char *message)
{
    assert_int_equal(r->status, status);
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_string_equal(json_string_value(json_object_get(e, "message")), message);
    json_decref(j);
}

static void test_verdict(void **state)
{
    (void)state;
    struct rfq_tenant_rec rec;
    rfq_tenant_rec_init(&rec, "acme");
    struct req_reply r;

    req_reply_init(&r);
    assert_int_equal(req_tenant_verdict(RFQ_OK, &rec, &r), RFQ_OK);
    assert_null(r.body); /* admitted: the reply stays untouched */

    rec.suspended = true;
    assert_int_equal(req_tenant_verdict(RFQ_OK, &rec, &r), RFQ_EAUTH);
    assert_error(&r, 403, "forbidden", "tenant is suspended");
    req_reply_clear(&r);

    /* rec is not read when there is no record. */
    assert_int_equal(req_tenant_verdict(RFQ_ENOTFOUND, NULL, &r), RFQ_EAUTH);
    assert_error(&r, 403, "forbidden", "tenant is not registered");
    req_reply_clear(&r);

    const rfq_status down[] = {RFQ_ENATS, RFQ_ETIMEOUT, RFQ_ENOMEM};
    for (size_t i = 0; i < sizeof(down) / sizeof(down[0]); i++) {
        assert_int_equal(req_tenant_verdict(down[i], NULL, &r), down[i]);
        assert_error(&r, 503, "unavailable", "tenant records unavailable");
        req_reply_clear(&r);
    }
}

/* Without a view (fails closed) and settings without a record: the token tier's defaults. */
static void test_no_view(void **state)
{
    (void)state;
    struct req_server s;
    memset(&s, 0, sizeof(s));
    struct rfq_identity who;
    memset(&who, 0, sizeof(who));
    strcpy(who.tenant, "acme");
    strcpy(who.tier, "premium");
    struct req_reply r;
    req_reply_init(&r);
    assert_int_not_equal(req_tenant_admit(&s, &who, &r), RFQ_OK);
    assert_int_equal(r.status, 503);
    req_reply_clear(&r);
    struct rfq_tenant_settings st;
    req_tenant_settings(&s, &who, &st);
    assert_string_equal(st.tier, "premium");
    assert_int_equal(st.quota.burst, 400);
    assert_int_equal(st.default_max_quotes, RFQ_TENANT_UNSET);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_no_view),
    };
    return cmocka_run_group_tests_name("req_tenant", tests, NULL, NULL);
}
