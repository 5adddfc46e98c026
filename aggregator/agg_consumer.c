/* agg_consumer: durable pull consumer setup and the fetch loop. */
#include "agg_consumer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg_store.h"
#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_nats.h"
#include "rfq_pull.h"
#include "rfq_redis.h"

#define AGG_ACK_WAIT_NS ((int64_t)AGG_ACK_WAIT_MS * 1000000) /* see agg_batch.h */
#define AGG_MAX_ACK_PENDING 65536
#define AGG_BACKOFF_MAX_MS 1000
#define AGG_CHECK_IDLE_MS 10000 /* while idle, verify the consumer still exists this often */
#define AGG_LOG_EVERY_MS 5000   /* repeated failures are logged this often */

struct agg_consumer {
    natsConnection *nc; /* borrowed */
    jsCtx *js;          /* borrowed */
    rfq_pull *pull;     /* reads the durable consumer; NULL until bound */
    natsMsg **msgs;     /* the batch in hand (cfg.batch) */
    struct agg_consumer_cfg cfg;
    redisContext *redis; /* NULL while Redis is unreachable */
    agg_dlq *dlq;
    agg_batch *batch;
    struct agg_batch_stats stats; /* written by the fetch loop alone */
    /* A copy of stats after each batch, for readers on other threads (the metrics server). */
    pthread_mutex_t shown_lock;
    struct agg_batch_stats shown;
};

static const struct rfq_log_ctx log_ctx = {.component = "aggregator"};

/* Create the durable consumer, or bring an existing one to our configuration (e.g. the ack
 * wait of an older release). Several aggregators racing here all end with the same consumer. */
static rfq_status ensure_consumer(jsCtx *js)
{
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = RFQ_CONSUMER_AGG;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = AGG_ACK_WAIT_NS;
    cc.MaxAckPending = AGG_MAX_ACK_PENDING;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddConsumer(&ci, js, RFQ_STREAM_QUOTES, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    ci = NULL;
    if (s != NATS_OK && (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr)) {
        jerr = 0;
        s = js_UpdateConsumer(&ci, js, RFQ_STREAM_QUOTES, &cc, NULL, &jerr);
        jsConsumerInfo_Destroy(ci);
        if (s != NATS_OK) {
            /* An existing consumer we cannot update is still usable: bind to it. */
            RFQ_LOG(&log_ctx, RFQ_WARN, "consumer %s exists with another config (%s, js %d)",
                    RFQ_CONSUMER_AGG, natsStatus_GetText(s), (int)jerr);
            return RFQ_OK;
        }
    }
    if (s != NATS_OK)
        RFQ_LOG(&log_ctx, RFQ_ERROR, "cannot create consumer %s: %s (js error %d)",
                RFQ_CONSUMER_AGG, natsStatus_GetText(s), (int)jerr);
    return rfq_nats_status(s);
}

/* Ensure streams and consumer, then read the consumer through rfq_pull (our own pull
 * requests: nats.c 3.4.1's fetch can overrun its batch, see rfq_pull.h). The consumer is
 * durable and shared: nothing here deletes it. */
static rfq_status subscribe(struct agg_consumer *c)
{
    rfq_status st = rfq_streams_ensure(c->js);
    if (st == RFQ_OK)
        st = ensure_consumer(c->js);
    if (st != RFQ_OK)
        return st;
    natsStatus s = rfq_pull_create(&c->pull, c->nc, RFQ_STREAM_QUOTES, RFQ_CONSUMER_AGG);
    if (s != NATS_OK) {
        RFQ_LOG(&log_ctx, RFQ_ERROR, "cannot read consumer %s: %s", RFQ_CONSUMER_AGG,
                natsStatus_GetText(s));
        c->pull = NULL;
    }
    return rfq_nats_status(s);
}

/* Sleep ms in short slices so a stop request is noticed quickly. */
static void nap(int ms, volatile int *stop)
{
    for (int left = ms; left > 0 && !*stop; left -= 50)
        usleep((useconds_t)(left < 50 ? left : 50) * 1000);
}

static bool nats_connected(const struct agg_consumer *c)
{
    return natsConnection_Status(c->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* Redis may not be up yet: try every 100 ms for up to redis_wait_ms, or until a stop request. */
static rfq_status redis_wait(struct agg_consumer *c)
{
    int64_t until = rfq_mono_ns() + (int64_t)c->cfg.redis_wait_ms * 1000000;
    for (;;) {
        rfq_status st = agg_store_reconnect(&c->redis, c->cfg.redis_host, c->cfg.redis_port);
        if (st == RFQ_OK || st == RFQ_EAUTH || *c->cfg.stop || rfq_mono_ns() >= until)
            return st; /* refused credentials do not heal by waiting */
        nap(100, c->cfg.stop);
    }
}

rfq_status agg_consumer_create(agg_consumer **out, natsConnection *nc, jsCtx *js,
                               const struct agg_consumer_cfg *cfg)
{
    *out = NULL;
    struct agg_consumer *c = calloc(1, sizeof(*c));
    if (!c)
        return RFQ_ENOMEM;
    c->nc = nc;
    c->js = js;
    c->cfg = *cfg;
    pthread_mutex_init(&c->shown_lock, NULL);
    c->msgs = calloc((size_t)cfg->batch, sizeof(*c->msgs));
    rfq_status st = c->msgs ? agg_batch_create(&c->batch, cfg->batch) : RFQ_ENOMEM;
    if (st == RFQ_OK)
        st = agg_dlq_create(&c->dlq, nc);
    if (st != RFQ_OK)
        goto out_free;
    if ((st = redis_wait(c)) != RFQ_OK) {
        if (!*cfg->stop)
            RFQ_LOG(&log_ctx, RFQ_ERROR, "cannot connect to redis %s:%d", cfg->redis_host,
                    cfg->redis_port);
        goto out_free;
    }
    if ((st = subscribe(c)) != RFQ_OK)
        goto out_free;
    *out = c;
    return RFQ_OK;

out_free:
    agg_consumer_destroy(c);
    return st;
}

static int next_backoff(int b)
{
    b = b ? b * 2 : 100;
    return b > AGG_BACKOFF_MAX_MS ? AGG_BACKOFF_MAX_MS : b;
}

/* Redis is down: one reconnect attempt, then back off. */
static void redis_recover(struct agg_consumer *c, int *backoff, volatile int *stop)
{
    if (agg_store_reconnect(&c->redis, c->cfg.redis_host, c->cfg.redis_port) == RFQ_OK) {
        RFQ_LOG(&log_ctx, RFQ_INFO, "reconnected to redis");
        *backoff = 0;
        return;
    }
    *backoff = next_backoff(*backoff);
    nap(*backoff, stop);
}

/* Bind again from scratch (streams, consumer, subscription). */
static void resubscribe(struct agg_consumer *c)
{
    if (!nats_connected(c))
        return;
    rfq_pull_destroy(c->pull);
    c->pull = NULL;
    if (subscribe(c) == RFQ_OK)
        RFQ_LOG(&log_ctx, RFQ_INFO, "bound to consumer %s again", RFQ_CONSUMER_AGG);
}

/* A deleted consumer (operator, lost server state) does not make fetches fail: they just
 * time out. So look it up after a fetch error and now and then while idle, and bind again
 * when it or its stream is gone. Not while disconnected: the request would only wait out its
 * timeout (the main thread cannot see a stop request meanwhile). */
static void check_consumer(struct agg_consumer *c)
{
    if (!nats_connected(c))
        return;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = AGG_CHECK_WAIT_MS;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetConsumerInfo(&ci, c->js, RFQ_STREAM_QUOTES, RFQ_CONSUMER_AGG, &jo, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr || jerr == JSStreamNotFoundErr) {
        RFQ_LOG(&log_ctx, RFQ_WARN, "consumer %s is gone (js error %d): creating it again",
                RFQ_CONSUMER_AGG, (int)jerr);
        resubscribe(c);
    }
}

rfq_status agg_consumer_run(agg_consumer *c, volatile int *stop)
{
    int redis_backoff = 0;
    const int64_t ms = 1000000;
    int64_t next_check = rfq_mono_ns() + AGG_CHECK_IDLE_MS * ms, last_log = 0;
    while (!*stop) {
        if (!c->redis) {
            redis_recover(c, &redis_backoff, stop);
            continue;
        }
        if (!nats_connected(c)) {
            /* The library is reconnecting: a fetch or an API request now would only wait
             * out its timeout. Already fetched messages were processed (acks are buffered
             * for the reconnection). */
            nap(50, stop);
            continue;
        }
        if (!c->pull) {
            resubscribe(c);
            if (!c->pull)
                nap(AGG_BACKOFF_MAX_MS, stop);
            continue;
        }
        int n = 0;
        int64_t t0 = rfq_mono_ns();
        natsStatus s = rfq_pull_fetch(c->pull, c->msgs, c->cfg.batch, AGG_FETCH_WAIT_MS, &n);
        int64_t now = rfq_mono_ns();
        if (s == NATS_OK && n == 0) {
            if (now >= next_check) {
                check_consumer(c);
                next_check = now + AGG_CHECK_IDLE_MS * ms;
            }
            /* The server can refuse a request at once (409 while other aggregators' requests
             * wait): do not spin on that. */
            if (now - t0 < 2000000)
                usleep(2000);
            continue;
        }
        if (s != NATS_OK) {
            if (now - last_log > AGG_LOG_EVERY_MS * ms) {
                RFQ_LOG(&log_ctx, RFQ_WARN, "fetch failed: %s", natsStatus_GetText(s));
                last_log = now;
            }
            /* Look soon (not on every error: the server may just be restarting). */
            if (next_check > now + 1000 * ms)
                next_check = now + 1000 * ms;
            nap(100, stop);
            continue;
        }
        struct agg_batch_env env = {c->nc, c->dlq, c->redis, stop};
        rfq_status st = agg_batch_process(c->batch, &env, c->msgs, n, &c->stats);
        pthread_mutex_lock(&c->shown_lock);
        c->shown = c->stats;
        pthread_mutex_unlock(&c->shown_lock);
        RFQ_LOG(&log_ctx, RFQ_DEBUG, "batch of %d: fetch %lld us, processing %lld us", n,
                (long long)(now - t0) / 1000, (long long)(rfq_mono_ns() - now) / 1000);
        for (int i = 0; i < n; i++) {
            natsMsg_Destroy(c->msgs[i]);
            c->msgs[i] = NULL;
        }
        if (st == RFQ_EREDIS) {
            RFQ_LOG(&log_ctx, RFQ_WARN, "redis failed: %s; quotes will be redelivered",
                    c->redis && c->redis->errstr[0] ? c->redis->errstr : "no reply");
            redisFree(c->redis);
            c->redis = NULL;
        }
    }
    return RFQ_OK;
}

void agg_consumer_stats(agg_consumer *c, struct agg_batch_stats *out)
{
    pthread_mutex_lock(&c->shown_lock);
    *out = c->shown;
    pthread_mutex_unlock(&c->shown_lock);
}

void agg_consumer_destroy(agg_consumer *c)
{
    if (!c)
        return;
    rfq_pull_destroy(c->pull);
    free(c->msgs);
    if (c->redis)
        redisFree(c->redis);
    agg_batch_destroy(c->batch);
    pthread_mutex_destroy(&c->shown_lock);
    agg_dlq_destroy(c->dlq);
    free(c);
}
