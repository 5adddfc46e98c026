/* test_dlq: dead letters without servers: which headers a dead letter keeps, how a replay gets
 * them back, the aggregator's context and reasons, the responder's checks and rate limit, and
 * rfqctl dlq's entry summary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg_quote_check.h"
#include "ctl_dlq.h"
#include "rfq_dlq.h"
#include "rfq_ids.h"
#include "rfq_nats.h"
#include "rsp_dlq.h"

#define SUBJ "rfq.v1.quote.acme.rfq-1"
#define BODY "{\"rfq_id\":\"rfq-1\",\"responder_id\":\"u1\"}"

static const char *hdr(natsMsg *m, const char *key)
{
    return rfq_nats_header(m, key);
}

/* A quote message as it arrives, with a mix of headers to keep, rename and drop. */
static natsMsg *incoming(const char *tenant_hdr)
{
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, SUBJ, NULL, BODY, (int)strlen(BODY)), NATS_OK);
    if (tenant_hdr)
        natsMsgHeader_Set(m, RFQ_HDR_TENANT, tenant_hdr);
    natsMsgHeader_Set(m, RFQ_HDR_ID, "rfq-1");
    natsMsgHeader_Set(m, RFQ_HDR_RESPONDER, "u1");
    natsMsgHeader_Set(m, RFQ_HDR_MSG_ID, "rfq-1.u1");
    natsMsgHeader_Set(m, RFQ_HDR_TRACEPARENT, "00-abc-def-01");
    natsMsgHeader_Set(m, "X-Note", "one");
    natsMsgHeader_Add(m, "X-Note", "two");
    natsMsgHeader_Set(m, RFQ_HDR_AUTH, "Bearer secret");
    natsMsgHeader_Set(m, "x-api-key", "k");
    natsMsgHeader_Set(m, "Nats-Expected-Stream", "OTHER");
    natsMsgHeader_Set(m, RFQ_HDR_DLQ_REASON, "forged");
    return m;
}

/* The dead letter rfq_dlq_msg_create makes of orig with context acme / rfq-1. */
static natsMsg *dead_letter_of(natsMsg *orig, const char *tenant)
{
    struct rfq_dead_letter dl = {.stage = "aggregator",
                                 .reason = "mismatch",
                                 .detail = "why\r\nnot",
                                 .subject = natsMsg_GetSubject(orig),
                                 .tenant = tenant,
                                 .rfq_id = "rfq-1",
                                 .orig = orig};
    natsMsg *m = NULL;
    assert_int_equal(
        rfq_dlq_msg_create(&m, &dl, natsMsg_GetData(orig), natsMsg_GetDataLength(orig)), RFQ_OK);
    return m;
}

static void test_header_kind(void **state)
{
    (void)state;
    assert_int_equal(rfq_dlq_header_kind("Rfq-Responder"), RFQ_DLQ_HDR_KEEP);
    assert_int_equal(rfq_dlq_header_kind("traceparent"), RFQ_DLQ_HDR_KEEP);
    assert_int_equal(rfq_dlq_header_kind("Rfq-Deadline"), RFQ_DLQ_HDR_KEEP);
    assert_int_equal(rfq_dlq_header_kind("Rfq-Replay-Of"), RFQ_DLQ_HDR_KEEP);
    assert_int_equal(rfq_dlq_header_kind("Nats-Msg-Id"), RFQ_DLQ_HDR_MSG_ID);
    assert_int_equal(rfq_dlq_header_kind("nats-msg-id"), RFQ_DLQ_HDR_MSG_ID);
    assert_int_equal(rfq_dlq_header_kind("Rfq-Tenant"), RFQ_DLQ_HDR_CONTEXT);
    assert_int_equal(rfq_dlq_header_kind("Rfq-Id"), RFQ_DLQ_HDR_CONTEXT);
    const char *dropped[] = {"Authorization",
                             "authorization",
                             "Proxy-Authorization",
                             "Cookie",
                             "Set-Cookie",
                             "X-Auth-Token",
                             "X-Api-Key",
                             "apikey",
                             "Client-Secret",
                             "X-Password",
                             "Credentials",
                             "Nats-Expected-Stream",
                             "Nats-Rollup",
                             "Rfq-Dlq-Reason",
                             "rfq-dlq-subject",
                             "Rfq-Dlq-Msg-Id",
                             "",
                             NULL};
    for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
        if (rfq_dlq_header_kind(dropped[i]) != RFQ_DLQ_HDR_DROP)
            fail_msg("%s is kept", dropped[i] ? dropped[i] : "(null)");
    char long_name[200];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(rfq_dlq_header_kind(long_name), RFQ_DLQ_HDR_DROP);
}

static void test_replay_name_and_lists(void **state)
{
    (void)state;
    char out[64];
    assert_true(rfq_dlq_header_replay_name("Rfq-Responder", out, sizeof(out)));
    assert_string_equal(out, "Rfq-Responder");
    assert_true(rfq_dlq_header_replay_name("Rfq-Dlq-Orig-Rfq-Tenant", out, sizeof(out)));
    assert_string_equal(out, "Rfq-Tenant");
    assert_true(rfq_dlq_header_replay_name("Rfq-Tenant", out, sizeof(out)));
    assert_false(rfq_dlq_header_replay_name("Rfq-Dlq-Orig-Authorization", out, sizeof(out)));
    assert_false(rfq_dlq_header_replay_name("Rfq-Dlq-Reason", out, sizeof(out)));
    assert_false(rfq_dlq_header_replay_name("Rfq-Dlq-Msg-Id", out, sizeof(out)));
    assert_false(rfq_dlq_header_replay_name("Rfq-Replay-Of", out, sizeof(out)));
    assert_false(rfq_dlq_header_replay_name("Nats-Msg-Id", out, sizeof(out)));
    assert_false(rfq_dlq_header_replay_name("Authorization", out, sizeof(out)));
    assert_false(rfq_dlq_header_replay_name("Rfq-Responder", out, 4)); /* does not fit */

    assert_true(rfq_dlq_list_has("Rfq-Tenant,Rfq-Id", "Rfq-Id"));
    assert_true(rfq_dlq_list_has(" Rfq-Tenant , Rfq-Id ", "Rfq-Tenant"));
    assert_false(rfq_dlq_list_has("Rfq-Tenant2", "Rfq-Tenant"));
    assert_false(rfq_dlq_list_has(NULL, "Rfq-Id"));
    assert_false(rfq_dlq_list_has("", "Rfq-Id"));

    assert_true(rfq_dlq_subject_valid("rfq.v1.quote.acme.x"));
    assert_false(rfq_dlq_subject_valid(""));
    assert_false(rfq_dlq_subject_valid(NULL));
    assert_false(rfq_dlq_subject_valid("rfq.v1.quote.>"));
    assert_false(rfq_dlq_subject_valid("a..b"));
    assert_false(rfq_dlq_subject_valid("a b"));
    assert_false(rfq_dlq_subject_valid(".a"));
    assert_true(rfq_dlq_subject_is_quote("rfq.v1.quote.acme"));
    assert_false(rfq_dlq_subject_is_quote("rfq.v1.req.eu-west.acme"));
}

/* The dead letter keeps safe headers, renames Nats-Msg-Id, drops the rest, and sets aside an
 * original Rfq-Tenant that differs from its own; the replay restores the original headers. */
static void test_copy_and_replay(void **state)
{
    (void)state;
    natsMsg *orig = incoming("globex");
    natsMsg *dl = dead_letter_of(orig, "acme");
    assert_string_equal(natsMsg_GetSubject(dl), "rfq.v1.dlq.aggregator");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_REASON), "mismatch");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_DETAIL), "why??not");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_SUBJECT), SUBJ);
    assert_string_equal(hdr(dl, RFQ_HDR_TENANT), "acme");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_ORIG_PREFIX RFQ_HDR_TENANT), "globex");
    assert_string_equal(hdr(dl, RFQ_HDR_ID), "rfq-1");
    assert_null(hdr(dl, RFQ_HDR_DLQ_ORIG_PREFIX RFQ_HDR_ID)); /* same value: not repeated */
    assert_null(hdr(dl, RFQ_HDR_DLQ_ADDED));
    assert_string_equal(hdr(dl, RFQ_HDR_RESPONDER), "u1");
    assert_string_equal(hdr(dl, RFQ_HDR_TRACEPARENT), "00-abc-def-01");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_MSG_ID), "rfq-1.u1");
    assert_null(hdr(dl, RFQ_HDR_MSG_ID));
    assert_null(hdr(dl, RFQ_HDR_AUTH));
    assert_null(hdr(dl, "x-api-key"));
    assert_null(hdr(dl, "Nats-Expected-Stream"));
    const char **vals = NULL;
    int n = 0;
    assert_int_equal(natsMsgHeader_Values(dl, "X-Note", &vals, &n), NATS_OK);
    assert_int_equal(n, 2);
    free((void *)vals);
    assert_int_equal(natsMsg_GetDataLength(dl), (int)strlen(BODY));

    natsMsg *re = NULL;
    assert_int_equal(rfq_dlq_replay_msg_create(&re, dl, 42), RFQ_OK);
    assert_string_equal(natsMsg_GetSubject(re), SUBJ);
    assert_null(natsMsg_GetReply(re));
    assert_string_equal(hdr(re, RFQ_HDR_TENANT), "globex"); /* the original's, not the DLQ's */
    assert_string_equal(hdr(re, RFQ_HDR_ID), "rfq-1");
    assert_string_equal(hdr(re, RFQ_HDR_RESPONDER), "u1");
    assert_string_equal(hdr(re, RFQ_HDR_MSG_ID), "rfq-1.u1.replay.42");
    assert_string_equal(hdr(re, RFQ_HDR_REPLAY_OF), "42");
    assert_null(hdr(re, RFQ_HDR_DLQ_REASON));
    assert_null(hdr(re, RFQ_HDR_DLQ_MSG_ID));
    assert_null(hdr(re, RFQ_HDR_DLQ_ORIG_PREFIX RFQ_HDR_TENANT));
    assert_null(hdr(re, RFQ_HDR_AUTH));
    assert_memory_equal(natsMsg_GetData(re), BODY, strlen(BODY));
    natsMsg_Destroy(re);
    natsMsg_Destroy(dl);
    natsMsg_Destroy(orig);

    /* No Rfq-Tenant on the original: the dead letter names the tenant but a replay does not. */
    orig = incoming(NULL);
    dl = dead_letter_of(orig, "acme");
    assert_string_equal(hdr(dl, RFQ_HDR_TENANT), "acme");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_ADDED), RFQ_HDR_TENANT);
    assert_int_equal(rfq_dlq_replay_msg_create(&re, dl, 7), RFQ_OK);
    assert_null(hdr(re, RFQ_HDR_TENANT));
    assert_string_equal(hdr(re, RFQ_HDR_ID), "rfq-1");
    natsMsg_Destroy(re);
    natsMsg_Destroy(dl);
    natsMsg_Destroy(orig);

    /* Context unknown: the original's value is kept aside, never shown as the entry's. */
    orig = incoming("ACME!");
    dl = dead_letter_of(orig, NULL);
    assert_null(hdr(dl, RFQ_HDR_TENANT));
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_ORIG_PREFIX RFQ_HDR_TENANT), "ACME!");
    assert_int_equal(rfq_dlq_replay_msg_create(&re, dl, 8), RFQ_OK);
    assert_string_equal(hdr(re, RFQ_HDR_TENANT), "ACME!");
    natsMsg_Destroy(re);
    natsMsg_Destroy(dl);
    natsMsg_Destroy(orig);
}

/* An RFQ's dead letter keeps its reply subject; its replay has no Nats-Msg-Id. Entries without
 * a usable original subject cannot be replayed. */
static void test_replay_rfq_and_refusals(void **state)
{
    (void)state;
    natsMsg *orig = NULL;
    assert_int_equal(
        natsMsg_Create(&orig, "rfq.v1.req.eu-west.acme", "rfq.v1.quote.acme.r1", "{x", 2), NATS_OK);
    struct rfq_dead_letter d = {.stage = "responder",
                                .reason = "bad_json",
                                .subject = "rfq.v1.req.eu-west.acme",
                                .tenant = "acme",
                                .orig = orig,
                                .reply = "rfq.v1.quote.acme.r1"};
    natsMsg *dl = NULL;
    assert_int_equal(rfq_dlq_msg_create(&dl, &d, "{x", 2), RFQ_OK);
    assert_string_equal(natsMsg_GetSubject(dl), "rfq.v1.dlq.responder");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_REPLY), "rfq.v1.quote.acme.r1");
    assert_string_equal(hdr(dl, RFQ_HDR_DLQ_ADDED), RFQ_HDR_TENANT);
    natsMsg *re = NULL;
    assert_int_equal(rfq_dlq_replay_msg_create(&re, dl, 3), RFQ_OK);
    assert_string_equal(natsMsg_GetSubject(re), "rfq.v1.req.eu-west.acme");
    assert_string_equal(natsMsg_GetReply(re), "rfq.v1.quote.acme.r1");
    assert_null(hdr(re, RFQ_HDR_MSG_ID));
    assert_null(hdr(re, RFQ_HDR_TENANT));
    natsMsg_Destroy(re);
    natsMsg_Destroy(dl);
    natsMsg_Destroy(orig);

    const char *bad[] = {NULL, "", "rfq.v1.quote.>", "a b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(natsMsg_Create(&dl, "rfq.v1.dlq.x", NULL, "p", 1), NATS_OK);
        natsMsgHeader_Set(dl, RFQ_HDR_DLQ_REASON, "test");
        if (bad[i])
            natsMsgHeader_Set(dl, RFQ_HDR_DLQ_SUBJECT, bad[i]);
        re = dl; /* must be reset */
        assert_int_equal(rfq_dlq_replay_msg_create(&re, dl, 1), RFQ_EINVAL);
        assert_null(re);
        natsMsg_Destroy(dl);
    }
    /* A quote without an original Nats-Msg-Id still gets a fresh one. */
    assert_int_equal(natsMsg_Create(&dl, "rfq.v1.dlq.aggregator", NULL, "p", 1), NATS_OK);
    natsMsgHeader_Set(dl, RFQ_HDR_DLQ_SUBJECT, SUBJ);
    assert_int_equal(rfq_dlq_replay_msg_create(&re, dl, 9), RFQ_OK);
    assert_string_equal(hdr(re, RFQ_HDR_MSG_ID), "dlq.replay.9");
    natsMsg_Destroy(re);
    natsMsg_Destroy(dl);
}

static void test_agg_context_and_reasons(void **state)
{
    (void)state;
    assert_string_equal(agg_reason_str(AGG_REASON_OVERSIZE), "oversize");
    assert_string_equal(agg_reason_str(AGG_REASON_DUPLICATE), "duplicate");
    struct agg_checked_quote q;
    memset(&q, 0, sizeof(q));
    struct agg_quote_in in = {"rfq.v1.quote.acme", BODY, strlen(BODY), "acme", "rfq-9", NULL, NULL};
    agg_quote_context(&in, &q);
    assert_string_equal(q.tenant, "acme");
    assert_string_equal(q.rfq_id, "rfq-9"); /* the header before the body */
    memset(&q, 0, sizeof(q));
    struct agg_quote_in body_only = {"x", BODY, strlen(BODY), "ACME", "bad id!", NULL, NULL};
    agg_quote_context(&body_only, &q);
    assert_string_equal(q.tenant, ""); /* not a tenant id */
    assert_string_equal(q.rfq_id, "rfq-1");
    memset(&q, 0, sizeof(q));
    struct agg_quote_in nothing = {"x", "[1]", 3, NULL, NULL, NULL, NULL};
    agg_quote_context(&nothing, &q);
    assert_string_equal(q.rfq_id, "");
    snprintf(q.tenant, sizeof(q.tenant), "globex");
    snprintf(q.rfq_id, sizeof(q.rfq_id), "kept");
    agg_quote_context(&in, &q); /* set fields stay */
    assert_string_equal(q.tenant, "globex");
    assert_string_equal(q.rfq_id, "kept");
}

static void test_rsp_bucket(void **state)
{
    (void)state;
    struct rsp_dlq_bucket b;
    rsp_dlq_bucket_init(&b, RSP_DLQ_RATE, RSP_DLQ_BURST);
    int64_t t = 1000000000;
    int taken = 0;
    for (int i = 0; i < 1000; i++)
        taken += rsp_dlq_bucket_take(&b, t);
    assert_int_equal(taken, RSP_DLQ_BURST);
    assert_false(rsp_dlq_bucket_take(&b, t + 5000000));  /* 5 ms: half a token */
    assert_true(rsp_dlq_bucket_take(&b, t + 10000000));  /* 10 ms: one */
    assert_false(rsp_dlq_bucket_take(&b, t + 10000000)); /* and no more */
    taken = 0;
    for (int i = 0; i < 1000; i++) /* a minute later: full again, never more */
        taken += rsp_dlq_bucket_take(&b, t + 60 * 1000000000LL);
    assert_int_equal(taken, RSP_DLQ_BURST);
    assert_false(rsp_dlq_bucket_take(&b, t)); /* time going backwards adds nothing */
    rsp_dlq_bucket_destroy(&b);
}

static void test_rsp_reasons_and_headers(void **state)
{
    (void)state;
    assert_string_equal(rsp_dlq_decode_reason(RFQ_ETOOBIG, "{}", 2), "oversize");
    assert_string_equal(rsp_dlq_decode_reason(RFQ_EINVAL, "{", 1), "bad_json");
    assert_string_equal(rsp_dlq_decode_reason(RFQ_EINVAL, "", 0), "bad_json");
    assert_string_equal(rsp_dlq_decode_reason(RFQ_EINVAL, NULL, 0), "bad_json");
    assert_string_equal(rsp_dlq_decode_reason(RFQ_EINVAL, "[]", 2), "bad_json");
    assert_string_equal(rsp_dlq_decode_reason(RFQ_EINVAL, "{\"a\":1,\"a\":2}", 13), "bad_json");
    assert_string_equal(rsp_dlq_decode_reason(RFQ_EINVAL, "{\"a\":1}", 7), "schema");

    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.rfq_id, sizeof(r.rfq_id), "rfq-1");
    snprintf(r.tenant, sizeof(r.tenant), "acme");
    r.deadline_ms = 1795000000123;
    char detail[200] = "";
    assert_true(rsp_dlq_headers_agree(&r, NULL, NULL, NULL, detail, sizeof(detail)));
    assert_true(
        rsp_dlq_headers_agree(&r, "acme", "rfq-1", "1795000000123", detail, sizeof(detail)));
    assert_false(rsp_dlq_headers_agree(&r, "globex", NULL, NULL, detail, sizeof(detail)));
    assert_non_null(strstr(detail, "Rfq-Tenant header globex"));
    assert_false(rsp_dlq_headers_agree(&r, NULL, "rfq-2", NULL, detail, sizeof(detail)));
    assert_non_null(strstr(detail, "Rfq-Id"));
    assert_false(rsp_dlq_headers_agree(&r, NULL, NULL, "1795000000124", detail, sizeof(detail)));
    assert_non_null(strstr(detail, "Rfq-Deadline"));
    assert_false(rsp_dlq_headers_agree(&r, "", NULL, NULL, detail, sizeof(detail)));
}

static void test_ctl_entry(void **state)
{
    (void)state;
    natsMsg *orig = incoming("acme");
    natsMsg *dl = dead_letter_of(orig, "acme");
    natsMsgHeader_Set(dl, RFQ_HDR_DLQ_REASON, "late\x1b[2J");
    struct ctl_dlq_entry e;
    ctl_dlq_entry_read(&e, dl, 17, 1795000000000);
    assert_int_equal(e.seq, 17);
    assert_string_equal(e.stage, "aggregator");
    assert_string_equal(e.reason, "late?[2J"); /* no terminal escapes */
    assert_string_equal(e.tenant, "acme");
    assert_string_equal(e.rfq_id, "rfq-1");
    assert_string_equal(e.subject, SUBJ);
    assert_int_equal(e.size, strlen(BODY));

    struct ctl_dlq_filter all = {NULL, NULL, NULL}, agg = {"aggregator", NULL, "acme"},
                          rsp = {"responder", NULL, NULL}, other = {NULL, NULL, "globex"};
    assert_true(ctl_dlq_entry_match(&e, &all));
    assert_true(ctl_dlq_entry_match(&e, &agg));
    assert_false(ctl_dlq_entry_match(&e, &rsp));
    assert_false(ctl_dlq_entry_match(&e, &other));

    json_t *j = ctl_dlq_entry_json(&e);
    assert_int_equal(json_integer_value(json_object_get(j, "seq")), 17);
    assert_int_equal(json_integer_value(json_object_get(j, "time_ms")), 1795000000000);
    assert_string_equal(json_string_value(json_object_get(j, "stage")), "aggregator");
    assert_string_equal(json_string_value(json_object_get(j, "subject")), SUBJ);
    assert_string_equal(json_string_value(json_object_get(j, "time")), "2026-11-18 11:06:40");
    assert_int_equal(json_integer_value(json_object_get(j, "size")), strlen(BODY));
    json_decref(j);

    /* Missing headers read as "", shown as null; a foreign subject has no stage. */
    natsMsg *bare = NULL;
    assert_int_equal(natsMsg_Create(&bare, "elsewhere", NULL, NULL, 0), NATS_OK);
    ctl_dlq_entry_read(&e, bare, 1, 0);
    assert_string_equal(e.stage, "");
    j = ctl_dlq_entry_json(&e);
    assert_true(json_is_null(json_object_get(j, "tenant")));
    assert_true(json_is_null(json_object_get(j, "reason")));
    json_decref(j);
    natsMsg_Destroy(bare);
    natsMsg_Destroy(dl);
    natsMsg_Destroy(orig);
}

static void test_ctl_payload(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ctl_dlq_print_payload(f, BODY, strlen(BODY));
    ctl_dlq_print_payload(f, "a\x1b\xff\n", 4);
    ctl_dlq_print_payload(f, "", 0);
    fclose(f);
    assert_non_null(strstr(buf, "{\n  \"rfq_id\": \"rfq-1\",\n  \"responder_id\": \"u1\"\n}\n"));
    assert_non_null(strstr(buf, "a\\x1b\\xff\n\n"));
    assert_non_null(strstr(buf, "(empty)\n"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_kind),
        cmocka_unit_test(test_replay_name_and_lists),
        cmocka_unit_test(test_copy_and_replay),
        cmocka_unit_test(test_replay_rfq_and_refusals),
        cmocka_unit_test(test_agg_context_and_reasons),
        cmocka_unit_test(test_rsp_bucket),
        cmocka_unit_test(test_rsp_reasons_and_headers),
        cmocka_unit_test(test_ctl_entry),
        cmocka_unit_test(test_ctl_payload),
    };
    nats_Open(-1); /* message destruction goes through the library's collector */
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
