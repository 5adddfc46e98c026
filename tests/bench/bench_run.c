/* bench_run: the load loops and the figures of one run. */
#include "bench_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until_ns(int64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000), .tv_nsec = (long)(t % 1000000000)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* Record seq's outcome once; wakes the load loop (one more free place in the window). */
static void settle(struct bench_run *run, uint32_t seq, uint8_t state, int64_t now_ns, int status,
                   int quotes)
{
    pthread_mutex_lock(&run->mu);
    if (!run->closed && seq < run->sent && run->slots[seq].state == BENCH_SENT) {
        struct bench_slot *s = &run->slots[seq];
        s->state = state;
        s->done_ns = now_ns;
        s->status = (uint16_t)status;
        s->quotes = (uint8_t)(quotes < 0 ? 0 : quotes > 255 ? 255 : quotes);
        run->inflight--;
        if (now_ns > run->last_outcome_ns)
            run->last_outcome_ns = now_ns;
        pthread_cond_broadcast(&run->cv);
    }
    pthread_mutex_unlock(&run->mu);
}

void bench_done(struct bench_run *run, uint32_t seq, int64_t now_ns, int quotes)
{
    settle(run, seq, BENCH_DONE, now_ns, 0, quotes);
}

void bench_refused(struct bench_run *run, uint32_t seq, int status)
{
    settle(run, seq, BENCH_REFUSED, bench_now_ns(), status, 0);
}

void bench_failed(struct bench_run *run, uint32_t seq)
{
    settle(run, seq, BENCH_FAILED, bench_now_ns(), 0, 0);
}

void bench_expired(struct bench_run *run, uint32_t seq)
{
    settle(run, seq, BENCH_EXPIRED, bench_now_ns(), 0, 0);
}

/* Take the next sequence number and mark it sent at sched_ns; UINT32_MAX when the table is
 * full. */
static uint32_t take_slot(struct bench_run *run, int64_t sched_ns)
{
    pthread_mutex_lock(&run->mu);
    uint32_t seq = UINT32_MAX;
    if (run->sent < run->cap) {
        seq = run->sent++;
        run->slots[seq].sched_ns = sched_ns;
        run->slots[seq].state = BENCH_SENT;
        run->inflight++;
    }
    pthread_mutex_unlock(&run->mu);
    return seq;
}

/* Closed loop: keep window RFQs in flight; each new one starts when one ends. */
static void closed_loop(const struct bench_driver *d, struct bench_run *run,
                        const struct bench_spec *spec, int64_t end_ns)
{
    for (;;) {
        pthread_mutex_lock(&run->mu);
        while (run->inflight >= spec->window && bench_now_ns() < end_ns) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&run->cv, &run->mu, &ts);
        }
        pthread_mutex_unlock(&run->mu);
        int64_t now = bench_now_ns();
        if (now >= end_ns || (spec->max_rfqs && run->sent >= spec->max_rfqs))
            return;
        uint32_t seq = take_slot(run, now);
        if (seq == UINT32_MAX)
            return;
        d->submit(d->ctx, run, seq);
    }
}

/* Open loop: RFQ i is due at t0 + i / rate whatever happened to the others; latency counts
 * from that due time, so a stall of the engine (or of this client) shows in the figures. */
static void open_loop(const struct bench_driver *d, struct bench_run *run,
                      const struct bench_spec *spec, int64_t end_ns)
{
    const double period_ns = 1e9 / spec->rate;
    for (uint64_t i = 0;; i++) {
        int64_t due = run->t0_ns + (int64_t)((double)i * period_ns);
        if (due >= end_ns || (spec->max_rfqs && i >= spec->max_rfqs))
            return;
        if (due > bench_now_ns())
            sleep_until_ns(due);
        uint32_t seq = take_slot(run, due);
        if (seq == UINT32_MAX)
            return;
        d->submit(d->ctx, run, seq);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(const int64_t *v, size_t n, double p)
{
    if (!n)
        return 0;
    size_t i = (size_t)(p * (double)n);
    return v[i >= n ? n - 1 : i];
}

static void acc_lat(struct bench_acc *acc, int64_t us)
{
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 4096;
        int64_t *p = realloc(acc->lat, cap * sizeof(int64_t));
        if (!p) {
            fprintf(stderr, "bench: out of memory for latencies\n");
            exit(2);
        }
        acc->lat = p;
        acc->cap = cap;
    }
    acc->lat[acc->n++] = us;
}

/* Add the run's table to acc. */
static void collect(const struct bench_run *run, struct bench_acc *acc)
{
    for (uint32_t i = 0; i < run->sent; i++) {
        const struct bench_slot *s = &run->slots[i];
        acc->sent++;
        switch (s->state) {
        case BENCH_DONE:
            acc->done++;
            acc->quotes += s->quotes;
            acc_lat(acc, (s->done_ns - s->sched_ns) / 1000);
            break;
        case BENCH_REFUSED:
            acc->refused++;
            acc->by_status[s->status < 600 ? s->status : 0]++;
            break;
        case BENCH_FAILED:
            acc->failed++;
            break;
        case BENCH_EXPIRED:
            acc->expired++;
            acc_lat(acc, BENCH_LAT_INF);
            break;
        default:
            acc->incomplete++;
            acc_lat(acc, BENCH_LAT_INF);
            break;
        }
    }
    acc->load_s += (double)(run->last_outcome_ns - run->t0_ns) / 1e9;
}

void bench_acc_result(const struct bench_acc *acc, struct bench_result *res)
{
    memset(res, 0, sizeof(*res));
    res->sent = acc->sent;
    res->done = acc->done;
    res->refused = acc->refused;
    res->failed = acc->failed;
    res->expired = acc->expired;
    res->incomplete = acc->incomplete;
    res->quotes = acc->quotes;
    res->load_s = acc->load_s;
    for (int st = 1; st < 600; st++)
        if (acc->by_status[st] > acc->by_status[res->refused_status])
            res->refused_status = (uint16_t)st;
    qsort(acc->lat, acc->n, sizeof(int64_t), cmp_i64);
    res->p50_us = pct(acc->lat, acc->n, 0.50);
    res->p90_us = pct(acc->lat, acc->n, 0.90);
    res->p99_us = pct(acc->lat, acc->n, 0.99);
    res->p999_us = pct(acc->lat, acc->n, 0.999);
    res->max_us = acc->n ? acc->lat[acc->n - 1] : 0;
    if (res->load_s > 0) {
        res->rfqs_per_s = res->done / res->load_s;
        res->quotes_per_s = (double)res->quotes / res->load_s;
    }
}

void bench_acc_free(struct bench_acc *acc)
{
    free(acc->lat);
    memset(acc, 0, sizeof(*acc));
}

void bench_execute(const struct bench_driver *d, const struct bench_spec *spec,
                   struct bench_acc *acc)
{
    struct bench_run run;
    memset(&run, 0, sizeof(run));
    double bound = spec->open_loop ? spec->rate * spec->seconds + 16 : 60000.0 * spec->seconds;
    if (spec->max_rfqs && spec->max_rfqs < bound)
        bound = spec->max_rfqs;
    run.cap = (uint32_t)bound + 1;
    run.slots = calloc(run.cap, sizeof(struct bench_slot));
    if (!run.slots) {
        fprintf(stderr, "bench: out of memory for %u RFQs\n", run.cap);
        exit(2);
    }
    pthread_mutex_init(&run.mu, NULL);
    pthread_cond_init(&run.cv, NULL);
    if (d->attach)
        d->attach(d->ctx, &run);
    run.t0_ns = bench_now_ns();
    run.last_outcome_ns = run.t0_ns;
    int64_t end_ns = run.t0_ns + (int64_t)(spec->seconds * 1e9);
    if (spec->open_loop)
        open_loop(d, &run, spec, end_ns);
    else
        closed_loop(d, &run, spec, end_ns);
    /* Drain: wait for the outcomes of what was sent. */
    int64_t drain_end = bench_now_ns() + (int64_t)spec->drain_ms * 1000000;
    pthread_mutex_lock(&run.mu);
    while (run.inflight > 0 && bench_now_ns() < drain_end) {
        pthread_mutex_unlock(&run.mu);
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&run.mu);
    }
    run.closed = true;
    pthread_mutex_unlock(&run.mu);
    if (d->attach)
        d->attach(d->ctx, NULL);
    collect(&run, acc);
    pthread_mutex_destroy(&run.mu);
    pthread_cond_destroy(&run.cv);
    free(run.slots);
}
