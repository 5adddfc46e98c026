/* rfq_kv_watch: the latest value of every key of a NATS KV bucket, then each change, read
 * from a push consumer this module creates, reads and replaces itself on a plain
 * subscription.
 *
 * Why not kvStore_WatchAll: its ordered consumer is re-created by nats.c on background threads
 * (at every reconnection and after missed heartbeats), and in nats.c 3.4.1 destroying a
 * watcher while that runs frees the consumer name under the destroyer's feet (a
 * use-after-free, reproduced under AddressSanitizer when a watcher is replaced right after a
 * nats-server restart). Here nothing runs in the background: a broken watch is reported and
 * its owner replaces it. */
#ifndef RFQ_KV_WATCH_H
#define RFQ_KV_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include "rfq_status.h"

typedef struct rfq_kv_watch rfq_kv_watch;

/* One delivered key. key == NULL: the marker that every key's initial value has been
 * delivered. Points into the watch: valid until the next rfq_kv_watch_next or destroy. */
struct rfq_kv_change {
    const char *key;
    const char *value; /* not NUL-terminated; NULL for a delete */
    int value_len;
    uint64_t revision; /* the bucket stream's sequence */
    bool deleted;      /* a delete or purge marker */
};

/* Watch every key of bucket over nc; consumer requests go through js (its wait bounds
 * them). */
natsStatus rfq_kv_watch_create(rfq_kv_watch **out, natsConnection *nc, jsCtx *js,
                               const char *bucket);

/* Next change within timeout_ms: NATS_OK (the change or the marker), NATS_TIMEOUT, or any
 * other status when the watch is broken (a gap in the consumer's sequence, heartbeats lost
 * while connected, a malformed delivery, the subscription failed): destroy and re-create it,
 * which replays every key's latest value. */
natsStatus rfq_kv_watch_next(rfq_kv_watch *w, struct rfq_kv_change *c, int timeout_ms);

/* Unsubscribe, and delete the consumer when connected (otherwise the server drops it after
 * its inactivity threshold). NULL is a no-op. */
void rfq_kv_watch_destroy(rfq_kv_watch *w);

#endif
