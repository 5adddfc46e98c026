/* agg_cfg: rfq-aggregator settings from the environment and the command line. */
#ifndef AGG_CFG_H
#define AGG_CFG_H

#include <stdbool.h>
#include <stdio.h>

#include "rfq_cfg.h"
#include "rfq_status.h"

struct agg_cfg {
    struct rfq_common_cfg common; /* NATS and Redis URLs, ready file */
    int batch;                    /* RFQ_AGG_BATCH: messages per fetch, 1..1024 (64) */
    int workers;                  /* RFQ_AGG_WORKERS: fetch loops in this process, 1..16 (2) */
    int sweep_interval_ms;        /* RFQ_SWEEP_INTERVAL_MS: 1..60000 (50) */
    int sweep_grace_ms;           /* RFQ_SWEEP_GRACE_MS: 0..600000 (200) */
    int startup_wait_ms;          /* how long to wait for NATS and Redis at start (15000) */
};

/* Load the environment, then the flags (--help, --ready-file PATH). *help is set when the
 * caller should print the usage and exit 0. RFQ_EINVAL (message on stderr) for a bad value
 * or flag. */
rfq_status agg_cfg_load(struct agg_cfg *cfg, int argc, char **argv, bool *help);

/* The --help text. */
void agg_cfg_usage(FILE *out, const char *prog);

#endif
