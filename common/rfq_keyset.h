/* rfq_keyset: the keys that verify bearer tokens (kid -> algorithm + key), read from a key-set
 * file or one legacy PEM, parsed once, immutable and reference-counted so that a reload can
 * replace a set while other threads still verify with the old one. */
#ifndef RFQ_KEYSET_H
#define RFQ_KEYSET_H

#include <stddef.h>
#include <stdint.h>

#include "rfq_status.h"

#define RFQ_KID_MAX 64                   /* kid: 1..64 of [A-Za-z0-9._-] */
#define RFQ_KEYSET_KEYS_MAX 64           /* keys in one set */
#define RFQ_KEYSET_FILE_MAX (256 * 1024) /* key-set file size cap */
#define RFQ_KEY_FILE_MAX 65536           /* key or secret file size cap */
#define RFQ_HS256_SECRET_MIN 32          /* RFC 7518 3.2: a key as long as the hash output */

/* The JWS algorithms a key can be pinned to. */
typedef enum { RFQ_JWS_INVALID = 0, RFQ_JWS_ES256, RFQ_JWS_RS256, RFQ_JWS_HS256 } rfq_jws_alg;

typedef struct rfq_keyset rfq_keyset;
typedef struct rfq_key rfq_key;

/* Where a set comes from: a key-set file, or (legacy) one key file that becomes a set of one
 * key with kid "default". */
struct rfq_keyset_src {
    const char *set_file; /* key-set JSON (RFQ_JWT_KEYS); when set the fields below are unused */
    const char *key_file; /* legacy PEM public key, or HS256 secret file (RFQ_JWT_KEY) */
    const char *alg;      /* legacy key's algorithm; NULL or "" = ES256 */
    int allow_hs256;      /* legacy: HS256 only when explicitly configured */
};

/* What a load read: the files (key-set file and the key files it names) and a hash of their
 * stat data taken before reading them, so a poll can tell when any of them changed. */
struct rfq_keyset_stamp {
    char **paths;  /* owned (rfq_keyset_stamp_clear) */
    size_t n;      /* number of paths */
    uint64_t hash; /* over (path, exists, dev, inode, size, mtime, ctime) of every path */
};

/* Load a set. *out is new (rfq_keyset_unref). stamp (may be NULL) is replaced by the files this
 * attempt read, also when it fails, so that a broken file is retried only once it changes.
 * RFQ_EINVAL with err naming the problem (never key material) when anything is wrong: the
 * whole set is refused, never a part of it. */
rfq_status rfq_keyset_load(rfq_keyset **out, const struct rfq_keyset_src *src,
                           struct rfq_keyset_stamp *stamp, struct rfq_err *err);

/* Take another reference (returns ks) / drop one (frees the set at zero; NULL is a no-op).
 * Thread-safe. */
rfq_keyset *rfq_keyset_ref(rfq_keyset *ks);
void rfq_keyset_unref(rfq_keyset *ks);

size_t rfq_keyset_count(const rfq_keyset *ks);
/* Key i (0-based) in file order, borrowed; NULL past the end. */
const rfq_key *rfq_keyset_key_at(const rfq_keyset *ks, size_t i);
/* Key with this kid (borrowed), or NULL. Only call with a kid that passed rfq_kid_valid. */
const rfq_key *rfq_keyset_find(const rfq_keyset *ks, const char *kid);

const char *rfq_key_kid(const rfq_key *k);
rfq_jws_alg rfq_key_alg(const rfq_key *k);

/* Check a JWS signature (bytes as carried in the token: R||S for ES256, RFC 7518 3.4) over
 * input with key k, using k's algorithm. RFQ_OK, or RFQ_EAUTH. Thread-safe. */
rfq_status rfq_key_verify(const rfq_key *k, const void *input, size_t input_len,
                          const unsigned char *sig, size_t sig_len);

/* "ES256", "RS256", "HS256" (or "invalid"); borrowed. */
const char *rfq_jws_alg_name(rfq_jws_alg a);
/* Exact, case-sensitive name match; RFQ_JWS_INVALID for anything else ("none" included). */
rfq_jws_alg rfq_jws_alg_from_name(const char *name);

/* True when kid is 1..RFQ_KID_MAX characters of [A-Za-z0-9._-] (NULL is not). */
int rfq_kid_valid(const char *kid);

/* True when a file of the stamp changed, appeared or disappeared since it was taken. */
int rfq_keyset_stamp_changed(const struct rfq_keyset_stamp *s);
/* Free the paths and zero the stamp. */
void rfq_keyset_stamp_clear(struct rfq_keyset_stamp *s);

#endif
