/* bench_procstat: CPU seconds and peak memory of the processes under test, from /proc. */
#ifndef BENCH_PROCSTAT_H
#define BENCH_PROCSTAT_H

#include <stdbool.h>
#include <sys/types.h>

#define BENCH_PROCS_MAX 12

struct bench_proc {
    char name[32];
    pid_t pid;
    double cpu0_s;      /* user + system at the start of the measurement */
    double cpu_s;       /* used during the measurement */
    double peak_rss_mb; /* VmHWM during the measurement (reset at its start) */
};

struct bench_procs {
    struct bench_proc p[BENCH_PROCS_MAX];
    int n;
};

void bench_procs_add(struct bench_procs *ps, const char *name, pid_t pid);
/* Start a measurement: read CPU times and reset each peak RSS (clear_refs 5). */
void bench_procs_begin(struct bench_procs *ps);
/* End it: CPU used since begin, peak RSS since begin. */
void bench_procs_end(struct bench_procs *ps);
/* Current RSS of pid in MiB (VmRSS), 0 when unreadable. */
double bench_rss_mb(pid_t pid);

#endif
