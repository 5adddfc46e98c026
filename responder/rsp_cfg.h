/* rsp_cfg: rfq-responder's configuration from the environment and command-line flags. */
#ifndef RSP_CFG_H
#define RSP_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rfq_cfg.h"
#include "rfq_nats.h"
#include "rsp_fleet.h"

struct rsp_cfg {
    struct rfq_common_cfg common; /* RFQ_NATS_URL, RFQ_READY_FILE, ... */
    struct rsp_fleet_cfg fleet;   /* RFQ_FLEET_SIZE, RFQ_REGIONS, pricing, ... */
    char log_level[16];           /* RFQ_LOG_LEVEL */
    bool help;                    /* --help given: print usage, do nothing else */

    /* RFQ_QUOTE_BATCH: most answers to one RFQ sent together as one message (1 = never) */
    int quote_batch;

    /* RFQ_NATS_INBOX_PREFIX: replies (PubAcks) arrive on <prefix>.<...> */
    char nats_inbox_prefix[RFQ_NATS_INBOX_PREFIX_MAX + 1];
};

/* Defaults, then the environment, then flags (argv[1..]). On a malformed or out-of-range
 * value returns RFQ_EINVAL with a message in err (size cap). RFQ_SEED 0 stays 0 here: see
 * rsp_seed_random. */
rfq_status rsp_cfg_load(struct rsp_cfg *cfg, int argc, char **argv, char *err, size_t cap);

/* Parse "a,b,c" into fleet->regions: each rfq_region_valid, distinct, 1..RSP_REGIONS_MAX. */
rfq_status rsp_regions_parse(struct rsp_fleet_cfg *fleet, const char *list);

/* Parse "MIN:MAX" (0 <= MIN <= MAX <= 600000) into the think-time range. */
rfq_status rsp_think_parse(struct rsp_pricing_cfg *p, const char *s);

/* A non-zero seed from the system's random source (for RFQ_SEED=0). */
uint64_t rsp_seed_random(void);

/* Usage text with every flag and environment variable. */
void rsp_cfg_usage(FILE *f, const char *prog);

#endif
