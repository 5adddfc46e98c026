/* agg_cfg: environment and flags of rfq-aggregator, range-checked at start. */
#include "agg_cfg.h"

#include <string.h>

/* Integer setting within [lo, hi]; false (message printed) when out of range. */
static bool env_range(const char *name, int64_t def, int64_t lo, int64_t hi, int *out)
{
    int64_t v = rfq_env_int(name, def);
    if (v < lo || v > hi) {
        fprintf(stderr, "configuration error: %s=%lld is outside %lld..%lld\n", name, (long long)v,
                (long long)lo, (long long)hi);
        return false;
    }
    *out = (int)v;
    return true;
}

void agg_cfg_usage(FILE *out, const char *prog)
{
    fprintf(out,
            "usage: %s [--ready-file PATH] [--help]\n"
            "\n"
            "Gathers quotes from the JetStream stream RFQ_QUOTES (durable pull consumer\n"
            "\"rfq-aggregator\"), stores and ranks them in Redis, completes RFQs at max_quotes,\n"
            "expires them at their deadline, and publishes rfq.v1.event.<tenant>.<rfq_id>.\n"
            "Refused quotes go to the stream RFQ_DLQ with a reason.\n"
            "\n"
            "Environment:\n"
            "  RFQ_NATS_URL           NATS server (nats://127.0.0.1:4222)\n"
            "  RFQ_REDIS_URL          Redis server (redis://127.0.0.1:6379)\n"
            "  RFQ_READY_FILE         file written with the pid once serving (none)\n"
            "  RFQ_METRICS_ADDR       host:port serving GET /metrics (none)\n"
            "  RFQ_LOG_LEVEL          debug|info|warn|error (info)\n"
            "  RFQ_AGG_BATCH          quotes per fetch and Redis pipeline, 1..1024 (64)\n"
            "  RFQ_AGG_WORKERS        fetch loops, each with its own Redis connection, 1..16 (2)\n"
            "  RFQ_SWEEP_INTERVAL_MS  pause between deadline sweeps, ms (50)\n"
            "  RFQ_SWEEP_GRACE_MS     an RFQ expires this long after its deadline, ms (200)\n"
            "\n"
            "Flags:\n"
            "  --ready-file PATH      same as RFQ_READY_FILE\n"
            "  --help                 this text\n"
            "\n"
            "SIGTERM or SIGINT: finish the batch in hand, then exit 0.\n",
            prog);
}

rfq_status agg_cfg_load(struct agg_cfg *cfg, int argc, char **argv, bool *help)
{
    memset(cfg, 0, sizeof(*cfg));
    *help = false;
    if (rfq_common_cfg_load(&cfg->common) != RFQ_OK)
        return RFQ_EINVAL;
    if (!env_range("RFQ_AGG_BATCH", 64, 1, 1024, &cfg->batch) ||
        !env_range("RFQ_AGG_WORKERS", 2, 1, 16, &cfg->workers) ||
        !env_range("RFQ_SWEEP_INTERVAL_MS", 50, 1, 60000, &cfg->sweep_interval_ms) ||
        !env_range("RFQ_SWEEP_GRACE_MS", 200, 0, 600000, &cfg->sweep_grace_ms))
        return RFQ_EINVAL;
    cfg->startup_wait_ms = 15000;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
            return RFQ_OK;
        }
        const char *path = NULL;
        if (strcmp(a, "--ready-file") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(a, "--ready-file=", 13) == 0)
            path = a + 13;
        if (!path) {
            fprintf(stderr, "%s: unknown or incomplete option '%s' (see --help)\n", argv[0], a);
            return RFQ_EINVAL;
        }
        if (strlen(path) >= sizeof(cfg->common.ready_file)) {
            fprintf(stderr, "%s: --ready-file path too long\n", argv[0]);
            return RFQ_EINVAL;
        }
        memcpy(cfg->common.ready_file, path, strlen(path) + 1);
    }
    return RFQ_OK;
}
