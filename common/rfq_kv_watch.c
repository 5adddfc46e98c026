/* rfq_kv_watch: a KV bucket's latest values and changes over a push consumer of our own (see
 * the header for why not nats.c's watcher). The consumer delivers the last message of every
 * key, then each new one, unacknowledged, with idle heartbeats; the metadata in each reply
 * subject gives the revision, the consumer sequence (to see a gap) and what is still pending
 * (to see the end of the initial values). */
#include "rfq_kv_watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_ids.h"
#include "rfq_nats.h"

#define KV_WATCH_HEARTBEAT_MS 2000
/* No message at all (heartbeats included) for this long while connected: the consumer is
 * gone (e.g. a server restarted within the reconnect wait, unnoticed). */
#define KV_WATCH_SILENCE_MS (3 * KV_WATCH_HEARTBEAT_MS)
/* A consumer whose watcher vanished (a crash, or a delete refused during an outage) is
 * removed by the server after this long without interest. */
#define KV_WATCH_INACTIVE_MS 30000
#define KV_WATCH_NAME_MAX 96

struct rfq_kv_watch {
    natsConnection *nc;               /* borrowed */
    jsCtx *js;                        /* borrowed */
    natsSubscription *sub;            /* on the consumer's deliver subject */
    char stream[KV_WATCH_NAME_MAX];   /* KV_<bucket> */
    char prefix[KV_WATCH_NAME_MAX];   /* $KV.<bucket>. */
    char consumer[KV_WATCH_NAME_MAX]; /* the consumer's name, to delete it */
    uint64_t next_dseq;               /* consumer sequence expected next */
    uint64_t initial;                 /* messages pending at creation */
    uint64_t received;                /* delivered so far */
    bool init_done;                   /* the marker was handed out */
    bool marker_due;                  /* hand out the marker at the next call */
    int64_t heard_ns;                 /* last message of any kind */
    natsMsg *cur;                     /* the change handed out last */
};

natsStatus rfq_kv_watch_create(rfq_kv_watch **out, natsConnection *nc, jsCtx *js,
                               const char *bucket)
{
    *out = NULL;
    rfq_kv_watch *w = calloc(1, sizeof(*w));
    if (!w)
        return NATS_NO_MEMORY;
    w->nc = nc;
    w->js = js;
    w->next_dseq = 1;
    snprintf(w->stream, sizeof(w->stream), "KV_%s", bucket);
    snprintf(w->prefix, sizeof(w->prefix), "$KV.%s.", bucket);
    char filter[KV_WATCH_NAME_MAX];
    snprintf(filter, sizeof(filter), "$KV.%s.>", bucket);

    /* Subscribe before the consumer exists, so that its first deliveries find us. */
    char inbox[KV_WATCH_NAME_MAX];
    natsStatus s = rfq_nats_inbox_subscribe(nc, &w->sub, inbox, sizeof(inbox));
    jsConsumerInfo *ci = NULL;
    if (s == NATS_OK) {
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.DeliverSubject = inbox;
        cc.DeliverPolicy = js_DeliverLastPerSubject;
        cc.AckPolicy = js_AckNone;
        cc.FilterSubject = filter;
        cc.Heartbeat = (int64_t)KV_WATCH_HEARTBEAT_MS * 1000000;
        cc.InactiveThreshold = (int64_t)KV_WATCH_INACTIVE_MS * 1000000;
        cc.MemoryStorage = true;
        cc.Replicas = 1;
        jsErrCode jerr = 0;
        s = js_AddConsumer(&ci, js, w->stream, &cc, NULL, &jerr);
    }
    if (s != NATS_OK) {
        rfq_kv_watch_destroy(w);
        return s;
    }
    snprintf(w->consumer, sizeof(w->consumer), "%s", ci->Name ? ci->Name : "");
    w->initial = ci->NumPending;
    w->marker_due = w->initial == 0;
    jsConsumerInfo_Destroy(ci);
    w->heard_ns = rfq_mono_ns();
    *out = w;
    return NATS_OK;
}

/* A control message (idle heartbeat): no reply subject. Its Nats-Last-Consumer header names
 * the last consumer sequence the server sent; anything beyond what we saw was lost. */
static natsStatus on_control(rfq_kv_watch *w, natsMsg *m)
{
    const char *last = NULL;
    if (natsMsgHeader_Get(m, "Nats-Last-Consumer", &last) != NATS_OK || !last)
        return NATS_OK;
    char *end = NULL;
    unsigned long long seq = strtoull(last, &end, 10);
    if (end == last || *end)
        return NATS_OK;
    return seq + 1 > w->next_dseq ? NATS_MISMATCH : NATS_OK;
}

/* A delivered record: fill c from m (kept as w->cur). */
static natsStatus on_record(rfq_kv_watch *w, natsMsg *m, struct rfq_kv_change *c)
{
    jsMsgMetaData *meta = NULL;
    natsStatus s = natsMsg_GetMetaData(&meta, m);
    if (s != NATS_OK)
        return s;
    uint64_t dseq = meta->Sequence.Consumer;
    uint64_t rev = meta->Sequence.Stream;
    uint64_t pending = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
    if (dseq != w->next_dseq)
        return NATS_MISMATCH; /* a gap (or a replay): only a new consumer is coherent */
    w->next_dseq = dseq + 1;
    const char *subject = natsMsg_GetSubject(m);
    size_t plen = strlen(w->prefix);
    if (!subject || strncmp(subject, w->prefix, plen) != 0 || !subject[plen])
        return NATS_MISMATCH;
    const char *op = NULL;
    bool deleted = natsMsgHeader_Get(m, "KV-Operation", &op) == NATS_OK && op &&
                   (strcmp(op, "DEL") == 0 || strcmp(op, "PURGE") == 0);
    if (!w->init_done && (++w->received >= w->initial || pending == 0))
        w->marker_due = true;
    c->key = subject + plen;
    c->value = deleted ? NULL : natsMsg_GetData(m);
    c->value_len = deleted ? 0 : natsMsg_GetDataLength(m);
    c->revision = rev;
    c->deleted = deleted;
    return NATS_OK;
}

natsStatus rfq_kv_watch_next(rfq_kv_watch *w, struct rfq_kv_change *c, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    natsMsg_Destroy(w->cur);
    w->cur = NULL;
    int64_t end = rfq_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        if (w->marker_due) {
            w->marker_due = false;
            w->init_done = true;
            return NATS_OK; /* c->key == NULL: the initial values are all delivered */
        }
        int64_t left_ms = (end - rfq_mono_ns()) / 1000000;
        if (left_ms <= 0)
            left_ms = 1; /* one look at what is already queued */
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, w->sub, left_ms);
        if (s == NATS_TIMEOUT) {
            bool up = natsConnection_Status(w->nc) == NATS_CONN_STATUS_CONNECTED;
            if (up && rfq_mono_ns() - w->heard_ns > (int64_t)KV_WATCH_SILENCE_MS * 1000000)
                return NATS_MISSED_HEARTBEAT;
            if (!up)
                w->heard_ns = rfq_mono_ns(); /* silence while down says nothing */
            if (rfq_mono_ns() >= end)
                return NATS_TIMEOUT;
            continue;
        }
        if (s != NATS_OK)
            return s;
        w->heard_ns = rfq_mono_ns();
        const char *reply = natsMsg_GetReply(m);
        if (!reply || !*reply) {
            s = on_control(w, m);
            natsMsg_Destroy(m);
            if (s != NATS_OK)
                return s;
            continue;
        }
        s = on_record(w, m, c);
        if (s != NATS_OK) {
            memset(c, 0, sizeof(*c));
            natsMsg_Destroy(m);
            return s;
        }
        w->cur = m;
        return NATS_OK;
    }
}

void rfq_kv_watch_destroy(rfq_kv_watch *w)
{
    if (!w)
        return;
    natsMsg_Destroy(w->cur);
    natsSubscription_Destroy(w->sub);
    /* While disconnected the delete would only wait for its timeout: the server removes the
     * consumer after KV_WATCH_INACTIVE_MS without interest instead. */
    if (w->consumer[0] && natsConnection_Status(w->nc) == NATS_CONN_STATUS_CONNECTED)
        js_DeleteConsumer(w->js, w->stream, w->consumer, NULL, NULL);
    free(w);
}
