/* bench_report: measuring one run with its processes' CPU and memory, printing it, and keeping
 * the figures for the ratio summary. */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include "bench_procstat.h"
#include "bench_run.h"

#define BENCH_ROWS_MAX 64

struct bench_row {
    char driver[24];
    char load[32]; /* "closed W=100", "open 500/s" */
    struct bench_spec spec;
    struct bench_result res;
    struct bench_procs procs;
};

/* Run spec on driver with procs measured; print and keep the row (unless spec->quiet).
 * Returns the kept row (or a scratch one for a quiet run). */
const struct bench_row *bench_measure(const struct bench_driver *d, const struct bench_spec *spec,
                                      const struct bench_procs *procs);
/* Measure n (at most 8) drivers on the same load in rounds: each round runs every driver for
 * spec->seconds / rounds (and spec->max_rfqs / rounds), one after the other, so that slow
 * drifts of the machine (steal time, other load) reach all of them alike; a driver's rounds
 * are merged into one row. procs[i] are driver i's processes. Returns the first driver's row
 * (valid until the next call when spec->quiet). */
const struct bench_row *bench_measure_rounds(const struct bench_driver *const *d,
                                             const struct bench_procs *const *procs, int n,
                                             const struct bench_spec *spec, int rounds);
/* The kept row of driver with load, or NULL. */
const struct bench_row *bench_find(const char *driver, const char *load);
/* Print the ratio table and, last, "engine/baseline: throughput=<r> p99=<r>" (W=100 throughput
 * of engine_driver over the baseline's; W=1 p99 of the engine over the baseline's). */
void bench_print_ratios(const char *headline_driver);
/* Every kept row completed all it sent (no refusal, failure, expiry or loss). */
bool bench_all_complete(void);

#endif
