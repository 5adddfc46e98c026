/* rsp_agent: RFQ intake, callback dispatch, think-time scheduling and quote publishing. */
#include "rsp_agent.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "rfq_cfg.h"
#include "rfq_dlq.h"
#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_nats.h"
#include "rfq_quote_batch.h"
#include "rsp_dlq.h"
#include "rsp_quote_msg.h"
#include "rsp_sched.h"

#define RSP_REPLY_MAX 512       /* longest reply subject we answer to */
#define RSP_TRACEPARENT_MAX 128 /* W3C traceparent is 55 chars; longer values are not copied */
#define RSP_LOGS_PER_SEC 10     /* per-second cap on warnings caused by peers */
#define RSP_MSG_ID_MAX (2 * RFQ_ID_MAX + 2)

static const char rsp_component[] = "responder";

/* Every counter of struct rsp_agent_stats, for the atomic mirror below. */
// clang-format off
#define RSP_COUNTERS(X) \
    X(received) X(bad) X(expired) X(unrouted) X(asked) X(quotes) X(declines) X(no_answer) \
    X(invalid) X(late) X(cancelled) X(send_errors) X(acked) X(duplicates) X(ack_errors) \
    X(retries) X(shed) X(dead_lettered) X(dlq_dropped)
// clang-format on

struct rsp_counters {
#define RSP_FIELD(name) _Atomic uint64_t name;
    RSP_COUNTERS(RSP_FIELD)
#undef RSP_FIELD
};

#define COUNT(c, name) COUNT_N(c, name, 1)
#define COUNT_N(c, name, n) atomic_fetch_add_explicit(&(c)->name, (n), memory_order_relaxed)

/* Allows RSP_LOGS_PER_SEC log lines a second; the rest are only counted. Races between threads
 * can let a few extra lines through, which is harmless. */
struct rsp_log_limit {
    _Atomic int64_t second;
    _Atomic int count;
};

static bool log_allowed(struct rsp_log_limit *l)
{
    int64_t sec = rfq_mono_ns() / 1000000000;
    if (atomic_load_explicit(&l->second, memory_order_relaxed) != sec) {
        atomic_store_explicit(&l->second, sec, memory_order_relaxed);
        atomic_store_explicit(&l->count, 0, memory_order_relaxed);
    }
    return atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed) < RSP_LOGS_PER_SEC;
}

/* State the PubAck handler touches. Separate from the agent because nats.c may still run the
 * handler on its own thread after a failed shutdown wait; in that case it is left allocated. */
struct rsp_ack_state {
    pthread_mutex_t mu;            /* held by the handler; guards counters */
    struct rsp_counters *counters; /* the agent's while it lives, then NULL */
    struct rsp_counters own;       /* used once the agent is gone */
    struct rsp_log_limit limit;
    int ack_wait_ms;   /* MaxWait of a re-sent quote */
    rsp_ack_fn on_ack; /* the agent's cfg.on_ack, called while counters is set */
    void *ack_closure;
};

struct rsp_hosted {
    char id[RFQ_ID_MAX + 1];
    void *closure; /* borrowed, passed to the callback */
};

/* One region: its subscription and the responders hosted there. */
struct rsp_region {
    rsp_agent *agent;
    char name[RFQ_REGION_MAX + 1];
    natsSubscription *sub;
    bool sub_done; /* the subscription's last callback returned (under agent->sub_mu) */
    struct rsp_hosted *hosted;
    size_t n_hosted, cap_hosted;
};

struct rsp_agent {
    struct rsp_agent_cfg cfg; /* nats_url and inbox_prefix point at the copies below */
    char *nats_url;
    char *inbox_prefix;
    rsp_quote_fn fn;
    pthread_mutex_t fn_mu;   /* serializes callback invocations */
    pthread_mutex_t sub_mu;  /* guards rsp_region.sub_done */
    pthread_cond_t sub_cond; /* signalled when a subscription completes */
    struct rsp_region **regions;
    size_t n_regions;
    rsp_sched *sched;
    natsConnection *nc;
    jsCtx *js;
    bool started;
    struct rsp_ack_state *ack; /* see struct rsp_ack_state */
    struct rsp_counters counters;
    struct rsp_log_limit limit;
    struct rsp_dlq_bucket dlq_bucket; /* dead letters of refused RFQs, rate-limited */
};

/* One decided answer waiting for its think time. Owns itself; reply subject stored inline. */
struct rsp_pending {
    rsp_agent *agent;
    int64_t deadline_ms;
    int64_t decided_ns; /* monotonic time the callback returned */
    int think_ms;
    struct rfq_quote quote;
    char tenant[RFQ_TENANT_MAX + 1];
    char msg_id[RSP_MSG_ID_MAX];
    char traceparent[RSP_TRACEPARENT_MAX + 1]; /* "" when the RFQ had none */
    char *body;                                /* quote JSON, malloc'd */
    size_t body_len;
    char reply[];
};

void rsp_agent_cfg_init(struct rsp_agent_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->nats_url = "nats://127.0.0.1:4222";
    cfg->inbox_prefix = RFQ_NATS_INBOX_RESPONDER;
    cfg->name = "rfq-responder";
    cfg->send_asap = true;
    cfg->connect_wait_ms = 5000;
    cfg->ack_wait_ms = 1000;
    cfg->max_pending_acks = 4096;
    cfg->drain_ms = 1000;
    cfg->batch_max = RFQ_QUOTE_BATCH_MAX;
}

rfq_status rsp_agent_create(rsp_agent **out, const struct rsp_agent_cfg *cfg, rsp_quote_fn fn)
{
    *out = NULL;
    if (!fn || !cfg || cfg->connect_wait_ms < 0 || cfg->ack_wait_ms <= 0 ||
        cfg->max_pending_acks <= 0 || cfg->drain_ms < 0 || cfg->batch_max < 1 ||
        cfg->batch_max > RFQ_QUOTE_BATCH_MAX ||
        (cfg->inbox_prefix && cfg->inbox_prefix[0] &&
         !rfq_nats_inbox_prefix_valid(cfg->inbox_prefix)))
        return RFQ_EINVAL;
    rsp_agent *a = calloc(1, sizeof(*a));
    if (!a)
        return RFQ_ENOMEM;
    a->cfg = *cfg;
    a->fn = fn;
    a->nats_url = strdup(cfg->nats_url ? cfg->nats_url : "nats://127.0.0.1:4222");
    a->inbox_prefix = strdup(cfg->inbox_prefix ? cfg->inbox_prefix : RFQ_NATS_INBOX_RESPONDER);
    if (!a->cfg.name)
        a->cfg.name = "rfq-responder";
    a->ack = calloc(1, sizeof(*a->ack));
    rfq_status st = RFQ_ENOMEM;
    if (!a->nats_url || !a->inbox_prefix || !a->ack)
        goto out_free;
    a->cfg.nats_url = a->nats_url;
    a->cfg.inbox_prefix = a->inbox_prefix;
    a->ack->counters = &a->counters;
    a->ack->ack_wait_ms = cfg->ack_wait_ms;
    a->ack->on_ack = cfg->on_ack;
    a->ack->ack_closure = cfg->ack_closure;
    if (pthread_mutex_init(&a->ack->mu, NULL) != 0)
        goto out_free;
    if (pthread_mutex_init(&a->fn_mu, NULL) != 0)
        goto out_ack_mutex;
    if (pthread_mutex_init(&a->sub_mu, NULL) != 0)
        goto out_fn_mutex;
    if (pthread_cond_init(&a->sub_cond, NULL) != 0)
        goto out_sub_mutex;
    if ((st = rsp_sched_create(&a->sched)) != RFQ_OK)
        goto out_sub_cond;
    rsp_dlq_bucket_init(&a->dlq_bucket, RSP_DLQ_RATE, RSP_DLQ_BURST);
    *out = a;
    return RFQ_OK;
out_sub_cond:
    pthread_cond_destroy(&a->sub_cond);
out_sub_mutex:
    pthread_mutex_destroy(&a->sub_mu);
out_fn_mutex:
    pthread_mutex_destroy(&a->fn_mu);
out_ack_mutex:
    pthread_mutex_destroy(&a->ack->mu);
out_free:
    free(a->ack);
    free(a->nats_url);
    free(a->inbox_prefix);
    free(a);
    return st;
}

static struct rsp_region *region_find(rsp_agent *a, const char *name)
{
    for (size_t i = 0; i < a->n_regions; i++)
        if (strcmp(a->regions[i]->name, name) == 0)
            return a->regions[i];
    return NULL;
}

/* Find or add the region; NULL on allocation failure. */
static struct rsp_region *region_get(rsp_agent *a, const char *name)
{
    struct rsp_region *r = region_find(a, name);
    if (r)
        return r;
    struct rsp_region **grown = realloc(a->regions, (a->n_regions + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    a->regions = grown;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->agent = a;
    snprintf(r->name, sizeof(r->name), "%s", name);
    a->regions[a->n_regions++] = r;
    return r;
}

rfq_status rsp_agent_add_responder(rsp_agent *a, const char *responder_id, const char *region,
                                   void *closure)
{
    if (a->started)
        return RFQ_ECLOSED;
    if (!responder_id || !region || !rfq_ident_valid(responder_id) || !rfq_region_valid(region))
        return RFQ_EINVAL;
    for (size_t i = 0; i < a->n_regions; i++)
        for (size_t j = 0; j < a->regions[i]->n_hosted; j++)
            if (strcmp(a->regions[i]->hosted[j].id, responder_id) == 0)
                return RFQ_EINVAL;
    struct rsp_region *r = region_get(a, region);
    if (!r)
        return RFQ_ENOMEM;
    if (r->n_hosted == r->cap_hosted) {
        size_t cap = r->cap_hosted ? r->cap_hosted * 2 : 8;
        struct rsp_hosted *h = realloc(r->hosted, cap * sizeof(*h));
        if (!h)
            return RFQ_ENOMEM;
        r->hosted = h;
        r->cap_hosted = cap;
    }
    struct rsp_hosted *h = &r->hosted[r->n_hosted++];
    snprintf(h->id, sizeof(h->id), "%s", responder_id);
    h->closure = closure;
    return RFQ_OK;
}

/* After a PubAck timeout, publish the same message (same bytes, same Nats-Msg-Id: the stream
 * drops a copy it already has) while the RFQ's deadline, carried in the Rfq-Deadline header, has
 * not passed. Returns true when the library took the message again. */
static bool ack_retry(jsCtx *js, natsMsg **m, const struct rsp_ack_state *st)
{
    const char *dl = rfq_nats_header(*m, RFQ_HDR_DEADLINE);
    char *end = NULL;
    long long deadline = dl ? strtoll(dl, &end, 10) : 0;
    if (!dl || !end || *end || rfq_now_ms() >= deadline)
        return false;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = st->ack_wait_ms;
    return js_PublishMsgAsync(js, m, &po) == NATS_OK;
}

/* The on_ack call of one answer of a batch message (see rsp_quote_msg_each_responder). */
struct batch_ack {
    const struct rsp_ack_state *st;
    natsMsg *m;
    bool acked, duplicate;
};

static void batch_ack_one(void *closure, const char *responder_id)
{
    const struct batch_ack *b = closure;
    b->st->on_ack(b->st->ack_closure, rfq_nats_header(b->m, RFQ_HDR_TENANT),
                  rfq_nats_header(b->m, RFQ_HDR_ID), responder_id, b->acked, b->duplicate);
}

/* Count one PubAck outcome (per answer: a batch message counts each of its answers); re-send
 * after a timeout (ack_retry); log failures (rate-limited). Runs on nats.c's async-reply
 * thread. The message is ours to destroy. */
static void on_pub_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct rsp_ack_state *st = closure;
    pthread_mutex_lock(&st->mu);
    struct rsp_counters *c = st->counters ? st->counters : &st->own;
    /* Only while the agent lives (its destroy waits for these), never after a 503 (no stream:
     * it would come back at once, in a loop). */
    const char *batch = rfq_nats_header(m, RFQ_HDR_BATCH);
    uint64_t n = batch ? strtoull(batch, NULL, 10) : 1; /* our own header: 1..32 */
    if (!pa && pae && pae->Err == NATS_TIMEOUT && st->counters && ack_retry(js, &m, st)) {
        COUNT_N(c, retries, n);
        pthread_mutex_unlock(&st->mu);
        return;
    }
    bool dup = pa && pa->Duplicate;
    if (pa)
        COUNT_N(c, acked, n);
    if (dup)
        COUNT_N(c, duplicates, n);
    if (!pa)
        COUNT_N(c, ack_errors, n);
    if (st->on_ack && st->counters && batch) {
        struct batch_ack b = {st, m, pa != NULL, dup};
        int len = natsMsg_GetDataLength(m);
        rsp_quote_msg_each_responder(natsMsg_GetData(m), len > 0 ? (size_t)len : 0, batch_ack_one,
                                     &b);
    } else if (st->on_ack && st->counters) {
        st->on_ack(st->ack_closure, rfq_nats_header(m, RFQ_HDR_TENANT),
                   rfq_nats_header(m, RFQ_HDR_ID), rfq_nats_header(m, RFQ_HDR_RESPONDER),
                   pa != NULL, dup);
    }
    rfq_log_level lvl = pa ? RFQ_DEBUG : RFQ_WARN;
    if ((dup || pae) && lvl >= rfq_log_min_level && (pa || log_allowed(&st->limit))) {
        struct rfq_log_ctx ctx = {.component = rsp_component,
                                  .tenant = rfq_nats_header(m, RFQ_HDR_TENANT),
                                  .rfq_id = rfq_nats_header(m, RFQ_HDR_ID)};
        const char *who = rfq_nats_header(m, RFQ_HDR_RESPONDER);
        if (!who)
            who = "a batch";
        if (dup)
            RFQ_LOG(&ctx, RFQ_DEBUG, "quote of %s was a duplicate for stream %s", who,
                    pa->Stream ? pa->Stream : "?");
        else
            RFQ_LOG(&ctx, RFQ_WARN, "quote of %s not acknowledged: %s (js error %d: %s)", who,
                    natsStatus_GetText(pae->Err), (int)pae->ErrCode,
                    pae->ErrCode && pae->ErrText ? pae->ErrText : "-");
    }
    pthread_mutex_unlock(&st->mu);
    natsMsg_Destroy(m);
}

/* JetStream async publish of a built message: the PubAck arrives in on_pub_ack. */
static rfq_status js_publish(rsp_agent *a, const struct rsp_quote_msg *qm)
{
    if (!a->js)
        return RFQ_ECLOSED;
    natsMsg *m = NULL;
    rfq_status st = rsp_quote_msg_create(&m, qm);
    if (st != RFQ_OK)
        return st;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = a->cfg.ack_wait_ms;
    natsStatus s = js_PublishMsgAsync(a->js, &m, &po);
    natsMsg_Destroy(m); /* no-op when the library took it */
    return rfq_nats_status(s);
}

/* Publish one answer. */
static rfq_status js_send(rsp_agent *a, const struct rsp_reply *r)
{
    struct rsp_quote_msg qm = {
        .subject = r->subject,
        .tenant = r->tenant,
        .rfq_id = r->rfq_id,
        .responder_id = r->responder_id,
        .msg_id = r->msg_id,
        .traceparent = r->traceparent,
        .deadline_ms = r->deadline_ms,
        .body = r->body,
        .body_len = r->body_len,
    };
    return js_publish(a, &qm);
}

/* Hand one answer to the transport unless its RFQ's deadline has passed. Does not free p. */
static void pending_send(struct rsp_pending *p)
{
    rsp_agent *a = p->agent;
    struct rfq_log_ctx ctx = {
        .component = rsp_component, .tenant = p->tenant, .rfq_id = p->quote.rfq_id};
    if (rfq_now_ms() >= p->deadline_ms) {
        COUNT(&a->counters, late);
        RFQ_LOG(&ctx, RFQ_DEBUG, "%s thought %d ms past the deadline: answer dropped",
                p->quote.responder_id, p->think_ms);
        return;
    }
    struct rsp_reply r = {
        .subject = p->reply,
        .tenant = p->tenant,
        .rfq_id = p->quote.rfq_id,
        .responder_id = p->quote.responder_id,
        .msg_id = p->msg_id,
        .traceparent = p->traceparent[0] ? p->traceparent : NULL,
        .deadline_ms = p->deadline_ms,
        .body = p->body,
        .body_len = p->body_len,
        .quote = &p->quote,
    };
    rfq_status st = a->cfg.send ? a->cfg.send(a->cfg.send_closure, &r) : js_send(a, &r);
    if (st != RFQ_OK) {
        COUNT(&a->counters, send_errors);
        if (log_allowed(&a->limit))
            RFQ_LOG(&ctx, RFQ_WARN, "cannot send the answer of %s: %s", p->quote.responder_id,
                    rfq_status_str(st));
        return;
    }
    if (p->quote.decline)
        COUNT(&a->counters, declines);
    else
        COUNT(&a->counters, quotes);
    RFQ_LOG(&ctx, RFQ_DEBUG, "%s sent %s after %d ms think time (%.3f ms late)",
            p->quote.responder_id, p->quote.decline ? "a decline" : "a quote", p->think_ms,
            (double)(rfq_mono_ns() - p->decided_ns) / 1e6 - p->think_ms);
}

static void pending_free(struct rsp_pending *p)
{
    if (p) {
        free(p->body);
        free(p);
    }
}

/* Scheduler task: send when due; count the answer as cancelled at shutdown, or as shed when
 * the scheduler was behind and reached it only after the RFQ's deadline. */
static void pending_task(void *arg, rsp_task_why why)
{
    struct rsp_pending *p = arg;
    if (why == RSP_TASK_CANCELLED)
        COUNT(&p->agent->counters, cancelled);
    else if (why == RSP_TASK_EXPIRED)
        COUNT(&p->agent->counters, shed);
    else
        pending_send(p);
    pending_free(p);
}

/* The return address is opaque, but it always lies under rfq.v1.quote., the namespace the
 * quote stream captures; insisting on it keeps a forged RFQ from pointing our publish at the
 * server's APIs ($JS.API.STREAM.PURGE...) or at other engine subjects. */
#define RSP_REPLY_PREFIX "rfq.v1.quote."

/* A reply subject we can publish to: in the quote namespace, printable, no whitespace or
 * wildcards, no empty token. */
static bool reply_subject_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RSP_REPLY_MAX || s[0] == '.' || s[n - 1] == '.' ||
        strncmp(s, RSP_REPLY_PREFIX, sizeof(RSP_REPLY_PREFIX) - 1) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '*' || c == '>' || (c == '.' && s[i + 1] == '.'))
            return false;
    }
    return true;
}

/* Split "rfq.v1.req.<region>.<tenant>" into region and tenant, validating both. */
static bool request_subject_parse(const char *subject, char *region, char *tenant)
{
    static const char prefix[] = "rfq.v1.req.";
    if (!subject || strncmp(subject, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *p = subject + sizeof(prefix) - 1;
    const char *dot = strchr(p, '.');
    if (!dot || (size_t)(dot - p) > RFQ_REGION_MAX || strlen(dot + 1) > RFQ_TENANT_MAX)
        return false;
    memcpy(region, p, (size_t)(dot - p));
    region[dot - p] = '\0';
    strcpy(tenant, dot + 1);
    return rfq_region_valid(region) && rfq_tenant_valid(tenant);
}

/* Copy a traceparent header if it is short and printable; otherwise leave it out. */
static void traceparent_copy(char *out, const char *in)
{
    out[0] = '\0';
    if (!in)
        return;
    size_t n = strlen(in);
    if (n == 0 || n > RSP_TRACEPARENT_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        if (in[i] <= ' ' || in[i] >= 0x7f)
            return;
    memcpy(out, in, n + 1);
}

/* Make the callback's answer safe to encode: identity as pre-filled, strings terminated,
 * perk count in range. Returns false when it cannot be made sane. */
static bool answer_normalize(struct rfq_quote *q, rsp_decision d, const struct rfq_request *rfq,
                             const char *responder_id)
{
    snprintf(q->rfq_id, sizeof(q->rfq_id), "%s", rfq->rfq_id);
    snprintf(q->responder_id, sizeof(q->responder_id), "%s", responder_id);
    q->decline = d == RSP_DECLINE;
    q->decline_reason[RFQ_REASON_MAX] = '\0';
    q->currency[3] = '\0';
    if (q->decline) {
        if (!q->decline_reason[0])
            snprintf(q->decline_reason, sizeof(q->decline_reason), "declined");
        return true;
    }
    if (q->n_perks < 0 || q->n_perks > RFQ_TAGS_MAX)
        return false;
    for (int i = 0; i < q->n_perks; i++)
        q->perks[i][RFQ_TAG_MAX] = '\0';
    return true;
}

/* Ask one hosted responder about rfq and send or schedule its answer. An answer due at once
 * is handed back in *ready when ready is not NULL (the caller sends it with the others of
 * the RFQ), and sent here otherwise. */
static void ask_one(rsp_agent *a, const struct rsp_hosted *h, const struct rfq_request *rfq,
                    const char *reply, const char *traceparent, const struct rfq_log_ctx *ctx,
                    struct rsp_pending **ready)
{
    struct rfq_quote q;
    memset(&q, 0, sizeof(q));
    snprintf(q.rfq_id, sizeof(q.rfq_id), "%s", rfq->rfq_id);
    snprintf(q.responder_id, sizeof(q.responder_id), "%s", h->id);
    memcpy(q.currency, rfq->body.currency, sizeof(q.currency));
    int think_ms = 0;

    pthread_mutex_lock(&a->fn_mu);
    rsp_decision d = a->fn(h->closure, rfq, h->id, &q, &think_ms);
    pthread_mutex_unlock(&a->fn_mu);
    COUNT(&a->counters, asked);
    int64_t decided_ns = rfq_mono_ns();

    if (d == RSP_NO_ANSWER) {
        COUNT(&a->counters, no_answer);
        return;
    }
    char *body = NULL;
    size_t body_len = 0;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = RFQ_EINVAL;
    if (d != RSP_QUOTE && d != RSP_DECLINE) {
        rfq_err_set(&err, RFQ_EINVAL, "", "unknown decision");
    } else if (!answer_normalize(&q, d, rfq, h->id)) {
        rfq_err_set(&err, RFQ_EINVAL, "perks", "perk count %d out of range", q.n_perks);
    } else if (!q.decline && strcmp(q.currency, rfq->body.currency) != 0) {
        rfq_err_set(&err, RFQ_EINVAL, "currency", "currency %s is not the RFQ's %s", q.currency,
                    rfq->body.currency);
    } else if ((st = rfq_quote_check(&q, &err)) == RFQ_OK) {
        /* Checked as the aggregator's decoder would, so a bad answer is refused here. */
        st = rfq_quote_encode(&q, &body, &body_len);
    }
    if (st != RFQ_OK) {
        COUNT(&a->counters, invalid);
        RFQ_LOG(ctx, RFQ_WARN, "answer of %s refused (decision %d): %s%s%s", h->id, (int)d,
                err.field, err.field[0] ? ": " : "",
                err.message[0] ? err.message : "cannot be encoded");
        free(body);
        return;
    }
    if (think_ms < 0)
        think_ms = 0;
    if (think_ms > 0 && rfq_now_ms() + think_ms >= rfq->deadline_ms) {
        COUNT(&a->counters, late);
        RFQ_LOG(ctx, RFQ_DEBUG, "%s would think %d ms, past the deadline: answer dropped", h->id,
                think_ms);
        free(body);
        return;
    }

    size_t reply_len = strlen(reply);
    struct rsp_pending *p = malloc(sizeof(*p) + reply_len + 1);
    if (!p) {
        COUNT(&a->counters, send_errors);
        free(body);
        return;
    }
    p->agent = a;
    p->deadline_ms = rfq->deadline_ms;
    p->decided_ns = decided_ns;
    p->think_ms = think_ms;
    p->quote = q;
    memcpy(p->tenant, rfq->tenant, sizeof(p->tenant));
    snprintf(p->msg_id, sizeof(p->msg_id), "%s.%s", q.rfq_id, q.responder_id);
    memcpy(p->traceparent, traceparent, sizeof(p->traceparent));
    p->body = body;
    p->body_len = body_len;
    memcpy(p->reply, reply, reply_len + 1);

    if (think_ms == 0 && ready) {
        *ready = p;
        return;
    }
    if (think_ms == 0) {
        pending_send(p);
        pending_free(p);
        return;
    }
    /* Worthless once the deadline passes: a scheduler that falls behind drops it unsent. */
    int64_t expire_ns = decided_ns + (rfq->deadline_ms - rfq_now_ms()) * 1000000;
    st = rsp_sched_at_until(a->sched, decided_ns + (int64_t)think_ms * 1000000, expire_ns,
                            pending_task, p);
    if (st != RFQ_OK) {
        COUNT(&a->counters, cancelled);
        pending_free(p);
    }
}

/* Send k (2..RFQ_QUOTE_BATCH_MAX) answers to one RFQ as one batch message. Does not free
 * them. */
static void batch_send(rsp_agent *a, struct rsp_pending *const *p, int k)
{
    const struct rsp_pending *first = p[0];
    struct rfq_log_ctx ctx = {
        .component = rsp_component, .tenant = first->tenant, .rfq_id = first->quote.rfq_id};
    char *bodies[RFQ_QUOTE_BATCH_MAX];
    size_t lens[RFQ_QUOTE_BATCH_MAX];
    for (int i = 0; i < k; i++) {
        bodies[i] = p[i]->body;
        lens[i] = p[i]->body_len;
    }
    char msg_id[RSP_MSG_ID_MAX + 16], *body = NULL;
    size_t len = 0;
    snprintf(msg_id, sizeof(msg_id), "%s.%s+%d", first->quote.rfq_id, first->quote.responder_id, k);
    rfq_status st = rfq_quote_batch_join(bodies, lens, k, &body, &len);
    if (st == RFQ_OK) {
        struct rsp_quote_msg qm = {
            .subject = first->reply,
            .tenant = first->tenant,
            .rfq_id = first->quote.rfq_id,
            .batch = k,
            .msg_id = msg_id,
            .traceparent = first->traceparent[0] ? first->traceparent : NULL,
            .deadline_ms = first->deadline_ms,
            .body = body,
            .body_len = len,
        };
        st = js_publish(a, &qm);
        free(body);
    }
    if (st != RFQ_OK) {
        COUNT_N(&a->counters, send_errors, (uint64_t)k);
        if (log_allowed(&a->limit))
            RFQ_LOG(&ctx, RFQ_WARN, "cannot send a batch of %d answers: %s", k, rfq_status_str(st));
        return;
    }
    for (int i = 0; i < k; i++) {
        if (p[i]->quote.decline)
            COUNT(&a->counters, declines);
        else
            COUNT(&a->counters, quotes);
    }
    RFQ_LOG(&ctx, RFQ_DEBUG, "sent a batch of %d answers", k);
}

/* Send the answers to one RFQ that were ready at once, in batches of up to cfg.batch_max
 * (one by one with a send hook), then free them. */
static void ready_send(rsp_agent *a, struct rsp_pending **p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        int k = 1;
        if (!a->cfg.send && a->cfg.batch_max > 1 && n - i > 1) {
            size_t lens[RFQ_QUOTE_BATCH_MAX];
            int window = n - i < (size_t)a->cfg.batch_max ? (int)(n - i) : a->cfg.batch_max;
            for (int j = 0; j < window; j++)
                lens[j] = p[i + (size_t)j]->body_len;
            k = rfq_quote_batch_fit(lens, window);
        }
        if (k > 1 && rfq_now_ms() < p[i]->deadline_ms)
            batch_send(a, p + i, k);
        else
            for (int j = 0; j < k; j++)
                pending_send(p[i + (size_t)j]); /* alone, or counted late */
        i += (size_t)k;
    }
    for (i = 0; i < n; i++)
        pending_free(p[i]);
}

/* Why an RFQ is refused, for the dead letter. Strings borrowed. */
struct rsp_refusal {
    const char *reason; /* DLQ reason code */
    const char *why;    /* detail */
    const char *tenant; /* when known */
    const char *rfq_id; /* when known */
    natsMsg *m;         /* the message as received; NULL when not from NATS (no dead letter) */
    const char *reply;  /* its reply subject */
};

/* Dead-letter a refused RFQ unless the bucket is empty (a flood of bad RFQs must not become
 * a flood of writes to the DLQ stream); drops are counted. */
static void dead_letter(rsp_agent *a, const struct rfq_log_ctx *ctx, const char *subject,
                        const struct rsp_refusal *f)
{
    if (!f->m || !a->nc)
        return;
    if (!rsp_dlq_bucket_take(&a->dlq_bucket, rfq_mono_ns())) {
        COUNT(&a->counters, dlq_dropped);
        return;
    }
    struct rfq_dead_letter dl = {
        .stage = RSP_DLQ_STAGE,
        .reason = f->reason,
        .detail = f->why,
        .subject = subject,
        .tenant = f->tenant && rfq_tenant_valid(f->tenant) ? f->tenant : NULL,
        .rfq_id = f->rfq_id && rfq_ident_valid(f->rfq_id) ? f->rfq_id : NULL,
        /* the return address, so a replay can send the RFQ through the stage again */
        .reply = f->reply && rfq_dlq_subject_valid(f->reply) ? f->reply : NULL,
    };
    rfq_status st = rsp_dlq_publish(a->nc, &dl, f->m);
    if (st == RFQ_OK) {
        COUNT(&a->counters, dead_lettered);
        return;
    }
    COUNT(&a->counters, dlq_dropped);
    if (log_allowed(&a->limit))
        RFQ_LOG(ctx, RFQ_WARN, "dead letter of a refused RFQ not sent: %s", rfq_status_str(st));
}

/* Count, log (rate-limited) and dead-letter a refused RFQ; returns st. */
static rfq_status drop_bad(rsp_agent *a, const struct rfq_log_ctx *ctx, rfq_status st,
                           const char *subject, const struct rsp_refusal *f)
{
    COUNT(&a->counters, bad);
    if (RFQ_WARN >= rfq_log_min_level && log_allowed(&a->limit))
        RFQ_LOG(ctx, RFQ_WARN, "RFQ dropped (%s, %s) on %.200s: %s", rfq_status_str(st), f->reason,
                subject ? subject : "(none)", f->why);
    dead_letter(a, ctx, subject, f);
    return st;
}

/* rsp_agent_deliver, with the message as received when it came from NATS (m: its headers are
 * checked against the body, and refusals are dead-lettered) or NULL. */
static rfq_status deliver(rsp_agent *a, const char *subject, const char *reply, const char *data,
                          size_t len, const char *traceparent, natsMsg *m)
{
    struct rfq_log_ctx ctx = {.component = rsp_component};
    char region[RFQ_REGION_MAX + 1], tenant[RFQ_TENANT_MAX + 1];
    const char *hdr_tenant = m ? rfq_nats_header(m, RFQ_HDR_TENANT) : NULL;
    const char *hdr_id = m ? rfq_nats_header(m, RFQ_HDR_ID) : NULL;
    struct rsp_refusal f = {.tenant = hdr_tenant, .rfq_id = hdr_id, .m = m, .reply = reply};
    COUNT(&a->counters, received);
    if (!request_subject_parse(subject, region, tenant)) {
        f.reason = "subject";
        f.why = "not rfq.v1.req.<region>.<tenant>";
        return drop_bad(a, &ctx, RFQ_EINVAL, subject, &f);
    }
    ctx.tenant = tenant; /* the subject's, until the body names it */
    f.tenant = tenant;
    if (!reply || !reply_subject_valid(reply)) {
        f.reason = "reply";
        f.why = "no usable reply subject (must lie under rfq.v1.quote.)";
        return drop_bad(a, &ctx, RFQ_EINVAL, subject, &f);
    }

    struct rfq_request rfq;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_request_decode(&rfq, data, len, &err);
    if (st != RFQ_OK) {
        char detail[300];
        snprintf(detail, sizeof(detail), "%s%s%s (%zu bytes)", err.field, err.field[0] ? ": " : "",
                 err.message, len);
        f.reason = rsp_dlq_decode_reason(st, data, len);
        f.why = detail;
        return drop_bad(a, &ctx, st, subject, &f);
    }
    ctx.tenant = rfq.tenant;
    ctx.rfq_id = rfq.rfq_id;
    f.rfq_id = rfq.rfq_id;
    f.reason = "mismatch";
    if (strcmp(tenant, rfq.tenant) != 0) {
        f.why = "subject tenant differs from body";
        return drop_bad(a, &ctx, RFQ_EINVAL, subject, &f);
    }
    char detail[200];
    if (m && !rsp_dlq_headers_agree(&rfq, hdr_tenant, hdr_id, rfq_nats_header(m, RFQ_HDR_DEADLINE),
                                    detail, sizeof(detail))) {
        f.why = detail;
        return drop_bad(a, &ctx, RFQ_EINVAL, subject, &f);
    }

    /* Past its deadline: expected shedding, counted, not dead-lettered. */
    int64_t now = rfq_now_ms();
    if (now >= rfq.deadline_ms) {
        COUNT(&a->counters, expired);
        RFQ_LOG(&ctx, RFQ_DEBUG, "RFQ skipped: deadline passed %lld ms ago",
                (long long)(now - rfq.deadline_ms));
        return RFQ_ECLOSED;
    }
    struct rsp_region *r = region_find(a, region);
    if (!r || r->n_hosted == 0) {
        COUNT(&a->counters, unrouted);
        return RFQ_ENOTFOUND;
    }
    char trace[RSP_TRACEPARENT_MAX + 1];
    traceparent_copy(trace, traceparent);
    /* Answers due at once are gathered and sent together (without memory: one by one). */
    struct rsp_pending **ready = calloc(r->n_hosted, sizeof(*ready));
    size_t n_ready = 0;
    for (size_t i = 0; i < r->n_hosted; i++) {
        struct rsp_pending *p = NULL;
        ask_one(a, &r->hosted[i], &rfq, reply, trace, &ctx, ready ? &p : NULL);
        if (p)
            ready[n_ready++] = p;
    }
    ready_send(a, ready, n_ready);
    free(ready);
    return RFQ_OK;
}

rfq_status rsp_agent_deliver(rsp_agent *a, const char *subject, const char *reply, const char *data,
                             size_t len, const char *traceparent)
{
    return deliver(a, subject, reply, data, len, traceparent, NULL);
}

/* NATS subscription callback: one RFQ message; the message is ours to destroy. */
static void on_rfq(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    struct rsp_region *r = closure;
    int len = natsMsg_GetDataLength(m);
    deliver(r->agent, natsMsg_GetSubject(m), natsMsg_GetReply(m), natsMsg_GetData(m),
            len > 0 ? (size_t)len : 0, rfq_nats_header(m, RFQ_HDR_TRACEPARENT), m);
    natsMsg_Destroy(m);
}

/* nats.c calls this once a subscription is closed and its message handler has returned. */
static void on_sub_complete(void *closure)
{
    struct rsp_region *r = closure;
    pthread_mutex_lock(&r->agent->sub_mu);
    r->sub_done = true;
    pthread_cond_broadcast(&r->agent->sub_cond);
    pthread_mutex_unlock(&r->agent->sub_mu);
}

rfq_status rsp_agent_start(rsp_agent *a)
{
    struct rfq_log_ctx ctx = {.component = rsp_component};
    if (a->started || a->nc)
        return RFQ_ECLOSED;
    if (a->n_regions == 0)
        return RFQ_EINVAL;
    /* PubAcks come back on the inbox prefix the bus lets this user subscribe to. */
    rfq_status st = rfq_nats_connect_inbox(&a->nc, a->cfg.nats_url, a->cfg.name, a->cfg.send_asap,
                                           a->cfg.connect_wait_ms, a->cfg.inbox_prefix);
    if (st != RFQ_OK) {
        const char *why = nats_GetLastError(NULL);
        char shown[512]; /* the URL may carry a password */
        RFQ_LOG(&ctx, RFQ_ERROR, "cannot connect to NATS at %s: %s",
                rfq_url_redact(a->cfg.nats_url, shown, sizeof(shown)),
                why && *why ? why : rfq_status_str(st));
        return st;
    }
    char shown[512];
    RFQ_LOG(&ctx, RFQ_INFO, "connected to NATS at %s, PubAcks on %s.>",
            rfq_url_redact(a->cfg.nats_url, shown, sizeof(shown)),
            a->cfg.inbox_prefix[0] ? a->cfg.inbox_prefix : "_INBOX");
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = a->cfg.max_pending_acks;
    jo.PublishAsync.AckHandler = on_pub_ack;
    jo.PublishAsync.AckHandlerClosure = a->ack;
    natsStatus s = natsConnection_JetStream(&a->js, a->nc, &jo);
    for (size_t i = 0; s == NATS_OK && i < a->n_regions; i++) {
        char subject[RFQ_KEY_MAX];
        snprintf(subject, sizeof(subject), "rfq.v1.req.%s.>", a->regions[i]->name);
        s = natsConnection_Subscribe(&a->regions[i]->sub, a->nc, subject, on_rfq, a->regions[i]);
        if (s == NATS_OK)
            s = natsSubscription_SetOnCompleteCB(a->regions[i]->sub, on_sub_complete,
                                                 a->regions[i]);
        if (s == NATS_OK)
            RFQ_LOG(&ctx, RFQ_INFO, "subscribed %s for %zu responders", subject,
                    a->regions[i]->n_hosted);
    }
    /* A PING/PONG round trip: the server has processed the SUBs when it answers. */
    if (s == NATS_OK)
        s = natsConnection_FlushTimeout(a->nc, 5000);
    if (s != NATS_OK) {
        RFQ_LOG(&ctx, RFQ_ERROR, "cannot subscribe: %s", natsStatus_GetText(s));
        return rfq_nats_status(s);
    }
    a->started = true;
    return RFQ_OK;
}

void rsp_agent_stats_get(rsp_agent *a, struct rsp_agent_stats *out)
{
#define RSP_COPY(name) out->name = atomic_load_explicit(&a->counters.name, memory_order_relaxed);
    RSP_COUNTERS(RSP_COPY)
#undef RSP_COPY
}

/* Stop the subscriptions (draining what already arrived) and wait until no RFQ callback runs
 * any more: only then may the scheduler and the agent go away. */
static void regions_stop(rsp_agent *a)
{
    struct rfq_log_ctx ctx = {.component = rsp_component};
    /* Draining needs a round trip to the server; while disconnected nothing more can arrive,
     * so close the subscriptions at once instead. */
    bool up = a->nc && natsConnection_Status(a->nc) == NATS_CONN_STATUS_CONNECTED;
    for (size_t i = 0; i < a->n_regions; i++) {
        natsSubscription *sub = a->regions[i]->sub;
        if (sub && (!up || natsSubscription_DrainTimeout(sub, 2000) != NATS_OK))
            natsSubscription_Unsubscribe(sub);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&a->sub_mu);
    for (size_t i = 0; i < a->n_regions; i++) {
        struct rsp_region *r = a->regions[i];
        while (r->sub && !r->sub_done &&
               pthread_cond_timedwait(&a->sub_cond, &a->sub_mu, &until) == 0)
            ;
        if (r->sub && !r->sub_done)
            RFQ_LOG(&ctx, RFQ_ERROR, "subscription of %s did not stop in time", r->name);
    }
    pthread_mutex_unlock(&a->sub_mu);
    for (size_t i = 0; i < a->n_regions; i++) {
        natsSubscription_Destroy(a->regions[i]->sub);
        a->regions[i]->sub = NULL;
    }
}

/* Wait up to drain_ms for outstanding PubAcks, then close NATS. When they do not all arrive, the
 * ack state is detached from the agent and deliberately left allocated: nats.c may still call the
 * handler with it from its own thread. */
static void nats_stop(rsp_agent *a)
{
    struct rfq_log_ctx ctx = {.component = rsp_component};
    if (a->js) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = a->cfg.drain_ms > 0 ? a->cfg.drain_ms : 1;
        if (js_PublishAsyncComplete(a->js, &po) != NATS_OK) {
            natsMsgList pending = {0};
            if (js_PublishAsyncGetPendingList(&pending, a->js) == NATS_OK) {
                RFQ_LOG(&ctx, RFQ_WARN, "%d quotes still without PubAck at shutdown",
                        pending.Count);
                natsMsgList_Destroy(&pending);
            }
            pthread_mutex_lock(&a->ack->mu);
            a->ack->counters = NULL;
            pthread_mutex_unlock(&a->ack->mu);
            a->ack = NULL;
        }
        jsCtx_Destroy(a->js);
        a->js = NULL;
    }
    natsConnection_Destroy(a->nc);
    a->nc = NULL;
}

void rsp_agent_destroy(rsp_agent *a)
{
    if (!a)
        return;
    struct rfq_log_ctx ctx = {.component = rsp_component};
    int64_t t0 = rfq_mono_ns();
    regions_stop(a);
    int64_t t1 = rfq_mono_ns();
    rsp_sched_destroy(a->sched, t1 + (int64_t)a->cfg.drain_ms * 1000000);
    int64_t t2 = rfq_mono_ns();
    nats_stop(a);
    RFQ_LOG(&ctx, RFQ_DEBUG,
            "shutdown: subscriptions %.1f ms, think drain %.1f ms, acks+close %.1f ms",
            (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6, (double)(rfq_mono_ns() - t2) / 1e6);
    if (a->started) {
        struct rsp_agent_stats s;
        rsp_agent_stats_get(a, &s);
        RFQ_LOG(&ctx, RFQ_INFO,
                "stopped: received %llu, bad %llu, expired %llu, quotes %llu, declines %llu, "
                "no answer %llu, invalid %llu, late %llu, shed %llu, cancelled %llu, "
                "send errors %llu, acked %llu, duplicates %llu, ack errors %llu, retries %llu",
                (unsigned long long)s.received, (unsigned long long)s.bad,
                (unsigned long long)s.expired, (unsigned long long)s.quotes,
                (unsigned long long)s.declines, (unsigned long long)s.no_answer,
                (unsigned long long)s.invalid, (unsigned long long)s.late,
                (unsigned long long)s.shed, (unsigned long long)s.cancelled,
                (unsigned long long)s.send_errors, (unsigned long long)s.acked,
                (unsigned long long)s.duplicates, (unsigned long long)s.ack_errors,
                (unsigned long long)s.retries);
    }
    for (size_t i = 0; i < a->n_regions; i++) {
        free(a->regions[i]->hosted);
        free(a->regions[i]);
    }
    free(a->regions);
    pthread_mutex_destroy(&a->fn_mu);
    pthread_mutex_destroy(&a->sub_mu);
    pthread_cond_destroy(&a->sub_cond);
    rsp_dlq_bucket_destroy(&a->dlq_bucket);
    if (a->ack)
        pthread_mutex_destroy(&a->ack->mu);
    free(a->ack);
    free(a->nats_url);
    free(a->inbox_prefix);
    free(a);
}
