/* agg_consumer: the JetStream side of the aggregator. Owns the durable pull consumer
 * "rfq-aggregator" on RFQ_QUOTES (shared by every aggregator), fetches batches and hands
 * them to agg_batch; keeps going through NATS and Redis outages. */
#ifndef AGG_CONSUMER_H
#define AGG_CONSUMER_H

#include <nats/nats.h>

#include "agg_batch.h"
#include "rfq_status.h"

#define AGG_FETCH_WAIT_MS 500 /* a fetch returns at once when quotes are pending */
/* JetStream API wait of the consumer look-up made while running (the library's default is
 * 5 s): it is retried anyway, and a stop request may be waiting behind it. */
#define AGG_CHECK_WAIT_MS 1000

typedef struct agg_consumer agg_consumer;

struct agg_consumer_cfg {
    int batch;              /* messages per fetch (RFQ_AGG_BATCH) */
    const char *redis_host; /* borrowed for the consumer's lifetime */
    int redis_port;
    int redis_wait_ms;  /* how long create waits for Redis to come up */
    volatile int *stop; /* borrowed, not NULL: create stops waiting for Redis once non-zero */
};

/* Create or update the durable consumer, bind a pull subscription to it and connect to
 * Redis. nc and js are borrowed (js must stay valid until destroy). *out is new.
 * RFQ_ENATS / RFQ_EREDIS when a dependency is not there. */
rfq_status agg_consumer_create(agg_consumer **out, natsConnection *nc, jsCtx *js,
                               const struct agg_consumer_cfg *cfg);

/* Fetch and process batches until *stop becomes non-zero; the batch in hand is finished
 * first. Survives NATS and Redis failures (retries with backoff); nothing is asked of NATS
 * while it is not connected, so a stop request is noticed within ~50 ms then. Returns
 * RFQ_OK. */
rfq_status agg_consumer_run(agg_consumer *c, volatile int *stop);

/* Totals as of the last batch finished; any thread may ask. */
void agg_consumer_stats(agg_consumer *c, struct agg_batch_stats *out);

/* Free the subscription (the durable consumer itself stays on the server) and the Redis
 * connection. NULL is a no-op. */
void agg_consumer_destroy(agg_consumer *c);

#endif
