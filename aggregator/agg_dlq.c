/* agg_dlq: pipelined dead-letter publishing with per-message outcome. */
#include "agg_dlq.h"

#include <pthread.h>
#include <stdlib.h>

#include "rfq_ids.h"
#include "rfq_log.h"

enum { DLQ_IDLE = 0, DLQ_PENDING, DLQ_FAILED };

#define DLQ_WAIT_SLICE_MS 50 /* PubAcks are awaited in slices to notice a stop request */

struct agg_dlq {
    natsConnection *nc; /* borrowed: its state decides whether waiting is worth it */
    jsCtx *js;
    pthread_mutex_t mu;            /* guards entries/n against the library's reply thread */
    struct agg_dlq_entry *entries; /* the batch in flight, NULL between batches */
    int n;
};

static const struct rfq_log_ctx log_ctx = {.component = "aggregator"};

/* Mark the pending entry that sent msg as failed. Matching only pending entries keeps a
 * reused allocation address from being mistaken for an entry already settled. */
static void mark_failed(struct agg_dlq *d, const natsMsg *msg)
{
    pthread_mutex_lock(&d->mu);
    for (int i = 0; d->entries && i < d->n; i++) {
        struct agg_dlq_entry *e = &d->entries[i];
        if (e->state == DLQ_PENDING && e->msg == msg) {
            e->state = DLQ_FAILED;
            break;
        }
    }
    pthread_mutex_unlock(&d->mu);
}

/* Library callback (its reply thread) for a negative or unparsable PubAck. The library
 * destroys the message afterwards. */
static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    (void)js;
    struct agg_dlq *d = closure;
    RFQ_LOG(&log_ctx, RFQ_WARN, "dead letter refused by the stream: %s (js error %d)",
            pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err), (int)pae->ErrCode);
    mark_failed(d, pae->Msg);
}

rfq_status agg_dlq_create(agg_dlq **out, natsConnection *nc)
{
    *out = NULL;
    struct agg_dlq *d = calloc(1, sizeof(*d));
    if (!d)
        return RFQ_ENOMEM;
    pthread_mutex_init(&d->mu, NULL);
    d->nc = nc;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.ErrHandler = on_pub_error;
    jo.PublishAsync.ErrHandlerClosure = d;
    natsStatus s = natsConnection_JetStream(&d->js, nc, &jo);
    if (s != NATS_OK) {
        agg_dlq_destroy(d);
        return rfq_nats_status(s);
    }
    *out = d;
    return RFQ_OK;
}

void agg_dlq_destroy(agg_dlq *d)
{
    if (!d)
        return;
    jsCtx_Destroy(d->js);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* After a timeout: take back what never got a PubAck and count it as not stored. */
static void reclaim_pending(struct agg_dlq *d)
{
    natsMsgList pending = {0};
    if (js_PublishAsyncGetPendingList(&pending, d->js) != NATS_OK)
        return;
    for (int i = 0; i < pending.Count; i++)
        mark_failed(d, pending.Msgs[i]);
    natsMsgList_Destroy(&pending);
    /* An error callback already under way holds no pending slot: let it finish. */
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 200;
    js_PublishAsyncComplete(d->js, &po);
}

/* Wait for every PubAck: up to wait_ms, in slices so that a stop request cuts the wait to
 * AGG_DLQ_STOP_WAIT_MS, or ends it at once when NATS is not connected (no PubAck can come
 * before the process exits). NATS_OK when all came back. */
static natsStatus await_acks(struct agg_dlq *d, int wait_ms, volatile int *stop)
{
    const int64_t ms = 1000000;
    int64_t deadline = rfq_mono_ns() + (int64_t)wait_ms * ms;
    bool stopping = false;
    for (;;) {
        if (!stopping && stop && *stop) {
            stopping = true;
            int64_t cap = rfq_mono_ns() + (int64_t)AGG_DLQ_STOP_WAIT_MS * ms;
            if (cap < deadline)
                deadline = cap;
        }
        if (stopping && natsConnection_Status(d->nc) != NATS_CONN_STATUS_CONNECTED)
            return NATS_TIMEOUT;
        int64_t left = (deadline - rfq_mono_ns()) / ms;
        if (left <= 0)
            return NATS_TIMEOUT;
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = left < DLQ_WAIT_SLICE_MS ? left : DLQ_WAIT_SLICE_MS;
        natsStatus s = js_PublishAsyncComplete(d->js, &po);
        if (s != NATS_TIMEOUT)
            return s;
    }
}

void agg_dlq_publish(agg_dlq *d, struct agg_dlq_entry *e, int n, int wait_ms, volatile int *stop)
{
    pthread_mutex_lock(&d->mu);
    d->entries = e;
    d->n = n;
    for (int i = 0; i < n; i++) {
        e[i].state = DLQ_PENDING;
        e[i].msg = NULL;
        e[i].stored = false;
    }
    pthread_mutex_unlock(&d->mu);

    int sent = 0;
    for (int i = 0; i < n; i++) {
        natsMsg *m = NULL;
        if (rfq_dlq_msg_create(&m, &e[i].dl, e[i].data, e[i].len) != RFQ_OK) {
            pthread_mutex_lock(&d->mu);
            e[i].state = DLQ_FAILED;
            pthread_mutex_unlock(&d->mu);
            continue;
        }
        pthread_mutex_lock(&d->mu);
        e[i].msg = m; /* before the publish: the reply may come back at once */
        pthread_mutex_unlock(&d->mu);
        natsStatus s = js_PublishMsgAsync(d->js, &m, NULL);
        if (s != NATS_OK) {
            /* Not handed over: still ours. */
            pthread_mutex_lock(&d->mu);
            e[i].state = DLQ_FAILED;
            e[i].msg = NULL;
            pthread_mutex_unlock(&d->mu);
            natsMsg_Destroy(m);
            continue;
        }
        sent++;
    }

    if (sent > 0 && await_acks(d, wait_ms, stop) != NATS_OK)
        reclaim_pending(d);

    pthread_mutex_lock(&d->mu);
    for (int i = 0; i < n; i++) {
        e[i].stored = e[i].state == DLQ_PENDING;
        e[i].state = DLQ_IDLE;
        e[i].msg = NULL;
    }
    d->entries = NULL;
    d->n = 0;
    pthread_mutex_unlock(&d->mu);
}
