/* rsp_sched: a min-heap of tasks ordered by due time, served by one thread that sleeps on a
 * monotonic condition variable until the earliest task is due, and sheds expired tasks first
 * when it falls behind. */
#include "rsp_sched.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "rfq_ids.h"

#define RSP_SCHED_BATCH 64 /* tasks taken off the heap per lock hold */
/* The earliest task overdue by this much means the thread is behind: tasks wait for the
 * thread, not for their time. */
#define RSP_SCHED_BEHIND_NS (2 * 1000000LL)
/* A shed pass walks the whole queue: at most one per this interval, so that a long backlog
 * does not turn every batch into a full scan. */
#define RSP_SCHED_SCAN_GAP_NS (1 * 1000000LL)

struct rsp_task {
    int64_t due_ns;    /* monotonic due time */
    int64_t expire_ns; /* monotonic time from which running it is pointless; 0 = never */
    uint64_t seq;      /* insertion order: ties run first-in first-out */
    rsp_task_fn fn;
    void *arg;
};

struct rsp_sched {
    pthread_mutex_t mu;
    pthread_cond_t cond; /* signalled when the earliest task changes or on stop */
    pthread_t thread;
    struct rsp_task *heap; /* binary min-heap by (due_ns, seq) */
    size_t n, cap;
    uint64_t next_seq;
    bool stopping;          /* destroy began: no new tasks */
    int64_t drain_until_ns; /* while stopping, tasks due later than this are cancelled */
    struct rsp_task *shed;  /* the thread's buffer for tasks removed by a shed pass */
    size_t shed_cap;
    int64_t last_scan_ns; /* when the last shed pass ran (thread only) */
    _Atomic uint64_t n_run, n_expired, n_cancelled, n_scans;
    _Atomic int64_t max_lag_ns; /* written by the thread only */
};

static bool task_before(const struct rsp_task *a, const struct rsp_task *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static void heap_push(rsp_sched *s, struct rsp_task t)
{
    size_t i = s->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!task_before(&t, &s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = t;
}

/* Put t at position i (a hole) and move it down until its children come after it. */
static void heap_sift_down(rsp_sched *s, size_t i, struct rsp_task t)
{
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->n)
            break;
        if (child + 1 < s->n && task_before(&s->heap[child + 1], &s->heap[child]))
            child++;
        if (!task_before(&s->heap[child], &t))
            break;
        s->heap[i] = s->heap[child];
        i = child;
    }
    s->heap[i] = t;
}

static struct rsp_task heap_pop(rsp_sched *s)
{
    struct rsp_task top = s->heap[0];
    struct rsp_task last = s->heap[--s->n];
    if (s->n > 0)
        heap_sift_down(s, 0, last);
    return top;
}

static bool task_expired(const struct rsp_task *t, int64_t now)
{
    return t->expire_ns != 0 && t->expire_ns <= now;
}

/* Move every task that expired by now, wherever it sits in the heap, into s->shed and restore
 * the heap order (O(n)). Returns how many moved; 0 also when the buffer cannot grow (those
 * tasks are then found one by one as they come due). Caller holds mu. */
static size_t shed_expired(rsp_sched *s, int64_t now)
{
    size_t n_exp = 0;
    for (size_t i = 0; i < s->n; i++)
        n_exp += task_expired(&s->heap[i], now);
    if (n_exp == 0)
        return 0;
    if (n_exp > s->shed_cap) {
        struct rsp_task *b = realloc(s->shed, n_exp * sizeof(*b));
        if (!b)
            return 0;
        s->shed = b;
        s->shed_cap = n_exp;
    }
    size_t kept = 0, m = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (task_expired(&s->heap[i], now))
            s->shed[m++] = s->heap[i];
        else
            s->heap[kept++] = s->heap[i];
    }
    s->n = kept;
    for (size_t i = kept / 2; i-- > 0;)
        heap_sift_down(s, i, s->heap[i]);
    return m;
}

/* Call one task outside the lock: RUN, or EXPIRED when its expiry passed in the meantime
 * (earlier tasks of the batch may have taken a while). */
static void task_call(rsp_sched *s, const struct rsp_task *t)
{
    int64_t now = rfq_mono_ns();
    int64_t lag = now - t->due_ns;
    if (lag > atomic_load_explicit(&s->max_lag_ns, memory_order_relaxed))
        atomic_store_explicit(&s->max_lag_ns, lag, memory_order_relaxed);
    if (task_expired(t, now)) {
        atomic_fetch_add_explicit(&s->n_expired, 1, memory_order_relaxed);
        t->fn(t->arg, RSP_TASK_EXPIRED);
    } else {
        atomic_fetch_add_explicit(&s->n_run, 1, memory_order_relaxed);
        t->fn(t->arg, RSP_TASK_RUN);
    }
}

static struct timespec mono_abs(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

/* The scheduler thread: sleep until the earliest task is due, take every due task off the heap
 * (in batches, so the lock is not held while tasks run), run them, repeat. When behind, first
 * shed every expired task (stale first, not in arrival order). On stop, run what is due before
 * the drain limit and cancel the rest. */
static void *sched_main(void *p)
{
    rsp_sched *s = p;
    struct rsp_task batch[RSP_SCHED_BATCH];
    pthread_mutex_lock(&s->mu);
    for (;;) {
        if (s->n == 0) {
            if (s->stopping)
                break;
            pthread_cond_wait(&s->cond, &s->mu);
            continue;
        }
        int64_t due = s->heap[0].due_ns;
        if (s->stopping && due > s->drain_until_ns)
            break;
        int64_t now = rfq_mono_ns();
        if (due > now) {
            struct timespec ts = mono_abs(due);
            pthread_cond_timedwait(&s->cond, &s->mu, &ts);
            continue;
        }
        if (now - due >= RSP_SCHED_BEHIND_NS && now - s->last_scan_ns >= RSP_SCHED_SCAN_GAP_NS) {
            s->last_scan_ns = now;
            size_t m = shed_expired(s, now);
            if (m > 0) {
                atomic_fetch_add_explicit(&s->n_scans, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&s->n_expired, m, memory_order_relaxed);
                pthread_mutex_unlock(&s->mu);
                for (size_t i = 0; i < m; i++) /* s->shed is the thread's own */
                    s->shed[i].fn(s->shed[i].arg, RSP_TASK_EXPIRED);
                pthread_mutex_lock(&s->mu);
                continue;
            }
        }
        size_t k = 0;
        while (k < RSP_SCHED_BATCH && s->n > 0 && s->heap[0].due_ns <= now)
            batch[k++] = heap_pop(s);
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < k; i++)
            task_call(s, &batch[i]);
        pthread_mutex_lock(&s->mu);
    }
    /* Cancel what is left, outside the lock (a cancel may be slow or log). */
    struct rsp_task *rest = s->heap;
    size_t n_rest = s->n;
    s->heap = NULL;
    s->n = s->cap = 0;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add_explicit(&s->n_cancelled, n_rest, memory_order_relaxed);
    for (size_t i = 0; i < n_rest; i++)
        rest[i].fn(rest[i].arg, RSP_TASK_CANCELLED);
    free(rest);
    return NULL;
}

rfq_status rsp_sched_create(rsp_sched **out)
{
    *out = NULL;
    rsp_sched *s = calloc(1, sizeof(*s));
    if (!s)
        return RFQ_ENOMEM;
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        goto out_free;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        goto out_free;
    if (pthread_mutex_init(&s->mu, NULL) != 0)
        goto out_cond;
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0)
        goto out_mutex;
    *out = s;
    return RFQ_OK;
out_mutex:
    pthread_mutex_destroy(&s->mu);
out_cond:
    pthread_cond_destroy(&s->cond);
out_free:
    free(s);
    return RFQ_EIO;
}

rfq_status rsp_sched_at(rsp_sched *s, int64_t due_ns, rsp_task_fn fn, void *arg)
{
    return rsp_sched_at_until(s, due_ns, 0, fn, arg);
}

rfq_status rsp_sched_at_until(rsp_sched *s, int64_t due_ns, int64_t expire_ns, rsp_task_fn fn,
                              void *arg)
{
    rfq_status st = RFQ_OK;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        st = RFQ_ECLOSED;
        goto out_unlock;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct rsp_task *h = realloc(s->heap, cap * sizeof(*h));
        if (!h) {
            st = RFQ_ENOMEM;
            goto out_unlock;
        }
        s->heap = h;
        s->cap = cap;
    }
    struct rsp_task t = {
        .due_ns = due_ns, .expire_ns = expire_ns, .seq = s->next_seq++, .fn = fn, .arg = arg};
    heap_push(s, t);
    /* Wake the thread only when its next wake-up time moved earlier. */
    if (s->heap[0].seq == t.seq)
        pthread_cond_signal(&s->cond);
out_unlock:
    pthread_mutex_unlock(&s->mu);
    return st;
}

size_t rsp_sched_pending(rsp_sched *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void rsp_sched_stats_get(rsp_sched *s, struct rsp_sched_stats *out)
{
    out->run = atomic_load_explicit(&s->n_run, memory_order_relaxed);
    out->expired = atomic_load_explicit(&s->n_expired, memory_order_relaxed);
    out->cancelled = atomic_load_explicit(&s->n_cancelled, memory_order_relaxed);
    out->shed_scans = atomic_load_explicit(&s->n_scans, memory_order_relaxed);
    out->max_lag_ns = atomic_load_explicit(&s->max_lag_ns, memory_order_relaxed);
}

void rsp_sched_destroy(rsp_sched *s, int64_t drain_until_ns)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    s->drain_until_ns = drain_until_ns;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s->heap);
    free(s->shed);
    free(s);
}
