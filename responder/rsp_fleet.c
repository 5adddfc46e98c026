/* rsp_fleet: builds the simulated unicorns and answers for them. */
#include "rsp_fleet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_ids.h"

/* What the agent hands back to rsp_fleet_quote for one unicorn. */
struct rsp_member {
    const struct rsp_pricing_cfg *pricing; /* the fleet's */
    struct rsp_unicorn unicorn;
};

struct rsp_fleet {
    struct rsp_fleet_cfg cfg;
    struct rsp_member *members;
    size_t n;
};

rfq_status rsp_fleet_create(rsp_fleet **out, const struct rsp_fleet_cfg *cfg)
{
    *out = NULL;
    if (cfg->size < 1 || cfg->size > RSP_FLEET_MAX || cfg->n_regions < 1 ||
        cfg->n_regions > RSP_REGIONS_MAX || strlen(cfg->prefix) > RSP_PREFIX_MAX ||
        !rfq_ident_valid(cfg->prefix))
        return RFQ_EINVAL;
    for (int r = 0; r < cfg->n_regions; r++) {
        if (!rfq_region_valid(cfg->regions[r]))
            return RFQ_EINVAL;
        for (int q = 0; q < r; q++)
            if (strcmp(cfg->regions[q], cfg->regions[r]) == 0)
                return RFQ_EINVAL;
    }
    rsp_fleet *f = calloc(1, sizeof(*f));
    if (!f)
        return RFQ_ENOMEM;
    f->cfg = *cfg;
    f->n = (size_t)cfg->size;
    f->members = calloc(f->n, sizeof(*f->members));
    if (!f->members) {
        free(f);
        return RFQ_ENOMEM;
    }
    for (size_t i = 0; i < f->n; i++) {
        const char *region = f->cfg.regions[i % (size_t)cfg->n_regions];
        char id[RFQ_ID_MAX + 32]; /* room for the worst case; the agent checks the length */
        /* prefix (24) + region (32) + number (<= 5 digits) + 2 dashes fits RFQ_ID_MAX. */
        snprintf(id, sizeof(id), "%s-%s-%zu", cfg->prefix, region, i / (size_t)cfg->n_regions + 1);
        f->members[i].pricing = &f->cfg.pricing;
        rsp_unicorn_init(&f->members[i].unicorn, id, region, cfg->pricing.seed);
    }
    *out = f;
    return RFQ_OK;
}

void rsp_fleet_destroy(rsp_fleet *f)
{
    if (!f)
        return;
    free(f->members);
    free(f);
}

size_t rsp_fleet_size(const rsp_fleet *f)
{
    return f->n;
}

const struct rsp_unicorn *rsp_fleet_unicorn(const rsp_fleet *f, size_t i)
{
    return i < f->n ? &f->members[i].unicorn : NULL;
}

rfq_status rsp_fleet_attach(rsp_fleet *f, rsp_agent *a)
{
    for (size_t i = 0; i < f->n; i++) {
        struct rsp_member *m = &f->members[i];
        rfq_status st = rsp_agent_add_responder(a, m->unicorn.id, m->unicorn.region, m);
        if (st != RFQ_OK)
            return st;
    }
    return RFQ_OK;
}

rsp_decision rsp_fleet_quote(void *closure, const struct rfq_request *rfq, const char *responder_id,
                             struct rfq_quote *out, int *think_ms)
{
    const struct rsp_member *m = closure;
    return rsp_price(m->pricing, &m->unicorn, rfq, out, think_ms);
}
