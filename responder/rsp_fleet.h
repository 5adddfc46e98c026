/* rsp_fleet: N simulated unicorns hosted by one agent, spread round-robin over regions. */
#ifndef RSP_FLEET_H
#define RSP_FLEET_H

#include <stddef.h>

#include "rsp_agent.h"
#include "rsp_pricing.h"

#define RSP_REGIONS_MAX 16  /* regions one fleet spreads over */
#define RSP_FLEET_MAX 10000 /* unicorns one process simulates */
#define RSP_PREFIX_MAX 24   /* keeps "<prefix>-<region>-<n>" within RFQ_ID_MAX */

struct rsp_fleet_cfg {
    int size;                                          /* unicorns, 1..RSP_FLEET_MAX */
    char regions[RSP_REGIONS_MAX][RFQ_REGION_MAX + 1]; /* distinct, rfq_region_valid */
    int n_regions;                                     /* 1..RSP_REGIONS_MAX */
    char prefix[RSP_PREFIX_MAX + 1];                   /* [A-Za-z0-9_-]{1,24} */
    struct rsp_pricing_cfg pricing;
};

typedef struct rsp_fleet rsp_fleet;

/* Build the fleet: unicorn i (0-based) lives in regions[i % n_regions] and is named
 * "<prefix>-<region>-<k>", k counting from 1 within its region. cfg is copied. *out is new
 * (rsp_fleet_destroy). RFQ_EINVAL for an out-of-range size, bad prefix or region. */
rfq_status rsp_fleet_create(rsp_fleet **out, const struct rsp_fleet_cfg *cfg);
void rsp_fleet_destroy(rsp_fleet *f);

size_t rsp_fleet_size(const rsp_fleet *f);
/* Unicorn i (borrowed, lives as long as the fleet), or NULL when out of range. */
const struct rsp_unicorn *rsp_fleet_unicorn(const rsp_fleet *f, size_t i);

/* Host every unicorn in agent a (rsp_agent_add_responder), with a closure for
 * rsp_fleet_quote. The fleet must outlive the agent. */
rfq_status rsp_fleet_attach(rsp_fleet *f, rsp_agent *a);

/* The fleet's rsp_quote_fn: closure is what rsp_fleet_attach registered. Prices with
 * rsp_price; thread-safe (reads only). */
rsp_decision rsp_fleet_quote(void *closure, const struct rfq_request *rfq, const char *responder_id,
                             struct rfq_quote *out, int *think_ms);

#endif
