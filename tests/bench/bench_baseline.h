/* bench_baseline: the bare scatter-gather on the same nats-server and redis-server, with no
 * engine: one publisher, K repliers (each its own connection) answering at once, and one
 * gatherer that stores every reply in Redis with pipelined HSETs. An RFQ is done when its K
 * replies are stored (Redis answered). What the engine adds on top of this is its cost. */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H

#include "bench_run.h"

/* Connect the repliers and the gatherers of both forms (user admin on NATS, user default on
 * Redis). */
void bench_baseline_start(int repliers);
/* Replies over core NATS: the reference of the engine/baseline ratios. */
const struct bench_driver *bench_baseline(void);
/* Replies through a JetStream work-queue stream (file storage), fetched in batches and
 * acknowledged after Redis stored them: the floor of a durable quote stream. */
const struct bench_driver *bench_baseline_js(void);
void bench_baseline_stop(void);

#endif
