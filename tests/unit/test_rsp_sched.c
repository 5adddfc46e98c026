/* Unit tests of rsp_sched: due-time order, FIFO ties, timing, drain and cancel on destroy, and
 * shedding of expired tasks (stale first) when the thread falls behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "rfq_ids.h"
#include "rsp_sched.h"

#define MS 1000000LL

struct log {
    pthread_mutex_t mu;
    int order[256];
    int64_t ran_ns[256];
    int n_run, n_cancelled;
};

struct item {
    struct log *log;
    int id;
};

static void record(void *arg, rsp_task_why why)
{
    struct item *it = arg;
    pthread_mutex_lock(&it->log->mu);
    if (why != RSP_TASK_RUN) {
        it->log->n_cancelled++;
    } else {
        it->log->ran_ns[it->log->n_run] = rfq_mono_ns();
        it->log->order[it->log->n_run++] = it->id;
    }
    pthread_mutex_unlock(&it->log->mu);
}

static void test_due_order_and_fifo(void **state)
{
    struct log lg = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct item items[6];
    rsp_sched *s = NULL;
    assert_int_equal(rsp_sched_create(&s), RFQ_OK);
    int64_t t0 = rfq_mono_ns();
    /* Inserted out of order; tasks 1, 2 and 3 share a due time and were added as 2, 3, 1. */
    const int64_t due[6] = {10, 20, 20, 20, 35, 50};
    const int insert[6] = {5, 2, 0, 3, 4, 1};
    for (int k = 0; k < 6; k++) {
        int id = insert[k];
        items[id] = (struct item){&lg, id};
        assert_int_equal(rsp_sched_at(s, t0 + due[id] * MS, record, &items[id]), RFQ_OK);
    }
    rsp_sched_destroy(s, rfq_mono_ns() + 1000 * MS);
    assert_int_equal(lg.n_run, 6);
    assert_int_equal(lg.n_cancelled, 0);
    const int want[6] = {0, 2, 3, 1, 4, 5};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(lg.order[i], want[i]);
        assert_true(lg.ran_ns[i] >= t0 + due[lg.order[i]] * MS);
    }
}

static void test_never_early(void **state)
{
    struct log lg = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct item it = {&lg, 1};
    rsp_sched *s = NULL;
    assert_int_equal(rsp_sched_create(&s), RFQ_OK);
    int64_t t0 = rfq_mono_ns();
    assert_int_equal(rsp_sched_at(s, t0 + 30 * MS, record, &it), RFQ_OK);
    assert_int_equal(rsp_sched_pending(s), 1);
    struct timespec nap = {0, 100 * MS};
    nanosleep(&nap, NULL);
    assert_int_equal(rsp_sched_pending(s), 0);
    pthread_mutex_lock(&lg.mu);
    assert_int_equal(lg.n_run, 1);
    assert_true(lg.ran_ns[0] >= t0 + 30 * MS);
    assert_true(lg.ran_ns[0] < t0 + 90 * MS);
    pthread_mutex_unlock(&lg.mu);
    rsp_sched_destroy(s, 0);
}

static void test_drain_then_cancel(void **state)
{
    struct log lg = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct item items[4];
    rsp_sched *s = NULL;
    assert_int_equal(rsp_sched_create(&s), RFQ_OK);
    int64_t t0 = rfq_mono_ns();
    const int64_t due[4] = {5, 15, 5000, 60000};
    for (int i = 0; i < 4; i++) {
        items[i] = (struct item){&lg, i};
        assert_int_equal(rsp_sched_at(s, t0 + due[i] * MS, record, &items[i]), RFQ_OK);
    }
    /* Drain for 200 ms: the first two run at their time, the rest are cancelled at once. */
    rsp_sched_destroy(s, t0 + 200 * MS);
    int64_t took = rfq_mono_ns() - t0;
    assert_int_equal(lg.n_run, 2);
    assert_int_equal(lg.n_cancelled, 2);
    assert_true(took < 1000 * MS);
}

static void test_past_due_runs_at_once(void **state)
{
    struct log lg = {.mu = PTHREAD_MUTEX_INITIALIZER};
    static struct item items[200];
    rsp_sched *s = NULL;
    assert_int_equal(rsp_sched_create(&s), RFQ_OK);
    int64_t t0 = rfq_mono_ns();
    for (int i = 0; i < 200; i++) {
        items[i] = (struct item){&lg, i};
        /* Many in the past (more than one batch) plus a few due soon. */
        int64_t due = i < 150 ? t0 - (i + 1) * MS : t0 + (i - 149) * MS;
        assert_int_equal(rsp_sched_at(s, due, record, &items[i]), RFQ_OK);
    }
    rsp_sched_destroy(s, rfq_mono_ns() + 1000 * MS);
    assert_int_equal(lg.n_run, 200);
    /* The future ones ran in due order, none early. */
    int last = 149;
    for (int k = 0; k < 200; k++) {
        int id = lg.order[k];
        if (id < 150)
            continue;
        assert_true(id > last);
        last = id;
        assert_true(lg.ran_ns[k] >= t0 + (id - 149) * MS);
    }
}

/* Every call in order, with its reason, for the shedding tests. */
struct trace {
    pthread_mutex_t mu;
    int n;
    int id[20000];
    rsp_task_why why[20000];
    int block_ms;        /* how long task id 0 keeps the thread busy */
    atomic_int blocking; /* set once task id 0 runs */
};

struct titem {
    struct trace *tr;
    int id;
};

static void traced(void *arg, rsp_task_why why)
{
    struct titem *it = arg;
    if (it->id == 0 && why == RSP_TASK_RUN) {
        atomic_store(&it->tr->blocking, 1);
        struct timespec nap = {0, it->tr->block_ms * MS};
        nanosleep(&nap, NULL); /* a slow task: everything behind it waits */
    }
    pthread_mutex_lock(&it->tr->mu);
    it->tr->id[it->tr->n] = it->id;
    it->tr->why[it->tr->n++] = why;
    pthread_mutex_unlock(&it->tr->mu);
}

/* Schedule the slow task 0 now and return once the thread runs it (alone in its batch), so
 * that everything added afterwards waits behind it. */
static void start_blocker(rsp_sched *s, struct titem *blocker)
{
    assert_int_equal(rsp_sched_at(s, rfq_mono_ns(), traced, blocker), RFQ_OK);
    while (!atomic_load(&blocker->tr->blocking)) {
        struct timespec nap = {0, MS / 10};
        nanosleep(&nap, NULL);
    }
}

/* Position of id in the trace, -1 when it was never called. */
static int trace_pos(const struct trace *tr, int id)
{
    for (int i = 0; i < tr->n; i++)
        if (tr->id[i] == id)
            return i;
    return -1;
}

/* A slow task holds the thread for 60 ms. Behind it: A (due 1 ms, expires at 20 ms), B (due
 * 2 ms, expires in 1 s), C (due 3 ms, expires at 30 ms) and D (due in 400 ms but expiring at
 * 40 ms). When the thread comes back it sheds A, C and D first (D before its due time), then
 * runs B: not arrival order. */
static void test_behind_sheds_stale_first(void **state)
{
    static struct trace tr = {.mu = PTHREAD_MUTEX_INITIALIZER, .block_ms = 60};
    struct titem it[5];
    rsp_sched *s = NULL;
    assert_int_equal(rsp_sched_create(&s), RFQ_OK);
    it[0] = (struct titem){&tr, 0};
    start_blocker(s, &it[0]);
    int64_t t0 = rfq_mono_ns();
    const int64_t due[5] = {0, 1, 2, 3, 400}, expire[5] = {0, 20, 1000, 30, 40};
    for (int i = 1; i < 5; i++) {
        it[i] = (struct titem){&tr, i};
        assert_int_equal(rsp_sched_at_until(s, t0 + due[i] * MS,
                                            expire[i] ? t0 + expire[i] * MS : 0, traced, &it[i]),
                         RFQ_OK);
    }
    struct timespec nap = {0, 150 * MS};
    nanosleep(&nap, NULL);
    pthread_mutex_lock(&tr.mu);
    assert_int_equal(tr.n, 5); /* D went early: shed, not waited for */
    pthread_mutex_unlock(&tr.mu);
    struct rsp_sched_stats st;
    rsp_sched_stats_get(s, &st);
    rsp_sched_destroy(s, 0);
    assert_int_equal(tr.id[0], 0);
    assert_int_equal(tr.why[0], RSP_TASK_RUN);
    const int stale[3] = {1, 3, 4};
    int pos_b = trace_pos(&tr, 2);
    assert_int_equal(tr.why[pos_b], RSP_TASK_RUN);
    for (int k = 0; k < 3; k++) {
        int pos = trace_pos(&tr, stale[k]);
        assert_true(pos > 0);
        assert_int_equal(tr.why[pos], RSP_TASK_EXPIRED);
        assert_true(pos < pos_b);
    }
    assert_int_equal(st.run, 2);
    assert_int_equal(st.expired, 3);
    assert_int_equal(st.cancelled, 0);
    assert_true(st.shed_scans >= 1);
    assert_true(st.max_lag_ns >= 50 * MS);
}

/* Not behind: a task reached after its expiry is still handed over as expired, never run. */
static void test_expired_when_reached(void **state)
{
    static struct trace tr = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct titem a = {&tr, 7}, b = {&tr, 8};
    rsp_sched *s = NULL;
    assert_int_equal(rsp_sched_create(&s), RFQ_OK);
    int64_t t0 = rfq_mono_ns();
    assert_int_equal(rsp_sched_at_until(s, t0 + 10 * MS, t0 + 5 * MS, traced, &a), RFQ_OK);
    assert_int_equal(rsp_sched_at_until(s, t0 + 10 * MS, t0 + 500 * MS, traced, &b), RFQ_OK);
    rsp_sched_destroy(s, rfq_mono_ns() + 1000 * MS);
    assert_int_equal(tr.n, 2);
    assert_int_equal(tr.id[0], 7);
    assert_int_equal(tr.why[0], RSP_TASK_EXPIRED);
    assert_int_equal(tr.id[1], 8);
    assert_int_equal(tr.why[1], RSP_TASK_RUN);
}

/* A backlog of 10,000 tasks behind a slow one, every other one already stale when the thread
 * returns: all stale ones are shed before the first fresh one runs, and every task is called
 * exactly once. Tasks without an expiry never expire. */
static void test_large_backlog_accounted(void **state)
{
    static struct trace tr = {.mu = PTHREAD_MUTEX_INITIALIZER, .block_ms = 50};
    enum { N = 10000 };
    static struct titem it[N + 1];
    rsp_sched *s = NULL;
    assert_int_equal(rsp_sched_create(&s), RFQ_OK);
    it[0] = (struct titem){&tr, 0};
    start_blocker(s, &it[0]);
    int64_t t0 = rfq_mono_ns();
    for (int i = 1; i <= N; i++) {
        it[i] = (struct titem){&tr, i};
        int64_t expire = i % 2 ? t0 + 10 * MS : (i % 4 ? t0 + 60000 * MS : 0);
        assert_int_equal(rsp_sched_at_until(s, t0 + (i % 5) * MS, expire, traced, &it[i]), RFQ_OK);
    }
    rsp_sched_destroy(s, rfq_mono_ns() + 5000 * MS);
    assert_int_equal(tr.n, N + 1);
    int first_fresh = -1, last_stale = -1, n_stale = 0;
    for (int k = 1; k < tr.n; k++) {
        if (tr.id[k] % 2) {
            assert_int_equal(tr.why[k], RSP_TASK_EXPIRED);
            last_stale = k;
            n_stale++;
        } else {
            assert_int_equal(tr.why[k], RSP_TASK_RUN);
            if (first_fresh < 0)
                first_fresh = k;
        }
    }
    assert_int_equal(n_stale, N / 2);
    assert_true(last_stale < first_fresh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_order_and_fifo),
        cmocka_unit_test(test_never_early),
        cmocka_unit_test(test_drain_then_cancel),
        cmocka_unit_test(test_past_due_runs_at_once),
        cmocka_unit_test(test_behind_sheds_stale_first),
        cmocka_unit_test(test_expired_when_reached),
        cmocka_unit_test(test_large_backlog_accounted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
