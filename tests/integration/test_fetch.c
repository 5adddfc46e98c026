/* test_fetch: rfq_fetch against the nats.c 3.4.1 pull-fetch overflow (see rfq_fetch.h). The
 * scenario sets up exactly what overruns the library's batch array: more than half a batch
 * already queued in the pull subscription when a fetch starts, the rest of the batch waiting
 * on the server (so the fetch's own request is filled and no status ends its read), and
 * another pull request for the subscription's inbox whose deliveries arrive while the fetch
 * reads on. Every fetch must stay within its batch, and every message must arrive once.
 * RFQ_IT_RAW_FETCH=1 calls natsSubscription_Fetch directly instead, to check whether a library
 * still needs the guard: nats.c 3.4.1 then returns 100 messages for a batch of 64, written
 * past the end of its array (not seen by AddressSanitizer: the library is not instrumented). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "rfq_fetch.h"
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

/* A pull request sent by hand to the subscription's inbox, as an earlier fetch leaves one. */
static void pull_request(natsSubscription *sub, int batch, int64_t expires_ms)
{
    char body[96];
    if (expires_ms > 0)
        snprintf(body, sizeof(body), "{\"batch\":%d,\"expires\":%lld}", batch,
                 (long long)expires_ms * 1000000);
    else
        snprintf(body, sizeof(body), "{\"batch\":%d}", batch);
    H_CHECK(natsConnection_PublishRequestString(
                h_nc(), "$JS.API.CONSUMER.MSG.NEXT." FT_STREAM "." FT_CONSUMER,
                natsSubscription_GetSubject(sub), body) == NATS_OK,
            "pull request");
    natsConnection_Flush(h_nc());
}

static void *other_request_main(void *arg)
{
    h_sleep_ms(100); /* the fetch is reading by now */
    pull_request(arg, FT_OTHER, 5000);
    return NULL;
}

void sc_fetch_overflow_guard(void)
{
    h_nats_start();
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    sc.Name = FT_STREAM;
    const char *subjects[] = {"fetcht.>"};
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_MemoryStorage;
    H_CHECK(js_AddStream(NULL, h_js(), &sc, NULL, NULL) == NATS_OK, "create stream");
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.MaxWaiting = 16;
    natsSubscription *sub = NULL;
    H_CHECK(js_PullSubscribe(&sub, h_js(), "fetcht.>", FT_CONSUMER, NULL, &so, NULL) == NATS_OK,
            "pull subscribe");

    publish_n(0, FT_TOTAL);
    pull_request(sub, FT_FIRST, 0);
    int queued = 0;
    int64_t until = h_now_ms() + 5000;
    while (natsSubscription_GetPending(sub, &queued, NULL) == NATS_OK && queued < FT_FIRST) {
        H_CHECK(h_now_ms() < until, "%d of %d messages queued", queued, FT_FIRST);
        h_sleep_ms(10);
    }
    h_log("%d messages queued in the subscription, %d on the server; a pull request of %d "
          "follows while the first fetch reads",
          queued, FT_TOTAL - queued, FT_OTHER);

    pthread_t later;
    H_CHECK(pthread_create(&later, NULL, other_request_main, sub) == 0, "request thread");
    bool raw = getenv("RFQ_IT_RAW_FETCH") && strcmp(getenv("RFQ_IT_RAW_FETCH"), "1") == 0;
    bool seen[FT_TOTAL + 1] = {false};
    int total = 0, fetches = 0, largest = 0;
    until = h_now_ms() + 10000;
    while (total < FT_TOTAL && h_now_ms() < until) {
        natsMsgList list = {0};
        natsStatus s = raw ? natsSubscription_Fetch(&list, sub, FT_BATCH, 500, NULL)
                           : rfq_fetch(&list, sub, FT_BATCH, 500, NULL);
        fetches++;
        if (s != NATS_OK) {
            natsMsgList_Destroy(&list);
            continue;
        }
        H_CHECK(list.Count <= FT_BATCH, "a fetch of %d returned %d messages", FT_BATCH, list.Count);
        largest = list.Count > largest ? list.Count : largest;
        for (int i = 0; i < list.Count; i++) {
            jsMsgMetaData *meta = NULL;
            H_CHECK(natsMsg_GetMetaData(&meta, list.Msgs[i]) == NATS_OK, "metadata");
            uint64_t seq = meta->Sequence.Stream;
            jsMsgMetaData_Destroy(meta);
            H_CHECK(seq >= 1 && seq <= FT_TOTAL, "stream sequence %llu", (unsigned long long)seq);
            H_CHECK(!seen[seq], "message %llu delivered twice", (unsigned long long)seq);
            seen[seq] = true;
            total++;
            natsMsg_Ack(list.Msgs[i], NULL);
        }
        natsMsgList_Destroy(&list);
    }
    pthread_join(later, NULL);
    H_CHECK_INT(total, FT_TOTAL, "messages fetched");
    h_log("%d messages in %d fetches, at most %d per fetch (batch %d)", total, fetches, largest,
          FT_BATCH);
    natsSubscription_Destroy(sub);
}
