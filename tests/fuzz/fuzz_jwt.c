/* fuzz_jwt: bearer-token verification (rfq_jwt_verify, req_auth_verify) and key-set files
 * (rfq_keyset_load). At start-up a temporary directory gets an ES256 and an RS256 key pair
 * (generated) and two HS256 test secrets; a verifier over a three-key set and a legacy one-key
 * verifier are built from them. The first input byte picks the mode:
 *   'S' + key byte + header JSON + '\n' + payload JSON: the harness signs the two segments
 *       with key 'h' (HS256 h1), 'e' (ES256 e1), 'r' (RS256 r1) or 'd' (the one-key set), so
 *       mutations reach the claim checks behind the signature;
 *   'K' + key-set JSON: written to a file of the directory and loaded;
 *   'A' + Authorization header value: req_auth_verify on the three-key set;
 *   'U' + token: the one-key verifier; anything else: the whole input is a token for the
 *       three-key verifier.
 * Properties: a refusal is RFQ_EAUTH with a JSON-safe reason holding no token bytes; an
 * accepted token's claims and header agree with the identity and the key; a signed token with
 * a changed signature or payload is refused; req_auth_verify agrees with rfq_jwt_verify and
 * answers 401 with a well-formed challenge; a loaded set has distinct valid kids and a stamp
 * that sees no change. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "req_auth.h"
#include "rfq_jwt.h"
#include "rfq_keyset.h"
#include "rfq_log.h"

#define ISS "rfq-dev"
#define AUD "rfq-engine"
#define NOW 1760000000LL /* fixed clock: a crash must reproduce later */
#define LEEWAY 30
/* Test secrets only (never used outside the fuzzer); the corpus holds tokens signed with
 * them, so its valid tokens verify in raw mode too. */
#define SECRET_H1 "fuzz-test-secret-h1-0123456789abcdef"
#define SECRET_ONE "fuzz-test-secret-default-0123456789abcdef"

static char dir[64];
static EVP_PKEY *ec_key, *rsa_key;
static rfq_jwt_verifier *multi, *single, *watched;
static req_auth *auth;

/* ---- set-up --------------------------------------------------------------------------------- */

static void write_file(const char *name, const char *text, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f != NULL);
    FUZZ_ASSERT(fwrite(text, 1, len, f) == len);
    FUZZ_ASSERT(fclose(f) == 0);
}

/* k's public key as a new PEM string. */
static char *public_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    FUZZ_ASSERT(b && PEM_write_bio_PUBKEY(b, k) == 1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = fuzz_strndup((const uint8_t *)data, (size_t)n);
    BIO_free(b);
    return out;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    req_auth_destroy(auth);
    rfq_jwt_verifier_destroy(multi);
    rfq_jwt_verifier_destroy(single);
    rfq_jwt_verifier_destroy(watched);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(rsa_key);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static rfq_jwt_verifier *verifier(const char *set_file, const char *key_file, const char *alg)
{
    char set_path[128], key_path[128];
    snprintf(set_path, sizeof(set_path), "%s/%s", dir, set_file ? set_file : "");
    snprintf(key_path, sizeof(key_path), "%s/%s", dir, key_file ? key_file : "");
    struct rfq_jwt_cfg cfg = {.keys_file = set_file ? set_path : NULL,
                              .key_file = key_file ? key_path : NULL,
                              .alg = alg,
                              .issuer = ISS,
                              .audience = AUD,
                              .leeway_s = LEEWAY,
                              .allow_hs256 = 1};
    rfq_jwt_verifier *v = NULL;
    struct rfq_err err = {{0}, {0}};
    if (rfq_jwt_verifier_create(&v, &cfg, &err) != RFQ_OK)
        fprintf(stderr, "fuzz_jwt: verifier: %s\n", err.message);
    FUZZ_ASSERT(v != NULL);
    return v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    rfq_log_min_level = RFQ_ERROR; /* a refused token is not news here */
    snprintf(dir, sizeof(dir), "/tmp/rfq-fuzz-jwt-XXXXXX");
    FUZZ_ASSERT(mkdtemp(dir) != NULL);
    ec_key = EVP_EC_gen("P-256");
    rsa_key = EVP_RSA_gen(2048);
    FUZZ_ASSERT(ec_key && rsa_key);
    char *ec_pem = public_pem(ec_key), *rsa_pem = public_pem(rsa_key);
    write_file("e1.pub", ec_pem, strlen(ec_pem));
    write_file("r1.pub", rsa_pem, strlen(rsa_pem));
    write_file("h1.secret", SECRET_H1 "\n", strlen(SECRET_H1) + 1);
    write_file("one.secret", SECRET_ONE, strlen(SECRET_ONE));
    /* The three ways a set names a key: key_file, pem, secret_file. */
    json_t *set =
        json_pack("{s:[{s:s,s:s,s:s},{s:s,s:s,s:s},{s:s,s:s,s:s}]}", "keys", "kid", "e1", "alg",
                  "ES256", "key_file", "e1.pub", "kid", "r1", "alg", "RS256", "pem", rsa_pem, "kid",
                  "h1", "alg", "HS256", "secret_file", "h1.secret");
    char *text_of_set = json_dumps(set, JSON_INDENT(1));
    FUZZ_ASSERT(text_of_set != NULL);
    write_file("keys.json", text_of_set, strlen(text_of_set));
    json_decref(set);
    free(ec_pem);
    free(rsa_pem);
    multi = verifier("keys.json", NULL, NULL);
    single = verifier(NULL, "one.secret", "HS256");
    write_file("watched.json", text_of_set, strlen(text_of_set));
    watched = verifier("watched.json", NULL, NULL);
    free(text_of_set);
    FUZZ_ASSERT(req_auth_create(&auth, multi, LEEWAY) == RFQ_OK);
    char kids[64];
    FUZZ_ASSERT(strcmp(rfq_jwt_verifier_kids(multi, kids, sizeof(kids)), "e1,r1,h1") == 0);
    atexit(cleanup);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static size_t b64url(char *out, const unsigned char *in, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = abc[v >> 18 & 63];
        out[o++] = abc[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = abc[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = abc[v & 63];
    }
    out[o] = '\0';
    return o;
}

/* Sign input with the key named by which into sig (R||S for ES256); returns its length. */
static size_t sign(char which, const char *input, size_t len, unsigned char *sig)
{
    unsigned int mac_len = 0;
    if (which == 'h' || which == 'd') {
        const char *secret = which == 'h' ? SECRET_H1 : SECRET_ONE;
        FUZZ_ASSERT(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input,
                         len, sig, &mac_len) != NULL);
        return mac_len;
    }
    EVP_PKEY *k = which == 'e' ? ec_key : rsa_key;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[512];
    size_t der_len = sizeof(der);
    FUZZ_ASSERT(ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) == 1);
    FUZZ_ASSERT(EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input, len) == 1);
    EVP_MD_CTX_free(ctx);
    if (which != 'e') {
        memcpy(sig, der, der_len);
        return der_len;
    }
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    FUZZ_ASSERT(es != NULL);
    FUZZ_ASSERT(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32) == 32);
    FUZZ_ASSERT(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32) == 32);
    ECDSA_SIG_free(es);
    return 64;
}

/* A refusal: RFQ_EAUTH, a reason that fits a JSON string and a header, no token bytes. */
static void check_refusal(rfq_status st, const struct rfq_err *err, const char *tok, size_t len)
{
    FUZZ_ASSERT(st == RFQ_EAUTH);
    FUZZ_ASSERT(err->message[0] != '\0');
    json_t *m = json_string(err->message);
    FUZZ_ASSERT(m != NULL);
    json_decref(m);
    /* No 12-byte run of the token shows up in the reason (it may reach logs and clients). */
    for (size_t i = 0; len >= 12 && i + 12 <= len; i += 6) {
        char run[13];
        memcpy(run, tok + i, 12);
        run[12] = '\0';
        FUZZ_ASSERT(strlen(run) < 12 || strstr(err->message, run) == NULL);
    }
}

/* An accepted token: its identity is well-formed and verified with kid. */
static void check_identity(const struct rfq_identity *who, const char *kid)
{
    FUZZ_ASSERT(rfq_tenant_valid(who->tenant));
    FUZZ_ASSERT(strcmp(who->tier, "basic") == 0 || strcmp(who->tier, "premium") == 0 ||
                strcmp(who->tier, "enterprise") == 0);
    FUZZ_ASSERT(who->exp > NOW - LEEWAY);
    if (kid)
        FUZZ_ASSERT(strcmp(who->kid, kid) == 0);
    else
        FUZZ_ASSERT(strcmp(who->kid, "e1") == 0 || strcmp(who->kid, "r1") == 0 ||
                    strcmp(who->kid, "h1") == 0 || strcmp(who->kid, "default") == 0);
}

static rfq_status verify(rfq_jwt_verifier *v, const char *tok, size_t len, struct rfq_identity *who)
{
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_jwt_verify(v, tok, len, NOW, who, &err);
    if (st != RFQ_OK)
        check_refusal(st, &err, tok, len);
    else
        check_identity(who, NULL);
    return st;
}

/* j is a JSON string equal to s. */
static bool str_is(json_t *j, const char *s)
{
    return json_is_string(j) && strcmp(json_string_value(j), s) == 0;
}

/* The claims of an accepted token, read independently, agree with the identity. */
static void check_claims(const char *payload, size_t len, const struct rfq_identity *who)
{
    json_t *c = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_ASSERT(json_is_object(c));
    json_t *exp = json_object_get(c, "exp"), *nbf = json_object_get(c, "nbf");
    json_t *aud = json_object_get(c, "aud"), *tier = json_object_get(c, "tier");
    FUZZ_ASSERT(json_is_integer(exp) && json_integer_value(exp) == who->exp);
    FUZZ_ASSERT(!nbf || (json_is_integer(nbf) && json_integer_value(nbf) <= NOW + LEEWAY));
    FUZZ_ASSERT(str_is(json_object_get(c, "iss"), ISS));
    bool aud_ok = json_is_string(aud) && strcmp(json_string_value(aud), AUD) == 0;
    for (size_t i = 0; !aud_ok && json_is_array(aud) && i < json_array_size(aud); i++) {
        const char *a = json_string_value(json_array_get(aud, i));
        aud_ok = a && strcmp(a, AUD) == 0;
    }
    FUZZ_ASSERT(aud_ok);
    FUZZ_ASSERT(str_is(json_object_get(c, "tenant_id"), who->tenant));
    /* A tier claim that is there must be the tier granted; only a missing one means basic. */
    FUZZ_ASSERT(tier ? str_is(tier, who->tier) : strcmp(who->tier, "basic") == 0);
    json_decref(c);
}

/* The header of an accepted token names the key's algorithm and the kid that verified it. */
static void check_header(const char *hdr, size_t len, const char *alg, const char *kid)
{
    json_t *h = json_loadb(hdr, len, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_ASSERT(json_is_object(h));
    FUZZ_ASSERT(str_is(json_object_get(h, "alg"), alg));
    const char *k = json_string_value(json_object_get(h, "kid"));
    FUZZ_ASSERT(k ? strcmp(k, kid) == 0 : strcmp(kid, "default") == 0);
    json_decref(h);
}

static bool same_identity(const struct rfq_identity *a, const struct rfq_identity *b)
{
    return strcmp(a->tenant, b->tenant) == 0 && strcmp(a->tier, b->tier) == 0 &&
           strcmp(a->subject, b->subject) == 0 && strcmp(a->kid, b->kid) == 0 && a->exp == b->exp;
}

/* req_auth_verify on an Authorization value. It runs on the wall clock, so it must give the
 * identity want exactly when want is set (a token valid at both clocks); every refusal is a
 * 401 with a complete challenge. */
static void check_auth(const char *header, const struct rfq_identity *want)
{
    struct rfq_identity got;
    struct req_reply rep;
    req_reply_init(&rep);
    rfq_status st = req_auth_verify(auth, header, &got, &rep);
    if (st == RFQ_OK) {
        check_identity(&got, NULL);
        FUZZ_ASSERT(!want || same_identity(&got, want));
        req_reply_clear(&rep);
        return;
    }
    FUZZ_ASSERT(st == RFQ_EAUTH && !want);
    FUZZ_ASSERT(rep.status == 401);
    json_t *body = json_loadb(rep.body, rep.body_len, 0, NULL);
    FUZZ_ASSERT(json_is_object(body));
    json_decref(body);
    const char *www = req_reply_header_get(&rep, "WWW-Authenticate");
    FUZZ_ASSERT(www && strncmp(www, "Bearer realm=\"rfq\"", 18) == 0);
    size_t n = strlen(www), quotes = 0;
    for (size_t i = 0; i < n; i++) {
        FUZZ_ASSERT(www[i] >= 0x20 && www[i] < 0x7f && www[i] != '\\');
        quotes += www[i] == '"';
    }
    FUZZ_ASSERT(quotes % 2 == 0 && www[n - 1] == '"'); /* never cut inside a quoted-string */
    req_reply_clear(&rep);
}

/* ---- modes -------------------------------------------------------------------------------- */

static void mode_signed(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    char which = data[0] && strchr("herd", (char)data[0]) ? (char)data[0] : 'h';
    const char *kid = which == 'h' ? "h1" : which == 'e' ? "e1" : which == 'r' ? "r1" : "default";
    const char *alg = which == 'e' ? "ES256" : which == 'r' ? "RS256" : "HS256";
    rfq_jwt_verifier *v = which == 'd' ? single : multi;
    data++, size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hdr_len = nl ? (size_t)(nl - data) : size;
    const uint8_t *payload = nl ? nl + 1 : data + size;
    size_t payload_len = size - hdr_len - (nl ? 1 : 0);
    if (hdr_len > 2048 || payload_len > 4096)
        return;

    char *tok = malloc((hdr_len + payload_len) * 4 / 3 + 1024);
    FUZZ_ASSERT(tok != NULL);
    size_t n = b64url(tok, data, hdr_len);
    tok[n++] = '.';
    n += b64url(tok + n, payload, payload_len);
    unsigned char sig[512];
    size_t sig_len = sign(which, tok, n, sig);
    size_t sig_at = n + 1;
    tok[n++] = '.';
    n += b64url(tok + n, sig, sig_len);

    struct rfq_identity who;
    rfq_status st = verify(v, tok, n, &who);
    if (st == RFQ_OK) {
        FUZZ_ASSERT(strcmp(who.kid, kid) == 0);
        check_header((const char *)data, hdr_len, alg, kid);
        check_claims((const char *)payload, payload_len, &who);
        /* Any other signature, or any other payload, is refused. */
        struct rfq_identity other;
        char saved = tok[sig_at];
        tok[sig_at] = saved == 'A' ? 'B' : 'A';
        FUZZ_ASSERT(verify(v, tok, n, &other) == RFQ_EAUTH);
        tok[sig_at] = saved;
        size_t pay_at = (size_t)(strchr(tok, '.') - tok) + 1;
        saved = tok[pay_at];
        tok[pay_at] = saved == 'e' ? 'f' : 'e';
        FUZZ_ASSERT(verify(v, tok, n, &other) == RFQ_EAUTH);
        tok[pay_at] = saved;
    }
    if (v == multi) {
        /* Valid at both clocks: the fixed NOW and the wall clock req_auth reads. */
        bool both = st == RFQ_OK && who.exp > (int64_t)time(NULL) + 3600;
        char *header = malloc(n + 8);
        FUZZ_ASSERT(header != NULL);
        memcpy(header, "Bearer ", 7);
        memcpy(header + 7, tok, n);
        header[n + 7] = '\0';
        check_auth(header, both ? &who : NULL);
        check_auth(header, both ? &who : NULL); /* the second time from the cache */
        free(header);
    }
    free(tok);
}

/* A key set from the input. File names stay inside the directory (no absolute paths, no
 * ".."), so the loader never opens a device or a file outside the test keys. */
static void mode_keyset(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return;
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    json_t *keys = json_object_get(root, "keys");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        static const char *const names[] = {"key_file", "secret_file"};
        for (int j = 0; j < 2; j++) {
            json_t *f = json_object_get(json_array_get(keys, i), names[j]);
            const char *s = json_string_value(f);
            if (s && (s[0] == '/' || strstr(s, "..") || strlen(s) != json_string_length(f))) {
                json_decref(root);
                return;
            }
        }
    }
    json_decref(root);
    /* The file a live verifier watches: the direct load and the verifier's reload must agree. */
    uint64_t gen = rfq_jwt_verifier_generation(watched);
    char kids_before[RFQ_KEYSET_KEYS_MAX * (RFQ_KID_MAX + 1) + 1];
    rfq_jwt_verifier_kids(watched, kids_before, sizeof(kids_before));
    write_file("watched.json", (const char *)data, size);

    char path[128];
    snprintf(path, sizeof(path), "%s/watched.json", dir);
    struct rfq_keyset_src src = {.set_file = path};
    struct rfq_keyset_stamp stamp = {0};
    struct rfq_err err = {{0}, {0}};
    rfq_keyset *ks = NULL;
    rfq_status st = rfq_keyset_load(&ks, &src, &stamp, &err);
    FUZZ_ASSERT(stamp.n >= 1 && strcmp(stamp.paths[0], path) == 0);
    FUZZ_ASSERT(!rfq_keyset_stamp_changed(&stamp));
    rfq_keyset_stamp_clear(&stamp);
    if (st != RFQ_OK) {
        FUZZ_ASSERT(st == RFQ_EINVAL && ks == NULL);
        json_t *m = json_string(err.message);
        FUZZ_ASSERT(m != NULL);
        json_decref(m);
    }

    /* A rewrite inside one clock tick with the same size can look unchanged to stat, so a
     * poll may skip it; when it does reload, it must get what the direct load got. */
    int reloaded = 0;
    char kids_after[sizeof(kids_before)], kids_direct[sizeof(kids_before)] = "";
    struct rfq_err perr = {{0}, {0}};
    rfq_status pst = rfq_jwt_verifier_poll(watched, &reloaded, &perr);
    rfq_jwt_verifier_kids(watched, kids_after, sizeof(kids_after));
    for (size_t i = 0, used = 0; i < rfq_keyset_count(ks); i++)
        used += (size_t)snprintf(kids_direct + used, sizeof(kids_direct) - used, "%s%s",
                                 i ? "," : "", rfq_key_kid(rfq_keyset_key_at(ks, i)));
    if (reloaded && st == RFQ_OK) {
        FUZZ_ASSERT(pst == RFQ_OK && rfq_jwt_verifier_generation(watched) == gen + 1);
        FUZZ_ASSERT(strcmp(kids_after, kids_direct) == 0);
    } else {
        /* Not reloaded, or a broken file: the previous keys stay. */
        FUZZ_ASSERT(!reloaded || pst == st);
        FUZZ_ASSERT(rfq_jwt_verifier_generation(watched) == gen);
        FUZZ_ASSERT(strcmp(kids_after, kids_before) == 0);
    }
    /* Nothing changed since: the next poll reads nothing (a broken file is tried once). */
    FUZZ_ASSERT(rfq_jwt_verifier_poll(watched, &reloaded, &perr) == RFQ_OK && !reloaded);
    if (st != RFQ_OK)
        return;
    size_t n = rfq_keyset_count(ks);
    FUZZ_ASSERT(n >= 1 && n <= RFQ_KEYSET_KEYS_MAX);
    for (size_t i = 0; i < n; i++) {
        const rfq_key *k = rfq_keyset_key_at(ks, i);
        FUZZ_ASSERT(k && rfq_kid_valid(rfq_key_kid(k)));
        FUZZ_ASSERT(rfq_keyset_find(ks, rfq_key_kid(k)) == k);
        FUZZ_ASSERT(rfq_key_alg(k) != RFQ_JWS_INVALID);
        FUZZ_ASSERT(rfq_jws_alg_from_name(rfq_jws_alg_name(rfq_key_alg(k))) == rfq_key_alg(k));
        unsigned char sig[1] = {0};
        FUZZ_ASSERT(rfq_key_verify(k, "x", 1, sig, sizeof(sig)) == RFQ_EAUTH);
    }
    FUZZ_ASSERT(rfq_keyset_key_at(ks, n) == NULL);
    rfq_keyset_unref(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > RFQ_JWT_MAX + 1024)
        return 0;
    struct rfq_identity who;
    char *in;
    switch (size ? data[0] : 0) {
    case 'S':
        mode_signed(data + 1, size - 1);
        return 0;
    case 'K':
        mode_keyset(data + 1, size - 1);
        return 0;
    case 'A':
        in = fuzz_strndup(data + 1, size - 1);
        check_auth(in, NULL);
        free(in);
        return 0;
    case 'U':
        in = fuzz_strndup(data + 1, size - 1);
        verify(single, in, size - 1, &who);
        free(in);
        return 0;
    default:
        in = fuzz_strndup(data, size);
        verify(multi, in, size, &who);
        free(in);
        return 0;
    }
}
