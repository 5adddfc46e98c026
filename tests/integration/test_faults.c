/* test_faults: the engine under steady load while its parts crash, restart or freeze, and
 * responders that misbehave: nothing acknowledged is lost or stored twice, every RFQ closes
 * (fault_load.c does the counting). CTest label "faults"; poison_counts_failures, a plain
 * integration scenario, checks the aggregator rule that makes a short ack wait safe. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "agg_batch.h"
#include "fault_load.h"
#include "harness.h"
#include "rfq_ids.h"
#include "rfq_nats.h"
#include "scenarios.h"

#define FT_RATE 100        /* RFQs per second (RFQ_IT_FAULT_RATE) */
#define FT_TIMEOUT_MS 2000 /* RFQ timeout */

static struct h_proc *stack_up(struct h_proc **agg)
{
    h_nats_start();
    h_redis_start();
    *agg = h_aggregator_start(NULL);
    return h_requester_start(NULL);
}

static void load_start(const char *scenario, const struct h_proc *req, bool bad)
{
    struct fl_cfg cfg = {
        .scenario = scenario,
        .req = req,
        .rate = FT_RATE,
        .responders = bad ? 4 : FL_GOOD_MAX,
        .timeout_ms = FT_TIMEOUT_MS,
        .twice_responder = bad,
        .late_responder = bad,
    };
    fl_start(&cfg);
}

static unsigned seed_get(void)
{
    unsigned seed = (unsigned)fl_env_int("RFQ_IT_FAULT_SEED", (int)(time(NULL) % 1000000));
    h_log("random seed %u (RFQ_IT_FAULT_SEED)", seed);
    return seed;
}

/* The durable consumer as an older release left it (ack wait 30 s). */
static void legacy_consumer(void)
{
    H_CHECK(rfq_streams_ensure(h_js()) == RFQ_OK, "create the streams");
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = RFQ_CONSUMER_AGG;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = (int64_t)30 * 1000000000;
    cc.MaxAckPending = 65536;
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddConsumer(&ci, h_js(), RFQ_STREAM_QUOTES, &cc, NULL, &jerr);
    H_CHECK(s == NATS_OK, "create the consumer: %s (js error %d)", natsStatus_GetText(s),
            (int)jerr);
    jsConsumerInfo_Destroy(ci);
}

static int64_t ack_wait_ms(void)
{
    jsConsumerInfo *ci = NULL;
    jsErrCode jerr = 0;
    natsStatus s =
        js_GetConsumerInfo(&ci, h_js(), RFQ_STREAM_QUOTES, RFQ_CONSUMER_AGG, NULL, &jerr);
    H_CHECK(s == NATS_OK, "consumer info: %s (js error %d)", natsStatus_GetText(s), (int)jerr);
    int64_t ms = ci->Config->AckWait / 1000000;
    jsConsumerInfo_Destroy(ci);
    return ms;
}

/* kill -9 the aggregator at random moments under load, restarting it each time. */
void sc_faults_aggregator_kill(void)
{
    h_nats_start();
    h_redis_start();
    legacy_consumer();
    struct h_proc *agg = h_aggregator_start(NULL);
    H_CHECK_INT(ack_wait_ms(), AGG_ACK_WAIT_MS, "ack wait after the aggregator started (ms)");
    h_log("the aggregator brought the consumer's ack wait from 30000 to %d ms", AGG_ACK_WAIT_MS);
    struct h_proc *req = h_requester_start(NULL);
    load_start("faults_aggregator_kill", req, false);
    unsigned seed = seed_get();
    int kills = fl_env_int("RFQ_IT_FAULT_KILLS", 10);
    h_sleep_ms(1500);
    for (int k = 1; k <= kills; k++) {
        h_sleep_ms(300 + (int)(rand_r(&seed) % 2200));
        h_proc_kill9(agg);
        uint64_t pending = 0;
        int64_t in_flight = 0;
        h_quotes_drained(0, &pending, &in_flight);
        h_sleep_ms((int)(rand_r(&seed) % 300));
        h_proc_restart(agg);
        h_log("kill cycle %d of %d: %lld quotes were delivered to the killed aggregator and not "
              "acknowledged",
              k, kills, (long long)in_flight);
    }
    h_sleep_ms(1500);
    fl_finish(NULL);
}

/* Status of GET /v1/rfqs for token. */
static long list_status(const struct h_proc *req, const char *token)
{
    struct h_resp r;
    h_http(&r, req, "GET", "/v1/rfqs", token, NULL, NULL, 0);
    long st = r.status;
    h_resp_free(&r);
    return st;
}

/* kill -9 nats-server under load and restart it on the same port and store dir, twice. */
void sc_faults_nats_restart(void)
{
    struct h_proc *agg = NULL;
    struct h_proc *req = stack_up(&agg);
    /* A second tenant, known to the requester before the crashes, to change afterwards. */
    char *watch_tok = h_token("fault-watch", "enterprise", 3600);
    H_CHECK_INT(list_status(req, watch_tok), 200, "listing of a registered tenant");
    load_start("faults_nats_restart", req, false);
    /* More restarts (RFQ_IT_FAULT_RESTARTS) widen the net for races at reconnection. */
    int restarts = fl_env_int("RFQ_IT_FAULT_RESTARTS", 2);
    h_bound_extend(5 * (restarts - 2));
    h_sleep_ms(2500);
    for (int k = 1; k <= restarts; k++) {
        fl_outage_begin("nats");
        h_nats_kill9();
        h_sleep_ms(1500);
        fl_outage_end(); /* from here the engines may reconnect */
        h_nats_restart();
        h_sleep_ms(3000);
        h_check_all_alive();
    }
    struct fl_result res;
    fl_finish(&res);
    H_CHECK(res.outage_submits > 0, "no submit was made while nats-server was down");
    H_CHECK_INT(res.outage_503, res.outage_submits, "submits answered 503 while NATS was down");
    h_proc_check_alive(agg);

    /* The requester's watch of the tenant bucket survived the restarts: a suspension written
     * now is applied without a restart. */
    struct rfq_tenant_rec rec;
    rfq_tenant_rec_init(&rec, "fault-watch");
    rec.suspended = true;
    int64_t t0 = h_now_ms();
    h_tenant_put(&rec);
    while (list_status(req, watch_tok) != 403) {
        H_CHECK(h_now_ms() - t0 < 3000,
                "a tenant suspended after the nats-server restarts is still served after 3 s");
        h_sleep_ms(50);
    }
    h_log("tenant suspended after the restarts: refused %lld ms after the record was written",
          (long long)(h_now_ms() - t0));
    free(watch_tok);
}

/* kill -9 redis-server under load (AOF everysec) and restart it on the same data dir, twice. */
void sc_faults_redis_restart(void)
{
    struct h_proc *agg = NULL;
    struct h_proc *req = stack_up(&agg);
    load_start("faults_redis_restart", req, false);
    h_sleep_ms(2500);
    for (int k = 1; k <= 2; k++) {
        fl_outage_begin("redis");
        h_redis_kill9();
        h_sleep_ms(1500);
        fl_outage_end();
        h_redis_restart();
        h_sleep_ms(3000);
        h_check_all_alive();
    }
    struct fl_result res;
    fl_finish(&res);
    H_CHECK(res.outage_submits > 0, "no submit was made while redis-server was down");
    H_CHECK_INT(res.outage_503, res.outage_submits, "submits answered 503 while Redis was down");
    h_proc_check_alive(agg);
}

/* SIGSTOP the only aggregator for RFQ_IT_FAULT_STOP_S seconds (30) under load, then SIGCONT:
 * the stream holds the backlog, the sweeper catches up, nothing is lost. */
void sc_faults_aggregator_stop(void)
{
    int pause_s = fl_env_int("RFQ_IT_FAULT_STOP_S", 30);
    struct h_proc *agg = NULL;
    struct h_proc *req = stack_up(&agg);
    load_start("faults_aggregator_stop", req, false);
    h_sleep_ms(2000);
    h_proc_signal(agg, SIGSTOP);
    h_log("aggregator stopped (SIGSTOP) for %d s", pause_s);
    h_sleep_ms(pause_s * 1000);
    uint64_t pending = 0;
    int64_t ack_pending = 0;
    h_quotes_drained(0, &pending, &ack_pending);
    h_proc_signal(agg, SIGCONT);
    int64_t t_cont = h_now_ms();
    h_log("aggregator continued (SIGCONT) with %llu quotes waiting, %lld delivered unacked",
          (unsigned long long)pending, (long long)ack_pending);
    H_CHECK(h_quotes_drained(60000, NULL, NULL), "backlog not drained after SIGCONT");
    h_log("backlog drained %lld ms after SIGCONT", (long long)(h_now_ms() - t_cont));
    h_sleep_ms(2000);
    struct fl_result res;
    fl_finish(&res);
    h_log("longest sweep delay %ld ms (the pause was %d s)", res.max_sweep_delay_ms, pause_s);
}

/* Misbehaving responders beside good ones: fr-twice sends every answer twice under two
 * Nats-Msg-Ids (the stream keeps both), fr-late answers after each deadline. */
void sc_faults_bad_responders(void)
{
    struct h_proc *agg = NULL;
    struct h_proc *req = stack_up(&agg);
    load_start("faults_bad_responders", req, true);
    h_sleep_ms(6000);
    struct fl_result res;
    fl_finish(&res);
    H_CHECK(res.twice_acked > 0 && res.twice_acked >= 2 * res.twice_stored,
            "fr-twice: %ld copies acknowledged, %ld stored", res.twice_acked, res.twice_stored);
    H_CHECK(res.dups_counted > 0, "no duplicate counted for fr-twice's second copies");
    H_CHECK(res.late_acked > 0, "fr-late sent nothing");
    H_CHECK_INT(res.late_stored, 0, "answers stored from fr-late (all after the deadline)");
    h_proc_check_alive(agg);
}

/* Deliver the quote waiting on the aggregators' consumer n times to the test itself, each
 * negatively acknowledged: its delivery count grows as after n aggregator crashes. */
static void inflate_deliveries(int n)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = RFQ_STREAM_QUOTES;
    so.Consumer = RFQ_CONSUMER_AGG;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&sub, h_js(), RFQ_SUBJECT_QUOTES_ALL, NULL, NULL, &so, &jerr);
    H_CHECK(s == NATS_OK, "bind to the consumer: %s (js error %d)", natsStatus_GetText(s),
            (int)jerr);
    for (int i = 1; i <= n; i++) {
        natsMsgList list = {0};
        s = natsSubscription_Fetch(&list, sub, 1, 3000, &jerr);
        H_CHECK(s == NATS_OK && list.Count == 1, "fetch %d: %s", i, natsStatus_GetText(s));
        jsMsgMetaData *meta = NULL;
        H_CHECK(natsMsg_GetMetaData(&meta, list.Msgs[0]) == NATS_OK, "metadata");
        H_CHECK_INT(meta->NumDelivered, i, "delivery count");
        jsMsgMetaData_Destroy(meta);
        H_CHECK(natsMsg_Nak(list.Msgs[0], NULL) == NATS_OK, "nak");
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub); /* bound, not created: the durable stays */
}

/* A quote whose delivery count grew through redeliveries (crashes, stops) is not a poison
 * message: one failed attempt does not dead-letter it; AGG_POISON_DELIVERIES failed attempts
 * of a quote Redis keeps refusing still do. */
void sc_poison_counts_failures(void)
{
    struct h_proc *agg = NULL;
    struct h_proc *req = stack_up(&agg);
    char *tok = h_token("acme", "enterprise", 3600);
    char *body = h_submit_body("eu-west", 2, 60000);
    char id[RFQ_ID_MAX + 1], qkey[RFQ_KEY_MAX], subject[RFQ_KEY_MAX];
    json_decref(h_submit(req, tok, body, id));
    rfq_key_quotes(qkey, sizeof(qkey), "acme", id);
    rfq_subject_quote(subject, sizeof(subject), "acme", id);
    /* A quotes key of the wrong type: add_quote.lua fails with a WRONGTYPE error reply. */
    redisReply *r = redisCommand(h_redis(), "SET %s broken", qkey);
    H_CHECK(r && r->type == REDIS_REPLY_STATUS, "SET %s", qkey);
    freeReplyObject(r);

    h_proc_signal(agg, SIGSTOP);
    h_sleep_ms(700); /* its outstanding pull request (500 ms) expires */
    h_publish_quote("acme", id, "r-1", 1000, 60, NULL);
    inflate_deliveries(AGG_POISON_DELIVERIES);
    h_proc_signal(agg, SIGCONT);
    /* Attempts 1 s apart (nak delay): two or three fail meanwhile. */
    h_sleep_ms(2500);
    H_CHECK_INT(h_dlq_count_subject(subject, "store"), 0,
                "dead letters of a quote redelivered often but refused twice");
    r = redisCommand(h_redis(), "DEL %s", qkey);
    freeReplyObject(r);
    int64_t until = h_now_ms() + 5000;
    while (h_redis_int_cmd("HLEN", qkey) != 1) {
        H_CHECK(h_now_ms() < until, "quote not stored once Redis accepted it");
        h_sleep_ms(50);
    }
    h_log("a quote delivered %d times before its first attempt was stored after failures",
          AGG_POISON_DELIVERIES);

    /* A quote Redis keeps refusing is dead-lettered after AGG_POISON_DELIVERIES attempts. */
    char id2[RFQ_ID_MAX + 1], qkey2[RFQ_KEY_MAX], subject2[RFQ_KEY_MAX];
    json_decref(h_submit(req, tok, body, id2));
    rfq_key_quotes(qkey2, sizeof(qkey2), "acme", id2);
    rfq_subject_quote(subject2, sizeof(subject2), "acme", id2);
    r = redisCommand(h_redis(), "SET %s broken", qkey2);
    freeReplyObject(r);
    int64_t t0 = h_now_ms();
    h_publish_quote("acme", id2, "r-1", 1000, 60, NULL);
    until = t0 + 15000;
    while (h_dlq_count_subject(subject2, "store") == 0) {
        H_CHECK(h_now_ms() < until, "a quote Redis keeps refusing was not dead-lettered");
        h_sleep_ms(100);
    }
    h_log("quote Redis keeps refusing dead-lettered (store) after %lld ms",
          (long long)(h_now_ms() - t0));
    H_CHECK(h_quotes_drained(5000, NULL, NULL), "quote consumer not drained");
    H_CHECK_INT(h_dlq_count_subject(subject2, "store"), 1, "dead letters of the poison quote");
    free(body);
    free(tok);
}
