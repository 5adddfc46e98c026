/* req_tenant: admission and settings from the tenant records. */
#include "req_tenant.h"

#include "rfq_tenant_kv.h"

rfq_status req_tenant_verdict(rfq_status lookup, const struct rfq_tenant_rec *rec,
                              struct req_reply *out)
{
    if (lookup == RFQ_OK && !rec->suspended)
        return RFQ_OK;
    if (lookup == RFQ_OK) {
        req_reply_error(out, 403, "tenant is suspended");
        return RFQ_EAUTH;
    }
    if (lookup == RFQ_ENOTFOUND) {
        req_reply_error(out, 403, "tenant is not registered");
        return RFQ_EAUTH;
    }
    req_reply_error(out, 503, "tenant records unavailable");
    return lookup;
}

/* Looks the tenant up in the watched view (a miss reads the bucket once, see rfq_tenant_kv.h).
 * Fails closed: without a view nobody is admitted. */
rfq_status req_tenant_admit(struct req_server *s, const struct rfq_identity *who,
                            struct req_reply *out)
{
    struct rfq_tenant_rec rec;
    rfq_status st = s->tenants ? rfq_tenant_view_get(s->tenants, who->tenant, &rec) : RFQ_ENATS;
    rfq_status verdict = req_tenant_verdict(st, &rec, out);
    if (verdict != RFQ_OK) {
        struct rfq_log_ctx log = {.component = "requester", .tenant = who->tenant};
        RFQ_LOG(&log, verdict == RFQ_EAUTH ? RFQ_DEBUG : RFQ_WARN, "refused: %s",
                st == RFQ_OK          ? "tenant is suspended"
                : st == RFQ_ENOTFOUND ? "tenant is not registered"
                                      : "tenant records unavailable");
    }
    return verdict;
}

/* The record is read again (cached after admission): settings always reflect the newest
 * record the view holds. A tenant without a record gets its token tier's defaults. */
void req_tenant_settings(struct req_server *s, const struct rfq_identity *who,
                         struct rfq_tenant_settings *out)
{
    struct rfq_tenant_rec rec;
    bool found = s->tenants && rfq_tenant_view_get(s->tenants, who->tenant, &rec) == RFQ_OK;
    rfq_tenant_effective(found ? &rec : NULL, who->tier, out);
}
