/* req_submit: the transport-independent submit path shared by POST /v1/rfqs and the NATS
 * request on rfq.v1.submit: decode, store in Redis, scatter on NATS, answer 202. */
#ifndef REQ_SUBMIT_H
#define REQ_SUBMIT_H

#include <stddef.h>

#include "req_reply.h"
#include "req_server.h"
#include "rfq_jwt.h"

/* Submit body (len bytes, need not be NUL-terminated) on behalf of the verified caller who.
 * The tenant is who->tenant, never anything in the body. On success out is 202 with Location
 * and Retry-After (plus RateLimit-* for a rate-limited tenant), and the RFQ is stored in Redis
 * (status open, deadline registered) and its scatter has reached the NATS server. The tenant's
 * settings (req_tenant_settings) give the body defaults and the quota. Errors: 400 (body), 413
 * (over RFQ_BODY_MAX), 429 (quota: rate or open RFQs; nothing stored), 503 (Redis or NATS
 * unavailable; nothing stays stored), 500. traceparent (may be NULL) is forwarded. */
void req_submit_run(struct req_server *s, const struct rfq_identity *who, const char *body,
                    size_t len, const char *traceparent, struct req_reply *out);

/* Verify the Authorization header value (may be NULL), then submit: the NATS path, where the
 * token travels in a message header. */
void req_submit_with_token(struct req_server *s, const char *authorization, const char *body,
                           size_t len, const char *traceparent, struct req_reply *out);

/* Fill out with the 202 answer of an accepted RFQ. Pure. */
void req_submit_accepted(struct req_reply *out, const struct rfq_request *req);

#endif
