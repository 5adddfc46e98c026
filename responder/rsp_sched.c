/* rsp_sched: a min-heap of tasks ordered by due time, served by one thread that sleeps on a
 * monotonic condition variable until the earliest task is due. */
#include "rsp_sched.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "rfq_ids.h"

#define RSP_SCHED_BATCH 64 /* tasks taken off the heap per lock hold */

struct rsp_task {
    int64_t due_ns; /* monotonic due time */
    uint64_t seq;   /* insertion order: ties run first-in first-out */
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

static struct rsp_task heap_pop(rsp_sched *s)
{
    struct rsp_task top = s->heap[0];
    struct rsp_task last = s->heap[--s->n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= s->n)
            break;
        if (child + 1 < s->n && task_before(&s->heap[child + 1], &s->heap[child]))
            child++;
        if (!task_before(&s->heap[child], &last))
            break;
        s->heap[i] = s->heap[child];
        i = child;
    }
    if (s->n > 0)
        s->heap[i] = last;
    return top;
}

static struct timespec mono_abs(int64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    return ts;
}

/* The scheduler thread: sleep until the earliest task is due, take every due task off the heap
 * (in batches, so the lock is not held while tasks run), run them, repeat. On stop, run what is
 * due before the drain limit and cancel the rest. */
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
        size_t k = 0;
        while (k < RSP_SCHED_BATCH && s->n > 0 && s->heap[0].due_ns <= now)
            batch[k++] = heap_pop(s);
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < k; i++)
            batch[i].fn(batch[i].arg, false);
        pthread_mutex_lock(&s->mu);
    }
    /* Cancel what is left, outside the lock (a cancel may be slow or log). */
    struct rsp_task *rest = s->heap;
    size_t n_rest = s->n;
    s->heap = NULL;
    s->n = s->cap = 0;
    pthread_mutex_unlock(&s->mu);
    for (size_t i = 0; i < n_rest; i++)
        rest[i].fn(rest[i].arg, true);
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
    struct rsp_task t = {.due_ns = due_ns, .seq = s->next_seq++, .fn = fn, .arg = arg};
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
    free(s);
}
