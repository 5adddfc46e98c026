/* rfq_jwt: bearer-token verification (RFC 7519 / RFC 8725) against a key set that can be
 * reloaded while serving, and token minting for dev tools and tests. Every check is ours: the
 * key is chosen by kid and pins the algorithm, the token's own "alg" only has to agree. */
#ifndef RFQ_JWT_H
#define RFQ_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "rfq_ids.h"
#include "rfq_keyset.h"
#include "rfq_status.h"

#define RFQ_JWT_MAX 8192 /* refused before any decoding when longer */

struct rfq_jwt_cfg {
    const char *keys_file; /* key-set file (RFQ_JWT_KEYS); when set, key_file/alg are unused */
    const char *key_file;  /* legacy: one PEM public key (ES256/RS256) or HS256 secret file,
                              becoming a set of one key with kid "default" */
    const char *alg;       /* legacy key's algorithm: "ES256" (default), "RS256", or "HS256"
                              when allow_hs256 */
    const char *issuer;    /* required "iss" value */
    const char *audience;  /* required in "aud" (string or array) */
    int leeway_s;          /* clock skew allowed on exp/nbf */
    int allow_hs256;       /* legacy: HS256 only when explicitly configured */
};

typedef struct rfq_jwt_verifier rfq_jwt_verifier;

/* The verified caller. */
struct rfq_identity {
    char tenant[RFQ_TENANT_MAX + 1]; /* claim "tenant_id", charset-checked */
    char tier[16];                   /* claim "tier": basic | premium | enterprise */
    char subject[128];               /* claim "sub" when present, else "" */
    char kid[RFQ_KID_MAX + 1];       /* key that verified the token */
    int64_t exp;                     /* claim "exp", unix seconds */
};

/* Load the key set (cfg->keys_file, else the legacy key). *out is new
 * (rfq_jwt_verifier_destroy). RFQ_EINVAL with err filled when the keys cannot be loaded, an
 * algorithm is not allowed, or issuer/audience are missing. */
rfq_status rfq_jwt_verifier_create(rfq_jwt_verifier **out, const struct rfq_jwt_cfg *cfg,
                                   struct rfq_err *err);
void rfq_jwt_verifier_destroy(rfq_jwt_verifier *v);

/* Verify a compact JWS: size cap, strict base64url and JSON (duplicate names refused), kid
 * (charset, then lookup; no kid only when the set has exactly one key), the key's algorithm,
 * typ, crit, signature, then exp/nbf (with leeway), iss, aud, tenant_id and tier. now_s is
 * the current unix time. Thread-safe, also during a reload. Returns RFQ_OK with *out filled,
 * or RFQ_EAUTH with err saying why (err->field names the check; the message is safe to show
 * and holds no token bytes). */
rfq_status rfq_jwt_verify(rfq_jwt_verifier *v, const char *token, size_t len, int64_t now_s,
                          struct rfq_identity *out, struct rfq_err *err);

/* Read the key source again. On success the new set replaces the old at once (verifications in
 * flight finish with the old one) and the generation grows by one; on failure the old set stays
 * and err says why (never key material). Thread-safe. */
rfq_status rfq_jwt_verifier_reload(rfq_jwt_verifier *v, struct rfq_err *err);

/* Reload when a file of the key source (the key-set file or a key file it names) changed since
 * the last load attempt. *reloaded = 1 when a reload was attempted; the status is its result
 * (RFQ_OK when nothing changed). A broken file is attempted once, then again only when it
 * changes. Thread-safe. */
rfq_status rfq_jwt_verifier_poll(rfq_jwt_verifier *v, int *reloaded, struct rfq_err *err);

/* Number of successful loads so far (1 after create); a change means the keys changed. */
uint64_t rfq_jwt_verifier_generation(const rfq_jwt_verifier *v);

/* The current kids as "k1,k2" into out (for logs: kids are not secret). Returns out. */
char *rfq_jwt_verifier_kids(rfq_jwt_verifier *v, char *out, size_t cap);

/* Mint a token (dev tool and tests). key is a PEM private key (ES256/RS256) or secret
 * (HS256). *out is a new malloc'd string. RFQ_EINVAL for a bad algorithm, tenant or kid. */
struct rfq_jwt_claims {
    const char *issuer;
    const char *audience;
    const char *tenant;
    const char *tier;
    const char *subject; /* may be NULL */
    int64_t iat;         /* issued at, unix seconds */
    int64_t ttl_s;       /* exp = iat + ttl_s */
    const char *kid;     /* header "kid"; NULL = none (accepted by a set of one key only) */
};
rfq_status rfq_jwt_mint(char **out, const char *alg, const unsigned char *key, size_t key_len,
                        const struct rfq_jwt_claims *claims);

#endif
