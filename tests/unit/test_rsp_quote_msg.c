/* Unit tests of rsp_quote_msg: the headers and body of single-answer and batch quote messages
 * (built without a connection), and reading back the responders of a batch body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <nats/nats.h>

#include "rfq_ids.h"
#include "rfq_msg.h"
#include "rfq_quote_batch.h"
#include "rsp_quote_msg.h"

#define SUBJ "rfq.v1.quote.acme.rfq-1"
#define TRACE "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* The value of header key, or NULL when the message has none. Borrowed from m. */
static const char *header(natsMsg *m, const char *key)
{
    const char *v = NULL;
    natsStatus s = natsMsgHeader_Get(m, key, &v);
    if (s == NATS_NOT_FOUND)
        return NULL;
    assert_int_equal(s, NATS_OK);
    return v;
}

/* The message carries exactly the header keys want[0..n) (in any order). */
static void assert_header_keys(natsMsg *m, const char *const *want, int n)
{
    const char **keys = NULL;
    int count = 0;
    assert_int_equal(natsMsgHeader_Keys(m, &keys, &count), NATS_OK);
    assert_int_equal(count, n);
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (int k = 0; k < count && !found; k++)
            found = strcmp(keys[k], want[i]) == 0;
        if (!found)
            fail_msg("header %s missing", want[i]);
    }
    free((void *)keys);
}

static void assert_body(natsMsg *m, const char *body, size_t len)
{
    assert_int_equal(natsMsg_GetDataLength(m), (int)len);
    if (len)
        assert_memory_equal(natsMsg_GetData(m), body, len);
}

static void test_single(void **state)
{
    (void)state;
    const char *body = "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"no\"}";
    struct rsp_quote_msg in = {
        .subject = SUBJ,
        .tenant = "acme",
        .rfq_id = "rfq-1",
        .responder_id = "u1",
        .msg_id = "rfq-1.u1",
        .deadline_ms = 1700000000123LL,
        .body = body,
        .body_len = strlen(body),
    };
    natsMsg *m = NULL;
    assert_int_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_non_null(m);
    assert_string_equal(natsMsg_GetSubject(m), SUBJ);
    assert_null(natsMsg_GetReply(m));
    assert_string_equal(header(m, RFQ_HDR_ID), "rfq-1");
    assert_string_equal(header(m, RFQ_HDR_TENANT), "acme");
    assert_string_equal(header(m, RFQ_HDR_RESPONDER), "u1");
    assert_string_equal(header(m, RSP_HDR_MSG_ID), "rfq-1.u1");
    assert_string_equal(header(m, "Nats-Msg-Id"), "rfq-1.u1");
    assert_string_equal(header(m, RFQ_HDR_DEADLINE), "1700000000123");
    assert_null(header(m, RFQ_HDR_TRACEPARENT));
    assert_null(header(m, RFQ_HDR_BATCH));
    static const char *const keys[] = {RFQ_HDR_ID, RFQ_HDR_TENANT, RFQ_HDR_RESPONDER,
                                       RSP_HDR_MSG_ID, RFQ_HDR_DEADLINE};
    assert_header_keys(m, keys, 5);
    assert_body(m, body, strlen(body));
    natsMsg_Destroy(m);

    /* With a traceparent. */
    in.traceparent = TRACE;
    m = NULL;
    assert_int_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_string_equal(header(m, RFQ_HDR_TRACEPARENT), TRACE);
    assert_string_equal(header(m, RFQ_HDR_RESPONDER), "u1");
    assert_null(header(m, RFQ_HDR_BATCH));
    natsMsg_Destroy(m);
}

static void test_batch(void **state)
{
    (void)state;
    const char *body = "[{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\",\"decline\":\"no\"},"
                       "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u2\",\"decline\":\"no\"},"
                       "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u3\",\"decline\":\"no\"}]";
    struct rsp_quote_msg in = {
        .subject = SUBJ,
        .tenant = "acme",
        .rfq_id = "rfq-1",
        .responder_id = NULL,
        .batch = 3,
        .msg_id = "rfq-1.u1+3",
        .traceparent = TRACE,
        .deadline_ms = RFQ_TIME_MAX_MS,
        .body = body,
        .body_len = strlen(body),
    };
    natsMsg *m = NULL;
    assert_int_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_string_equal(natsMsg_GetSubject(m), SUBJ);
    assert_string_equal(header(m, RFQ_HDR_ID), "rfq-1");
    assert_string_equal(header(m, RFQ_HDR_TENANT), "acme");
    assert_string_equal(header(m, RFQ_HDR_BATCH), "3");
    assert_string_equal(header(m, "Rfq-Batch"), "3");
    assert_string_equal(header(m, RSP_HDR_MSG_ID), "rfq-1.u1+3");
    assert_string_equal(header(m, RFQ_HDR_TRACEPARENT), TRACE);
    assert_string_equal(header(m, RFQ_HDR_DEADLINE), "4102444800000");
    assert_null(header(m, RFQ_HDR_RESPONDER));
    static const char *const keys[] = {RFQ_HDR_ID,     RFQ_HDR_TENANT,      RFQ_HDR_BATCH,
                                       RSP_HDR_MSG_ID, RFQ_HDR_TRACEPARENT, RFQ_HDR_DEADLINE};
    assert_header_keys(m, keys, 6);
    assert_body(m, body, strlen(body));
    natsMsg_Destroy(m);

    /* The most answers; a deadline of 0 is still written. */
    in.batch = RFQ_QUOTE_BATCH_MAX;
    in.traceparent = NULL;
    in.deadline_ms = 0;
    m = NULL;
    assert_int_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_string_equal(header(m, RFQ_HDR_BATCH), "32");
    assert_string_equal(header(m, RFQ_HDR_DEADLINE), "0");
    assert_null(header(m, RFQ_HDR_TRACEPARENT));
    natsMsg_Destroy(m);
}

static void test_body_bytes(void **state)
{
    (void)state;
    /* Only body_len bytes are sent, embedded NULs included. */
    static const char raw[] = "ab\0cd\xff"
                              "ef-not-sent";
    struct rsp_quote_msg in = {.subject = SUBJ,
                               .tenant = "acme",
                               .rfq_id = "rfq-1",
                               .responder_id = "u1",
                               .msg_id = "rfq-1.u1",
                               .deadline_ms = 42,
                               .body = raw,
                               .body_len = 8};
    natsMsg *m = NULL;
    assert_int_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_body(m, raw, 8);
    assert_string_equal(header(m, RFQ_HDR_DEADLINE), "42");
    natsMsg_Destroy(m);

    /* A 60 KiB batch body goes in whole. */
    char *big = malloc(RFQ_QUOTE_BATCH_BODY_MAX);
    assert_non_null(big);
    for (size_t i = 0; i < RFQ_QUOTE_BATCH_BODY_MAX; i++)
        big[i] = (char)('a' + i % 26);
    in.body = big;
    in.body_len = RFQ_QUOTE_BATCH_BODY_MAX;
    in.responder_id = NULL;
    in.batch = 1;
    m = NULL;
    assert_int_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_body(m, big, RFQ_QUOTE_BATCH_BODY_MAX);
    assert_string_equal(header(m, RFQ_HDR_BATCH), "1");
    natsMsg_Destroy(m);
    free(big);
}

static void test_create_refused(void **state)
{
    (void)state;
    /* No subject: nats.c refuses the message, nothing is handed back. */
    struct rsp_quote_msg in = {.subject = NULL,
                               .tenant = "acme",
                               .rfq_id = "rfq-1",
                               .responder_id = "u1",
                               .msg_id = "rfq-1.u1",
                               .deadline_ms = 1,
                               .body = "{}",
                               .body_len = 2};
    natsMsg *m = NULL;
    assert_int_not_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_null(m);
    in.subject = "";
    assert_int_not_equal(rsp_quote_msg_create(&m, &in), RFQ_OK);
    assert_null(m);
}

/* Records the responder ids handed to the callback, in order. */
struct seen {
    int n;
    char ids[RFQ_QUOTE_BATCH_MAX + 2][RFQ_ID_MAX + 1];
};

static void record(void *closure, const char *responder_id)
{
    struct seen *s = closure;
    assert_true(s->n < RFQ_QUOTE_BATCH_MAX + 2);
    snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", responder_id ? responder_id : "(null)");
    s->n++;
}

static void test_each_responder(void **state)
{
    (void)state;
    /* A batch as the agent builds it: encoded answers joined. */
    struct rfq_quote q[RFQ_QUOTE_BATCH_MAX];
    char *bodies[RFQ_QUOTE_BATCH_MAX];
    size_t lens[RFQ_QUOTE_BATCH_MAX];
    memset(q, 0, sizeof(q));
    for (int i = 0; i < RFQ_QUOTE_BATCH_MAX; i++) {
        snprintf(q[i].rfq_id, sizeof(q[i].rfq_id), "rfq-1");
        snprintf(q[i].responder_id, sizeof(q[i].responder_id), "unicorn-%d", 100 - i);
        if (i % 3 == 0) {
            q[i].decline = true;
            snprintf(q[i].decline_reason, sizeof(q[i].decline_reason), "busy");
        } else {
            q[i].amount_minor = 1000 + i;
            snprintf(q[i].currency, sizeof(q[i].currency), "USD");
            q[i].eta_s = 60;
        }
        assert_int_equal(rfq_quote_encode(&q[i], &bodies[i], &lens[i]), RFQ_OK);
    }
    for (int n = 1; n <= RFQ_QUOTE_BATCH_MAX; n += 15) {
        char *body = NULL;
        size_t len = 0;
        assert_int_equal(rfq_quote_batch_join(bodies, lens, n, &body, &len), RFQ_OK);
        struct seen s = {0};
        assert_int_equal(rsp_quote_msg_each_responder(body, len, record, &s), n);
        assert_int_equal(s.n, n);
        for (int i = 0; i < n; i++)
            assert_string_equal(s.ids[i], q[i].responder_id);
        free(body);
    }
    for (int i = 0; i < RFQ_QUOTE_BATCH_MAX; i++)
        free(bodies[i]);

    const char *three = "[{\"responder_id\":\"c\"},{\"responder_id\":\"a\"},"
                        "{\"responder_id\":\"b\"}]";
    struct seen s = {0};
    assert_int_equal(rsp_quote_msg_each_responder(three, strlen(three), record, &s), 3);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.ids[0], "c");
    assert_string_equal(s.ids[1], "a");
    assert_string_equal(s.ids[2], "b");
}

static void test_each_responder_not_batch(void **state)
{
    (void)state;
    static const char *const bad[] = {"[{", "", "not json", "{\"responder_id\":\"u1\"}", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct seen s = {0};
        assert_int_equal(rsp_quote_msg_each_responder(bad[i], strlen(bad[i]), record, &s), 0);
        assert_int_equal(s.n, 0);
    }
    struct seen s = {0};
    assert_int_equal(rsp_quote_msg_each_responder(NULL, 0, record, &s), 0);
    assert_int_equal(s.n, 0);
    /* Only len bytes are read. */
    const char *tail = "[{\"responder_id\":\"u1\"}]trailing";
    assert_int_equal(rsp_quote_msg_each_responder(tail, strlen(tail) - 8, record, &s), 1);
    assert_string_equal(s.ids[0], "u1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),         cmocka_unit_test(test_batch),
        cmocka_unit_test(test_body_bytes),     cmocka_unit_test(test_create_refused),
        cmocka_unit_test(test_each_responder), cmocka_unit_test(test_each_responder_not_batch),
    };
    nats_Open(-1); /* message destruction goes through the library's collector */
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
