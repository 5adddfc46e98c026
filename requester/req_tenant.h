/* req_tenant: who may use the API after the token is verified (registered, not suspended)
 * and with which settings (tier, quota, body defaults), from the watched tenant records. */
#ifndef REQ_TENANT_H
#define REQ_TENANT_H

#include "req_reply.h"
#include "req_server.h"
#include "rfq_jwt.h"
#include "rfq_tenant.h"

/* RFQ_OK when who's tenant is registered and active. Otherwise out becomes a 403 (not
 * registered, or suspended) or a 503 (the records cannot be read) and that status returns. */
rfq_status req_tenant_admit(struct req_server *s, const struct rfq_identity *who,
                            struct req_reply *out);

/* The answer for a record lookup (pure; req_tenant_admit's rule): RFQ_OK for an active
 * record; 403 (RFQ_EAUTH) for a suspended one (lookup RFQ_OK) or none (RFQ_ENOTFOUND); 503
 * (lookup returned) for anything else. rec is read only when lookup is RFQ_OK. */
rfq_status req_tenant_verdict(rfq_status lookup, const struct rfq_tenant_rec *rec,
                              struct req_reply *out);

/* The caller's effective settings: its record (when registered) over its token's tier. */
void req_tenant_settings(struct req_server *s, const struct rfq_identity *who,
                         struct rfq_tenant_settings *out);

#endif
