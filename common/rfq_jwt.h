/* rfq_jwt: bearer-token verification (and minting for dev tools and tests) over libjwt 1.10,
 * which verifies signatures only: the algorithm pin, size cap and every claim are ours. */
#ifndef RFQ_JWT_H
#define RFQ_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "rfq_ids.h"
#include "rfq_status.h"

#define RFQ_JWT_MAX 8192 /* libjwt alloca()s the token length: refuse anything longer first */

struct rfq_jwt_cfg {
    const char *key_file; /* PEM public key (ES256/RS256) or secret file (HS256); required */
    const char *alg;      /* "ES256" (default), "RS256", or "HS256" when allow_hs256 */
    const char *issuer;   /* required "iss" value */
    const char *audience; /* required in "aud" (string or array) */
    int leeway_s;         /* clock skew allowed on exp/nbf */
    int allow_hs256;      /* HS256 only when explicitly configured */
};

typedef struct rfq_jwt_verifier rfq_jwt_verifier;

/* The verified caller. */
struct rfq_identity {
    char tenant[RFQ_TENANT_MAX + 1]; /* claim "tenant_id", charset-checked */
    char tier[16];                   /* claim "tier": basic | premium | enterprise */
    char subject[128];               /* claim "sub" when present, else "" */
    int64_t exp;                     /* claim "exp", unix seconds */
};

/* Load the key and pin the algorithm. *out is new (rfq_jwt_verifier_destroy). Fails with
 * RFQ_EINVAL when the key is missing/unreadable or the algorithm is not allowed. */
rfq_status rfq_jwt_verifier_create(rfq_jwt_verifier **out, const struct rfq_jwt_cfg *cfg,
                                   struct rfq_err *err);
void rfq_jwt_verifier_destroy(rfq_jwt_verifier *v);

/* Verify a compact JWS: size cap, pinned algorithm, signature, exp/nbf (with leeway),
 * iss, aud, tenant_id and tier. now_s is the current unix time. Thread-safe.
 * Returns RFQ_OK with *out filled, or RFQ_EAUTH with err saying why (safe to show). */
rfq_status rfq_jwt_verify(const rfq_jwt_verifier *v, const char *token, size_t len, int64_t now_s,
                          struct rfq_identity *out, struct rfq_err *err);

/* Mint a token (dev tool and tests). key is a PEM private key (ES256/RS256) or secret
 * (HS256). *out is a new malloc'd string. */
struct rfq_jwt_claims {
    const char *issuer;
    const char *audience;
    const char *tenant;
    const char *tier;
    const char *subject; /* may be NULL */
    int64_t iat;         /* issued at, unix seconds */
    int64_t ttl_s;       /* exp = iat + ttl_s */
};
rfq_status rfq_jwt_mint(char **out, const char *alg, const unsigned char *key, size_t key_len,
                        const struct rfq_jwt_claims *claims);

#endif
