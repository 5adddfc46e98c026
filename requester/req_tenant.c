/* req_tenant: admission and settings from the tenant records. */
#include "req_tenant.h"

#include "rfq_tenant_kv.h"

rfq_status req_tenant_admit(struct req_server *s, const struct rfq_identity *who,
                            struct req_reply *out)
{
    (void)s;
    (void)who;
    (void)out;
    return RFQ_OK;
}

void req_tenant_settings(struct req_server *s, const struct rfq_identity *who,
                         struct rfq_tenant_settings *out)
{
    (void)s;
    rfq_tenant_effective(NULL, who->tier, out);
}
