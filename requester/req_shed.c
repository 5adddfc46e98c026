/* req_shed: the load-shedding monitor thread, its hysteresis decision and the 503 answer. */
#include "req_shed.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "req_server.h"
#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_nats.h"

#define REQ_SHED_INFO_WAIT_MS 1000 /* consumer-info request timeout */

struct req_shed {
    struct req_server *srv;
    struct req_shed_limits lim;
    int interval_ms;
    jsCtx *js; /* owned; the consumer-info requests */
    pthread_t thread;
    atomic_int cause;    /* enum req_shed_cause in force: the submit path's fast check */
    pthread_mutex_t mu;  /* guards everything below */
    pthread_cond_t cond; /* signalled on stop */
    bool stopping;
    struct req_shed_state st;
    int retry_after;
    char message[192]; /* the 503 message of the cause in force */
};

static int64_t resume_mark(int64_t limit)
{
    return limit * REQ_SHED_RESUME_PCT / 100;
}

const char *req_shed_cause_str(enum req_shed_cause c)
{
    return c == REQ_SHED_BACKLOG ? "backlog" : c == REQ_SHED_REDIS ? "redis" : NULL;
}

enum req_shed_cause req_shed_cause_of(const struct req_shed_state *st)
{
    return st->backlog_on ? REQ_SHED_BACKLOG : st->redis_on ? REQ_SHED_REDIS : REQ_SHED_NONE;
}

/* Fold the ack floor of s into the smoothed rate the aggregators acknowledge quotes at. A floor
 * that went back (the consumer was created again) starts the measure over. */
static void consume_rate_update(struct req_shed_state *st, const struct req_shed_sample *s)
{
    if (s->consumed < 0)
        return;
    if (st->have_consumed && s->at_ms > st->consumed_at_ms && s->consumed >= st->consumed) {
        double inst =
            (double)(s->consumed - st->consumed) * 1000.0 / (double)(s->at_ms - st->consumed_at_ms);
        st->consume_per_s = st->have_rate ? 0.5 * st->consume_per_s + 0.5 * inst : inst;
        st->have_rate = true;
    } else if (st->have_consumed && s->consumed < st->consumed) {
        st->have_rate = false;
    }
    st->consumed = s->consumed;
    st->consumed_at_ms = s->at_ms;
    st->have_consumed = true;
}

/* Milliseconds the backlog takes at the measured rate; 0 when too small to judge or no rate is
 * measured yet; a large bound when nothing is being acknowledged. */
static double drain_ms_of(const struct req_shed_state *st)
{
    if (st->backlog < REQ_SHED_DRAIN_MIN || !st->have_rate)
        return 0;
    if (st->consume_per_s < 1.0)
        return 1e9;
    return (double)st->backlog * 1000.0 / st->consume_per_s;
}

enum req_shed_cause req_shed_update(struct req_shed_state *st, const struct req_shed_limits *lim,
                                    const struct req_shed_sample *s)
{
    if (s->backlog >= 0) {
        if (st->have_backlog && s->at_ms > st->backlog_at_ms) {
            /* Net drain rate (consumed minus published), smoothed over a few samples. */
            double inst = (double)(st->backlog - s->backlog) * 1000.0 /
                          (double)(s->at_ms - st->backlog_at_ms);
            st->drain_per_s = 0.5 * st->drain_per_s + 0.5 * inst;
        }
        st->backlog = s->backlog;
        st->backlog_at_ms = s->at_ms;
        st->have_backlog = true;
        consume_rate_update(st, s);
        st->drain_ms = drain_ms_of(st);
        /* On above a limit, off once both are at or below their resume marks. */
        bool over = (lim->backlog_max > 0 && s->backlog > lim->backlog_max) ||
                    (lim->drain_ms_max > 0 && st->drain_ms > lim->drain_ms_max);
        bool under = (lim->backlog_max <= 0 || s->backlog <= resume_mark(lim->backlog_max)) &&
                     (lim->drain_ms_max <= 0 || st->drain_ms <= resume_mark(lim->drain_ms_max));
        if (under)
            st->backlog_on = false;
        else if (over)
            st->backlog_on = true;
    } else if (!st->have_backlog || s->at_ms - st->backlog_at_ms > REQ_SHED_UNKNOWN_HOLD_MS) {
        st->backlog_on = false;
        st->have_backlog = false;
        st->backlog = -1;
        st->drain_per_s = 0;
        st->have_consumed = st->have_rate = false;
        st->drain_ms = 0;
    }
    st->redis_ms = s->redis_ms;
    st->redis_answered = s->redis_answered;
    if (lim->redis_ms_max <= 0 ||
        s->redis_ms <= (double)lim->redis_ms_max * REQ_SHED_RESUME_PCT / 100.0)
        st->redis_on = false;
    else if (s->redis_ms > lim->redis_ms_max)
        st->redis_on = true;
    return req_shed_cause_of(st);
}

/* Whole seconds for x seconds, rounded up, within the Retry-After bounds. */
static int retry_bounded(double x)
{
    if (!(x < REQ_SHED_RETRY_MAX_S)) /* also NaN */
        return REQ_SHED_RETRY_MAX_S;
    int s = (int)x;
    if (s < x)
        s++;
    return s < REQ_SHED_RETRY_MIN_S ? REQ_SHED_RETRY_MIN_S : s;
}

int req_shed_retry_after(const struct req_shed_state *st, const struct req_shed_limits *lim,
                         enum req_shed_cause cause)
{
    if (cause == REQ_SHED_BACKLOG) {
        double excess = (double)(st->backlog - resume_mark(lim->backlog_max));
        return st->drain_per_s > 0 ? retry_bounded(excess / st->drain_per_s) : REQ_SHED_RETRY_MAX_S;
    }
    if (cause == REQ_SHED_REDIS)
        return lim->redis_ms_max > 0 ? retry_bounded(st->redis_ms / lim->redis_ms_max)
                                     : REQ_SHED_RETRY_MAX_S;
    return REQ_SHED_RETRY_MIN_S;
}

/* The 503 message for cause, naming it with the figures behind it. */
static void shed_message(char *out, size_t cap, const struct req_shed_state *st,
                         const struct req_shed_limits *lim, enum req_shed_cause cause, int retry)
{
    bool by_drain = cause == REQ_SHED_BACKLOG && lim->drain_ms_max > 0 &&
                    st->drain_ms > resume_mark(lim->drain_ms_max);
    if (by_drain && st->drain_ms >= 1e9)
        snprintf(out, cap,
                 "overloaded: %lld quotes are waiting for the aggregators and none is being "
                 "acknowledged (drain-time limit %.1f s); retry in %d s",
                 (long long)st->backlog, lim->drain_ms_max / 1000.0, retry);
    else if (by_drain)
        snprintf(out, cap,
                 "overloaded: %lld quotes are waiting for the aggregators, %.1f s of work at "
                 "their rate of %.0f/s (drain-time limit %.1f s); retry in %d s",
                 (long long)st->backlog, st->drain_ms / 1000.0, st->consume_per_s,
                 lim->drain_ms_max / 1000.0, retry);
    else if (cause == REQ_SHED_BACKLOG)
        snprintf(out, cap,
                 "overloaded: %lld quotes are waiting for the aggregators (limit %lld); "
                 "retry in %d s",
                 (long long)st->backlog, (long long)lim->backlog_max, retry);
    else if (!st->redis_answered)
        snprintf(out, cap,
                 "overloaded: Redis gave no answer in %.0f ms (limit %d ms); retry in %d s",
                 st->redis_ms, lim->redis_ms_max, retry);
    else
        snprintf(out, cap, "overloaded: Redis answers in %.0f ms (limit %d ms); retry in %d s",
                 st->redis_ms, lim->redis_ms_max, retry);
}

/* Quotes the aggregators have not finished: not yet delivered plus delivered and unacked.
 * -1 (why filled) when the consumer info cannot be read. */
static int64_t read_backlog(req_shed *sh, int64_t *consumed, char *why, size_t cap)
{
    *consumed = -1;
    if (natsConnection_Status(sh->srv->nc) != NATS_CONN_STATUS_CONNECTED) {
        snprintf(why, cap, "NATS is not connected");
        return -1;
    }
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = REQ_SHED_INFO_WAIT_MS;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus ns = js_GetConsumerInfo(&ci, sh->js, RFQ_STREAM_QUOTES, RFQ_CONSUMER_AGG, &o, &jerr);
    if (ns != NATS_OK || !ci) {
        snprintf(why, cap, "consumer info %s/%s: %s (js error %d)", RFQ_STREAM_QUOTES,
                 RFQ_CONSUMER_AGG, natsStatus_GetText(ns), (int)jerr);
        jsConsumerInfo_Destroy(ci);
        return -1;
    }
    uint64_t pending = ci->NumPending;
    int64_t unacked = ci->NumAckPending > 0 ? ci->NumAckPending : 0;
    *consumed =
        ci->AckFloor.Consumer > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ci->AckFloor.Consumer;
    jsConsumerInfo_Destroy(ci);
    return pending > (uint64_t)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)pending + unacked;
}

/* How long a PING over the service pool takes in ms, answered or not (*answered says), the wait
 * for a free connection included: an exhausted pool is as much an overload as a slow server. */
static double redis_ping_ms(req_shed *sh, bool *answered)
{
    int64_t t0 = rfq_mono_ns();
    *answered = req_redis_pool_run(sh->srv->redis, req_redis_ping, NULL) == RFQ_OK;
    return (double)(rfq_mono_ns() - t0) / 1e6;
}

/* Take one sample, fold it in, publish the verdict and log a change of verdict (once, not per
 * request). Also logs once when the backlog becomes unreadable and when it is readable again. */
static void shed_tick(req_shed *sh, bool *backlog_unreadable)
{
    char why[256] = "";
    struct req_shed_sample s = {.at_ms = rfq_mono_ns() / 1000000, .consumed = -1};
    bool judge_backlog = sh->lim.backlog_max > 0 || sh->lim.drain_ms_max > 0;
    s.backlog = judge_backlog ? read_backlog(sh, &s.consumed, why, sizeof(why)) : -1;
    s.redis_answered = true;
    s.redis_ms = sh->lim.redis_ms_max > 0 ? redis_ping_ms(sh, &s.redis_answered) : 0;
    if (judge_backlog && (s.backlog < 0) != *backlog_unreadable) {
        *backlog_unreadable = s.backlog < 0;
        if (s.backlog < 0)
            RFQ_LOG(&sh->srv->log, RFQ_WARN, "load shedding: quote backlog unknown: %s", why);
        else
            RFQ_LOG(&sh->srv->log, RFQ_INFO, "load shedding: quote backlog readable again");
    }
    pthread_mutex_lock(&sh->mu);
    enum req_shed_cause before = (enum req_shed_cause)atomic_load(&sh->cause);
    enum req_shed_cause now = req_shed_update(&sh->st, &sh->lim, &s);
    if (now != REQ_SHED_NONE) {
        sh->retry_after = req_shed_retry_after(&sh->st, &sh->lim, now);
        shed_message(sh->message, sizeof(sh->message), &sh->st, &sh->lim, now, sh->retry_after);
    }
    atomic_store(&sh->cause, (int)now);
    char msg[sizeof(sh->message)];
    memcpy(msg, sh->message, sizeof(msg));
    int64_t backlog = sh->st.backlog;
    pthread_mutex_unlock(&sh->mu);
    if (now == before)
        return;
    if (now != REQ_SHED_NONE)
        RFQ_LOG(&sh->srv->log, RFQ_WARN, "load shedding on (%s): new RFQs get 503: %s",
                req_shed_cause_str(now), msg);
    else
        RFQ_LOG(&sh->srv->log, RFQ_WARN,
                "load shedding off: quote backlog %lld, Redis round trip %.1f ms; "
                "accepting RFQs again",
                (long long)backlog, s.redis_ms);
}

static void *shed_main(void *arg)
{
    req_shed *sh = arg;
    bool unreadable = false;
    pthread_mutex_lock(&sh->mu);
    while (!sh->stopping) {
        pthread_mutex_unlock(&sh->mu);
        int64_t next = rfq_mono_ns() + (int64_t)sh->interval_ms * 1000000;
        shed_tick(sh, &unreadable);
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000),
                              .tv_nsec = (long)(next % 1000000000)};
        pthread_mutex_lock(&sh->mu);
        while (!sh->stopping && rfq_mono_ns() < next)
            pthread_cond_timedwait(&sh->cond, &sh->mu, &ts);
    }
    pthread_mutex_unlock(&sh->mu);
    return NULL;
}

rfq_status req_shed_start(req_shed **out, struct req_server *s)
{
    *out = NULL;
    if (s->cfg.shed_backlog <= 0 && s->cfg.shed_redis_ms <= 0 && s->cfg.shed_drain_ms <= 0)
        return RFQ_OK;
    req_shed *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return RFQ_ENOMEM;
    sh->srv = s;
    sh->lim.backlog_max = s->cfg.shed_backlog;
    sh->lim.redis_ms_max = s->cfg.shed_redis_ms;
    sh->lim.drain_ms_max = s->cfg.shed_drain_ms;
    sh->interval_ms = s->cfg.shed_interval_ms > 0 ? s->cfg.shed_interval_ms : 250;
    sh->st.backlog = -1;
    rfq_status st = RFQ_ENATS;
    if (natsConnection_JetStream(&sh->js, s->nc, NULL) != NATS_OK)
        goto out_free;
    st = RFQ_EIO;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto out_js;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&sh->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto out_js;
    if (pthread_mutex_init(&sh->mu, NULL) != 0)
        goto out_cond;
    if (pthread_create(&sh->thread, NULL, shed_main, sh) != 0)
        goto out_mutex;
    RFQ_LOG(&s->log, RFQ_INFO,
            "load shedding: quote backlog limit %lld, drain-time limit %d ms, Redis round-trip "
            "limit %d ms (0 = off), checked every %d ms",
            (long long)sh->lim.backlog_max, sh->lim.drain_ms_max, sh->lim.redis_ms_max,
            sh->interval_ms);
    *out = sh;
    return RFQ_OK;
out_mutex:
    pthread_mutex_destroy(&sh->mu);
out_cond:
    pthread_cond_destroy(&sh->cond);
out_js:
    jsCtx_Destroy(sh->js);
out_free:
    free(sh);
    return st;
}

void req_shed_stop(req_shed *sh)
{
    if (!sh)
        return;
    pthread_mutex_lock(&sh->mu);
    sh->stopping = true;
    pthread_cond_signal(&sh->cond);
    pthread_mutex_unlock(&sh->mu);
    pthread_join(sh->thread, NULL);
    pthread_cond_destroy(&sh->cond);
    pthread_mutex_destroy(&sh->mu);
    jsCtx_Destroy(sh->js);
    free(sh);
}

bool req_shed_refuse(req_shed *sh, struct req_reply *out)
{
    if (!sh || atomic_load(&sh->cause) == REQ_SHED_NONE)
        return false;
    char msg[sizeof(sh->message)];
    pthread_mutex_lock(&sh->mu);
    memcpy(msg, sh->message, sizeof(msg));
    int retry = sh->retry_after;
    pthread_mutex_unlock(&sh->mu);
    req_reply_error(out, 503, "%s", msg);
    req_reply_header(out, "Retry-After", "%d", retry);
    return true;
}

enum req_shed_cause req_shed_now(req_shed *sh, int64_t *backlog)
{
    if (backlog)
        *backlog = -1;
    if (!sh)
        return REQ_SHED_NONE;
    pthread_mutex_lock(&sh->mu);
    if (backlog)
        *backlog = sh->st.backlog;
    enum req_shed_cause c = req_shed_cause_of(&sh->st);
    pthread_mutex_unlock(&sh->mu);
    return c;
}
