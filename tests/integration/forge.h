/* forge: a battery of hostile bearer tokens (RFC 8725 attacks, malformed encodings, bad claims),
 * each named and tagged with the check that must refuse it. Shared by the unit test
 * test_jwt_forged and the integration scenario forged_tokens; no test framework inside. */
#ifndef RFQ_FORGE_H
#define RFQ_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

/* What the forger knows: the set it attacks holds signer's public half under signer_kid
 * (ES256) and an RS256 public key under rs_kid. */
struct forge_keys {
    EVP_PKEY *signer;       /* ES256 private key trusted by the set (borrowed) */
    const char *signer_kid; /* its kid */
    const char *es_pub_pem; /* its public key, PEM text (what an attacker can read) */
    const char *rs_kid;     /* kid of the RS256 key in the set */
    const char *rs_pub_pem; /* that key's public PEM text */
    const char *issuer;     /* the verifier's expected iss */
    const char *audience;   /* the verifier's expected aud */
    const char *tenant;     /* a valid tenant id */
    int64_t now_s;          /* the verifier's clock */
};

struct forge_case {
    char name[48];  /* e.g. "alg_none_unsigned" */
    char field[16]; /* rfq_err field of the check that must refuse it ("" = malformed) */
    char *token;    /* new, NUL-terminated, printable ASCII */
};

/* Every forged token, plus one valid control token (name "control_valid", field "ok") that
 * proves the forger signs correctly. *out is a new array of *n cases (forge_free). Returns 0,
 * or -1 when a key operation failed. */
int forge_all(struct forge_case **out, size_t *n, const struct forge_keys *k);
void forge_free(struct forge_case *cases, size_t n);

/* A correctly signed ES256 token for tenant/tier with kid (NULL = none), valid from now_s for
 * ttl_s seconds, over the signer. New string, NULL on failure. */
char *forge_valid(const struct forge_keys *k, const char *kid, const char *tenant, const char *tier,
                  int64_t ttl_s);

#endif
