/* test_fetch: rfq_pull against the nats.c 3.4.1 pull-fetch overflow (see rfq_pull.h). The
 * scenario sets up exactly what overruns the library's batch array: more than half a batch
 * already delivered to the consumer's inbox when a fetch starts, the rest of the batch
 * waiting on the server (so a request for it is filled and no status ends the read), and
 * another pull request for the same inbox whose deliveries arrive while the fetch reads on.
 * Every fetch must stay within its batch, and every message must arrive once. Then the
 * fetch's timing: an idle fetch waits (no busy polling), and a message published during the
 * wait is returned at once. RFQ_IT_RAW_FETCH=1 runs the first part with js_PullSubscribe and
 * natsSubscription_Fetch instead, to check whether a library still needs rfq_pull: nats.c
 * 3.4.1 then returns 100 messages for a batch of 64, written past the end of its array (not
 * seen by AddressSanitizer: the library is not instrumented). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_pull.h"
#include "scenarios.h"

#define FT_STREAM "FETCHT"
#define FT_CONSUMER "fetcht"
#define FT_BATCH 64
#define FT_FIRST 40 /* queued before the fetch: more than half a batch */
#define FT_TOTAL 100
#define FT_OTHER (FT_TOTAL - FT_BATCH) /* delivered to the other request */

static void publish_n(int from, int n)
{
    for (int i = from; i < from + n; i++) {
        char subj[32], body[32];
        snprintf(subj, sizeof(subj), "fetcht.%d", i);
        snprintf(body, sizeof(body), "m%d", i);
        jsErrCode jerr = 0;
        H_CHECK(js_Publish(NULL, h_js(), subj, body, (int)strlen(body), NULL, &jerr) == NATS_OK,
                "publish %s (js error %d)", subj, (int)jerr);
    }
}

/* A pull request sent by hand to inbox, as an earlier fetch can leave one open. */
static void pull_request(const char *inbox, int batch, int64_t expires_ms)
{
    char body[96];
    if (expires_ms > 0)
        snprintf(body, sizeof(body), "{\"batch\":%d,\"expires\":%lld}", batch,
                 (long long)expires_ms * 1000000);
    else
        snprintf(body, sizeof(body), "{\"batch\":%d}", batch);
    H_CHECK(natsConnection_PublishRequestString(
                h_nc(), "$JS.API.CONSUMER.MSG.NEXT." FT_STREAM "." FT_CONSUMER, inbox, body) ==
                NATS_OK,
            "pull request");
    natsConnection_Flush(h_nc());
}

static void *other_request_main(void *arg)
{
    h_sleep_ms(100); /* the fetch is reading by now */
    pull_request(arg, FT_OTHER, 5000);
    return NULL;
}

/* The consumer under test: rfq_pull, or (raw) the library's pull subscription. */
struct reader {
    bool raw;
    rfq_pull *pull;
    natsSubscription *sub;
};

static const char *reader_inbox(const struct reader *r)
{
    return r->raw ? natsSubscription_GetSubject(r->sub) : rfq_pull_inbox(r->pull);
}

static int reader_queued(const struct reader *r)
{
    int queued = 0;
    if (r->raw)
        natsSubscription_GetPending(r->sub, &queued, NULL);
    else
        rfq_pull_queued(r->pull, &queued);
    return queued;
}

/* One fetch into msgs (room for cap + 64 more, so that an overrun is seen, not suffered). */
static int reader_fetch(struct reader *r, natsMsg **msgs, int cap, int wait_ms)
{
    int n = 0;
    if (!r->raw)
        return rfq_pull_fetch(r->pull, msgs, cap, wait_ms, &n) == NATS_OK ? n : 0;
    natsMsgList list = {0};
    if (natsSubscription_Fetch(&list, r->sub, cap, wait_ms, NULL) == NATS_OK) {
        for (int i = 0; i < list.Count && i < cap + 64; i++) {
            msgs[n++] = list.Msgs[i];
            list.Msgs[i] = NULL;
        }
    }
    natsMsgList_Destroy(&list);
    return n;
}

static void reader_ack(const struct reader *r, natsMsg *m)
{
    if (r->raw)
        natsMsg_Ack(m, NULL);
    else
        rfq_pull_ack(h_nc(), m);
}

static void create_stream_and_consumer(void)
{
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = FT_STREAM;
    const char *subjects[] = {"fetcht.>"};
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_MemoryStorage;
    H_CHECK(js_AddStream(NULL, h_js(), &sc, NULL, NULL) == NATS_OK, "create stream");
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = FT_CONSUMER;
    cc.AckPolicy = js_AckExplicit;
    cc.MaxWaiting = 16;
    H_CHECK(js_AddConsumer(NULL, h_js(), FT_STREAM, &cc, NULL, NULL) == NATS_OK, "create consumer");
}

/* Every message once, no fetch beyond its batch. */
static void overflow_part(struct reader *r)
{
    publish_n(0, FT_TOTAL);
    pull_request(reader_inbox(r), FT_FIRST, 0);
    int64_t until = h_now_ms() + 5000;
    while (reader_queued(r) < FT_FIRST) {
        H_CHECK(h_now_ms() < until, "%d of %d messages delivered", reader_queued(r), FT_FIRST);
        h_sleep_ms(10);
    }
    h_log("%d messages delivered to the inbox, %d on the server; a pull request of %d follows "
          "while the first fetch reads",
          reader_queued(r), FT_TOTAL - reader_queued(r), FT_OTHER);
    pthread_t other;
    H_CHECK(pthread_create(&other, NULL, other_request_main, (void *)reader_inbox(r)) == 0,
            "request thread");
    bool seen[FT_TOTAL + 1] = {false};
    natsMsg *msgs[FT_BATCH + 64];
    int total = 0, fetches = 0, largest = 0;
    until = h_now_ms() + 10000;
    while (total < FT_TOTAL && h_now_ms() < until) {
        int n = reader_fetch(r, msgs, FT_BATCH, 500);
        fetches++;
        H_CHECK(n <= FT_BATCH, "a fetch of %d returned %d messages", FT_BATCH, n);
        largest = n > largest ? n : largest;
        for (int i = 0; i < n; i++) {
            jsMsgMetaData *meta = NULL;
            H_CHECK(natsMsg_GetMetaData(&meta, msgs[i]) == NATS_OK, "metadata");
            uint64_t seq = meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
            H_CHECK(seq >= 1 && seq <= FT_TOTAL, "stream sequence %llu", (unsigned long long)seq);
            H_CHECK(!seen[seq], "message %llu delivered twice", (unsigned long long)seq);
            seen[seq] = true;
            total++;
            reader_ack(r, msgs[i]);
            natsMsg_Destroy(msgs[i]);
        }
    }
    pthread_join(other, NULL);
    H_CHECK_INT(total, FT_TOTAL, "messages fetched");
    h_log("%d messages in %d fetches, at most %d per fetch (batch %d)", total, fetches, largest,
          FT_BATCH);
}

static void *publish_later_main(void *arg)
{
    (void)arg;
    h_sleep_ms(150);
    publish_n(FT_TOTAL, 1);
    return NULL;
}

/* An idle fetch waits for its whole wait; one whose message comes meanwhile returns with it. */
static void timing_part(struct reader *r)
{
    natsMsg *msgs[FT_BATCH];
    int64_t t0 = h_now_ms();
    int n = reader_fetch(r, msgs, FT_BATCH, 400);
    int64_t idle_ms = h_now_ms() - t0;
    H_CHECK_INT(n, 0, "messages of an idle fetch");
    H_CHECK(idle_ms >= 300, "an idle fetch of 400 ms returned after %lld ms (busy polling)",
            (long long)idle_ms);
    pthread_t later;
    H_CHECK(pthread_create(&later, NULL, publish_later_main, NULL) == 0, "publisher thread");
    t0 = h_now_ms();
    n = reader_fetch(r, msgs, FT_BATCH, 2000);
    int64_t got_ms = h_now_ms() - t0;
    pthread_join(later, NULL);
    H_CHECK_INT(n, 1, "messages of a fetch during which one was published");
    H_CHECK(got_ms < 1000, "a message published 150 ms into a 2 s fetch came back after %lld ms",
            (long long)got_ms);
    reader_ack(r, msgs[0]);
    natsMsg_Destroy(msgs[0]);
    h_log("idle fetch of 400 ms: %lld ms; a message published 150 ms into a fetch: back after "
          "%lld ms",
          (long long)idle_ms, (long long)got_ms);
}

void sc_fetch_overflow_guard(void)
{
    h_nats_start();
    create_stream_and_consumer();
    struct reader r = {.raw = getenv("RFQ_IT_RAW_FETCH") &&
                              strcmp(getenv("RFQ_IT_RAW_FETCH"), "1") == 0};
    if (r.raw) {
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = FT_STREAM;
        so.Consumer = FT_CONSUMER;
        H_CHECK(js_PullSubscribe(&r.sub, h_js(), "fetcht.>", FT_CONSUMER, NULL, &so, NULL) ==
                    NATS_OK,
                "pull subscribe");
    } else {
        H_CHECK(rfq_pull_create(&r.pull, h_nc(), FT_STREAM, FT_CONSUMER) == NATS_OK,
                "rfq_pull_create");
    }
    overflow_part(&r);
    timing_part(&r);
    rfq_pull_destroy(r.pull);
    natsSubscription_Destroy(r.sub);
}
