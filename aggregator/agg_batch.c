/* agg_batch: validate, store, dead-letter, publish and acknowledge one batch of quotes. */
#include "agg_batch.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_events.h"
#include "agg_quote_check.h"
#include "agg_store.h"
#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_metrics.h"
#include "rfq_nats.h"
#include "rfq_pull.h"
#include "rfq_quote_batch.h"

/* What finally happens to a message. */
enum agg_action {
    AGG_ACT_ACK = 0, /* done (stored, declined, duplicate) */
    AGG_ACT_DLQ,     /* dead-letter with reason, then ack */
    AGG_ACT_RETRY,   /* negative ack with delay: try again later */
};

/* slot.item of an encoded answer whose store item is not made yet. */
#define AGG_ITEM_WANTED (-2)

/* One pulled message: a single answer, or a batch of answers (rfq_quote_batch.h). */
struct agg_msg {
    natsMsg *msg;       /* borrowed from the caller */
    int64_t arrival_ms; /* JetStream timestamp */
    uint64_t seq;       /* stream sequence: arrival order */
    uint64_t delivered; /* delivery count (1 = first time) */
    int fails;          /* this attempt's count of Redis refusals (see poison_fail); 0: none yet */
};

/* Per-answer working state, reused from batch to batch. A refused batch as a whole is one
 * slot too. */
struct agg_slot {
    struct agg_msg *m;          /* the message it came in */
    int index, of;              /* answer index+1 of `of` in a batch; index 0 for a whole message */
    struct agg_checked_quote q; /* tenant, rfq_id and the decoded quote */
    agg_reason reason;          /* why it is dead-lettered */
    char detail[224];           /* DLQ detail */
    char *json;                 /* canonical quote encoding (owned) */
    size_t json_len;
    char *raw; /* a refused batch answer as received (owned): its dead letter's body */
    int item;  /* index into items, -1 when not stored (AGG_ITEM_WANTED while checking) */
    enum agg_action act;
    bool event_quote;     /* publish a quote event */
    bool event_completed; /* publish a completed event (best at best_idx) */
    int best_idx;         /* index into best, -1 when none */
};

/* Failed attempts of one message Redis refused (see AGG_POISON_DELIVERIES). */
struct agg_poison {
    uint64_t seq; /* stream sequence */
    int fails;    /* 0: free entry */
};
/* Messages whose failures are remembered at once; one pushed out starts again from zero, which
 * only delays its dead letter. */
#define AGG_POISON_SLOTS 256

struct agg_batch {
    int cap;              /* messages per batch */
    struct agg_msg *msgs; /* cap */
    int slot_cap;         /* answers the arrays below hold; grows with batch messages */
    struct agg_slot *slots;
    struct agg_store_item *items;
    struct agg_best_req *best;
    struct agg_dlq_entry *dead; /* dead letters of the batch */
    int *dead_slot;             /* slot index of each dead letter */
    struct agg_poison poison[AGG_POISON_SLOTS];
    int poison_next;  /* entry the next new failure takes */
    int64_t touch_ns; /* when the batch was fetched or last touched (monotonic) */
};

static const struct rfq_log_ctx log_ctx = {.component = "aggregator"};

/* Grow one array to n elements of size sz; false (the array kept) when out of memory. */
static bool grow(void **p, int n, size_t sz)
{
    void *q = realloc(*p, (size_t)n * sz);
    if (!q)
        return false;
    *p = q;
    return true;
}

/* Room for need answers: batch messages make a batch of cap messages hold up to
 * cap * RFQ_QUOTE_BATCH_MAX answers, so the per-answer arrays grow when one does. */
static rfq_status slots_reserve(struct agg_batch *b, int need)
{
    if (need <= b->slot_cap)
        return RFQ_OK;
    int n = b->slot_cap > 0 ? b->slot_cap : need;
    while (n < need)
        n *= 2;
    if (!grow((void **)&b->slots, n, sizeof(*b->slots)) ||
        !grow((void **)&b->items, n, sizeof(*b->items)) ||
        !grow((void **)&b->best, n, sizeof(*b->best)) ||
        !grow((void **)&b->dead, n, sizeof(*b->dead)) ||
        !grow((void **)&b->dead_slot, n, sizeof(*b->dead_slot)))
        return RFQ_ENOMEM;
    b->slot_cap = n;
    return RFQ_OK;
}

rfq_status agg_batch_create(agg_batch **out, int cap)
{
    *out = NULL;
    if (cap <= 0)
        return RFQ_EINVAL;
    struct agg_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return RFQ_ENOMEM;
    b->cap = cap;
    b->msgs = calloc((size_t)cap, sizeof(*b->msgs));
    if (!b->msgs || slots_reserve(b, cap) != RFQ_OK) {
        agg_batch_destroy(b);
        return RFQ_ENOMEM;
    }
    *out = b;
    return RFQ_OK;
}

void agg_batch_destroy(agg_batch *b)
{
    if (!b)
        return;
    free(b->msgs);
    free(b->slots);
    free(b->items);
    free(b->best);
    free(b->dead);
    free(b->dead_slot);
    free(b);
}

/* Arrival time, order and delivery count from the JetStream metadata. A message without
 * metadata (cannot happen on a pull consumer) is dated now. */
static void msg_meta(struct agg_msg *m, int64_t now_ms)
{
    jsMsgMetaData *meta = NULL;
    m->arrival_ms = now_ms;
    m->seq = 0;
    m->delivered = 1;
    m->fails = 0;
    if (natsMsg_GetMetaData(&meta, m->msg) == NATS_OK && meta) {
        m->arrival_ms = meta->Timestamp / 1000000;
        m->seq = meta->Sequence.Stream;
        m->delivered = meta->NumDelivered;
    } else {
        RFQ_LOG(&log_ctx, RFQ_WARN, "quote without JetStream metadata, dated now");
    }
    jsMsgMetaData_Destroy(meta);
}

static void slot_detail(struct agg_slot *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The dead-letter detail of a slot; an answer of a batch says which one it is. */
static void slot_detail(struct agg_slot *s, const char *fmt, ...)
{
    int at = 0;
    if (s->index > 0)
        at = snprintf(s->detail, sizeof(s->detail), "answer %d of %d: ", s->index, s->of);
    if (at < 0 || (size_t)at >= sizeof(s->detail))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail + at, sizeof(s->detail) - (size_t)at, fmt, ap);
    va_end(ap);
}

/* A fresh slot for the next answer of message m (slots_reserve made room). */
static struct agg_slot *slot_new(struct agg_batch *b, int *n_slots, struct agg_msg *m, int index,
                                 int of)
{
    struct agg_slot *s = &b->slots[(*n_slots)++];
    memset(s, 0, sizeof(*s));
    s->m = m;
    s->index = index;
    s->of = of;
    s->item = -1;
    s->best_idx = -1;
    return s;
}

/* A validated answer gets its canonical encoding; its store item is made once every slot
 * exists (items point into the slots, which may still move while they grow). */
static void slot_encode(struct agg_slot *s)
{
    if (rfq_quote_encode(&s->q.quote, &s->json, &s->json_len) != RFQ_OK) {
        s->act = AGG_ACT_RETRY; /* out of memory: not the sender's fault */
        return;
    }
    s->item = AGG_ITEM_WANTED;
}

/* Store items of the encoded answers; returns how many. */
static int items_build(struct agg_batch *b, int n_slots)
{
    int n_items = 0;
    for (int i = 0; i < n_slots; i++) {
        struct agg_slot *s = &b->slots[i];
        if (s->item != AGG_ITEM_WANTED)
            continue;
        struct agg_store_item *it = &b->items[n_items];
        memset(it, 0, sizeof(*it));
        it->tenant = s->q.tenant;
        it->rfq_id = s->q.rfq_id;
        it->quote = &s->q.quote;
        it->json = s->json;
        it->json_len = s->json_len;
        it->arrival_ms = s->m->arrival_ms;
        it->arrival_seq = s->m->seq;
        s->item = n_items++;
    }
    return n_items;
}

/* The answers of a batch message, each validated on its own: a bad one is dead-lettered alone
 * (its own bytes as the body) and the others are stored. A batch refused as a whole (subject,
 * JSON, headers) is one slot, dead-lettered with the whole body. */
static void msg_check_batch(struct agg_batch *b, struct agg_msg *m, const struct agg_quote_in *in,
                            int *n_slots, int rest)
{
    struct agg_checked_quote whole;
    char detail[sizeof(((struct agg_slot *)0)->detail)];
    json_t *answers = NULL;
    agg_reason r = agg_quote_check_batch(in, &answers, &whole, detail, sizeof(detail));
    int of = answers ? (int)json_array_size(answers) : 0;
    /* Room for these answers and one slot for each message still to come. */
    if (r != AGG_REASON_NONE || slots_reserve(b, *n_slots + of + rest) != RFQ_OK) {
        struct agg_slot *s = slot_new(b, n_slots, m, 0, 0);
        s->q = whole;
        s->reason = r;
        s->act = r != AGG_REASON_NONE ? AGG_ACT_DLQ : AGG_ACT_RETRY; /* else out of memory */
        snprintf(s->detail, sizeof(s->detail), "%s", detail);
        json_decref(answers);
        return;
    }
    for (int i = 0; i < of; i++) {
        struct agg_slot *s = slot_new(b, n_slots, m, i + 1, of);
        memcpy(s->q.tenant, whole.tenant, sizeof(s->q.tenant));
        memcpy(s->q.rfq_id, whole.rfq_id, sizeof(s->q.rfq_id));
        json_t *answer = json_array_get(answers, (size_t)i);
        s->reason = agg_quote_check_answer(answer, &s->q, detail, sizeof(detail));
        if (s->reason == AGG_REASON_NONE) {
            slot_encode(s);
            continue;
        }
        slot_detail(s, "%s", detail);
        s->raw = json_dumps(answer, JSON_COMPACT);
        s->act = s->raw ? AGG_ACT_DLQ : AGG_ACT_RETRY;
    }
    json_decref(answers);
}

/* Validate one message into its slots (one per answer); valid answers are encoded. rest: the
 * messages after this one, each of which needs a slot. */
static void msg_check(struct agg_batch *b, struct agg_msg *m, int *n_slots, int rest)
{
    int len = natsMsg_GetDataLength(m->msg);
    struct agg_quote_in in = {
        .subject = natsMsg_GetSubject(m->msg),
        .body = natsMsg_GetData(m->msg),
        .len = (size_t)(len > 0 ? len : 0),
        .hdr_tenant = rfq_nats_header(m->msg, RFQ_HDR_TENANT),
        .hdr_rfq_id = rfq_nats_header(m->msg, RFQ_HDR_ID),
        .hdr_responder = rfq_nats_header(m->msg, RFQ_HDR_RESPONDER),
        .hdr_batch = rfq_nats_header(m->msg, RFQ_HDR_BATCH),
    };
    if (rfq_quote_body_is_batch(in.body, in.len)) {
        msg_check_batch(b, m, &in, n_slots, rest);
        return;
    }
    struct agg_slot *s = slot_new(b, n_slots, m, 0, 0);
    s->reason = agg_quote_check(&in, &s->q, s->detail, sizeof(s->detail));
    if (s->reason != AGG_REASON_NONE) {
        s->act = AGG_ACT_DLQ;
        return;
    }
    slot_encode(s);
}

/* Error replies about the state of the Redis server, not about the quote: retried without
 * counting towards the dead letter, however long they last. */
static bool error_is_server_state(const char *err)
{
    static const char *const prefixes[] = {"LOADING",  "BUSY",     "OOM",
                                           "MISCONF",  "READONLY", "MASTERDOWN",
                                           "TRYAGAIN", "NOPERM",   "NOAUTH"};
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(err, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* Count one failed attempt of the message at stream sequence seq; returns its failures so
 * far, this one included. */
static int poison_fail(struct agg_batch *b, uint64_t seq)
{
    for (int i = 0; i < AGG_POISON_SLOTS; i++)
        if (b->poison[i].fails > 0 && b->poison[i].seq == seq)
            return ++b->poison[i].fails;
    struct agg_poison *p = &b->poison[b->poison_next];
    b->poison_next = (b->poison_next + 1) % AGG_POISON_SLOTS;
    p->seq = seq;
    p->fails = 1;
    return 1;
}

static void poison_forget(struct agg_batch *b, uint64_t seq)
{
    for (int i = 0; i < AGG_POISON_SLOTS; i++)
        if (b->poison[i].fails > 0 && b->poison[i].seq == seq)
            b->poison[i].fails = 0;
}

const double agg_completion_bounds_s[AGG_COMPLETION_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                0.5,   1,    2.5,   5,    10,  30};

/* An RFQ completed now: count its time from creation (unknown when created_ms is 0). */
static void count_completion(struct agg_batch_stats *stats, int64_t created_ms)
{
    if (created_ms <= 0)
        return;
    int64_t ms = rfq_now_ms() - created_ms;
    if (ms < 0)
        ms = 0; /* clocks of two hosts */
    stats->completion_buckets[rfq_metrics_bucket(agg_completion_bounds_s, AGG_COMPLETION_BUCKETS,
                                                 (double)ms / 1000.0)]++;
    stats->completion_ms_sum += (uint64_t)ms;
}

/* Turn the store outcome of one slot into its action and events. */
static void slot_outcome(struct agg_batch *b, struct agg_slot *s,
                         const struct agg_store_result *res, struct agg_batch_stats *stats)
{
    struct rfq_log_ctx ctx = {"aggregator", s->q.tenant, s->q.rfq_id};
    switch (res->outcome) {
    case AGG_OUT_COMPLETED:
        stats->completed++;
        count_completion(stats, res->created_ms);
        s->event_completed = true;
        /* fall through */
    case AGG_OUT_STORED:
        stats->stored++;
        s->event_quote = true;
        s->act = AGG_ACT_ACK;
        break;
    case AGG_OUT_DECLINED:
        stats->declined++;
        s->act = AGG_ACT_ACK;
        break;
    case AGG_OUT_DUPLICATE:
        stats->duplicates++;
        s->act = AGG_ACT_ACK;
        /* A first delivery is a new stream message: the responder sent its answer again
         * after the stream's 2-minute Nats-Msg-Id window (or under another id). Redis
         * counted it; it is also dead-lettered. A redelivery is our own retry: counted only. */
        if (s->m->delivered <= 1) {
            s->act = AGG_ACT_DLQ;
            s->reason = AGG_REASON_DUPLICATE;
            slot_detail(s, "responder %s already answered (this is stream seq %llu; rfq is %s)",
                        s->q.quote.responder_id, (unsigned long long)s->m->seq,
                        res->status[0] ? res->status : "open");
            break;
        }
        /* A redelivered quote of a completed RFQ: the first attempt may have died between
         * Redis and the completed event, so publish it (again). */
        if (strcmp(res->status, "completed") == 0) {
            s->event_completed = true;
            stats->repaired++;
        }
        break;
    case AGG_OUT_LATE:
        s->act = AGG_ACT_DLQ;
        s->reason = AGG_REASON_LATE;
        slot_detail(s, "arrived at %lld, after the deadline", (long long)s->m->arrival_ms);
        break;
    case AGG_OUT_CLOSED:
        /* More answers than max_quotes is the normal case when a fleet is larger than the
         * RFQ asks for: Redis counted it (closed_drops); it is not a refused message. A quote
         * reaching an expired RFQ is different: it was held up somewhere, so keep it. */
        if (strcmp(res->status, "completed") == 0) {
            stats->surplus++;
            s->act = AGG_ACT_ACK;
            break;
        }
        s->act = AGG_ACT_DLQ;
        s->reason = AGG_REASON_CLOSED;
        slot_detail(s, "rfq is %s (quote arrived at %lld)", res->status[0] ? res->status : "closed",
                    (long long)s->m->arrival_ms);
        break;
    case AGG_OUT_UNKNOWN:
        s->act = AGG_ACT_DLQ;
        s->reason = AGG_REASON_UNKNOWN_RFQ;
        slot_detail(s, "no open or closed rfq %s for tenant %s", s->q.rfq_id, s->q.tenant);
        break;
    case AGG_OUT_OVERFLOW:
        s->act = AGG_ACT_DLQ;
        s->reason = AGG_REASON_OVERFLOW;
        slot_detail(s, "rfq already holds %d answers", AGG_ANSWERS_MAX);
        break;
    case AGG_OUT_CURRENCY:
        s->act = AGG_ACT_DLQ;
        s->reason = AGG_REASON_CURRENCY;
        slot_detail(s, "quote currency %s differs from the rfq's", s->q.quote.currency);
        break;
    case AGG_OUT_ERROR: {
        /* Without a stream sequence (cannot happen on a pull consumer) the delivery count is
         * all there is. */
        int fails = 0;
        if (!error_is_server_state(res->error)) {
            /* Once per message and attempt, however many of its answers Redis refused. */
            if (!s->m->fails)
                s->m->fails = s->m->seq ? poison_fail(b, s->m->seq) : (int)s->m->delivered;
            fails = s->m->fails;
        }
        RFQ_LOG(&ctx, RFQ_ERROR, "redis refused quote (delivery %llu, failure %d): %s",
                (unsigned long long)s->m->delivered, fails, res->error);
        if (fails >= AGG_POISON_DELIVERIES) {
            poison_forget(b, s->m->seq);
            s->act = AGG_ACT_DLQ;
            s->reason = AGG_REASON_STORE;
            slot_detail(s, "redis: %s", res->error);
        } else {
            s->act = AGG_ACT_RETRY;
        }
        break;
    }
    case AGG_OUT_RETRY:
        s->act = AGG_ACT_RETRY;
        break;
    }
}

/* Keep the batch's messages from being redelivered while it is still at work: once it has run
 * AGG_TOUCH_MS since it was fetched or last touched (or always, with force, before a step that
 * may take most of the ack wait), send each message an in-progress ack, which restarts its ack
 * wait on the server. */
static void batch_touch(struct agg_batch *b, natsConnection *nc, int n, bool force)
{
    int64_t now = rfq_mono_ns();
    if (!force && now - b->touch_ns < (int64_t)AGG_TOUCH_MS * 1000000)
        return;
    for (int i = 0; i < n; i++)
        rfq_pull_in_progress(nc, b->msgs[i].msg); /* a lost one costs a redelivery, no more */
    b->touch_ns = now;
}

/* Look up the best quotes of the RFQs that need a completed event (once per RFQ). When the
 * lookup fails, the completing messages are retried instead: their redelivery comes back as a
 * duplicate of a completed RFQ and publishes the event then. */
static rfq_status lookup_best(struct agg_batch *b, const struct agg_batch_env *env, int n)
{
    /* Two passes: first the RFQs whose best quote add_quote.lua did not return (a repaired
     * completion, or out of memory), which need the Redis lookup, at the front of b->best;
     * then those it returned, which need nothing more. */
    int nb = 0, n_lookup = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            struct agg_slot *s = &b->slots[i];
            if (pass == 0)
                s->best_idx = -1;
            if (!s->event_completed || s->best_idx >= 0)
                continue;
            struct agg_store_result *res = s->item >= 0 ? &b->items[s->item].result : NULL;
            bool have = res && res->best_json;
            if (have != (pass == 1))
                continue;
            bool dup = false;
            for (int j = 0; j < n && !dup; j++) {
                const struct agg_slot *o = &b->slots[j];
                dup = j != i && o->best_idx >= 0 && strcmp(o->q.tenant, s->q.tenant) == 0 &&
                      strcmp(o->q.rfq_id, s->q.rfq_id) == 0;
            }
            if (dup) {
                s->event_completed = false; /* one completed event per RFQ and batch */
                continue;
            }
            b->best[nb].tenant = s->q.tenant;
            b->best[nb].rfq_id = s->q.rfq_id;
            b->best[nb].best_json = NULL;
            if (have) { /* the batch now owns it (freed with the slot) */
                b->best[nb].best_json = res->best_json;
                res->best_json = NULL;
            }
            s->best_idx = nb++;
        }
        if (pass == 0)
            n_lookup = nb;
    }
    if (n_lookup == 0)
        return RFQ_OK;
    rfq_status st = agg_store_best_quotes(env->redis, b->best, n_lookup);
    if (st == RFQ_OK)
        return RFQ_OK;
    for (int i = 0; i < n; i++) {
        struct agg_slot *s = &b->slots[i];
        if (s->best_idx >= 0 && s->best_idx < n_lookup) {
            s->event_completed = false;
            s->best_idx = -1;
            s->act = AGG_ACT_RETRY;
        }
    }
    RFQ_LOG(&log_ctx, RFQ_WARN, "best-quote lookup failed (%s): completions retried",
            rfq_status_str(st));
    return st == RFQ_ENOMEM ? RFQ_OK : RFQ_EREDIS;
}

/* Move the batch's refused answers to the DLQ in one pipeline: a single quote or a batch
 * refused as a whole with the message's body, an answer of a batch with its own bytes. Each
 * is settled only when the stream has it, and retried otherwise. */
static void dead_letter_all(struct agg_batch *b, const struct agg_batch_env *env, int n,
                            struct agg_batch_stats *stats)
{
    int nd = 0;
    for (int i = 0; i < n; i++) {
        struct agg_slot *s = &b->slots[i];
        if (s->act != AGG_ACT_DLQ)
            continue;
        struct agg_dlq_entry *e = &b->dead[nd];
        memset(e, 0, sizeof(*e));
        e->dl.stage = "aggregator";
        e->dl.reason = agg_reason_str(s->reason);
        e->dl.detail = s->detail;
        e->dl.subject = natsMsg_GetSubject(s->m->msg);
        e->dl.orig = s->m->msg; /* its safe headers go along */
        if (!s->q.tenant[0] || !s->q.rfq_id[0]) {
            /* A bad subject named neither: take them from the headers or the body. */
            int dlen = natsMsg_GetDataLength(s->m->msg);
            struct agg_quote_in in = {
                .body = natsMsg_GetData(s->m->msg),
                .len = dlen > 0 ? (size_t)dlen : 0,
                .hdr_tenant = rfq_nats_header(s->m->msg, RFQ_HDR_TENANT),
                .hdr_rfq_id = rfq_nats_header(s->m->msg, RFQ_HDR_ID),
            };
            agg_quote_context(&in, &s->q);
        }
        e->dl.tenant = s->q.tenant[0] ? s->q.tenant : NULL;
        e->dl.rfq_id = s->q.rfq_id[0] ? s->q.rfq_id : NULL;
        if (s->index > 0) { /* refused when checked: as received; later: as it would be stored */
            e->data = s->raw ? s->raw : s->json;
            e->len = (int)(s->raw ? strlen(s->raw) : s->json_len);
        } else {
            int dlen = natsMsg_GetDataLength(s->m->msg);
            e->data = natsMsg_GetData(s->m->msg);
            e->len = dlen > 0 ? dlen : 0;
        }
        b->dead_slot[nd++] = i;
    }
    if (nd == 0)
        return;
    agg_dlq_publish(env->dlq, b->dead, nd, AGG_DLQ_WAIT_MS, env->stop);
    for (int k = 0; k < nd; k++) {
        struct agg_slot *s = &b->slots[b->dead_slot[k]];
        const struct agg_dlq_entry *e = &b->dead[k];
        struct rfq_log_ctx ctx = {"aggregator", e->dl.tenant, e->dl.rfq_id};
        if (!e->stored) {
            RFQ_LOG(&ctx, RFQ_WARN, "dead letter (%s) not stored; will retry", e->dl.reason);
            s->act = AGG_ACT_RETRY;
            continue;
        }
        stats->dead_lettered++;
        s->act = AGG_ACT_ACK;
        RFQ_LOG(&ctx, RFQ_INFO, "quote dead-lettered: %s: %s", e->dl.reason, s->detail);
    }
}

/* Events of one slot, in order: the quote, then the completion. */
static void slot_events(struct agg_batch *b, struct agg_slot *s, const struct agg_batch_env *env)
{
    struct rfq_log_ctx ctx = {"aggregator", s->q.tenant, s->q.rfq_id};
    const struct agg_store_result *res = s->item >= 0 ? &b->items[s->item].result : NULL;
    int64_t count = res ? res->count : 0;
    if (s->event_quote) {
        char *json = agg_event_quote_json(s->q.tenant, s->q.rfq_id, count, s->json);
        rfq_status st = agg_event_publish(env->nc, s->q.tenant, s->q.rfq_id, json);
        if (st != RFQ_OK)
            RFQ_LOG(&ctx, RFQ_WARN, "quote event not published: %s", rfq_status_str(st));
        free(json);
    }
    if (s->event_completed) {
        const char *best = s->best_idx >= 0 ? b->best[s->best_idx].best_json : NULL;
        char *json = agg_event_closed_json("completed", s->q.tenant, s->q.rfq_id, count, best);
        rfq_status st = agg_event_publish(env->nc, s->q.tenant, s->q.rfq_id, json);
        if (st != RFQ_OK)
            RFQ_LOG(&ctx, RFQ_WARN, "completed event not published: %s", rfq_status_str(st));
        else
            RFQ_LOG(&ctx, RFQ_DEBUG, "rfq completed with %lld quotes", (long long)count);
        free(json);
    }
}

/* Acknowledge every message, or hand it back when any of its answers must be tried again
 * (answers already stored then come back as duplicates of our own retry: counted only). */
static void msgs_settle(struct agg_batch *b, const struct agg_batch_env *env, int n, int n_slots,
                        struct agg_batch_stats *stats)
{
    for (int i = 0, k = 0; i < n; i++) {
        struct agg_msg *m = &b->msgs[i];
        bool retry = false;
        const struct agg_slot *first = k < n_slots ? &b->slots[k] : NULL;
        for (; k < n_slots && b->slots[k].m == m; k++)
            retry = retry || b->slots[k].act != AGG_ACT_ACK;
        natsStatus ns = !retry ? rfq_pull_ack(env->nc, m->msg)
                               : rfq_pull_nak(env->nc, m->msg, AGG_RETRY_DELAY_MS);
        if (retry)
            stats->retried++;
        if (ns != NATS_OK) {
            bool named = first && first->m == m;
            struct rfq_log_ctx ctx = {"aggregator",
                                      named && first->q.tenant[0] ? first->q.tenant : NULL,
                                      named && first->q.rfq_id[0] ? first->q.rfq_id : NULL};
            RFQ_LOG(&ctx, RFQ_WARN, "ack failed: %s (redelivered later)", natsStatus_GetText(ns));
        }
    }
}

rfq_status agg_batch_process(agg_batch *b, const struct agg_batch_env *env, natsMsg **msgs, int n,
                             struct agg_batch_stats *stats)
{
    if (n > b->cap)
        n = b->cap; /* cannot happen: agg_consumer slices fetches into batches of cap */
    int64_t now_ms = rfq_now_ms();
    int n_slots = 0;
    rfq_status result = RFQ_OK;
    b->touch_ns = rfq_mono_ns();

    /* Slots are made in message order: the answers of message i follow those of i - 1. */
    for (int i = 0; i < n; i++) {
        struct agg_msg *m = &b->msgs[i];
        m->msg = msgs[i];
        msg_meta(m, now_ms);
        msg_check(b, m, &n_slots, n - i - 1);
    }
    int n_items = items_build(b, n_slots);

    if (n_items > 0) {
        /* With no connection every item comes back AGG_OUT_RETRY. */
        rfq_status st = agg_store_add_quotes(env->redis, b->items, n_items, now_ms);
        if (st != RFQ_OK)
            result = RFQ_EREDIS;
        for (int i = 0; i < n_slots; i++)
            if (b->slots[i].item >= 0)
                slot_outcome(b, &b->slots[i], &b->items[b->slots[i].item].result, stats);
        batch_touch(b, env->nc, n, false);
        /* Also after a failure: completions then fail the lookup and are retried. */
        if (lookup_best(b, env, n_slots) != RFQ_OK)
            result = RFQ_EREDIS;
    }

    /* The DLQ wait may take most of the ack wait: start it with a fresh one. */
    bool dead = false;
    for (int i = 0; i < n_slots && !dead; i++)
        dead = b->slots[i].act == AGG_ACT_DLQ;
    batch_touch(b, env->nc, n, dead);
    dead_letter_all(b, env, n_slots, stats);
    batch_touch(b, env->nc, n, false);

    for (int i = 0; i < n_slots; i++)
        slot_events(b, &b->slots[i], env);

    msgs_settle(b, env, n, n_slots, stats);
    for (int i = 0; i < n_slots; i++) {
        struct agg_slot *s = &b->slots[i];
        if (s->best_idx >= 0)
            free(b->best[s->best_idx].best_json);
        free(s->json);
        free(s->raw);
        s->json = NULL;
        s->raw = NULL;
    }
    for (int i = 0; i < n_items; i++)
        agg_store_result_clear(&b->items[i].result);
    stats->msgs += (uint64_t)n;
    stats->answers += (uint64_t)n_slots;
    return result;
}
