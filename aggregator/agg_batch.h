/* agg_batch: one pulled batch of quote messages, start to finish: validate each, store the
 * valid ones with one Redis pipeline, dead-letter the refused ones, publish events, then
 * acknowledge. Nothing is acknowledged before Redis or the DLQ stream has confirmed it. */
#ifndef AGG_BATCH_H
#define AGG_BATCH_H

#include <stdint.h>

#include <nats/nats.h>

#include "agg_dlq.h"
#include "rfq_redis.h"
#include "rfq_status.h"

/* Ack wait of the shared consumer, ms: how soon quotes held by a crashed aggregator come back.
 * A batch holds its messages longer only after telling the server (in-progress acks every
 * AGG_TOUCH_MS), and a redelivery never counts towards dead-lettering, so it can be short. */
#define AGG_ACK_WAIT_MS 5000
/* A batch that has run this long since it was fetched (or last touched) sends in-progress acks
 * before its next step that may wait, ms. Fast batches never do. */
#define AGG_TOUCH_MS 1000
/* Failed attempts (Redis refused the quote with an error reply about the quote, not about its
 * own state) after which a message is dead-lettered with reason "store" instead of retried.
 * Counted by this process per stream sequence: the server's delivery count also counts the
 * redeliveries after a crash, a stop or an ack-wait expiry, which say nothing about the quote. */
#define AGG_POISON_DELIVERIES 5
/* Delay before a message we could not store is redelivered, ms. */
#define AGG_RETRY_DELAY_MS 1000
/* How long a batch waits for the DLQ stream's PubAcks, ms (less once stopping, see
 * agg_dlq_publish). Below AGG_ACK_WAIT_MS with room for the events and acks that follow. */
#define AGG_DLQ_WAIT_MS 3000

/* Where a batch goes. All borrowed. */
struct agg_batch_env {
    natsConnection *nc;  /* events, acks */
    agg_dlq *dlq;        /* dead letters (pipelined, confirmed by the stream) */
    redisContext *redis; /* NULL while Redis is unreachable: every valid quote is retried */
    volatile int *stop;  /* non-zero once a stop was requested: shortens the DLQ wait */
};

/* Upper bounds (seconds) of the time-to-complete histogram: creation to the max_quotes-th
 * quote stored. */
#define AGG_COMPLETION_BUCKETS 12
extern const double agg_completion_bounds_s[AGG_COMPLETION_BUCKETS];

/* Running totals (one consumer thread writes them). */
struct agg_batch_stats {
    uint64_t msgs;          /* messages processed */
    uint64_t answers;       /* answers in them (a batch message holds several) */
    uint64_t stored;        /* priced quotes stored (including the completing ones) */
    uint64_t completed;     /* RFQs this aggregator completed */
    uint64_t declined;      /* declines stored */
    uint64_t duplicates;    /* duplicates counted */
    uint64_t surplus;       /* on-time quotes for an RFQ already completed: counted, dropped */
    uint64_t dead_lettered; /* messages moved to RFQ_DLQ */
    uint64_t retried;       /* messages handed back for redelivery */
    uint64_t repaired;      /* completed events re-published after a redelivery */
    /* RFQs this aggregator completed, by time from creation (agg_completion_bounds_s; the
     * last one above every bound), and the sum of those times in ms */
    uint64_t completion_buckets[AGG_COMPLETION_BUCKETS + 1];
    uint64_t completion_ms_sum;
};

typedef struct agg_batch agg_batch;

/* Working memory for batches of up to cap messages. *out is new (agg_batch_destroy). */
rfq_status agg_batch_create(agg_batch **out, int cap);
void agg_batch_destroy(agg_batch *b);

/* Process msgs[0..n) (n <= cap; the messages stay the caller's). Every message ends acked,
 * dead-lettered then acked, or negatively acked with AGG_RETRY_DELAY_MS. Returns RFQ_EREDIS
 * when the Redis connection failed during the batch: the caller must replace env->redis
 * before the next batch. */
rfq_status agg_batch_process(agg_batch *b, const struct agg_batch_env *env, natsMsg **msgs, int n,
                             struct agg_batch_stats *stats);

#endif
