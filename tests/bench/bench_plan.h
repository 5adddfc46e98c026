/* bench_plan: what each mode runs: the stack, the matrix of loads per driver, the memory soak. */
#ifndef BENCH_PLAN_H
#define BENCH_PLAN_H

#include <stdbool.h>

enum bench_mode { BENCH_QUICK, BENCH_FULL, BENCH_SMOKE };

struct bench_opts {
    enum bench_mode mode;
    int unicorns;               /* K */
    double seconds;             /* per measured run (0 = the mode's default) */
    long soak_quotes;           /* full mode: quotes of the memory soak (0 = none) */
    int timeout_ms;             /* RFQ deadline */
    int http_clients;           /* HTTP connections of the submitting app */
    int aggregators;            /* aggregator processes of the engine */
    const char *engine_env[17]; /* --engine-env RFQ_NAME=value, NULL-terminated */
};

/* Run the mode; returns the process exit status (0 = ran; smoke: every RFQ completed). */
int bench_plan_run(const struct bench_opts *o);

#endif
