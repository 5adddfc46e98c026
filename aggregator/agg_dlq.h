/* agg_dlq: dead-letters the refused quotes of a batch with pipelined JetStream publishes to
 * RFQ_DLQ: every entry is sent, then the PubAcks are awaited once, so N dead letters cost
 * one round trip instead of N. Each entry learns whether the stream stored it. */
#ifndef AGG_DLQ_H
#define AGG_DLQ_H

#include <stdbool.h>

#include <nats/nats.h>

#include "rfq_nats.h"
#include "rfq_status.h"

typedef struct agg_dlq agg_dlq;

/* One dead letter. dl, data borrowed for the duration of agg_dlq_publish. */
struct agg_dlq_entry {
    struct rfq_dead_letter dl;
    const void *data; /* the original payload */
    int len;
    bool stored;  /* out: the stream confirmed it */
    int state;    /* internal */
    natsMsg *msg; /* internal: identity of the in-flight message, never dereferenced */
};

/* A JetStream context of our own on nc (borrowed), whose error handler attributes failed
 * PubAcks to entries. *out is new (agg_dlq_destroy). */
rfq_status agg_dlq_create(agg_dlq **out, natsConnection *nc);
void agg_dlq_destroy(agg_dlq *d);

/* Once a stop is requested, the PubAcks are awaited at most this much longer, ms. */
#define AGG_DLQ_STOP_WAIT_MS 500

/* Publish e[0..n) and wait up to wait_ms for all PubAcks. Sets each entry's stored. Once
 * *stop (borrowed, may be NULL) is non-zero the wait ends within AGG_DLQ_STOP_WAIT_MS, and at
 * once while NATS is not connected; entries unconfirmed by then are not stored (the caller
 * retries them). Not thread-safe: one caller (the consumer thread) at a time. */
void agg_dlq_publish(agg_dlq *d, struct agg_dlq_entry *e, int n, int wait_ms, volatile int *stop);

#endif
