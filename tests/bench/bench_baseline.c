/* bench_baseline: publisher, repliers and gatherer of the bare scatter-gather. */
#include "bench_baseline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <nats/nats.h>

#include "harness.h"
#include "rfq_cfg.h"
#include "rfq_nats.h"
#include "rfq_redis.h"

#define REQ_SUBJECT "bench.base.req"
#define REPLY_PREFIX "bench.base.rep"
#define REPLIERS_MAX 64
#define PIPELINE_MAX 512

static struct {
    pthread_rwlock_t lock;
    struct bench_run *run;
    uint32_t gen;
} target = {PTHREAD_RWLOCK_INITIALIZER, NULL, 0};

static struct {
    int k;
    natsConnection *pub_nc;
    natsConnection *rep_nc[REPLIERS_MAX];
    natsSubscription *rep_sub[REPLIERS_MAX];
    char rep_body[REPLIERS_MAX][256];
    natsConnection *gather_nc;
    natsSubscription *gather_sub;
    redisContext *redis;
    pthread_t gatherer;
    volatile bool stopping;
    /* replies stored per RFQ of the current run (gatherer thread only) */
    uint8_t *counts;
    uint32_t counts_cap;
    char request[512];
} B;

static void attach(void *ctx, struct bench_run *run)
{
    (void)ctx;
    pthread_rwlock_wrlock(&target.lock);
    target.run = run;
    target.gen++;
    if (run) {
        free(B.counts);
        B.counts_cap = run->cap;
        B.counts = calloc(run->cap, 1);
        H_CHECK(B.counts != NULL, "out of memory");
    }
    pthread_rwlock_unlock(&target.lock);
}

/* A replier: answers each request at once with a quote-sized body naming itself. */
static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    const char *body = closure;
    const char *reply = natsMsg_GetReply(m);
    if (reply)
        natsConnection_Publish(nc, reply, body, (int)strlen(body));
    natsMsg_Destroy(m);
}

/* The gatherer: takes what has arrived (up to PIPELINE_MAX replies), stores each with one
 * pipelined HSET, and after Redis answered counts them; the K-th reply completes the RFQ. */
static void *gatherer_main(void *arg)
{
    (void)arg;
    natsMsg *batch[PIPELINE_MAX];
    while (!B.stopping) {
        int n = 0;
        natsMsg *m = NULL;
        if (natsSubscription_NextMsg(&m, B.gather_sub, 100) != NATS_OK)
            continue;
        batch[n++] = m;
        while (n < PIPELINE_MAX && natsSubscription_NextMsg(&m, B.gather_sub, 0) == NATS_OK)
            batch[n++] = m;
        for (int i = 0; i < n; i++) {
            const char *key = natsMsg_GetSubject(batch[i]); /* bench.base.rep.<gen>.<seq> */
            const char *data = natsMsg_GetData(batch[i]);
            int len = natsMsg_GetDataLength(batch[i]);
            /* The body starts {"responder":"rNN": the field name is the replier. */
            redisAppendCommand(B.redis, "HSET %s %b %b", key, data + 14, (size_t)3, data,
                               (size_t)len);
        }
        for (int i = 0; i < n; i++) {
            redisReply *r = NULL;
            H_CHECK(redisGetReply(B.redis, (void **)&r) == REDIS_OK && r &&
                        r->type != REDIS_REPLY_ERROR,
                    "baseline HSET: %s", r ? r->str : B.redis->errstr);
            freeReplyObject(r);
        }
        int64_t now = bench_now_ns();
        pthread_rwlock_rdlock(&target.lock);
        for (int i = 0; i < n; i++) {
            unsigned gen = 0, seq = 0;
            if (target.run &&
                sscanf(natsMsg_GetSubject(batch[i]), REPLY_PREFIX ".%u.%u", &gen, &seq) == 2 &&
                gen == target.gen && seq < B.counts_cap && ++B.counts[seq] == B.k)
                bench_done(target.run, seq, now, B.k);
            natsMsg_Destroy(batch[i]);
        }
        pthread_rwlock_unlock(&target.lock);
    }
    return NULL;
}

static void submit(void *ctx, struct bench_run *run, uint32_t seq)
{
    (void)ctx;
    char reply[64];
    snprintf(reply, sizeof(reply), REPLY_PREFIX ".%u.%u", target.gen, seq);
    if (natsConnection_PublishRequest(B.pub_nc, REQ_SUBJECT, reply, B.request,
                                      (int)strlen(B.request)) != NATS_OK)
        bench_failed(run, seq);
}

static const struct bench_driver driver = {"baseline", NULL, submit, attach};

const struct bench_driver *bench_baseline(void)
{
    return &driver;
}

void bench_baseline_start(int repliers)
{
    H_CHECK(repliers >= 1 && repliers <= REPLIERS_MAX, "1..%d repliers", REPLIERS_MAX);
    B.k = repliers;
    /* About the size of the engine's RFQ and quote messages. */
    snprintf(B.request, sizeof(B.request),
             "{\"rfq_id\":\"00000000-0000-4000-8000-000000000000\",\"tenant\":\"bench\","
             "\"region\":\"bench\",\"pickup\":{\"lat\":52.52,\"lon\":13.405},\"dropoff\":"
             "{\"lat\":52.5076,\"lon\":13.3904},\"passengers\":2,\"max_quotes\":%d,"
             "\"timeout_ms\":5000,\"created_ms\":1795360275744,\"deadline_ms\":1795360280744}",
             repliers);
    H_CHECK(rfq_nats_connect(&B.pub_nc, h_nats_url(), "baseline-publisher", false, 5000) == RFQ_OK,
            "baseline publisher");
    for (int i = 0; i < repliers; i++) {
        snprintf(B.rep_body[i], sizeof(B.rep_body[i]),
                 "{\"responder\":\"r%02d\",\"rfq_id\":\"00000000-0000-4000-8000-000000000000\","
                 "\"price\":{\"amount_minor\":1234,\"currency\":\"EUR\"},\"eta_s\":240,"
                 "\"vehicle\":\"unicorn\",\"perks\":[\"rainbow\"],\"sent_ms\":1795360275744}",
                 i % 100);
        H_CHECK(rfq_nats_connect(&B.rep_nc[i], h_nats_url(), "baseline-replier", false, 5000) ==
                    RFQ_OK,
                "baseline replier");
        H_CHECK(natsConnection_Subscribe(&B.rep_sub[i], B.rep_nc[i], REQ_SUBJECT, on_request,
                                         B.rep_body[i]) == NATS_OK,
                "baseline replier subscribe");
        natsSubscription_SetPendingLimits(B.rep_sub[i], -1, -1);
        H_CHECK(natsConnection_FlushTimeout(B.rep_nc[i], 5000) == NATS_OK, "flush");
    }
    H_CHECK(rfq_nats_connect(&B.gather_nc, h_nats_url(), "baseline-gatherer", false, 5000) ==
                RFQ_OK,
            "baseline gatherer");
    H_CHECK(natsConnection_SubscribeSync(&B.gather_sub, B.gather_nc, REPLY_PREFIX ".>") == NATS_OK,
            "baseline gatherer subscribe");
    natsSubscription_SetPendingLimits(B.gather_sub, -1, -1);
    H_CHECK(natsConnection_FlushTimeout(B.gather_nc, 5000) == NATS_OK, "flush");

    char host[256], user[128], pass[256];
    int port = 0;
    H_CHECK(rfq_parse_redis_url_auth(h_redis_url(), host, sizeof(host), &port, user, sizeof(user),
                                     pass, sizeof(pass)) == RFQ_OK,
            "redis url");
    struct rfq_redis_target t = {host, port, user, pass};
    H_CHECK(rfq_redis_open(&B.redis, &t, 5000, 5000, false, NULL) == RFQ_OK, "baseline redis");
    H_CHECK(pthread_create(&B.gatherer, NULL, gatherer_main, NULL) == 0, "gatherer thread");
}

void bench_baseline_stop(void)
{
    B.stopping = true;
    pthread_join(B.gatherer, NULL);
    for (int i = 0; i < B.k; i++) {
        natsSubscription_Destroy(B.rep_sub[i]);
        natsConnection_Destroy(B.rep_nc[i]);
    }
    natsSubscription_Destroy(B.gather_sub);
    natsConnection_Destroy(B.gather_nc);
    natsConnection_Destroy(B.pub_nc);
    redisFree(B.redis);
    free(B.counts);
    B.counts = NULL;
}
