/* rsp_sched: one timer thread that runs tasks at a due time (think-time delays without a thread
 * per quote). */
#ifndef RSP_SCHED_H
#define RSP_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_status.h"

typedef struct rsp_sched rsp_sched;

/* A scheduled task. Called exactly once for every task accepted by rsp_sched_at: on the
 * scheduler thread at (or just after) its due time with cancelled = false, or with
 * cancelled = true when the scheduler is destroyed before it ran. arg is the caller's and is
 * handed back; the task owns it from then on. */
typedef void (*rsp_task_fn)(void *arg, bool cancelled);

/* Start the scheduler thread. *out is new (rsp_sched_destroy). RFQ_ENOMEM or RFQ_EIO when the
 * thread cannot be created. */
rfq_status rsp_sched_create(rsp_sched **out);

/* Run fn(arg, false) once the monotonic clock (rfq_mono_ns) reaches due_ns; tasks with equal due
 * times run in the order they were added. Thread-safe. If this returns an error (RFQ_ENOMEM, or
 * RFQ_ECLOSED once destruction began), fn is never called and arg stays the caller's. */
rfq_status rsp_sched_at(rsp_sched *s, int64_t due_ns, rsp_task_fn fn, void *arg);

/* Tasks waiting for their due time (not yet taken by the thread). Thread-safe. */
size_t rsp_sched_pending(rsp_sched *s);

/* Stop accepting tasks, keep running those due up to drain_until_ns (monotonic) at their due
 * time, cancel the rest, join the thread and free everything. NULL is a no-op. Must not be
 * called from a task. */
void rsp_sched_destroy(rsp_sched *s, int64_t drain_until_ns);

#endif
