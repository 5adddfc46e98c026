/* Unit tests of req_auth: "Bearer" header parsing, and verification into a 401 or an identity
 * with a key pair generated for the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "req_auth.h"

static void parse_ok(const char *hdr, const char *want)
{
    const char *tok = NULL;
    size_t len = 0;
    assert_int_equal(req_auth_parse_bearer(hdr, &tok, &len), RFQ_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(tok, want, len);
}

static void parse_bad(const char *hdr)
{
    const char *tok = (const char *)1;
    size_t len = 1;
    assert_int_not_equal(req_auth_parse_bearer(hdr, &tok, &len), RFQ_OK);
    assert_null(tok);
    assert_int_equal(len, 0);
}

static void test_parse(void **state)
{
    parse_ok("Bearer abc.def.ghi", "abc.def.ghi");
    parse_ok("bearer abc.def.ghi", "abc.def.ghi");
    parse_ok("BEARER   abc.def.ghi  ", "abc.def.ghi");
    parse_ok("Bearer\tabc-_~+/==", "abc-_~+/==");
    parse_bad(NULL);
    parse_bad("");
    parse_bad("Bearer");
    parse_bad("Bearer ");
    parse_bad("Bearerabc");
    parse_bad("Basic dXNlcjpwYXNz");
    parse_bad("Bearer abc def");
    parse_bad("Bearer abc\"def");
    parse_bad("Bearer a=b");
    parse_bad("Token abc");
}

static void test_parse_too_long(void **state)
{
    char *hdr = malloc(RFQ_JWT_MAX + 32);
    strcpy(hdr, "Bearer ");
    memset(hdr + 7, 'a', RFQ_JWT_MAX + 1);
    hdr[7 + RFQ_JWT_MAX + 1] = '\0';
    const char *tok;
    size_t len;
    assert_int_equal(req_auth_parse_bearer(hdr, &tok, &len), RFQ_ETOOBIG);
    hdr[7 + RFQ_JWT_MAX] = '\0';
    assert_int_equal(req_auth_parse_bearer(hdr, &tok, &len), RFQ_OK);
    free(hdr);
}

struct keys {
    char pub_path[64];
    char *priv_pem;
    size_t priv_len;
    rfq_jwt_verifier *v;
    req_auth *auth;
};

/* Generate a P-256 key pair: public key to a temporary file, private key in memory. */
static int setup_keys(void **state)
{
    struct keys *k = calloc(1, sizeof(*k));
    EVP_PKEY *pkey = EVP_EC_gen("P-256");
    assert_non_null(pkey);
    snprintf(k->pub_path, sizeof(k->pub_path), "/tmp/test_req_auth_%d.pem", (int)getpid());
    FILE *f = fopen(k->pub_path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
    fclose(f);
    BIO *bio = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    k->priv_pem = malloc((size_t)n + 1);
    memcpy(k->priv_pem, data, (size_t)n);
    k->priv_pem[n] = '\0';
    k->priv_len = (size_t)n;
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    struct rfq_jwt_cfg cfg = {.key_file = k->pub_path,
                              .alg = "ES256",
                              .issuer = "rfq-dev",
                              .audience = "rfq-engine",
                              .leeway_s = 0};
    assert_int_equal(rfq_jwt_verifier_create(&k->v, &cfg, NULL), RFQ_OK);
    assert_int_equal(req_auth_create(&k->auth, k->v, 0), RFQ_OK);
    *state = k;
    return 0;
}

static int teardown_keys(void **state)
{
    struct keys *k = *state;
    unlink(k->pub_path);
    req_auth_destroy(k->auth);
    rfq_jwt_verifier_destroy(k->v);
    free(k->priv_pem);
    free(k);
    return 0;
}

static char *mint_at(struct keys *k, const char *tenant, int64_t iat, int64_t ttl_s)
{
    struct rfq_jwt_claims c = {.issuer = "rfq-dev",
                               .audience = "rfq-engine",
                               .tenant = tenant,
                               .tier = "basic",
                               .iat = iat,
                               .ttl_s = ttl_s};
    char *tok = NULL;
    assert_int_equal(
        rfq_jwt_mint(&tok, "ES256", (const unsigned char *)k->priv_pem, k->priv_len, &c), RFQ_OK);
    return tok;
}

static char *mint(struct keys *k, const char *tenant, int64_t ttl_s)
{
    return mint_at(k, tenant, rfq_now_ms() / 1000 - 10, ttl_s);
}

static void test_verify_ok(void **state)
{
    struct keys *k = *state;
    char *tok = mint(k, "acme", 600);
    char hdr[RFQ_JWT_MAX + 16];
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    struct rfq_identity who;
    struct req_reply r;
    req_reply_init(&r);
    assert_int_equal(req_auth_verify(k->auth, hdr, &who, &r), RFQ_OK);
    assert_string_equal(who.tenant, "acme");
    assert_string_equal(who.tier, "basic");
    assert_null(r.body);
    free(tok);
}

#define CHALLENGE_INVALID "Bearer realm=\"rfq\", error=\"invalid_token\", error_description=\""

/* A 401 whose challenge is exactly `Bearer realm="rfq"` (no token presented), or the
 * invalid_token form with a one-line description free of quotes (token presented). */
static void expect_401_auth(req_auth *a, const char *hdr, int presented)
{
    struct rfq_identity who;
    struct req_reply r;
    req_reply_init(&r);
    assert_int_equal(req_auth_verify(a, hdr, &who, &r), RFQ_EAUTH);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"unauthorized\""));
    const char *www = req_reply_header_get(&r, "WWW-Authenticate");
    assert_non_null(www);
    assert_int_equal(r.n_headers, 1);
    if (!presented) {
        assert_string_equal(www, "Bearer realm=\"rfq\"");
    } else {
        size_t n = strlen(CHALLENGE_INVALID), len = strlen(www);
        assert_memory_equal(www, CHALLENGE_INVALID, n);
        assert_true(len > n + 1 && www[len - 1] == '"');
        for (size_t i = n; i < len - 1; i++)
            assert_true(www[i] >= 0x20 && www[i] < 0x7f && www[i] != '"' && www[i] != '\\');
    }
    req_reply_clear(&r);
}

static void expect_401(struct keys *k, const char *hdr)
{
    int presented = hdr && strncasecmp(hdr, "Bearer", 6) == 0;
    expect_401_auth(k->auth, hdr, presented);
}

static void test_verify_rejects(void **state)
{
    struct keys *k = *state;
    expect_401(k, NULL);
    expect_401(k, "");
    expect_401(k, "Basic abc");
    expect_401(k, "Bearer");
    expect_401(k, "Bearer a b");
    expect_401(k, "Bearer not.a.jwt");
    expect_401(k, "Bearer eyJhbGciOiJub25lIn0.eyJ0ZW5hbnRfaWQiOiJhY21lIn0.");
    char *tok = mint(k, "acme", -60); /* expired */
    char hdr[RFQ_JWT_MAX + 16];
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    expect_401(k, hdr);
    free(tok);
    tok = mint(k, "acme", 600);
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    hdr[strlen(hdr) - 3] ^= 1; /* tamper with the signature */
    expect_401(k, hdr);
    free(tok);
}

/* A cached token answers the same identity, and still expires on time. */
static void test_cache(void **state)
{
    struct keys *k = *state;
    char hdr[RFQ_JWT_MAX + 16];
    char *a = mint(k, "acme", 600), *b = mint(k, "globex", 600);
    struct rfq_identity who;
    struct req_reply r;
    req_reply_init(&r);
    for (int i = 0; i < 3; i++) {
        snprintf(hdr, sizeof(hdr), "Bearer %s", a);
        assert_int_equal(req_auth_verify(k->auth, hdr, &who, &r), RFQ_OK);
        assert_string_equal(who.tenant, "acme");
        snprintf(hdr, sizeof(hdr), "bearer  %s ", b);
        assert_int_equal(req_auth_verify(k->auth, hdr, &who, &r), RFQ_OK);
        assert_string_equal(who.tenant, "globex");
    }
    free(a);
    free(b);
    /* exp = now + 2 (iat now - 10, ttl 12): valid now, expired two seconds later. */
    int64_t now = rfq_now_ms() / 1000;
    char *c = mint_at(k, "acme", now - 10, 12);
    snprintf(hdr, sizeof(hdr), "Bearer %s", c);
    assert_int_equal(req_auth_verify(k->auth, hdr, &who, &r), RFQ_OK);
    while (rfq_now_ms() / 1000 < now + 2)
        usleep(50 * 1000);
    expect_401(k, hdr);
    free(c);
}

/* ---- key-set reloads ---------------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0); /* atomic, as an operator should do it */
}

/* A removed key stops working on the very next request after a reload, although its token
 * was cached; the watch thread notices a rewritten key-set file by itself. */
static void test_reload_clears_cache(void **state)
{
    struct keys *k = *state;
    char set[64], text[256], hdr[RFQ_JWT_MAX + 16];
    snprintf(set, sizeof(set), "/tmp/test_req_auth_%d.json", (int)getpid());
    snprintf(text, sizeof(text),
             "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"%s\"}]}", k->pub_path);
    write_text(set, text);
    struct rfq_jwt_cfg cfg = {
        .keys_file = set, .issuer = "rfq-dev", .audience = "rfq-engine", .leeway_s = 0};
    rfq_jwt_verifier *v = NULL;
    req_auth *a = NULL;
    assert_int_equal(rfq_jwt_verifier_create(&v, &cfg, NULL), RFQ_OK);
    assert_int_equal(req_auth_create(&a, v, 0), RFQ_OK);
    struct rfq_jwt_claims c = {.issuer = "rfq-dev",
                               .audience = "rfq-engine",
                               .tenant = "acme",
                               .iat = rfq_now_ms() / 1000 - 10,
                               .ttl_s = 600,
                               .kid = "k1"};
    char *tok = NULL;
    assert_int_equal(
        rfq_jwt_mint(&tok, "ES256", (const unsigned char *)k->priv_pem, k->priv_len, &c), RFQ_OK);
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    struct rfq_identity who;
    struct req_reply r;
    req_reply_init(&r);
    for (int i = 0; i < 2; i++) /* the second answer comes from the cache */
        assert_int_equal(req_auth_verify(a, hdr, &who, &r), RFQ_OK);

    /* the same key under another kid: k1 is gone */
    snprintf(text, sizeof(text),
             "{\"keys\":[{\"kid\":\"k2\",\"alg\":\"ES256\",\"key_file\":\"%s\"}]}", k->pub_path);
    write_text(set, text);
    assert_int_equal(req_auth_reload(a, "test"), RFQ_OK);
    expect_401_auth(a, hdr, 1);

    /* a broken file: the reload fails and k2 keeps its place */
    write_text(set, "{\"keys\":");
    assert_int_equal(req_auth_reload(a, "test"), RFQ_EINVAL);
    expect_401_auth(a, hdr, 1);

    /* the watch thread restores k1 from the file alone */
    assert_int_equal(req_auth_watch_start(a, 50), RFQ_OK);
    snprintf(text, sizeof(text),
             "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"%s\"}]}", k->pub_path);
    write_text(set, text);
    int ok = 0;
    for (int i = 0; i < 100 && !ok; i++) {
        req_reply_clear(&r);
        ok = req_auth_verify(a, hdr, &who, &r) == RFQ_OK;
        if (!ok)
            usleep(20 * 1000);
    }
    assert_true(ok);
    req_reply_clear(&r);
    req_auth_destroy(a); /* stops the watch thread */
    rfq_jwt_verifier_destroy(v);
    unlink(set);
    free(tok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_too_long),
        cmocka_unit_test_setup_teardown(test_verify_ok, setup_keys, teardown_keys),
        cmocka_unit_test_setup_teardown(test_verify_rejects, setup_keys, teardown_keys),
        cmocka_unit_test_setup_teardown(test_cache, setup_keys, teardown_keys),
        cmocka_unit_test_setup_teardown(test_reload_clears_cache, setup_keys, teardown_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
