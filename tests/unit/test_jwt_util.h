/* test_jwt_util: key pairs, key files and key-set files in a temporary directory, for the
 * key-set and forged-token unit tests. Failures abort the test (cmocka asserts). */
#ifndef TEST_JWT_UTIL_H
#define TEST_JWT_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "rfq_jwt.h"

#define TJ_ISS "rfq-dev"
#define TJ_AUD "rfq-engine"
#define TJ_NOW 1760000000LL /* fixed "current" time */

/* A new temporary directory; tj_dir_remove deletes it with everything in it. */
void tj_dir_create(char *dir, size_t cap, const char *tag);
void tj_dir_remove(const char *dir);

/* dir/name into out. Returns out. */
char *tj_path(char *out, size_t cap, const char *dir, const char *name);

/* Write text to path (replacing it); atomically (temp file + rename) when atomic is set. */
void tj_write(const char *path, const char *text, int atomic);
/* Write k's public (or private) key as PEM to path. */
void tj_write_pem(const char *path, EVP_PKEY *k, int private_key);
/* k's public (or private) key as a new PEM string. */
char *tj_pem(EVP_PKEY *k, int private_key);

/* An ES256/RS256 token signed with k (private) for tenant with kid (NULL = none), issued at
 * TJ_NOW, valid ttl_s seconds. New string. */
char *tj_mint(const char *alg, EVP_PKEY *k, const char *kid, const char *tenant, int64_t ttl_s);
/* The same with an HS256 secret. */
char *tj_mint_hs(const char *secret, const char *kid, const char *tenant, int64_t ttl_s);

/* A verifier over key-set file set_file (or, when NULL, the legacy key_file/alg). Asserts
 * success. */
rfq_jwt_verifier *tj_verifier(const char *set_file, const char *key_file, const char *alg);

/* Verify at TJ_NOW: expect success (filling id when not NULL) / failure with this err field. */
void tj_expect_ok(rfq_jwt_verifier *v, const char *tok, struct rfq_identity *id);
void tj_expect_fail(rfq_jwt_verifier *v, const char *tok, const char *field);

#endif
