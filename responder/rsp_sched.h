/* rsp_sched: one timer thread that runs tasks at a due time (think-time delays without a thread
 * per quote), and sheds tasks whose expiry passed while it was behind. */
#ifndef RSP_SCHED_H
#define RSP_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_status.h"

typedef struct rsp_sched rsp_sched;

/* Why a task is called. */
typedef enum {
    RSP_TASK_RUN = 0,   /* due (and not expired): do the work */
    RSP_TASK_CANCELLED, /* the scheduler was destroyed before it was due */
    RSP_TASK_EXPIRED,   /* shed: its expiry passed before the thread could run it */
} rsp_task_why;

/* A scheduled task. Called exactly once for every task accepted by rsp_sched_at or
 * rsp_sched_at_until, on the scheduler thread: at (or just after) its due time with
 * RSP_TASK_RUN, with RSP_TASK_EXPIRED instead when its expiry had passed by then, or with
 * RSP_TASK_CANCELLED when the scheduler is destroyed before it ran. arg is the caller's and is
 * handed back; the task owns it from then on. */
typedef void (*rsp_task_fn)(void *arg, rsp_task_why why);

/* Counters since creation (a snapshot). */
struct rsp_sched_stats {
    uint64_t run;        /* tasks called with RSP_TASK_RUN */
    uint64_t expired;    /* tasks called with RSP_TASK_EXPIRED */
    uint64_t cancelled;  /* tasks called with RSP_TASK_CANCELLED */
    uint64_t shed_scans; /* passes over the whole queue that removed expired tasks early */
    int64_t max_lag_ns;  /* worst delay between a task's due time and its call */
};

/* Start the scheduler thread. *out is new (rsp_sched_destroy). RFQ_ENOMEM or RFQ_EIO when the
 * thread cannot be created. */
rfq_status rsp_sched_create(rsp_sched **out);

/* Run fn(arg, RSP_TASK_RUN) once the monotonic clock (rfq_mono_ns) reaches due_ns; tasks with
 * equal due times run in the order they were added. Thread-safe. If this returns an error
 * (RFQ_ENOMEM, or RFQ_ECLOSED once destruction began), fn is never called and arg stays the
 * caller's. The task never expires. */
rfq_status rsp_sched_at(rsp_sched *s, int64_t due_ns, rsp_task_fn fn, void *arg);

/* rsp_sched_at for a task that is worthless from expire_ns on (monotonic; 0 = never): if the
 * thread reaches it at or after expire_ns, fn gets RSP_TASK_EXPIRED instead of RSP_TASK_RUN.
 * When the thread is behind (its earliest due task is overdue), it first sheds every expired
 * task in the queue, wherever it sits, before running the rest in due order: a backlog costs
 * no work on answers that can no longer arrive in time, and the fresh ones go out sooner. */
rfq_status rsp_sched_at_until(rsp_sched *s, int64_t due_ns, int64_t expire_ns, rsp_task_fn fn,
                              void *arg);

/* Tasks waiting for their due time (not yet taken by the thread). Thread-safe. */
size_t rsp_sched_pending(rsp_sched *s);

/* Copy the counters into *out. Thread-safe. */
void rsp_sched_stats_get(rsp_sched *s, struct rsp_sched_stats *out);

/* Stop accepting tasks, keep running those due up to drain_until_ns (monotonic) at their due
 * time, cancel the rest, join the thread and free everything. NULL is a no-op. Must not be
 * called from a task. */
void rsp_sched_destroy(rsp_sched *s, int64_t drain_until_ns);

#endif
