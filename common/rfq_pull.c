/* rfq_pull: a pull consumer read without nats.c's fetch (see the header). Deliveries come to
 * our inbox with their ack subject as reply; the requests' ends come as status messages
 * (no reply, a Status header): 404 no messages, 408 request expired, 409 refused. */
#include "rfq_pull.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_ids.h"
#include "rfq_nats.h"

#define PULL_SUBJECT_MAX 256
/* The server ends a request this long before our wait does, so that its status, not our
 * timer, usually closes it and no request outlives the fetch that sent it. */
#define PULL_EXPIRY_MARGIN_MS 20
/* Once a fetch holds a message, it waits at most this long for the next one: the server sends
 * what it has back to back, and a delivery of another request (one an earlier fetch gave up
 * on) must not wait for this request's end. */
#define PULL_BURST_GAP_MS 2

struct rfq_pull {
    natsConnection *nc; /* borrowed */
    natsSubscription *sub;
    char inbox[PULL_SUBJECT_MAX];
    char next_subject[PULL_SUBJECT_MAX]; /* $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer> */
};

natsStatus rfq_pull_create(rfq_pull **out, natsConnection *nc, const char *stream,
                           const char *consumer)
{
    *out = NULL;
    rfq_pull *p = calloc(1, sizeof(*p));
    if (!p)
        return NATS_NO_MEMORY;
    p->nc = nc;
    snprintf(p->next_subject, sizeof(p->next_subject), "$JS.API.CONSUMER.MSG.NEXT.%s.%s", stream,
             consumer);
    natsStatus s = rfq_nats_inbox_subscribe(nc, &p->sub, p->inbox, sizeof(p->inbox));
    if (s != NATS_OK) {
        rfq_pull_destroy(p);
        return s;
    }
    *out = p;
    return NATS_OK;
}

/* What a status message means for the request it ends: NATS_OK for a heartbeat (not an end),
 * NATS_NOT_FOUND / NATS_TIMEOUT for "nothing (more)", another error for a refusal. */
static natsStatus status_of(natsMsg *m, bool *ends)
{
    const char *st = NULL;
    *ends = true;
    if (natsMsgHeader_Get(m, "Status", &st) != NATS_OK || !st) {
        *ends = false; /* no status and no reply: not ours to judge, skip it */
        return NATS_OK;
    }
    if (strcmp(st, "100") == 0) {
        *ends = false;
        return NATS_OK;
    }
    if (strcmp(st, "404") == 0)
        return NATS_NOT_FOUND;
    if (strcmp(st, "408") == 0)
        return NATS_TIMEOUT;
    if (strcmp(st, "503") == 0)
        return NATS_NO_RESPONDERS;
    return NATS_ERR; /* 409 and the like: the request was refused */
}

static bool is_delivery(natsMsg *m)
{
    const char *reply = natsMsg_GetReply(m);
    return reply && strncmp(reply, "$JS.ACK.", 8) == 0;
}

natsStatus rfq_pull_fetch(rfq_pull *p, natsMsg **msgs, int cap, int wait_ms, int *n)
{
    *n = 0;
    if (cap <= 0 || wait_ms <= 0)
        return NATS_INVALID_ARG;
    /* Deliveries that came after an earlier fetch stopped reading, and stale statuses. */
    natsMsg *m = NULL;
    while (*n < cap && natsSubscription_NextMsg(&m, p->sub, 0) == NATS_OK) {
        if (is_delivery(m))
            msgs[(*n)++] = m;
        else
            natsMsg_Destroy(m);
    }
    if (*n > 0)
        return NATS_OK;

    int64_t expires_ms =
        wait_ms > 2 * PULL_EXPIRY_MARGIN_MS ? wait_ms - PULL_EXPIRY_MARGIN_MS : wait_ms;
    char body[128];
    snprintf(body, sizeof(body), "{\"batch\":%d,\"expires\":%lld,\"no_wait\":true}", cap,
             (long long)expires_ms * 1000000);
    natsStatus s = natsConnection_PublishRequestString(p->nc, p->next_subject, p->inbox, body);
    if (s != NATS_OK)
        return s;
    int64_t end = rfq_mono_ns() + (int64_t)wait_ms * 1000000;
    while (*n < cap) {
        int64_t left_ms = (end - rfq_mono_ns()) / 1000000;
        if (left_ms <= 0)
            break;
        if (*n > 0 && left_ms > PULL_BURST_GAP_MS)
            left_ms = PULL_BURST_GAP_MS;
        s = natsSubscription_NextMsg(&m, p->sub, left_ms);
        if (s == NATS_TIMEOUT)
            break;
        if (s != NATS_OK)
            return *n > 0 ? NATS_OK : s;
        if (is_delivery(m)) {
            msgs[(*n)++] = m;
            continue;
        }
        bool ends = false;
        s = status_of(m, &ends);
        natsMsg_Destroy(m);
        if (!ends)
            continue;
        if (s == NATS_NOT_FOUND || s == NATS_TIMEOUT || *n > 0)
            break; /* the request is over: what came is the batch */
        return s;
    }
    return NATS_OK;
}

static natsStatus reply_with(natsConnection *nc, natsMsg *m, const char *body)
{
    const char *reply = natsMsg_GetReply(m);
    if (!reply || !*reply)
        return NATS_INVALID_ARG;
    return natsConnection_PublishString(nc, reply, body);
}

natsStatus rfq_pull_ack(natsConnection *nc, natsMsg *m)
{
    return reply_with(nc, m, "+ACK");
}

natsStatus rfq_pull_nak(natsConnection *nc, natsMsg *m, int delay_ms)
{
    char body[64];
    snprintf(body, sizeof(body), "-NAK {\"delay\":%lld}", (long long)delay_ms * 1000000);
    return reply_with(nc, m, body);
}

natsStatus rfq_pull_in_progress(natsConnection *nc, natsMsg *m)
{
    return reply_with(nc, m, "+WPI");
}

const char *rfq_pull_inbox(const rfq_pull *p)
{
    return p->inbox;
}

natsStatus rfq_pull_queued(const rfq_pull *p, int *n)
{
    return natsSubscription_GetPending(p->sub, n, NULL);
}

void rfq_pull_destroy(rfq_pull *p)
{
    if (!p)
        return;
    natsSubscription_Destroy(p->sub);
    free(p);
}
