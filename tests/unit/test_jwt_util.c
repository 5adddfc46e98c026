/* test_jwt_util: shared key and file helpers of the key-set and forged-token unit tests. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "test_jwt_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ftw.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tj_dir_create(char *dir, size_t cap, const char *tag)
{
    snprintf(dir, cap, "/tmp/rfq-test-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

void tj_dir_remove(const char *dir)
{
    if (dir && *dir)
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

char *tj_path(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
    return out;
}

void tj_write(const char *path, const char *text, int atomic)
{
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(atomic ? tmp : path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    if (atomic)
        assert_int_equal(rename(tmp, path), 0);
}

char *tj_pem(EVP_PKEY *k, int private_key)
{
    BIO *b = BIO_new(BIO_s_mem());
    assert_non_null(b);
    assert_int_equal(private_key ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                                 : PEM_write_bio_PUBKEY(b, k),
                     1);
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}

void tj_write_pem(const char *path, EVP_PKEY *k, int private_key)
{
    char *pem = tj_pem(k, private_key);
    tj_write(path, pem, 0);
    free(pem);
}

static char *mint_key(const char *alg, const unsigned char *key, size_t key_len, const char *kid,
                      const char *tenant, int64_t ttl_s)
{
    struct rfq_jwt_claims c = {.issuer = TJ_ISS,
                               .audience = TJ_AUD,
                               .tenant = tenant,
                               .tier = "premium",
                               .subject = "backend-1",
                               .iat = TJ_NOW,
                               .ttl_s = ttl_s,
                               .kid = kid};
    char *tok = NULL;
    assert_int_equal(rfq_jwt_mint(&tok, alg, key, key_len, &c), RFQ_OK);
    assert_non_null(tok);
    return tok;
}

char *tj_mint(const char *alg, EVP_PKEY *k, const char *kid, const char *tenant, int64_t ttl_s)
{
    char *pem = tj_pem(k, 1);
    char *tok = mint_key(alg, (const unsigned char *)pem, strlen(pem), kid, tenant, ttl_s);
    free(pem);
    return tok;
}

char *tj_mint_hs(const char *secret, const char *kid, const char *tenant, int64_t ttl_s)
{
    return mint_key("HS256", (const unsigned char *)secret, strlen(secret), kid, tenant, ttl_s);
}

rfq_jwt_verifier *tj_verifier(const char *set_file, const char *key_file, const char *alg)
{
    struct rfq_jwt_cfg cfg = {.keys_file = set_file,
                              .key_file = key_file,
                              .alg = alg,
                              .issuer = TJ_ISS,
                              .audience = TJ_AUD,
                              .leeway_s = 30};
    rfq_jwt_verifier *v = NULL;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_jwt_verifier_create(&v, &cfg, &err);
    if (st != RFQ_OK)
        print_error("verifier: %s (%s)\n", err.message, err.field);
    assert_int_equal(st, RFQ_OK);
    return v;
}

void tj_expect_ok(rfq_jwt_verifier *v, const char *tok, struct rfq_identity *id)
{
    struct rfq_identity local;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_jwt_verify(v, tok, strlen(tok), TJ_NOW, id ? id : &local, &err);
    if (st != RFQ_OK)
        print_error("verify failed: field=%s message=%s\n", err.field, err.message);
    assert_int_equal(st, RFQ_OK);
}

void tj_expect_fail(rfq_jwt_verifier *v, const char *tok, const char *field)
{
    struct rfq_identity id;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_jwt_verify(v, tok, strlen(tok), TJ_NOW, &id, &err);
    if (st != RFQ_EAUTH || strcmp(err.field, field) != 0)
        print_error("status=%s field=\"%s\" message=%s (wanted field \"%s\")\n", rfq_status_str(st),
                    err.field, err.message, field);
    assert_int_equal(st, RFQ_EAUTH);
    assert_string_equal(err.field, field);
    assert_true(err.message[0] != '\0');
}
