/* test_hardening: peers that abuse the protocol (dangerous reply subjects, answer floods,
 * absurd deadlines) and a quote that reaches an RFQ the sweeper already closed. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "rfq_msg.h"
#include "rfq_nats.h"
#include "rfq_redis.h"
#include "scenarios.h"

/* The JetStream API call a forged reply subject would aim an engine's publish at. */
#define PURGE_QUOTES "$JS.API.STREAM.PURGE." RFQ_STREAM_QUOTES
/* An engine subject a forged reply subject would use to inject a fake event. */
#define EVENT_TRAP "rfq.v1.event.acme.x"
/* Must match AGG_ANSWERS_MAX in aggregator/agg_store.h. */
#define ANSWERS_MAX 1000

/* Responder fleet for these scenarios: 2 answers at once, never a decline. */
static const char *const fleet_env[] = {"RFQ_FLEET_SIZE=2",   "RFQ_REGIONS=eu-west",
                                        "RFQ_DECLINE_PCT=0",  "RFQ_THINK_MS_MIN=0",
                                        "RFQ_THINK_MS_MAX=0", NULL};

/* Wait until stream holds at least want messages (bounded). */
static void wait_h_stream_msgs(const char *stream, uint64_t want, int bound_ms, const char *what)
{
    int64_t until = h_now_ms() + bound_ms;
    uint64_t n;
    while ((n = h_stream_msgs(stream)) < want && h_now_ms() < until)
        h_sleep_ms(20);
    H_CHECK(n >= want, "%s: stream %s holds %llu messages after %d ms, expected >= %llu", what,
            stream, (unsigned long long)n, bound_ms, (unsigned long long)want);
}

/* A synchronous subscription on subject, registered with the server before returning. New. */
static natsSubscription *watch(const char *subject)
{
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_SubscribeSync(&sub, h_nc(), subject);
    if (s == NATS_OK)
        s = natsConnection_Flush(h_nc());
    H_CHECK(s == NATS_OK, "subscribe %s: %s", subject, natsStatus_GetText(s));
    return sub;
}

/* Messages received on a watch() subscription since the last call (consumes them). */
static int watch_count(natsSubscription *sub)
{
    int n = 0;
    natsMsg *m = NULL;
    while (natsSubscription_NextMsg(&m, sub, 50) == NATS_OK) {
        n++;
        natsMsg_Destroy(m);
    }
    return n;
}

/* Core-NATS publish of data to subject with the given reply subject and an optional
 * Authorization header, flushed so the server has it before we return. */
static void publish_with_reply(const char *subject, const char *reply, const char *authorization,
                               const char *data, size_t len)
{
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, reply, data, (int)len);
    if (s == NATS_OK && authorization)
        s = natsMsgHeader_Set(m, RFQ_HDR_AUTH, authorization);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(h_nc(), m);
    if (s == NATS_OK)
        s = natsConnection_Flush(h_nc());
    natsMsg_Destroy(m);
    H_CHECK(s == NATS_OK, "publish to %s (reply %s): %s", subject, reply, natsStatus_GetText(s));
}

/* rfq.v1.submit request with an ordinary inbox; returns the Rfq-Status header into status. */
static void nats_submit_status(const char *authorization, const char *body, char *status,
                               size_t cap)
{
    natsMsg *reply = h_nats_submit_request(authorization, body, strlen(body));
    const char *v = NULL;
    snprintf(status, cap, "%s",
             natsMsgHeader_Get(reply, RFQ_HDR_STATUS, &v) == NATS_OK && v ? v : "");
    natsMsg_Destroy(reply);
}

/* A well-formed RFQ as the requester scatters it, for tenant/rfq_id with deadline_ms. New. */
static char *forged_rfq(const char *tenant, const char *rfq_id, int64_t deadline_ms)
{
    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.rfq_id, sizeof(r.rfq_id), "%s", rfq_id);
    snprintf(r.tenant, sizeof(r.tenant), "%s", tenant);
    r.created_ms = h_now_ms();
    r.deadline_ms = deadline_ms;
    char *body = h_submit_body("eu-west", 5, 10000);
    struct rfq_limits lim = rfq_limits_default();
    struct rfq_err err = {{0}, {0}};
    H_CHECK(rfq_submit_decode(&r.body, body, strlen(body), &lim, &err) == RFQ_OK,
            "submit body for a forged RFQ: %s %s", err.field, err.message);
    free(body);
    char *out = NULL;
    size_t len = 0;
    H_CHECK(rfq_request_encode(&r, &out, &len) == RFQ_OK, "encode a forged RFQ");
    return out;
}

/* JetStream-publish a quote body for tenant/rfq_id as responder with its own Nats-Msg-Id;
 * returns the stream sequence. */
static uint64_t publish_answer(const char *tenant, const char *rfq_id, const char *responder,
                               const char *body, const char *msg_id)
{
    char subject[RFQ_KEY_MAX];
    H_CHECK(rfq_subject_quote(subject, sizeof(subject), tenant, rfq_id) == RFQ_OK, "quote subject");
    const char *hdrs[] = {RFQ_HDR_ID, rfq_id,        RFQ_HDR_TENANT, tenant, RFQ_HDR_RESPONDER,
                          responder,  "Nats-Msg-Id", msg_id,         NULL};
    uint64_t seq = 0;
    bool dup = true;
    h_js_publish(subject, hdrs, body, strlen(body), &seq, &dup);
    H_CHECK(!dup, "JetStream flagged %s as a duplicate", msg_id);
    return seq;
}

/* Part a: the requester's NATS submit never answers on $JS.API.* or rfq.* reply subjects.
 * Part b: a responder never answers a forged RFQ on a reply subject outside rfq.v1.quote.. */
void sc_reply_subject_guard(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *agg = h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    char *body = h_submit_body("eu-west", 5, 20000);
    char a_id[RFQ_ID_MAX + 1], b_id[RFQ_ID_MAX + 1], status[16];
    json_decref(h_submit(req, tok, body, a_id));

    /* The requester serves rfq.v1.submit (baseline for the silence checked below). */
    nats_submit_status(NULL, body, status, sizeof(status));
    H_CHECK_STR(status, "401", "Rfq-Status of an inbox request without a token");

    /* (a) A quote held in RFQ_QUOTES by a frozen aggregator, then submits whose reply subject
     * is the stream's purge API or an event subject. */
    h_proc_freeze(agg);
    h_publish_quote("acme", a_id, "r-held-1", 1000, 60, NULL);
    uint64_t held = h_stream_msgs(RFQ_STREAM_QUOTES);
    H_CHECK(held >= 1, "RFQ_QUOTES holds %llu messages with the aggregator frozen, expected >= 1",
            (unsigned long long)held);
    char idx[RFQ_KEY_MAX];
    rfq_key_index(idx, sizeof(idx), "acme");
    long long rfqs_before = h_redis_int_cmd("ZCARD", idx);
    natsSubscription *purge_watch = watch(PURGE_QUOTES);
    natsSubscription *event_watch = watch(EVENT_TRAP);
    publish_with_reply(RFQ_SUBJECT_SUBMIT, PURGE_QUOTES, NULL, body, strlen(body));
    publish_with_reply(RFQ_SUBJECT_SUBMIT, PURGE_QUOTES, auth, body, strlen(body));
    publish_with_reply(RFQ_SUBJECT_SUBMIT, EVENT_TRAP, NULL, body, strlen(body));
    publish_with_reply(RFQ_SUBJECT_SUBMIT, EVENT_TRAP, auth, body, strlen(body));
    h_sleep_ms(500);
    uint64_t after = h_stream_msgs(RFQ_STREAM_QUOTES);
    H_CHECK(after >= held,
            "RFQ_QUOTES went from %llu to %llu messages after submits with reply subject %s: "
            "the requester answered on the purge API",
            (unsigned long long)held, (unsigned long long)after, PURGE_QUOTES);
    H_CHECK_INT(watch_count(purge_watch), 0, "messages published on " PURGE_QUOTES);
    H_CHECK_INT(watch_count(event_watch), 0, "messages published on " EVENT_TRAP);
    long long rfqs_after = h_redis_int_cmd("ZCARD", idx);
    if (rfqs_after != rfqs_before)
        h_note("a submit with a refused reply subject still created %lld RFQ(s)",
               rfqs_after - rfqs_before);
    h_log("submits with reply %s / %s: no answer, stream still holds %llu", PURGE_QUOTES,
          EVENT_TRAP, (unsigned long long)after);

    /* Ordinary inbox requests are still answered. */
    nats_submit_status(NULL, body, status, sizeof(status));
    H_CHECK_STR(status, "401", "Rfq-Status of an inbox request without a token (after)");
    nats_submit_status(auth, body, status, sizeof(status));
    H_CHECK_STR(status, "202", "Rfq-Status of an inbox request with a token");

    h_proc_signal(agg, SIGCONT);
    H_CHECK(h_quotes_drained(10000, NULL, NULL), "aggregator did not consume after SIGCONT");
    json_decref(h_wait_quote_count(req, tok, a_id, 1, 5000));

    /* (b) RFQ B exists before the responder starts, so the requester's own scatter of it reaches
     * nobody: only the forged copy below can produce its quotes. */
    json_decref(h_submit(req, tok, body, b_id));
    h_proc_freeze(agg);
    h_publish_quote("acme", a_id, "r-held-2", 1100, 60, NULL);
    held = h_stream_msgs(RFQ_STREAM_QUOTES);
    H_CHECK(held >= 1, "RFQ_QUOTES holds %llu messages with the aggregator frozen, expected >= 1",
            (unsigned long long)held);
    struct h_proc *rsp = h_responder_start(fleet_env);
    char req_subject[RFQ_KEY_MAX];
    H_CHECK(rfq_subject_request(req_subject, sizeof(req_subject), "eu-west", "acme") == RFQ_OK,
            "request subject");

    char forged_id[37];
    rfq_id_new(forged_id);
    char *forged = forged_rfq("acme", forged_id, h_now_ms() + 10000);
    publish_with_reply(req_subject, PURGE_QUOTES, NULL, forged, strlen(forged));
    publish_with_reply(req_subject, EVENT_TRAP, NULL, forged, strlen(forged));
    h_sleep_ms(500);
    after = h_stream_msgs(RFQ_STREAM_QUOTES);
    H_CHECK(after >= held,
            "RFQ_QUOTES went from %llu to %llu messages after a forged RFQ with reply subject "
            "%s: the responder answered on the purge API",
            (unsigned long long)held, (unsigned long long)after, PURGE_QUOTES);
    H_CHECK_INT(watch_count(purge_watch), 0, "messages published on " PURGE_QUOTES " (responder)");
    H_CHECK_INT(watch_count(event_watch), 0, "messages published on " EVENT_TRAP " (responder)");
    h_proc_check_alive(rsp);

    /* Sanity: the same forged RFQ with a proper reply subject is answered by both. */
    char *forged_b = forged_rfq("acme", b_id, h_now_ms() + 10000);
    char reply_b[RFQ_KEY_MAX];
    H_CHECK(rfq_subject_quote(reply_b, sizeof(reply_b), "acme", b_id) == RFQ_OK, "quote subject");
    publish_with_reply(req_subject, reply_b, NULL, forged_b, strlen(forged_b));
    /* Both answers are ready at once: one batch message (the quote count below sees both). */
    wait_h_stream_msgs(RFQ_STREAM_QUOTES, after + 1, 5000, "quotes for the properly addressed RFQ");
    h_proc_signal(agg, SIGCONT);
    H_CHECK(h_quotes_drained(10000, NULL, NULL), "aggregator did not consume after SIGCONT");
    json_t *st = h_wait_quote_count(req, tok, b_id, 2, 5000);
    H_CHECK_INT(h_jint(st, "quote_count", -1), 2, "quote_count of RFQ B");
    json_decref(st);
    H_CHECK_INT(watch_count(purge_watch), 0, "messages published on " PURGE_QUOTES " (end)");
    H_CHECK_INT(watch_count(event_watch), 0, "messages published on " EVENT_TRAP " (end)");
    h_proc_check_alive(rsp);

    natsSubscription_Destroy(purge_watch);
    natsSubscription_Destroy(event_watch);
    free(forged_b);
    free(forged);
    free(body);
    free(tok);
}

/* One RFQ keeps at most ANSWERS_MAX answers: the 1001st decline and any later newcomer are
 * dead-lettered as overflow, a known responder's re-send is still a duplicate. */
void sc_answers_cap(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 100, 20000);
    char id[RFQ_ID_MAX + 1], subject[RFQ_KEY_MAX], key[RFQ_KEY_MAX], qkey[RFQ_KEY_MAX];
    json_decref(h_submit(req, tok, body, id));
    H_CHECK(rfq_subject_quote(subject, sizeof(subject), "acme", id) == RFQ_OK, "quote subject");
    rfq_key_rfq(key, sizeof(key), "acme", id);
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);

    char responder[32], mid[160], decline[256], last_decline[256] = "";
    for (int n = 1; n <= ANSWERS_MAX + 1; n++) {
        snprintf(responder, sizeof(responder), "d-%d", n);
        snprintf(mid, sizeof(mid), "%s.%s", id, responder);
        snprintf(decline, sizeof(decline),
                 "{\"rfq_id\":\"%s\",\"responder_id\":\"%s\",\"decline\":\"busy\"}", id, responder);
        publish_answer("acme", id, responder, decline, mid);
        if (n == ANSWERS_MAX + 1)
            snprintf(last_decline, sizeof(last_decline), "%s", decline);
    }
    h_log("published %d declines", ANSWERS_MAX + 1);
    uint64_t pending = 0;
    int64_t ack_pending = 0;
    H_CHECK(h_quotes_drained(20000, &pending, &ack_pending),
            "declines not drained after 20 s (pending %llu, ack pending %lld)",
            (unsigned long long)pending, (long long)ack_pending);

    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), ANSWERS_MAX, "stored answers (HLEN quotes)");
    H_CHECK_INT(h_redis_hget_int(key, "overflow", 0), 1, "rfq hash overflow");
    H_CHECK_INT(h_redis_hget_int(key, "declines", 0), ANSWERS_MAX, "rfq hash declines");
    H_CHECK_INT(h_redis_hget_int(key, "count", 0), 0, "rfq hash count");
    H_CHECK_INT(h_dlq_count_subject(subject, "overflow"), 1, "overflow dead letters");
    H_CHECK_INT(h_dlq_count_subject(subject, NULL), 1, "dead letters for the RFQ");
    struct h_dlq_entry e;
    if (!h_dlq_wait(subject, last_decline, strlen(last_decline), 0, &e))
        h_note("the overflow dead letter is not the last decline published (d-%d)",
               ANSWERS_MAX + 1);
    else
        h_dlq_entry_free(&e);

    /* A priced quote from a newcomer is refused too; a known responder's re-send is a dup. */
    h_publish_quote("acme", id, "r-new", 900, 60, NULL);
    snprintf(decline, sizeof(decline),
             "{\"rfq_id\":\"%s\",\"responder_id\":\"d-1\",\"decline\":\"busy\"}", id);
    snprintf(mid, sizeof(mid), "%s.d-1.resend", id);
    publish_answer("acme", id, "d-1", decline, mid);
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "the last two answers were not drained");
    H_CHECK_INT(h_redis_hget_int(key, "overflow", 0), 2, "rfq hash overflow after a newcomer");
    H_CHECK_INT(h_redis_hget_int(key, "dups", 0), 1, "rfq hash dups after a re-send");
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), ANSWERS_MAX, "stored answers after both");
    H_CHECK_INT(h_redis_hget_int(key, "count", 0), 0, "rfq hash count after both");
    H_CHECK_INT(h_dlq_count_subject(subject, "overflow"), 2, "overflow dead letters after both");

    /* The RFQ stays readable. */
    char path[160];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    int64_t t0 = h_now_ms();
    json_t *st = h_get_json(req, tok, path);
    h_log("GET %s answered in %lld ms", path, (long long)(h_now_ms() - t0));
    H_CHECK_STR(h_jstr(st, "status"), "open", "status");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 0, "quote_count");
    H_CHECK_INT(h_jint(st, "declines", -1), ANSWERS_MAX, "declines");
    H_CHECK(json_is_null(json_object_get(st, "best")), "best is not null without priced quotes");
    json_decref(st);
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id);
    st = h_get_json(req, tok, path);
    h_check_ranked(st, id, 0);
    json_decref(st);

    free(body);
    free(tok);
}

/* A quote stamped by JetStream before the deadline but processed only after the sweep closed
 * the RFQ belongs to its partial result; one stamped after the deadline does not. */
void sc_swept_quote_kept(void)
{
    h_nats_start();
    h_redis_start();
    H_CHECK(rfq_streams_ensure(h_js()) == RFQ_OK, "rfq_streams_ensure");
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 5, 300);
    char id[RFQ_ID_MAX + 1], subject[RFQ_KEY_MAX], key[RFQ_KEY_MAX], qkey[RFQ_KEY_MAX],
        rkey[RFQ_KEY_MAX], member[RFQ_KEY_MAX];
    json_t *sub = h_submit(req, tok, body, id);
    long long deadline = h_jint(sub, "deadline_ms", -1);
    json_decref(sub);
    H_CHECK(deadline > 0, "submit answer without deadline_ms");
    H_CHECK(rfq_subject_quote(subject, sizeof(subject), "acme", id) == RFQ_OK, "quote subject");
    rfq_key_rfq(key, sizeof(key), "acme", id);
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
    rfq_key_rank(rkey, sizeof(rkey), "acme", id);
    rfq_deadline_member(member, sizeof(member), "acme", id);

    /* The quote reaches the stream at once; no aggregator consumes it yet. */
    char mid[160];
    snprintf(mid, sizeof(mid), "%s.r-early", id);
    char *q = h_quote_body(id, "r-early", 700, 120, "USD");
    uint64_t seq = publish_answer("acme", id, "r-early", q, mid);
    natsMsg *stored = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetMsg(&stored, h_js(), RFQ_STREAM_QUOTES, seq, NULL, &jerr);
    H_CHECK(s == NATS_OK, "read back quote seq %llu: %s (js error %d)", (unsigned long long)seq,
            natsStatus_GetText(s), (int)jerr);
    long long stamp_ms = (long long)(natsMsg_GetTime(stored) / 1000000);
    natsMsg_Destroy(stored);
    H_CHECK(stamp_ms <= deadline,
            "precondition: the quote was stamped %lld ms after the deadline (machine too slow to "
            "publish within the 300 ms timeout)",
            stamp_ms - deadline);
    h_log("quote stamped %lld ms before the deadline", deadline - stamp_ms);

    /* Sweep it ourselves, 300 ms past the deadline, with the engine's own script. */
    while (h_now_ms() < deadline + 300)
        h_sleep_ms(20);
    char cutoff[24], now[24];
    snprintf(cutoff, sizeof(cutoff), "%lld", (long long)h_now_ms());
    snprintf(now, sizeof(now), "%s", cutoff);
    const char *argv[] = {
        "EVAL", rfq_script_body(RFQ_SCRIPT_SWEEP_EXPIRED), "1", RFQ_SYS_DEADLINES, cutoff, "100",
        now};
    redisReply *r = redisCommandArgv(h_redis(), 7, argv, NULL);
    H_CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY, "sweep script: %s",
            r ? (r->type == REDIS_REPLY_ERROR ? r->str : "not an array") : h_redis()->errstr);
    bool swept = false;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, member) == 0)
            swept = true;
    freeReplyObject(r);
    H_CHECK(swept, "the sweep script did not expire %s", member);
    char v[32];
    H_CHECK(h_redis_hget(key, "status", v, sizeof(v)), "RFQ hash missing");
    H_CHECK_STR(v, "expired", "status after the sweep");

    /* The aggregator comes up late and processes the quote. */
    h_events_start();
    h_aggregator_start(NULL);
    H_CHECK(h_quotes_drained(10000, NULL, NULL), "aggregator did not process the early quote");
    H_CHECK(h_events_wait(id, "quote", 1, 5000), "no quote event for the early quote");
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 1, "rfq hash count");
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), 1, "stored quotes");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", rkey), 1, "ranked quotes");
    H_CHECK_INT(h_dlq_count_subject(subject, NULL), 0, "dead letters for the early quote");
    char path[160];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    json_t *st = h_get_json(req, tok, path);
    H_CHECK_STR(h_jstr(st, "status"), "expired", "status after the early quote");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 1, "quote_count");
    json_decref(st);
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id);
    st = h_get_json(req, tok, path);
    h_check_ranked(st, id, 1);
    H_CHECK_STR(h_jstr(json_array_get(json_object_get(st, "quotes"), 0), "responder_id"), "r-early",
                "the stored quote");
    json_decref(st);

    /* A quote stamped after the deadline is refused. */
    snprintf(mid, sizeof(mid), "%s.r-late", id);
    char *late = h_quote_body(id, "r-late", 500, 60, "USD");
    publish_answer("acme", id, "r-late", late, mid);
    struct h_dlq_entry e;
    H_CHECK(h_dlq_wait(subject, late, strlen(late), 5000, &e),
            "quote stamped after the deadline was not dead-lettered within 5 s");
    H_CHECK(strcmp(e.reason, "late") == 0 || strcmp(e.reason, "closed") == 0,
            "dead-letter reason \"%s\", expected late or closed", e.reason);
    h_log("quote after the deadline dead-lettered with reason %s", e.reason);
    h_dlq_entry_free(&e);
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "late quote left unacknowledged");
    H_CHECK_INT(h_redis_hget_int(key, "count", -1), 1, "rfq hash count after the late quote");
    H_CHECK_INT(h_redis_int_cmd("HLEN", qkey), 1, "stored quotes after the late quote");
    H_CHECK(h_redis_hget(key, "status", v, sizeof(v)), "RFQ hash missing");
    H_CHECK_STR(v, "expired", "status after the late quote");
    H_CHECK_INT(h_events_count(id, "quote"), 1, "quote events");

    free(late);
    free(q);
    free(body);
    free(tok);
}

/* A forged RFQ with an absurd deadline does not take the responder down. */
void sc_huge_deadline_rfq(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    struct h_proc *rsp = h_responder_start(fleet_env);
    char *tok = h_token("acme", "enterprise", 3600);
    char req_subject[RFQ_KEY_MAX];
    H_CHECK(rfq_subject_request(req_subject, sizeof(req_subject), "eu-west", "acme") == RFQ_OK,
            "request subject");

    /* deadline_ms INT64_MAX, addressed to a syntactically valid (unknown) RFQ. */
    char huge_id[37], huge_reply[RFQ_KEY_MAX];
    rfq_id_new(huge_id);
    H_CHECK(rfq_subject_quote(huge_reply, sizeof(huge_reply), "acme", huge_id) == RFQ_OK,
            "quote subject");
    char *base = forged_rfq("acme", huge_id, h_now_ms() + 10000);
    json_t *j = json_loads(base, 0, NULL);
    H_CHECK(json_is_object(j), "forged RFQ is not a JSON object");
    json_object_set_new(j, "deadline_ms", json_integer((json_int_t)INT64_MAX));
    char *huge = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    H_CHECK(huge && strstr(huge, "\"deadline_ms\":9223372036854775807"), "forged body: %s",
            huge ? huge : "(null)");
    publish_with_reply(req_subject, huge_reply, NULL, huge, strlen(huge));

    /* The latest deadline the schema accepts (the responder's quote would be valid past it). */
    char edge_id[37], edge_reply[RFQ_KEY_MAX];
    rfq_id_new(edge_id);
    H_CHECK(rfq_subject_quote(edge_reply, sizeof(edge_reply), "acme", edge_id) == RFQ_OK,
            "quote subject");
    char *edge = forged_rfq("acme", edge_id, RFQ_TIME_MAX_MS);
    publish_with_reply(req_subject, edge_reply, NULL, edge, strlen(edge));

    /* Then an ordinary forged RFQ to a third unknown id: its answers reach the aggregator
     * (dead-lettered unknown_rfq), which shows the responder got past the first two. */
    char next_id[37], next_reply[RFQ_KEY_MAX];
    rfq_id_new(next_id);
    H_CHECK(rfq_subject_quote(next_reply, sizeof(next_reply), "acme", next_id) == RFQ_OK,
            "quote subject");
    char *next = forged_rfq("acme", next_id, h_now_ms() + 10000);
    publish_with_reply(req_subject, next_reply, NULL, next, strlen(next));
    int64_t until = h_now_ms() + 5000;
    while (h_dlq_count_subject(next_reply, NULL) < 2 && h_now_ms() < until) {
        h_proc_check_alive(rsp);
        h_sleep_ms(50);
    }
    h_proc_check_alive(rsp);
    H_CHECK_INT(h_dlq_count_subject(next_reply, "unknown_rfq"), 2,
                "answers to the ordinary forged RFQ after the absurd ones (dead-lettered "
                "unknown_rfq)");
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "aggregator left answers unprocessed");
    int huge_answers = h_dlq_count_subject(huge_reply, NULL);
    int edge_answers = h_dlq_count_subject(edge_reply, NULL);
    h_log("answers sent: %d to deadline_ms INT64_MAX, %d to deadline_ms %lld", huge_answers,
          edge_answers, (long long)RFQ_TIME_MAX_MS);
    if (huge_answers != 0)
        h_note("the responder answered an RFQ with deadline_ms INT64_MAX (%d answers)",
               huge_answers);
    if (edge_answers == 0)
        h_note("the responder does not answer an RFQ whose deadline is the schema's maximum "
               "(%lld): its quote's valid_until_ms would exceed it",
               (long long)RFQ_TIME_MAX_MS);

    /* The responder still serves ordinary RFQs. */
    char *body = h_submit_body("eu-west", 2, 5000);
    char id[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, id));
    json_t *st = h_wait_closed(req, tok, id, 10000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "status of an ordinary RFQ afterwards");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 2, "quote_count of an ordinary RFQ afterwards");
    json_decref(st);
    h_proc_check_alive(rsp);

    free(body);
    free(next);
    free(edge);
    free(huge);
    free(base);
    free(tok);
}
