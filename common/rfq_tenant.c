/* rfq_tenant: tenant records, tier defaults and effective settings. */
#include "rfq_tenant.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tier_default {
    const char *name;
    struct rfq_quota quota;
};

/* The commercial tiers. enterprise is unlimited: its fairness comes from capacity planning,
 * not from a bucket. */
static const struct tier_default TIERS[] = {
    {"basic", {20, 40, 100}},
    {"premium", {200, 400, 2000}},
    {"enterprise", {0, 0, 0}},
};

bool rfq_tier_valid(const char *tier)
{
    struct rfq_quota q;
    return tier && rfq_tier_quota(tier, &q) == RFQ_OK;
}

rfq_status rfq_tier_quota(const char *tier, struct rfq_quota *q)
{
    for (size_t i = 0; tier && i < sizeof(TIERS) / sizeof(TIERS[0]); i++)
        if (strcmp(tier, TIERS[i].name) == 0) {
            *q = TIERS[i].quota;
            return RFQ_OK;
        }
    return RFQ_EINVAL;
}

void rfq_tenant_rec_init(struct rfq_tenant_rec *r, const char *tenant)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->tenant, sizeof(r->tenant), "%s", tenant ? tenant : "");
    r->rate_per_s = r->burst = r->max_open = RFQ_TENANT_UNSET;
    r->default_max_quotes = r->default_timeout_ms = RFQ_TENANT_UNSET;
}

/* An optional integer field in [lo, hi]; absent leaves *out unchanged. */
static rfq_status opt_int(json_t *o, const char *name, int64_t lo, int64_t hi, int64_t *out,
                          struct rfq_err *err)
{
    json_t *v = json_object_get(o, name);
    if (!v)
        return RFQ_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return rfq_err_set(err, RFQ_EINVAL, name, "%s must be an integer in %lld..%lld", name,
                           (long long)lo, (long long)hi);
    *out = json_integer_value(v);
    return RFQ_OK;
}

static const char *const KNOWN[] = {"tenant_id",
                                    "tier",
                                    "status",
                                    "rate_per_s",
                                    "burst",
                                    "max_open",
                                    "default_max_quotes",
                                    "default_timeout_ms",
                                    "created_ms",
                                    "updated_ms",
                                    NULL};

static rfq_status decode_obj(struct rfq_tenant_rec *r, json_t *o, struct rfq_err *err)
{
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val)
    {
        size_t i = 0;
        while (KNOWN[i] && strcmp(KNOWN[i], key) != 0)
            i++;
        if (!KNOWN[i]) {
            /* The key is the writer's: printable ASCII only in the message (see rfq_msg). */
            char name[41];
            size_t n = 0;
            for (; key[n] && n + 1 < sizeof(name); n++)
                name[n] =
                    (unsigned char)key[n] >= 0x20 && (unsigned char)key[n] < 0x7f ? key[n] : '?';
            name[n] = '\0';
            return rfq_err_set(err, RFQ_EINVAL, name, "unknown field %s", name);
        }
    }
    const char *tenant = json_string_value(json_object_get(o, "tenant_id"));
    if (!tenant || !rfq_tenant_valid(tenant))
        return rfq_err_set(err, RFQ_EINVAL, "tenant_id", "missing or invalid tenant_id");
    rfq_tenant_rec_init(r, tenant);
    json_t *tier = json_object_get(o, "tier");
    if (tier) {
        if (!json_is_string(tier) || !rfq_tier_valid(json_string_value(tier)))
            return rfq_err_set(err, RFQ_EINVAL, "tier", "tier must be basic|premium|enterprise");
        snprintf(r->tier, sizeof(r->tier), "%s", json_string_value(tier));
    }
    json_t *status = json_object_get(o, "status");
    if (status) {
        const char *s = json_string_value(status);
        if (!s || (strcmp(s, "active") != 0 && strcmp(s, "suspended") != 0))
            return rfq_err_set(err, RFQ_EINVAL, "status", "status must be active|suspended");
        r->suspended = strcmp(s, "suspended") == 0;
    }
    const int64_t big = (int64_t)1 << 40;
    int64_t mq = RFQ_TENANT_UNSET, to = RFQ_TENANT_UNSET;
    rfq_status st = opt_int(o, "rate_per_s", 0, big, &r->rate_per_s, err);
    if (st == RFQ_OK)
        st = opt_int(o, "burst", 0, big, &r->burst, err);
    if (st == RFQ_OK)
        st = opt_int(o, "max_open", 0, big, &r->max_open, err);
    if (st == RFQ_OK)
        st = opt_int(o, "default_max_quotes", 1, 100, &mq, err);
    if (st == RFQ_OK)
        st = opt_int(o, "default_timeout_ms", 100, 60000, &to, err);
    if (st == RFQ_OK)
        st = opt_int(o, "created_ms", 0, INT64_MAX, &r->created_ms, err);
    if (st == RFQ_OK)
        st = opt_int(o, "updated_ms", 0, INT64_MAX, &r->updated_ms, err);
    r->default_max_quotes = (int)mq;
    r->default_timeout_ms = (int)to;
    return st;
}

rfq_status rfq_tenant_rec_decode(struct rfq_tenant_rec *r, const char *json, size_t len,
                                 struct rfq_err *err)
{
    if (!json || len == 0 || len > 4096)
        return rfq_err_set(err, RFQ_EINVAL, "", "tenant record must be 1..4096 bytes");
    json_error_t jerr;
    json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        return rfq_err_set(err, RFQ_EINVAL, "", "tenant record is not a JSON object");
    }
    rfq_status st = decode_obj(r, o, err);
    json_decref(o);
    return st;
}

static void set_if(json_t *o, const char *name, int64_t v)
{
    if (v != RFQ_TENANT_UNSET)
        json_object_set_new(o, name, json_integer((json_int_t)v));
}

rfq_status rfq_tenant_rec_encode(const struct rfq_tenant_rec *r, char **out, size_t *out_len)
{
    *out = NULL;
    json_t *o = json_pack("{s:s,s:s}", "tenant_id", r->tenant, "status",
                          r->suspended ? "suspended" : "active");
    if (!o)
        return RFQ_ENOMEM;
    if (r->tier[0])
        json_object_set_new(o, "tier", json_string(r->tier));
    set_if(o, "rate_per_s", r->rate_per_s);
    set_if(o, "burst", r->burst);
    set_if(o, "max_open", r->max_open);
    set_if(o, "default_max_quotes", r->default_max_quotes);
    set_if(o, "default_timeout_ms", r->default_timeout_ms);
    if (r->created_ms)
        json_object_set_new(o, "created_ms", json_integer((json_int_t)r->created_ms));
    if (r->updated_ms)
        json_object_set_new(o, "updated_ms", json_integer((json_int_t)r->updated_ms));
    *out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!*out)
        return RFQ_ENOMEM;
    if (out_len)
        *out_len = strlen(*out);
    return RFQ_OK;
}

void rfq_tenant_effective(const struct rfq_tenant_rec *rec, const char *token_tier,
                          struct rfq_tenant_settings *out)
{
    memset(out, 0, sizeof(*out));
    const char *tier = rec && rec->tier[0] ? rec->tier : token_tier;
    if (!rfq_tier_valid(tier))
        tier = "basic";
    snprintf(out->tier, sizeof(out->tier), "%s", tier);
    rfq_tier_quota(tier, &out->quota);
    out->default_max_quotes = out->default_timeout_ms = RFQ_TENANT_UNSET;
    if (!rec)
        return;
    if (rec->rate_per_s != RFQ_TENANT_UNSET)
        out->quota.rate_per_s = rec->rate_per_s;
    if (rec->burst != RFQ_TENANT_UNSET)
        out->quota.burst = rec->burst;
    if (rec->max_open != RFQ_TENANT_UNSET)
        out->quota.max_open = rec->max_open;
    out->default_max_quotes = rec->default_max_quotes;
    out->default_timeout_ms = rec->default_timeout_ms;
}
