/* bench_baseline: publisher, repliers and gatherer of the bare scatter-gather, in two forms:
 * replies over core NATS ("baseline", what the targets compare with) and replies through a
 * JetStream work-queue stream ("baseline-js": the least a durable quote stream costs). */
#include "bench_baseline.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <nats/nats.h>

#include "harness.h"
#include "rfq_cfg.h"
#include "rfq_nats.h"
#include "rfq_pull.h"
#include "rfq_redis.h"

#define REPLIERS_MAX 64
#define PIPELINE_MAX 512
#define JS_STREAM "BENCH_BASE"

struct baseline {
    const char *name;
    bool durable;
    char req_subject[32];  /* bench.<name>.req */
    char reply_prefix[32]; /* bench.<name>.rep: + .<gen>.<seq> */
    struct bench_driver drv;
    /* which run the gatherer reports to */
    pthread_rwlock_t lock;
    struct bench_run *run;
    uint32_t gen;
    atomic_uint gen_now; /* gen, for the repliers' lock-free look */
    uint8_t *counts;     /* replies stored per RFQ of the current run (gatherer thread only) */
    uint32_t counts_cap;
    /* parts */
    int k;
    natsConnection *pub_nc;
    natsConnection *rep_nc[REPLIERS_MAX];
    jsCtx *rep_js[REPLIERS_MAX];
    natsSubscription *rep_sub[REPLIERS_MAX];
    char rep_body[REPLIERS_MAX][256];
    natsConnection *gather_nc;
    jsCtx *gather_js;
    natsSubscription *gather_sub; /* the plain form's */
    rfq_pull *gather_pull;        /* the durable form's */
    redisContext *redis;
    pthread_t gatherer;
    volatile bool stopping;
    char request[512];
};

static struct baseline plain = {.name = "baseline", .lock = PTHREAD_RWLOCK_INITIALIZER};
static struct baseline durable = {
    .name = "baseline-js", .durable = true, .lock = PTHREAD_RWLOCK_INITIALIZER};

static void attach(void *ctx, struct bench_run *run)
{
    struct baseline *b = ctx;
    pthread_rwlock_wrlock(&b->lock);
    b->run = run;
    b->gen++;
    atomic_store(&b->gen_now, b->gen);
    /* Replies of a run that is over still waiting in the stream are dropped, not fetched
     * during the next run. */
    if (b->durable && run)
        js_PurgeStream(b->gather_js, JS_STREAM, NULL, NULL);
    if (run) {
        free(b->counts);
        b->counts_cap = run->cap;
        b->counts = calloc(run->cap, 1);
        H_CHECK(b->counts != NULL, "out of memory");
    }
    pthread_rwlock_unlock(&b->lock);
}

/* Each replier's closure: its baseline and its index. */
struct replier {
    struct baseline *b;
    int i;
};
static struct replier repliers[2][REPLIERS_MAX];

/* A replier answers each request at once with a quote-sized body naming itself: over core
 * NATS, or published into the stream (PubAck awaited asynchronously, as a responder does). */
static void on_request_reply(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)sub;
    const struct replier *r = closure;
    const char *reply = natsMsg_GetReply(m);
    const char *body = r->b->rep_body[r->i];
    /* A request of a run that is over (still queued after an overload) is not answered. */
    unsigned gen = 0;
    char fmt[48];
    snprintf(fmt, sizeof(fmt), "%s.%%u.", r->b->reply_prefix);
    if (reply && (sscanf(reply, fmt, &gen) != 1 || gen != atomic_load(&r->b->gen_now)))
        reply = NULL;
    if (reply) {
        if (r->b->durable)
            js_PublishAsync(r->b->rep_js[r->i], reply, body, (int)strlen(body), NULL);
        else
            natsConnection_Publish(nc, reply, body, (int)strlen(body));
    }
    natsMsg_Destroy(m);
}

/* Store n replies with pipelined HSETs, then count them; the K-th completes its RFQ. */
static void store_and_count(struct baseline *b, natsMsg **batch, int n)
{
    for (int i = 0; i < n; i++) {
        const char *key = natsMsg_GetSubject(batch[i]); /* bench.<name>.rep.<gen>.<seq> */
        const char *data = natsMsg_GetData(batch[i]);
        int len = natsMsg_GetDataLength(batch[i]);
        /* The body starts {"responder":"rNN": the field name is the replier. */
        redisAppendCommand(b->redis, "HSET %s %b %b", key, data + 14, (size_t)3, data, (size_t)len);
    }
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        H_CHECK(redisGetReply(b->redis, (void **)&r) == REDIS_OK && r &&
                    r->type != REDIS_REPLY_ERROR,
                "%s HSET: %s", b->name, r ? r->str : b->redis->errstr);
        freeReplyObject(r);
    }
    if (b->durable) /* acknowledged once stored, as the aggregator does */
        for (int i = 0; i < n; i++)
            rfq_pull_ack(b->gather_nc, batch[i]);
    int64_t now = bench_now_ns();
    char fmt[48];
    snprintf(fmt, sizeof(fmt), "%s.%%u.%%u", b->reply_prefix);
    pthread_rwlock_rdlock(&b->lock);
    for (int i = 0; i < n; i++) {
        unsigned gen = 0, seq = 0;
        if (b->run && sscanf(natsMsg_GetSubject(batch[i]), fmt, &gen, &seq) == 2 && gen == b->gen &&
            seq < b->counts_cap && ++b->counts[seq] == b->k)
            bench_done(b->run, seq, now, b->k);
        natsMsg_Destroy(batch[i]);
    }
    pthread_rwlock_unlock(&b->lock);
}

/* The gatherer: takes what has arrived (up to PIPELINE_MAX replies) and stores it. */
static void *gatherer_main(void *arg)
{
    struct baseline *b = arg;
    natsMsg *batch[PIPELINE_MAX];
    while (!b->stopping) {
        int n = 0;
        if (b->durable) {
            if (rfq_pull_fetch(b->gather_pull, batch, PIPELINE_MAX, 100, &n) != NATS_OK) {
                n = 0;
                usleep(1000); /* a refused request (e.g. 409): do not spin on it */
            }
        } else {
            natsMsg *m = NULL;
            if (natsSubscription_NextMsg(&m, b->gather_sub, 100) != NATS_OK)
                continue;
            batch[n++] = m;
            while (n < PIPELINE_MAX && natsSubscription_NextMsg(&m, b->gather_sub, 0) == NATS_OK)
                batch[n++] = m;
        }
        if (n)
            store_and_count(b, batch, n);
    }
    return NULL;
}

static void submit(void *ctx, struct bench_run *run, uint32_t seq)
{
    struct baseline *b = ctx;
    char reply[64];
    snprintf(reply, sizeof(reply), "%s.%u.%u", b->reply_prefix, b->gen, seq);
    if (natsConnection_PublishRequest(b->pub_nc, b->req_subject, reply, b->request,
                                      (int)strlen(b->request)) != NATS_OK)
        bench_failed(run, seq);
}

const struct bench_driver *bench_baseline(void)
{
    return &plain.drv;
}

const struct bench_driver *bench_baseline_js(void)
{
    return &durable.drv;
}

/* The durable form's stream: file storage and work-queue retention, as RFQ_QUOTES. */
static void durable_stream(struct baseline *b)
{
    jsCtx *js = NULL;
    H_CHECK(natsConnection_JetStream(&js, b->gather_nc, NULL) == NATS_OK, "JetStream");
    char subj[48];
    snprintf(subj, sizeof(subj), "%s.>", b->reply_prefix);
    const char *subjects[] = {subj};
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = JS_STREAM;
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Retention = js_WorkQueuePolicy;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    H_CHECK(js_AddStream(&si, js, &sc, NULL, &jerr) == NATS_OK, "stream %s: %d", JS_STREAM,
            (int)jerr);
    jsStreamInfo_Destroy(si);
    b->gather_js = js;
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = "bench-gatherer";
    cc.AckPolicy = js_AckExplicit;
    cc.MaxAckPending = 100000;
    H_CHECK(js_AddConsumer(NULL, js, JS_STREAM, &cc, NULL, &jerr) == NATS_OK, "consumer: %d",
            (int)jerr);
    H_CHECK(rfq_pull_create(&b->gather_pull, b->gather_nc, JS_STREAM, "bench-gatherer") == NATS_OK,
            "pull reader");
}

static void start_one(struct baseline *b, int k, int which)
{
    b->k = k;
    snprintf(b->req_subject, sizeof(b->req_subject), "bench.%s.req",
             b->durable ? "basejs" : "base");
    snprintf(b->reply_prefix, sizeof(b->reply_prefix), "bench.%s.rep",
             b->durable ? "basejs" : "base");
    b->drv = (struct bench_driver){b->name, b, submit, attach};
    /* About the size of the engine's RFQ and quote messages. */
    snprintf(b->request, sizeof(b->request),
             "{\"rfq_id\":\"00000000-0000-4000-8000-000000000000\",\"tenant\":\"bench\","
             "\"region\":\"bench\",\"pickup\":{\"lat\":52.52,\"lon\":13.405},\"dropoff\":"
             "{\"lat\":52.5076,\"lon\":13.3904},\"passengers\":2,\"max_quotes\":%d,"
             "\"timeout_ms\":5000,\"created_ms\":1795360275744,\"deadline_ms\":1795360280744}",
             k);
    H_CHECK(rfq_nats_connect(&b->pub_nc, h_nats_url(), "baseline-publisher", true, 5000) == RFQ_OK,
            "%s publisher", b->name);
    H_CHECK(rfq_nats_connect(&b->gather_nc, h_nats_url(), "baseline-gatherer", false, 5000) ==
                RFQ_OK,
            "%s gatherer", b->name);
    if (b->durable) {
        durable_stream(b);
    } else {
        char subj[48];
        snprintf(subj, sizeof(subj), "%s.>", b->reply_prefix);
        H_CHECK(natsConnection_SubscribeSync(&b->gather_sub, b->gather_nc, subj) == NATS_OK,
                "%s gatherer subscribe", b->name);
        natsSubscription_SetPendingLimits(b->gather_sub, -1, -1);
    }
    H_CHECK(natsConnection_FlushTimeout(b->gather_nc, 5000) == NATS_OK, "flush");
    for (int i = 0; i < k; i++) {
        snprintf(b->rep_body[i], sizeof(b->rep_body[i]),
                 "{\"responder\":\"r%02d\",\"rfq_id\":\"00000000-0000-4000-8000-000000000000\","
                 "\"price\":{\"amount_minor\":1234,\"currency\":\"EUR\"},\"eta_s\":240,"
                 "\"vehicle\":\"unicorn\",\"perks\":[\"rainbow\"],\"sent_ms\":1795360275744}",
                 i % 100);
        H_CHECK(rfq_nats_connect(&b->rep_nc[i], h_nats_url(), "baseline-replier", true, 5000) ==
                    RFQ_OK,
                "%s replier", b->name);
        if (b->durable) {
            jsOptions jo;
            jsOptions_Init(&jo);
            jo.PublishAsync.MaxPending = 4096;
            H_CHECK(natsConnection_JetStream(&b->rep_js[i], b->rep_nc[i], &jo) == NATS_OK,
                    "replier JetStream");
        }
        repliers[which][i] = (struct replier){b, i};
        H_CHECK(natsConnection_Subscribe(&b->rep_sub[i], b->rep_nc[i], b->req_subject,
                                         on_request_reply, &repliers[which][i]) == NATS_OK,
                "%s replier subscribe", b->name);
        natsSubscription_SetPendingLimits(b->rep_sub[i], -1, -1);
        H_CHECK(natsConnection_FlushTimeout(b->rep_nc[i], 5000) == NATS_OK, "flush");
    }
    char host[256], user[128], pass[256];
    int port = 0;
    H_CHECK(rfq_parse_redis_url_auth(h_redis_url(), host, sizeof(host), &port, user, sizeof(user),
                                     pass, sizeof(pass)) == RFQ_OK,
            "redis url");
    struct rfq_redis_target t = {host, port, user, pass};
    H_CHECK(rfq_redis_open(&b->redis, &t, 5000, 5000, false, NULL) == RFQ_OK, "%s redis", b->name);
    H_CHECK(pthread_create(&b->gatherer, NULL, gatherer_main, b) == 0, "gatherer thread");
}

void bench_baseline_start(int k)
{
    H_CHECK(k >= 1 && k <= REPLIERS_MAX, "1..%d repliers", REPLIERS_MAX);
    start_one(&plain, k, 0);
    start_one(&durable, k, 1);
}

static void stop_one(struct baseline *b)
{
    b->stopping = true;
    pthread_join(b->gatherer, NULL);
    for (int i = 0; i < b->k; i++) {
        natsSubscription_Destroy(b->rep_sub[i]);
        jsCtx_Destroy(b->rep_js[i]);
        natsConnection_Destroy(b->rep_nc[i]);
    }
    natsSubscription_Destroy(b->gather_sub);
    rfq_pull_destroy(b->gather_pull);
    jsCtx_Destroy(b->gather_js);
    natsConnection_Destroy(b->gather_nc);
    natsConnection_Destroy(b->pub_nc);
    redisFree(b->redis);
    free(b->counts);
    b->counts = NULL;
}

void bench_baseline_stop(void)
{
    stop_one(&plain);
    stop_one(&durable);
}
