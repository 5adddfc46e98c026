/* agg_sweeper: the deadline sweeper thread. */
#include "agg_sweeper.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg_events.h"
#include "agg_store.h"
#include "rfq_ids.h"
#include "rfq_log.h"

#define SWEEP_ROUND 128        /* RFQs closed per script call */
#define SWEEP_BACKOFF_MAX 1000 /* ms between reconnect attempts, at most */
#define SWEEP_POLL_MS 50       /* how often a wait looks at the process's stop flag */

struct agg_sweeper {
    struct agg_sweeper_cfg cfg;
    redisContext *redis; /* owned by the thread once started */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* signalled by stop, waited on between passes */
    bool stop;             /* guarded by mu */
    atomic_ullong expired; /* RFQs this sweeper closed as expired */
};

static const struct rfq_log_ctx log_ctx = {.component = "aggregator"};

/* Publish the expired events of one round; the best quotes are looked up in one pipeline. */
static rfq_status publish_expired(redisContext *c, natsConnection *nc, const struct agg_expired *ex,
                                  int n)
{
    struct agg_best_req best[SWEEP_ROUND];
    for (int i = 0; i < n; i++) {
        best[i].tenant = ex[i].tenant;
        best[i].rfq_id = ex[i].rfq_id;
    }
    /* The RFQs are already closed: when the lookup fails the events still go out, with
     * best null, rather than never. */
    rfq_status st = agg_store_best_quotes(c, best, n);
    for (int i = 0; i < n; i++) {
        struct rfq_log_ctx ctx = {"aggregator", ex[i].tenant, ex[i].rfq_id};
        char *json = agg_event_closed_json("expired", ex[i].tenant, ex[i].rfq_id, ex[i].count,
                                           best[i].best_json);
        rfq_status pst = agg_event_publish(nc, ex[i].tenant, ex[i].rfq_id, json);
        if (pst != RFQ_OK)
            RFQ_LOG(&ctx, RFQ_WARN, "expired event not published: %s", rfq_status_str(pst));
        RFQ_LOG(&ctx, RFQ_DEBUG, "rfq expired with %lld quotes", (long long)ex[i].count);
        free(json);
        free(best[i].best_json);
    }
    return st;
}

rfq_status agg_sweeper_pass(redisContext *c, natsConnection *nc, int64_t now_ms, int grace_ms,
                            int *expired)
{
    struct agg_expired ex[SWEEP_ROUND];
    *expired = 0;
    for (;;) {
        int n = 0;
        rfq_status st =
            agg_store_sweep(c, now_ms - grace_ms, now_ms, SWEEP_ROUND, ex, SWEEP_ROUND, &n);
        if (st != RFQ_OK)
            return st;
        *expired += n;
        if (n > 0 && (st = publish_expired(c, nc, ex, n)) != RFQ_OK)
            return st;
        if (n < SWEEP_ROUND)
            return RFQ_OK;
    }
}

/* CLOCK_MONOTONIC time ms from now (the clock of cv). */
static struct timespec mono_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* Stop requested by agg_sweeper_stop or by the process. Caller holds mu. */
static bool stop_requested(const struct agg_sweeper *s)
{
    return s->stop || (s->cfg.stop && *s->cfg.stop);
}

/* Wait up to ms on the stop condition; true when stop was requested. The process's flag is
 * set by a signal handler, which cannot signal cv: it is looked at every SWEEP_POLL_MS. */
static bool wait_stop(struct agg_sweeper *s, int ms)
{
    pthread_mutex_lock(&s->mu);
    for (int left = ms; left > 0 && !stop_requested(s); left -= SWEEP_POLL_MS) {
        struct timespec ts = mono_in(left < SWEEP_POLL_MS ? left : SWEEP_POLL_MS);
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    bool stop = stop_requested(s);
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Thread body: sweep, sleep, repeat; on a Redis failure reconnect with a doubling backoff. */
static void *sweeper_main(void *arg)
{
    struct agg_sweeper *s = arg;
    int backoff = 0;
    bool stop = false;
    while (!stop) {
        if (!s->redis) {
            if (agg_store_reconnect(&s->redis, s->cfg.redis_host, s->cfg.redis_port) != RFQ_OK) {
                backoff = backoff ? backoff * 2 : 100;
                if (backoff > SWEEP_BACKOFF_MAX)
                    backoff = SWEEP_BACKOFF_MAX;
                stop = wait_stop(s, backoff);
                continue;
            }
            RFQ_LOG(&log_ctx, RFQ_INFO, "sweeper reconnected to redis");
            backoff = 0;
        }
        int n = 0;
        rfq_status st = agg_sweeper_pass(s->redis, s->cfg.nc, rfq_now_ms(), s->cfg.grace_ms, &n);
        atomic_fetch_add(&s->expired, (unsigned long long)n);
        if (st == RFQ_EREDIS) {
            RFQ_LOG(&log_ctx, RFQ_WARN, "sweeper lost redis: %s",
                    s->redis && s->redis->errstr[0] ? s->redis->errstr : "no reply");
            redisFree(s->redis);
            s->redis = NULL;
            /* A stop requested during the failed pass must not wait for a reconnect attempt
             * (up to two Redis timeouts when Redis is stalled). */
            stop = wait_stop(s, 0);
            continue;
        }
        if (st != RFQ_OK)
            RFQ_LOG(&log_ctx, RFQ_WARN, "sweep failed: %s", rfq_status_str(st));
        stop = wait_stop(s, s->cfg.interval_ms);
    }
    return NULL;
}

rfq_status agg_sweeper_start(agg_sweeper **out, const struct agg_sweeper_cfg *cfg)
{
    *out = NULL;
    struct agg_sweeper *s = calloc(1, sizeof(*s));
    if (!s)
        return RFQ_ENOMEM;
    s->cfg = *cfg;
    rfq_status st = agg_store_reconnect(&s->redis, cfg->redis_host, cfg->redis_port);
    if (st != RFQ_OK)
        goto out_free;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->mu, NULL);
    if (pthread_create(&s->thread, NULL, sweeper_main, s) != 0) {
        st = RFQ_EIO;
        goto out_sync;
    }
    *out = s;
    return RFQ_OK;

out_sync:
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    redisFree(s->redis);
out_free:
    free(s);
    return st;
}

void agg_sweeper_stop(agg_sweeper *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    if (s->redis)
        redisFree(s->redis);
    free(s);
}

uint64_t agg_sweeper_expired(agg_sweeper *s)
{
    return s ? (uint64_t)atomic_load(&s->expired) : 0;
}
