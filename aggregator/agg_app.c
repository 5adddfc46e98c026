/* agg_app: process lifecycle of rfq-aggregator. */
#include "agg_app.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nats/nats.h>

#include "agg_consumer.h"
#include "agg_metrics.h"
#include "agg_stop_guard.h"
#include "agg_sweeper.h"
#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_metrics_http.h"
#include "rfq_nats.h"
#include "rfq_redis.h"

#define AGG_FINAL_FLUSH_MS 500 /* the last PING round trip before closing */
#define AGG_WORKERS_MAX 16     /* RFQ_AGG_WORKERS bound */

static const struct rfq_log_ctx log_ctx = {.component = "aggregator"};

/* Sleep ms in short slices; false when a stop request came meanwhile. */
static bool nap(int ms, volatile int *stop)
{
    for (int left = ms; left > 0 && !*stop; left -= 50)
        usleep((useconds_t)(left < 50 ? left : 50) * 1000);
    return !*stop;
}

/* NATS may not be up yet: try to connect every 100 ms for up to wait_ms, or until a stop
 * request. Refused credentials (RFQ_EAUTH) end it at once: retrying cannot help. */
static rfq_status nats_wait(natsConnection **nc, const char *url, int wait_ms, volatile int *stop)
{
    int64_t until = rfq_mono_ns() + (int64_t)wait_ms * 1000000;
    for (;;) {
        /* send_asap: pull requests, acks and events are written at once instead of after the
         * flusher's 1 ms wait (a quote hop drops from ~1 ms to ~0.1 ms). */
        rfq_status st = rfq_nats_connect(nc, url, "rfq-aggregator", true, 0);
        if (st == RFQ_OK || st == RFQ_EAUTH || rfq_mono_ns() >= until || !nap(100, stop))
            return st;
    }
}

/* JetStream may still be starting when we connect: retry the stream setup for a while, or
 * until a stop request. */
static rfq_status streams_wait(jsCtx *js, int wait_ms, volatile int *stop)
{
    int64_t until = rfq_mono_ns() + (int64_t)wait_ms * 1000000;
    for (;;) {
        rfq_status st = rfq_streams_ensure(js);
        if (st == RFQ_OK || rfq_mono_ns() >= until || !nap(250, stop))
            return st;
    }
}

/* The fetch loops. One loop fetches, waits for Redis, acknowledges, then fetches again: at a
 * few milliseconds per batch that capped a process at about 5,000 quotes/s while its CPU sat
 * mostly idle. Each loop has its own pull subscription on the shared durable consumer and its
 * own Redis connection, as separate aggregator processes would. */
struct agg_workers {
    agg_consumer *c[AGG_WORKERS_MAX];
    pthread_t th[AGG_WORKERS_MAX];
    bool running[AGG_WORKERS_MAX];
    int n;
    volatile int *stop;
};

struct worker_arg {
    agg_consumer *c;
    volatile int *stop;
};

static void *worker_main(void *arg)
{
    struct worker_arg *w = arg;
    agg_consumer_run(w->c, w->stop);
    free(w);
    return NULL;
}

/* Run loops 1..n-1 on their own threads and loop 0 on the caller's, until *stop; then join. */
static void workers_run(struct agg_workers *w)
{
    for (int i = 1; i < w->n; i++) {
        struct worker_arg *a = malloc(sizeof(*a));
        w->running[i] = false;
        if (!a)
            continue;
        *a = (struct worker_arg){w->c[i], w->stop};
        w->running[i] = pthread_create(&w->th[i], NULL, worker_main, a) == 0;
        if (!w->running[i]) {
            free(a);
            RFQ_LOG(&log_ctx, RFQ_WARN, "cannot start fetch loop %d; running with fewer", i + 1);
        }
    }
    agg_consumer_run(w->c[0], w->stop);
    for (int i = 1; i < w->n; i++)
        if (w->running[i])
            pthread_join(w->th[i], NULL);
}

static void workers_stats(const struct agg_workers *w, struct agg_batch_stats *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < w->n; i++) {
        struct agg_batch_stats one;
        agg_consumer_stats(w->c[i], &one);
        s->msgs += one.msgs;
        s->answers += one.answers;
        s->stored += one.stored;
        s->completed += one.completed;
        s->declined += one.declined;
        s->duplicates += one.duplicates;
        s->surplus += one.surplus;
        s->dead_lettered += one.dead_lettered;
        s->retried += one.retried;
        s->repaired += one.repaired;
        for (int b = 0; b <= AGG_COMPLETION_BUCKETS; b++)
            s->completion_buckets[b] += one.completion_buckets[b];
        s->completion_ms_sum += one.completion_ms_sum;
    }
}

/* What the metrics server reads: the loops and the sweeper, which outlive it. */
struct metrics_src {
    const struct agg_workers *workers;
    agg_sweeper *sweeper;
};

static void render_metrics(struct rfq_strbuf *o, void *ud)
{
    const struct metrics_src *src = ud;
    struct agg_metrics_view v = {.fetch_loops = src->workers->n};
    workers_stats(src->workers, &v.batches);
    v.expired = agg_sweeper_expired(src->sweeper);
    agg_metrics_render(o, &v);
}

/* Serve GET /metrics when RFQ_METRICS_ADDR is set. An address that cannot be served stops
 * the start, as a taken RFQ_HTTP_ADDR stops the requester's: monitoring must not be missing
 * silently. */
static rfq_status metrics_start(const struct agg_cfg *cfg, struct metrics_src *src,
                                rfq_metrics_http **out)
{
    *out = NULL;
    if (!cfg->common.metrics_addr[0])
        return RFQ_OK;
    rfq_status st =
        rfq_metrics_http_start(out, cfg->common.metrics_addr, "aggregator", render_metrics, src);
    if (st != RFQ_OK)
        RFQ_LOG(&log_ctx, RFQ_ERROR, "cannot serve metrics on %s (%s)", cfg->common.metrics_addr,
                rfq_status_str(st));
    else
        RFQ_LOG(&log_ctx, RFQ_INFO, "metrics on http://%s/metrics (port %d)",
                cfg->common.metrics_addr, rfq_metrics_http_port(*out));
    return st;
}

rfq_status agg_app_run(const struct agg_cfg *cfg, volatile int *stop)
{
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    struct agg_workers workers = {.stop = stop};
    agg_sweeper *sweeper = NULL;
    agg_stop_guard *guard = NULL;

    /* Every Redis connection of this process authenticates as the user in RFQ_REDIS_URL. */
    rfq_redis_set_credentials(cfg->common.redis_user, cfg->common.redis_pass);
    rfq_status st = nats_wait(&nc, cfg->common.nats_url, cfg->startup_wait_ms, stop);
    if (st != RFQ_OK) {
        char shown[512];
        if (!*stop)
            RFQ_LOG(&log_ctx, RFQ_ERROR, "cannot connect to nats %s (%s)",
                    rfq_url_redact(cfg->common.nats_url, shown, sizeof(shown)), rfq_status_str(st));
        goto out;
    }
    /* From here on a stop request never waits long on NATS, whatever its state. */
    if ((st = agg_stop_guard_start(&guard, nc, stop)) != RFQ_OK)
        goto out_nats;
    if ((st = rfq_nats_status(natsConnection_JetStream(&js, nc, NULL))) != RFQ_OK)
        goto out_nats;
    if ((st = streams_wait(js, cfg->startup_wait_ms, stop)) != RFQ_OK)
        goto out_js;

    struct agg_consumer_cfg ccfg = {
        .batch = cfg->batch,
        .redis_host = cfg->common.redis_host,
        .redis_port = cfg->common.redis_port,
        .redis_wait_ms = cfg->startup_wait_ms,
        .stop = stop,
    };
    for (; workers.n < cfg->workers && workers.n < AGG_WORKERS_MAX; workers.n++)
        if ((st = agg_consumer_create(&workers.c[workers.n], nc, js, &ccfg)) != RFQ_OK)
            goto out_consumer;

    struct agg_sweeper_cfg scfg = {
        .redis_host = cfg->common.redis_host,
        .redis_port = cfg->common.redis_port,
        .interval_ms = cfg->sweep_interval_ms,
        .grace_ms = cfg->sweep_grace_ms,
        .nc = nc,
        .stop = stop,
    };
    if ((st = agg_sweeper_start(&sweeper, &scfg)) != RFQ_OK) {
        RFQ_LOG(&log_ctx, RFQ_ERROR, "cannot start the sweeper: %s", rfq_status_str(st));
        goto out_consumer;
    }

    struct metrics_src msrc = {&workers, sweeper};
    rfq_metrics_http *metrics = NULL;
    if ((st = metrics_start(cfg, &msrc, &metrics)) != RFQ_OK) {
        agg_sweeper_stop(sweeper);
        goto out_consumer;
    }
    if (rfq_ready_file_write(cfg->common.ready_file) != RFQ_OK)
        RFQ_LOG(&log_ctx, RFQ_WARN, "cannot write ready file %s", cfg->common.ready_file);
    RFQ_LOG(&log_ctx, RFQ_INFO, "serving: %d fetch loops, batch %d, sweep every %d ms, grace %d ms",
            workers.n, cfg->batch, cfg->sweep_interval_ms, cfg->sweep_grace_ms);

    workers_run(&workers);
    st = RFQ_OK;
    /* The consumer was the one making long NATS calls; what is left is bounded (the sweeper's
     * join by the Redis timeout, the final flush by AGG_FINAL_FLUSH_MS), and a connected
     * shutdown must not lose its acks to the guard. */
    agg_stop_guard_end(guard);
    guard = NULL;
    rfq_metrics_http_stop(metrics);

    struct agg_batch_stats s;
    workers_stats(&workers, &s);
    RFQ_LOG(&log_ctx, RFQ_INFO,
            "stopping: %llu msgs, %llu answers, %llu stored, %llu completed, %llu declined, %llu "
            "duplicates, "
            "%llu surplus, %llu dead-lettered, %llu retried, %llu completed events re-published",
            (unsigned long long)s.msgs, (unsigned long long)s.answers, (unsigned long long)s.stored,
            (unsigned long long)s.completed, (unsigned long long)s.declined,
            (unsigned long long)s.duplicates, (unsigned long long)s.surplus,
            (unsigned long long)s.dead_lettered, (unsigned long long)s.retried,
            (unsigned long long)s.repaired);
    agg_sweeper_stop(sweeper);
    if (cfg->common.ready_file[0])
        unlink(cfg->common.ready_file);
out_consumer:
    for (int i = 0; i < workers.n; i++)
        agg_consumer_destroy(workers.c[i]);
out_js:
    jsCtx_Destroy(js);
out_nats:
    agg_stop_guard_end(guard);
    /* Acks and events are already written (send_asap); a PING round trip confirms the server
     * has read them before we close. Pointless while disconnected: it would only wait. */
    if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED)
        natsConnection_FlushTimeout(nc, AGG_FINAL_FLUSH_MS);
    natsConnection_Destroy(nc);
out:
    nats_Close();
    if (st != RFQ_OK && *stop) {
        /* Asked to stop while still starting (a dependency was not there yet): a clean exit. */
        RFQ_LOG(&log_ctx, RFQ_INFO, "stopped before serving (%s)", rfq_status_str(st));
        st = RFQ_OK;
    }
    return st;
}
