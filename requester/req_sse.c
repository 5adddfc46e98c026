/* req_sse: event streams. Design: one blocking reader per stream.
 *
 * The HTTP daemon runs MHD_USE_THREAD_PER_CONNECTION, so a stream owns its connection thread
 * and req_sse_next may block. It waits in poll() on three descriptors: an eventfd the NATS
 * callback signals after queueing a message, the server's stop eventfd, and the client socket
 * (a FIN from an idle client wakes us at once, so a disconnect frees the stream and its
 * subscription immediately instead of at the next ping). The poll timeout is the next
 * keep-alive ping or deadline re-check. Why not suspend/resume: suspended connections never
 * time out, resuming from NATS threads races with NOTIFY_COMPLETED, and every connection would
 * have to be resumed before MHD_stop_daemon; a blocking reader per thread has none of these
 * hazards, and the thread per connection is also what lets POST block on Redis and NATS.
 *
 * Admission is re-checked while the stream runs: the loop wakes every REQ_SSE_TENANT_CHECK_MS
 * and, when the watched tenant view changed since the last look (a counter, one atomic read),
 * looks the tenant up again. A suspended or unregistered tenant gets a final `error` event
 * (the 403 body) and the stream ends normally, so a suspension cuts open streams too.
 *
 * Lifetime: the stream is shared by the reader (HTTP thread) and the subscription (NATS
 * delivery thread), hence a reference count of two. The subscription's reference is dropped in
 * its on-complete callback, which nats.c runs after the last message callback returned. */
#include "req_sse.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "req_read.h"
#include "req_sse_buf.h"
#include "req_tenant.h"
#include "rfq_nats.h"
#include "rfq_tenant_kv.h"

#define REQ_SSE_QUEUE_MAX 1024      /* live messages waiting for the reader */
#define REQ_SSE_CHECK_GRACE_MS 2000 /* re-read Redis this long after the deadline... */
#define REQ_SSE_CHECK_EVERY_MS 5000 /* ...and then this often while still open */
#define REQ_SSE_TENANT_CHECK_MS 500 /* how often the tenant's admission is looked at */

struct req_sse {
    pthread_mutex_t mu; /* guards refs and the queue */
    int refs;           /* reader + subscription */
    natsMsg **queue;    /* messages from the NATS callback, in order */
    int q_len, q_cap;
    int dropped; /* messages dropped on a full queue */
    int efd;     /* eventfd: "queue changed" */

    /* Reader side only (one thread), no lock. */
    struct req_server *srv;
    natsSubscription *sub;
    int sock; /* client socket watched for EOF, -1 when not */
    struct req_sse_buf out;
    struct req_sse_seen seen;
    char tenant[RFQ_TENANT_MAX + 1];
    char rfq_id[RFQ_ID_MAX + 1];
    int64_t deadline_ms;
    int64_t next_ping_ms;
    int64_t next_check_ms;
    int64_t next_tenant_ms;  /* next look at the tenant's admission */
    uint64_t tenant_changes; /* view change count at the last lookup */
    int tenant_looked;       /* a lookup happened (tenant_changes is valid) */
    int done;                /* final event queued: end once written */
    struct rfq_log_ctx log;
};

static void sse_release(req_sse *st)
{
    pthread_mutex_lock(&st->mu);
    int last = --st->refs == 0;
    pthread_mutex_unlock(&st->mu);
    if (!last)
        return;
    for (int i = 0; i < st->q_len; i++)
        natsMsg_Destroy(st->queue[i]);
    free(st->queue);
    if (st->efd >= 0)
        close(st->efd);
    req_sse_buf_free(&st->out);
    req_sse_seen_free(&st->seen);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* NATS delivery thread: queue the message (ours to destroy) and wake the reader. */
static void on_event(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    req_sse *st = closure;
    (void)nc, (void)sub;
    pthread_mutex_lock(&st->mu);
    if (st->q_len == st->q_cap && st->q_cap < REQ_SSE_QUEUE_MAX) {
        int cap = st->q_cap ? st->q_cap * 2 : 8;
        natsMsg **q = realloc(st->queue, (size_t)cap * sizeof(*q));
        if (q) {
            st->queue = q;
            st->q_cap = cap;
        }
    }
    if (st->q_len < st->q_cap) {
        st->queue[st->q_len++] = msg;
        msg = NULL;
    } else {
        st->dropped++;
    }
    pthread_mutex_unlock(&st->mu);
    natsMsg_Destroy(msg);
    uint64_t one = 1;
    ssize_t w = write(st->efd, &one, sizeof(one));
    (void)w; /* EAGAIN means the counter is already non-zero: the reader wakes anyway */
}

static void on_sub_complete(void *closure)
{
    sse_release(closure);
}

/* Queue the stored state (quotes not sent yet, final event when closed). Returns RFQ_OK,
 * RFQ_ENOTFOUND, or a Redis error. */
static rfq_status send_state(req_sse *st)
{
    struct req_rfq_view v;
    rfq_status rs = req_read_rfq(st->srv, st->tenant, st->rfq_id, &v);
    if (rs == RFQ_OK) {
        st->deadline_ms = v.deadline_ms;
        json_t *by_arrival = req_quotes_by_arrival(v.ranked);
        if (req_sse_state(&st->out, &st->seen, st->tenant, st->rfq_id, v.status, v.count,
                          by_arrival, json_array_get(v.ranked, 0)) == REQ_SSE_FINAL)
            st->done = 1;
        json_decref(by_arrival);
    }
    req_rfq_view_clear(&v);
    return rs;
}

rfq_status req_sse_open(req_sse **out, struct req_server *s, const char *tenant, const char *rfq_id,
                        int client_fd)
{
    char subject[RFQ_KEY_MAX];
    *out = NULL;
    if (rfq_subject_event(subject, sizeof(subject), tenant, rfq_id) != RFQ_OK)
        return RFQ_ENOTFOUND;
    if (natsConnection_Status(s->nc) != NATS_CONN_STATUS_CONNECTED)
        return RFQ_ENATS; /* a buffered SUB would leave a gap before the snapshot */
    req_sse *st = calloc(1, sizeof(*st));
    if (!st)
        return RFQ_ENOMEM;
    pthread_mutex_init(&st->mu, NULL);
    st->refs = 1;
    st->srv = s;
    st->sock = client_fd;
    snprintf(st->tenant, sizeof(st->tenant), "%s", tenant);
    snprintf(st->rfq_id, sizeof(st->rfq_id), "%s", rfq_id);
    st->log =
        (struct rfq_log_ctx){.component = "requester", .tenant = st->tenant, .rfq_id = st->rfq_id};
    st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->efd < 0) {
        sse_release(st);
        return RFQ_EIO;
    }
    st->refs = 2; /* the subscription's reference, dropped by on_sub_complete */
    natsStatus ns = natsConnection_Subscribe(&st->sub, s->nc, subject, on_event, st);
    if (ns != NATS_OK) {
        st->refs = 1;
        sse_release(st);
        return rfq_nats_status(ns);
    }
    ns = natsSubscription_SetOnCompleteCB(st->sub, on_sub_complete, st);
    if (ns != NATS_OK) {
        /* Already closed (connection closing): whether a callback is still running is unknown,
         * so the subscription's reference is kept (a small leak on a path that ends the process
         * anyway) rather than risking a use after free. */
        RFQ_LOG(&st->log, RFQ_WARN, "event subscription closed early");
        natsSubscription_Destroy(st->sub);
        st->sub = NULL;
        sse_release(st);
        return rfq_nats_status(ns);
    }
    /* PING/PONG: the server has our SUB before we read the snapshot. */
    rfq_status rs = rfq_nats_status(natsConnection_FlushTimeout(s->nc, 2000));
    if (rs == RFQ_OK)
        rs = send_state(st);
    if (rs != RFQ_OK) {
        req_sse_close(st);
        return rs;
    }
    int64_t now = rfq_now_ms();
    st->next_ping_ms = now + REQ_SSE_PING_MS;
    st->next_check_ms = st->deadline_ms + REQ_SSE_CHECK_GRACE_MS;
    if (st->next_check_ms < now)
        st->next_check_ms = now + REQ_SSE_CHECK_GRACE_MS;
    atomic_fetch_add(&s->open_streams, 1);
    *out = st;
    return RFQ_OK;
}

void req_sse_close(req_sse *st)
{
    if (!st)
        return;
    atomic_fetch_sub(&st->srv->open_streams, 1);
    if (st->sub) {
        natsSubscription_Unsubscribe(st->sub);
        natsSubscription_Destroy(st->sub);
        st->sub = NULL;
    }
    sse_release(st);
}

/* Move queued messages into the output as SSE events (reader thread). */
static void drain_queue(req_sse *st)
{
    pthread_mutex_lock(&st->mu);
    natsMsg **q = st->queue;
    int n = st->q_len, dropped = st->dropped;
    st->queue = NULL;
    st->q_len = st->q_cap = st->dropped = 0;
    pthread_mutex_unlock(&st->mu);
    if (dropped)
        RFQ_LOG(&st->log, RFQ_WARN, "event stream dropped %d messages", dropped);
    for (int i = 0; i < n; i++) {
        const char *data = natsMsg_GetData(q[i]);
        size_t len = (size_t)natsMsg_GetDataLength(q[i]);
        /* Events of one RFQ can overtake each other (several aggregators, or fetch loops of
         * one, publish them): at the last one, send the stored quotes this stream has not
         * sent yet, then the final event, both from Redis. When Redis cannot say, the live
         * event goes out as it is. */
        if (!st->done && req_sse_feed_hold_final(&st->out, &st->seen, data, len) == REQ_SSE_FINAL &&
            (send_state(st) != RFQ_OK || !st->done) &&
            req_sse_feed(&st->out, &st->seen, data, len) == REQ_SSE_FINAL)
            st->done = 1;
        natsMsg_Destroy(q[i]);
    }
    free(q);
}

/* After the deadline, the final event may have been lost (core NATS): ask Redis. */
static void recheck(req_sse *st, int64_t now)
{
    rfq_status rs = send_state(st);
    if (rs == RFQ_ENOTFOUND)
        st->done = 1; /* retention ended: nothing more will come */
    st->next_check_ms = now + REQ_SSE_CHECK_EVERY_MS;
}

/* Re-check the tenant's admission (reader thread). Cheap when no tenant record changed since
 * the last look: one atomic read. The count is read before the lookup, so a change applied
 * during the lookup shows as a new count next time. A refusal queues the 403 body as a final
 * `error` event; an unreadable view (NATS down) keeps the stream: it was admitted and its
 * tenant was not refused. */
static void recheck_tenant(req_sse *st, int64_t now)
{
    st->next_tenant_ms = now + REQ_SSE_TENANT_CHECK_MS;
    rfq_tenant_view *v = st->srv->tenants;
    if (!v)
        return;
    uint64_t changes = rfq_tenant_view_changes(v);
    if (st->tenant_looked && changes == st->tenant_changes)
        return;
    struct rfq_tenant_rec rec;
    rfq_status lookup = rfq_tenant_view_get(v, st->tenant, &rec);
    struct req_reply rep;
    req_reply_init(&rep);
    rfq_status verdict = req_tenant_verdict(lookup, &rec, &rep);
    if (verdict == RFQ_EAUTH) {
        json_t *body = json_loadb(rep.body, rep.body_len, 0, NULL);
        if (!body || req_sse_event(&st->out, "error", body) != RFQ_OK)
            RFQ_LOG(&st->log, RFQ_WARN, "cannot queue the final error event");
        json_decref(body);
        st->done = 1;
        RFQ_LOG(&st->log, RFQ_INFO, "event stream ended: %s",
                lookup == RFQ_OK ? "tenant is suspended" : "tenant is not registered");
    } else if (verdict == RFQ_OK) {
        st->tenant_changes = changes;
        st->tenant_looked = 1;
    } /* else: retried at the next tick */
    req_reply_clear(&rep);
}

/* Wait for a message, a stop, a client EOF or the timeout. Returns -1 when the client is gone
 * or polling failed, 1 when stopping, 0 otherwise. */
static int wait_for_work(req_sse *st, int timeout_ms)
{
    struct pollfd fds[3] = {{.fd = st->efd, .events = POLLIN},
                            {.fd = st->srv->stop_fd, .events = POLLIN},
                            {.fd = st->sock, .events = POLLIN}};
    int rc = poll(fds, st->sock >= 0 ? 3 : 2, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -1;
    if (fds[0].revents & POLLIN) {
        uint64_t v;
        ssize_t r = read(st->efd, &v, sizeof(v));
        (void)r;
    }
    if (fds[1].revents & POLLIN)
        return 1;
    if (st->sock >= 0 && fds[2].revents) {
        char c;
        ssize_t r = recv(st->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return -1;
        if (r > 0)
            st->sock = -1; /* the client sent bytes: rely on pings from now on */
    }
    return 0;
}

ssize_t req_sse_next(req_sse *st, char *buf, size_t max)
{
    for (;;) {
        if (req_sse_buf_pending(&st->out))
            return (ssize_t)req_sse_buf_take(&st->out, buf, max);
        if (st->done || atomic_load(&st->srv->stopping))
            return 0;
        int64_t now = rfq_now_ms();
        /* Before the queue: a refused tenant gets no further events. The first pass checks
         * at once (the tenant may have been suspended between admission and subscribe). */
        if (now >= st->next_tenant_ms) {
            recheck_tenant(st, now);
            if (st->done)
                continue;
        }
        drain_queue(st);
        if (req_sse_buf_pending(&st->out) || st->done)
            continue;
        now = rfq_now_ms();
        if (now >= st->next_ping_ms) {
            req_sse_comment(&st->out, "ping");
            st->next_ping_ms = now + REQ_SSE_PING_MS;
            continue;
        }
        if (now >= st->next_check_ms) {
            recheck(st, now);
            continue;
        }
        int64_t wake = st->next_ping_ms < st->next_check_ms ? st->next_ping_ms : st->next_check_ms;
        if (st->next_tenant_ms < wake)
            wake = st->next_tenant_ms;
        /* The tenant tick may have passed while draining: never a negative (endless) poll. */
        int rc = wait_for_work(st, wake > now ? (int)(wake - now) : 0);
        if (rc < 0)
            return -1;
        if (rc > 0)
            return 0;
    }
}
