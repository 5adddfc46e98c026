/* bench_run: one measured run: the table of RFQs sent, the load loops (closed and open) and
 * the figures computed from the table. Drivers (engine over HTTP or NATS, the bare baseline)
 * only send and report back what happened to each RFQ. */
#ifndef BENCH_RUN_H
#define BENCH_RUN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum bench_state {
    BENCH_SENT = 1, /* submitted, no outcome yet */
    BENCH_DONE,     /* completed: every quote stored */
    BENCH_REFUSED,  /* the submit was answered with an error status (503, 429, ...) */
    BENCH_FAILED,   /* the submit itself failed (transport) */
    BENCH_EXPIRED,  /* accepted but its deadline passed before it completed */
};

struct bench_slot {
    int64_t sched_ns; /* when the load wanted it sent (latency starts here) */
    int64_t done_ns;  /* when the bench learnt its outcome */
    uint16_t status;  /* submit status of a refused RFQ */
    uint8_t state;    /* enum bench_state, 0 = not sent */
    uint8_t quotes;   /* quotes stored when it completed */
};

struct bench_run;
/* Send RFQ seq (its slot's sched_ns is set). Must not block for long: an open loop keeps its
 * schedule only if submits are queued, not waited for. */
typedef void (*bench_submit_fn)(void *ctx, struct bench_run *run, uint32_t seq);

struct bench_driver {
    const char *name; /* "engine-http", "engine-nats", "baseline" */
    void *ctx;
    bench_submit_fn submit;
    /* Called before and after each run, e.g. to point callbacks at the run (may be NULL). */
    void (*attach)(void *ctx, struct bench_run *run);
};

struct bench_spec {
    bool open_loop;
    int window;        /* closed loop: RFQs in flight */
    int rate;          /* open loop: RFQs per second */
    double seconds;    /* how long the load is offered */
    uint32_t max_rfqs; /* stop after this many RFQs (0 = time only) */
    int drain_ms;      /* how long to wait for outcomes after the load stops */
    bool quiet;        /* warm-up: no output */
};

struct bench_result {
    uint32_t sent, done, refused, failed, expired, incomplete;
    uint64_t quotes;
    double load_s;     /* first send to last outcome */
    double rfqs_per_s; /* completed RFQs per second */
    double quotes_per_s;
    /* submit (scheduled time) -> completed, microseconds; unfinished RFQs rank as infinite */
    int64_t p50_us, p90_us, p99_us, p999_us, max_us;
    uint16_t refused_status; /* the most common refusal status */
};

#define BENCH_LAT_INF INT64_MAX

struct bench_run {
    struct bench_slot *slots;
    uint32_t cap;
    uint32_t sent;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int inflight;
    bool closed; /* outcomes after the end of the run are ignored */
    int64_t t0_ns;
    int64_t last_outcome_ns;
};

/* The outcomes of one or more runs of one driver and load, merged: a measurement split into
 * rounds interleaved with the other drivers' (so that all see the same machine) adds up here. */
struct bench_acc {
    int64_t *lat; /* microseconds, BENCH_LAT_INF for an RFQ that never completed */
    size_t n, cap;
    uint32_t sent, done, refused, failed, expired, incomplete;
    uint64_t quotes;
    double load_s;
    uint32_t by_status[600];
};

int64_t bench_now_ns(void);

/* Run spec against driver; adds the outcomes to acc. */
void bench_execute(const struct bench_driver *d, const struct bench_spec *spec,
                   struct bench_acc *acc);
/* The figures of everything added to acc. */
void bench_acc_result(const struct bench_acc *acc, struct bench_result *res);
void bench_acc_free(struct bench_acc *acc);

/* Outcomes, from any thread; each RFQ's first outcome counts, later ones are ignored. */
void bench_done(struct bench_run *run, uint32_t seq, int64_t now_ns, int quotes);
void bench_refused(struct bench_run *run, uint32_t seq, int status);
void bench_failed(struct bench_run *run, uint32_t seq);
void bench_expired(struct bench_run *run, uint32_t seq);

#endif
