/* rfq_jwt: token verification. The header and claims are parsed by us, strictly (duplicate
 * keys refused); libjwt only checks the signature, with the key's pinned algorithm. */
#include "rfq_jwt.h"

#include <jansson.h>
#include <jwt.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rfq_jwt_verifier {
    jwt_alg_t alg;
    char alg_name[8];
    unsigned char *key; /* PEM text or HS256 secret */
    size_t key_len;
    char issuer[256];
    char audience[256];
    int leeway_s;
};

static jwt_alg_t alg_from_name(const char *name, int allow_hs256)
{
    if (strcmp(name, "ES256") == 0)
        return JWT_ALG_ES256;
    if (strcmp(name, "RS256") == 0)
        return JWT_ALG_RS256;
    if (strcmp(name, "HS256") == 0 && allow_hs256)
        return JWT_ALG_HS256;
    return JWT_ALG_INVAL;
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = malloc(65537);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n == 65536) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

rfq_status rfq_jwt_verifier_create(rfq_jwt_verifier **out, const struct rfq_jwt_cfg *cfg,
                                   struct rfq_err *err)
{
    *out = NULL;
    const char *alg = cfg->alg && *cfg->alg ? cfg->alg : "ES256";
    jwt_alg_t a = alg_from_name(alg, cfg->allow_hs256);
    if (a == JWT_ALG_INVAL)
        return rfq_err_set(err, RFQ_EINVAL, "alg", "algorithm %s is not allowed", alg);
    if (!cfg->key_file || !*cfg->key_file)
        return rfq_err_set(err, RFQ_EINVAL, "key", "a verification key is required");
    if (!cfg->issuer || !*cfg->issuer || !cfg->audience || !*cfg->audience)
        return rfq_err_set(err, RFQ_EINVAL, "iss", "issuer and audience are required");
    rfq_jwt_verifier *v = calloc(1, sizeof(*v));
    if (!v)
        return RFQ_ENOMEM;
    v->alg = a;
    snprintf(v->alg_name, sizeof(v->alg_name), "%s", alg);
    snprintf(v->issuer, sizeof(v->issuer), "%s", cfg->issuer);
    snprintf(v->audience, sizeof(v->audience), "%s", cfg->audience);
    v->leeway_s = cfg->leeway_s;
    v->key = read_file(cfg->key_file, &v->key_len);
    if (!v->key) {
        free(v);
        return rfq_err_set(err, RFQ_EINVAL, "key", "cannot read key file %s", cfg->key_file);
    }
    if (a == JWT_ALG_HS256) {
        /* A secret file's trailing newline is not part of the secret. */
        while (v->key_len && (v->key[v->key_len - 1] == '\n' || v->key[v->key_len - 1] == '\r'))
            v->key[--v->key_len] = '\0';
        if (v->key_len < 32) {
            rfq_jwt_verifier_destroy(v);
            return rfq_err_set(err, RFQ_EINVAL, "key", "HS256 secret must be >= 32 bytes");
        }
    } else if (!strstr((const char *)v->key, "-----BEGIN PUBLIC KEY-----")) {
        rfq_jwt_verifier_destroy(v);
        return rfq_err_set(err, RFQ_EINVAL, "key", "key file is not a PEM public key");
    }
    *out = v;
    return RFQ_OK;
}

void rfq_jwt_verifier_destroy(rfq_jwt_verifier *v)
{
    if (!v)
        return;
    if (v->key)
        OPENSSL_cleanse(v->key, v->key_len);
    free(v->key);
    free(v);
}

/* Decode one base64url segment (no padding) into a new NUL-terminated buffer. */
static char *b64url_decode(const char *s, size_t n, size_t *out_len)
{
    if (n == 0 || n % 4 == 1)
        return NULL;
    size_t padded = (n + 3) / 4 * 4;
    unsigned char *in = malloc(padded + 1);
    unsigned char *out = malloc(padded / 4 * 3 + 1);
    if (!in || !out)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            goto fail;
        in[i] = (unsigned char)c;
    }
    for (size_t i = n; i < padded; i++)
        in[i] = '=';
    int m = EVP_DecodeBlock(out, in, (int)padded);
    if (m < 0)
        goto fail;
    m -= (int)(padded - n); /* EVP_DecodeBlock counts padding as zero bytes */
    out[m] = '\0';
    *out_len = (size_t)m;
    free(in);
    return (char *)out;
fail:
    free(in);
    free(out);
    return NULL;
}

static json_t *segment_json(const char *s, size_t n)
{
    size_t len = 0;
    char *raw = b64url_decode(s, n, &len);
    if (!raw)
        return NULL;
    json_t *j = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

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

/* Check the claims of an already signature-verified token. */
static rfq_status check_claims(const rfq_jwt_verifier *v, json_t *c, int64_t now_s,
                               struct rfq_identity *out, struct rfq_err *err)
{
    json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    if (!json_is_integer(exp))
        return rfq_err_set(err, RFQ_EAUTH, "exp", "token has no exp claim");
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
        return rfq_err_set(err, RFQ_EAUTH, "iss", "wrong issuer");
    if (!aud_matches(json_object_get(c, "aud"), v->audience))
        return rfq_err_set(err, RFQ_EAUTH, "aud", "wrong audience");
    const char *tenant = json_string_value(json_object_get(c, "tenant_id"));
    if (!tenant || !rfq_tenant_valid(tenant))
        return rfq_err_set(err, RFQ_EAUTH, "tenant_id", "missing or invalid tenant_id claim");
    const char *tier = json_string_value(json_object_get(c, "tier"));
    if (!tier)
        tier = "basic";
    if (!tier_valid(tier))
        return rfq_err_set(err, RFQ_EAUTH, "tier", "unknown tier");
    const char *sub = json_string_value(json_object_get(c, "sub"));
    memset(out, 0, sizeof(*out));
    snprintf(out->tenant, sizeof(out->tenant), "%s", tenant);
    snprintf(out->tier, sizeof(out->tier), "%s", tier);
    snprintf(out->subject, sizeof(out->subject), "%s", sub ? sub : "");
    out->exp = json_integer_value(exp);
    return RFQ_OK;
}

rfq_status rfq_jwt_verify(const rfq_jwt_verifier *v, const char *token, size_t len, int64_t now_s,
                          struct rfq_identity *out, struct rfq_err *err)
{
    if (!token || len == 0)
        return rfq_err_set(err, RFQ_EAUTH, "", "missing token");
    if (len > RFQ_JWT_MAX)
        return rfq_err_set(err, RFQ_EAUTH, "", "token longer than %d bytes", RFQ_JWT_MAX);
    if (strlen(token) != len)
        return rfq_err_set(err, RFQ_EAUTH, "", "malformed token");
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) ||
        dot2 + 1 == token + len)
        return rfq_err_set(err, RFQ_EAUTH, "", "malformed token");

    json_t *hdr = segment_json(token, (size_t)(dot1 - token));
    json_t *claims = segment_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    rfq_status st = RFQ_EAUTH;
    jwt_t *jwt = NULL;
    if (!hdr || !claims) {
        rfq_err_set(err, RFQ_EAUTH, "", "malformed token header or payload");
        goto out;
    }
    /* The algorithm comes from the key, never from the token. */
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    if (!alg || strcmp(alg, v->alg_name) != 0) {
        rfq_err_set(err, RFQ_EAUTH, "alg", "algorithm not accepted for this key");
        goto out;
    }
    const char *typ = json_string_value(json_object_get(hdr, "typ"));
    if (json_object_get(hdr, "typ") && (!typ || strcasecmp(typ, "JWT") != 0)) {
        rfq_err_set(err, RFQ_EAUTH, "typ", "unexpected token type");
        goto out;
    }
    if (json_object_get(hdr, "crit")) {
        rfq_err_set(err, RFQ_EAUTH, "crit", "critical header extensions are not supported");
        goto out;
    }
    if (jwt_decode(&jwt, token, v->key, (int)v->key_len) != 0 || !jwt ||
        jwt_get_alg(jwt) != v->alg) {
        rfq_err_set(err, RFQ_EAUTH, "", "bad signature");
        goto out;
    }
    st = check_claims(v, claims, now_s, out, err);
out:
    if (jwt)
        jwt_free(jwt);
    json_decref(hdr);
    json_decref(claims);
    return st;
}

rfq_status rfq_jwt_mint(char **out, const char *alg, const unsigned char *key, size_t key_len,
                        const struct rfq_jwt_claims *c)
{
    *out = NULL;
    jwt_alg_t a = alg_from_name(alg, 1);
    if (a == JWT_ALG_INVAL || !c->tenant || !rfq_tenant_valid(c->tenant))
        return RFQ_EINVAL;
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return RFQ_ENOMEM;
    int rc = jwt_add_grant(jwt, "iss", c->issuer);
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
