/* rsp_pricing: haversine distance, seeded hashing and the fleet's tariff. */
#include "rsp_pricing.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RSP_EARTH_RADIUS_KM 6371.0
#define RSP_VALIDITY_MS (5 * 60 * 1000) /* a quote stays valid 5 min after the RFQ deadline */
#define RSP_PICKUP_OVERHEAD_S 30        /* time to pull over and load, added to every ETA */

/* Salts that keep the draws for different purposes independent. */
enum { SALT_FACTOR = 1, SALT_SPEED, SALT_SEATS, SALT_PERKS, SALT_DECLINE, SALT_THINK, SALT_ETA };

static const char *const perk_catalog[] = {"free_drinks",   "wifi",        "rainbow_trail",
                                           "extra_legroom", "quiet_ride",  "glitter_seats",
                                           "child_seat",    "pet_friendly"};
#define PERK_CATALOG_N ((int)(sizeof(perk_catalog) / sizeof(perk_catalog[0])))

double rsp_distance_km(struct rfq_point a, struct rfq_point b)
{
    const double rad = M_PI / 180.0;
    double dlat = (b.lat - a.lat) * rad, dlon = (b.lon - a.lon) * rad;
    double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
    double h = s1 * s1 + cos(a.lat * rad) * cos(b.lat * rad) * s2 * s2;
    if (h > 1.0)
        h = 1.0;
    return 2.0 * RSP_EARTH_RADIUS_KM * asin(sqrt(h));
}

/* splitmix64 finalizer: spreads every input bit over the output. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* FNV-1a over a string, continuing from h; a NUL separates fields so ("ab","c") != ("a","bc"). */
static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h * 0x100000001b3ULL;
}

uint64_t rsp_hash(uint64_t seed, const char *a, const char *b, uint64_t salt)
{
    uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ULL ^ mix64(seed), a), b);
    return mix64(h ^ mix64(salt));
}

/* Uniform integer in [lo, hi] from a hash (lo <= hi). */
static int64_t draw(uint64_t h, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(h % (uint64_t)(hi - lo + 1));
}

void rsp_unicorn_init(struct rsp_unicorn *u, const char *id, const char *region, uint64_t seed)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->id, sizeof(u->id), "%s", id);
    snprintf(u->region, sizeof(u->region), "%s", region);
    u->price_factor = 0.85 + (double)draw(rsp_hash(seed, id, NULL, SALT_FACTOR), 0, 40) / 100.0;
    u->speed_kmh = (int)draw(rsp_hash(seed, id, NULL, SALT_SPEED), 20, 59);
    u->seats = (int)draw(rsp_hash(seed, id, NULL, SALT_SEATS), 4, 8);
    /* Each catalog perk with probability 1/3, at most RSP_PERKS_MAX. */
    uint64_t h = rsp_hash(seed, id, NULL, SALT_PERKS);
    for (int i = 0; i < PERK_CATALOG_N && u->n_perks < RSP_PERKS_MAX; i++, h /= 3)
        if (h % 3 == 0)
            snprintf(u->perks[u->n_perks++], sizeof(u->perks[0]), "%s", perk_catalog[i]);
}

rsp_decision rsp_price(const struct rsp_pricing_cfg *cfg, const struct rsp_unicorn *u,
                       const struct rfq_request *rfq, struct rfq_quote *out, int *think_ms)
{
    int lo = cfg->think_ms_min > 0 ? cfg->think_ms_min : 0;
    int hi = cfg->think_ms_max > lo ? cfg->think_ms_max : lo;
    *think_ms = (int)draw(rsp_hash(cfg->seed, rfq->rfq_id, u->id, SALT_THINK), lo, hi);

    if ((int64_t)draw(rsp_hash(cfg->seed, rfq->rfq_id, u->id, SALT_DECLINE), 0, 99) <
        cfg->decline_pct) {
        snprintf(out->decline_reason, sizeof(out->decline_reason), "busy");
        return RSP_DECLINE;
    }
    if (rfq->body.passengers > u->seats) {
        snprintf(out->decline_reason, sizeof(out->decline_reason), "capacity");
        return RSP_DECLINE;
    }

    double km = rsp_distance_km(rfq->body.pickup, rfq->body.dropoff);
    double raw = ((double)cfg->base_fare_minor + (double)cfg->per_km_minor * km) * u->price_factor;
    out->amount_minor = raw > 0 ? llround(raw) : 0;

    /* Approach distance 0.2 .. 6.0 km, at the unicorn's speed. */
    double approach_km =
        (double)draw(rsp_hash(cfg->seed, rfq->rfq_id, u->id, SALT_ETA), 200, 6000) / 1000.0;
    out->eta_s = (int)lround(approach_km / u->speed_kmh * 3600.0) + RSP_PICKUP_OVERHEAD_S;

    out->n_perks = u->n_perks;
    for (int i = 0; i < u->n_perks; i++)
        memcpy(out->perks[i], u->perks[i], sizeof(out->perks[i]));
    /* The schema caps times (RFQ_TIME_MAX_MS): stay inside it or the answer would be refused. */
    out->valid_until_ms = rfq->deadline_ms < RFQ_TIME_MAX_MS - RSP_VALIDITY_MS
                              ? rfq->deadline_ms + RSP_VALIDITY_MS
                              : RFQ_TIME_MAX_MS;
    return RSP_QUOTE;
}
