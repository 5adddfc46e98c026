/* test_jwt_keyset: key-set files (good and every malformed variant), kid selection with the
 * algorithm pinned by the key, the legacy single key, and reloads (poll, broken file, removed
 * key, concurrent verification). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rfq_keyset.h"
#include "test_jwt_util.h"

#define HS_SECRET "0123456789abcdef0123456789abcdef-keyset-secret"

static struct {
    char dir[64];
    EVP_PKEY *es1, *es2, *rs, *p384, *rs1024;
    char *es1_pub, *rs_pub; /* PEM text */
    char set[128];          /* path of the key-set file the tests rewrite */
} K;

static char *p(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) % 4;
    return tj_path(buf[i], sizeof(buf[i]), K.dir, name);
}

static int group_setup(void **state)
{
    tj_dir_create(K.dir, sizeof(K.dir), "keyset");
    K.es1 = EVP_EC_gen("P-256");
    K.es2 = EVP_EC_gen("P-256");
    K.p384 = EVP_EC_gen("P-384");
    K.rs = EVP_RSA_gen(2048);
    K.rs1024 = EVP_RSA_gen(1024);
    if (!K.es1 || !K.es2 || !K.p384 || !K.rs || !K.rs1024)
        return -1;
    tj_write_pem(p("es1.pub"), K.es1, 0);
    tj_write_pem(p("es1.key"), K.es1, 1);
    tj_write_pem(p("es2.pub"), K.es2, 0);
    tj_write_pem(p("rs.pub"), K.rs, 0);
    tj_write_pem(p("p384.pub"), K.p384, 0);
    tj_write_pem(p("rs1024.pub"), K.rs1024, 0);
    tj_write(p("hs.secret"), HS_SECRET "\n", 0);
    tj_write(p("short.secret"), "only-31-bytes-long-secret-value\n", 0);
    tj_write(p("empty"), "", 0);
    tj_write(p("not.pem"), "hello, this is not a key\n", 0);
    mkdir(p("subdir"), 0700);
    tj_write_pem(p("subdir/es2.pub"), K.es2, 0);
    K.es1_pub = tj_pem(K.es1, 0);
    K.rs_pub = tj_pem(K.rs, 0);
    tj_path(K.set, sizeof(K.set), K.dir, "keys.json");
    return 0;
}

static int group_teardown(void **state)
{
    tj_dir_remove(K.dir);
    EVP_PKEY_free(K.es1);
    EVP_PKEY_free(K.es2);
    EVP_PKEY_free(K.p384);
    EVP_PKEY_free(K.rs);
    EVP_PKEY_free(K.rs1024);
    free(K.es1_pub);
    free(K.rs_pub);
    return 0;
}

/* Escape PEM text as a JSON string body (newlines as \n). New string. */
static char *json_pem(const char *pem)
{
    char *out = malloc(strlen(pem) * 2 + 1), *o = out;
    assert_non_null(out);
    for (const char *s = pem; *s; s++) {
        if (*s == '\n') {
            *o++ = '\\';
            *o++ = 'n';
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return out;
}

static rfq_status load_text(const char *text, rfq_keyset **ks, struct rfq_err *err)
{
    tj_write(K.set, text, 1);
    struct rfq_keyset_src src = {.set_file = K.set};
    return rfq_keyset_load(ks, &src, NULL, err);
}

/* ---- parsing ------------------------------------------------------------------------------ */

static void test_good_set(void **state)
{
    char *rs = json_pem(K.rs_pub);
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"keys\":[{\"kid\":\"es-1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"},"
             "{\"kid\":\"RS.2024_a\",\"alg\":\"RS256\",\"pem\":\"%s\"},"
             "{\"kid\":\"h\",\"alg\":\"HS256\",\"secret_file\":\"hs.secret\"},"
             "{\"kid\":\"sub\",\"alg\":\"ES256\",\"key_file\":\"subdir/es2.pub\"},"
             "{\"kid\":\"abs\",\"alg\":\"ES256\",\"key_file\":\"%s\"}]}",
             rs, p("es2.pub"));
    free(rs);
    rfq_keyset *ks = NULL;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = load_text(text, &ks, &err);
    if (st != RFQ_OK)
        print_error("%s\n", err.message);
    assert_int_equal(st, RFQ_OK);
    assert_int_equal(rfq_keyset_count(ks), 5);
    assert_int_equal(rfq_key_alg(rfq_keyset_find(ks, "es-1")), RFQ_JWS_ES256);
    assert_int_equal(rfq_key_alg(rfq_keyset_find(ks, "RS.2024_a")), RFQ_JWS_RS256);
    assert_int_equal(rfq_key_alg(rfq_keyset_find(ks, "h")), RFQ_JWS_HS256);
    assert_string_equal(rfq_key_kid(rfq_keyset_key_at(ks, 3)), "sub");
    assert_null(rfq_keyset_find(ks, "ES-1")); /* kids are case-sensitive */
    assert_null(rfq_keyset_key_at(ks, 5));
    /* references: the set lives until the last one is dropped */
    assert_ptr_equal(rfq_keyset_ref(ks), ks);
    rfq_keyset_unref(ks);
    assert_int_equal(rfq_keyset_count(ks), 5);
    rfq_keyset_unref(ks);
    rfq_keyset_unref(NULL);
}

static void test_kid_charset(void **state)
{
    assert_true(rfq_kid_valid("k1"));
    assert_true(rfq_kid_valid("A-Z_a.z-09"));
    assert_true(rfq_kid_valid("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"));
    static const char *const bad[] = {
        "",
        "../../etc/passwd",
        "' OR 1=1 --",
        "k1\n",
        "k 1",
        "k/1",
        "k\\1",
        "k\"1",
        "k:1",
        "kid\x01",
        "k\xc3\xa9",
        "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(rfq_kid_valid(bad[i]));
    assert_false(rfq_kid_valid(NULL));
}

static void test_malformed_sets(void **state)
{
    /* Each variant names what is wrong with it; every one refuses the whole set. */
    char many[8192];
    int n = snprintf(many, sizeof(many), "{\"keys\":[");
    for (int i = 0; i < RFQ_KEYSET_KEYS_MAX + 1; i++)
        n += snprintf(many + n, sizeof(many) - (size_t)n,
                      "%s{\"kid\":\"k%d\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}",
                      i ? "," : "", i);
    snprintf(many + n, sizeof(many) - (size_t)n, "]}");
#define E1 "{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}"
    const char *const bad[][2] = {
        {"not JSON", "keys: k1"},
        {"truncated", "{\"keys\":["},
        {"root array", "[" E1 "]"},
        {"no keys", "{}"},
        {"keys not array", "{\"keys\":" E1 "}"},
        {"empty keys", "{\"keys\":[]}"},
        {"unknown top-level member", "{\"keys\":[" E1 "],\"jwks_uri\":\"https://x\"}"},
        {"duplicate keys member", "{\"keys\":[" E1 "],\"keys\":[" E1 "]}"},
        {"entry not object", "{\"keys\":[\"k1\"]}"},
        {"unknown entry member",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\",\"x5u\":\"u\"}]}"},
        {"duplicate entry member",
         "{\"keys\":[{\"kid\":\"k1\",\"kid\":\"k2\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"},
        {"kid missing", "{\"keys\":[{\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"},
        {"kid number", "{\"keys\":[{\"kid\":1,\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"},
        {"kid empty", "{\"keys\":[{\"kid\":\"\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"},
        {"kid path", "{\"keys\":[{\"kid\":\"../k\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"},
        {"kid space", "{\"keys\":[{\"kid\":\"k 1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"},
        {"kid 65 chars", "{\"keys\":[{\"kid\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
                         "kkkkkkkkkkkkkk\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"},
        {"duplicate kid", "{\"keys\":[" E1 "," E1 "]}"},
        {"alg missing", "{\"keys\":[{\"kid\":\"k1\",\"key_file\":\"es1.pub\"}]}"},
        {"alg none", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"none\",\"key_file\":\"es1.pub\"}]}"},
        {"alg lowercase",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"es256\",\"key_file\":\"es1.pub\"}]}"},
        {"alg ES384", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES384\",\"key_file\":\"p384.pub\"}]}"},
        {"alg PS256", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"PS256\",\"key_file\":\"rs.pub\"}]}"},
        {"no key source", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\"}]}"},
        {"two key sources", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\","
                            "\"pem\":\"x\"}]}"},
        {"HS256 with key_file",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"HS256\",\"key_file\":\"hs.secret\"}]}"},
        {"ES256 with secret_file",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"secret_file\":\"es1.pub\"}]}"},
        {"key file missing",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"nope.pub\"}]}"},
        {"key file is a directory",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"subdir\"}]}"},
        {"key file empty",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"empty\"}]}"},
        {"key file not PEM",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"not.pem\"}]}"},
        {"private key", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"es1.key\"}]}"},
        {"ES256 with RSA key",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"rs.pub\"}]}"},
        {"ES256 with P-384 key",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"p384.pub\"}]}"},
        {"RS256 with EC key",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"RS256\",\"key_file\":\"es1.pub\"}]}"},
        {"RS256 with 1024-bit key",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"RS256\",\"key_file\":\"rs1024.pub\"}]}"},
        {"HS256 secret too short",
         "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"HS256\",\"secret_file\":\"short.secret\"}]}"},
        {"pem not string", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"pem\":42}]}"},
        {"pem garbage", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"pem\":\"-----BEGIN PUBLIC "
                        "KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\"}]}"},
        {"file name not string", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":1}]}"},
        {"file name empty", "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"\"}]}"},
        {"one good one bad", "{\"keys\":[" E1 ",{\"kid\":\"k2\",\"alg\":\"ES256\"}]}"},
        {"65 keys", many},
        {"empty file", ""},
    };
#undef E1
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rfq_keyset *ks = (rfq_keyset *)&ks; /* poisoned: must become NULL */
        struct rfq_err err = {{0}, {0}};
        rfq_status st = load_text(bad[i][1], &ks, &err);
        if (st != RFQ_EINVAL)
            print_error("variant \"%s\" was accepted\n", bad[i][0]);
        assert_int_equal(st, RFQ_EINVAL);
        assert_null(ks);
        assert_string_equal(err.field, "keys");
        assert_true(err.message[0] != '\0');
        /* the message never carries key material */
        assert_null(strstr(err.message, "BEGIN"));
        assert_null(strstr(err.message, "0123456789abcdef"));
    }
    /* a missing set file, and one over the size cap */
    struct rfq_keyset_src src = {.set_file = p("absent.json")};
    rfq_keyset *ks = NULL;
    struct rfq_err err = {{0}, {0}};
    assert_int_equal(rfq_keyset_load(&ks, &src, NULL, &err), RFQ_EINVAL);
    char *big = malloc(RFQ_KEYSET_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', RFQ_KEYSET_FILE_MAX + 1);
    big[0] = '{';
    big[RFQ_KEYSET_FILE_MAX] = '}';
    big[RFQ_KEYSET_FILE_MAX + 1] = '\0';
    assert_int_equal(load_text(big, &ks, &err), RFQ_EINVAL);
    assert_non_null(strstr(err.message, "too large"));
    free(big);
}

static void test_secret_not_in_errors(void **state)
{
    /* A secret file whose content is close to valid: the message must not quote it. */
    tj_write(p("bad.secret"), "SECRET-MATERIAL-xyz\n", 0);
    rfq_keyset *ks = NULL;
    struct rfq_err err = {{0}, {0}};
    assert_int_equal(
        load_text("{\"keys\":[{\"kid\":\"k1\",\"alg\":\"HS256\",\"secret_file\":\"bad.secret\"}]}",
                  &ks, &err),
        RFQ_EINVAL);
    assert_null(strstr(err.message, "SECRET-MATERIAL"));
    /* A JSON error near the key text: jansson would quote it, we give the position only. */
    assert_int_equal(load_text("{\"keys\":[{\"kid\":\"k1\",\"alg\":\"HS256\",\"pem\":\"SECRET-"
                               "MATERIAL-xyz\" oops}]}",
                               &ks, &err),
                     RFQ_EINVAL);
    assert_null(strstr(err.message, "SECRET-MATERIAL"));
    assert_non_null(strstr(err.message, "line 1"));
}

/* ---- legacy single key -------------------------------------------------------------------- */

static void test_legacy_key(void **state)
{
    rfq_jwt_verifier *v = tj_verifier(NULL, p("es1.pub"), "ES256");
    char *tok = tj_mint("ES256", K.es1, NULL, "acme", 600);
    struct rfq_identity id;
    tj_expect_ok(v, tok, &id);
    assert_string_equal(id.kid, "default");
    free(tok);
    tok = tj_mint("ES256", K.es1, "default", "acme", 600);
    tj_expect_ok(v, tok, NULL);
    free(tok);
    tok = tj_mint("ES256", K.es1, "k1", "acme", 600);
    tj_expect_fail(v, tok, "kid");
    free(tok);
    char kids[64];
    assert_string_equal(rfq_jwt_verifier_kids(v, kids, sizeof(kids)), "default");
    assert_int_equal(rfq_jwt_verifier_generation(v), 1);
    rfq_jwt_verifier_destroy(v);
}

static void test_keys_file_wins(void **state)
{
    tj_write(K.set, "{\"keys\":[{\"kid\":\"k2\",\"alg\":\"ES256\",\"key_file\":\"es2.pub\"}]}", 1);
    /* the legacy key is es1: with a key-set file it is not used at all */
    rfq_jwt_verifier *v = tj_verifier(K.set, p("es1.pub"), "ES256");
    char *t1 = tj_mint("ES256", K.es1, NULL, "acme", 600);
    char *t2 = tj_mint("ES256", K.es2, NULL, "acme", 600);
    tj_expect_fail(v, t1, "sig");
    tj_expect_ok(v, t2, NULL);
    free(t1);
    free(t2);
    rfq_jwt_verifier_destroy(v);
}

/* ---- kid selection ------------------------------------------------------------------------ */

static rfq_jwt_verifier *three_key_verifier(void)
{
    char *rs = json_pem(K.rs_pub);
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"keys\":[{\"kid\":\"es1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"},"
             "{\"kid\":\"rs1\",\"alg\":\"RS256\",\"pem\":\"%s\"},"
             "{\"kid\":\"hs1\",\"alg\":\"HS256\",\"secret_file\":\"hs.secret\"}]}",
             rs);
    free(rs);
    tj_write(K.set, text, 1);
    return tj_verifier(K.set, NULL, NULL);
}

static void test_kid_selection(void **state)
{
    rfq_jwt_verifier *v = three_key_verifier();
    struct rfq_identity id;
    char *tok = tj_mint("ES256", K.es1, "es1", "acme", 600);
    tj_expect_ok(v, tok, &id);
    assert_string_equal(id.kid, "es1");
    assert_string_equal(id.tenant, "acme");
    free(tok);
    tok = tj_mint("RS256", K.rs, "rs1", "globex", 600);
    tj_expect_ok(v, tok, &id);
    assert_string_equal(id.kid, "rs1");
    free(tok);
    tok = tj_mint_hs(HS_SECRET, "hs1", "initech", 600);
    tj_expect_ok(v, tok, &id);
    assert_string_equal(id.kid, "hs1");
    free(tok);

    /* the key chosen by kid pins the algorithm: another key's algorithm is refused */
    tok = tj_mint("RS256", K.rs, "es1", "acme", 600);
    tj_expect_fail(v, tok, "alg");
    free(tok);
    tok = tj_mint("ES256", K.es1, "rs1", "acme", 600);
    tj_expect_fail(v, tok, "alg");
    free(tok);
    tok = tj_mint("ES256", K.es1, "hs1", "acme", 600);
    tj_expect_fail(v, tok, "alg");
    free(tok);
    /* right algorithm, other key's signature */
    tok = tj_mint("ES256", K.es2, "es1", "acme", 600);
    tj_expect_fail(v, tok, "sig");
    free(tok);
    /* no kid with several keys, unknown kid */
    tok = tj_mint("ES256", K.es1, NULL, "acme", 600);
    tj_expect_fail(v, tok, "kid");
    free(tok);
    tok = tj_mint("ES256", K.es1, "es2", "acme", 600);
    tj_expect_fail(v, tok, "kid");
    free(tok);
    char kids[64];
    assert_string_equal(rfq_jwt_verifier_kids(v, kids, sizeof(kids)), "es1,rs1,hs1");
    rfq_jwt_verifier_destroy(v);
}

static void test_mint_kid(void **state)
{
    char *pem = tj_pem(K.es1, 1);
    struct rfq_jwt_claims c = {.issuer = TJ_ISS,
                               .audience = TJ_AUD,
                               .tenant = "acme",
                               .iat = TJ_NOW,
                               .ttl_s = 60,
                               .kid = "../x"};
    char *tok = (char *)&tok;
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", (const unsigned char *)pem, strlen(pem), &c),
                     RFQ_EINVAL);
    assert_null(tok);
    c.kid = "";
    assert_int_equal(rfq_jwt_mint(&tok, "ES256", (const unsigned char *)pem, strlen(pem), &c),
                     RFQ_EINVAL);
    free(pem);
}

/* ---- reloads ------------------------------------------------------------------------------ */

#define SET_K1 "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"}]}"
#define SET_K1_K2                                                                                  \
    "{\"keys\":[{\"kid\":\"k1\",\"alg\":\"ES256\",\"key_file\":\"es1.pub\"},"                      \
    "{\"kid\":\"k2\",\"alg\":\"ES256\",\"key_file\":\"k2.pub\"}]}"
#define SET_K2 "{\"keys\":[{\"kid\":\"k2\",\"alg\":\"ES256\",\"key_file\":\"k2.pub\"}]}"

static void expect_poll(rfq_jwt_verifier *v, int want_reloaded, rfq_status want)
{
    int reloaded = -1;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_jwt_verifier_poll(v, &reloaded, &err);
    if (st != want || reloaded != want_reloaded)
        print_error("poll: reloaded=%d status=%s %s\n", reloaded, rfq_status_str(st), err.message);
    assert_int_equal(reloaded, want_reloaded);
    assert_int_equal(st, want);
}

static void test_reload_rotation(void **state)
{
    tj_write_pem(p("k2.pub"), K.es2, 0);
    tj_write(K.set, SET_K1, 1);
    rfq_jwt_verifier *v = tj_verifier(K.set, NULL, NULL);
    char *t1 = tj_mint("ES256", K.es1, "k1", "acme", 600);
    char *t2 = tj_mint("ES256", K.es2, "k2", "acme", 600);
    tj_expect_ok(v, t1, NULL);
    tj_expect_fail(v, t2, "kid");
    expect_poll(v, 0, RFQ_OK);

    /* add k2 (atomic rename): both work, overlap */
    tj_write(K.set, SET_K1_K2, 1);
    expect_poll(v, 1, RFQ_OK);
    assert_int_equal(rfq_jwt_verifier_generation(v), 2);
    tj_expect_ok(v, t1, NULL);
    tj_expect_ok(v, t2, NULL);
    expect_poll(v, 0, RFQ_OK);

    /* remove k1, explicit reload */
    tj_write(K.set, SET_K2, 1);
    struct rfq_err err = {{0}, {0}};
    assert_int_equal(rfq_jwt_verifier_reload(v, &err), RFQ_OK);
    assert_int_equal(rfq_jwt_verifier_generation(v), 3);
    tj_expect_fail(v, t1, "kid");
    tj_expect_ok(v, t2, NULL);

    /* a broken file keeps the old set, is reported once, and is retried when it changes */
    tj_write(K.set, "{\"keys\":[{\"kid\":\"k2\"", 1);
    expect_poll(v, 1, RFQ_EINVAL);
    expect_poll(v, 0, RFQ_OK);
    assert_int_equal(rfq_jwt_verifier_generation(v), 3);
    tj_expect_ok(v, t2, NULL);
    assert_int_equal(rfq_jwt_verifier_reload(v, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "keys");
    tj_expect_ok(v, t2, NULL);
    /* a set naming a missing key file is just as broken */
    tj_write(K.set, "{\"keys\":[{\"kid\":\"k3\",\"alg\":\"ES256\",\"key_file\":\"k3.pub\"}]}", 1);
    expect_poll(v, 1, RFQ_EINVAL);
    /* ...until the key file appears */
    tj_write_pem(p("k3.pub"), K.es1, 0);
    expect_poll(v, 1, RFQ_OK);
    char *t3 = tj_mint("ES256", K.es1, "k3", "acme", 600);
    tj_expect_ok(v, t3, NULL);
    tj_expect_fail(v, t2, "kid");

    /* restore k2 alone, then replace only the key file it names: the poll sees that too */
    tj_write(K.set, SET_K2, 1);
    expect_poll(v, 1, RFQ_OK);
    tj_expect_ok(v, t2, NULL);
    char *pem = tj_pem(K.es1, 0);
    tj_write(p("k2.pub"), pem, 1);
    free(pem);
    expect_poll(v, 1, RFQ_OK);
    tj_expect_fail(v, t2, "sig");
    free(t1);
    free(t2);
    free(t3);
    rfq_jwt_verifier_destroy(v);
}

struct churn {
    rfq_jwt_verifier *v;
    const char *tok;
    atomic_int stop;
    int failures, runs;
};

static void *verify_loop(void *arg)
{
    struct churn *c = arg;
    while (!atomic_load(&c->stop)) {
        struct rfq_identity id;
        if (rfq_jwt_verify(c->v, c->tok, strlen(c->tok), TJ_NOW, &id, NULL) != RFQ_OK)
            c->failures++;
        c->runs++;
    }
    return NULL;
}

static void test_reload_under_load(void **state)
{
    /* Verifications keep succeeding, with no use after free, while sets are swapped. */
    tj_write_pem(p("k2.pub"), K.es2, 0);
    tj_write(K.set, SET_K1_K2, 1);
    rfq_jwt_verifier *v = tj_verifier(K.set, NULL, NULL);
    char *t1 = tj_mint("ES256", K.es1, "k1", "acme", 600);
    struct churn c[2] = {{.v = v, .tok = t1}, {.v = v, .tok = t1}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, verify_loop, &c[i]), 0);
    for (int i = 0; i < 40; i++) {
        assert_int_equal(rfq_jwt_verifier_reload(v, NULL), RFQ_OK);
        usleep(1000);
    }
    for (int i = 0; i < 2; i++) {
        atomic_store(&c[i].stop, 1);
        pthread_join(th[i], NULL);
        assert_int_equal(c[i].failures, 0);
        assert_true(c[i].runs > 0);
    }
    assert_int_equal(rfq_jwt_verifier_generation(v), 41);
    free(t1);
    rfq_jwt_verifier_destroy(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_set),        cmocka_unit_test(test_kid_charset),
        cmocka_unit_test(test_malformed_sets),  cmocka_unit_test(test_secret_not_in_errors),
        cmocka_unit_test(test_legacy_key),      cmocka_unit_test(test_keys_file_wins),
        cmocka_unit_test(test_kid_selection),   cmocka_unit_test(test_mint_kid),
        cmocka_unit_test(test_reload_rotation), cmocka_unit_test(test_reload_under_load),
    };
    return cmocka_run_group_tests_name("jwt_keyset", tests, group_setup, group_teardown);
}
