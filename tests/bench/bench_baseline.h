/* bench_baseline: the bare scatter-gather on the same nats-server and redis-server, with no
 * engine: one publisher, K repliers (each its own connection) answering at once, and one
 * gatherer that stores every reply in Redis with pipelined HSETs. An RFQ is done when its K
 * replies are stored (Redis answered). What the engine adds on top of this is its cost. */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H

#include "bench_run.h"

/* Connect the repliers and the gatherer (user admin on NATS, user default on Redis). */
void bench_baseline_start(int repliers);
const struct bench_driver *bench_baseline(void);
void bench_baseline_stop(void);

#endif
