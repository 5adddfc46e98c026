/* bench_engine: starts the engine processes and submits RFQs to them as an app would. */
#define _GNU_SOURCE /* memmem */
#include "bench_engine.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <nats/nats.h>

#include "bench_idmap.h"
#include "harness.h"
#include "rfq_ids.h"
#include "rfq_nats.h"

#define TENANT "bench"
#define REGION "bench"
#define HTTP_RING 65536u /* queued HTTP submits (an open loop far beyond capacity) */

/* Which run the callbacks report to. gen changes with every run so that a late answer of an
 * earlier run is never taken for one of this run (sequence numbers restart at 0). */
static struct {
    pthread_rwlock_t lock;
    struct bench_run *run;
    uint32_t gen;
} target = {PTHREAD_RWLOCK_INITIALIZER, NULL, 0};

static struct {
    struct bench_engine_cfg cfg;
    char *token;
    char auth[4096];
    char *body;
    size_t body_len;
    natsConnection *submit_nc; /* user app: publishes submits, receives their replies */
    natsConnection *events_nc; /* user admin: the events a dashboard would watch */
    natsSubscription *reply_sub, *events_sub;
    struct h_proc *requester, *aggregator;
    /* HTTP: a queue of submits and a pool of connections that take from it */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint32_t ring[HTTP_RING], ring_gen[HTTP_RING];
    uint32_t head, tail;
    bool stopping;
    pthread_t *workers;
    int n_workers;
} E = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void attach(void *ctx, struct bench_run *run)
{
    (void)ctx;
    pthread_rwlock_wrlock(&target.lock);
    target.run = run;
    target.gen++;
    bench_idmap_reset();
    pthread_rwlock_unlock(&target.lock);
    /* HTTP submits still queued belong to a run that is over (an open loop beyond capacity
     * leaves thousands): sending them would load the engine during the next run. */
    pthread_mutex_lock(&E.mu);
    E.tail = E.head;
    pthread_mutex_unlock(&E.mu);
}

/* Report an outcome of the rendezvous (202 + event) to the current run. */
static void apply(const struct bench_id_event *ev)
{
    pthread_rwlock_rdlock(&target.lock);
    if (target.run) {
        if (ev->outcome == BENCH_ID_COMPLETED)
            bench_done(target.run, ev->seq, ev->at_ns, ev->quotes);
        else if (ev->outcome == BENCH_ID_EXPIRED)
            bench_expired(target.run, ev->seq);
    }
    pthread_rwlock_unlock(&target.lock);
}

/* A submit of run gen answered: status, and the body naming the rfq_id when 202. */
static void submit_answered(uint32_t gen, uint32_t seq, int status, const char *body, size_t len)
{
    pthread_rwlock_rdlock(&target.lock);
    bool current = target.run && gen == target.gen;
    struct bench_run *run = target.run;
    if (current && status != 202) {
        if (status > 0)
            bench_refused(run, seq, status);
        else
            bench_failed(run, seq);
    }
    pthread_rwlock_unlock(&target.lock);
    if (!current || status != 202)
        return;
    /* {"rfq_id":"<uuid>",...}: the first field of the 202 body. */
    char id[64] = "";
    const char *p = memmem(body, len, "\"rfq_id\":\"", 10);
    if (p) {
        p += 10;
        size_t n = 0;
        while (n < sizeof(id) - 1 && p + n < body + len && p[n] != '"')
            n++;
        memcpy(id, p, n);
        id[n] = '\0';
    }
    struct bench_id_event ev;
    if (!id[0]) {
        pthread_rwlock_rdlock(&target.lock);
        if (target.run && gen == target.gen)
            bench_failed(target.run, seq);
        pthread_rwlock_unlock(&target.lock);
    } else if (bench_idmap_accepted(id, seq, &ev)) {
        apply(&ev);
    }
}

/* rfq.v1.event.<tenant>.<rfq_id>: completed and expired end an RFQ; quote events are skipped
 * with one memmem (a dashboard would render them). */
static void on_event(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)nc, (void)sub, (void)closure;
    int64_t now = bench_now_ns();
    const char *data = natsMsg_GetData(m);
    size_t len = (size_t)natsMsg_GetDataLength(m);
    enum bench_idmap_outcome o = BENCH_ID_NONE;
    if (memmem(data, len, "\"type\":\"completed\"", 18))
        o = BENCH_ID_COMPLETED;
    else if (memmem(data, len, "\"type\":\"expired\"", 16))
        o = BENCH_ID_EXPIRED;
    const char *subject = natsMsg_GetSubject(m);
    const char *id = strrchr(subject, '.');
    if (o != BENCH_ID_NONE && id) {
        int quotes = 0;
        const char *c = memmem(data, len, "\"count\":", 8);
        if (c)
            quotes = (int)strtol(c + 8, NULL, 10); /* the engine's own event: a plain integer */
        struct bench_id_event ev;
        if (bench_idmap_outcome(id + 1, o, now, quotes, &ev))
            apply(&ev);
    }
    natsMsg_Destroy(m);
}

/* ---- NATS submit ------------------------------------------------------------------------ */

/* _INBOX_app.bench.<gen>.<seq>: the reply names its run and RFQ. */
static void on_reply(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)nc, (void)sub, (void)closure;
    const char *st = NULL, *subject = natsMsg_GetSubject(m);
    static const char prefix[] = "_INBOX_app.bench.";
    char *end = NULL;
    if (strncmp(subject, prefix, sizeof(prefix) - 1) == 0) {
        unsigned long gen = strtoul(subject + sizeof(prefix) - 1, &end, 10);
        unsigned long seq = *end == '.' ? strtoul(end + 1, NULL, 10) : 0;
        int status = 0;
        if (natsMsgHeader_Get(m, RFQ_HDR_STATUS, &st) == NATS_OK && st)
            status = (int)strtol(st, NULL, 10);
        submit_answered((uint32_t)gen, (uint32_t)seq, status, natsMsg_GetData(m),
                        (size_t)natsMsg_GetDataLength(m));
    }
    natsMsg_Destroy(m);
}

static void nats_submit(void *ctx, struct bench_run *run, uint32_t seq)
{
    (void)ctx;
    char reply[96];
    snprintf(reply, sizeof(reply), "_INBOX_app.bench.%u.%u", target.gen, seq);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, reply, E.body, (int)E.body_len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_AUTH, E.auth);
    if (s == NATS_OK)
        s = natsConnection_PublishMsg(E.submit_nc, m);
    natsMsg_Destroy(m);
    if (s != NATS_OK)
        bench_failed(run, seq);
}

/* ---- HTTP submit ------------------------------------------------------------------------ */

struct http_buf {
    char data[2048];
    size_t len;
};

static size_t on_http_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct http_buf *b = userdata;
    size_t n = size * nmemb, room = sizeof(b->data) - 1 - b->len;
    memcpy(b->data + b->len, ptr, n < room ? n : room);
    b->len += n < room ? n : room;
    return n;
}

/* One keep-alive connection: POST /v1/rfqs for each queued submit. */
static void *http_worker(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    char auth_hdr[4200];
    snprintf(auth_hdr, sizeof(auth_hdr), "Authorization: %s", E.auth);
    hdrs = curl_slist_append(hdrs, auth_hdr);
    hdrs = curl_slist_append(hdrs, "Expect:");
    char url[160];
    snprintf(url, sizeof(url), "%s/v1/rfqs", E.requester->http_base);
    struct http_buf buf;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, E.body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)E.body_len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_http_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    for (;;) {
        pthread_mutex_lock(&E.mu);
        while (E.head == E.tail && !E.stopping)
            pthread_cond_wait(&E.cv, &E.mu);
        if (E.stopping) {
            pthread_mutex_unlock(&E.mu);
            break;
        }
        uint32_t seq = E.ring[E.tail % HTTP_RING], gen = E.ring_gen[E.tail % HTTP_RING];
        E.tail++;
        pthread_mutex_unlock(&E.mu);
        buf.len = 0;
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        submit_answered(gen, seq, (int)status, buf.data, buf.len);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return NULL;
}

static void http_submit(void *ctx, struct bench_run *run, uint32_t seq)
{
    (void)ctx;
    pthread_mutex_lock(&E.mu);
    bool full = E.head - E.tail >= HTTP_RING;
    if (!full) {
        E.ring[E.head % HTTP_RING] = seq;
        E.ring_gen[E.head % HTTP_RING] = target.gen;
        E.head++;
        pthread_cond_signal(&E.cv);
    }
    pthread_mutex_unlock(&E.mu);
    if (full)
        bench_failed(run, seq);
}

/* ---- setup ------------------------------------------------------------------------------ */

static const struct bench_driver http_driver = {"engine-http", NULL, http_submit, attach};
static const struct bench_driver nats_driver = {"engine-nats", NULL, nats_submit, attach};

const struct bench_driver *bench_engine_http(void)
{
    return &http_driver;
}

const struct bench_driver *bench_engine_nats(void)
{
    return &nats_driver;
}

pid_t bench_engine_requester_pid(void)
{
    return E.requester ? E.requester->pid : 0;
}

pid_t bench_engine_aggregator_pid(void)
{
    return E.aggregator ? E.aggregator->pid : 0;
}

void bench_engine_start(const struct bench_engine_cfg *cfg, struct bench_procs *procs)
{
    E.cfg = *cfg;
    /* enterprise: no rate or open-RFQ quota, so the bench measures the engine, not a tier */
    h_tenant_register(TENANT, "enterprise");
    E.token = h_token(TENANT, "enterprise", 24 * 3600);
    snprintf(E.auth, sizeof(E.auth), "Bearer %s", E.token);
    E.body = h_submit_body(REGION, cfg->unicorns, cfg->timeout_ms);
    E.body_len = strlen(E.body);

    for (int i = 0; i < cfg->aggregators; i++) {
        struct h_proc *a = h_aggregator_start(cfg->extra_env);
        if (!E.aggregator)
            E.aggregator = a;
        char name[32];
        snprintf(name, sizeof(name), "aggregator%s%d", cfg->aggregators > 1 ? "-" : "", i + 1);
        bench_procs_add(procs, cfg->aggregators > 1 ? name : "aggregator", a->pid);
    }
    E.requester = h_requester_start(cfg->extra_env);
    bench_procs_add(procs, "requester", E.requester->pid);
    char fleet[32], regions[64];
    snprintf(fleet, sizeof(fleet), "RFQ_FLEET_SIZE=%d", cfg->unicorns);
    snprintf(regions, sizeof(regions), "RFQ_REGIONS=%s", REGION);
    const char *rsp_env[32] = {
        fleet,       regions, "RFQ_THINK_MS_MIN=0", "RFQ_THINK_MS_MAX=0", "RFQ_DECLINE_PCT=0",
        "RFQ_SEED=1"};
    for (int i = 0, n = 6; cfg->extra_env && cfg->extra_env[i] && n < 31; i++)
        rsp_env[n++] = cfg->extra_env[i];
    struct h_proc *rsp = h_responder_start(rsp_env);
    bench_procs_add(procs, "responder", rsp->pid);

    H_CHECK(rfq_nats_connect_inbox(&E.submit_nc, h_nats_url_as("app"), "bench-app", true, 5000,
                                   "_INBOX_app") == RFQ_OK,
            "connect as app");
    H_CHECK(rfq_nats_connect(&E.events_nc, h_nats_url(), "bench-dashboard", false, 5000) == RFQ_OK,
            "connect as admin");
    H_CHECK(natsConnection_Subscribe(&E.reply_sub, E.submit_nc, "_INBOX_app.bench.>", on_reply,
                                     NULL) == NATS_OK,
            "subscribe to submit replies");
    H_CHECK(natsConnection_Subscribe(&E.events_sub, E.events_nc, "rfq.v1.event." TENANT ".>",
                                     on_event, NULL) == NATS_OK,
            "subscribe to events");
    natsSubscription_SetPendingLimits(E.reply_sub, -1, -1);
    natsSubscription_SetPendingLimits(E.events_sub, -1, -1);
    H_CHECK(natsConnection_FlushTimeout(E.events_nc, 5000) == NATS_OK &&
                natsConnection_FlushTimeout(E.submit_nc, 5000) == NATS_OK,
            "flush subscriptions");

    E.n_workers = cfg->http_clients;
    E.workers = calloc((size_t)E.n_workers, sizeof(pthread_t));
    H_CHECK(E.workers != NULL, "out of memory");
    for (int i = 0; i < E.n_workers; i++)
        H_CHECK(pthread_create(&E.workers[i], NULL, http_worker, NULL) == 0, "http worker");
}

void bench_engine_stop(void)
{
    pthread_mutex_lock(&E.mu);
    E.stopping = true;
    pthread_cond_broadcast(&E.cv);
    pthread_mutex_unlock(&E.mu);
    for (int i = 0; i < E.n_workers; i++)
        pthread_join(E.workers[i], NULL);
    free(E.workers);
    E.workers = NULL;
    natsSubscription_Destroy(E.reply_sub);
    natsSubscription_Destroy(E.events_sub);
    natsConnection_Destroy(E.submit_nc);
    natsConnection_Destroy(E.events_nc);
    free(E.token);
    free(E.body);
}
