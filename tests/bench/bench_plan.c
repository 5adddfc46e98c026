/* bench_plan: the stack, the run matrix of each mode and the memory soak. */
#include "bench_plan.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench_baseline.h"
#include "bench_engine.h"
#include "bench_redis_stats.h"
#include "bench_report.h"
#include "harness.h"

/* The processes measured with each driver: the engine's, the servers and this client. */
static struct bench_procs engine_procs, baseline_procs;

static void stack_up(const struct bench_opts *o)
{
    h_nats_start();
    h_redis_start();
    struct bench_procs servers = {0};
    bench_procs_add(&servers, "nats-server", h_nats_pid());
    bench_procs_add(&servers, "redis-server", h_redis_pid());

    struct bench_engine_cfg ec = {o->unicorns, o->aggregators, o->timeout_ms, o->http_clients,
                                  o->engine_env};
    engine_procs = (struct bench_procs){0};
    bench_engine_start(&ec, &engine_procs);
    for (int i = 0; i < servers.n; i++)
        bench_procs_add(&engine_procs, servers.p[i].name, servers.p[i].pid);
    bench_procs_add(&engine_procs, "bench", getpid());

    bench_baseline_start(o->unicorns);
    baseline_procs = servers;
    bench_procs_add(&baseline_procs, "bench", getpid());
}

static bool is_baseline(const struct bench_driver *d)
{
    return d == bench_baseline() || d == bench_baseline_js();
}

static const struct bench_procs *procs_of(const struct bench_driver *d)
{
    return is_baseline(d) ? &baseline_procs : &engine_procs;
}

static int drain_ms(const struct bench_driver *d, const struct bench_opts *o)
{
    return is_baseline(d) ? 3000 : o->timeout_ms + 3000;
}

static const struct bench_row *closed(const struct bench_driver *d, const struct bench_opts *o,
                                      int window, double seconds, uint32_t max_rfqs, bool quiet)
{
    struct bench_spec s = {.window = window,
                           .seconds = seconds,
                           .max_rfqs = max_rfqs,
                           .drain_ms = drain_ms(d, o),
                           .quiet = quiet};
    return bench_measure(d, &s, procs_of(d));
}

static void open_rate(const struct bench_driver *d, const struct bench_opts *o, int rate,
                      double seconds)
{
    struct bench_spec s = {
        .open_loop = true, .rate = rate, .seconds = seconds, .drain_ms = drain_ms(d, o)};
    bench_measure(d, &s, procs_of(d));
}

static void print_machine(const struct bench_opts *o)
{
    struct utsname u;
    uname(&u);
    char model[256] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "model name", 10) == 0) {
                const char *p = strchr(line, ':');
                snprintf(model, sizeof(model), "%.200s", p ? p + 2 : line);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    printf("rfq-bench: %ld cpus (%s), %s %s; K=%d unicorns, RFQ timeout %d ms, %d HTTP "
           "connections; quote stream JetStream file storage, Redis appendonly everysec\n",
           sysconf(_SC_NPROCESSORS_ONLN), model, u.sysname, u.release, o->unicorns, o->timeout_ms,
           o->http_clients);
}

/* Memory soak (after the scaling runs: two aggregators): the engine at W=100 over NATS until
 * soak_quotes quotes are stored; requester and aggregator RSS sampled every second and
 * compared with the value after the first tenth. */
static void soak(const struct bench_opts *o)
{
    uint32_t rfqs = (uint32_t)(o->soak_quotes / o->unicorns);
    printf("\n== memory soak: %u RFQs x %d quotes over NATS at W=100\n", rfqs, o->unicorns);
    fflush(stdout);
    pid_t pids[2] = {bench_engine_requester_pid(), bench_engine_aggregator_pid()};
    const char *names[2] = {"requester", "aggregator"};
    /* Run in slices of a tenth, sampling between them. */
    double rss[11][2];
    for (int k = 0; k < 2; k++)
        rss[0][k] = bench_rss_mb(pids[k]);
    uint64_t done = 0, sent = 0;
    for (int slice = 1; slice <= 10; slice++) {
        struct bench_spec s = {.window = 100,
                               .seconds = 3600,
                               .max_rfqs = rfqs / 10,
                               .drain_ms = drain_ms(bench_engine_nats(), o),
                               .quiet = true};
        const struct bench_row *r = bench_measure(bench_engine_nats(), &s, &engine_procs);
        done += r->res.done;
        sent += r->res.sent;
        for (int k = 0; k < 2; k++)
            rss[slice][k] = bench_rss_mb(pids[k]);
        printf("soak %3d%%: %llu of %llu RFQs completed, %.0f rfq/s; rss_mib requester=%.1f "
               "aggregator=%.1f\n",
               slice * 10, (unsigned long long)done, (unsigned long long)sent, r->res.rfqs_per_s,
               rss[slice][0], rss[slice][1]);
        fflush(stdout);
    }
    for (int k = 0; k < 2; k++) {
        double ref = rss[1][k], lo = ref, hi = ref;
        for (int slice = 1; slice <= 10; slice++) {
            lo = rss[slice][k] < lo ? rss[slice][k] : lo;
            hi = rss[slice][k] > hi ? rss[slice][k] : hi;
        }
        double drift = ref > 0 ? (rss[10][k] - ref) / ref * 100.0 : 0;
        printf("soak %s rss: start %.1f MiB, after 10%% %.1f, end %.1f, range %.1f-%.1f: drift "
               "%+.1f%% (target within 10%%: %s)\n",
               names[k], rss[0][k], ref, rss[10][k], lo, hi, drift,
               drift <= 10 && drift >= -10 ? "met" : "missed");
    }
    fflush(stdout);
}

int bench_plan_run(const struct bench_opts *o)
{
    print_machine(o);
    stack_up(o);
    const struct bench_driver *drivers[] = {bench_baseline(), bench_baseline_js(),
                                            bench_engine_nats(), bench_engine_http()};
    enum { N_DRIVERS = sizeof(drivers) / sizeof(drivers[0]) };
    /* Warm-up: connections, script caches, the allocator. */
    for (int i = 0; i < N_DRIVERS; i++)
        closed(drivers[i], o, 10, 1.0, 0, true);

    if (o->mode == BENCH_SMOKE) {
        for (int i = 0; i < N_DRIVERS; i++)
            closed(drivers[i], o, 10, 60, 300, false);
        bool ok = bench_all_complete();
        printf("smoke: %s\n", ok ? "every RFQ completed" : "some RFQs did not complete");
        return ok ? 0 : 1;
    }
    double secs = o->seconds > 0 ? o->seconds : o->mode == BENCH_QUICK ? 8 : 15;
    /* Closed loop: the drivers take turns in rounds of a quarter each, so that the ratios
     * compare runs made under the same conditions. */
    printf("\n== closed loop, W=1 and W=100, %.0f s each (in 4 interleaved rounds)\n", secs);
    const struct bench_procs *procs[N_DRIVERS];
    for (int i = 0; i < N_DRIVERS; i++)
        procs[i] = procs_of(drivers[i]);
    int windows[] = {1, 100};
    for (int w = 0; w < 2; w++) {
        struct bench_spec s = {
            .window = windows[w], .seconds = secs, .drain_ms = o->timeout_ms + 3000};
        bench_measure_rounds(drivers, procs, N_DRIVERS, &s, 4);
    }
    if (o->mode == BENCH_FULL) {
        int rates[] = {500, 1000, 2000};
        printf("\n== open loop (latency from the scheduled send time), %.0f s each\n", secs);
        /* Not baseline-js: past its capacity (about 1,600/s here) the repliers' PubAck window
         * stalls and most of its RFQs never complete; it is the floor of the closed-loop
         * comparison only. */
        for (int r = 0; r < 3; r++)
            for (int i = 0; i < N_DRIVERS; i++)
                if (drivers[i] != bench_baseline_js())
                    open_rate(drivers[i], o, rates[r], secs);
        /* One aggregator, then two, back to back, before the soak fills Redis (whose
         * append-only file rewrites then take CPU that no process of ours shows). */
        printf("\n== scaling: a second aggregator process on the same two cores\n");
        printf("-- one aggregator\n");
        bench_redis_stats_reset();
        const struct bench_row *one = closed(bench_engine_nats(), o, 100, secs, 0, false);
        bench_redis_stats_print(one ? one->res.done : 0, 12);
        struct h_proc *a2 = h_aggregator_start(o->engine_env);
        bench_procs_add(&engine_procs, "aggregator-2", a2->pid);
        printf("-- two aggregators\n");
        closed(bench_engine_nats(), o, 100, secs, 0, false);
        if (o->soak_quotes > 0)
            soak(o);
    } else {
        printf("\n== open loop at 500 RFQs/s, %.0f s\n", secs);
        open_rate(bench_baseline(), o, 500, secs);
        open_rate(bench_engine_nats(), o, 500, secs);
    }
    return 0;
}
