/* Unit tests of rsp_sched: due-time order, FIFO ties, timing, drain and cancel on destroy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
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

static void record(void *arg, bool cancelled)
{
    struct item *it = arg;
    pthread_mutex_lock(&it->log->mu);
    if (cancelled) {
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_due_order_and_fifo),
        cmocka_unit_test(test_never_early),
        cmocka_unit_test(test_drain_then_cancel),
        cmocka_unit_test(test_past_due_runs_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
