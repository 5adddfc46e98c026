/* fuzz_tenant_rec: tenant records as stored in the RFQ_TENANTS KV bucket. Properties: a refusal
 * says why in JSON-safe text; decode -> encode -> decode gives the same record and re-encoding
 * is byte-stable; fields are within their ranges; the effective settings take the record's
 * tier and each override it sets. */
#include "fuzz_msg.h"
#include "rfq_tenant.h"

static bool recs_same(const struct rfq_tenant_rec *a, const struct rfq_tenant_rec *b)
{
    return strcmp(a->tenant, b->tenant) == 0 && strcmp(a->tier, b->tier) == 0 &&
           a->suspended == b->suspended && a->rate_per_s == b->rate_per_s && a->burst == b->burst &&
           a->max_open == b->max_open && a->default_max_quotes == b->default_max_quotes &&
           a->default_timeout_ms == b->default_timeout_ms && a->created_ms == b->created_ms &&
           a->updated_ms == b->updated_ms;
}

static bool unset_or(int64_t v, int64_t lo, int64_t hi)
{
    return v == RFQ_TENANT_UNSET || (v >= lo && v <= hi);
}

static void check_effective(const struct rfq_tenant_rec *r)
{
    static const char *const token_tiers[] = {"basic", "premium", "enterprise", "gold", ""};
    for (size_t i = 0; i < sizeof(token_tiers) / sizeof(token_tiers[0]); i++) {
        struct rfq_tenant_settings s;
        struct rfq_quota base;
        rfq_tenant_effective(r, token_tiers[i], &s);
        const char *want = r->tier[0]                       ? r->tier
                           : rfq_tier_valid(token_tiers[i]) ? token_tiers[i]
                                                            : "basic";
        FUZZ_ASSERT(strcmp(s.tier, want) == 0);
        FUZZ_ASSERT(rfq_tier_quota(want, &base) == RFQ_OK);
        FUZZ_ASSERT(s.quota.rate_per_s ==
                    (r->rate_per_s == RFQ_TENANT_UNSET ? base.rate_per_s : r->rate_per_s));
        FUZZ_ASSERT(s.quota.burst == (r->burst == RFQ_TENANT_UNSET ? base.burst : r->burst));
        FUZZ_ASSERT(s.quota.max_open ==
                    (r->max_open == RFQ_TENANT_UNSET ? base.max_open : r->max_open));
        FUZZ_ASSERT(s.default_max_quotes == r->default_max_quotes);
        FUZZ_ASSERT(s.default_timeout_ms == r->default_timeout_ms);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rfq_tenant_rec r, back;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_tenant_rec_decode(&r, (const char *)data, size, &err);
    if (st != RFQ_OK) {
        fuzz_check_refusal(st, &err);
        return 0;
    }
    FUZZ_ASSERT(rfq_tenant_valid(r.tenant));
    FUZZ_ASSERT(r.tier[0] == '\0' || rfq_tier_valid(r.tier));
    FUZZ_ASSERT(unset_or(r.rate_per_s, 0, (int64_t)1 << 40));
    FUZZ_ASSERT(unset_or(r.burst, 0, (int64_t)1 << 40));
    FUZZ_ASSERT(unset_or(r.max_open, 0, (int64_t)1 << 40));
    FUZZ_ASSERT(unset_or(r.default_max_quotes, 1, 100));
    FUZZ_ASSERT(unset_or(r.default_timeout_ms, 100, 60000));
    FUZZ_ASSERT(r.created_ms >= 0 && r.updated_ms >= 0);

    char *enc = NULL, *enc2 = NULL;
    size_t enc_len = 0, enc2_len = 0;
    FUZZ_ASSERT(rfq_tenant_rec_encode(&r, &enc, &enc_len) == RFQ_OK);
    FUZZ_ASSERT(enc_len == strlen(enc));
    st = rfq_tenant_rec_decode(&back, enc, enc_len, &err);
    if (st != RFQ_OK)
        fprintf(stderr, "re-decode failed: %s: %s\n%s\n", err.field, err.message, enc);
    FUZZ_ASSERT(st == RFQ_OK);
    FUZZ_ASSERT(recs_same(&r, &back));
    FUZZ_ASSERT(rfq_tenant_rec_encode(&back, &enc2, &enc2_len) == RFQ_OK);
    FUZZ_ASSERT(enc_len == enc2_len && memcmp(enc, enc2, enc_len) == 0);
    free(enc);
    free(enc2);

    check_effective(&r);
    return 0;
}
