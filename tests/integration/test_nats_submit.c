/* test_nats_submit: submitting over NATS request/reply (rfq.v1.submit), answered like HTTP,
 * served once per request by a queue group of requesters. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "scenarios.h"

struct nats_answer {
    char status[16]; /* Rfq-Status header, "" when absent */
    json_t *json;    /* reply body parsed, or NULL */
    char raw[512];   /* reply body (truncated) for messages */
};

/* Request rfq.v1.submit with an optional Authorization value and the body. */
static void nats_submit(struct nats_answer *a, const char *authorization, const char *body,
                        size_t len)
{
    memset(a, 0, sizeof(*a));
    natsMsg *reply = h_nats_submit_request(authorization, body, len);
    const char *v = NULL;
    if (natsMsgHeader_Get(reply, RFQ_HDR_STATUS, &v) == NATS_OK && v)
        snprintf(a->status, sizeof(a->status), "%s", v);
    snprintf(a->raw, sizeof(a->raw), "%.*s", natsMsg_GetDataLength(reply), natsMsg_GetData(reply));
    a->json = json_loadb(natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply), 0, NULL);
    natsMsg_Destroy(reply);
}

static void expect_error(const struct nats_answer *a, const char *status, const char *code,
                         const char *what)
{
    H_CHECK_STR(a->status, status, what);
    json_t *err = json_object_get(a->json, "error");
    H_CHECK(json_is_object(err), "%s: reply has no error object: %s", what, a->raw);
    H_CHECK_STR(h_jstr(err, "code"), code, what);
    H_CHECK(h_jstr(err, "message") && *h_jstr(err, "message"), "%s: empty error message", what);
}

void sc_nats_submit(void)
{
    h_nats_start();
    h_redis_start();
    h_events_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    h_requester_start(NULL); /* a second member of the queue group */
    const char *fleet[] = {"RFQ_FLEET_SIZE=3",   "RFQ_REGIONS=eu-west", "RFQ_DECLINE_PCT=0",
                           "RFQ_THINK_MS_MIN=5", "RFQ_THINK_MS_MAX=40", NULL};
    h_responder_start(fleet);
    char *tok = h_token("acme", "enterprise", 3600);
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", tok);

    /* Accepted: 202, same body as HTTP, and the fleet's quotes complete it. */
    char *body = h_submit_body("eu-west", 3, 5000);
    struct nats_answer a;
    nats_submit(&a, auth, body, strlen(body));
    H_CHECK_STR(a.status, "202", "Rfq-Status of a valid NATS submit");
    H_CHECK(a.json != NULL, "NATS submit reply is not JSON: %s", a.raw);
    const char *id_s = h_jstr(a.json, "rfq_id");
    H_CHECK(id_s && rfq_ident_valid(id_s), "reply without a valid rfq_id: %s", a.raw);
    char id[RFQ_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", id_s);
    H_CHECK_STR(h_jstr(a.json, "status"), "open", "reply status");
    H_CHECK_INT(h_jint(a.json, "max_quotes", -1), 3, "reply max_quotes");
    char self[128];
    snprintf(self, sizeof(self), "/v1/rfqs/%s", id);
    H_CHECK_STR(h_jstr(json_object_get(a.json, "links"), "self"), self, "reply links.self");
    json_decref(a.json);

    json_t *st = h_wait_closed(req, tok, id, 10000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "status of the NATS-submitted RFQ");
    H_CHECK_INT(h_jint(st, "quote_count", -1), 3, "quote_count");
    H_CHECK_STR(h_jstr(st, "tenant"), "acme", "tenant from the token");
    json_decref(st);
    char path[160];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id);
    json_t *qa = h_get_json(req, tok, path);
    h_check_ranked(qa, id, 3);
    json_decref(qa);
    H_CHECK(h_events_wait(id, "completed", 1, 5000), "no completed event");

    /* Errors answer like HTTP, with Rfq-Status. */
    nats_submit(&a, NULL, body, strlen(body));
    expect_error(&a, "401", "unauthorized", "NATS submit without Authorization");
    json_decref(a.json);
    nats_submit(&a, "Bearer not.a.jwt", body, strlen(body));
    expect_error(&a, "401", "unauthorized", "NATS submit with a garbage token");
    json_decref(a.json);
    char *expired = h_token("acme", "enterprise", -120);
    char eauth[RFQ_JWT_MAX + 16];
    snprintf(eauth, sizeof(eauth), "Bearer %s", expired);
    nats_submit(&a, eauth, body, strlen(body));
    expect_error(&a, "401", "unauthorized", "NATS submit with an expired token");
    json_decref(a.json);
    free(expired);
    const char *bad = "{\"region\":";
    nats_submit(&a, auth, bad, strlen(bad));
    expect_error(&a, "400", "bad_request", "NATS submit with bad JSON");
    json_decref(a.json);
    const char *schema = "{\"region\":\"eu-west\",\"passengers\":1}";
    nats_submit(&a, auth, schema, strlen(schema));
    expect_error(&a, "400", "bad_request", "NATS submit failing the schema");
    json_decref(a.json);
    size_t big_n = 17 * 1024;
    char *big = malloc(big_n + 64);
    int off = snprintf(big, big_n + 64, "{\"region\":\"eu-west\",\"pad\":\"");
    memset(big + off, 'x', big_n);
    strcpy(big + off + big_n, "\"}");
    nats_submit(&a, auth, big, strlen(big));
    expect_error(&a, "413", "payload_too_large", "NATS submit over 16 KiB");
    json_decref(a.json);
    free(big);

    /* The queue group: each request is served by exactly one requester. */
    char idx[RFQ_KEY_MAX];
    rfq_key_index(idx, sizeof(idx), "acme");
    long long before = h_redis_int_cmd("ZCARD", idx);
    char *slow = h_submit_body("us-east", 5, 30000);
    for (int i = 0; i < 10; i++) {
        nats_submit(&a, auth, slow, strlen(slow));
        H_CHECK_STR(a.status, "202", "Rfq-Status of repeated submits");
        json_decref(a.json);
    }
    h_sleep_ms(300); /* a second (wrong) answerer would have stored its RFQ by now */
    long long after = h_redis_int_cmd("ZCARD", idx);
    H_CHECK_INT(after - before, 10, "RFQs stored for 10 NATS submits (queue group)");

    free(slow);
    free(body);
    free(tok);
}

struct backlog_count {
    pthread_mutex_t mu;
    int answered, accepted, refused_queue, other;
};

static void on_backlog_answer(natsConnection *nc, natsSubscription *sub, natsMsg *m, void *closure)
{
    (void)nc, (void)sub;
    struct backlog_count *c = closure;
    const char *st = NULL;
    natsMsgHeader_Get(m, RFQ_HDR_STATUS, &st);
    /* nats.c ends message data with a NUL */
    bool queue_full = st && strcmp(st, "503") == 0 &&
                      strstr(natsMsg_GetData(m), "too many submits waiting") != NULL;
    pthread_mutex_lock(&c->mu);
    c->answered++;
    if (st && strcmp(st, "202") == 0)
        c->accepted++;
    else if (queue_full)
        c->refused_queue++;
    else
        c->other++;
    pthread_mutex_unlock(&c->mu);
    natsMsg_Destroy(m);
}

/* Submits offered faster than the requester takes them do not pile up unanswered: with the
 * requester frozen, 3000 submits wait in its queue; once it runs again, those behind a long
 * queue are refused at once (503), every one is answered within seconds, and only the
 * accepted ones stored anything. */
void sc_nats_submit_backlog(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    char *body = h_submit_body("eu-west", 3, 30000);

    struct backlog_count c = {.mu = PTHREAD_MUTEX_INITIALIZER};
    natsSubscription *sub = NULL;
    H_CHECK(natsConnection_Subscribe(&sub, h_nc(), "_INBOX.backlog.>", on_backlog_answer, &c) ==
                NATS_OK,
            "subscribe to the answers");
    natsSubscription_SetPendingLimits(sub, -1, -1);

    enum { N = 3000 };
    h_proc_freeze(req);
    for (int i = 0; i < N; i++) {
        char reply[64];
        snprintf(reply, sizeof(reply), "_INBOX.backlog.%d", i);
        natsMsg *m = NULL;
        H_CHECK(natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, reply, body, (int)strlen(body)) == NATS_OK &&
                    natsMsgHeader_Set(m, RFQ_HDR_AUTH, auth) == NATS_OK &&
                    natsConnection_PublishMsg(h_nc(), m) == NATS_OK,
                "publish submit %d", i);
        natsMsg_Destroy(m);
    }
    H_CHECK(natsConnection_FlushTimeout(h_nc(), 5000) == NATS_OK, "flush the submits");
    int64_t t0 = h_now_ms();
    h_proc_signal(req, SIGCONT);
    for (;;) {
        pthread_mutex_lock(&c.mu);
        int answered = c.answered;
        pthread_mutex_unlock(&c.mu);
        if (answered == N)
            break;
        H_CHECK(h_now_ms() - t0 < 20000, "only %d of %d queued submits answered after 20 s",
                answered, N);
        h_sleep_ms(20);
    }
    int64_t took = h_now_ms() - t0;
    h_log("%d queued submits answered in %lld ms: %d accepted, %d refused as queued too long, "
          "%d other",
          N, (long long)took, c.accepted, c.refused_queue, c.other);
    H_CHECK_INT(c.other, 0, "answers other than 202 or the queue-full 503");
    H_CHECK(c.refused_queue >= N / 2, "only %d of %d queued submits refused at once",
            c.refused_queue, N);
    H_CHECK(c.accepted > 0, "no queued submit was accepted");
    char idx[RFQ_KEY_MAX];
    rfq_key_index(idx, sizeof(idx), "acme");
    H_CHECK_INT(h_redis_int_cmd("ZCARD", idx), c.accepted, "RFQs stored for the accepted submits");
    natsSubscription_Destroy(sub);
    free(body);
    free(tok);
}
