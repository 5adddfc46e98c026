/* bench_engine: the real engine under load: requester, aggregator(s) and a responder fleet
 * started as in production (servers with authentication, the tenant registered), and the two
 * ways an app submits (HTTP POST /v1/rfqs and the NATS request on rfq.v1.submit). An RFQ is
 * done when its `completed` event arrives (every quote stored and ranked). */
#ifndef BENCH_ENGINE_H
#define BENCH_ENGINE_H

#include "bench_procstat.h"
#include "bench_run.h"

struct bench_engine_cfg {
    int unicorns;     /* K: responders in the fleet, each answering every RFQ at once */
    int aggregators;  /* aggregator processes (one durable consumer, shared) */
    int timeout_ms;   /* RFQ deadline */
    int http_clients; /* HTTP connections of the submitting app */
    /* NULL-terminated "NAME=value" for every engine process (tuning experiments), or NULL */
    const char *const *extra_env;
};

/* Start the engine on the running servers (h_nats_start, h_redis_start) and add its
 * processes to procs. */
void bench_engine_start(const struct bench_engine_cfg *cfg, struct bench_procs *procs);
const struct bench_driver *bench_engine_http(void);
const struct bench_driver *bench_engine_nats(void);
/* PIDs for the memory soak. */
pid_t bench_engine_requester_pid(void);
pid_t bench_engine_aggregator_pid(void);
/* Stop the client side (the processes are stopped by h_finish). */
void bench_engine_stop(void);

#endif
