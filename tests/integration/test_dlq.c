/* test_dlq: every refusal of the aggregator and the responder lands in RFQ_DLQ with its reason,
 * original subject, tenant, RFQ id, payload and safe headers; rfqctl dlq lists, shows and
 * replays entries through their stage. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "rfq_dlq.h"
#include "rfq_ids.h"
#include "rfq_msg.h"
#include "rfq_nats.h"
#include "scenarios.h"

#define WAIT_MS 5000
#define RSP_REGION "ap-south" /* the test responder's region: the scenario's RFQs use eu-west */
#define RSP_SUBJECT "rfq.v1.req." RSP_REGION ".acme"
#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* ---- DLQ entries ------------------------------------------------------------------------ */

/* The stored entry at seq (new; natsMsg_Destroy). */
static natsMsg *entry_get(uint64_t seq)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetMsg(&m, h_js(), RFQ_STREAM_DLQ, seq, NULL, &jerr);
    H_CHECK(s == NATS_OK, "read DLQ entry %llu: %s (js error %d)", (unsigned long long)seq,
            natsStatus_GetText(s), (int)jerr);
    return m;
}

static const char *hdr(natsMsg *m, const char *key)
{
    return rfq_nats_header(m, key);
}

static uint64_t dlq_last_seq(void)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, h_js(), RFQ_STREAM_DLQ, NULL, &jerr);
    H_CHECK(s == NATS_OK, "stream info %s: %s", RFQ_STREAM_DLQ, natsStatus_GetText(s));
    uint64_t last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return last;
}

/* What one dead letter must say; NULL tenant or rfq_id: the entry must not name one. */
struct expect {
    const char *what;
    const char *stage; /* "aggregator" or "responder" */
    const char *reason;
    const char *tenant;
    const char *rfq_id;
};

/* Wait for the entry of the message data/len refused on orig_subject, check it against x and
 * the rules every entry follows (a detail; never Nats-Msg-Id or Authorization); returns its
 * stream sequence. */
static uint64_t expect_entry(const struct expect *x, const char *orig_subject, const char *data,
                             size_t len)
{
    struct h_dlq_entry e;
    H_CHECK(h_dlq_wait(orig_subject, data, len, WAIT_MS, &e), "%s: no dead letter within %d ms",
            x->what, WAIT_MS);
    char stage_subject[64];
    snprintf(stage_subject, sizeof(stage_subject), "rfq.v1.dlq.%s", x->stage);
    H_CHECK_STR(e.subject, stage_subject, x->what);
    H_CHECK_STR(e.reason, x->reason, x->what);
    H_CHECK_STR(e.tenant, x->tenant ? x->tenant : "", x->what);
    H_CHECK_STR(e.rfq_id, x->rfq_id ? x->rfq_id : "", x->what);
    uint64_t seq = e.seq;
    h_dlq_entry_free(&e);
    natsMsg *m = entry_get(seq);
    const char *detail = hdr(m, RFQ_HDR_DLQ_DETAIL);
    H_CHECK(detail && *detail, "%s: no %s", x->what, RFQ_HDR_DLQ_DETAIL);
    H_CHECK(!hdr(m, RFQ_HDR_MSG_ID), "%s: the dead letter carries Nats-Msg-Id", x->what);
    H_CHECK(!hdr(m, RFQ_HDR_AUTH), "%s: the dead letter carries Authorization", x->what);
    h_log("%s: seq %llu, %s/%s: %s", x->what, (unsigned long long)seq, x->stage, x->reason, detail);
    natsMsg_Destroy(m);
    return seq;
}

/* Wait for the entry a replay of entry seq produced (header Rfq-Replay-Of: seq); returns its
 * sequence. */
static uint64_t wait_replayed_entry(uint64_t seq, uint64_t after)
{
    char want[24];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)seq);
    int64_t until = h_now_ms() + WAIT_MS;
    uint64_t next = after + 1;
    while (h_now_ms() < until) {
        for (uint64_t last = dlq_last_seq(); next <= last; next++) {
            natsMsg *m = entry_get(next);
            const char *of = hdr(m, RFQ_HDR_REPLAY_OF);
            bool hit = of && strcmp(of, want) == 0;
            natsMsg_Destroy(m);
            if (hit)
                return next;
        }
        h_sleep_ms(50);
    }
    h_fail(__FILE__, __LINE__, "no dead letter with %s: %s within %d ms", RFQ_HDR_REPLAY_OF, want,
           WAIT_MS);
}

/* ---- publishing ------------------------------------------------------------------------- */

static void quote_subject(char *out, size_t cap, const char *tenant, const char *id)
{
    H_CHECK(rfq_subject_quote(out, cap, tenant, id) == RFQ_OK, "quote subject");
}

/* Headers as a responder sends them, Nats-Msg-Id mid; tenant NULL leaves Rfq-Tenant out. */
static void publish_quote(const char *subject, const char *tenant, const char *rfq_id,
                          const char *responder, const char *mid, const char *data, size_t len)
{
    const char *hdrs[12];
    int n = 0;
    if (tenant) {
        hdrs[n++] = RFQ_HDR_TENANT;
        hdrs[n++] = tenant;
    }
    if (rfq_id) {
        hdrs[n++] = RFQ_HDR_ID;
        hdrs[n++] = rfq_id;
    }
    hdrs[n++] = RFQ_HDR_RESPONDER;
    hdrs[n++] = responder;
    hdrs[n++] = RFQ_HDR_MSG_ID;
    hdrs[n++] = mid;
    hdrs[n] = NULL;
    h_js_publish(subject, hdrs, data, len, NULL, NULL);
}

/* An RFQ body as the requester encodes it. New string. */
static char *rfq_body(const char *tenant, const char *rfq_id, int64_t deadline_ms)
{
    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.rfq_id, sizeof(r.rfq_id), "%s", rfq_id);
    snprintf(r.tenant, sizeof(r.tenant), "%s", tenant);
    r.created_ms = h_now_ms();
    r.deadline_ms = deadline_ms;
    char *body = h_submit_body(RSP_REGION, 5, 10000);
    struct rfq_limits lim = rfq_limits_default();
    struct rfq_err err = {{0}, {0}};
    H_CHECK(rfq_submit_decode(&r.body, body, strlen(body), &lim, &err) == RFQ_OK,
            "submit body: %s %s", err.field, err.message);
    free(body);
    char *out = NULL;
    size_t len = 0;
    H_CHECK(rfq_request_encode(&r, &out, &len) == RFQ_OK, "encode an RFQ");
    return out;
}

/* Core-publish an RFQ to the test responder's region, with reply and optional headers. */
static void publish_rfq(const char *reply, const char *const *hdrs, const char *data)
{
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, RSP_SUBJECT, reply, data, (int)strlen(data));
    for (int i = 0; s == NATS_OK && hdrs && hdrs[i]; i += 2)
        s = natsMsgHeader_Set(m, hdrs[i], hdrs[i + 1]);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(h_nc(), m);
    if (s == NATS_OK)
        s = natsConnection_Flush(h_nc());
    natsMsg_Destroy(m);
    H_CHECK(s == NATS_OK, "publish an RFQ to %s: %s", RSP_SUBJECT, natsStatus_GetText(s));
}

/* ---- rfqctl ----------------------------------------------------------------------------- */

#ifdef RFQ_IT_RFQCTL_BIN
/* Run rfqctl dlq <args...> (NULL-terminated) as the admin NATS user, bounded to 20 s, and
 * check its exit status. */
static void ctl(struct h_ctl_run *o, int want_rc, const char *const *args)
{
    const char *argv[16] = {"dlq"};
    int n = 1;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    h_rfqctl(o, NULL, argv);
    H_CHECK(o->rc == want_rc, "rfqctl dlq %s %s: exit %d, expected %d; stdout: %s; stderr: %s",
            args[0], args[1] ? args[1] : "", o->rc, want_rc, o->out, o->err);
    h_check_no_secret(o->out, o->err, "rfqctl dlq");
}

static json_t *ctl_json(struct h_ctl_run *o, const char *const *args)
{
    ctl(o, 0, args);
    json_error_t jerr;
    json_t *j = json_loads(o->out, 0, &jerr);
    H_CHECK(j != NULL, "rfqctl dlq %s --json: not JSON (%s): %s", args[0], jerr.text, o->out);
    return j;
}
#endif

/* ---- the scenario ----------------------------------------------------------------------- */

struct seqs {
    uint64_t currency, unknown, nohdr, mismatch, rfq_bad, manual;
};

#ifdef RFQ_IT_RFQCTL_BIN
/* rfqctl dlq list and show over what the scenario dead-lettered. */
static void check_list_show(const struct seqs *q, const char *x, const char *sx)
{
    struct h_ctl_run o;
    const char *all[] = {"list", "--json", "--limit", "100", NULL};
    json_t *arr = ctl_json(&o, all);
    H_CHECK(json_is_array(arr) && json_array_size(arr) >= 15, "dlq list: %zu entries",
            json_array_size(arr));
    for (size_t i = 1; i < json_array_size(arr); i++)
        H_CHECK(h_jint(json_array_get(arr, i - 1), "seq", 0) >
                    h_jint(json_array_get(arr, i), "seq", 0),
                "dlq list is not newest first at position %zu", i);
    json_decref(arr);

    const char *resp[] = {"list", "--stage", "responder", "--json", NULL};
    arr = ctl_json(&o, resp);
    H_CHECK(json_array_size(arr) >= 4, "responder entries: %zu", json_array_size(arr));
    for (size_t i = 0; i < json_array_size(arr); i++)
        H_CHECK_STR(h_jstr(json_array_get(arr, i), "stage"), "responder", "dlq list --stage");
    json_decref(arr);

    const char *table[] = {"list", "--limit", "20", NULL};
    ctl(&o, 0, table);
    h_log("rfqctl dlq list --limit 20:\n%s", o.out);
    const char *cur[] = {"list", "--reason", "currency", "--tenant", "acme", NULL};
    ctl(&o, 0, cur);
    char seq[24];
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)q->currency);
    H_CHECK(strstr(o.out, "SEQ") && strstr(o.out, "REASON") && strstr(o.out, "currency") &&
                strstr(o.out, sx) && strstr(o.out, x) && strstr(o.out, seq),
            "dlq list --reason currency table: %s", o.out);
    const char *none[] = {"list", "--tenant", "nobody", NULL};
    ctl(&o, 0, none);
    H_CHECK(strstr(o.out, "(no dead letters)"), "dlq list for an unknown tenant: %s", o.out);

    const char *show[] = {"show", seq, NULL};
    ctl(&o, 0, show);
    h_log("rfqctl dlq show %s:\n%s", seq, o.out);
    H_CHECK(strstr(o.out, "Rfq-Dlq-Reason: currency") && strstr(o.out, "Rfq-Dlq-Msg-Id: ") &&
                strstr(o.out, "Rfq-Responder: r-eur") && strstr(o.out, "\"currency\": \"EUR\""),
            "dlq show %s: %s", seq, o.out);
    const char *show_json[] = {"show", seq, "--json", NULL};
    json_t *j = ctl_json(&o, show_json);
    json_t *hdrs = json_object_get(j, "headers");
    H_CHECK_STR(h_jstr(hdrs, "Rfq-Dlq-Reason"), "currency", "show --json headers");
    H_CHECK_STR(h_jstr(json_object_get(json_object_get(j, "payload"), "price"), "currency"), "EUR",
                "show --json payload");
    H_CHECK_INT(h_jint(j, "seq", 0), (long long)q->currency, "show --json seq");
    json_decref(j);

    const char *missing[] = {"show", "999999", NULL};
    ctl(&o, 1, missing);
    const char *bad_seq[] = {"show", "x1", NULL};
    ctl(&o, 2, bad_seq);
}

/* Replays: through the quote stream and through the responders; faithful headers; refusals. */
static void check_replays(const struct seqs *q, const struct h_proc *req, const char *tok,
                          const char *y, const char *sx)
{
    struct h_ctl_run o;
    char seq[24];

    /* Without --yes nothing is sent. */
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)q->currency);
    int before = h_dlq_count_subject(sx, "currency");
    const char *dry[] = {"replay", seq, NULL};
    ctl(&o, 0, dry);
    H_CHECK(strstr(o.out, "dry run") && strstr(o.out, "Nats-Msg-Id: "), "replay dry run: %s",
            o.out);
    h_log("rfqctl dlq replay %s:\n%s", seq, o.out);
    h_sleep_ms(300);
    H_CHECK_INT(h_dlq_count_subject(sx, "currency"), before, "currency entries after a dry run");

    /* A quote refused for its currency comes back through the aggregator and is refused again:
     * a new entry, same reason, a Nats-Msg-Id of its own. */
    uint64_t last = dlq_last_seq();
    const char *go[] = {"replay", seq, "--yes", NULL};
    ctl(&o, 0, go);
    h_log("rfqctl dlq replay %s --yes: %s", seq, o.out);
    H_CHECK(strstr(o.out, "PubAck stream " RFQ_STREAM_QUOTES), "replay output: %s", o.out);
    uint64_t again = wait_replayed_entry(q->currency, last);
    natsMsg *old = entry_get(q->currency), *m = entry_get(again);
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_REASON), "currency", "reason of the replayed currency quote");
    char want_id[300];
    snprintf(want_id, sizeof(want_id), "%s.replay.%s", hdr(old, RFQ_HDR_DLQ_MSG_ID), seq);
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_MSG_ID), want_id, "Nats-Msg-Id of the replay");
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_SUBJECT), sx, "subject of the replay");
    natsMsg_Destroy(old);
    natsMsg_Destroy(m);
    /* The same replay twice: the quote stream drops the copy. */
    ctl(&o, 0, go);
    H_CHECK(strstr(o.out, "duplicate"), "second replay of the same entry: %s", o.out);

    /* Headers come back as they were: the quote without Rfq-Tenant stays without it (and is
     * refused again), the one with another tenant's header keeps it. */
    uint64_t checks[] = {q->nohdr, q->mismatch};
    for (int i = 0; i < 2; i++) {
        last = dlq_last_seq();
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long)checks[i]);
        const char *rp[] = {"replay", seq, "--yes", NULL};
        ctl(&o, 0, rp);
        uint64_t s2 = wait_replayed_entry(checks[i], last);
        m = entry_get(s2);
        old = entry_get(checks[i]);
        H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_REASON), "mismatch", "reason after a faithful replay");
        H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_DETAIL), hdr(old, RFQ_HDR_DLQ_DETAIL),
                    "detail after a faithful replay");
        natsMsg_Destroy(old);
        natsMsg_Destroy(m);
    }

    /* A good quote dead-lettered as unknown_rfq (its RFQ's hash was gone) is stored once the
     * RFQ is back. */
    char key[RFQ_KEY_MAX];
    rfq_key_rfq(key, sizeof(key), "acme", y);
    H_CHECK(h_redis_hget(key, "status", (char[16]){0}, 16), "RFQ Y restored");
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)q->unknown);
    const char *ru[] = {"replay", seq, "--yes", NULL};
    ctl(&o, 0, ru);
    json_t *st = h_wait_quote_count(req, tok, y, 1, WAIT_MS);
    H_CHECK_INT(h_jint(st, "quote_count", -1), 1, "quote_count of Y after the replay");
    json_decref(st);
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", y);
    json_t *qa = h_get_json(req, tok, path);
    H_CHECK_STR(h_jstr(json_array_get(json_object_get(qa, "quotes"), 0), "responder_id"), "r-u",
                "the replayed quote");
    json_decref(qa);

    /* An RFQ the responder refused goes back to the responders with its reply subject. */
    last = dlq_last_seq();
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)q->rfq_bad);
    const char *rr[] = {"replay", seq, "--yes", NULL};
    ctl(&o, 0, rr);
    H_CHECK(strstr(o.out, "core NATS"), "responder replay output: %s", o.out);
    uint64_t s3 = wait_replayed_entry(q->rfq_bad, last);
    m = entry_get(s3);
    old = entry_get(q->rfq_bad);
    H_CHECK_STR(natsMsg_GetSubject(m), "rfq.v1.dlq.responder", "stage of the replayed RFQ");
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_REASON), "bad_json", "reason of the replayed RFQ");
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_REPLY), hdr(old, RFQ_HDR_DLQ_REPLY),
                "reply of the replayed RFQ");
    natsMsg_Destroy(old);
    natsMsg_Destroy(m);

    /* No original subject: nothing to replay to. */
    snprintf(seq, sizeof(seq), "%llu", (unsigned long long)q->manual);
    const char *rm[] = {"replay", seq, "--yes", NULL};
    ctl(&o, 1, rm);
    H_CHECK(strstr(o.err, "cannot be replayed"), "replay without a subject: %s", o.err);
}
#endif

/* The responder user may dead-letter to its own stage only. Returns the sequence of the entry
 * it wrote (one without an original subject). */
static uint64_t responder_permissions(void)
{
    natsConnection *nc = NULL;
    H_CHECK(rfq_nats_connect_inbox(&nc, h_nats_url_as("responder"), "it-responder", true, 3000,
                                   RFQ_NATS_INBOX_RESPONDER) == RFQ_OK,
            "connect as responder");
    const char *forged = "forged-by-a-responder", *own = "manual-entry-without-subject";
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, "rfq.v1.dlq.aggregator", NULL, forged, (int)strlen(forged));
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(nc, m);
    natsMsg_Destroy(m);
    m = NULL;
    if (s == NATS_OK)
        s = natsMsg_Create(&m, "rfq.v1.dlq.responder", NULL, own, (int)strlen(own));
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_DLQ_REASON, "test");
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(nc, m);
    natsMsg_Destroy(m);
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(nc, 3000);
    H_CHECK(s == NATS_OK, "publish as responder: %s", natsStatus_GetText(s));
    natsConnection_Destroy(nc);
    /* Entries are found by original subject: read the tail of the stream directly. */
    int64_t until = h_now_ms() + WAIT_MS;
    uint64_t found = 0;
    bool forged_seen = false;
    while (!found && h_now_ms() < until) {
        uint64_t last = dlq_last_seq();
        for (uint64_t q = last > 50 ? last - 50 : 1; q <= last; q++) {
            natsMsg *e = entry_get(q);
            int len = natsMsg_GetDataLength(e);
            if (len == (int)strlen(own) && memcmp(natsMsg_GetData(e), own, (size_t)len) == 0)
                found = q;
            if (len == (int)strlen(forged) && memcmp(natsMsg_GetData(e), forged, (size_t)len) == 0)
                forged_seen = true;
            natsMsg_Destroy(e);
        }
        if (!found)
            h_sleep_ms(50);
    }
    H_CHECK(found, "the responder user could not write to rfq.v1.dlq.responder");
    H_CHECK(!forged_seen, "the responder user wrote to rfq.v1.dlq.aggregator");
    return found;
}

void sc_dlq_reasons(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    const char *rsp_env[] = {"RFQ_FLEET_SIZE=1", "RFQ_REGIONS=" RSP_REGION, NULL};
    struct h_proc *rsp = h_responder_start(rsp_env);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 5, 30000);
    char x[RFQ_ID_MAX + 1], y[RFQ_ID_MAX + 1], l[RFQ_ID_MAX + 1], ex[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, x));
    json_decref(h_submit(req, tok, body, y));
    json_decref(h_submit(req, tok, body, l));
    char *short_body = h_submit_body("eu-west", 5, 300);
    json_decref(h_submit(req, tok, short_body, ex));
    char sx[RFQ_KEY_MAX], s[RFQ_KEY_MAX], key[RFQ_KEY_MAX];
    quote_subject(sx, sizeof(sx), "acme", x);
    struct seqs q = {0};

    /* bad_json, with headers that must and must not go along */
    const char *not_json = "{\"rfq_id\": \"oops";
    const char *h1[] = {RFQ_HDR_TENANT,
                        "acme",
                        RFQ_HDR_ID,
                        x,
                        RFQ_HDR_RESPONDER,
                        "r-bj",
                        RFQ_HDR_MSG_ID,
                        "it-dlq-1",
                        RFQ_HDR_TRACEPARENT,
                        TRACEPARENT,
                        RFQ_HDR_AUTH,
                        "Bearer not-for-the-dlq",
                        NULL};
    h_js_publish(sx, h1, not_json, strlen(not_json), NULL, NULL);
    struct expect e1 = {"bad JSON", "aggregator", "bad_json", "acme", x};
    uint64_t s1 = expect_entry(&e1, sx, not_json, strlen(not_json));
    natsMsg *m = entry_get(s1);
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_MSG_ID), "it-dlq-1", "Rfq-Dlq-Msg-Id");
    H_CHECK_STR(hdr(m, RFQ_HDR_RESPONDER), "r-bj", "Rfq-Responder kept");
    H_CHECK_STR(hdr(m, RFQ_HDR_TRACEPARENT), TRACEPARENT, "traceparent kept");
    H_CHECK(!hdr(m, RFQ_HDR_DLQ_ADDED), "Rfq-Dlq-Added on a quote that had both headers");
    natsMsg_Destroy(m);

    /* schema */
    char buf[512];
    snprintf(buf, sizeof(buf), "{\"rfq_id\":\"%s\",\"responder_id\":\"r-s\"}", x);
    publish_quote(sx, "acme", x, "r-s", "it-dlq-2", buf, strlen(buf));
    struct expect e2 = {"schema", "aggregator", "schema", "acme", x};
    expect_entry(&e2, sx, buf, strlen(buf));

    /* oversize: a valid quote padded past 16 KiB */
    char *good = h_quote_body(x, "r-big", 100, 10, "USD");
    size_t big_len = RFQ_BODY_MAX + 600;
    char *big = malloc(big_len);
    H_CHECK(big != NULL, "out of memory");
    memset(big, ' ', big_len);
    for (size_t i = 0; good[i]; i++) /* the quote, then spaces: still valid JSON */
        big[i] = good[i];
    publish_quote(sx, "acme", x, "r-big", "it-dlq-3", big, big_len);
    struct expect e3 = {"oversize", "aggregator", "oversize", "acme", x};
    expect_entry(&e3, sx, big, big_len);
    free(big);
    free(good);

    /* subject: tenant and id from the headers; then from the body when no header names it */
    good = h_quote_body(x, "r-subj", 100, 10, "USD");
    publish_quote("rfq.v1.quote.acme", "acme", x, "r-subj", "it-dlq-4", good, strlen(good));
    struct expect e4 = {"subject without rfq id", "aggregator", "subject", "acme", x};
    expect_entry(&e4, "rfq.v1.quote.acme", good, strlen(good));
    snprintf(s, sizeof(s), "rfq.v1.quote.ACME.%s", x);
    publish_quote(s, NULL, NULL, "r-subj", "it-dlq-5", good, strlen(good));
    struct expect e5 = {"upper-case tenant, no headers", "aggregator", "subject", NULL, x};
    expect_entry(&e5, s, good, strlen(good));
    free(good);

    /* mismatch: another tenant's header (kept aside), and no tenant header at all */
    good = h_quote_body(x, "r-wt", 100, 10, "USD");
    publish_quote(sx, "globex", x, "r-wt", "it-dlq-6", good, strlen(good));
    struct expect e6 = {"Rfq-Tenant of another tenant", "aggregator", "mismatch", "acme", x};
    q.mismatch = expect_entry(&e6, sx, good, strlen(good));
    m = entry_get(q.mismatch);
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_ORIG_PREFIX RFQ_HDR_TENANT), "globex",
                "the original Rfq-Tenant, kept aside");
    natsMsg_Destroy(m);
    free(good);
    good = h_quote_body(x, "r-nohdr", 100, 10, "USD");
    publish_quote(sx, NULL, x, "r-nohdr", "it-dlq-7", good, strlen(good));
    struct expect e7 = {"no Rfq-Tenant header", "aggregator", "mismatch", "acme", x};
    q.nohdr = expect_entry(&e7, sx, good, strlen(good));
    m = entry_get(q.nohdr);
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_ADDED), RFQ_HDR_TENANT, "Rfq-Dlq-Added");
    natsMsg_Destroy(m);
    free(good);

    /* unknown_rfq: an id nobody issued; then Y, whose hash the test removes for a while */
    char nobody[37];
    rfq_id_new(nobody);
    quote_subject(s, sizeof(s), "acme", nobody);
    good = h_quote_body(nobody, "r-unk", 100, 10, "USD");
    publish_quote(s, "acme", nobody, "r-unk", "it-dlq-8", good, strlen(good));
    struct expect e8 = {"unknown RFQ", "aggregator", "unknown_rfq", "acme", nobody};
    expect_entry(&e8, s, good, strlen(good));
    free(good);
    rfq_key_rfq(key, sizeof(key), "acme", y);
    redisReply *dump = redisCommand(h_redis(), "DUMP %s", key);
    H_CHECK(dump && dump->type == REDIS_REPLY_STRING, "DUMP %s", key);
    long long pttl = h_redis_int_cmd("PTTL", key);
    H_CHECK_INT(h_redis_int_cmd("DEL", key), 1, "DEL RFQ Y");
    quote_subject(s, sizeof(s), "acme", y);
    good = h_quote_body(y, "r-u", 700, 30, "USD");
    char mid[160];
    snprintf(mid, sizeof(mid), "%s.r-u", y);
    publish_quote(s, "acme", y, "r-u", mid, good, strlen(good));
    struct expect e9 = {"RFQ hash gone", "aggregator", "unknown_rfq", "acme", y};
    q.unknown = expect_entry(&e9, s, good, strlen(good));
    free(good);
    redisReply *r = redisCommand(h_redis(), "RESTORE %s %lld %b", key, pttl > 0 ? pttl : 0,
                                 dump->str, dump->len);
    H_CHECK(r && r->type == REDIS_REPLY_STATUS, "RESTORE %s", key);
    freeReplyObject(r);
    freeReplyObject(dump);

    /* late: the RFQ is still open in Redis, but the quote arrives after its deadline */
    rfq_key_rfq(key, sizeof(key), "acme", l);
    r = redisCommand(h_redis(), "HSET %s deadline_ms %lld", key, (long long)h_now_ms() - 1000);
    H_CHECK(r && r->type == REDIS_REPLY_INTEGER, "HSET deadline_ms");
    freeReplyObject(r);
    quote_subject(s, sizeof(s), "acme", l);
    good = h_quote_body(l, "r-late", 100, 10, "USD");
    publish_quote(s, "acme", l, "r-late", "it-dlq-10", good, strlen(good));
    struct expect e10 = {"late", "aggregator", "late", "acme", l};
    expect_entry(&e10, s, good, strlen(good));
    H_CHECK_INT(h_redis_hget_int(key, "late", -1), 1, "late counter");
    free(good);

    /* closed: the RFQ expired before the quote came */
    json_decref(h_wait_closed(req, tok, ex, WAIT_MS));
    quote_subject(s, sizeof(s), "acme", ex);
    good = h_quote_body(ex, "r-closed", 100, 10, "USD");
    publish_quote(s, "acme", ex, "r-closed", "it-dlq-11", good, strlen(good));
    struct expect e11 = {"expired RFQ", "aggregator", "closed", "acme", ex};
    expect_entry(&e11, s, good, strlen(good));
    free(good);

    /* currency */
    good = h_quote_body(x, "r-eur", 100, 10, "EUR");
    publish_quote(sx, "acme", x, "r-eur", "it-dlq-12", good, strlen(good));
    struct expect e12 = {"currency", "aggregator", "currency", "acme", x};
    q.currency = expect_entry(&e12, sx, good, strlen(good));
    free(good);

    /* duplicate beyond the window: the same responder's quote again as a new stream message */
    good = h_quote_body(x, "r-dup", 1000, 60, "USD");
    snprintf(mid, sizeof(mid), "%s.r-dup", x);
    publish_quote(sx, "acme", x, "r-dup", mid, good, strlen(good));
    json_decref(h_wait_quote_count(req, tok, x, 1, WAIT_MS));
    snprintf(mid, sizeof(mid), "%s.r-dup.later", x);
    publish_quote(sx, "acme", x, "r-dup", mid, good, strlen(good));
    struct expect e13 = {"duplicate", "aggregator", "duplicate", "acme", x};
    uint64_t s13 = expect_entry(&e13, sx, good, strlen(good));
    m = entry_get(s13);
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_MSG_ID), mid, "Rfq-Dlq-Msg-Id of the duplicate");
    natsMsg_Destroy(m);
    rfq_key_rfq(key, sizeof(key), "acme", x);
    H_CHECK_INT(h_redis_hget_int(key, "dups", -1), 1, "dups counter (still counted)");
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 1, "count of X");
    free(good);

    /* The responder stage: an RFQ past its deadline is shed silently; malformed ones are
     * dead-lettered with the subject's tenant and their reply subject. */
    char rid[37], reply[RFQ_KEY_MAX];
    rfq_id_new(rid);
    quote_subject(reply, sizeof(reply), "acme", rid);
    char *expired_rfq = rfq_body("acme", rid, h_now_ms() - 1000);
    publish_rfq(reply, NULL, expired_rfq);
    const char *bad_rfq = "{not json";
    const char *rh[] = {RFQ_HDR_TENANT, "acme", RFQ_HDR_ID, rid, NULL};
    publish_rfq(reply, rh, bad_rfq);
    struct expect e14 = {"malformed RFQ", "responder", "bad_json", "acme", rid};
    q.rfq_bad = expect_entry(&e14, RSP_SUBJECT, bad_rfq, strlen(bad_rfq));
    m = entry_get(q.rfq_bad);
    H_CHECK_STR(hdr(m, RFQ_HDR_DLQ_REPLY), reply, "Rfq-Dlq-Reply of the refused RFQ");
    natsMsg_Destroy(m);
    H_CHECK_INT(h_dlq_count_subject(RSP_SUBJECT, NULL), 1,
                "responder entries (the expired RFQ is not one)");
    const char *schema_rfq = "{\"rfq_id\":\"x\"}";
    publish_rfq(reply, NULL, schema_rfq);
    struct expect e15 = {"RFQ schema", "responder", "schema", "acme", NULL};
    expect_entry(&e15, RSP_SUBJECT, schema_rfq, strlen(schema_rfq));
    char *valid_rfq = rfq_body("acme", rid, h_now_ms() + 10000);
    const char *forged[] = {RFQ_HDR_TENANT, "globex", NULL};
    publish_rfq(reply, forged, valid_rfq);
    struct expect e16 = {"RFQ with another tenant's header", "responder", "mismatch", "acme", rid};
    expect_entry(&e16, RSP_SUBJECT, valid_rfq, strlen(valid_rfq));
    h_proc_check_alive(rsp);
    q.manual = responder_permissions();
    H_CHECK(h_quotes_drained(WAIT_MS, NULL, NULL), "refused quotes left unacknowledged");

#ifdef RFQ_IT_RFQCTL_BIN
    check_list_show(&q, x, sx);
    check_replays(&q, req, tok, y, sx);
#else
    h_note("rfqctl dlq checks skipped: RFQ_IT_RFQCTL_BIN not defined");
#endif

    free(valid_rfq);
    free(expired_rfq);
    free(short_body);
    free(body);
    free(tok);
}
