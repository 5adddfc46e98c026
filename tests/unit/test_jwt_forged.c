/* test_jwt_forged: every forged token of tests/integration/forge.c against a key set of an
 * ES256 and an RS256 key, each refused by the check it targets; and the same battery through
 * req_auth, each answered 401 with an invalid_token challenge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge.h"
#include "req_auth.h"
#include "test_jwt_util.h"

#define TENANT "acme"

static struct {
    char dir[64];
    EVP_PKEY *es, *rs;
    char *es_pub, *rs_pub;
    rfq_jwt_verifier *v;
    struct forge_case *cases;
    size_t n;
} F;

static int group_setup(void **state)
{
    tj_dir_create(F.dir, sizeof(F.dir), "forged");
    F.es = EVP_EC_gen("P-256");
    F.rs = EVP_RSA_gen(2048);
    if (!F.es || !F.rs)
        return -1;
    char path[128], set[128];
    tj_write_pem(tj_path(path, sizeof(path), F.dir, "es.pub"), F.es, 0);
    tj_write_pem(tj_path(path, sizeof(path), F.dir, "rs.pub"), F.rs, 0);
    tj_write(tj_path(set, sizeof(set), F.dir, "keys.json"),
             "{\"keys\":[{\"kid\":\"es-1\",\"alg\":\"ES256\",\"key_file\":\"es.pub\"},"
             "{\"kid\":\"rs-1\",\"alg\":\"RS256\",\"key_file\":\"rs.pub\"}]}",
             0);
    F.v = tj_verifier(set, NULL, NULL);
    F.es_pub = tj_pem(F.es, 0);
    F.rs_pub = tj_pem(F.rs, 0);
    struct forge_keys k = {.signer = F.es,
                           .signer_kid = "es-1",
                           .es_pub_pem = F.es_pub,
                           .rs_kid = "rs-1",
                           .rs_pub_pem = F.rs_pub,
                           .issuer = TJ_ISS,
                           .audience = TJ_AUD,
                           .tenant = TENANT,
                           .now_s = TJ_NOW};
    return forge_all(&F.cases, &F.n, &k);
}

static int group_teardown(void **state)
{
    forge_free(F.cases, F.n);
    rfq_jwt_verifier_destroy(F.v);
    EVP_PKEY_free(F.es);
    EVP_PKEY_free(F.rs);
    free(F.es_pub);
    free(F.rs_pub);
    tj_dir_remove(F.dir);
    return 0;
}

static void test_battery(void **state)
{
    size_t forged = 0, wrong = 0;
    for (size_t i = 0; i < F.n; i++) {
        const struct forge_case *c = &F.cases[i];
        struct rfq_identity id;
        struct rfq_err err = {{0}, {0}};
        rfq_status st = rfq_jwt_verify(F.v, c->token, strlen(c->token), TJ_NOW, &id, &err);
        if (strcmp(c->field, "ok") == 0) {
            if (st != RFQ_OK || strcmp(id.tenant, TENANT) != 0) {
                print_error("%-34s expected success, got %s (%s)\n", c->name, err.message,
                            err.field);
                wrong++;
            }
            continue;
        }
        forged++;
        int right = st == RFQ_EAUTH && strcmp(err.field, c->field) == 0 && err.message[0];
        print_message("%-34s -> %-9s %s\n", c->name, err.field[0] ? err.field : "malformed",
                      err.message);
        if (!right) {
            print_error("%-34s refused by \"%s\" (%s), expected \"%s\"\n", c->name, err.field,
                        st == RFQ_OK ? "ACCEPTED" : err.message, c->field);
            wrong++;
        }
        /* the reason never echoes token bytes */
        const char *dot = strrchr(c->token, '.');
        if (dot && strlen(dot + 1) >= 8) {
            char sig8[9];
            memcpy(sig8, dot + 1, 8);
            sig8[8] = '\0';
            assert_null(strstr(err.message, sig8));
        }
    }
    print_message("forged tokens refused with the expected reason: %zu of %zu\n", forged - wrong,
                  forged);
    assert_int_equal(wrong, 0);
    assert_true(forged >= 30);
}

static void test_battery_through_req_auth(void **state)
{
    req_auth *a = NULL;
    assert_int_equal(req_auth_create(&a, F.v, 30), RFQ_OK);
    for (size_t i = 0; i < F.n; i++) {
        const struct forge_case *c = &F.cases[i];
        if (strcmp(c->field, "ok") == 0)
            continue;
        char *hdr = malloc(strlen(c->token) + 8);
        assert_non_null(hdr);
        sprintf(hdr, "Bearer %s", c->token);
        struct rfq_identity who;
        struct req_reply r;
        req_reply_init(&r);
        /* verified twice: a refused token must not be cached either */
        for (int round = 0; round < 2; round++) {
            assert_int_equal(req_auth_verify(a, hdr, &who, &r), RFQ_EAUTH);
            assert_int_equal(r.status, 401);
            const char *www = req_reply_header_get(&r, "WWW-Authenticate");
            assert_non_null(www);
            assert_non_null(
                strstr(www, "Bearer realm=\"rfq\", error=\"invalid_token\", error_description=\""));
            assert_non_null(strstr(r.body, "\"unauthorized\""));
            assert_null(strstr(r.body, c->token + (strlen(c->token) > 40 ? 20 : 0)));
            req_reply_clear(&r);
        }
        free(hdr);
    }
    req_auth_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_battery),
        cmocka_unit_test(test_battery_through_req_auth),
    };
    return cmocka_run_group_tests_name("jwt_forged", tests, group_setup, group_teardown);
}
