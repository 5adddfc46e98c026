/* rsp_pricing: the simulated unicorns' pricing model. Pure and deterministic: the same seed,
 * unicorn and RFQ always give the same answer. */
#ifndef RSP_PRICING_H
#define RSP_PRICING_H

#include <stdbool.h>
#include <stdint.h>

#include "rfq_msg.h"
#include "rsp_agent.h"

#define RSP_PERKS_MAX 4 /* perks one simulated unicorn offers, at most */

struct rsp_pricing_cfg {
    int64_t base_fare_minor; /* flat part of every price, minor units */
    int64_t per_km_minor;    /* per km between pickup and dropoff, minor units */
    int think_ms_min;        /* think time drawn uniformly from [min, max] */
    int think_ms_max;
    int decline_pct; /* 0..100: share of RFQs declined */
    uint64_t seed;   /* every pseudo-random choice derives from it */
};

/* One simulated unicorn: its identity and the traits derived from (seed, id). */
struct rsp_unicorn {
    char id[RFQ_ID_MAX + 1];
    char region[RFQ_REGION_MAX + 1];
    double price_factor; /* 0.85 .. 1.25: cheaper or dearer than the base tariff */
    int speed_kmh;       /* 20 .. 59: how fast it reaches the pickup */
    int seats;           /* 4 .. 8: RFQs for more passengers are declined */
    char perks[RSP_PERKS_MAX][RFQ_TAG_MAX + 1];
    int n_perks;
};

/* Great-circle (haversine) distance in km on a sphere of radius 6371 km. */
double rsp_distance_km(struct rfq_point a, struct rfq_point b);

/* 64-bit hash of (seed, a, b, salt); a and b may be NULL. Same inputs, same output. */
uint64_t rsp_hash(uint64_t seed, const char *a, const char *b, uint64_t salt);

/* Fill u with id, region and the traits drawn from (seed, id). */
void rsp_unicorn_init(struct rsp_unicorn *u, const char *id, const char *region, uint64_t seed);

/* Price rfq for unicorn u (the quote callback's work, see rsp_quote_fn): declines with
 * probability decline_pct ("busy") or when the passengers do not fit ("capacity"); otherwise
 * amount = round((base + per_km * km) * price_factor), ETA from a pseudo-random approach
 * distance and u's speed, the unicorn's perks, valid until 5 minutes after the deadline.
 * out must be pre-filled as the agent does (ids, currency). Sets *think_ms. */
rsp_decision rsp_price(const struct rsp_pricing_cfg *cfg, const struct rsp_unicorn *u,
                       const struct rfq_request *rfq, struct rfq_quote *out, int *think_ms);

#endif
