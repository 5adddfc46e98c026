/* rfq_metrics: Prometheus text exposition, and the process families read from /proc. */
#include "rfq_metrics.h"

#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

void rfq_metrics_family(struct rfq_strbuf *o, const char *name, const char *type, const char *help)
{
    rfq_strbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with \, " and newline escaped as the format asks. */
static void out_label_value(struct rfq_strbuf *o, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            rfq_strbuf_put(o, "\\\\", 2);
        else if (*v == '"')
            rfq_strbuf_put(o, "\\\"", 2);
        else if (*v == '\n')
            rfq_strbuf_put(o, "\\n", 2);
        else
            rfq_strbuf_put(o, v, 1);
    }
}

void rfq_metrics_sample(struct rfq_strbuf *o, const char *name, const char *label,
                        const char *value, double v)
{
    rfq_strbuf_printf(o, "%s", name);
    if (label && value) {
        rfq_strbuf_printf(o, "{%s=\"", label);
        out_label_value(o, value);
        rfq_strbuf_printf(o, "\"}");
    }
    rfq_strbuf_printf(o, " %.17g\n", v);
}

void rfq_metrics_sample_labels(struct rfq_strbuf *o, const char *name, const char *labels, double v)
{
    rfq_strbuf_printf(o, "%s{%s} %.17g\n", name, labels, v);
}

void rfq_metrics_counter(struct rfq_strbuf *o, const char *name, const char *help, uint64_t v)
{
    rfq_metrics_family(o, name, "counter", help);
    rfq_strbuf_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

void rfq_metrics_gauge(struct rfq_strbuf *o, const char *name, const char *help, double v)
{
    rfq_metrics_family(o, name, "gauge", help);
    rfq_metrics_sample(o, name, NULL, NULL, v);
}

int rfq_metrics_bucket(const double *bounds, int n, double v)
{
    int i = 0;
    while (i < n && v > bounds[i])
        i++;
    return i;
}

void rfq_metrics_histogram(struct rfq_strbuf *o, const char *name, const char *help,
                           const double *bounds, int n, const uint64_t *counts, double sum)
{
    rfq_metrics_family(o, name, "histogram", help);
    unsigned long long cumulative = 0;
    for (int i = 0; i <= n; i++) {
        cumulative += counts[i];
        if (i < n)
            rfq_strbuf_printf(o, "%s_bucket{le=\"%.15g\"} %llu\n", name, bounds[i], cumulative);
        else
            rfq_strbuf_printf(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, cumulative);
    }
    rfq_strbuf_printf(o, "%s_sum %.17g\n%s_count %llu\n", name, sum, name, cumulative);
}

/* Fields of /proc/self/stat after the command (which may hold spaces and parentheses):
 * num_threads (field 20) and starttime in clock ticks since boot (field 22). */
static bool proc_stat_fields(long *threads, unsigned long long *start_ticks)
{
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p)
        return false;
    /* After ") " come fields 3.. : skip to 20 and 22. */
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ') {
            field++;
            if (field == 20)
                *threads = strtol(p + 1, NULL, 10);
            else if (field == 22)
                *start_ticks = strtoull(p + 1, NULL, 10);
        }
    return field == 22;
}

/* Boot time in seconds since the epoch (btime in /proc/stat); 0 when unknown. */
static long long boot_time_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char line[256];
    long long bt = 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtoll(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return bt;
}

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    long n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

void rfq_metrics_process(struct rfq_strbuf *o)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        rfq_metrics_family(o, "process_cpu_seconds_total", "counter",
                           "Total user and system CPU time spent in seconds.");
        rfq_metrics_sample(o, "process_cpu_seconds_total", NULL, NULL,
                           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    }
    long page = sysconf(_SC_PAGESIZE);
    char statm[128];
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        char *end = NULL;
        if (fgets(statm, sizeof(statm), f)) {
            unsigned long long vm_pages = strtoull(statm, &end, 10);
            unsigned long long rss_pages = strtoull(end, NULL, 10);
            rfq_metrics_gauge(o, "process_resident_memory_bytes", "Resident memory size in bytes.",
                              (double)rss_pages * (double)page);
            rfq_metrics_gauge(o, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                              (double)vm_pages * (double)page);
        }
        fclose(f);
    }
    long threads = 0;
    unsigned long long start_ticks = 0;
    long long bt = boot_time_s();
    long hz = sysconf(_SC_CLK_TCK);
    if (proc_stat_fields(&threads, &start_ticks)) {
        if (bt > 0 && hz > 0)
            rfq_metrics_gauge(o, "process_start_time_seconds",
                              "Start time of the process since unix epoch in seconds.",
                              (double)bt + (double)start_ticks / (double)hz);
        rfq_metrics_gauge(o, "process_threads", "Number of OS threads in the process.",
                          (double)threads);
    }
    long fds = open_fds();
    if (fds >= 0)
        rfq_metrics_gauge(o, "process_open_fds", "Number of open file descriptors.", (double)fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        rfq_metrics_gauge(o, "process_max_fds", "Maximum number of open file descriptors.",
                          (double)rl.rlim_cur);
    struct mallinfo2 mi = mallinfo2();
    rfq_metrics_gauge(o, "rfq_heap_in_use_bytes",
                      "Bytes malloc has handed out and not had back (a leak grows it).",
                      (double)(mi.uordblks + mi.hblkhd));
}
