/* Unit tests of the rsp_agent callback API through a send hook: no servers needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rfq_ids.h"
#include "rsp_agent.h"

#define MAX_SENT 64

/* What the send hook saw. */
struct sent {
    char subject[256], tenant[80], rfq_id[80], responder[80], msg_id[160], trace[160];
    struct rfq_quote body; /* decoded from the JSON body */
    rfq_status decoded;    /* rfq_quote_decode of the body (asserted on the test thread) */
    int64_t at_ns;
};

struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct sent sent[MAX_SENT];
    int n;
    int block_first_ms; /* the first send sleeps this long (holds the scheduler thread) */
};

static rfq_status sink_send(void *closure, const struct rsp_reply *r)
{
    struct sink *k = closure;
    pthread_mutex_lock(&k->mu);
    int first = k->n == 0;
    if (k->n < MAX_SENT) {
        struct sent *s = &k->sent[k->n++];
        snprintf(s->subject, sizeof(s->subject), "%s", r->subject);
        snprintf(s->tenant, sizeof(s->tenant), "%s", r->tenant);
        snprintf(s->rfq_id, sizeof(s->rfq_id), "%s", r->rfq_id);
        snprintf(s->responder, sizeof(s->responder), "%s", r->responder_id);
        snprintf(s->msg_id, sizeof(s->msg_id), "%s", r->msg_id);
        snprintf(s->trace, sizeof(s->trace), "%s", r->traceparent ? r->traceparent : "");
        struct rfq_err err;
        s->decoded = rfq_quote_decode(&s->body, r->body, r->body_len, &err);
        s->at_ns = rfq_mono_ns();
    }
    pthread_cond_broadcast(&k->cond);
    int block = first ? k->block_first_ms : 0;
    pthread_mutex_unlock(&k->mu);
    if (block) {
        struct timespec ts = {0, (long)block * 1000000};
        nanosleep(&ts, NULL);
    }
    return RFQ_OK;
}

/* Wait until the sink has n replies or timeout_ms passed; returns the count. */
static int sink_wait(struct sink *k, int n, int timeout_ms)
{
    int64_t until = rfq_mono_ns() + (int64_t)timeout_ms * 1000000;
    pthread_mutex_lock(&k->mu);
    while (k->n < n && rfq_mono_ns() < until) {
        pthread_mutex_unlock(&k->mu);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&k->mu);
    }
    int got = k->n;
    pthread_mutex_unlock(&k->mu);
    return got;
}

/* The test's answer script, per responder closure. */
struct script {
    rsp_decision decision;
    int think_ms;
    int64_t amount;
    const char *reason;
    const char *perk; /* one perk, or NULL */
    int n_perks;      /* overrides the perk count when non-zero */
    const char *currency;
    _Atomic int calls;
};

struct fixture {
    struct sink sink;
    rsp_agent *agent;
    _Atomic int in_callback;
    _Atomic int overlap;
};

static struct fixture *fx_global;

static rsp_decision scripted(void *closure, const struct rfq_request *rfq, const char *responder_id,
                             struct rfq_quote *out, int *think_ms)
{
    struct script *s = closure;
    if (atomic_fetch_add(&fx_global->in_callback, 1) != 0)
        atomic_store(&fx_global->overlap, 1);
    atomic_fetch_add(&s->calls, 1);
    /* The agent pre-fills identity and currency. */
    assert_string_equal(out->rfq_id, rfq->rfq_id);
    assert_string_equal(out->responder_id, responder_id);
    assert_string_equal(out->currency, rfq->body.currency);
    assert_int_equal(*think_ms, 0);
    out->amount_minor = s->amount;
    out->eta_s = 120;
    if (s->perk) {
        snprintf(out->perks[0], sizeof(out->perks[0]), "%s", s->perk);
        out->n_perks = 1;
    }
    if (s->n_perks)
        out->n_perks = s->n_perks;
    for (int i = 1; s->perk && i < s->n_perks && i < RFQ_TAGS_MAX; i++)
        snprintf(out->perks[i], sizeof(out->perks[i]), "%s", s->perk); /* repeats */
    if (s->reason)
        snprintf(out->decline_reason, sizeof(out->decline_reason), "%s", s->reason);
    if (s->currency)
        snprintf(out->currency, sizeof(out->currency), "%s", s->currency);
    /* A careless callback may scribble over the ids: the agent restores them. */
    snprintf(out->responder_id, sizeof(out->responder_id), "someone-else");
    *think_ms = s->think_ms;
    atomic_fetch_sub(&fx_global->in_callback, 1);
    return s->decision;
}

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    pthread_mutex_init(&fx->sink.mu, NULL);
    pthread_cond_init(&fx->sink.cond, NULL);
    struct rsp_agent_cfg cfg;
    rsp_agent_cfg_init(&cfg);
    cfg.send = sink_send;
    cfg.send_closure = &fx->sink;
    cfg.drain_ms = 0;
    assert_int_equal(rsp_agent_create(&fx->agent, &cfg, scripted), RFQ_OK);
    fx_global = fx;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    rsp_agent_destroy(fx->agent);
    pthread_mutex_destroy(&fx->sink.mu);
    pthread_cond_destroy(&fx->sink.cond);
    free(fx);
    return 0;
}

/* An encoded RFQ for tenant acme in region, with the deadline deadline_in_ms from now. */
static char *rfq_json(const char *id, const char *region, int64_t deadline_in_ms, size_t *len)
{
    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.rfq_id, sizeof(r.rfq_id), "%s", id);
    snprintf(r.tenant, sizeof(r.tenant), "acme");
    r.created_ms = rfq_now_ms();
    r.deadline_ms = r.created_ms + deadline_in_ms;
    snprintf(r.body.region, sizeof(r.body.region), "%s", region);
    r.body.pickup = (struct rfq_point){48.85, 2.35};
    r.body.dropoff = (struct rfq_point){48.87, 2.29};
    r.body.passengers = 2;
    r.body.max_quotes = 5;
    memcpy(r.body.currency, "EUR", 4);
    char *out = NULL;
    assert_int_equal(rfq_request_encode(&r, &out, len), RFQ_OK);
    return out;
}

static rfq_status deliver(struct fixture *fx, const char *id, const char *region,
                          int64_t deadline_in_ms, const char *traceparent)
{
    size_t len = 0;
    char *json = rfq_json(id, region, deadline_in_ms, &len);
    char subject[128], reply[128];
    snprintf(subject, sizeof(subject), "rfq.v1.req.%s.acme", region);
    snprintf(reply, sizeof(reply), "rfq.v1.quote.acme.%s", id);
    rfq_status st = rsp_agent_deliver(fx->agent, subject, reply, json, len, traceparent);
    free(json);
    return st;
}

static void test_quotes_to_every_responder_of_the_region(void **state)
{
    struct fixture *fx = *state;
    struct script eu = {.decision = RSP_QUOTE, .amount = 1250, .perk = "free_drinks"};
    struct script us = {.decision = RSP_QUOTE, .amount = 999};
    assert_int_equal(rsp_agent_add_responder(fx->agent, "u-eu-1", "eu-west", &eu), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "u-eu-2", "eu-west", &eu), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "u-eu-3", "eu-west", &eu), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "u-us-1", "us-east", &us), RFQ_OK);

    const char *tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_int_equal(deliver(fx, "rfq-a", "eu-west", 2000, tp), RFQ_OK);
    /* think 0: every answer went out before deliver returned */
    assert_int_equal(fx->sink.n, 3);
    assert_int_equal(atomic_load(&eu.calls), 3);
    assert_int_equal(atomic_load(&us.calls), 0);
    for (int i = 0; i < 3; i++) {
        struct sent *s = &fx->sink.sent[i];
        assert_int_equal(s->decoded, RFQ_OK);
        char want_id[32], want_msg[64];
        snprintf(want_id, sizeof(want_id), "u-eu-%d", i + 1);
        snprintf(want_msg, sizeof(want_msg), "rfq-a.u-eu-%d", i + 1);
        assert_string_equal(s->subject, "rfq.v1.quote.acme.rfq-a");
        assert_string_equal(s->tenant, "acme");
        assert_string_equal(s->rfq_id, "rfq-a");
        assert_string_equal(s->responder, want_id);
        assert_string_equal(s->msg_id, want_msg);
        assert_string_equal(s->trace, tp);
        assert_string_equal(s->body.responder_id, want_id);
        assert_string_equal(s->body.rfq_id, "rfq-a");
        assert_false(s->body.decline);
        assert_int_equal(s->body.amount_minor, 1250);
        assert_string_equal(s->body.currency, "EUR");
        assert_int_equal(s->body.n_perks, 1);
        assert_string_equal(s->body.perks[0], "free_drinks");
    }
    struct rsp_agent_stats st;
    rsp_agent_stats_get(fx->agent, &st);
    assert_int_equal(st.received, 1);
    assert_int_equal(st.asked, 3);
    assert_int_equal(st.quotes, 3);
    assert_int_equal(st.bad, 0);
}

static void test_decline_and_no_answer(void **state)
{
    struct fixture *fx = *state;
    struct script dec = {.decision = RSP_DECLINE, .amount = -5 /* ignored for declines */};
    struct script why = {.decision = RSP_DECLINE, .reason = "too far"};
    struct script none = {.decision = RSP_NO_ANSWER};
    assert_int_equal(rsp_agent_add_responder(fx->agent, "d1", "eu-west", &dec), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "d2", "eu-west", &why), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "n1", "eu-west", &none), RFQ_OK);
    assert_int_equal(deliver(fx, "rfq-d", "eu-west", 2000, NULL), RFQ_OK);
    assert_int_equal(fx->sink.n, 2);
    assert_true(fx->sink.sent[0].body.decline);
    assert_string_equal(fx->sink.sent[0].body.decline_reason, "declined");
    assert_string_equal(fx->sink.sent[1].body.decline_reason, "too far");
    assert_string_equal(fx->sink.sent[0].trace, "");
    struct rsp_agent_stats st;
    rsp_agent_stats_get(fx->agent, &st);
    assert_int_equal(st.declines, 2);
    assert_int_equal(st.no_answer, 1);
    assert_int_equal(st.quotes, 0);
}

static void test_expired_rfq_is_skipped(void **state)
{
    struct fixture *fx = *state;
    struct script q = {.decision = RSP_QUOTE, .amount = 1};
    assert_int_equal(rsp_agent_add_responder(fx->agent, "q1", "eu-west", &q), RFQ_OK);
    assert_int_equal(deliver(fx, "rfq-old", "eu-west", -1, NULL), RFQ_ECLOSED);
    assert_int_equal(deliver(fx, "rfq-now", "eu-west", 0, NULL), RFQ_ECLOSED);
    assert_int_equal(atomic_load(&q.calls), 0);
    assert_int_equal(fx->sink.n, 0);
    struct rsp_agent_stats st;
    rsp_agent_stats_get(fx->agent, &st);
    assert_int_equal(st.expired, 2);
}

static void test_bad_input_is_dropped(void **state)
{
    struct fixture *fx = *state;
    struct script q = {.decision = RSP_QUOTE, .amount = 1};
    assert_int_equal(rsp_agent_add_responder(fx->agent, "q1", "eu-west", &q), RFQ_OK);
    size_t len = 0;
    char *good = rfq_json("rfq-b", "eu-west", 2000, &len);
    const char *subj = "rfq.v1.req.eu-west.acme", *reply = "rfq.v1.quote.acme.rfq-b";
    rsp_agent *a = fx->agent;

    assert_int_equal(rsp_agent_deliver(a, subj, reply, "{", 1, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, reply, "[]", 2, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, reply, "", 0, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, reply, NULL, 0, NULL), RFQ_EINVAL);
    const char *dup = "{\"rfq_id\":\"x\",\"rfq_id\":\"y\"}";
    assert_int_equal(rsp_agent_deliver(a, subj, reply, dup, strlen(dup), NULL), RFQ_EINVAL);
    char *big = malloc(RFQ_BODY_MAX + 100);
    memset(big, ' ', RFQ_BODY_MAX + 100);
    memcpy(big, good, len);
    assert_int_equal(rsp_agent_deliver(a, subj, reply, big, RFQ_BODY_MAX + 100, NULL), RFQ_ETOOBIG);
    free(big);
    /* Subjects and reply subjects. */
    assert_int_equal(rsp_agent_deliver(a, "rfq.v1.req.eu-west", reply, good, len, NULL),
                     RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, "rfq.v1.req.eu-west.acme.x", reply, good, len, NULL),
                     RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, "rfq.v1.req.eu-west.other", reply, good, len, NULL),
                     RFQ_EINVAL); /* subject tenant differs from body */
    assert_int_equal(rsp_agent_deliver(a, NULL, reply, good, len, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, NULL, good, len, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, "", good, len, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, "a b", good, len, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, "a.>", good, len, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, "a..b", good, len, NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_deliver(a, subj, "a\r\nPUB x 1", good, len, NULL), RFQ_EINVAL);
    /* Every truncation of a valid RFQ is refused without crashing. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_not_equal(rsp_agent_deliver(a, subj, reply, good, cut, NULL), RFQ_OK);
    /* Byte flips: whatever decodes is fine, nothing may crash. */
    for (size_t i = 0; i < len; i++) {
        char *m = malloc(len);
        memcpy(m, good, len);
        m[i] = (char)(m[i] ^ 0x5a);
        rsp_agent_deliver(a, subj, reply, m, len,
                          "\x01"
                          "bad");
        free(m);
    }
    assert_int_equal(rsp_agent_deliver(a, subj, reply, good, len, NULL), RFQ_OK);
    free(good);
    struct rsp_agent_stats st;
    rsp_agent_stats_get(fx->agent, &st);
    assert_true(st.bad >= 16 + len);
    /* Unknown region: offered to nobody. */
    assert_int_equal(deliver(fx, "rfq-c", "ap-south", 2000, NULL), RFQ_ENOTFOUND);
}

static void test_invalid_answers_are_not_sent(void **state)
{
    struct fixture *fx = *state;
    struct script neg = {.decision = RSP_QUOTE, .amount = -1};
    struct script perk = {.decision = RSP_QUOTE, .amount = 10, .perk = "Bad Perk"};
    struct script many = {.decision = RSP_QUOTE, .amount = 10, .n_perks = 99};
    struct script cur = {.decision = RSP_QUOTE, .amount = 10, .currency = "eur"};
    struct script gbp = {.decision = RSP_QUOTE, .amount = 10, .currency = "GBP"};
    struct script twice = {.decision = RSP_QUOTE, .amount = 10, .perk = "wifi", .n_perks = 2};
    struct script gbp_decline = {.decision = RSP_DECLINE, .currency = "GBP"}; /* fine */
    struct script weird = {.decision = (rsp_decision)42, .amount = 10};
    struct script reason = {.decision = RSP_DECLINE, .reason = "tab\there"};
    struct script ok = {.decision = RSP_QUOTE, .amount = 10};
    assert_int_equal(rsp_agent_add_responder(fx->agent, "neg", "eu-west", &neg), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "perk", "eu-west", &perk), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "many", "eu-west", &many), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "cur", "eu-west", &cur), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "gbp", "eu-west", &gbp), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "twice", "eu-west", &twice), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "gbp-d", "eu-west", &gbp_decline), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "weird", "eu-west", &weird), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "reason", "eu-west", &reason), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "ok", "eu-west", &ok), RFQ_OK);
    assert_int_equal(deliver(fx, "rfq-i", "eu-west", 2000, NULL), RFQ_OK);
    assert_int_equal(fx->sink.n, 2);
    assert_string_equal(fx->sink.sent[0].responder, "gbp-d");
    assert_string_equal(fx->sink.sent[1].responder, "ok");
    struct rsp_agent_stats st;
    rsp_agent_stats_get(fx->agent, &st);
    assert_int_equal(st.invalid, 8);
}

static void test_think_time_delays_the_send(void **state)
{
    struct fixture *fx = *state;
    struct script slow = {.decision = RSP_QUOTE, .amount = 10, .think_ms = 40};
    struct script fast = {.decision = RSP_QUOTE, .amount = 20, .think_ms = 10};
    assert_int_equal(rsp_agent_add_responder(fx->agent, "slow", "eu-west", &slow), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "fast", "eu-west", &fast), RFQ_OK);
    int64_t t0 = rfq_mono_ns();
    assert_int_equal(deliver(fx, "rfq-t", "eu-west", 2000, NULL), RFQ_OK);
    assert_int_equal(sink_wait(&fx->sink, 0, 0), 0); /* nothing yet: both are thinking */
    assert_int_equal(sink_wait(&fx->sink, 2, 2000), 2);
    assert_string_equal(fx->sink.sent[0].responder, "fast");
    assert_string_equal(fx->sink.sent[1].responder, "slow");
    assert_true(fx->sink.sent[0].at_ns - t0 >= 10 * 1000000LL);
    assert_true(fx->sink.sent[1].at_ns - t0 >= 40 * 1000000LL);
}

static void test_late_answers_are_dropped(void **state)
{
    struct fixture *fx = *state;
    /* Thinks past the deadline: dropped when decided. */
    struct script dreamer = {.decision = RSP_QUOTE, .amount = 10, .think_ms = 500};
    /* Two answers due at 5 ms; the first send holds the scheduler for 150 ms, so the second
     * is reached after the 60 ms deadline and must be dropped (shed), not sent. */
    struct script a1 = {.decision = RSP_QUOTE, .amount = 10, .think_ms = 5};
    fx->sink.block_first_ms = 150;
    assert_int_equal(rsp_agent_add_responder(fx->agent, "dreamer", "eu-west", &dreamer), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "a1", "eu-west", &a1), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(fx->agent, "a2", "eu-west", &a1), RFQ_OK);
    assert_int_equal(deliver(fx, "rfq-l", "eu-west", 60, NULL), RFQ_OK);
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    assert_int_equal(sink_wait(&fx->sink, 1, 0), 1); /* locks: what the sender wrote is visible */
    assert_string_equal(fx->sink.sent[0].responder, "a1");
    struct rsp_agent_stats st;
    rsp_agent_stats_get(fx->agent, &st);
    /* The dreamer is late when decided. a2 is shed by the scheduler, or, when the scheduler
     * reaches it in the very millisecond of the deadline, dropped as late by the send: never
     * sent either way. */
    assert_true(st.late >= 1);
    assert_int_equal(st.late + st.shed, 2);
    assert_int_equal(st.quotes, 1);
    assert_int_equal(sink_wait(&fx->sink, 2, 0), 1);
}

struct deliverer {
    struct fixture *fx;
    int base;
};

static void *deliver_many(void *p)
{
    struct deliverer *d = p;
    for (int i = 0; i < 200; i++) {
        char id[32];
        snprintf(id, sizeof(id), "rfq-%d-%d", d->base, i);
        deliver(d->fx, id, d->base ? "us-east" : "eu-west", 5000, NULL);
    }
    return NULL;
}

static rsp_decision count_only(void *closure, const struct rfq_request *rfq,
                               const char *responder_id, struct rfq_quote *out, int *think_ms)
{
    if (atomic_fetch_add(&fx_global->in_callback, 1) != 0)
        atomic_store(&fx_global->overlap, 1);
    struct timespec ts = {0, 20000};
    nanosleep(&ts, NULL);
    atomic_fetch_sub(&fx_global->in_callback, 1);
    return RSP_NO_ANSWER;
}

static void test_callbacks_never_overlap(void **state)
{
    struct fixture *fx = *state;
    /* A separate agent whose callback sleeps briefly, fed from two threads at once. */
    struct rsp_agent_cfg cfg;
    rsp_agent_cfg_init(&cfg);
    cfg.send = sink_send;
    cfg.send_closure = &fx->sink;
    rsp_agent *a = NULL;
    assert_int_equal(rsp_agent_create(&a, &cfg, count_only), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(a, "e1", "eu-west", NULL), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(a, "u1", "us-east", NULL), RFQ_OK);
    rsp_agent *saved = fx->agent;
    fx->agent = a;
    pthread_t t1, t2;
    struct deliverer d1 = {fx, 0}, d2 = {fx, 1};
    pthread_create(&t1, NULL, deliver_many, &d1);
    pthread_create(&t2, NULL, deliver_many, &d2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    struct rsp_agent_stats st;
    rsp_agent_stats_get(a, &st);
    assert_int_equal(st.asked, 400);
    assert_int_equal(st.no_answer, 400);
    assert_int_equal(atomic_load(&fx->overlap), 0);
    fx->agent = saved;
    rsp_agent_destroy(a);
}

static void test_shutdown_cancels_long_thinkers(void **state)
{
    struct fixture *fx = *state;
    struct script sleepy = {.decision = RSP_QUOTE, .amount = 10, .think_ms = 20000};
    assert_int_equal(rsp_agent_add_responder(fx->agent, "sleepy", "eu-west", &sleepy), RFQ_OK);
    assert_int_equal(deliver(fx, "rfq-s", "eu-west", 60000, NULL), RFQ_OK);
    int64_t t0 = rfq_mono_ns();
    rsp_agent_destroy(fx->agent); /* drain_ms 0 */
    fx->agent = NULL;
    assert_true(rfq_mono_ns() - t0 < 1000 * 1000000LL);
    assert_int_equal(fx->sink.n, 0);
}

static void test_registration_rules(void **state)
{
    struct fixture *fx = *state;
    rsp_agent *a = fx->agent;
    assert_int_equal(rsp_agent_add_responder(a, "ok-1", "eu-west", NULL), RFQ_OK);
    assert_int_equal(rsp_agent_add_responder(a, "ok-1", "us-east", NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_add_responder(a, "bad.id", "eu-west", NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_add_responder(a, "", "eu-west", NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_add_responder(a, "ok-2", "EU", NULL), RFQ_EINVAL);
    assert_int_equal(rsp_agent_add_responder(a, NULL, "eu-west", NULL), RFQ_EINVAL);

    struct rsp_agent_cfg cfg;
    rsp_agent_cfg_init(&cfg);
    rsp_agent *b = NULL;
    assert_int_equal(rsp_agent_create(&b, &cfg, NULL), RFQ_EINVAL);
    assert_null(b);
    cfg.ack_wait_ms = 0;
    assert_int_equal(rsp_agent_create(&b, &cfg, scripted), RFQ_EINVAL);
    /* An inbox prefix nats.c could not use (a wildcard, an empty token) is refused up front. */
    const char *bad_inbox[] = {"_INBOX.>", "_INBOX.*", "a..b", "a.", "a b"};
    for (size_t i = 0; i < sizeof(bad_inbox) / sizeof(bad_inbox[0]); i++) {
        rsp_agent_cfg_init(&cfg);
        cfg.inbox_prefix = bad_inbox[i];
        assert_int_equal(rsp_agent_create(&b, &cfg, scripted), RFQ_EINVAL);
        assert_null(b);
    }
    /* NULL is the responder user's default, "" nats.c's _INBOX. */
    const char *good_inbox[] = {NULL, "", "_INBOX", "_INBOX_responder.acme"};
    for (size_t i = 0; i < sizeof(good_inbox) / sizeof(good_inbox[0]); i++) {
        rsp_agent_cfg_init(&cfg);
        cfg.inbox_prefix = good_inbox[i];
        assert_int_equal(rsp_agent_create(&b, &cfg, scripted), RFQ_OK);
        rsp_agent_destroy(b);
        b = NULL;
    }
    /* Start without responders is refused before any I/O. */
    rsp_agent_cfg_init(&cfg);
    assert_int_equal(rsp_agent_create(&b, &cfg, scripted), RFQ_OK);
    assert_int_equal(rsp_agent_start(b), RFQ_EINVAL);
    rsp_agent_destroy(b);
    rsp_agent_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_quotes_to_every_responder_of_the_region, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_decline_and_no_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_rfq_is_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_answers_are_not_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_think_time_delays_the_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_answers_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callbacks_never_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_cancels_long_thinkers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registration_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
