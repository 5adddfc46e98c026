/* agg_stop_guard: bounds how long a stop request can wait on NATS. Blocking NATS calls
 * (JetStream API requests, fetches) do not watch the stop flag: while NATS is down they wait
 * their full timeout (5 s for the JetStream API). The guard is a thread that watches the flag
 * and, once it is set, closes the connection, which fails every blocked call at once: right
 * away when NATS is not connected (nothing could be delivered anyway), otherwise only if the
 * process is still not done after AGG_STOP_GRACE_MS (the batch in hand normally finishes and
 * its acks are flushed well before). */
#ifndef AGG_STOP_GUARD_H
#define AGG_STOP_GUARD_H

#include <nats/nats.h>

#include "rfq_status.h"

/* How long a connected shutdown may take before the guard closes the connection, ms. */
#define AGG_STOP_GRACE_MS 1000

typedef struct agg_stop_guard agg_stop_guard;

/* Start the guard thread on nc and stop (both borrowed until agg_stop_guard_end). *out is
 * new. RFQ_ENOMEM / RFQ_EIO when it cannot be started. */
rfq_status agg_stop_guard_start(agg_stop_guard **out, natsConnection *nc, volatile int *stop);

/* The shutdown is done with the connection's blocking calls: stop the thread, join it and
 * free the guard. Call before destroying nc. NULL is a no-op. */
void agg_stop_guard_end(agg_stop_guard *g);

#endif
