/* test_flow: the happy path with a responder fleet, and deadline expiry with a partial result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_msg.h"
#include "rfq_nats.h"
#include "scenarios.h"

/* Both streams exist after the aggregator started, with the subjects of the contract. */
static void check_streams(void)
{
    const char *names[] = {RFQ_STREAM_QUOTES, RFQ_STREAM_DLQ};
    const char *subjects[] = {RFQ_SUBJECT_QUOTES_ALL, RFQ_SUBJECT_DLQ_ALL};
    for (int i = 0; i < 2; i++) {
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetStreamInfo(&si, h_js(), names[i], NULL, &jerr);
        H_CHECK(s == NATS_OK, "stream %s missing after the aggregator started: %s (js %d)",
                names[i], natsStatus_GetText(s), (int)jerr);
        H_CHECK(si->Config->SubjectsLen == 1 && strcmp(si->Config->Subjects[0], subjects[i]) == 0,
                "stream %s does not capture %s", names[i], subjects[i]);
        jsStreamInfo_Destroy(si);
    }
}

/* The key names of one RFQ. */
struct keys {
    char rfq[RFQ_KEY_MAX], quotes[RFQ_KEY_MAX], rank[RFQ_KEY_MAX], idx[RFQ_KEY_MAX],
        member[RFQ_KEY_MAX];
};

static void keys_of(struct keys *k, const char *tenant, const char *id)
{
    H_CHECK(rfq_key_rfq(k->rfq, sizeof(k->rfq), tenant, id) == RFQ_OK &&
                rfq_key_quotes(k->quotes, sizeof(k->quotes), tenant, id) == RFQ_OK &&
                rfq_key_rank(k->rank, sizeof(k->rank), tenant, id) == RFQ_OK &&
                rfq_key_index(k->idx, sizeof(k->idx), tenant) == RFQ_OK &&
                rfq_deadline_member(k->member, sizeof(k->member), tenant, id) == RFQ_OK,
            "key names for %s/%s", tenant, id);
}

/* The scatter message and the responders' quotes follow the wire contract. */
static void check_wire(natsSubscription *scatter, natsSubscription *quotes, const char *id,
                       long long deadline)
{
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, scatter, 2000);
    H_CHECK(s == NATS_OK, "no RFQ seen on rfq.v1.req.>: %s", natsStatus_GetText(s));
    H_CHECK_STR(natsMsg_GetSubject(m), "rfq.v1.req.eu-west.acme", "scatter subject");
    char want[RFQ_KEY_MAX], dl[32];
    rfq_subject_quote(want, sizeof(want), "acme", id);
    H_CHECK_STR(natsMsg_GetReply(m), want, "scatter reply subject");
    H_CHECK_STR(rfq_nats_header(m, RFQ_HDR_ID), id, "scatter Rfq-Id");
    H_CHECK_STR(rfq_nats_header(m, RFQ_HDR_TENANT), "acme", "scatter Rfq-Tenant");
    snprintf(dl, sizeof(dl), "%lld", deadline);
    H_CHECK_STR(rfq_nats_header(m, RFQ_HDR_DEADLINE), dl, "scatter Rfq-Deadline");
    struct rfq_request rq;
    struct rfq_err err = {{0}, {0}};
    H_CHECK(rfq_request_decode(&rq, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &err) ==
                RFQ_OK,
            "scatter body does not decode: %s %s", err.field, err.message);
    H_CHECK_STR(rq.rfq_id, id, "scatter body rfq_id");
    H_CHECK_STR(rq.tenant, "acme", "scatter body tenant");
    H_CHECK_INT(rq.deadline_ms, deadline, "scatter body deadline_ms");
    H_CHECK_INT(rq.body.max_quotes, 5, "scatter body max_quotes");
    natsMsg_Destroy(m);

    for (int i = 0; i < 5; i++) {
        s = natsSubscription_NextMsg(&m, quotes, 2000);
        H_CHECK(s == NATS_OK, "quote %d not seen on the wire: %s", i + 1, natsStatus_GetText(s));
        H_CHECK_STR(natsMsg_GetSubject(m), want, "quote subject (the scatter's reply)");
        struct rfq_quote q;
        H_CHECK(rfq_quote_decode(&q, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), &err) ==
                    RFQ_OK,
                "responder quote does not decode: %s %s", err.field, err.message);
        char mid[200];
        snprintf(mid, sizeof(mid), "%s.%s", id, q.responder_id);
        H_CHECK_STR(rfq_nats_header(m, "Nats-Msg-Id"), mid, "quote Nats-Msg-Id");
        H_CHECK_STR(rfq_nats_header(m, RFQ_HDR_ID), id, "quote Rfq-Id");
        H_CHECK_STR(rfq_nats_header(m, RFQ_HDR_TENANT), "acme", "quote Rfq-Tenant");
        H_CHECK_STR(rfq_nats_header(m, RFQ_HDR_RESPONDER), q.responder_id, "quote Rfq-Responder");
        natsMsg_Destroy(m);
    }
    natsSubscription_Destroy(scatter);
    natsSubscription_Destroy(quotes);
}

void sc_full_flow(void)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    const char *fleet[] = {"RFQ_FLEET_SIZE=5",
                           "RFQ_REGIONS=eu-west",
                           "RFQ_DECLINE_PCT=0",
                           "RFQ_THINK_MS_MIN=5",
                           "RFQ_THINK_MS_MAX=60",
                           "RFQ_SEED=7",
                           "RFQ_RESPONDER_PREFIX=unicorn",
                           NULL};
    h_responder_start(fleet);
    check_streams();
    /* Watch the scatter and the quotes on the wire (core subscriptions see them too). */
    natsSubscription *scatter = NULL, *quotes = NULL;
    H_CHECK(natsConnection_SubscribeSync(&scatter, h_nc(), "rfq.v1.req.>") == NATS_OK &&
                natsConnection_SubscribeSync(&quotes, h_nc(), "rfq.v1.quote.acme.>") == NATS_OK &&
                natsConnection_Flush(h_nc()) == NATS_OK,
            "cannot subscribe to the scatter and quote subjects");

    char *tok = h_token("acme", "enterprise", 3600);
    const int timeout_ms = 3000;
    char *body = h_submit_body("eu-west", 5, timeout_ms);

    /* Submit and check the 202 answer in full. */
    struct h_resp r;
    h_http(&r, req, "POST", "/v1/rfqs", tok, "application/json", body, strlen(body));
    H_CHECK(r.status == 202, "POST /v1/rfqs: HTTP %ld (body %.300s)", r.status, r.body);
    H_CHECK(r.json != NULL, "202 body is not JSON: %.300s", r.body);
    const char *id_s = h_jstr(r.json, "rfq_id");
    H_CHECK(id_s && rfq_ident_valid(id_s), "202 body has no valid rfq_id: %.300s", r.body);
    char id[RFQ_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", id_s);
    H_CHECK_STR(h_jstr(r.json, "status"), "open", "202 body status");
    long long created = h_jint(r.json, "created_ms", -1);
    long long deadline = h_jint(r.json, "deadline_ms", -1);
    H_CHECK(created > 0 && deadline - created == timeout_ms,
            "202 body: deadline_ms - created_ms = %lld, expected %d", deadline - created,
            timeout_ms);
    H_CHECK_INT(h_jint(r.json, "max_quotes", -1), 5, "202 body max_quotes");
    char hv[256], want[256];
    snprintf(want, sizeof(want), "/v1/rfqs/%s", id);
    H_CHECK(h_resp_header(&r, "Location", hv, sizeof(hv)), "202 without Location header");
    H_CHECK_STR(hv, want, "Location header");
    H_CHECK(h_resp_header(&r, "Retry-After", hv, sizeof(hv)) && atoi(hv) >= 1,
            "202 without a positive Retry-After header");
    json_t *links = json_object_get(r.json, "links");
    H_CHECK_STR(h_jstr(links, "self"), want, "links.self");
    snprintf(want, sizeof(want), "/v1/rfqs/%s/quotes", id);
    H_CHECK_STR(h_jstr(links, "quotes"), want, "links.quotes");
    snprintf(want, sizeof(want), "/v1/rfqs/%s/events", id);
    H_CHECK_STR(h_jstr(links, "events"), want, "links.events");
    h_resp_free(&r);

    /* 202 is answered only once the RFQ is stored: the hash and the index entry exist. */
    struct keys k;
    keys_of(&k, "acme", id);
    H_CHECK_INT(h_redis_int_cmd("EXISTS", k.rfq), 1, "rfq hash exists right after 202");
    char v[128];
    H_CHECK(h_redis_hget(k.rfq, "tenant", v, sizeof(v)), "rfq hash has no tenant");
    H_CHECK_STR(v, "acme", "rfq hash tenant");
    H_CHECK_INT(h_redis_zscore(k.idx, id), created, "tenant index score (created_ms)");

    /* The fleet answers: completed with 5 quotes, well before the deadline. */
    json_t *st = h_wait_closed(req, tok, id, timeout_ms + 5000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "RFQ status");
    H_CHECK_STR(h_jstr(st, "tenant"), "acme", "RFQ tenant");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 5, "quote_count");
    H_CHECK_INT(h_jint(st, "declines", -1), 0, "declines with RFQ_DECLINE_PCT=0");
    long long closed = h_jint(st, "closed_ms", -1);
    H_CHECK(closed >= created && closed <= deadline,
            "closed_ms %lld not within [created %lld, deadline %lld]", closed, created, deadline);
    H_CHECK_STR(h_jstr(json_object_get(st, "request"), "region"), "eu-west", "request.region");
    json_t *best = json_object_get(st, "best");
    H_CHECK(json_is_object(best), "completed RFQ has no best quote");

    snprintf(want, sizeof(want), "/v1/rfqs/%s/quotes", id);
    json_t *qa = h_get_json(req, tok, want);
    H_CHECK_STR(h_jstr(qa, "status"), "completed", "quotes answer status");
    h_check_ranked(qa, id, 5);
    json_t *qs = json_object_get(qa, "quotes");
    for (size_t i = 0; i < json_array_size(qs); i++) {
        json_t *q = json_array_get(qs, i);
        H_CHECK(strncmp(h_jstr(q, "responder_id"), "unicorn", 7) == 0,
                "responder id %s lacks the fleet prefix", h_jstr(q, "responder_id"));
        H_CHECK_STR(h_jstr(json_object_get(q, "price"), "currency"), "USD", "quote currency");
    }
    json_t *first = json_array_get(qs, 0);
    H_CHECK_STR(h_jstr(best, "responder_id"), h_jstr(first, "responder_id"),
                "best is the rank-1 quote");
    H_CHECK_INT(h_jint(json_object_get(best, "price"), "amount_minor", -1),
                h_jint(json_object_get(first, "price"), "amount_minor", -2), "best price");

    /* Events: five quote events (counts 1..5) and exactly one completed event. */
    H_CHECK(h_events_wait(id, "completed", 1, 5000), "no completed event for %s", id);
    H_CHECK(h_events_wait(id, "quote", 5, 5000), "only %d quote events for %s",
            h_events_count(id, "quote"), id);
    bool seen[6] = {false};
    for (int i = 0; i < 5; i++) {
        json_t *e = h_events_get(id, "quote", i);
        long long n = h_jint(e, "count", -1);
        H_CHECK(n >= 1 && n <= 5 && !seen[n], "quote event count %lld repeated or out of range", n);
        seen[n] = true;
        H_CHECK_STR(h_jstr(e, "tenant"), "acme", "quote event tenant");
        H_CHECK(json_is_object(json_object_get(e, "quote")), "quote event has no quote");
    }
    json_t *ce = h_events_get(id, "completed", 0);
    H_CHECK_STR(h_jstr(ce, "status"), "completed", "completed event status");
    H_CHECK_INT(h_jint(ce, "count", -1), 5, "completed event count");
    H_CHECK_STR(h_jstr(json_object_get(ce, "best"), "responder_id"), h_jstr(first, "responder_id"),
                "completed event best");

    check_wire(scatter, quotes, id, deadline);

    /* Past the deadline the sweeper must leave a completed RFQ alone. */
    while (h_now_ms() < deadline + 1000)
        h_sleep_ms(50);
    H_CHECK_INT(h_events_count(id, "completed"), 1, "completed events after the deadline");
    H_CHECK_INT(h_events_count(id, "expired"), 0, "expired events for a completed RFQ");
    H_CHECK_INT(h_events_count(id, "quote"), 5, "quote events after the deadline");
    H_CHECK(h_redis_hget(k.rfq, "status", v, sizeof(v)), "rfq hash lost its status");
    H_CHECK_STR(v, "completed", "stored status after the deadline");
    H_CHECK_INT(h_redis_hget_int(k.rfq, "count", -1), 5, "stored count");
    H_CHECK_INT(h_redis_int_cmd("HLEN", k.quotes), 5, "stored quotes");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", k.rank), 5, "ranked quotes");
    H_CHECK_INT(h_redis_zscore(RFQ_SYS_DEADLINES, k.member), -1,
                "deadline entry of a completed RFQ");

    json_decref(qa);
    json_decref(st);
    free(body);
    free(tok);
}

void sc_deadline_partial(void)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);

    /* RFQ A: 5 wanted, 2 quotes and a decline arrive, then the deadline passes. */
    const int timeout_ms = 1500;
    char *body = h_submit_body("eu-west", 5, timeout_ms);
    char a[RFQ_ID_MAX + 1], b[RFQ_ID_MAX + 1];
    json_t *sa = h_submit(req, tok, body, a);
    long long deadline = h_jint(sa, "deadline_ms", -1);
    json_t *sb = h_submit(req, tok, body, b); /* RFQ B: nothing arrives */
    h_publish_quote("acme", a, "r-expensive", 900, 120, NULL);
    h_publish_quote("acme", a, "r-cheap", 700, 300, NULL);
    char subject[RFQ_KEY_MAX];
    rfq_subject_quote(subject, sizeof(subject), "acme", a);
    char decline[256];
    snprintf(decline, sizeof(decline),
             "{\"rfq_id\":\"%s\",\"responder_id\":\"r-decliner\",\"decline\":\"too far\"}", a);
    const char *hdrs[] = {
        "Rfq-Id",      a,           "Rfq-Tenant", "acme", "Rfq-Responder", "r-decliner",
        "Nats-Msg-Id", "decline-1", NULL};
    h_js_publish(subject, hdrs, decline, strlen(decline), NULL, NULL);
    json_t *mid = h_wait_quote_count(req, tok, a, 2, timeout_ms);
    if (h_now_ms() < deadline - 200)
        H_CHECK_STR(h_jstr(mid, "status"), "open", "status before the deadline");
    json_decref(mid);

    json_t *st = h_wait_closed(req, tok, a, timeout_ms + 5000);
    H_CHECK(h_now_ms() >= deadline, "RFQ closed before its deadline");
    H_CHECK_STR(h_jstr(st, "status"), "expired", "status after the deadline");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 2, "quote_count of the partial result");
    H_CHECK_INT(h_jint(st, "declines", -1), 1, "declines");
    H_CHECK(h_jint(st, "closed_ms", -1) >= deadline, "closed_ms %lld before deadline %lld",
            h_jint(st, "closed_ms", -1), deadline);
    H_CHECK_STR(h_jstr(json_object_get(st, "best"), "responder_id"), "r-cheap", "best quote");

    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", a);
    json_t *qa = h_get_json(req, tok, path);
    H_CHECK_STR(h_jstr(qa, "status"), "expired", "quotes answer status");
    h_check_ranked(qa, a, 2);
    H_CHECK_STR(h_jstr(json_array_get(json_object_get(qa, "quotes"), 0), "responder_id"), "r-cheap",
                "rank 1");

    H_CHECK(h_events_wait(a, "expired", 1, 5000), "no expired event for %s", a);
    json_t *ev = h_events_get(a, "expired", 0);
    H_CHECK_STR(h_jstr(ev, "status"), "expired", "expired event status");
    H_CHECK_INT(h_jint(ev, "count", -1), 2, "expired event count");
    H_CHECK_STR(h_jstr(json_object_get(ev, "best"), "responder_id"), "r-cheap",
                "expired event best");
    H_CHECK_INT(h_events_count(a, "completed"), 0, "completed events for an expired RFQ");

    /* RFQ B: expired with nothing, best null. */
    json_t *stb = h_wait_closed(req, tok, b, timeout_ms + 5000);
    H_CHECK_STR(h_jstr(stb, "status"), "expired", "status of the RFQ without quotes");
    H_CHECK_INT(h_jint(stb, "quote_count", -1), 0, "quote_count without quotes");
    H_CHECK(json_is_null(json_object_get(stb, "best")), "best of an empty RFQ is not null");
    H_CHECK(h_events_wait(b, "expired", 1, 5000), "no expired event for %s", b);
    ev = h_events_get(b, "expired", 0);
    H_CHECK_INT(h_jint(ev, "count", -1), 0, "expired event count without quotes");
    H_CHECK(json_is_null(json_object_get(ev, "best")), "expired event best is not null");

    /* Stored state agrees, and the deadline entries are gone. */
    struct keys k;
    keys_of(&k, "acme", a);
    char v[64];
    H_CHECK(h_redis_hget(k.rfq, "status", v, sizeof(v)), "rfq hash lost its status");
    H_CHECK_STR(v, "expired", "stored status");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", k.rank), 2, "ranked quotes");
    H_CHECK_INT(h_redis_zscore(RFQ_SYS_DEADLINES, k.member), -1, "deadline entry after expiry");
    h_sleep_ms(500);
    H_CHECK_INT(h_events_count(a, "expired"), 1, "expired events for A");
    H_CHECK_INT(h_events_count(b, "expired"), 1, "expired events for B");

    json_decref(qa);
    json_decref(st);
    json_decref(stb);
    json_decref(sa);
    json_decref(sb);
    free(body);
    free(tok);
}
