/* bench_procstat: /proc/<pid>/stat (utime, stime) and /proc/<pid>/status (VmHWM, VmRSS). */
#include "bench_procstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bench_procs_add(struct bench_procs *ps, const char *name, pid_t pid)
{
    if (ps->n >= BENCH_PROCS_MAX || pid <= 0)
        return;
    struct bench_proc *p = &ps->p[ps->n++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->pid = pid;
}

static double cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which is in parentheses and may hold spaces. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* NOLINTNEXTLINE(cert-err34-c): the kernel's own format; a miss reads as 0 CPU */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double status_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    double kb = 0;
    size_t len = strlen(field);
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kb = strtod(line + len + 1, NULL);
            break;
        }
    fclose(f);
    return kb;
}

double bench_rss_mb(pid_t pid)
{
    return status_kb(pid, "VmRSS") / 1024.0;
}

void bench_procs_begin(struct bench_procs *ps)
{
    for (int i = 0; i < ps->n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)ps->p[i].pid);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("5", f); /* resets the peak RSS (VmHWM) to the current RSS */
            fclose(f);
        }
        ps->p[i].cpu0_s = cpu_s(ps->p[i].pid);
    }
}

void bench_procs_end(struct bench_procs *ps)
{
    for (int i = 0; i < ps->n; i++) {
        ps->p[i].cpu_s = cpu_s(ps->p[i].pid) - ps->p[i].cpu0_s;
        ps->p[i].peak_rss_mb = status_kb(ps->p[i].pid, "VmHWM") / 1024.0;
    }
}
