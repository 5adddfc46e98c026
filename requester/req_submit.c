/* req_submit: verify, decode, take the quota and persist (create_rfq.lua), scatter, answer. */
#include "req_submit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req_auth.h"
#include "req_quota.h"
#include "req_shed.h"
#include "req_tenant.h"
#include "rfq_ids.h"
#include "rfq_msg.h"
#include "rfq_nats.h"
#include "rfq_redis.h"

/* How long after a NATS reconnection submits are still refused (503), ms: our responders
 * resubscribe within about 350 ms of the server's return (250 ms reconnect wait plus jitter). */
#define REQ_SCATTER_GRACE_MS 1000

/* A scatter's flush waits in slices this long, so that a connection lost meanwhile ends the
 * wait at once instead of holding the submit until the server is back. */
#define REQ_FLUSH_SLICE_MS 50

/* When the requester's NATS connection last came back. The reconnected callback behind
 * rfq_nats_since_reconnect_ms runs on nats.c's callback thread after the connection already
 * reads CONNECTED and has sent its reconnect buffer, so alone it can be late: a submit admitted
 * in between, or a scatter whose PONG came back from the new server first, would see the
 * previous reconnection's time. nats.c counts the reconnection (natsStatistics) under the
 * connection lock before it resends anything, so the count is never late; its time is the
 * callback's stamp when that is newer than the previous look, else the look that saw it. */
static struct {
    pthread_mutex_t mu;
    uint64_t count;  /* reconnections of the connection seen by the latest look */
    int64_t look_ns; /* monotonic time of the latest look */
    int64_t back_ns; /* of the latest reconnection; 0 = none */
} reconnect_clock = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Look at nc: *count = its reconnections so far; returns the milliseconds since the latest
 * (INT64_MAX when none). The callback's stamp is read before the count, so it cannot belong
 * to a reconnection the count does not include. */
static int64_t since_reconnect_ms(natsConnection *nc, uint64_t *count)
{
    int64_t now = rfq_mono_ns();
    int64_t cb_ms = rfq_nats_since_reconnect_ms();
    int64_t cb_ns = cb_ms == INT64_MAX ? 0 : now - cb_ms * 1000000;
    uint64_t n = 0;
    natsStatistics *stats = NULL;
    if (natsStatistics_Create(&stats) != NATS_OK || natsConnection_GetStats(nc, stats) != NATS_OK ||
        natsStatistics_GetCounts(stats, NULL, NULL, NULL, NULL, &n) != NATS_OK)
        n = UINT64_MAX; /* unknown: counts as a reconnection just now */
    natsStatistics_Destroy(stats);
    pthread_mutex_lock(&reconnect_clock.mu);
    if (n != reconnect_clock.count) {
        bool stamp_is_its = n == reconnect_clock.count + 1 && cb_ns > reconnect_clock.look_ns;
        reconnect_clock.back_ns = stamp_is_its ? cb_ns : now;
        reconnect_clock.count = n;
    }
    reconnect_clock.look_ns = now;
    int64_t back_ns = reconnect_clock.back_ns;
    pthread_mutex_unlock(&reconnect_clock.mu);
    *count = n;
    int64_t ms = back_ns ? (now - back_ns) / 1000000 : INT64_MAX;
    return ms < cb_ms ? ms : cb_ms;
}

/* The tenant-wide keys create_rfq touches besides the RFQ's own: quota state, open set and
 * the usage hash of the RFQ's creation month (the undo decrements the same month). */
struct tenant_keys {
    char quota[RFQ_KEY_MAX];
    char open[RFQ_KEY_MAX];
    char usage[RFQ_KEY_MAX];
};

static rfq_status tenant_keys_of(struct tenant_keys *k, const struct rfq_request *r)
{
    char month[RFQ_MONTH_LEN + 1];
    if (rfq_month_utc(r->created_ms, month) != RFQ_OK ||
        rfq_key_quota(k->quota, sizeof(k->quota), r->tenant) != RFQ_OK ||
        rfq_key_open(k->open, sizeof(k->open), r->tenant) != RFQ_OK ||
        rfq_key_usage(k->usage, sizeof(k->usage), r->tenant, month) != RFQ_OK)
        return RFQ_EINVAL;
    return RFQ_OK;
}

/* Arguments of one create_rfq call, kept across a retry on a fresh connection. */
struct create_call {
    const struct rfq_request *req;
    const char *json;
    size_t json_len;
    int64_t retention_ms;
    const struct rfq_quota *quota;
    int attempts;
    struct req_quota_verdict verdict; /* out */
};

/* EVALSHA create_rfq: the quota check and the creation in one atomic step. RFQ_OK with the
 * verdict filled (the caller answers 429 for a refusal). A retry that finds the id already
 * stored means the first attempt succeeded before its connection broke (ids are random
 * UUIDs): that counts as created. */
static rfq_status create_in_redis(redisContext *c, void *arg)
{
    struct create_call *cc = arg;
    const struct rfq_request *r = cc->req;
    struct tenant_keys tk;
    char k_rfq[RFQ_KEY_MAX], k_idx[RFQ_KEY_MAX], member[RFQ_KEY_MAX];
    char created[24], deadline[24], maxq[16], retention[24], rate[24], burst[24], max_open[24];
    if (rfq_key_rfq(k_rfq, sizeof(k_rfq), r->tenant, r->rfq_id) != RFQ_OK ||
        rfq_key_index(k_idx, sizeof(k_idx), r->tenant) != RFQ_OK ||
        rfq_deadline_member(member, sizeof(member), r->tenant, r->rfq_id) != RFQ_OK ||
        tenant_keys_of(&tk, r) != RFQ_OK)
        return RFQ_EINVAL;
    snprintf(created, sizeof(created), "%lld", (long long)r->created_ms);
    snprintf(deadline, sizeof(deadline), "%lld", (long long)r->deadline_ms);
    snprintf(maxq, sizeof(maxq), "%d", r->body.max_quotes);
    snprintf(retention, sizeof(retention), "%lld", (long long)cc->retention_ms);
    snprintf(rate, sizeof(rate), "%lld", (long long)cc->quota->rate_per_s);
    snprintf(burst, sizeof(burst), "%lld", (long long)cc->quota->burst);
    snprintf(max_open, sizeof(max_open), "%lld", (long long)cc->quota->max_open);
    const char *argv[] = {
        k_rfq,     k_idx,     RFQ_SYS_DEADLINES, tk.quota, tk.open, tk.usage,
        r->rfq_id, r->tenant, created,           deadline, maxq,    r->body.currency,
        cc->json,  member,    retention,         rate,     burst,   max_open};
    size_t lens[sizeof(argv) / sizeof(argv[0])];
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        lens[i] = argv[i] == cc->json ? cc->json_len : strlen(argv[i]);
    cc->attempts++;
    redisReply *rep = rfq_redis_eval(c, RFQ_SCRIPT_CREATE_RFQ, 6,
                                     (int)(sizeof(argv) / sizeof(argv[0])), argv, lens);
    rfq_status st = req_quota_parse(rep, &cc->verdict);
    if (st == RFQ_OK && cc->verdict.outcome == REQ_QUOTA_EXISTS)
        st = cc->attempts > 1 ? RFQ_OK : RFQ_EPROTO;
    else if (st == RFQ_EPROTO && rep && rep->type == REDIS_REPLY_ERROR)
        st = RFQ_EREDIS; /* Redis refused the call (e.g. OOM): unavailable, not our bug */
    freeReplyObject(rep);
    return st;
}

/* Undo create_rfq after a failed scatter, so that a 503 leaves nothing behind: the RFQ, its
 * index, deadline and open-set entries, and its count in the usage (which meters 202s only).
 * The quota token stays taken. */
static rfq_status delete_in_redis(redisContext *c, void *arg)
{
    const struct rfq_request *r = arg;
    struct tenant_keys tk;
    char k_rfq[RFQ_KEY_MAX], k_idx[RFQ_KEY_MAX], member[RFQ_KEY_MAX];
    if (rfq_key_rfq(k_rfq, sizeof(k_rfq), r->tenant, r->rfq_id) != RFQ_OK ||
        rfq_key_index(k_idx, sizeof(k_idx), r->tenant) != RFQ_OK ||
        rfq_deadline_member(member, sizeof(member), r->tenant, r->rfq_id) != RFQ_OK ||
        tenant_keys_of(&tk, r) != RFQ_OK)
        return RFQ_EINVAL;
    redisAppendCommand(c, "DEL %b", k_rfq, strlen(k_rfq));
    redisAppendCommand(c, "ZREM %b %b", k_idx, strlen(k_idx), r->rfq_id, strlen(r->rfq_id));
    redisAppendCommand(c, "ZREM %b %b", RFQ_SYS_DEADLINES, strlen(RFQ_SYS_DEADLINES), member,
                       strlen(member));
    redisAppendCommand(c, "ZREM %b %b", tk.open, strlen(tk.open), r->rfq_id, strlen(r->rfq_id));
    redisAppendCommand(c, "HINCRBY %b rfqs -1", tk.usage, strlen(tk.usage));
    rfq_status st = RFQ_OK;
    for (int i = 0; i < 5; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(c, (void **)&rep) != REDIS_OK || !rep)
            return RFQ_EREDIS;
        if (rep->type == REDIS_REPLY_ERROR)
            st = RFQ_EREDIS;
        freeReplyObject(rep);
    }
    return st;
}

/* Flush nc within timeout_ms (PING/PONG), in REQ_FLUSH_SLICE_MS slices: gives up as soon as
 * the connection is not CONNECTED, since a PING written then waits in nats.c's reconnect
 * buffer until the server is back. A slice's late PONG still proves what preceded it. */
static natsStatus flush_while_connected(natsConnection *nc, int timeout_ms)
{
    int64_t until = rfq_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        if (natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED)
            return NATS_CONNECTION_DISCONNECTED;
        int64_t left_ms = (until - rfq_mono_ns()) / 1000000;
        if (left_ms <= 0)
            return NATS_TIMEOUT;
        natsStatus ns = natsConnection_FlushTimeout(
            nc, left_ms < REQ_FLUSH_SLICE_MS ? left_ms : REQ_FLUSH_SLICE_MS);
        if (ns != NATS_TIMEOUT)
            return ns;
    }
}

/* Publish the RFQ to rfq.v1.req.<region>.<tenant> with its return address and headers, then
 * wait until the server has processed it (PING/PONG), so 202 means "scattered". count is the
 * connection's reconnections when the submit was admitted: a scatter that crossed another one
 * (written while the connection was down, it waited in nats.c's reconnect buffer and went out
 * to the server just come back, where the responders are still resubscribing) fails. */
static rfq_status scatter(struct req_server *s, const struct rfq_request *r, const char *json,
                          size_t json_len, const char *traceparent, uint64_t count)
{
    char subject[RFQ_KEY_MAX], reply[RFQ_KEY_MAX], deadline[24];
    if (rfq_subject_request(subject, sizeof(subject), r->body.region, r->tenant) != RFQ_OK ||
        rfq_subject_quote(reply, sizeof(reply), r->tenant, r->rfq_id) != RFQ_OK)
        return RFQ_EINVAL;
    snprintf(deadline, sizeof(deadline), "%lld", (long long)r->deadline_ms);
    natsMsg *m = NULL;
    natsStatus ns = natsMsg_Create(&m, subject, reply, json, (int)json_len);
    if (ns == NATS_OK)
        ns = natsMsgHeader_Set(m, RFQ_HDR_ID, r->rfq_id);
    if (ns == NATS_OK)
        ns = natsMsgHeader_Set(m, RFQ_HDR_TENANT, r->tenant);
    if (ns == NATS_OK)
        ns = natsMsgHeader_Set(m, RFQ_HDR_DEADLINE, deadline);
    if (ns == NATS_OK && traceparent)
        ns = natsMsgHeader_Set(m, RFQ_HDR_TRACEPARENT, traceparent);
    /* Lost since the admission (e.g. during create_rfq): do not write into the buffer. */
    if (ns == NATS_OK && natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED)
        ns = NATS_CONNECTION_DISCONNECTED;
    if (ns == NATS_OK)
        ns = natsConnection_PublishMsg(s->nc, m);
    natsMsg_Destroy(m);
    if (ns == NATS_OK)
        ns = flush_while_connected(s->nc, s->cfg.publish_flush_ms);
    uint64_t now_count = 0;
    if (ns == NATS_OK &&
        (since_reconnect_ms(s->nc, &now_count) < REQ_SCATTER_GRACE_MS || now_count != count))
        ns = NATS_CONNECTION_DISCONNECTED;
    return rfq_nats_status(ns);
}

/* traceparent is forwarded only when it has the W3C shape (55 chars of hex and dashes). */
static const char *traceparent_ok(const char *tp)
{
    if (!tp || strlen(tp) != 55)
        return NULL;
    for (const char *p = tp; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-'))
            return NULL;
    return tp;
}

void req_submit_accepted(struct req_reply *out, const struct rfq_request *r)
{
    req_reply_json(out, 202,
                   json_pack("{s:s,s:s,s:I,s:I,s:i,s:o}", "rfq_id", r->rfq_id, "status", "open",
                             "created_ms", (json_int_t)r->created_ms, "deadline_ms",
                             (json_int_t)r->deadline_ms, "max_quotes", r->body.max_quotes, "links",
                             req_links_json(r->rfq_id)));
    if (out->status != 202)
        return;
    req_reply_header(out, "Location", "/v1/rfqs/%s", r->rfq_id);
    req_reply_header(out, "Retry-After", "%d", (r->body.timeout_ms + 999) / 1000);
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The engine's body limits with the tenant's defaults for a body without max_quotes or
 * timeout_ms; the bounds stay the engine's. */
static struct rfq_limits tenant_limits(const struct rfq_limits *engine,
                                       const struct rfq_tenant_settings *t)
{
    struct rfq_limits l = *engine;
    if (t->default_max_quotes != RFQ_TENANT_UNSET)
        l.max_quotes_default = clamp_int(t->default_max_quotes, 1, l.max_quotes_max);
    if (t->default_timeout_ms != RFQ_TENANT_UNSET)
        l.timeout_default_ms = clamp_int(t->default_timeout_ms, l.timeout_min_ms, l.timeout_max_ms);
    return l;
}

void req_submit_run(struct req_server *s, const struct rfq_identity *who, const char *body,
                    size_t len, const char *traceparent, struct req_reply *out)
{
    struct rfq_err err = {{0}, {0}};
    /* Overloaded: refuse before any work, so that nothing is stored that cannot finish. */
    if (req_shed_refuse(s->shed, out))
        return;
    struct rfq_request req;
    memset(&req, 0, sizeof(req));
    struct rfq_tenant_settings settings;
    req_tenant_settings(s, who, &settings);
    struct rfq_limits limits = tenant_limits(&s->cfg.limits, &settings);
    rfq_status st = rfq_submit_decode(&req.body, body, len, &limits, &err);
    if (st == RFQ_ETOOBIG) {
        req_reply_error(out, 413, "body exceeds %d bytes", RFQ_BODY_MAX);
        return;
    }
    if (st != RFQ_OK) {
        req_reply_error(out, 400, "%s", err.message[0] ? err.message : "invalid body");
        return;
    }
    /* While disconnected, nats.c would buffer the scatter and send it after a reconnect, long
     * after we answered 503: refuse before storing anything. Just after a reconnection the
     * responders are still resubscribing (their clients retry every 250 ms or so): a scatter
     * then reaches none of them, so refuse for REQ_SCATTER_GRACE_MS more. The reconnection
     * count is read before the status; scatter() compares it again once its PONG is back. */
    uint64_t reconnects = 0;
    if (since_reconnect_ms(s->nc, &reconnects) < REQ_SCATTER_GRACE_MS ||
        natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED) {
        req_reply_error(out, 503, "messaging unavailable");
        return;
    }
    rfq_id_new(req.rfq_id);
    snprintf(req.tenant, sizeof(req.tenant), "%s", who->tenant);
    req.created_ms = rfq_now_ms();
    req.deadline_ms = req.created_ms + req.body.timeout_ms;
    struct rfq_log_ctx log = {.component = "requester", .tenant = req.tenant, .rfq_id = req.rfq_id};

    char *json = NULL;
    size_t json_len = 0;
    if (rfq_request_encode(&req, &json, &json_len) != RFQ_OK) {
        req_reply_error(out, 500, "cannot encode the request");
        return;
    }
    struct create_call cc = {&req, json, json_len, s->cfg.retention_ms, &settings.quota, 0, {0}};
    st = req_redis_pool_run(s->redis, create_in_redis, &cc);
    if (st != RFQ_OK) {
        RFQ_LOG(&log, RFQ_WARN, "cannot store rfq: %s", rfq_status_str(st));
        req_reply_error(out, st == RFQ_EPROTO ? 500 : 503, "storage unavailable");
        goto out_free_json;
    }
    if (cc.verdict.outcome == REQ_QUOTA_RATE || cc.verdict.outcome == REQ_QUOTA_OPEN) {
        RFQ_LOG(&log, RFQ_DEBUG, "rfq refused by the %s quota (tier %s)",
                cc.verdict.outcome == REQ_QUOTA_RATE ? "rate" : "open-rfq", settings.tier);
        req_quota_refuse(out, &cc.verdict, &settings.quota);
        goto out_free_json;
    }
    st = scatter(s, &req, json, json_len, traceparent_ok(traceparent), reconnects);
    if (st != RFQ_OK) {
        RFQ_LOG(&log, RFQ_WARN, "cannot scatter rfq: %s", rfq_status_str(st));
        if (req_redis_pool_run(s->redis, delete_in_redis, &req) != RFQ_OK)
            RFQ_LOG(&log, RFQ_WARN, "cannot remove the unscattered rfq; it will expire");
        req_reply_error(out, 503, "messaging unavailable");
        goto out_free_json;
    }
    RFQ_LOG(&log, RFQ_DEBUG, "rfq accepted region=%s max_quotes=%d timeout_ms=%d", req.body.region,
            req.body.max_quotes, req.body.timeout_ms);
    req_submit_accepted(out, &req);
    if (out->status == 202)
        req_quota_headers(out, &cc.verdict);
out_free_json:
    free(json);
}

void req_submit_with_token(struct req_server *s, const char *authorization, const char *body,
                           size_t len, const char *traceparent, struct req_reply *out)
{
    struct rfq_identity who;
    if (req_auth_verify(s->auth, authorization, &who, out) != RFQ_OK ||
        req_tenant_admit(s, &who, out) != RFQ_OK)
        return;
    req_submit_run(s, &who, body, len, traceparent, out);
}
