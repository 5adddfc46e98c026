/* rfq-bench: throughput and latency of the engine against the bare NATS + Redis scatter-gather,
 * on servers it starts itself on loopback. See docs/performance.md. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_baseline.h"
#include "bench_engine.h"
#include "bench_plan.h"
#include "bench_report.h"
#include "harness.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: rfq-bench [--quick | --full | --smoke] [options]\n"
               "  --quick          closed loop W=1 and W=100 on every path, open loop 500/s\n"
               "                   (default; about 2 minutes)\n"
               "  --full           also open loop 500/1000/2000 RFQs/s, the memory soak and a\n"
               "                   second aggregator (about 7 minutes)\n"
               "  --smoke          300 RFQs per path, no figures judged (CI)\n"
               "  --unicorns K     responders answering every RFQ (10)\n"
               "  --seconds S      length of each measured run (quick 8, full 15)\n"
               "  --soak-quotes N  quotes stored in the full mode's memory soak (1000000)\n"
               "  --timeout-ms MS  RFQ deadline (5000)\n"
               "  --http-clients N HTTP connections of the submitting app (64)\n"
               "  --aggregators N  aggregator processes (1)\n"
               "  --engine-env RFQ_NAME=VALUE  environment of every engine process (repeatable,\n"
               "                   e.g. RFQ_AGG_BATCH=256)\n"
               "The last line is: engine/baseline: throughput=<W=100 ratio> p99=<W=1 ratio>\n");
}

/* The number in s, whole (no trailing junk); false otherwise. */
static bool parse_num(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    struct bench_opts o = {BENCH_QUICK, 10, 0, 1000000, 5000, 64, 1, {NULL}};
    int n_env = 0;
    /* The numeric options, read as numbers first and range-checked below. */
    double unicorns = o.unicorns, seconds = o.seconds, soak = (double)o.soak_quotes,
           timeout = o.timeout_ms, clients = o.http_clients, aggregators = o.aggregators;
    const struct {
        int ch;
        double *v;
    } nums[] = {{'k', &unicorns}, {'S', &seconds}, {'Q', &soak},
                {'t', &timeout},  {'c', &clients}, {'a', &aggregators}};
    static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
                                             {"full", no_argument, NULL, 'f'},
                                             {"smoke", no_argument, NULL, 's'},
                                             {"unicorns", required_argument, NULL, 'k'},
                                             {"seconds", required_argument, NULL, 'S'},
                                             {"soak-quotes", required_argument, NULL, 'Q'},
                                             {"timeout-ms", required_argument, NULL, 't'},
                                             {"http-clients", required_argument, NULL, 'c'},
                                             {"aggregators", required_argument, NULL, 'a'},
                                             {"engine-env", required_argument, NULL, 'e'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        bool numeric = false;
        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
            if (ch == nums[i].ch) {
                numeric = true;
                if (!parse_num(optarg, nums[i].v)) {
                    usage(stderr);
                    return 2;
                }
            }
        if (numeric)
            continue;
        switch (ch) {
        case 'q':
            o.mode = BENCH_QUICK;
            break;
        case 'f':
            o.mode = BENCH_FULL;
            break;
        case 's':
            o.mode = BENCH_SMOKE;
            break;
        case 'e':
            if (n_env >= 16 || strncmp(optarg, "RFQ_", 4) != 0 || !strchr(optarg, '=')) {
                fprintf(stderr, "rfq-bench: --engine-env takes RFQ_NAME=value, at most 16\n");
                return 2;
            }
            o.engine_env[n_env++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || unicorns < 1 || unicorns > 64 || timeout < 100 || timeout > 600000 ||
        clients < 1 || clients > 512 || aggregators < 1 || aggregators > 8 || seconds < 0 ||
        seconds > 3600 || soak < 0 || soak > 1e9) {
        usage(stderr);
        return 2;
    }
    o.unicorns = (int)unicorns;
    o.seconds = seconds;
    o.soak_quotes = (long)soak;
    o.timeout_ms = (int)timeout;
    o.http_clients = (int)clients;
    o.aggregators = (int)aggregators;
    /* The harness's bound: a hung run becomes a failure with the processes' logs. */
    double per_run = o.seconds > 0 ? o.seconds : o.mode == BENCH_FULL ? 15 : 8;
    int bound_s = o.mode == BENCH_FULL    ? 900 + (int)(40 * per_run)
                  : o.mode == BENCH_QUICK ? 300 + (int)(20 * per_run)
                                          : 300;
    h_init("bench", bound_s);
    int rc = bench_plan_run(&o);
    bench_engine_stop();
    bench_baseline_stop();
    h_finish();
    if (o.mode != BENCH_SMOKE)
        bench_print_ratios("engine-nats");
    return rc;
}
