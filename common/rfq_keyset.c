/* rfq_keyset: key-set loading (strict JSON, paths relative to the set file), keys parsed once
 * per load, and JWS signature checks with OpenSSL EVP. */
#include "rfq_keyset.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RSA_BITS_MIN 2048 /* RFC 7518 3.3 */
#define PATH_CAP 4096

struct rfq_key {
    char kid[RFQ_KID_MAX + 1];
    rfq_jws_alg alg;
    EVP_PKEY *pkey;        /* ES256/RS256 public key (owned) */
    unsigned char *secret; /* HS256 secret (owned, cleansed on free) */
    size_t secret_len;
    size_t sig_len; /* exact signature length: 64 (ES256), modulus bytes (RS256), 32 (HS256) */
};

struct rfq_keyset {
    atomic_int refs;
    size_t n;
    struct rfq_key keys[RFQ_KEYSET_KEYS_MAX];
};

/* ---- names -------------------------------------------------------------------------------- */

const char *rfq_jws_alg_name(rfq_jws_alg a)
{
    switch (a) {
    case RFQ_JWS_ES256:
        return "ES256";
    case RFQ_JWS_RS256:
        return "RS256";
    case RFQ_JWS_HS256:
        return "HS256";
    default:
        return "invalid";
    }
}

rfq_jws_alg rfq_jws_alg_from_name(const char *name)
{
    if (!name)
        return RFQ_JWS_INVALID;
    if (strcmp(name, "ES256") == 0)
        return RFQ_JWS_ES256;
    if (strcmp(name, "RS256") == 0)
        return RFQ_JWS_RS256;
    if (strcmp(name, "HS256") == 0)
        return RFQ_JWS_HS256;
    return RFQ_JWS_INVALID;
}

int rfq_kid_valid(const char *kid)
{
    if (!kid || !*kid)
        return 0;
    size_t n = 0;
    for (const char *p = kid; *p; p++, n++) {
        char c = *p;
        if (n >= RFQ_KID_MAX || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* ---- stamps ------------------------------------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Mix path and its stat data into h. An atomic rename changes the inode, an in-place rewrite
 * the size or mtime/ctime: either changes the hash. */
static uint64_t mix_i64(uint64_t h, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) {
        h ^= (u >> (8 * i)) & 0xffu;
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t stat_mix(uint64_t h, const char *path)
{
    struct stat st;
    h = fnv1a(h, path, strlen(path) + 1);
    if (stat(path, &st) != 0)
        return mix_i64(h, -1);
    h = mix_i64(h, (int64_t)st.st_dev);
    h = mix_i64(h, (int64_t)st.st_ino);
    h = mix_i64(h, (int64_t)st.st_size);
    h = mix_i64(h, (int64_t)st.st_mtim.tv_sec);
    h = mix_i64(h, (int64_t)st.st_mtim.tv_nsec);
    h = mix_i64(h, (int64_t)st.st_ctim.tv_sec);
    return mix_i64(h, (int64_t)st.st_ctim.tv_nsec);
}

#define STAMP_SEED 1469598103934665603ULL

/* Record path in s (stat taken now, before the caller reads the file: a change after this
 * point shows in the next poll). */
static void stamp_add(struct rfq_keyset_stamp *s, const char *path)
{
    char **grown = realloc(s->paths, (s->n + 1) * sizeof(*s->paths));
    if (!grown)
        return; /* the poll then misses this file; the next SIGHUP still reloads */
    s->paths = grown;
    s->paths[s->n] = strdup(path);
    if (!s->paths[s->n])
        return;
    s->n++;
    s->hash = stat_mix(s->hash, path);
}

int rfq_keyset_stamp_changed(const struct rfq_keyset_stamp *s)
{
    if (!s || s->n == 0)
        return 0;
    uint64_t h = STAMP_SEED;
    for (size_t i = 0; i < s->n; i++)
        h = stat_mix(h, s->paths[i]);
    return h != s->hash;
}

void rfq_keyset_stamp_clear(struct rfq_keyset_stamp *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->paths[i]);
    free(s->paths);
    memset(s, 0, sizeof(*s));
}

/* ---- files -------------------------------------------------------------------------------- */

/* Read a whole file (at most cap bytes) into a new NUL-terminated buffer, recording it in s.
 * NULL with why filled on failure. */
static unsigned char *read_file(const char *path, size_t cap, size_t *len,
                                struct rfq_keyset_stamp *s, char *why, size_t why_cap)
{
    stamp_add(s, path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_cap, "%s", strerror(errno));
        return NULL;
    }
    unsigned char *buf = malloc(cap + 1);
    size_t n = buf ? fread(buf, 1, cap + 1, f) : 0;
    int failed = ferror(f);
    fclose(f);
    if (!buf || failed || n == 0 || n > cap) {
        snprintf(why, why_cap, "%s",
                 !buf      ? "out of memory"
                 : n > cap ? "file too large"
                           : "empty or unreadable");
        if (buf)
            OPENSSL_cleanse(buf, n > cap ? cap + 1 : n);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- keys --------------------------------------------------------------------------------- */

static void key_free(struct rfq_key *k)
{
    EVP_PKEY_free(k->pkey);
    if (k->secret)
        OPENSSL_cleanse(k->secret, k->secret_len);
    free(k->secret);
    memset(k, 0, sizeof(*k));
}

static int ec_is_p256(EVP_PKEY *pk)
{
    char group[64];
    size_t glen = 0;
    if (!EVP_PKEY_is_a(pk, "EC") ||
        EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &glen) != 1)
        return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0 ||
           strcmp(group, "secp256r1") == 0;
}

/* Parse PEM text holding a public key of algorithm a into k. what names the source for
 * errors (a kid or a path: never the key). */
static rfq_status key_from_pem(struct rfq_key *k, rfq_jws_alg a, const char *pem, size_t len,
                               const char *field, const char *what, struct rfq_err *err)
{
    if (strstr(pem, "PRIVATE KEY"))
        return rfq_err_set(err, RFQ_EINVAL, field, "%s holds a private key, not a public key",
                           what);
    if (!strstr(pem, "-----BEGIN PUBLIC KEY-----"))
        return rfq_err_set(err, RFQ_EINVAL, field, "%s is not a PEM public key", what);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (!pk)
        return rfq_err_set(err, RFQ_EINVAL, field, "%s: cannot parse the PEM public key", what);
    int ok = a == RFQ_JWS_ES256 ? ec_is_p256(pk)
                                : EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) >= RSA_BITS_MIN;
    if (!ok) {
        EVP_PKEY_free(pk);
        return rfq_err_set(err, RFQ_EINVAL, field, "%s is not %s", what,
                           a == RFQ_JWS_ES256 ? "a P-256 EC key (ES256)"
                                              : "an RSA key of at least 2048 bits (RS256)");
    }
    k->alg = a;
    k->pkey = pk;
    k->sig_len = a == RFQ_JWS_ES256 ? 64 : (size_t)EVP_PKEY_get_size(pk);
    return RFQ_OK;
}

/* Read a key file (PEM public key, or HS256 secret) of algorithm a into k. */
static rfq_status key_from_file(struct rfq_key *k, rfq_jws_alg a, const char *path,
                                struct rfq_keyset_stamp *s, const char *field, const char *what,
                                struct rfq_err *err)
{
    char why[96];
    size_t len = 0;
    unsigned char *buf = read_file(path, RFQ_KEY_FILE_MAX, &len, s, why, sizeof(why));
    if (!buf)
        return rfq_err_set(err, RFQ_EINVAL, field, "%s: cannot read %s: %s", what, path, why);
    rfq_status st = RFQ_OK;
    if (a == RFQ_JWS_HS256) {
        /* A secret file's trailing newline is not part of the secret (rfqctl strips it too). */
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (len < RFQ_HS256_SECRET_MIN) {
            st = rfq_err_set(err, RFQ_EINVAL, field, "%s: HS256 secret must be >= %d bytes", what,
                             RFQ_HS256_SECRET_MIN);
        } else {
            k->alg = a;
            k->secret = buf;
            k->secret_len = len;
            k->sig_len = 32;
            return RFQ_OK;
        }
    } else {
        st = key_from_pem(k, a, (const char *)buf, len, field, what, err);
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    return st;
}

/* ---- sets --------------------------------------------------------------------------------- */

static rfq_keyset *set_new(void)
{
    rfq_keyset *ks = calloc(1, sizeof(*ks));
    if (ks)
        atomic_init(&ks->refs, 1);
    return ks;
}

rfq_keyset *rfq_keyset_ref(rfq_keyset *ks)
{
    if (ks)
        atomic_fetch_add(&ks->refs, 1);
    return ks;
}

void rfq_keyset_unref(rfq_keyset *ks)
{
    if (!ks || atomic_fetch_sub(&ks->refs, 1) != 1)
        return;
    for (size_t i = 0; i < ks->n; i++)
        key_free(&ks->keys[i]);
    free(ks);
}

size_t rfq_keyset_count(const rfq_keyset *ks)
{
    return ks ? ks->n : 0;
}

const rfq_key *rfq_keyset_key_at(const rfq_keyset *ks, size_t i)
{
    return ks && i < ks->n ? &ks->keys[i] : NULL;
}

const rfq_key *rfq_keyset_find(const rfq_keyset *ks, const char *kid)
{
    for (size_t i = 0; ks && kid && i < ks->n; i++)
        if (strcmp(ks->keys[i].kid, kid) == 0)
            return &ks->keys[i];
    return NULL;
}

const char *rfq_key_kid(const rfq_key *k)
{
    return k->kid;
}

rfq_jws_alg rfq_key_alg(const rfq_key *k)
{
    return k->alg;
}

/* Legacy configuration: one key file, algorithm from the configuration, kid "default". */
static rfq_status load_legacy(rfq_keyset *ks, const struct rfq_keyset_src *src,
                              struct rfq_keyset_stamp *s, struct rfq_err *err)
{
    const char *name = src->alg && *src->alg ? src->alg : "ES256";
    rfq_jws_alg a = rfq_jws_alg_from_name(name);
    if (a == RFQ_JWS_INVALID || (a == RFQ_JWS_HS256 && !src->allow_hs256))
        return rfq_err_set(err, RFQ_EINVAL, "alg", "algorithm %s is not allowed", name);
    if (!src->key_file || !*src->key_file)
        return rfq_err_set(err, RFQ_EINVAL, "key", "a verification key is required");
    rfq_status st = key_from_file(&ks->keys[0], a, src->key_file, s, "key", "key file", err);
    if (st != RFQ_OK)
        return st;
    snprintf(ks->keys[0].kid, sizeof(ks->keys[0].kid), "default");
    ks->n = 1;
    return RFQ_OK;
}

/* Directory part of path ("." when it has none), for relative key paths. */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* The first 32 bytes of a member name from the file, bytes outside printable ASCII as '?':
 * the error goes to logs as JSON, where a UTF-8 character cut in two is invalid. */
static const char *name_for_error(char out[33], const char *name)
{
    size_t n = 0;
    for (; n < 32 && name[n]; n++)
        out[n] = (unsigned char)name[n] >= 0x20 && (unsigned char)name[n] < 0x7f ? name[n] : '?';
    out[n] = '\0';
    return out;
}

static int only_members(json_t *obj, const char *const *allowed, const char **bad)
{
    const char *name;
    json_t *val;
    json_object_foreach(obj, name, val)
    {
        int ok = 0;
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = strcmp(name, allowed[i]) == 0;
        if (!ok) {
            *bad = name;
            return 0;
        }
    }
    return 1;
}

/* One entry of "keys": {"kid","alg", exactly one of "key_file" | "secret_file" | "pem"}. */
static rfq_status load_entry(rfq_keyset *ks, json_t *e, size_t i, const char *dir,
                             struct rfq_keyset_stamp *s, struct rfq_err *err)
{
    static const char *const allowed[] = {"kid", "alg", "key_file", "secret_file", "pem", NULL};
    const char *bad = NULL;
    if (!json_is_object(e))
        return rfq_err_set(err, RFQ_EINVAL, "keys", "keys[%zu] is not an object", i);
    char shown[33];
    if (!only_members(e, allowed, &bad))
        return rfq_err_set(err, RFQ_EINVAL, "keys", "keys[%zu]: unknown member \"%s\"", i,
                           name_for_error(shown, bad));
    const char *kid = json_string_value(json_object_get(e, "kid"));
    if (!rfq_kid_valid(kid))
        return rfq_err_set(err, RFQ_EINVAL, "keys",
                           "keys[%zu]: kid must be 1..%d characters of [A-Za-z0-9._-]", i,
                           RFQ_KID_MAX);
    if (rfq_keyset_find(ks, kid))
        return rfq_err_set(err, RFQ_EINVAL, "keys", "keys[%zu]: duplicate kid \"%s\"", i, kid);
    const char *alg_name = json_string_value(json_object_get(e, "alg"));
    rfq_jws_alg a = rfq_jws_alg_from_name(alg_name);
    if (a == RFQ_JWS_INVALID)
        return rfq_err_set(err, RFQ_EINVAL, "keys", "key \"%s\": alg must be ES256, RS256 or HS256",
                           kid);
    json_t *kf = json_object_get(e, "key_file"), *sf = json_object_get(e, "secret_file"),
           *pem = json_object_get(e, "pem");
    if ((kf != NULL) + (sf != NULL) + (pem != NULL) != 1)
        return rfq_err_set(err, RFQ_EINVAL, "keys",
                           "key \"%s\": give exactly one of key_file, secret_file, pem", kid);
    if ((a == RFQ_JWS_HS256) != (sf != NULL))
        return rfq_err_set(err, RFQ_EINVAL, "keys",
                           "key \"%s\": HS256 takes a secret_file, ES256/RS256 a key_file or pem",
                           kid);
    struct rfq_key *k = &ks->keys[ks->n];
    char what[96];
    snprintf(what, sizeof(what), "key \"%s\"", kid);
    rfq_status st;
    if (pem) {
        const char *text = json_string_value(pem);
        if (!text)
            return rfq_err_set(err, RFQ_EINVAL, "keys", "%s: pem must be a string", what);
        st = key_from_pem(k, a, text, strlen(text), "keys", what, err);
    } else {
        const char *name = json_string_value(kf ? kf : sf);
        char path[PATH_CAP];
        if (!name || !*name)
            return rfq_err_set(err, RFQ_EINVAL, "keys", "%s: the file name must be a string", what);
        int n = name[0] == '/' ? snprintf(path, sizeof(path), "%s", name)
                               : snprintf(path, sizeof(path), "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof(path))
            return rfq_err_set(err, RFQ_EINVAL, "keys", "%s: file path too long", what);
        st = key_from_file(k, a, path, s, "keys", what, err);
    }
    if (st != RFQ_OK)
        return st;
    snprintf(k->kid, sizeof(k->kid), "%s", kid);
    ks->n++;
    return RFQ_OK;
}

/* Key-set file: {"keys":[entry, ...]} with 1..RFQ_KEYSET_KEYS_MAX entries. */
static rfq_status load_set_file(rfq_keyset *ks, const char *path, struct rfq_keyset_stamp *s,
                                struct rfq_err *err)
{
    char why[96];
    size_t len = 0;
    unsigned char *buf = read_file(path, RFQ_KEYSET_FILE_MAX, &len, s, why, sizeof(why));
    if (!buf)
        return rfq_err_set(err, RFQ_EINVAL, "keys", "key set %s: %s", path, why);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    /* jansson's message quotes the text near the error: report the position only. */
    if (!root)
        return rfq_err_set(err, RFQ_EINVAL, "keys",
                           "key set %s: invalid JSON (line %d, column %d; duplicate names are "
                           "refused)",
                           path, jerr.line, jerr.column);
    static const char *const allowed[] = {"keys", NULL};
    const char *bad = NULL;
    char name[33];
    json_t *keys = json_object_get(root, "keys");
    rfq_status st = RFQ_OK;
    if (!json_is_object(root) || !json_is_array(keys))
        st = rfq_err_set(err, RFQ_EINVAL, "keys", "key set %s: expected {\"keys\":[...]}", path);
    else if (!only_members(root, allowed, &bad))
        st = rfq_err_set(err, RFQ_EINVAL, "keys", "key set %s: unknown member \"%s\"", path,
                         name_for_error(name, bad));
    else if (json_array_size(keys) < 1 || json_array_size(keys) > RFQ_KEYSET_KEYS_MAX)
        st = rfq_err_set(err, RFQ_EINVAL, "keys", "key set %s: it must hold 1..%d keys", path,
                         RFQ_KEYSET_KEYS_MAX);
    char dir[PATH_CAP];
    dir_of(path, dir, sizeof(dir));
    for (size_t i = 0; st == RFQ_OK && i < json_array_size(keys); i++) {
        st = load_entry(ks, json_array_get(keys, i), i, dir, s, err);
        /* Name the file in the message, so a log line says which configuration failed. */
        if (st != RFQ_OK && err) {
            char msg[sizeof(err->message)];
            snprintf(msg, sizeof(msg), "%s", err->message);
            rfq_err_set(err, st, "keys", "key set %s: %s", path, msg);
        }
    }
    json_decref(root);
    return st;
}

rfq_status rfq_keyset_load(rfq_keyset **out, const struct rfq_keyset_src *src,
                           struct rfq_keyset_stamp *stamp, struct rfq_err *err)
{
    *out = NULL;
    struct rfq_keyset_stamp s = {.paths = NULL, .n = 0, .hash = STAMP_SEED};
    rfq_keyset *ks = set_new();
    rfq_status st = RFQ_ENOMEM;
    if (ks)
        st = src->set_file && *src->set_file ? load_set_file(ks, src->set_file, &s, err)
                                             : load_legacy(ks, src, &s, err);
    if (stamp) {
        rfq_keyset_stamp_clear(stamp);
        *stamp = s;
    } else {
        rfq_keyset_stamp_clear(&s);
    }
    if (st != RFQ_OK) {
        rfq_keyset_unref(ks);
        return st;
    }
    *out = ks;
    return RFQ_OK;
}

/* ---- signatures --------------------------------------------------------------------------- */

/* EVP verification of a DER (ECDSA) or PKCS#1 v1.5 (RSA) signature with SHA-256. */
static int evp_verify(EVP_PKEY *pk, const unsigned char *sig, size_t sig_len, const void *in,
                      size_t in_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, in, in_len) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* ES256 carries R||S, 32 bytes each (RFC 7518 3.4); EVP wants a DER ECDSA-Sig-Value. */
static int es256_verify(EVP_PKEY *pk, const unsigned char *sig, const void *in, size_t in_len)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1) {
        ECDSA_SIG_free(es);
        BN_free(r);
        BN_free(s);
        return 0;
    }
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(es, &der);
    int ok = der_len > 0 && evp_verify(pk, der, (size_t)der_len, in, in_len);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

rfq_status rfq_key_verify(const rfq_key *k, const void *input, size_t input_len,
                          const unsigned char *sig, size_t sig_len)
{
    if (!k || !sig || sig_len != k->sig_len)
        return RFQ_EAUTH;
    int ok = 0;
    if (k->alg == RFQ_JWS_ES256) {
        ok = es256_verify(k->pkey, sig, input, input_len);
    } else if (k->alg == RFQ_JWS_RS256) {
        ok = evp_verify(k->pkey, sig, sig_len, input, input_len);
    } else if (k->alg == RFQ_JWS_HS256) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        ok = HMAC(EVP_sha256(), k->secret, (int)k->secret_len, input, input_len, mac, &mac_len) &&
             mac_len == 32 && CRYPTO_memcmp(mac, sig, 32) == 0;
        OPENSSL_cleanse(mac, sizeof(mac));
    }
    if (!ok)
        ERR_clear_error(); /* a failed check leaves entries on this thread's error queue */
    return ok ? RFQ_OK : RFQ_EAUTH;
}
