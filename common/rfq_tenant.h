/* rfq_tenant: a tenant's record (tier, quotas, defaults, status), the tier defaults, and the
 * effective settings of a caller. Pure: the record is stored and watched in NATS KV by
 * rfq_tenant_kv, and enforced by the requester. */
#ifndef RFQ_TENANT_H
#define RFQ_TENANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_ids.h"
#include "rfq_status.h"

#define RFQ_TIER_MAX 16
#define RFQ_TENANT_UNSET (-1) /* a record field that falls back to the tier default */

/* A quota: RFQs per second (token bucket refill), bucket size, open RFQs at once.
 * 0 in a field means unlimited. */
struct rfq_quota {
    int64_t rate_per_s;
    int64_t burst;
    int64_t max_open;
};

/* What is stored in KV under the tenant id (JSON, see rfq_tenant_rec_encode). */
struct rfq_tenant_rec {
    char tenant[RFQ_TENANT_MAX + 1];
    char tier[RFQ_TIER_MAX]; /* "" = the tier claim of the caller's token decides */
    bool suspended;          /* status "suspended": every API call answers 403 */
    int64_t rate_per_s;      /* RFQ_TENANT_UNSET or a value (0 = unlimited) */
    int64_t burst;           /* idem */
    int64_t max_open;        /* idem */
    int default_max_quotes;  /* RFQ_TENANT_UNSET or 1..100: used when a body has none */
    int default_timeout_ms;  /* RFQ_TENANT_UNSET or 100..60000: idem */
    int64_t created_ms;
    int64_t updated_ms;
};

/* A caller's settings after the record and the tier defaults are combined. */
struct rfq_tenant_settings {
    char tier[RFQ_TIER_MAX];
    struct rfq_quota quota;
    int default_max_quotes; /* RFQ_TENANT_UNSET = engine default */
    int default_timeout_ms; /* RFQ_TENANT_UNSET = engine default */
};

/* True for "basic", "premium", "enterprise". */
bool rfq_tier_valid(const char *tier);
/* Defaults: basic 20/s burst 40 open 100; premium 200/s burst 400 open 2000; enterprise
 * unlimited (all 0). RFQ_EINVAL for an unknown tier (q untouched). */
rfq_status rfq_tier_quota(const char *tier, struct rfq_quota *q);

/* A fresh record: every override unset, active, no tier override. */
void rfq_tenant_rec_init(struct rfq_tenant_rec *r, const char *tenant);

/* Decode a record (strict JSON: duplicate keys and unknown fields refused, ranges checked).
 * The tenant in the body must be valid; RFQ_EINVAL with err on any fault. */
rfq_status rfq_tenant_rec_decode(struct rfq_tenant_rec *r, const char *json, size_t len,
                                 struct rfq_err *err);
/* Encode a record as compact JSON; unset fields are left out. *out is new (free()). */
rfq_status rfq_tenant_rec_encode(const struct rfq_tenant_rec *r, char **out, size_t *out_len);

/* Combine: the record's tier (when set) else token_tier (else "basic"), that tier's quota,
 * then each record override. rec may be NULL (no record: token tier defaults only). */
void rfq_tenant_effective(const struct rfq_tenant_rec *rec, const char *token_tier,
                          struct rfq_tenant_settings *out);

#endif
