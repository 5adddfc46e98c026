/* test_jwt: token minting and verification against real ES256/RS256 keys, plus hand-crafted
 * hostile tokens (alg none, HS256 key confusion, duplicate claims, oversize, bad tenants). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <pthread.h>

#include "rfq_jwt.h"

#define NOW 1760000000LL /* fixed "current" time: tests never depend on the wall clock */
#define ISS "rfq-dev"
#define AUD "rfq-engine"
#define HS_SECRET "0123456789abcdef0123456789abcdef-test-secret"

/* Keys and files shared by every test; created once in the group setup. */
static struct {
    char dir[64];
    EVP_PKEY *es, *es_other, *rs;
    char es_priv[128], es_pub[128], es_other_priv[128], rs_priv[128], rs_pub[128];
    char hs_secret[128], hs_short[128], empty[128];
    rfq_jwt_verifier *ves, *vrs, *vhs;
} K;

/* ---- helpers ----------------------------------------------------------------------------- */

static void path_in_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", K.dir, name);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int write_key(const char *path, EVP_PKEY *k, int private_key)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = private_key ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)
                         : PEM_write_PUBKEY(f, k);
    return fclose(f) == 0 && ok == 1 ? 0 : -1;
}

/* Read a whole (small) file into a new NUL-terminated buffer. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(65537);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

/* base64url without padding of n bytes; new string. */
static char *b64url(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    assert_non_null(out);
    int m = EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    while (m > 0 && out[m - 1] == '=')
        m--;
    out[m] = '\0';
    for (int i = 0; i < m; i++) {
        if (out[i] == '+')
            out[i] = '-';
        else if (out[i] == '/')
            out[i] = '_';
    }
    return out;
}

static char *join3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%s.%s.%s", a, b, c);
    return out;
}

/* Signing input "b64(header).b64(payload)" as a new string. */
static char *signing_input(const char *header, const char *payload)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%s.%s", h, p);
    free(h);
    free(p);
    return out;
}

/* Build and sign a compact JWS by hand with OpenSSL, so tests control every byte of the
 * header and payload. alg is "ES256", "RS256" or "HS256" (secret = key bytes). New string. */
static char *sign_raw(const char *alg, const char *header, const char *payload, EVP_PKEY *pkey,
                      const void *secret, size_t secret_len)
{
    char *in = signing_input(header, payload);
    unsigned char sig[512];
    size_t sig_len = sizeof(sig);
    if (strcmp(alg, "HS256") == 0) {
        unsigned int mlen = 0;
        assert_non_null(HMAC(EVP_sha256(), secret, (int)secret_len, (unsigned char *)in, strlen(in),
                             sig, &mlen));
        sig_len = mlen;
    } else {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned char der[512];
        size_t der_len = sizeof(der);
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
        assert_int_equal(EVP_DigestSign(ctx, der, &der_len, (unsigned char *)in, strlen(in)), 1);
        EVP_MD_CTX_free(ctx);
        if (strcmp(alg, "ES256") == 0) {
            /* JWS wants R||S (32 bytes each), OpenSSL gives DER. */
            const unsigned char *p = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
            assert_non_null(es);
            const BIGNUM *r, *s;
            ECDSA_SIG_get0(es, &r, &s);
            assert_int_equal(BN_bn2binpad(r, sig, 32), 32);
            assert_int_equal(BN_bn2binpad(s, sig + 32, 32), 32);
            ECDSA_SIG_free(es);
            sig_len = 64;
        } else {
            memcpy(sig, der, der_len);
            sig_len = der_len;
        }
    }
    char *s64 = b64url(sig, sig_len);
    size_t n = strlen(in) + strlen(s64) + 2;
    char *tok = malloc(n);
    assert_non_null(tok);
    snprintf(tok, n, "%s.%s", in, s64);
    free(in);
    free(s64);
    return tok;
}

static char *sign_es(const char *payload)
{
    return sign_raw("ES256", "{\"alg\":\"ES256\",\"typ\":\"JWT\"}", payload, K.es, NULL, 0);
}

/* Standard valid claims for tenant, issued at NOW, valid one hour. */
static void std_payload(char *out, size_t cap, const char *tenant_json)
{
    snprintf(out, cap,
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":%s,\"tier\":\"premium\","
             "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
             tenant_json, NOW, NOW, NOW + 3600);
}

static char *mint(const char *alg, const char *key_path, const char *tenant, const char *tier,
                  int64_t iat, int64_t ttl)
{
    size_t len = 0;
    unsigned char *key = slurp(key_path, &len);
    struct rfq_jwt_claims c = {.issuer = ISS,
                               .audience = AUD,
                               .tenant = tenant,
                               .tier = tier,
                               .subject = "backend-1",
                               .iat = iat,
                               .ttl_s = ttl};
    char *tok = NULL;
    rfq_status st = rfq_jwt_mint(&tok, alg, key, len, &c);
    free(key);
    assert_int_equal(st, RFQ_OK);
    assert_non_null(tok);
    return tok;
}

static void expect_ok(rfq_jwt_verifier *v, const char *tok, struct rfq_identity *id)
{
    struct rfq_err err = {.field = ""};
    rfq_status st = rfq_jwt_verify(v, tok, strlen(tok), NOW, id, &err);
    if (st != RFQ_OK)
        print_error("verify failed: field=%s message=%s\n", err.field, err.message);
    assert_int_equal(st, RFQ_OK);
}

/* Verification must fail with RFQ_EAUTH, blaming field, with a message. */
static void expect_fail_len(rfq_jwt_verifier *v, const char *tok, size_t len, const char *field)
{
    struct rfq_err err = {.field = ""};
    struct rfq_identity id;
    memset(&id, 0x5a, sizeof(id));
    rfq_status st = rfq_jwt_verify(v, tok, len, NOW, &id, &err);
    if (st != RFQ_EAUTH || strcmp(err.field, field) != 0)
        print_error("token %.60s...: status=%s field=\"%s\" message=%s (wanted field \"%s\")\n",
                    tok ? tok : "(null)", rfq_status_str(st), err.field, err.message, field);
    assert_int_equal(st, RFQ_EAUTH);
    assert_string_equal(err.field, field);
    assert_true(err.message[0] != '\0');
}

static void expect_fail(rfq_jwt_verifier *v, const char *tok, const char *field)
{
    expect_fail_len(v, tok, strlen(tok), field);
}

static rfq_jwt_verifier *make_verifier(const char *alg, const char *key, int allow_hs)
{
    struct rfq_jwt_cfg cfg = {.key_file = key,
                              .alg = alg,
                              .issuer = ISS,
                              .audience = AUD,
                              .leeway_s = 30,
                              .allow_hs256 = allow_hs};
    rfq_jwt_verifier *v = NULL;
    struct rfq_err err = {.field = ""};
    rfq_status st = rfq_jwt_verifier_create(&v, &cfg, &err);
    if (st != RFQ_OK)
        print_error("verifier_create: %s %s\n", err.field, err.message);
    assert_int_equal(st, RFQ_OK);
    assert_non_null(v);
    return v;
}

/* ---- setup ------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    snprintf(K.dir, sizeof(K.dir), "/tmp/rfq-test-jwt-XXXXXX");
    if (!mkdtemp(K.dir))
        return -1;
    K.es = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    K.es_other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    K.rs = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (!K.es || !K.es_other || !K.rs)
        return -1;
    path_in_dir(K.es_priv, sizeof(K.es_priv), "es.key");
    path_in_dir(K.es_pub, sizeof(K.es_pub), "es.pub");
    path_in_dir(K.es_other_priv, sizeof(K.es_other_priv), "es-other.key");
    path_in_dir(K.rs_priv, sizeof(K.rs_priv), "rs.key");
    path_in_dir(K.rs_pub, sizeof(K.rs_pub), "rs.pub");
    path_in_dir(K.hs_secret, sizeof(K.hs_secret), "hs.secret");
    path_in_dir(K.hs_short, sizeof(K.hs_short), "hs-short.secret");
    path_in_dir(K.empty, sizeof(K.empty), "empty");
    if (write_key(K.es_priv, K.es, 1) || write_key(K.es_pub, K.es, 0) ||
        write_key(K.es_other_priv, K.es_other, 1) || write_key(K.rs_priv, K.rs, 1) ||
        write_key(K.rs_pub, K.rs, 0) || write_text(K.hs_secret, HS_SECRET "\n") ||
        write_text(K.hs_short, "too-short\n") || write_text(K.empty, ""))
        return -1;
    K.ves = make_verifier("ES256", K.es_pub, 0);
    K.vrs = make_verifier("RS256", K.rs_pub, 0);
    K.vhs = make_verifier("HS256", K.hs_secret, 1);
    return 0;
}

static int group_teardown(void **state)
{
    const char *names[] = {"es.key", "es.pub",    "es-other.key",    "rs.key",
                           "rs.pub", "hs.secret", "hs-short.secret", "empty"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char p[128];
        path_in_dir(p, sizeof(p), names[i]);
        unlink(p);
    }
    rmdir(K.dir);
    rfq_jwt_verifier_destroy(K.ves);
    rfq_jwt_verifier_destroy(K.vrs);
    rfq_jwt_verifier_destroy(K.vhs);
    EVP_PKEY_free(K.es);
    EVP_PKEY_free(K.es_other);
    EVP_PKEY_free(K.rs);
    return 0;
}

/* ---- valid tokens ------------------------------------------------------------------------ */

static void test_es256_valid(void **state)
{
    char *tok = mint("ES256", K.es_priv, "acme", "premium", NOW, 600);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    assert_string_equal(id.tenant, "acme");
    assert_string_equal(id.tier, "premium");
    assert_string_equal(id.subject, "backend-1");
    assert_int_equal(id.exp, NOW + 600);
    free(tok);
}

static void test_rs256_valid(void **state)
{
    char *tok = mint("RS256", K.rs_priv, "tenant-42", "enterprise", NOW - 10, 60);
    struct rfq_identity id;
    expect_ok(K.vrs, tok, &id);
    assert_string_equal(id.tenant, "tenant-42");
    assert_string_equal(id.tier, "enterprise");
    free(tok);
}

static void test_hs256_valid_when_configured(void **state)
{
    /* The verifier strips the secret file's trailing newline; the minter gets the bare secret. */
    const char *secret = HS_SECRET;
    struct rfq_jwt_claims c = {
        .issuer = ISS, .audience = AUD, .tenant = "acme", .tier = "basic", .iat = NOW, .ttl_s = 60};
    char *tok = NULL;
    assert_int_equal(rfq_jwt_mint(&tok, "HS256", (const unsigned char *)secret, strlen(secret), &c),
                     RFQ_OK);
    struct rfq_identity id;
    expect_ok(K.vhs, tok, &id);
    assert_string_equal(id.tier, "basic");
    assert_string_equal(id.subject, "");
    /* The same token means nothing to an ES256 verifier. */
    expect_fail(K.ves, tok, "alg");
    free(tok);
}

static void test_hand_signed_control(void **state)
{
    /* The hand-made signer is right: otherwise the hostile cases below prove nothing. */
    char payload[512];
    std_payload(payload, sizeof(payload), "\"acme\"");
    char *tok = sign_es(payload);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    assert_string_equal(id.tenant, "acme");
    free(tok);
    tok = sign_raw("RS256", "{\"alg\":\"RS256\"}", payload, K.rs, NULL, 0);
    expect_ok(K.vrs, tok, &id);
    free(tok);
    /* lower-case typ is accepted, as libjwt does */
    tok = sign_raw("ES256", "{\"typ\":\"jwt\",\"alg\":\"ES256\"}", payload, K.es, NULL, 0);
    expect_ok(K.ves, tok, &id);
    free(tok);
}

static void test_tier_default_and_unknown(void **state)
{
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\",\"exp\":%lld}",
             NOW + 60);
    char *tok = sign_es(payload);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    assert_string_equal(id.tier, "basic");
    free(tok);

    tok = mint("ES256", K.es_priv, "acme", "gold", NOW, 60);
    expect_fail(K.ves, tok, "tier");
    free(tok);
}

static void test_aud_array(void **state)
{
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"" AUD "\"],\"tenant_id\":\"acme\","
             "\"exp\":%lld}",
             NOW + 60);
    char *tok = sign_es(payload);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    free(tok);

    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":[\"other\",1,null],\"tenant_id\":\"acme\","
             "\"exp\":%lld}",
             NOW + 60);
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "aud");
    free(tok);
}

/* ---- time claims ------------------------------------------------------------------------- */

static void test_expired(void **state)
{
    char *tok = mint("ES256", K.es_priv, "acme", "basic", NOW - 7200, 3600);
    expect_fail(K.ves, tok, "exp");
    free(tok);
}

static void test_exp_leeway_boundary(void **state)
{
    /* exp 29 s ago is within the 30 s leeway; exactly 30 s ago is not. */
    char *tok = mint("ES256", K.es_priv, "acme", "basic", NOW - 100, 71);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    free(tok);
    tok = mint("ES256", K.es_priv, "acme", "basic", NOW - 100, 70);
    expect_fail(K.ves, tok, "exp");
    free(tok);
}

static void test_not_yet_valid(void **state)
{
    char *tok = mint("ES256", K.es_priv, "acme", "basic", NOW + 3600, 600);
    expect_fail(K.ves, tok, "nbf");
    free(tok);
    /* nbf 30 s ahead is within the leeway, 31 s is not */
    tok = mint("ES256", K.es_priv, "acme", "basic", NOW + 30, 600);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    free(tok);
    tok = mint("ES256", K.es_priv, "acme", "basic", NOW + 31, 600);
    expect_fail(K.ves, tok, "nbf");
    free(tok);
}

static void test_missing_or_bad_exp(void **state)
{
    static const char *const bad_exp[] = {
        "",           ",\"exp\":\"9999999999\"", ",\"exp\":1e10", ",\"exp\":null", ",\"exp\":true",
        ",\"exp\":-1"};
    for (size_t i = 0; i < sizeof(bad_exp) / sizeof(bad_exp[0]); i++) {
        char payload[512];
        snprintf(payload, sizeof(payload),
                 "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\"%s}", bad_exp[i]);
        char *tok = sign_es(payload);
        expect_fail(K.ves, tok, "exp");
        free(tok);
    }
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\",\"exp\":%lld,"
             "\"nbf\":\"0\"}",
             NOW + 60);
    char *tok = sign_es(payload);
    expect_fail(K.ves, tok, "nbf");
    free(tok);
}

static void test_extreme_times(void **state)
{
    /* A far-future exp or a far-past nbf is the issuer's choice; the checks must not overflow
     * (signed overflow is undefined behaviour and traps under -fsanitize=undefined). */
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\","
             "\"exp\":9223372036854775807,\"nbf\":-9223372036854775808}");
    char *tok = sign_es(payload);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    assert_int_equal(id.exp, INT64_MAX);
    free(tok);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\","
             "\"exp\":-9223372036854775808}");
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "exp");
    free(tok);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\","
             "\"exp\":9223372036854775807,\"nbf\":9223372036854775807}");
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "nbf");
    free(tok);
}

/* ---- iss / aud / tenant ------------------------------------------------------------------ */

static void test_wrong_aud_iss(void **state)
{
    size_t len = 0;
    unsigned char *key = slurp(K.es_priv, &len);
    struct rfq_jwt_claims c = {
        .issuer = ISS, .audience = "other-api", .tenant = "acme", .iat = NOW, .ttl_s = 60};
    char *tok = NULL;
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", key, len, &c), RFQ_OK);
    expect_fail(K.ves, tok, "aud");
    free(tok);
    c.audience = AUD;
    c.issuer = "rfq-prod";
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", key, len, &c), RFQ_OK);
    expect_fail(K.ves, tok, "iss");
    free(tok);
    c.issuer = "RFQ-DEV"; /* comparison is exact */
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", key, len, &c), RFQ_OK);
    expect_fail(K.ves, tok, "iss");
    free(tok);
    free(key);

    char payload[512];
    snprintf(payload, sizeof(payload), "{\"aud\":\"" AUD "\",\"tenant_id\":\"acme\",\"exp\":%lld}",
             NOW + 60);
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "iss");
    free(tok);
    snprintf(payload, sizeof(payload),
             "{\"iss\":[\"" ISS "\"],\"aud\":\"" AUD "\",\"tenant_id\":\"acme\",\"exp\":%lld}",
             NOW + 60);
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "iss");
    free(tok);
    snprintf(payload, sizeof(payload), "{\"iss\":\"" ISS "\",\"tenant_id\":\"acme\",\"exp\":%lld}",
             NOW + 60);
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "aud");
    free(tok);
}

static void test_bad_tenant_claims(void **state)
{
    static const char *const bad[] = {
        "\"acme*\"",
        "\"acme:x\"",
        "\"ac{me}\"",
        "\"Acme\"",
        "\"ACME\"",
        "\"acme.eu\"",
        "\"acme>\"",
        "\"-acme\"",
        "\"\"",
        "\"acme x\"",
        "\"acme/x\"",
        "\"acme_x\"",
        "42",
        "null",
        "[\"acme\"]",
        "{\"id\":\"acme\"}",
        "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"", /* 64 chars */
        "\"caf\\u00e9\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char payload[512];
        std_payload(payload, sizeof(payload), bad[i]);
        char *tok = sign_es(payload);
        expect_fail(K.ves, tok, "tenant_id");
        free(tok);
    }
    /* missing tenant_id */
    char payload[512];
    snprintf(payload, sizeof(payload), "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%lld}",
             NOW + 60);
    char *tok = sign_es(payload);
    expect_fail(K.ves, tok, "tenant_id");
    free(tok);
    /* 63 characters is the longest valid tenant */
    std_payload(payload, sizeof(payload),
                "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"");
    tok = sign_es(payload);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    assert_int_equal(strlen(id.tenant), 63);
    free(tok);
}

static void test_embedded_nul_claims(void **state)
{
    /* "acme\u0000evil" must not become tenant "acme" (nor pass as iss/aud by its prefix):
     * the claims parser refuses \u0000 outright, so these are malformed tokens. */
    char payload[512];
    std_payload(payload, sizeof(payload), "\"acme\\u0000evil\"");
    char *tok = sign_es(payload);
    expect_fail(K.ves, tok, "");
    free(tok);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\\u0000x\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\","
             "\"exp\":%lld}",
             NOW + 60);
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "");
    free(tok);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\\u0000x\",\"tenant_id\":\"acme\","
             "\"exp\":%lld}",
             NOW + 60);
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "");
    free(tok);
}

static void test_duplicate_keys(void **state)
{
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\","
             "\"tenant_id\":\"evil\",\"exp\":%lld}",
             NOW + 60);
    char *tok = sign_es(payload);
    expect_fail(K.ves, tok, "");
    free(tok);
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant_id\":\"acme\",\"exp\":%lld,"
             "\"exp\":%lld}",
             NOW - 3600, NOW + 60);
    tok = sign_es(payload);
    expect_fail(K.ves, tok, "");
    free(tok);
    /* duplicate "alg" in the header: libjwt alone would take the last one */
    std_payload(payload, sizeof(payload), "\"acme\"");
    tok = sign_raw("ES256", "{\"alg\":\"none\",\"alg\":\"ES256\"}", payload, K.es, NULL, 0);
    expect_fail(K.ves, tok, "");
    free(tok);
}

/* ---- algorithm attacks ------------------------------------------------------------------- */

static void test_alg_none(void **state)
{
    static const char *const spellings[] = {"none", "None", "NONE", "nOnE", ""};
    char payload[512];
    std_payload(payload, sizeof(payload), "\"acme\"");
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        char header[128];
        snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", spellings[i]);
        char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
        /* unsigned: empty signature segment */
        char *tok = join3(h, p, "");
        expect_fail(K.ves, tok, "sig");
        expect_fail(K.vrs, tok, "sig");
        expect_fail(K.vhs, tok, "sig");
        free(tok);
        /* with some signature bytes, it reaches the algorithm pin */
        tok = join3(h, p, "c2lnbmF0dXJl");
        expect_fail(K.ves, tok, "alg");
        expect_fail(K.vrs, tok, "alg");
        expect_fail(K.vhs, tok, "alg");
        free(tok);
        /* and a real ES256 signature over the "none" header does not help */
        tok = sign_raw("ES256", header, payload, K.es, NULL, 0);
        expect_fail(K.ves, tok, "alg");
        free(tok);
        free(h);
        free(p);
    }
    /* alg missing, or not a string */
    char *tok = sign_raw("ES256", "{\"typ\":\"JWT\"}", payload, K.es, NULL, 0);
    expect_fail(K.ves, tok, "alg");
    free(tok);
    tok = sign_raw("ES256", "{\"alg\":[\"ES256\"]}", payload, K.es, NULL, 0);
    expect_fail(K.ves, tok, "alg");
    free(tok);
    tok = sign_raw("ES256", "{\"alg\":\"es256\"}", payload, K.es, NULL, 0);
    expect_fail(K.ves, tok, "alg");
    free(tok);
}

static void test_hs256_with_public_key_as_secret(void **state)
{
    /* The classic key-confusion attack: HMAC keyed with the verifier's public PEM text. */
    char payload[512];
    std_payload(payload, sizeof(payload), "\"acme\"");
    const char *pubs[] = {K.es_pub, K.rs_pub};
    rfq_jwt_verifier *vs[] = {K.ves, K.vrs};
    for (int i = 0; i < 2; i++) {
        size_t len = 0;
        unsigned char *pem = slurp(pubs[i], &len);
        char *tok =
            sign_raw("HS256", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, NULL, pem, len);
        /* The trap is real: bare libjwt accepts this token with the public key... */
        jwt_t *jwt = NULL;
        assert_int_equal(jwt_decode(&jwt, tok, pem, (int)len), 0);
        assert_int_equal(jwt_get_alg(jwt), JWT_ALG_HS256);
        jwt_free(jwt);
        /* ...and our pinned verifier does not. */
        expect_fail(vs[i], tok, "alg");
        free(tok);
        /* also without the PEM's trailing newline */
        tok = sign_raw("HS256", "{\"alg\":\"HS256\"}", payload, NULL, pem, len - 1);
        expect_fail(vs[i], tok, "alg");
        free(tok);
        free(pem);
    }
}

static void test_cross_algorithm(void **state)
{
    char *rs = mint("RS256", K.rs_priv, "acme", "basic", NOW, 60);
    expect_fail(K.ves, rs, "alg");
    expect_fail(K.vhs, rs, "alg");
    char *es = mint("ES256", K.es_priv, "acme", "basic", NOW, 60);
    expect_fail(K.vrs, es, "alg");
    /* an RS256 signature under a header claiming ES256 */
    char payload[512];
    std_payload(payload, sizeof(payload), "\"acme\"");
    char *tok = sign_raw("RS256", "{\"alg\":\"ES256\"}", payload, K.rs, NULL, 0);
    expect_fail(K.ves, tok, "sig");
    free(tok);
    free(rs);
    free(es);
}

static void test_bad_header_fields(void **state)
{
    char payload[512];
    std_payload(payload, sizeof(payload), "\"acme\"");
    char *tok = sign_raw("ES256", "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}", payload, K.es, NULL, 0);
    expect_fail(K.ves, tok, "typ");
    free(tok);
    tok = sign_raw("ES256", "{\"alg\":\"ES256\",\"typ\":7}", payload, K.es, NULL, 0);
    expect_fail(K.ves, tok, "typ");
    free(tok);
    tok = sign_raw("ES256", "{\"alg\":\"ES256\",\"crit\":[\"exp\"]}", payload, K.es, NULL, 0);
    expect_fail(K.ves, tok, "crit");
    free(tok);
}

/* ---- signature tampering ----------------------------------------------------------------- */

static void test_other_key(void **state)
{
    char *tok = mint("ES256", K.es_other_priv, "acme", "basic", NOW, 60);
    expect_fail(K.ves, tok, "sig");
    free(tok);
}

static void test_altered_payload(void **state)
{
    char *tok = mint("ES256", K.es_priv, "acme", "basic", NOW, 60);
    char *dot1 = strchr(tok, '.'), *dot2 = strchr(dot1 + 1, '.');
    /* swap in a payload for another tenant, keeping header and signature */
    char payload[512];
    std_payload(payload, sizeof(payload), "\"victim\"");
    char *p = b64url(payload, strlen(payload));
    *dot1 = '\0';
    char *forged = join3(tok, p, dot2 + 1);
    *dot1 = '.';
    expect_fail(K.ves, forged, "sig");
    free(forged);
    free(p);
    /* flip one character in the payload and in the signature */
    char *t2 = strdup(tok);
    size_t i = (size_t)(dot1 - tok) + 5;
    t2[i] = t2[i] == 'A' ? 'B' : 'A';
    expect_fail(K.ves, t2, "sig");
    strcpy(t2, tok);
    i = (size_t)(dot2 - tok) + 10;
    t2[i] = t2[i] == 'A' ? 'B' : 'A';
    expect_fail(K.ves, t2, "sig");
    /* truncated signature */
    strcpy(t2, tok);
    t2[strlen(t2) - 2] = '\0'; /* 84 characters: canonical base64url of 63 bytes */
    expect_fail(K.ves, t2, "sig");
    free(t2);
    free(tok);
}

static void test_stripped_signature(void **state)
{
    char *tok = mint("ES256", K.es_priv, "acme", "basic", NOW, 60);
    char *dot2 = strrchr(tok, '.');
    dot2[1] = '\0'; /* "h.p." */
    expect_fail(K.ves, tok, "sig");
    dot2[0] = '\0'; /* "h.p" */
    expect_fail(K.ves, tok, "");
    free(tok);
}

/* ---- size and syntax --------------------------------------------------------------------- */

/* A validly signed token whose total length is exactly want, or NULL if the padding
 * arithmetic cannot hit it with this header. */
static char *token_of_length(size_t want)
{
    for (int xlen = 0; xlen < 4; xlen++) {
        char header[64];
        snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"x\":\"%.*s\"}", xlen, "xxxx");
        size_t hlen = 4 * strlen(header) / 3 + (strlen(header) % 3 ? 1 : 0);
        char base[512];
        std_payload(base, sizeof(base), "\"acme\"");
        base[strlen(base) - 1] = '\0'; /* drop '}' to append a pad claim */
        for (size_t pad = 0; pad < want; pad++) {
            size_t plen_raw = strlen(base) + strlen(",\"pad\":\"\"}") + pad;
            size_t plen = 4 * plen_raw / 3 + (plen_raw % 3 ? 1 : 0);
            if (hlen + 1 + plen + 1 + 86 != want)
                continue;
            char *payload = malloc(plen_raw + 1);
            assert_non_null(payload);
            int n = snprintf(payload, plen_raw + 1, "%s,\"pad\":\"", base);
            memset(payload + n, 'x', pad);
            strcpy(payload + n + pad, "\"}");
            char *tok = sign_raw("ES256", header, payload, K.es, NULL, 0);
            free(payload);
            assert_int_equal(strlen(tok), want);
            return tok;
        }
    }
    return NULL;
}

static void test_oversize(void **state)
{
    char *tok = token_of_length(RFQ_JWT_MAX);
    assert_non_null(tok);
    struct rfq_identity id;
    expect_ok(K.ves, tok, &id);
    free(tok);
    tok = token_of_length(RFQ_JWT_MAX + 1);
    if (!tok)
        tok = token_of_length(RFQ_JWT_MAX + 2);
    assert_non_null(tok);
    expect_fail(K.ves, tok, "");
    free(tok);
    /* a huge token is refused before any parsing */
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'A', n);
    big[100] = '.';
    big[200] = '.';
    big[n] = '\0';
    expect_fail(K.ves, big, "");
    free(big);
}

static void test_malformed(void **state)
{
    char payload[512];
    std_payload(payload, sizeof(payload), "\"acme\"");
    char *p = b64url(payload, strlen(payload));
    const char *hdr = "{\"alg\":\"ES256\"}";
    char *h = b64url(hdr, strlen(hdr));
    char *not_json = b64url("hello", 5), *arr = b64url("[1,2]", 5), *str = b64url("\"x\"", 3);
    char *trailing = b64url("{\"alg\":\"ES256\"} x", 17),
         *nul = b64url("{\"alg\":\"ES256\"}\0", 16);

    static const char *const fixed[] = {
        "", ".", "..", "...", "abc", "a.b", "a.b.c", "a.b.c.d", "!!!.###.$$$", " . . ",
        "eyJhbGciOiJFUzI1NiJ9.e30.x.", "eyJhbGciOiJFUzI1NiJ9..c2ln", ".e30.c2ln",
        /* standard (not url) base64 alphabet and padding are refused */
        "eyJhbGciOiJFUzI1NiJ9.e30=.c2ln", "eyJhbGciOiJFUzI1NiJ9.e+/.c2ln",
        /* a segment of length 1 mod 4 cannot be base64 */
        "eyJhbGciOiJFUzI1NiJ9.e30xx.c2ln"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        const char *field = "";
        expect_fail(K.ves, fixed[i], field);
    }
    char *t;
    const char *bad_headers[] = {not_json, arr, str, trailing, nul};
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        t = join3(bad_headers[i], p, "c2ln");
        expect_fail(K.ves, t, "");
        free(t);
    }
    /* A payload that is not one JSON object fails even under a valid signature. */
    static const char *const bad_payloads[] = {"hello", "[1,2]", "\"x\"", "{} x", "", "{"};
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++) {
        t = sign_raw("ES256", hdr, bad_payloads[i], K.es, NULL, 0);
        expect_fail(K.ves, t, "");
        free(t);
    }
    /* NULL, zero length, and a length that disagrees with the string (embedded NUL) */
    expect_fail_len(K.ves, NULL, 0, "");
    t = mint("ES256", K.es_priv, "acme", "basic", NOW, 60);
    expect_fail_len(K.ves, t, 0, "");
    size_t len = strlen(t);
    char *with_nul = malloc(len + 8);
    memcpy(with_nul, t, len + 1);
    memcpy(with_nul + len + 1, "garbage", 7);
    expect_fail_len(K.ves, with_nul, len + 8, "");
    /* whitespace around an otherwise valid token */
    char *ws = malloc(len + 3);
    snprintf(ws, len + 3, " %s ", t);
    expect_fail(K.ves, ws, "");
    free(ws);
    free(with_nul);
    free(t);
    free(p);
    free(h);
    free(not_json);
    free(arr);
    free(str);
    free(trailing);
    free(nul);
}

/* ---- creation and minting ---------------------------------------------------------------- */

static void expect_create_fails(const struct rfq_jwt_cfg *cfg, const char *field)
{
    rfq_jwt_verifier *v = (rfq_jwt_verifier *)&v; /* poisoned: must become NULL */
    struct rfq_err err = {.field = ""};
    assert_int_equal(rfq_jwt_verifier_create(&v, cfg, &err), RFQ_EINVAL);
    assert_null(v);
    assert_string_equal(err.field, field);
    assert_true(err.message[0] != '\0');
}

static void test_verifier_create_failures(void **state)
{
    char missing[160];
    path_in_dir(missing, sizeof(missing), "does-not-exist.pem");
    struct rfq_jwt_cfg base = {
        .key_file = K.es_pub, .alg = "ES256", .issuer = ISS, .audience = AUD, .leeway_s = 30};
    struct rfq_jwt_cfg c;

    c = base, c.key_file = NULL;
    expect_create_fails(&c, "key");
    c = base, c.key_file = "";
    expect_create_fails(&c, "key");
    c = base, c.key_file = missing;
    expect_create_fails(&c, "key");
    c = base, c.key_file = K.empty;
    expect_create_fails(&c, "key");
    c = base, c.key_file = K.dir; /* a directory */
    expect_create_fails(&c, "key");
    c = base, c.key_file = K.es_priv; /* a private key where a public one is expected */
    expect_create_fails(&c, "key");
    c = base, c.key_file = K.hs_secret;
    expect_create_fails(&c, "key");
    c = base, c.alg = "HS256"; /* not allowed unless configured */
    expect_create_fails(&c, "alg");
    c = base, c.alg = "HS256", c.key_file = K.hs_secret;
    expect_create_fails(&c, "alg");
    c = base, c.alg = "HS256", c.key_file = K.hs_short, c.allow_hs256 = 1;
    expect_create_fails(&c, "key");
    static const char *const bad_algs[] = {"none", "None", "es256", "RS512", "ES384", "PS256"};
    for (size_t i = 0; i < sizeof(bad_algs) / sizeof(bad_algs[0]); i++) {
        c = base, c.alg = bad_algs[i], c.allow_hs256 = 1;
        expect_create_fails(&c, "alg");
    }
    c = base, c.issuer = NULL;
    expect_create_fails(&c, "iss");
    c = base, c.audience = "";
    expect_create_fails(&c, "iss");

    /* NULL or empty alg means ES256 */
    c = base, c.alg = NULL;
    rfq_jwt_verifier *v = NULL;
    assert_int_equal(rfq_jwt_verifier_create(&v, &c, NULL), RFQ_OK);
    char *tok = mint("ES256", K.es_priv, "acme", "basic", NOW, 60);
    struct rfq_identity id;
    expect_ok(v, tok, &id);
    free(tok);
    rfq_jwt_verifier_destroy(v);
    rfq_jwt_verifier_destroy(NULL);
}

static void test_mint_failures(void **state)
{
    size_t len = 0;
    unsigned char *key = slurp(K.es_priv, &len);
    struct rfq_jwt_claims c = {
        .issuer = ISS, .audience = AUD, .tenant = "acme", .iat = NOW, .ttl_s = 60};
    char *tok = (char *)&tok;
    static const char *const bad_tenants[] = {"Acme", "acme*", "acme.eu", "-acme",
                                              "",     "a:b",   "a{b}"};
    for (size_t i = 0; i < sizeof(bad_tenants) / sizeof(bad_tenants[0]); i++) {
        c.tenant = bad_tenants[i];
        assert_int_equal(rfq_jwt_mint(&tok, "ES256", key, len, &c), RFQ_EINVAL);
        assert_null(tok);
    }
    c.tenant = NULL;
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", key, len, &c), RFQ_EINVAL);
    c.tenant = "acme";
    assert_int_equal(rfq_jwt_mint(&tok, "none", key, len, &c), RFQ_EINVAL);
    assert_null(tok);
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", (const unsigned char *)"not a key", 9, &c),
                     RFQ_EINVAL);
    assert_null(tok);
    c.audience = NULL;
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", key, len, &c), RFQ_EINVAL);
    assert_null(tok);
    free(key);
}

/* ---- concurrency ------------------------------------------------------------------------- */

struct verify_job {
    const char *tok;
    const char *bad;
    int failures;
};

static void *verify_loop(void *arg)
{
    struct verify_job *j = arg;
    for (int i = 0; i < 200; i++) {
        struct rfq_identity id;
        if (rfq_jwt_verify(K.ves, j->tok, strlen(j->tok), NOW, &id, NULL) != RFQ_OK ||
            strcmp(id.tenant, "acme") != 0)
            j->failures++;
        if (rfq_jwt_verify(K.ves, j->bad, strlen(j->bad), NOW, &id, NULL) != RFQ_EAUTH)
            j->failures++;
    }
    return NULL;
}

static void test_concurrent_verify(void **state)
{
    char *tok = mint("ES256", K.es_priv, "acme", "basic", NOW, 60);
    char *bad = mint("ES256", K.es_other_priv, "acme", "basic", NOW, 60);
    pthread_t th[4];
    struct verify_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct verify_job){tok, bad, 0};
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &jobs[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(jobs[i].failures, 0);
    }
    free(tok);
    free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_es256_valid),
        cmocka_unit_test(test_rs256_valid),
        cmocka_unit_test(test_hs256_valid_when_configured),
        cmocka_unit_test(test_hand_signed_control),
        cmocka_unit_test(test_tier_default_and_unknown),
        cmocka_unit_test(test_aud_array),
        cmocka_unit_test(test_expired),
        cmocka_unit_test(test_exp_leeway_boundary),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_missing_or_bad_exp),
        cmocka_unit_test(test_extreme_times),
        cmocka_unit_test(test_wrong_aud_iss),
        cmocka_unit_test(test_bad_tenant_claims),
        cmocka_unit_test(test_embedded_nul_claims),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_hs256_with_public_key_as_secret),
        cmocka_unit_test(test_cross_algorithm),
        cmocka_unit_test(test_bad_header_fields),
        cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_altered_payload),
        cmocka_unit_test(test_stripped_signature),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_verifier_create_failures),
        cmocka_unit_test(test_mint_failures),
        cmocka_unit_test(test_concurrent_verify),
    };
    return cmocka_run_group_tests_name("jwt", tests, group_setup, group_teardown);
}
