/* req_auth: "Authorization: Bearer <JWT>" parsing and verification into the caller's identity,
 * with a cache of recently verified tokens, and the key-set reloads (SIGHUP, file changes)
 * that must empty that cache. The tenant of every request comes from here and nowhere else. */
#ifndef REQ_AUTH_H
#define REQ_AUTH_H

#include <stddef.h>

#include "req_reply.h"
#include "rfq_jwt.h"

#define REQ_AUTH_CACHE_SLOTS 1024
#define REQ_AUTH_DESC_MAX 120 /* error_description length cap in WWW-Authenticate */

typedef struct req_auth req_auth;

/* Wrap verifier v (borrowed: must outlive the result) with a cache of verified tokens. App
 * backends send the same token many times, and a signature check costs ~0.1 ms. A cached
 * entry is keyed by the SHA-256 of the exact token bytes, so only an identical, already
 * verified token hits; its exp is checked again on every hit with the same leeway, and it
 * is only valid for the key-set generation it was verified with. *out is new
 * (req_auth_destroy). */
rfq_status req_auth_create(req_auth **out, rfq_jwt_verifier *v, int leeway_s);
/* Stop the watch thread (if started) and free. Accepts NULL. */
void req_auth_destroy(req_auth *a);

/* Start a thread that checks every interval_ms whether the key-set file or a key file it names
 * changed, and reloads then (as req_auth_reload). */
rfq_status req_auth_watch_start(req_auth *a, int interval_ms);

/* Reload the key set now (trigger names the cause in the log line, e.g. "SIGHUP"). Success
 * empties the token cache, so a removed key stops working at once, and logs the kids; failure
 * keeps the previous keys and logs an error (never key material). Thread-safe. */
rfq_status req_auth_reload(req_auth *a, const char *trigger);

/* Locate the token in an Authorization header value: scheme "Bearer" (any case), then spaces,
 * then a token68 ([A-Za-z0-9._~+/-]+ then '='*), then optional trailing spaces. *token points
 * into header (borrowed). Pure. RFQ_EAUTH when absent or malformed, RFQ_ETOOBIG over
 * RFQ_JWT_MAX. */
rfq_status req_auth_parse_bearer(const char *header, const char **token, size_t *len);

/* Parse and verify header (NULL = no header). RFQ_OK fills who; otherwise out becomes a 401
 * answer and RFQ_EAUTH is returned. The 401 carries WWW-Authenticate (RFC 6750 3):
 * `Bearer realm="rfq", error="invalid_token", error_description="<why>"` when a bearer token
 * was presented, `Bearer realm="rfq"` when none was. Thread-safe. */
rfq_status req_auth_verify(req_auth *a, const char *header, struct rfq_identity *who,
                           struct req_reply *out);

#endif
