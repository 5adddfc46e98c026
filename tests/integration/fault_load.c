/* fault_load: the fault scenarios' load (submitter, test-hosted responders) and accounting. */
#include "fault_load.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_nats.h"
#include "rsp_agent.h"

#define FL_TABLE (1 << 16) /* RFQs one scenario can track (a power of two) */
#define FL_RESP_MAX 8      /* responders per RFQ: the good ones, then twice, then late */
#define FL_TWICE 6
#define FL_LATE 7
#define FL_LATE_AFTER_MS 300
#define FL_OUTAGES 64
#define FL_REGION "eu-west"
#define FL_TENANT "fault-co"
#define FL_SCATTER_SLACK_MS 500 /* a scatter PONGed this long before a server crash may be lost */
#define FL_SWEEP_BOUND_MS 2000  /* an RFQ this long past its deadline must be closed */

static const char *const resp_names[FL_RESP_MAX] = {"fr-0", "fr-1", "fr-2",     "fr-3",
                                                    "fr-4", "fr-5", "fr-twice", "fr-late"};

/* What became of one responder's answer to one RFQ. */
struct fl_answer {
    uint8_t sent;     /* copies handed to the stream (bad responders only) */
    uint8_t acked;    /* copies the stream confirmed with a PubAck */
    uint8_t dup_acks; /* of which the stream already held the Nats-Msg-Id */
    uint8_t failed;   /* copies given up on: no PubAck by the deadline, or an error */
    int64_t ack_ms;   /* wall time of the first PubAck */
};

struct fl_rfq {
    char id[RFQ_ID_MAX + 1]; /* "" = free slot */
    int accepts;             /* 202s naming it (more than one would be a duplicate) */
    int64_t answer_ms;       /* when its 202 arrived */
    int64_t deadline_ms;
    int max_quotes;
    int64_t seen_ms; /* when the test's responders got its scatter; 0 = never */
    struct fl_answer ans[FL_RESP_MAX];
};

/* One POST of the submitter. */
struct fl_attempt {
    int64_t start_ms, end_ms;
    int status; /* HTTP status, 0 = no answer (transport error or timeout) */
};

struct fl_outage {
    char what[8];
    int64_t begin_ms, end_ms; /* end 0 while it lasts */
};

/* An answer of a bad responder, copied out of the agent's borrowed reply. */
struct fl_msg {
    struct fl_msg *next;
    int idx; /* responder index */
    char subject[RFQ_KEY_MAX];
    char tenant[RFQ_TENANT_MAX + 1];
    char rfq_id[RFQ_ID_MAX + 1];
    char msg_id[2 * RFQ_ID_MAX + 16];
    int64_t deadline_ms;
    char *body;
    size_t len;
};

static struct {
    struct fl_cfg cfg;
    pthread_mutex_t mu; /* guards table, attempts, outages */
    struct fl_rfq *table;
    int n_rfqs;
    struct fl_attempt *attempts;
    int n_attempts, cap_attempts;
    struct fl_outage outages[FL_OUTAGES];
    int n_outages;
    char *token;
    rsp_agent *good, *twice, *late;
    natsConnection *pub_nc; /* the bad responders' own publisher */
    jsCtx *pub_js;
    pthread_t submitter, late_thread;
    atomic_int submit_stop, late_stop;
    pthread_cond_t late_cv;   /* with mu */
    struct fl_msg *late_head; /* FIFO by deadline (all RFQs have the same timeout) */
    struct fl_msg **late_tail;
    int64_t t_start_ms;
} FL = {.mu = PTHREAD_MUTEX_INITIALIZER, .late_cv = PTHREAD_COND_INITIALIZER};

int fl_env_int(const char *name, int def)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    return v && *v && end && !*end && n > 0 && n < 1000000 ? (int)n : def;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t mix(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x7feb352du;
    h ^= h >> 15;
    h *= 0x846ca68bu;
    return h ^ (h >> 16);
}

/* The entry of id, added when new. mu held. */
static struct fl_rfq *rfq_get(const char *id)
{
    for (uint32_t i = fnv1a(id) & (FL_TABLE - 1);; i = (i + 1) & (FL_TABLE - 1)) {
        struct fl_rfq *r = &FL.table[i];
        if (strcmp(r->id, id) == 0)
            return r;
        if (!r->id[0]) {
            H_CHECK(FL.n_rfqs < FL_TABLE / 2, "more than %d RFQs to track", FL_TABLE / 2);
            snprintf(r->id, sizeof(r->id), "%s", id);
            FL.n_rfqs++;
            return r;
        }
    }
}

static int resp_index(const char *name)
{
    for (int i = 0; name && i < FL_RESP_MAX; i++)
        if (strcmp(name, resp_names[i]) == 0)
            return i;
    return -1;
}

/* Record one PubAck outcome of responder idx's answer to rfq_id. */
static void record_ack(const char *rfq_id, int idx, bool acked, bool dup)
{
    if (!rfq_id || idx < 0)
        return;
    int64_t now = h_now_ms();
    pthread_mutex_lock(&FL.mu);
    struct fl_answer *a = &rfq_get(rfq_id)->ans[idx];
    if (acked) {
        a->acked++;
        a->dup_acks += dup;
        if (!a->ack_ms)
            a->ack_ms = now;
    } else {
        a->failed++;
    }
    pthread_mutex_unlock(&FL.mu);
}

/* ---- responders ------------------------------------------------------------------------ */

/* The responders' pricing: deterministic per RFQ and responder, about 8 % no answer, 8 %
 * declines, the rest quotes after 0-39 ms; the bad responders always quote at once. */
static rsp_decision fl_quote(void *closure, const struct rfq_request *rfq, const char *responder_id,
                             struct rfq_quote *out, int *think_ms)
{
    (void)responder_id;
    int idx = (int)(intptr_t)closure;
    int64_t now = h_now_ms();
    pthread_mutex_lock(&FL.mu);
    struct fl_rfq *r = rfq_get(rfq->rfq_id);
    if (!r->seen_ms)
        r->seen_ms = now;
    if (!r->deadline_ms)
        r->deadline_ms = rfq->deadline_ms;
    pthread_mutex_unlock(&FL.mu);
    uint32_t h = mix(fnv1a(rfq->rfq_id) ^ ((uint32_t)idx * 2654435761u));
    out->amount_minor = 1000 + (int64_t)((h >> 12) % 500);
    out->eta_s = 60 + (int)((h >> 20) % 600);
    if (idx >= FL_GOOD_MAX)
        return RSP_QUOTE;
    int roll = (int)(h % 100);
    if (roll < 8)
        return RSP_NO_ANSWER;
    *think_ms = (int)((h >> 8) % 40);
    if (roll < 16) {
        snprintf(out->decline_reason, sizeof(out->decline_reason), "busy");
        return RSP_DECLINE;
    }
    return RSP_QUOTE;
}

/* PubAck outcome of a good responder's answer (the library's JetStream transport). */
static void fl_on_ack(void *closure, const char *tenant, const char *rfq_id,
                      const char *responder_id, bool acked, bool duplicate)
{
    (void)closure;
    (void)tenant;
    record_ack(rfq_id, resp_index(responder_id), acked, duplicate);
}

static struct fl_msg *msg_copy(const struct rsp_reply *r)
{
    struct fl_msg *m = calloc(1, sizeof(*m));
    H_CHECK(m != NULL, "out of memory");
    m->idx = resp_index(r->responder_id);
    snprintf(m->subject, sizeof(m->subject), "%s", r->subject);
    snprintf(m->tenant, sizeof(m->tenant), "%s", r->tenant);
    snprintf(m->rfq_id, sizeof(m->rfq_id), "%s", r->rfq_id);
    snprintf(m->msg_id, sizeof(m->msg_id), "%s", r->msg_id);
    m->deadline_ms = r->deadline_ms;
    m->body = malloc(r->body_len);
    H_CHECK(m->body != NULL, "out of memory");
    memcpy(m->body, r->body, r->body_len);
    m->len = r->body_len;
    return m;
}

static void msg_free(struct fl_msg *m)
{
    if (m) {
        free(m->body);
        free(m);
    }
}

/* JetStream-publish one copy of a bad responder's answer, with the headers the library sends,
 * and record its PubAck. */
static void publish_copy(const struct fl_msg *m, const char *msg_id)
{
    char deadline[24];
    snprintf(deadline, sizeof(deadline), "%lld", (long long)m->deadline_ms);
    natsMsg *nm = NULL;
    natsStatus s = natsMsg_Create(&nm, m->subject, NULL, m->body, (int)m->len);
    const char *hdrs[] = {RFQ_HDR_ID,
                          m->rfq_id,
                          RFQ_HDR_TENANT,
                          m->tenant,
                          RFQ_HDR_RESPONDER,
                          resp_names[m->idx],
                          "Nats-Msg-Id",
                          msg_id,
                          RFQ_HDR_DEADLINE,
                          deadline,
                          NULL};
    for (int i = 0; s == NATS_OK && hdrs[i]; i += 2)
        s = natsMsgHeader_Set(nm, hdrs[i], hdrs[i + 1]);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 2000;
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK)
        s = js_PublishMsg(&pa, FL.pub_js, nm, &po, &jerr);
    natsMsg_Destroy(nm);
    pthread_mutex_lock(&FL.mu);
    rfq_get(m->rfq_id)->ans[m->idx].sent++;
    pthread_mutex_unlock(&FL.mu);
    record_ack(m->rfq_id, m->idx, s == NATS_OK, s == NATS_OK && pa->Duplicate);
    jsPubAck_Destroy(pa);
}

/* fr-twice's transport: every answer goes out twice, the second copy under another
 * Nats-Msg-Id, so the stream keeps both and only the aggregator can drop one. */
static rfq_status send_twice(void *closure, const struct rsp_reply *reply)
{
    (void)closure;
    struct fl_msg *m = msg_copy(reply);
    char again[sizeof(m->msg_id) + 8];
    snprintf(again, sizeof(again), "%s.again", m->msg_id);
    publish_copy(m, m->msg_id);
    publish_copy(m, again);
    msg_free(m);
    return RFQ_OK;
}

/* fr-late's transport: queue the answer; the late thread sends it after the deadline. */
static rfq_status send_late(void *closure, const struct rsp_reply *reply)
{
    (void)closure;
    struct fl_msg *m = msg_copy(reply);
    pthread_mutex_lock(&FL.mu);
    *FL.late_tail = m;
    FL.late_tail = &m->next;
    pthread_cond_signal(&FL.late_cv);
    pthread_mutex_unlock(&FL.mu);
    return RFQ_OK;
}

static void *late_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&FL.mu);
    for (;;) {
        struct fl_msg *m = FL.late_head;
        if (!m && atomic_load(&FL.late_stop))
            break;
        if (!m || h_now_ms() < m->deadline_ms + FL_LATE_AFTER_MS) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10 * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&FL.late_cv, &FL.mu, &ts);
            continue;
        }
        FL.late_head = m->next;
        if (!FL.late_head)
            FL.late_tail = &FL.late_head;
        pthread_mutex_unlock(&FL.mu);
        publish_copy(m, m->msg_id);
        msg_free(m);
        pthread_mutex_lock(&FL.mu);
    }
    pthread_mutex_unlock(&FL.mu);
    return NULL;
}

static rsp_agent *agent_start(const char *name, int first, int n, rsp_send_fn send)
{
    struct rsp_agent_cfg ac;
    rsp_agent_cfg_init(&ac);
    ac.nats_url = h_nats_url_as("responder");
    ac.name = name;
    ac.send = send;
    if (!send)
        ac.on_ack = fl_on_ack;
    rsp_agent *a = NULL;
    H_CHECK(rsp_agent_create(&a, &ac, fl_quote) == RFQ_OK, "create responder agent %s", name);
    for (int i = first; i < first + n; i++)
        H_CHECK(rsp_agent_add_responder(a, resp_names[i], FL_REGION, (void *)(intptr_t)i) == RFQ_OK,
                "add responder %s", resp_names[i]);
    H_CHECK(rsp_agent_start(a) == RFQ_OK, "start responder agent %s", name);
    return a;
}

/* ---- submitter ------------------------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Record one POST answer; a 202 names its RFQ. */
static void record_attempt(int64_t start, int64_t end, long status, const struct h_buf *body)
{
    json_t *j = status == 202 && body->p ? json_loads(body->p, 0, NULL) : NULL;
    const char *id = h_jstr(j, "rfq_id");
    H_CHECK(status != 202 || (id && rfq_ident_valid(id)), "202 without an rfq_id: %.200s",
            body->p ? body->p : "");
    pthread_mutex_lock(&FL.mu);
    if (FL.n_attempts == FL.cap_attempts) {
        FL.cap_attempts = FL.cap_attempts ? FL.cap_attempts * 2 : 4096;
        FL.attempts = realloc(FL.attempts, (size_t)FL.cap_attempts * sizeof(*FL.attempts));
        H_CHECK(FL.attempts != NULL, "out of memory");
    }
    FL.attempts[FL.n_attempts++] = (struct fl_attempt){start, end, (int)status};
    if (id) {
        struct fl_rfq *r = rfq_get(id);
        r->accepts++;
        r->answer_ms = end;
        r->deadline_ms = h_jint(j, "deadline_ms", 0);
        r->max_quotes = (int)h_jint(j, "max_quotes", 0);
    }
    pthread_mutex_unlock(&FL.mu);
    json_decref(j);
}

/* POST at a fixed rate (catching up at most 200 ms when an answer was slow), recording every
 * answer, until submit_stop. Keeps one connection open. */
static void *submit_main(void *arg)
{
    (void)arg;
    char url[128], auth[4096];
    snprintf(url, sizeof(url), "%s/v1/rfqs", FL.cfg.req->http_base);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", FL.token);
    struct curl_slist *hl = curl_slist_append(NULL, auth);
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    char *bodies[2] = {h_submit_body(FL_REGION, 3, FL.cfg.timeout_ms),
                       h_submit_body(FL_REGION, FL_RESP_MAX + 1, FL.cfg.timeout_ms)};
    CURL *c = curl_easy_init();
    H_CHECK(c != NULL, "curl_easy_init");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_buf_write);
    int64_t period_us = 1000000 / FL.cfg.rate;
    int64_t next_us = mono_ms() * 1000;
    for (unsigned i = 0; !atomic_load(&FL.submit_stop); i++) {
        int64_t now_us = mono_ms() * 1000;
        if (now_us < next_us)
            h_sleep_ms((int)((next_us - now_us + 999) / 1000));
        next_us += period_us;
        if (mono_ms() * 1000 - next_us > 200000)
            next_us = mono_ms() * 1000;
        struct h_buf b = {0};
        const char *body = bodies[i % 2];
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        int64_t start = h_now_ms();
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        record_attempt(start, h_now_ms(), status, &b);
        free(b.p);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    free(bodies[0]);
    free(bodies[1]);
    return NULL;
}

void fl_start(const struct fl_cfg *cfg)
{
    FL.cfg = *cfg;
    FL.cfg.rate = fl_env_int("RFQ_IT_FAULT_RATE", cfg->rate);
    H_CHECK(FL.cfg.responders >= 1 && FL.cfg.responders <= FL_GOOD_MAX, "1..%d responders",
            FL_GOOD_MAX);
    FL.table = calloc(FL_TABLE, sizeof(*FL.table));
    H_CHECK(FL.table != NULL, "out of memory");
    FL.late_tail = &FL.late_head;
    rfq_log_set_level("error"); /* the test's responders: their warnings are counted below */
    h_tenant_register(FL_TENANT, "enterprise"); /* no quota: the load is the point */
    FL.token = h_token(FL_TENANT, "enterprise", 3600);
    FL.good = agent_start("fault-good", 0, FL.cfg.responders, NULL);
    if (FL.cfg.twice_responder || FL.cfg.late_responder) {
        H_CHECK(rfq_nats_connect_inbox(&FL.pub_nc, h_nats_url_as("responder"), "fault-bad", true,
                                       5000, RFQ_NATS_INBOX_RESPONDER) == RFQ_OK,
                "connect the bad responders' publisher");
        H_CHECK(natsConnection_JetStream(&FL.pub_js, FL.pub_nc, NULL) == NATS_OK, "JetStream");
    }
    if (FL.cfg.twice_responder)
        FL.twice = agent_start("fault-twice", FL_TWICE, 1, send_twice);
    if (FL.cfg.late_responder) {
        FL.late = agent_start("fault-late", FL_LATE, 1, send_late);
        H_CHECK(pthread_create(&FL.late_thread, NULL, late_main, NULL) == 0, "late thread");
    }
    FL.t_start_ms = h_now_ms();
    H_CHECK(pthread_create(&FL.submitter, NULL, submit_main, NULL) == 0, "submitter thread");
    h_log("load: %d RFQs/s (timeout %d ms, max_quotes 3 or %d), %d responders%s%s", FL.cfg.rate,
          FL.cfg.timeout_ms, FL_RESP_MAX + 1, FL.cfg.responders,
          FL.cfg.twice_responder ? " + fr-twice" : "", FL.cfg.late_responder ? " + fr-late" : "");
}

void fl_outage_begin(const char *what)
{
    pthread_mutex_lock(&FL.mu);
    H_CHECK(FL.n_outages < FL_OUTAGES, "too many outages");
    struct fl_outage *o = &FL.outages[FL.n_outages++];
    snprintf(o->what, sizeof(o->what), "%s", what);
    o->begin_ms = h_now_ms();
    o->end_ms = 0;
    pthread_mutex_unlock(&FL.mu);
}

void fl_outage_end(void)
{
    pthread_mutex_lock(&FL.mu);
    H_CHECK(FL.n_outages > 0 && !FL.outages[FL.n_outages - 1].end_ms, "no outage under way");
    FL.outages[FL.n_outages - 1].end_ms = h_now_ms();
    pthread_mutex_unlock(&FL.mu);
}

/* ---- drain ----------------------------------------------------------------------------- */

/* Every answer handed to the library's transport has its final PubAck outcome. */
static bool outcomes_complete(rsp_agent *a, struct rsp_agent_stats *s)
{
    rsp_agent_stats_get(a, s);
    return s->quotes + s->declines == s->acked + s->ack_errors;
}

static void drain(void)
{
    atomic_store(&FL.submit_stop, 1);
    pthread_join(FL.submitter, NULL);
    int64_t last_deadline = 0;
    pthread_mutex_lock(&FL.mu);
    for (int i = 0; i < FL_TABLE; i++)
        if (FL.table[i].id[0] && FL.table[i].deadline_ms > last_deadline)
            last_deadline = FL.table[i].deadline_ms;
    pthread_mutex_unlock(&FL.mu);
    h_log("submitter stopped; waiting for the last deadline (%lld ms away) and the drain",
          (long long)(last_deadline - h_now_ms()));
    while (h_now_ms() < last_deadline + FL_LATE_AFTER_MS + 200)
        h_sleep_ms(50);
    if (FL.late) {
        atomic_store(&FL.late_stop, 1);
        pthread_mutex_lock(&FL.mu);
        pthread_cond_signal(&FL.late_cv);
        pthread_mutex_unlock(&FL.mu);
        pthread_join(FL.late_thread, NULL);
    }
    struct rsp_agent_stats s;
    int64_t until = h_now_ms() + 15000;
    while (!outcomes_complete(FL.good, &s)) {
        H_CHECK(h_now_ms() < until,
                "answers without a PubAck outcome 15 s after the last deadline: %llu sent, "
                "%llu acked, %llu errors",
                (unsigned long long)(s.quotes + s.declines), (unsigned long long)s.acked,
                (unsigned long long)s.ack_errors);
        h_sleep_ms(50);
    }
    /* Quotes a killed aggregator held come back after the ack wait; twice in a row drained,
     * so a redelivery scheduled in between is not missed. */
    uint64_t pending = 0;
    int64_t ack_pending = 0;
    for (int round = 0; round < 2; round++) {
        H_CHECK(h_quotes_drained(30000, &pending, &ack_pending),
                "quote consumer not drained: %llu pending, %lld unacknowledged",
                (unsigned long long)pending, (long long)ack_pending);
        h_sleep_ms(600);
    }
    /* The sweepers close what is due within a few passes. */
    until = h_now_ms() + 5000;
    for (;;) {
        char cutoff[32];
        snprintf(cutoff, sizeof(cutoff), "%lld", (long long)(h_now_ms() - FL_SWEEP_BOUND_MS));
        redisReply *r = redisCommand(h_redis(), "ZRANGEBYSCORE %s -inf %s LIMIT 0 1",
                                     RFQ_SYS_DEADLINES, cutoff);
        H_CHECK(r && r->type == REDIS_REPLY_ARRAY, "ZRANGEBYSCORE deadlines");
        size_t n = r->elements;
        freeReplyObject(r);
        if (n == 0 || h_now_ms() > until)
            break;
        h_sleep_ms(100);
    }
}

/* ---- accounting ------------------------------------------------------------------------ */

static const char *field(const redisReply *hash, const char *name)
{
    for (size_t i = 0; hash && hash->type == REDIS_REPLY_ARRAY && i + 1 < hash->elements; i += 2)
        if (strcmp(hash->element[i]->str, name) == 0)
            return hash->element[i + 1]->str;
    return NULL;
}

static long field_int(const redisReply *hash, const char *name)
{
    const char *v = field(hash, name);
    return v ? strtol(v, NULL, 10) : 0;
}

/* Per RFQ: classify each acknowledged answer against what Redis holds, and count stored
 * answers that break the one-per-responder invariants. */
static void account_rfq(const struct fl_rfq *r, redisReply *h, redisReply *quotes, redisReply *rank,
                        struct fl_result *res, int *shown)
{
    const char *status = field(h, "status");
    const char *stored_id = field(h, "rfq_id");
    if (!status || !stored_id || strcmp(stored_id, r->id) != 0) {
        res->rfqs_lost++;
        if ((*shown)++ < 10)
            h_note("accepted RFQ %s is not in Redis (202 at %+lld ms)", r->id,
                   (long long)(r->answer_ms - FL.t_start_ms));
        for (int k = 0; k < FL_RESP_MAX; k++)
            if (r->ans[k].acked)
                res->acked++, res->lost++;
        return;
    }
    res->rfqs_stored++;
    bool completed = strcmp(status, "completed") == 0, expired = strcmp(status, "expired") == 0;
    if (!completed && !expired && h_now_ms() > r->deadline_ms + FL_SWEEP_BOUND_MS)
        res->open_past_deadline++;
    long closed_ms = field_int(h, "closed_ms");
    if (expired && closed_ms - r->deadline_ms > res->max_sweep_delay_ms)
        res->max_sweep_delay_ms = closed_ms - r->deadline_ms;

    long surplus = 0, late = 0;
    for (int k = 0; k < FL_RESP_MAX; k++) {
        const struct fl_answer *a = &r->ans[k];
        if (!a->acked)
            continue;
        res->acked++;
        res->resent += a->acked - 1;
        bool stored = field(quotes, resp_names[k]) != NULL;
        if (k == FL_TWICE) {
            res->twice_acked += a->acked;
            res->twice_stored += stored;
        } else if (k == FL_LATE) {
            res->late_acked += a->acked;
            res->late_stored += stored;
        }
        if (stored) {
            res->stored++;
        } else if (completed) {
            surplus++; /* reached an RFQ already completed: counted in closed_drops */
        } else if (expired && a->ack_ms > r->deadline_ms) {
            late++; /* stamped after the deadline: late, or closed once swept */
        } else {
            res->lost++;
            if ((*shown)++ < 10)
                h_note("acknowledged answer of %s to %s (%s, PubAck %+lld ms from the deadline) "
                       "is not stored",
                       resp_names[k], r->id, status, (long long)(a->ack_ms - r->deadline_ms));
        }
    }
    /* Each dropped answer was counted by add_quote.lua at least once (more after a
     * redelivery); fewer counts than drops mean some never reached it. */
    long drops = field_int(h, "closed_drops") + field_int(h, "late");
    long unproven = surplus + late - drops;
    if (unproven > 0) {
        res->lost += unproven;
        if ((*shown)++ < 10)
            h_note("RFQ %s (%s): %ld answers not stored but only %ld drops counted", r->id, status,
                   surplus + late, drops);
        long cut = unproven < surplus ? unproven : surplus;
        surplus -= cut;
        late -= unproven - cut;
    }
    res->surplus += surplus;
    res->late += late;

    /* Duplicates: one rank member per responder, count == ranked quotes, count + declines ==
     * stored answers. */
    long count = field_int(h, "count"), declines = field_int(h, "declines");
    res->dups_counted += field_int(h, "dups");
    long hlen = quotes && quotes->type == REDIS_REPLY_ARRAY ? (long)quotes->elements / 2 : 0;
    long zcard = rank && rank->type == REDIS_REPLY_ARRAY ? (long)rank->elements : 0;
    long distinct = 0;
    for (long i = 0; i < zcard; i++) {
        const char *who = rfq_rank_member_responder(rank->element[i]->str);
        bool seen = false;
        for (long j = 0; j < i && who && !seen; j++) {
            const char *other = rfq_rank_member_responder(rank->element[j]->str);
            seen = other && strcmp(other, who) == 0;
        }
        distinct += !seen;
    }
    long dup = (zcard - distinct) + labs(count - zcard) + labs(count + declines - hlen);
    if (dup && (*shown)++ < 10)
        h_note("RFQ %s: count %ld, declines %ld, %ld answers stored, %ld ranked (%ld distinct)",
               r->id, count, declines, hlen, zcard, distinct);
    res->duplicates += dup;
    if (r->accepts > 1)
        res->rfqs_dup += r->accepts - 1;
}

/* Stored RFQs of the tenant that no 202 named (e.g. a 503 whose clean-up failed). */
static long count_orphans(void)
{
    char idx[RFQ_KEY_MAX];
    rfq_key_index(idx, sizeof(idx), FL_TENANT);
    redisReply *r = redisCommand(h_redis(), "ZRANGE %s 0 -1", idx);
    H_CHECK(r && r->type == REDIS_REPLY_ARRAY, "ZRANGE %s", idx);
    long n = 0;
    pthread_mutex_lock(&FL.mu);
    for (size_t i = 0; i < r->elements; i++) {
        const struct fl_rfq *e = rfq_get(r->element[i]->str);
        if (e->accepts == 0) {
            n++;
            h_note("RFQ %s is stored but no 202 named it (%s)", e->id,
                   e->seen_ms ? "its scatter reached the responders" : "never scattered");
        }
    }
    pthread_mutex_unlock(&FL.mu);
    freeReplyObject(r);
    return n;
}

/* Members of the deadline set and of the tenant's open set whose deadline is more than
 * FL_SWEEP_BOUND_MS past: both must lose an RFQ when it closes. */
static long count_stale_index(void)
{
    char open[RFQ_KEY_MAX], cutoff[32];
    rfq_key_open(open, sizeof(open), FL_TENANT);
    snprintf(cutoff, sizeof(cutoff), "%lld", (long long)(h_now_ms() - FL_SWEEP_BOUND_MS));
    long n = 0;
    const char *keys[] = {RFQ_SYS_DEADLINES, open};
    for (int i = 0; i < 2; i++) {
        redisReply *r = redisCommand(h_redis(), "ZCOUNT %s -inf %s", keys[i], cutoff);
        H_CHECK(r && r->type == REDIS_REPLY_INTEGER, "ZCOUNT %s", keys[i]);
        n += r->integer;
        freeReplyObject(r);
    }
    return n;
}

/* Read every accepted RFQ's hash, answers and ranking, in pipelined chunks. */
static void account_all(struct fl_result *res)
{
    redisContext *c = h_redis();
    int shown = 0;
    enum { CHUNK = 200 };
    int idx[CHUNK];
    int i = 0;
    while (i < FL_TABLE) {
        int n = 0;
        for (; i < FL_TABLE && n < CHUNK; i++) {
            if (!FL.table[i].id[0] || FL.table[i].accepts == 0)
                continue;
            char k1[RFQ_KEY_MAX], k2[RFQ_KEY_MAX], k3[RFQ_KEY_MAX];
            const char *id = FL.table[i].id;
            rfq_key_rfq(k1, sizeof(k1), FL_TENANT, id);
            rfq_key_quotes(k2, sizeof(k2), FL_TENANT, id);
            rfq_key_rank(k3, sizeof(k3), FL_TENANT, id);
            redisAppendCommand(c, "HGETALL %s", k1);
            redisAppendCommand(c, "HGETALL %s", k2);
            redisAppendCommand(c, "ZRANGE %s 0 -1", k3);
            idx[n++] = i;
        }
        for (int k = 0; k < n; k++) {
            redisReply *rep[3];
            for (int j = 0; j < 3; j++)
                H_CHECK(redisGetReply(c, (void **)&rep[j]) == REDIS_OK && rep[j], "redis read: %s",
                        c->errstr);
            res->accepted++;
            account_rfq(&FL.table[idx[k]], rep[0], rep[1], rep[2], res, &shown);
            for (int j = 0; j < 3; j++)
                freeReplyObject(rep[j]);
        }
    }
}

/* Scatter: each accepted RFQ reached the test's responders, unless it was accepted just before
 * a nats-server crash (the server PONGed the scatter but died before passing it on). After the
 * restart the requester refuses submits until the responders had time to resubscribe, so a
 * miss after it is a failure. */
static void account_scatter(struct fl_result *res)
{
    int64_t back[FL_OUTAGES] = {0};
    for (int o = 0; o < FL.n_outages; o++) {
        back[o] = 0;
        for (int i = 0; i < FL_TABLE; i++) {
            int64_t s = FL.table[i].seen_ms;
            if (s > FL.outages[o].end_ms && (!back[o] || s < back[o]))
                back[o] = s;
        }
    }
    int shown = 0;
    for (int i = 0; i < FL_TABLE; i++) {
        const struct fl_rfq *r = &FL.table[i];
        if (r->id[0] && r->accepts == 0 && r->seen_ms)
            res->refused_seen++;
        if (!r->id[0] || r->accepts == 0 || r->seen_ms)
            continue;
        res->scatter_missed++;
        int o = 0;
        for (; o < FL.n_outages; o++)
            if (strcmp(FL.outages[o].what, "nats") == 0 &&
                r->answer_ms >= FL.outages[o].begin_ms - FL_SCATTER_SLACK_MS &&
                r->answer_ms <= FL.outages[o].end_ms)
                break;
        if (o < FL.n_outages) {
            if (shown++ < 5)
                h_log("scatter of %s missed the responders: 202 at %+lld ms from the crash, "
                      "responders back at %+lld ms (server restarted at %+lld ms)",
                      r->id, (long long)(r->answer_ms - FL.outages[o].begin_ms),
                      (long long)(back[o] - FL.outages[o].begin_ms),
                      (long long)(FL.outages[o].end_ms - FL.outages[o].begin_ms));
        } else {
            res->scatter_unexplained++;
            h_note("scatter of %s never reached the responders (202 at %+lld ms)", r->id,
                   (long long)(r->answer_ms - FL.t_start_ms));
        }
    }
}

/* Submits during outages: none may be accepted; the others are counted by status. */
static void account_submits(struct fl_result *res)
{
    long by_status[600] = {0};
    for (int i = 0; i < FL.n_attempts; i++) {
        const struct fl_attempt *a = &FL.attempts[i];
        res->submits++;
        by_status[a->status >= 0 && a->status < 600 ? a->status : 0]++;
        if (a->status == 0)
            res->unanswered++;
        else if (a->status != 202)
            res->refused++;
        for (int o = 0; o < FL.n_outages; o++) {
            /* The 50 ms: a 202 answered right after the crash was decided before it. */
            const struct fl_outage *ou = &FL.outages[o];
            if (a->start_ms > ou->begin_ms + 50 && a->end_ms < ou->end_ms) {
                res->outage_submits++;
                res->outage_503 += a->status == 503;
                res->outage_202 += a->status == 202;
            }
        }
    }
    char line[512] = "";
    for (int s = 0; s < 600; s++)
        if (by_status[s]) {
            size_t n = strlen(line);
            snprintf(line + n, sizeof(line) - n, " %d=%ld", s, by_status[s]);
        }
    h_log("%s submits:%s", FL.cfg.scenario, line);
    /* Recovery: how long after the server was started again the first submit was accepted. */
    for (int o = 0; o < FL.n_outages; o++) {
        const struct fl_outage *ou = &FL.outages[o];
        int64_t first = 0;
        long refused_after = 0, spanning = 0, spanning_202 = 0;
        for (int i = 0; i < FL.n_attempts; i++) {
            const struct fl_attempt *a = &FL.attempts[i];
            /* Under way when the server died and answered once it was back. */
            if (a->start_ms <= ou->begin_ms + 50 && a->end_ms >= ou->end_ms) {
                spanning++;
                spanning_202 += a->status == 202;
            }
            if (a->start_ms < ou->end_ms || first)
                continue;
            if (a->status == 202)
                first = a->end_ms;
            else
                refused_after++;
        }
        /* The requester answers a submit it cannot scatter at once; one held across the
         * outage would also keep the submitter from making any submit during it. */
        if (strcmp(ou->what, "nats") == 0)
            res->outage_held += spanning;
        h_log("%s outage %d (%s): down %lld ms; %ld submits under way at the crash answered after "
              "the restart (%ld with 202); after the restart %ld submits refused, first 202 at "
              "+%lld ms",
              FL.cfg.scenario, o + 1, ou->what, (long long)(ou->end_ms - ou->begin_ms), spanning,
              spanning_202, refused_after, (long long)(first ? first - ou->end_ms : -1));
    }
}

static void agent_report(const char *name, rsp_agent *a)
{
    if (!a)
        return;
    struct rsp_agent_stats s;
    rsp_agent_stats_get(a, &s);
    h_log("%s: received %llu, expired on arrival %llu, quotes %llu, declines %llu, no answer %llu, "
          "late %llu, send errors %llu, acked %llu (duplicates %llu), ack errors %llu, retries "
          "%llu",
          name, (unsigned long long)s.received, (unsigned long long)s.expired,
          (unsigned long long)s.quotes, (unsigned long long)s.declines,
          (unsigned long long)s.no_answer, (unsigned long long)s.late,
          (unsigned long long)s.send_errors, (unsigned long long)s.acked,
          (unsigned long long)s.duplicates, (unsigned long long)s.ack_errors,
          (unsigned long long)s.retries);
}

void fl_finish(struct fl_result *out)
{
    struct fl_result res;
    memset(&res, 0, sizeof(res));
    drain();
    agent_report("responders", FL.good);
    agent_report("fr-twice", FL.twice);
    agent_report("fr-late", FL.late);
    pthread_mutex_lock(&FL.mu);
    account_submits(&res);
    account_scatter(&res);
    pthread_mutex_unlock(&FL.mu);
    /* The callbacks are quiet now (every deadline passed), but the table stays guarded. */
    pthread_mutex_lock(&FL.mu);
    account_all(&res);
    pthread_mutex_unlock(&FL.mu);
    res.orphans = count_orphans();
    res.stale_index = count_stale_index();

    const char *sc = FL.cfg.scenario;
    printf("%s quotes: acked=%ld stored=%ld surplus=%ld late=%ld lost=%ld duplicates=%ld\n", sc,
           res.acked, res.stored, res.surplus, res.late, res.lost, res.duplicates);
    printf("%s rfqs: accepted=%ld stored=%ld lost=%ld duplicates=%ld open_past_deadline=%ld\n", sc,
           res.accepted, res.rfqs_stored, res.rfqs_lost, res.rfqs_dup, res.open_past_deadline);
    printf("%s detail: submits=%ld refused=%ld unanswered=%ld orphans=%ld resent_copies=%ld "
           "dups_counted=%ld scatter_missed=%ld (unexplained %ld) refused_seen=%ld "
           "max_sweep_delay_ms=%ld stale_index=%ld",
           sc, res.submits, res.refused, res.unanswered, res.orphans, res.resent, res.dups_counted,
           res.scatter_missed, res.scatter_unexplained, res.refused_seen, res.max_sweep_delay_ms,
           res.stale_index);
    if (FL.n_outages)
        printf(" outage_submits=%ld outage_503=%ld outage_202=%ld outage_held=%ld",
               res.outage_submits, res.outage_503, res.outage_202, res.outage_held);
    printf("\n");
    if (FL.twice || FL.late)
        printf("%s bad responders: fr-twice acked_copies=%ld stored=%ld, fr-late acked=%ld "
               "stored=%ld, dups_counted=%ld\n",
               sc, res.twice_acked, res.twice_stored, res.late_acked, res.late_stored,
               res.dups_counted);
    fflush(stdout);

    rsp_agent_destroy(FL.good);
    rsp_agent_destroy(FL.twice);
    rsp_agent_destroy(FL.late);
    FL.good = FL.twice = FL.late = NULL;
    jsCtx_Destroy(FL.pub_js);
    natsConnection_Destroy(FL.pub_nc);
    FL.pub_js = NULL;
    FL.pub_nc = NULL;

    H_CHECK(res.accepted > 0 && res.acked > 0, "the load produced nothing to count");
    H_CHECK(res.lost == 0, "%ld acknowledged answers lost", res.lost);
    H_CHECK(res.duplicates == 0, "%ld answers stored twice", res.duplicates);
    H_CHECK(res.rfqs_lost == 0, "%ld accepted RFQs lost", res.rfqs_lost);
    H_CHECK(res.rfqs_dup == 0, "%ld RFQ ids accepted twice", res.rfqs_dup);
    H_CHECK(res.open_past_deadline == 0, "%ld RFQs still open past their deadline",
            res.open_past_deadline);
    H_CHECK(res.stale_index == 0, "%ld deadline or open-set entries past their deadline",
            res.stale_index);
    H_CHECK(res.scatter_unexplained == 0, "%ld accepted RFQs never reached the responders",
            res.scatter_unexplained);
    H_CHECK(res.outage_202 == 0, "%ld submits accepted while a server was down", res.outage_202);
    H_CHECK(res.outage_held == 0,
            "%ld submits under way at a nats-server crash were answered only once it was back",
            res.outage_held);
    free(FL.token);
    free(FL.attempts);
    free(FL.table);
    FL.token = NULL;
    FL.attempts = NULL;
    FL.table = NULL;
    if (out)
        *out = res;
}
