/* agg_stop_guard: closes the NATS connection when a stop request would otherwise wait on it. */
#include "agg_stop_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "rfq_ids.h"
#include "rfq_log.h"

#define GUARD_POLL_MS 50 /* how often the stop flag (set by a signal handler) is looked at */

struct agg_stop_guard {
    natsConnection *nc; /* borrowed */
    volatile int *stop; /* borrowed: set by the signal handler */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled by agg_stop_guard_end */
    bool done;         /* guarded by mu: the owner no longer needs the guard */
};

static const struct rfq_log_ctx log_ctx = {.component = "aggregator"};

/* Wait up to ms for agg_stop_guard_end; true when it was called. */
static bool wait_done(struct agg_stop_guard *g, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)ms * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
    }
    pthread_mutex_lock(&g->mu);
    while (!g->done && pthread_cond_timedwait(&g->cv, &g->mu, &ts) != ETIMEDOUT)
        ;
    bool done = g->done;
    pthread_mutex_unlock(&g->mu);
    return done;
}

/* Thread body: wait for the stop flag, then close the connection as soon as NATS is not
 * connected or the grace period is over, unless the owner finished first. */
static void *guard_main(void *arg)
{
    struct agg_stop_guard *g = arg;
    while (!*g->stop)
        if (wait_done(g, GUARD_POLL_MS))
            return NULL;
    int64_t deadline = rfq_mono_ns() + (int64_t)AGG_STOP_GRACE_MS * 1000000;
    const char *why = NULL;
    while (!why) {
        if (natsConnection_Status(g->nc) != NATS_CONN_STATUS_CONNECTED)
            why = "nats is not connected";
        else if (rfq_mono_ns() >= deadline)
            why = "nats calls still pending after the grace period";
        else if (wait_done(g, GUARD_POLL_MS))
            return NULL;
    }
    /* Close (not destroy): the owner still holds nc and destroys it after agg_stop_guard_end.
     * Acks not yet delivered are redelivered after AckWait and counted as duplicates. */
    RFQ_LOG(&log_ctx, RFQ_WARN, "stopping: %s, closing the connection", why);
    natsConnection_Close(g->nc);
    return NULL;
}

rfq_status agg_stop_guard_start(agg_stop_guard **out, natsConnection *nc, volatile int *stop)
{
    *out = NULL;
    struct agg_stop_guard *g = calloc(1, sizeof(*g));
    if (!g)
        return RFQ_ENOMEM;
    g->nc = nc;
    g->stop = stop;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&g->mu, NULL);
    if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
        pthread_cond_destroy(&g->cv);
        pthread_mutex_destroy(&g->mu);
        free(g);
        return RFQ_EIO;
    }
    *out = g;
    return RFQ_OK;
}

void agg_stop_guard_end(agg_stop_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->done = true;
    pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
