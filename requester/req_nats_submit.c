/* req_nats_submit: rfq.v1.submit request handler. */
#include "req_nats_submit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req_submit.h"
#include "rfq_ids.h"
#include "rfq_nats.h"

struct req_nats_submit {
    struct req_server *srv;
    natsSubscription **subs;
    int n;
};

/* A reply subject the requester may answer on. The answer goes out under the requester's own
 * identity, so a request must not be able to point it at the server's APIs ($JS.API.*,
 * $SYS.*) or at the engine's own subjects (rfq.*): it could purge a stream or forge an event.
 * Inboxes (_INBOX.* or a client's custom prefix) pass. */
static bool reply_subject_allowed(const char *s)
{
    return s && *s && s[0] != '$' && strncmp(s, "rfq.", 4) != 0 && !strpbrk(s, " \t\r\n*>");
}

/* More submits than this waiting in all the subscriptions' queues (each holds its share):
 * refused at once. Offered faster than the engine can take them, submits would otherwise pile
 * up in the queues (nothing bounds them but memory) and each be worked on, and answered, long
 * after its caller gave up: the queues must drain at the speed of a 503. 1024 is about one
 * second of work. */
#define REQ_SUBMIT_BACKLOG_MAX 1024

/* Delivery thread of one queue subscription: answer the request, destroy msg (ours). */
static void on_submit(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    struct req_server *s = closure;
    const char *reply_to = natsMsg_GetReply(msg);
    if (!reply_subject_allowed(reply_to)) {
        RFQ_LOG(&s->log, RFQ_DEBUG, "submit without a usable reply subject dropped");
        natsMsg_Destroy(msg);
        return;
    }
    struct req_reply rep;
    req_reply_init(&rep);
    int waiting = 0;
    int share = REQ_SUBMIT_BACKLOG_MAX / (s->cfg.submit_workers > 0 ? s->cfg.submit_workers : 1);
    if (natsSubscription_GetPending(sub, &waiting, NULL) == NATS_OK && waiting > share) {
        req_reply_error(&rep, 503, "too many submits waiting; retry later");
        req_reply_header(&rep, "Retry-After", "1");
    } else {
        req_submit_with_token(s, rfq_nats_header(msg, RFQ_HDR_AUTH), natsMsg_GetData(msg),
                              (size_t)natsMsg_GetDataLength(msg),
                              rfq_nats_header(msg, RFQ_HDR_TRACEPARENT), &rep);
    }
    if (!rep.body)
        req_reply_error(&rep, 500, "no answer");
    req_metrics_count_nats_submit(&s->metrics, rep.status);
    char status[8];
    snprintf(status, sizeof(status), "%d", rep.status);
    natsMsg *ans = NULL;
    natsStatus st = natsMsg_Create(&ans, reply_to, NULL, rep.body, (int)rep.body_len);
    if (st == NATS_OK)
        st = natsMsgHeader_Set(ans, RFQ_HDR_STATUS, status);
    for (int i = 0; st == NATS_OK && i < rep.n_headers; i++)
        st = natsMsgHeader_Set(ans, rep.headers[i].name, rep.headers[i].value);
    if (st == NATS_OK)
        st = natsConnection_PublishMsg(nc, ans);
    if (st != NATS_OK)
        RFQ_LOG(&s->log, RFQ_WARN, "cannot answer a submit: %s", natsStatus_GetText(st));
    natsMsg_Destroy(ans);
    req_reply_clear(&rep);
    natsMsg_Destroy(msg);
}

rfq_status req_nats_submit_start(struct req_nats_submit **out, struct req_server *s, int n)
{
    *out = NULL;
    struct req_nats_submit *ns = calloc(1, sizeof(*ns));
    if (!ns || n < 1 || !(ns->subs = calloc((size_t)n, sizeof(*ns->subs)))) {
        free(ns);
        return n < 1 ? RFQ_EINVAL : RFQ_ENOMEM;
    }
    ns->srv = s;
    natsStatus st = NATS_OK;
    for (; ns->n < n && st == NATS_OK; ns->n++) {
        st = natsConnection_QueueSubscribe(&ns->subs[ns->n], s->nc, RFQ_SUBJECT_SUBMIT,
                                           REQ_SUBMIT_QUEUE, on_submit, s);
        if (st != NATS_OK)
            break;
    }
    if (st == NATS_OK)
        st = natsConnection_FlushTimeout(s->nc, 5000); /* subscribed at the server: ready */
    if (st != NATS_OK) {
        req_nats_submit_stop(ns, 1000);
        return rfq_nats_status(st);
    }
    *out = ns;
    return RFQ_OK;
}

void req_nats_submit_stop(struct req_nats_submit *ns, int timeout_ms)
{
    if (!ns)
        return;
    /* Draining needs the server: when the connection is down, drop the subscriptions at once
     * so that a stop during an outage is not held up by one timeout per subscription. */
    bool connected = natsConnection_Status(ns->srv->nc) == NATS_CONN_STATUS_CONNECTED;
    for (int i = 0; connected && i < ns->n; i++)
        natsSubscription_Drain(ns->subs[i]);
    int64_t deadline = rfq_mono_ns() + (int64_t)timeout_ms * 1000000;
    for (int i = 0; i < ns->n; i++) {
        int64_t left_ms = (deadline - rfq_mono_ns()) / 1000000;
        natsStatus st = NATS_TIMEOUT;
        if (connected && left_ms > 0)
            st = natsSubscription_WaitForDrainCompletion(ns->subs[i], left_ms);
        if (st != NATS_OK) {
            natsSubscription_Unsubscribe(ns->subs[i]);
            if (connected)
                RFQ_LOG(&ns->srv->log, RFQ_WARN, "submit drain: %s", natsStatus_GetText(st));
        }
        natsSubscription_Destroy(ns->subs[i]);
    }
    free(ns->subs);
    free(ns);
}
