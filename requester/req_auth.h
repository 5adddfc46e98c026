/* req_auth: "Authorization: Bearer <JWT>" parsing and verification into the caller's identity,
 * with a cache of recently verified tokens. The tenant of every request comes from here and
 * nowhere else. */
#ifndef REQ_AUTH_H
#define REQ_AUTH_H

#include <stddef.h>

#include "req_reply.h"
#include "rfq_jwt.h"

#define REQ_AUTH_CACHE_SLOTS 1024

typedef struct req_auth req_auth;

/* Wrap verifier v (borrowed: must outlive the result) with a cache of verified tokens. A full
 * verification costs about 1 ms here (libjwt re-reads the PEM key on every call), while app
 * backends send the same token many times. A cached entry is keyed by the SHA-256 of the exact
 * token bytes, so only an identical, already verified token hits; its exp is checked again on
 * every hit with the same leeway. *out is new (req_auth_destroy). */
rfq_status req_auth_create(req_auth **out, const rfq_jwt_verifier *v, int leeway_s);
void req_auth_destroy(req_auth *a);

/* Locate the token in an Authorization header value: scheme "Bearer" (any case), then spaces,
 * then a token68 ([A-Za-z0-9._~+/-]+ then '='*), then optional trailing spaces. *token points
 * into header (borrowed). Pure. RFQ_EAUTH when absent or malformed, RFQ_ETOOBIG over
 * RFQ_JWT_MAX. */
rfq_status req_auth_parse_bearer(const char *header, const char **token, size_t *len);

/* Parse and verify header (NULL = no header). RFQ_OK fills who; otherwise out becomes a 401
 * answer (with WWW-Authenticate) and RFQ_EAUTH is returned. Thread-safe. */
rfq_status req_auth_verify(req_auth *a, const char *header, struct rfq_identity *who,
                           struct req_reply *out);

#endif
