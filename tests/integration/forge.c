/* forge: hostile bearer tokens built byte by byte with OpenSSL, so every header and payload
 * byte is under the test's control. */
#include "forge.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAYLOAD_CAP 1024

struct forge_ctx {
    const struct forge_keys *k;
    struct forge_case *cases;
    size_t n, cap;
    int failed;
};

/* base64url without padding; new string. */
static char *b64url(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (!out)
        return NULL;
    int m = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    while (m > 0 && out[m - 1] == '=')
        m--;
    out[m] = '\0';
    for (int i = 0; i < m; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    return out;
}

static char *join(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s.%s.%s", a, b, c);
    return out;
}

/* ES256 signature (R||S, RFC 7518 3.4) of in with pk into sig[64]. */
static int es256_sign(EVP_PKEY *pk, const char *in, unsigned char *sig)
{
    unsigned char der[128];
    size_t der_len = sizeof(der);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
             EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)in, strlen(in)) == 1;
    EVP_MD_CTX_free(ctx);
    const unsigned char *p = der;
    ECDSA_SIG *es = ok ? d2i_ECDSA_SIG(NULL, &p, (long)der_len) : NULL;
    if (!es)
        return -1;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok ? 0 : -1;
}

/* Compact JWS over header/payload JSON text. how: "ES256" (with pk), "HS256"/"HS512" (HMAC
 * keyed with secret), "none" (empty signature). New string, NULL on failure. */
static char *sign(const char *how, const char *header, const char *payload, EVP_PKEY *pk,
                  const void *secret, size_t secret_len)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    char *in = h && p ? join(h, p, "") : NULL;
    char *tok = NULL, *s64 = NULL;
    if (!in)
        goto out;
    in[strlen(in) - 1] = '\0'; /* "h.p." -> "h.p" */
    unsigned char sig[EVP_MAX_MD_SIZE > 64 ? EVP_MAX_MD_SIZE : 64];
    size_t sig_len = 0;
    if (strcmp(how, "ES256") == 0) {
        if (es256_sign(pk, in, sig) != 0)
            goto out;
        sig_len = 64;
    } else if (strcmp(how, "HS256") == 0 || strcmp(how, "HS512") == 0) {
        unsigned int m = 0;
        if (!HMAC(strcmp(how, "HS256") == 0 ? EVP_sha256() : EVP_sha512(), secret, (int)secret_len,
                  (const unsigned char *)in, strlen(in), sig, &m))
            goto out;
        sig_len = m;
    }
    s64 = b64url(sig, sig_len);
    if (!s64)
        goto out;
    size_t n = strlen(in) + strlen(s64) + 2;
    tok = malloc(n);
    if (tok)
        snprintf(tok, n, "%s.%s", in, s64);
out:
    free(h);
    free(p);
    free(in);
    free(s64);
    return tok;
}

/* Standard valid claims for tenant_json (a JSON value), valid one hour from now. */
static void claims(char *out, size_t cap, const struct forge_keys *k, const char *tenant_json)
{
    snprintf(out, cap,
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"tenant_id\":%s,\"tier\":\"premium\","
             "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
             k->issuer, k->audience, tenant_json, (long long)k->now_s, (long long)k->now_s,
             (long long)k->now_s + 3600);
}

/* Claims with iss/aud/exp/nbf given as JSON fragments (NULL = left out). */
static void claims_with(char *out, size_t cap, const struct forge_keys *k, const char *iss,
                        const char *aud, const char *exp, const char *nbf)
{
    char iss_def[300], aud_def[300], exp_def[32];
    snprintf(iss_def, sizeof(iss_def), "\"%s\"", k->issuer);
    snprintf(aud_def, sizeof(aud_def), "\"%s\"", k->audience);
    snprintf(exp_def, sizeof(exp_def), "%lld", (long long)k->now_s + 3600);
    int n = snprintf(out, cap, "{\"tenant_id\":\"%s\"", k->tenant);
    if (iss)
        n += snprintf(out + n, cap - (size_t)n, ",\"iss\":%s", *iss ? iss : iss_def);
    if (aud)
        n += snprintf(out + n, cap - (size_t)n, ",\"aud\":%s", *aud ? aud : aud_def);
    if (exp)
        n += snprintf(out + n, cap - (size_t)n, ",\"exp\":%s", *exp ? exp : exp_def);
    if (nbf)
        n += snprintf(out + n, cap - (size_t)n, ",\"nbf\":%s", nbf);
    snprintf(out + n, cap - (size_t)n, "}");
}

/* Header {"alg":alg,"typ":"JWT","kid":kid_json} (kid_json NULL = no kid). */
static void header(char *out, size_t cap, const char *alg, const char *kid_json)
{
    if (kid_json)
        snprintf(out, cap, "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":%s}", alg, kid_json);
    else
        snprintf(out, cap, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
}

static void add(struct forge_ctx *c, const char *name, const char *field, char *token)
{
    if (!token) {
        c->failed = 1;
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct forge_case *grown = realloc(c->cases, cap * sizeof(*grown));
        if (!grown) {
            free(token);
            c->failed = 1;
            return;
        }
        c->cases = grown;
        c->cap = cap;
    }
    struct forge_case *fc = &c->cases[c->n++];
    snprintf(fc->name, sizeof(fc->name), "%s", name);
    snprintf(fc->field, sizeof(fc->field), "%s", field);
    fc->token = token;
}

/* ES256-signed token with our kid over header hdr and payload pl. */
static char *es(struct forge_ctx *c, const char *hdr, const char *pl)
{
    return sign("ES256", hdr, pl, c->k->signer, NULL, 0);
}

/* The kid as a JSON string. */
static void kid_json(char *out, size_t cap, const char *kid)
{
    snprintf(out, cap, "\"%s\"", kid);
}

static void forge_algorithms(struct forge_ctx *c, const char *pl)
{
    const struct forge_keys *k = c->k;
    char kid[96], h[256];
    kid_json(kid, sizeof(kid), k->signer_kid);
    header(h, sizeof(h), "none", kid);
    add(c, "alg_none_unsigned", "sig", sign("none", h, pl, NULL, NULL, 0));
    static const char *const nones[][2] = {{"alg_none", "none"},
                                           {"alg_None", "None"},
                                           {"alg_NONE", "NONE"},
                                           {"alg_nOnE", "nOnE"},
                                           {"alg_empty", ""},
                                           {"alg_HS512", "HS512"},
                                           {"alg_ES384", "ES384"},
                                           {"alg_RS512", "RS512"},
                                           {"alg_RS256_on_es_key", "RS256"},
                                           {"alg_es256_lowercase", "es256"}};
    for (size_t i = 0; i < sizeof(nones) / sizeof(nones[0]); i++) {
        header(h, sizeof(h), nones[i][1], kid);
        add(c, nones[i][0], "alg", es(c, h, pl));
    }
    snprintf(h, sizeof(h), "{\"typ\":\"JWT\",\"kid\":%s}", kid);
    add(c, "alg_missing", "alg", es(c, h, pl));
    snprintf(h, sizeof(h), "{\"alg\":256,\"kid\":%s}", kid);
    add(c, "alg_not_string", "alg", es(c, h, pl));
    /* Key confusion: HMAC keyed with the text of a public key the set holds (RFC 8725 2.1). */
    header(h, sizeof(h), "HS256", kid);
    add(c, "hs256_keyed_with_es_public_pem", "alg",
        sign("HS256", h, pl, NULL, k->es_pub_pem, strlen(k->es_pub_pem)));
    char rs_kid[96];
    kid_json(rs_kid, sizeof(rs_kid), k->rs_kid);
    header(h, sizeof(h), "HS256", rs_kid);
    add(c, "hs256_keyed_with_rs_public_pem", "alg",
        sign("HS256", h, pl, NULL, k->rs_pub_pem, strlen(k->rs_pub_pem)));
    header(h, sizeof(h), "HS512", kid);
    add(c, "hs512_keyed_with_es_public_pem", "alg",
        sign("HS512", h, pl, NULL, k->es_pub_pem, strlen(k->es_pub_pem)));
    /* Duplicate alg: a last-wins parser would see ES256. */
    snprintf(h, sizeof(h), "{\"alg\":\"none\",\"alg\":\"ES256\",\"kid\":%s}", kid);
    add(c, "header_duplicate_alg", "", es(c, h, pl));
}

/* A copy of tok with the character at i replaced by another one with zero low bits, so that a
 * final character would stay canonical: only the bytes change. */
static char *altered(const char *tok, size_t i)
{
    char *t = strdup(tok);
    if (t)
        t[i] = t[i] == 'A' ? 'Q' : 'A'; /* 'A' = 0, 'Q' = 16: both have zero low 4 bits */
    return t;
}

static void forge_signatures(struct forge_ctx *c, const char *hdr, const char *pl)
{
    const struct forge_keys *k = c->k;
    char *good = es(c, hdr, pl);
    if (!good) {
        c->failed = 1;
        return;
    }
    char *dot1 = strchr(good, '.'), *dot2 = strrchr(good, '.');
    size_t len = strlen(good), sig_at = (size_t)(dot2 - good) + 1;
    /* two parts, and an empty third */
    add(c, "sig_stripped_two_parts", "", strndup(good, (size_t)(dot2 - good)));
    add(c, "sig_stripped_empty", "sig", strndup(good, sig_at));
    add(c, "sig_byte_altered", "sig", altered(good, sig_at + 10));
    /* 86 characters: the last carries 4 unused bits; setting one is a second spelling */
    char *t = strdup(good);
    if (t)
        t[len - 1]++; /* the canonical A, Q, g or w becomes B, R, h or x: same bytes */
    add(c, "sig_non_canonical_base64", "", t);
    add(c, "sig_truncated", "sig", strndup(good, len - 2));
    /* the payload for another tenant, header and signature kept */
    char other[PAYLOAD_CAP];
    claims(other, sizeof(other), k, "\"victim\"");
    char *p64 = b64url(other, strlen(other));
    char *h64 = strndup(good, (size_t)(dot1 - good));
    add(c, "payload_tenant_swapped", "sig", p64 && h64 ? join(h64, p64, dot2 + 1) : NULL);
    free(p64);
    free(h64);
    add(c, "payload_byte_altered", "sig", altered(good, (size_t)(dot1 - good) + 8));
    /* signed by a key outside the set, under a valid kid */
    EVP_PKEY *foreign = EVP_EC_gen("P-256");
    add(c, "foreign_key_valid_kid", "sig",
        foreign ? sign("ES256", hdr, pl, foreign, NULL, 0) : NULL);
    EVP_PKEY_free(foreign);
    /* whitespace inside the token */
    t = malloc(len + 2);
    if (t) {
        memcpy(t, good, sig_at);
        t[sig_at] = ' ';
        memcpy(t + sig_at + 1, good + sig_at, len - sig_at + 1);
    }
    add(c, "whitespace_inside", "", t);
    /* standard base64 padding and alphabet */
    t = malloc(len + 3);
    if (t)
        snprintf(t, len + 3, "%s==", good);
    add(c, "base64_padding", "", t);
    t = strdup(good);
    if (t)
        t[(size_t)(dot1 - good) + 3] = '+';
    add(c, "base64_invalid_char", "", t);
    /* over the 8 KiB cap before any decoding */
    t = malloc(9001);
    if (t) { /* a token whose header segment is padded out to 9000 bytes in all */
        memset(t, 'A', 9000 - len);
        memcpy(t + 9000 - len, good, len + 1);
    }
    add(c, "oversize_9000_bytes", "", t);
    free(good);
}

static void forge_kids(struct forge_ctx *c, const char *pl)
{
    static const char *const bad[][3] = {
        {"kid_unknown", "\"k-unknown\"", "kid"},
        {"kid_path_traversal", "\"../../etc/passwd\"", "kid"},
        {"kid_sql_injection", "\"' OR 1=1 --\"", "kid"},
        {"kid_newline", "\"k1\\nX-Injected: 1\"", "kid"},
        {"kid_too_long_65", "\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"",
         "kid"},
        {"kid_number", "42", "kid"},
        {"kid_array", "[\"k1\"]", "kid"},
        {"kid_empty", "\"\"", "kid"},
        {"kid_url", "\"https://evil.example/jwks.json\"", "kid"},
        /* jansson refuses \u0000: the header is malformed before the kid is read */
        {"kid_nul", "\"k1\\u0000x\"", ""},
    };
    char h[512];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        header(h, sizeof(h), "ES256", bad[i][1]);
        add(c, bad[i][0], bad[i][2], es(c, h, pl));
    }
    header(h, sizeof(h), "ES256", NULL);
    add(c, "kid_missing_several_keys", "kid", es(c, h, pl));
}

static void forge_claims(struct forge_ctx *c, const char *hdr)
{
    const struct forge_keys *k = c->k;
    char pl[PAYLOAD_CAP], past[32], future[32], nbf_future[32];
    snprintf(past, sizeof(past), "%lld", (long long)k->now_s - 3600);
    snprintf(future, sizeof(future), "%lld", (long long)k->now_s + 7200);
    snprintf(nbf_future, sizeof(nbf_future), "%lld", (long long)k->now_s + 3600);
    struct {
        const char *name, *field, *iss, *aud, *exp, *nbf;
    } cl[] = {
        {"exp_expired", "exp", "", "", past, NULL},
        {"nbf_future", "nbf", "", "", future, nbf_future},
        {"exp_missing", "exp", "", "", NULL, NULL},
        {"exp_string", "exp", "", "", "\"9999999999\"", NULL},
        {"exp_float", "exp", "", "", "9999999999.5", NULL},
        {"iss_wrong", "iss", "\"evil-issuer\"", "", "", NULL},
        {"iss_missing", "iss", NULL, "", "", NULL},
        {"aud_wrong", "aud", "", "\"other-api\"", "", NULL},
        {"aud_array_without_ours", "aud", "", "[\"other-api\",\"another\"]", "", NULL},
        {"aud_missing", "aud", "", NULL, "", NULL},
    };
    for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
        claims_with(pl, sizeof(pl), k, cl[i].iss, cl[i].aud, cl[i].exp, cl[i].nbf);
        add(c, cl[i].name, cl[i].field, es(c, hdr, pl));
    }
    static const char *const tenants[][2] = {
        {"tenant_star", "\"acme*\""},
        {"tenant_colon", "\"acme:x\""},
        {"tenant_brace", "\"ac{me}\""},
        {"tenant_uppercase", "\"ACME\""},
        {"tenant_empty", "\"\""},
        {"tenant_64_chars", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""},
        {"tenant_wildcard_gt", "\"acme>\""},
        {"tenant_not_string", "42"},
    };
    for (size_t i = 0; i < sizeof(tenants) / sizeof(tenants[0]); i++) {
        claims(pl, sizeof(pl), k, tenants[i][1]);
        add(c, tenants[i][0], "tenant_id", es(c, hdr, pl));
    }
    snprintf(pl, sizeof(pl),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"tenant_id\":\"%s\",\"tenant_id\":\"victim\","
             "\"exp\":%lld}",
             k->issuer, k->audience, k->tenant, (long long)k->now_s + 3600);
    add(c, "payload_duplicate_tenant_id", "", es(c, hdr, pl));
    snprintf(pl, sizeof(pl),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"tenant_id\":\"%s\",\"tier\":\"platinum\","
             "\"exp\":%lld}",
             k->issuer, k->audience, k->tenant, (long long)k->now_s + 3600);
    add(c, "tier_unknown", "tier", es(c, hdr, pl));
    add(c, "payload_not_json", "", es(c, hdr, "tenant_id=acme"));
    add(c, "payload_json_array", "", es(c, hdr, "[{\"tenant_id\":\"acme\"}]"));
}

static void forge_headers(struct forge_ctx *c, const char *pl)
{
    char kid[96], h[256];
    kid_json(kid, sizeof(kid), c->k->signer_kid);
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":%s}", kid);
    add(c, "typ_at_jwt", "typ", es(c, h, pl));
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"typ\":1,\"kid\":%s}", kid);
    add(c, "typ_not_string", "typ", es(c, h, pl));
    snprintf(h, sizeof(h), "{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"kid\":%s}", kid);
    add(c, "crit_present", "crit", es(c, h, pl));
    add(c, "header_not_json", "", es(c, "alg=ES256", pl));
    add(c, "header_json_array", "", es(c, "[\"ES256\"]", pl));
}

char *forge_valid(const struct forge_keys *k, const char *kid, const char *tenant, const char *tier,
                  int64_t ttl_s)
{
    char h[256], kj[96], pl[PAYLOAD_CAP];
    if (kid)
        kid_json(kj, sizeof(kj), kid);
    header(h, sizeof(h), "ES256", kid ? kj : NULL);
    snprintf(pl, sizeof(pl),
             "{\"iss\":\"%s\",\"aud\":\"%s\",\"tenant_id\":\"%s\",\"tier\":\"%s\","
             "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
             k->issuer, k->audience, tenant, tier, (long long)k->now_s, (long long)k->now_s,
             (long long)(k->now_s + ttl_s));
    return sign("ES256", h, pl, k->signer, NULL, 0);
}

int forge_all(struct forge_case **out, size_t *n, const struct forge_keys *k)
{
    struct forge_ctx c = {.k = k};
    char pl[PAYLOAD_CAP], kid[96], hdr[256], tenant[96];
    snprintf(tenant, sizeof(tenant), "\"%s\"", k->tenant);
    claims(pl, sizeof(pl), k, tenant);
    kid_json(kid, sizeof(kid), k->signer_kid);
    header(hdr, sizeof(hdr), "ES256", kid);
    add(&c, "control_valid", "ok", es(&c, hdr, pl));
    forge_algorithms(&c, pl);
    forge_signatures(&c, hdr, pl);
    forge_kids(&c, pl);
    forge_claims(&c, hdr);
    forge_headers(&c, pl);
    if (c.failed) {
        forge_free(c.cases, c.n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    *out = c.cases;
    *n = c.n;
    return 0;
}

void forge_free(struct forge_case *cases, size_t n)
{
    for (size_t i = 0; cases && i < n; i++)
        free(cases[i].token);
    free(cases);
}
