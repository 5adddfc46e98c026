/* rfq_jwt: token verification over a reloadable key set. The token is split, decoded and
 * parsed by us, strictly (canonical base64url, duplicate JSON names refused); the key chosen
 * by kid pins the algorithm and checks the signature with OpenSSL (rfq_keyset). libjwt only
 * mints. */
#include "rfq_jwt.h"

#include <jansson.h>
#include <jwt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rfq_jwt_verifier {
    char *keys_file; /* key-set file, or NULL (legacy) */
    char *key_file;  /* legacy key file, or NULL */
    char alg[16];    /* legacy key's algorithm */
    int allow_hs256;
    char issuer[256];
    char audience[256];
    int leeway_s;
    pthread_mutex_t mu;              /* guards keys (held only to swap or take a reference) */
    rfq_keyset *keys;                /* current set (one reference owned here) */
    pthread_mutex_t reload_mu;       /* one reload or poll at a time; guards stamp */
    struct rfq_keyset_stamp stamp;   /* files read by the last load attempt */
    atomic_uint_fast64_t generation; /* successful loads */
};

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

static void src_of(const rfq_jwt_verifier *v, struct rfq_keyset_src *src)
{
    src->set_file = v->keys_file;
    src->key_file = v->key_file;
    src->alg = v->alg;
    src->allow_hs256 = v->allow_hs256;
}

rfq_status rfq_jwt_verifier_create(rfq_jwt_verifier **out, const struct rfq_jwt_cfg *cfg,
                                   struct rfq_err *err)
{
    *out = NULL;
    if (!cfg->issuer || !*cfg->issuer || !cfg->audience || !*cfg->audience)
        return rfq_err_set(err, RFQ_EINVAL, "iss", "issuer and audience are required");
    rfq_jwt_verifier *v = calloc(1, sizeof(*v));
    if (!v)
        return RFQ_ENOMEM;
    v->keys_file = dup_or_null(cfg->keys_file);
    v->key_file = dup_or_null(cfg->key_file);
    snprintf(v->alg, sizeof(v->alg), "%s", cfg->alg && *cfg->alg ? cfg->alg : "ES256");
    v->allow_hs256 = cfg->allow_hs256;
    snprintf(v->issuer, sizeof(v->issuer), "%s", cfg->issuer);
    snprintf(v->audience, sizeof(v->audience), "%s", cfg->audience);
    v->leeway_s = cfg->leeway_s;
    pthread_mutex_init(&v->mu, NULL);
    pthread_mutex_init(&v->reload_mu, NULL);
    atomic_init(&v->generation, 0);
    struct rfq_keyset_src src;
    src_of(v, &src);
    rfq_status st = rfq_keyset_load(&v->keys, &src, &v->stamp, err);
    if (st != RFQ_OK) {
        rfq_jwt_verifier_destroy(v);
        return st;
    }
    atomic_store(&v->generation, 1);
    *out = v;
    return RFQ_OK;
}

void rfq_jwt_verifier_destroy(rfq_jwt_verifier *v)
{
    if (!v)
        return;
    rfq_keyset_unref(v->keys);
    rfq_keyset_stamp_clear(&v->stamp);
    pthread_mutex_destroy(&v->mu);
    pthread_mutex_destroy(&v->reload_mu);
    free(v->keys_file);
    free(v->key_file);
    free(v);
}

/* Load and swap; the caller holds reload_mu. */
static rfq_status reload_locked(rfq_jwt_verifier *v, struct rfq_err *err)
{
    struct rfq_keyset_src src;
    src_of(v, &src);
    rfq_keyset *fresh = NULL;
    rfq_status st = rfq_keyset_load(&fresh, &src, &v->stamp, err);
    if (st != RFQ_OK)
        return st;
    pthread_mutex_lock(&v->mu);
    rfq_keyset *old = v->keys;
    v->keys = fresh;
    atomic_fetch_add(&v->generation, 1);
    pthread_mutex_unlock(&v->mu);
    rfq_keyset_unref(old); /* freed once the last verification using it is done */
    return RFQ_OK;
}

rfq_status rfq_jwt_verifier_reload(rfq_jwt_verifier *v, struct rfq_err *err)
{
    pthread_mutex_lock(&v->reload_mu);
    rfq_status st = reload_locked(v, err);
    pthread_mutex_unlock(&v->reload_mu);
    return st;
}

rfq_status rfq_jwt_verifier_poll(rfq_jwt_verifier *v, int *reloaded, struct rfq_err *err)
{
    rfq_status st = RFQ_OK;
    *reloaded = 0;
    pthread_mutex_lock(&v->reload_mu);
    if (rfq_keyset_stamp_changed(&v->stamp)) {
        *reloaded = 1;
        st = reload_locked(v, err);
    }
    pthread_mutex_unlock(&v->reload_mu);
    return st;
}

uint64_t rfq_jwt_verifier_generation(const rfq_jwt_verifier *v)
{
    return atomic_load(&((rfq_jwt_verifier *)v)->generation);
}

/* The current set, with a reference the caller drops (rfq_keyset_unref). */
static rfq_keyset *current_keys(rfq_jwt_verifier *v)
{
    pthread_mutex_lock(&v->mu);
    rfq_keyset *ks = rfq_keyset_ref(v->keys);
    pthread_mutex_unlock(&v->mu);
    return ks;
}

char *rfq_jwt_verifier_kids(rfq_jwt_verifier *v, char *out, size_t cap)
{
    rfq_keyset *ks = current_keys(v);
    size_t used = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < rfq_keyset_count(ks) && used < cap; i++) {
        int n = snprintf(out + used, cap - used, "%s%s", i ? "," : "",
                         rfq_key_kid(rfq_keyset_key_at(ks, i)));
        used += n > 0 ? (size_t)n : 0;
    }
    rfq_keyset_unref(ks);
    return out;
}

/* ---- decoding ----------------------------------------------------------------------------- */

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decode one base64url segment (RFC 7515 2: no padding, no whitespace, and the unused low
 * bits of the last character zero, so that each value has exactly one encoding) into a new
 * NUL-terminated buffer. NULL when malformed. */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *out_len)
{
    if (n == 0 || n % 4 == 1)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 3);
    if (!out)
        return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int val = b64url_value((unsigned char)s[i]);
        if (val < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)val;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1)) {
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* Decoded bytes parsed as one JSON object (strict: duplicate names and \u0000 refused);
 * NULL otherwise. */
static json_t *object_json(const unsigned char *raw, size_t len)
{
    json_t *j = raw ? json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* ---- claims ------------------------------------------------------------------------------- */

static int aud_matches(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return 1;
    }
    return 0;
}

static int tier_valid(const char *t)
{
    return strcmp(t, "basic") == 0 || strcmp(t, "premium") == 0 || strcmp(t, "enterprise") == 0;
}

/* Check the claims of a token whose signature was verified. */
static rfq_status check_claims(const rfq_jwt_verifier *v, json_t *c, int64_t now_s,
                               struct rfq_identity *out, struct rfq_err *err)
{
    json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    if (!json_is_integer(exp))
        return rfq_err_set(err, RFQ_EAUTH, "exp", "token has no integer exp claim");
    /* The leeway goes on our side of each comparison: exp and nbf come from the token and
     * may sit at the ends of the int64 range, where adding to them would overflow. */
    if (json_integer_value(exp) <= now_s - v->leeway_s)
        return rfq_err_set(err, RFQ_EAUTH, "exp", "token expired");
    if (nbf && !json_is_integer(nbf))
        return rfq_err_set(err, RFQ_EAUTH, "nbf", "nbf must be an integer");
    if (nbf && json_integer_value(nbf) > now_s + v->leeway_s)
        return rfq_err_set(err, RFQ_EAUTH, "nbf", "token not yet valid");
    const char *iss = json_string_value(json_object_get(c, "iss"));
    if (!iss || strcmp(iss, v->issuer) != 0)
        return rfq_err_set(err, RFQ_EAUTH, "iss", "wrong or missing issuer");
    if (!aud_matches(json_object_get(c, "aud"), v->audience))
        return rfq_err_set(err, RFQ_EAUTH, "aud", "wrong or missing audience");
    const char *tenant = json_string_value(json_object_get(c, "tenant_id"));
    if (!tenant || !rfq_tenant_valid(tenant))
        return rfq_err_set(err, RFQ_EAUTH, "tenant_id", "missing or invalid tenant_id claim");
    /* Only a missing tier means basic: a tier claim of another type (1, null, [...]) is as
     * unknown as "gold", not a quiet downgrade. */
    json_t *tier_claim = json_object_get(c, "tier");
    const char *tier = tier_claim ? json_string_value(tier_claim) : "basic";
    if (!tier || !tier_valid(tier))
        return rfq_err_set(err, RFQ_EAUTH, "tier", "unknown tier");
    const char *sub = json_string_value(json_object_get(c, "sub"));
    memset(out, 0, sizeof(*out));
    snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
    snprintf(out->tier, sizeof(out->tier), "%s", tier);
    snprintf(out->subject, sizeof(out->subject), "%s", sub ? sub : "");
    out->exp = json_integer_value(exp);
    return RFQ_OK;
}

/* Header checks that need no key: typ, crit, alg present, kid well-formed. *kid is borrowed
 * from hdr (NULL when absent). */
static rfq_status check_header(json_t *hdr, const char **alg, const char **kid, struct rfq_err *err)
{
    json_t *typ = json_object_get(hdr, "typ"), *kidj = json_object_get(hdr, "kid");
    /* RFC 8725 3.11: only plain JWTs here; an explicitly typed other kind (at+jwt, ...) is not
     * an API token. */
    if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT") != 0))
        return rfq_err_set(err, RFQ_EAUTH, "typ", "unexpected token type");
    if (json_object_get(hdr, "crit"))
        return rfq_err_set(err, RFQ_EAUTH, "crit", "critical header extensions are not supported");
    *alg = json_string_value(json_object_get(hdr, "alg"));
    if (!*alg)
        return rfq_err_set(err, RFQ_EAUTH, "alg", "token alg is missing or not a string");
    /* The kid is checked for shape before it is looked up, and never echoed. */
    *kid = NULL;
    if (kidj) {
        *kid = json_string_value(kidj);
        if (!rfq_kid_valid(*kid))
            return rfq_err_set(err, RFQ_EAUTH, "kid", "malformed kid");
    }
    return RFQ_OK;
}

/* The key for kid (NULL: the only key of a one-key set). */
static const rfq_key *select_key(const rfq_keyset *ks, const char *kid, struct rfq_err *err)
{
    const rfq_key *k = kid                         ? rfq_keyset_find(ks, kid)
                       : rfq_keyset_count(ks) == 1 ? rfq_keyset_key_at(ks, 0)
                                                   : NULL;
    if (!k && kid)
        rfq_err_set(err, RFQ_EAUTH, "kid", "unknown kid");
    else if (!k)
        rfq_err_set(err, RFQ_EAUTH, "kid", "token has no kid and several keys are configured");
    return k;
}

rfq_status rfq_jwt_verify(rfq_jwt_verifier *v, const char *token, size_t len, int64_t now_s,
                          struct rfq_identity *out, struct rfq_err *err)
{
    if (!token || len == 0)
        return rfq_err_set(err, RFQ_EAUTH, "", "missing token");
    if (len > RFQ_JWT_MAX)
        return rfq_err_set(err, RFQ_EAUTH, "", "token longer than %d bytes", RFQ_JWT_MAX);
    if (memchr(token, '\0', len))
        return rfq_err_set(err, RFQ_EAUTH, "", "malformed token");
    const char *end = token + len;
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) || dot1 == token ||
        dot2 == dot1 + 1)
        return rfq_err_set(err, RFQ_EAUTH, "",
                           "malformed token: expected header.payload.signature");
    if (dot2 + 1 == end)
        return rfq_err_set(err, RFQ_EAUTH, "sig", "token is not signed");

    /* Every segment must be canonical base64url before any key is touched; the payload is
     * parsed only once its signature holds. */
    rfq_status st = RFQ_EAUTH;
    size_t hdr_len = 0, payload_len = 0, sig_len = 0;
    unsigned char *hdr_raw = b64url_decode(token, (size_t)(dot1 - token), &hdr_len);
    unsigned char *payload = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &payload_len);
    unsigned char *sig = b64url_decode(dot2 + 1, (size_t)(end - dot2 - 1), &sig_len);
    json_t *hdr = object_json(hdr_raw, hdr_len), *claims = NULL;
    rfq_keyset *ks = NULL;
    const char *alg = NULL, *kid = NULL;
    if (!hdr_raw || !payload || !sig) {
        rfq_err_set(err, RFQ_EAUTH, "", "malformed token: bad base64url");
        goto out;
    }
    if (!hdr) {
        rfq_err_set(err, RFQ_EAUTH, "", "malformed token header");
        goto out;
    }
    if (check_header(hdr, &alg, &kid, err) != RFQ_OK)
        goto out;
    ks = current_keys(v);
    const rfq_key *key = select_key(ks, kid, err);
    if (!key)
        goto out;
    /* The algorithm is the key's; the token's alg must merely agree (RFC 8725 3.1). */
    if (!alg || strcmp(alg, rfq_jws_alg_name(rfq_key_alg(key))) != 0) {
        rfq_err_set(err, RFQ_EAUTH, "alg", "algorithm not accepted for this key");
        goto out;
    }
    if (rfq_key_verify(key, token, (size_t)(dot2 - token), sig, sig_len) != RFQ_OK) {
        rfq_err_set(err, RFQ_EAUTH, "sig", "bad signature");
        goto out;
    }
    claims = object_json(payload, payload_len);
    if (!claims) {
        rfq_err_set(err, RFQ_EAUTH, "", "malformed token payload");
        goto out;
    }
    st = check_claims(v, claims, now_s, out, err);
    if (st == RFQ_OK)
        snprintf(out->kid, sizeof(out->kid), "%s", rfq_key_kid(key));
out:
    free(hdr_raw);
    free(payload);
    free(sig);
    rfq_keyset_unref(ks);
    json_decref(hdr);
    json_decref(claims);
    return st;
}

/* ---- minting ------------------------------------------------------------------------------ */

rfq_status rfq_jwt_mint(char **out, const char *alg, const unsigned char *key, size_t key_len,
                        const struct rfq_jwt_claims *c)
{
    *out = NULL;
    jwt_alg_t a = jwt_str_alg(alg ? alg : "");
    if (rfq_jws_alg_from_name(alg) == RFQ_JWS_INVALID || a == JWT_ALG_INVAL || !c->tenant ||
        !rfq_tenant_valid(c->tenant) || (c->kid && !rfq_kid_valid(c->kid)))
        return RFQ_EINVAL;
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return RFQ_ENOMEM;
    int rc = c->kid ? jwt_add_header(jwt, "kid", c->kid) : 0;
    rc = rc ? rc : jwt_add_grant(jwt, "iss", c->issuer);
    rc = rc ? rc : jwt_add_grant(jwt, "aud", c->audience);
    rc = rc ? rc : jwt_add_grant(jwt, "tenant_id", c->tenant);
    rc = rc ? rc : jwt_add_grant(jwt, "tier", c->tier ? c->tier : "basic");
    if (!rc && c->subject)
        rc = jwt_add_grant(jwt, "sub", c->subject);
    rc = rc ? rc : jwt_add_grant_int(jwt, "iat", (long)c->iat);
    rc = rc ? rc : jwt_add_grant_int(jwt, "nbf", (long)c->iat);
    rc = rc ? rc : jwt_add_grant_int(jwt, "exp", (long)(c->iat + c->ttl_s));
    rc = rc ? rc : jwt_set_alg(jwt, a, key, (int)key_len);
    if (!rc)
        *out = jwt_encode_str(jwt);
    jwt_free(jwt);
    return *out ? RFQ_OK : RFQ_EINVAL;
}
