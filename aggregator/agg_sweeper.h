/* agg_sweeper: closes RFQs whose deadline passed (status expired, partial result kept) and
 * publishes their expired events. Runs on its own thread with its own Redis connection;
 * every aggregator runs one, and sweep_expired.lua makes each close happen once overall. */
#ifndef AGG_SWEEPER_H
#define AGG_SWEEPER_H

#include <stdint.h>

#include <nats/nats.h>

#include "rfq_redis.h"
#include "rfq_status.h"

typedef struct agg_sweeper agg_sweeper;

struct agg_sweeper_cfg {
    const char *redis_host; /* borrowed for the sweeper's lifetime */
    int redis_port;
    int interval_ms;    /* pause between passes (RFQ_SWEEP_INTERVAL_MS) */
    int grace_ms;       /* an RFQ expires grace_ms after its deadline (RFQ_SWEEP_GRACE_MS) */
    natsConnection *nc; /* borrowed: events are published on it (thread-safe) */
    volatile int *stop; /* borrowed, may be NULL: the process's stop request; once non-zero no
                         * new pass or reconnect starts (agg_sweeper_stop still joins) */
};

/* Connect to Redis and start the thread. *out is new (agg_sweeper_stop). RFQ_EREDIS when
 * Redis is unreachable, RFQ_EIO when the thread cannot start. Later Redis failures are
 * handled inside (reconnect with backoff). */
rfq_status agg_sweeper_start(agg_sweeper **out, const struct agg_sweeper_cfg *cfg);

/* RFQs closed as expired so far (any thread may ask; 0 for NULL). */
uint64_t agg_sweeper_expired(agg_sweeper *s);

/* Stop the thread after its current pass, join it and free everything. NULL is a no-op. */
void agg_sweeper_stop(agg_sweeper *s);

/* One sweep pass on the caller's connection: expire every RFQ due at now_ms - grace_ms (in
 * rounds of 128), look up their best quotes, publish the expired events. *expired gets the
 * number this pass closed. RFQ_EREDIS when the connection failed (replace it). */
rfq_status agg_sweeper_pass(redisContext *c, natsConnection *nc, int64_t now_ms, int grace_ms,
                            int *expired);

#endif
