/* test_tenant: the tenant record codec (strict, round trip, hostile input), tier defaults,
 * effective settings, and the Redis ACL user names and derived passwords. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfq_redis_acl.h"
#include "rfq_tenant.h"

static rfq_status decode(struct rfq_tenant_rec *r, const char *json, struct rfq_err *err)
{
    return rfq_tenant_rec_decode(r, json, strlen(json), err);
}

static void test_tiers(void **state)
{
    (void)state;
    struct rfq_quota q;
    assert_int_equal(rfq_tier_quota("basic", &q), RFQ_OK);
    assert_int_equal(q.rate_per_s, 20);
    assert_int_equal(q.burst, 40);
    assert_int_equal(q.max_open, 100);
    assert_int_equal(rfq_tier_quota("premium", &q), RFQ_OK);
    assert_int_equal(q.rate_per_s, 200);
    assert_int_equal(q.burst, 400);
    assert_int_equal(q.max_open, 2000);
    assert_int_equal(rfq_tier_quota("enterprise", &q), RFQ_OK);
    assert_int_equal(q.rate_per_s, 0);
    assert_int_equal(q.burst, 0);
    assert_int_equal(q.max_open, 0);
    q.rate_per_s = 7;
    assert_int_equal(rfq_tier_quota("gold", &q), RFQ_EINVAL);
    assert_int_equal(q.rate_per_s, 7); /* untouched */
    assert_int_equal(rfq_tier_quota(NULL, &q), RFQ_EINVAL);
    assert_true(rfq_tier_valid("basic"));
    assert_false(rfq_tier_valid("Basic"));
    assert_false(rfq_tier_valid(""));
    assert_false(rfq_tier_valid(NULL));
}

static void test_rec_init_and_minimal(void **state)
{
    (void)state;
    struct rfq_tenant_rec r;
    rfq_tenant_rec_init(&r, "acme");
    assert_string_equal(r.tenant, "acme");
    assert_string_equal(r.tier, "");
    assert_false(r.suspended);
    assert_int_equal(r.rate_per_s, RFQ_TENANT_UNSET);
    assert_int_equal(r.default_max_quotes, RFQ_TENANT_UNSET);

    struct rfq_err err = {{0}, {0}};
    assert_int_equal(decode(&r, "{\"tenant_id\":\"acme\"}", &err), RFQ_OK);
    assert_string_equal(r.tenant, "acme");
    assert_false(r.suspended);
    assert_int_equal(r.burst, RFQ_TENANT_UNSET);
    assert_int_equal(r.default_timeout_ms, RFQ_TENANT_UNSET);
}

static void test_rec_round_trip(void **state)
{
    (void)state;
    struct rfq_tenant_rec r, back;
    rfq_tenant_rec_init(&r, "t-1");
    snprintf(r.tier, sizeof(r.tier), "premium");
    r.suspended = true;
    r.rate_per_s = 0; /* 0 = unlimited, must survive (not confused with unset) */
    r.burst = 5;
    r.max_open = 9;
    r.default_max_quotes = 2;
    r.default_timeout_ms = 1500;
    r.created_ms = 1700000000000;
    r.updated_ms = 1700000000001;
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(rfq_tenant_rec_encode(&r, &json, &len), RFQ_OK);
    assert_int_equal(len, strlen(json));
    assert_non_null(strstr(json, "\"status\":\"suspended\""));
    struct rfq_err err = {{0}, {0}};
    assert_int_equal(rfq_tenant_rec_decode(&back, json, len, &err), RFQ_OK);
    free(json);
    assert_memory_equal(&r, &back, sizeof(r));

    /* Unset fields are left out of the JSON. */
    rfq_tenant_rec_init(&r, "t-2");
    assert_int_equal(rfq_tenant_rec_encode(&r, &json, NULL), RFQ_OK);
    assert_string_equal(json, "{\"tenant_id\":\"t-2\",\"status\":\"active\"}");
    free(json);
}

static void test_rec_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "\"acme\"",
        "{}",
        "{\"tenant_id\":\"\"}",
        "{\"tenant_id\":\"ACME\"}",
        "{\"tenant_id\":\"-x\"}",
        "{\"tenant_id\":7}",
        "{\"tenant_id\":\"acme\",\"tenant_id\":\"evil\"}", /* duplicate keys */
        "{\"tenant_id\":\"acme\",\"admin\":true}",         /* unknown field */
        "{\"tenant_id\":\"acme\",\"tier\":\"gold\"}",
        "{\"tenant_id\":\"acme\",\"tier\":1}",
        "{\"tenant_id\":\"acme\",\"status\":\"deleted\"}",
        "{\"tenant_id\":\"acme\",\"status\":null}",
        "{\"tenant_id\":\"acme\",\"rate_per_s\":-1}",
        "{\"tenant_id\":\"acme\",\"rate_per_s\":1.5}",
        "{\"tenant_id\":\"acme\",\"burst\":\"10\"}",
        "{\"tenant_id\":\"acme\",\"max_open\":99999999999999999}",
        "{\"tenant_id\":\"acme\",\"default_max_quotes\":0}",
        "{\"tenant_id\":\"acme\",\"default_max_quotes\":101}",
        "{\"tenant_id\":\"acme\",\"default_timeout_ms\":99}",
        "{\"tenant_id\":\"acme\",\"default_timeout_ms\":60001}",
        "{\"tenant_id\":\"acme\",\"created_ms\":-5}",
        "{\"tenant_id\":\"acme\"",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rfq_tenant_rec r;
        struct rfq_err err = {{0}, {0}};
        rfq_status st = decode(&r, bad[i], &err);
        if (st != RFQ_EINVAL)
            fail_msg("accepted malformed record %s", bad[i]);
        assert_true(err.message[0] != '\0');
    }
    /* Size cap: a record is small. */
    char big[5000];
    int n = snprintf(big, sizeof(big), "{\"tenant_id\":\"acme\",\"tier\":\"basic\"");
    while (n < 4200)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "%s", "          ");
    snprintf(big + n, sizeof(big) - (size_t)n, "}");
    struct rfq_tenant_rec r;
    assert_int_equal(decode(&r, big, NULL), RFQ_EINVAL);
    assert_int_equal(rfq_tenant_rec_decode(&r, NULL, 0, NULL), RFQ_EINVAL);
    /* Ranges at their edges are accepted. */
    assert_int_equal(decode(&r,
                            "{\"tenant_id\":\"acme\",\"default_max_quotes\":100,"
                            "\"default_timeout_ms\":100,\"max_open\":0}",
                            NULL),
                     RFQ_OK);
    assert_int_equal(r.default_max_quotes, 100);
    assert_int_equal(r.default_timeout_ms, 100);
    assert_int_equal(r.max_open, 0);
}

static void test_effective(void **state)
{
    (void)state;
    struct rfq_tenant_settings s;
    /* No record: the token's tier defaults; an unknown token tier falls back to basic. */
    rfq_tenant_effective(NULL, "premium", &s);
    assert_string_equal(s.tier, "premium");
    assert_int_equal(s.quota.burst, 400);
    assert_int_equal(s.default_max_quotes, RFQ_TENANT_UNSET);
    assert_int_equal(s.default_timeout_ms, RFQ_TENANT_UNSET);
    rfq_tenant_effective(NULL, "platinum", &s);
    assert_string_equal(s.tier, "basic");
    rfq_tenant_effective(NULL, NULL, &s);
    assert_string_equal(s.tier, "basic");
    assert_int_equal(s.quota.rate_per_s, 20);

    /* A record without overrides keeps the token tier. */
    struct rfq_tenant_rec r;
    rfq_tenant_rec_init(&r, "acme");
    rfq_tenant_effective(&r, "enterprise", &s);
    assert_string_equal(s.tier, "enterprise");
    assert_int_equal(s.quota.rate_per_s, 0);

    /* The record's tier wins over the token's. */
    snprintf(r.tier, sizeof(r.tier), "basic");
    rfq_tenant_effective(&r, "enterprise", &s);
    assert_string_equal(s.tier, "basic");
    assert_int_equal(s.quota.rate_per_s, 20);
    assert_int_equal(s.quota.burst, 40);
    assert_int_equal(s.quota.max_open, 100);

    /* Each override replaces one field of the tier default; 0 means unlimited. */
    r.burst = 3;
    r.max_open = 0;
    r.default_max_quotes = 2;
    r.default_timeout_ms = 1500;
    rfq_tenant_effective(&r, "premium", &s);
    assert_string_equal(s.tier, "basic");
    assert_int_equal(s.quota.rate_per_s, 20);
    assert_int_equal(s.quota.burst, 3);
    assert_int_equal(s.quota.max_open, 0);
    assert_int_equal(s.default_max_quotes, 2);
    assert_int_equal(s.default_timeout_ms, 1500);

    /* Suspension is not a setting: admission handles it. */
    r.suspended = true;
    rfq_tenant_effective(&r, "premium", &s);
    assert_int_equal(s.quota.burst, 3);
}

static const unsigned char SECRET[] = "0123456789abcdef0123456789abcdef";
#define SECRET_LEN 32

static void test_acl_user(void **state)
{
    (void)state;
    char user[RFQ_ACL_USER_MAX];
    assert_int_equal(rfq_acl_tenant_user(user, sizeof(user), "acme"), RFQ_OK);
    assert_string_equal(user, "rfq-t-acme");
    assert_int_equal(rfq_acl_tenant_user(user, sizeof(user), "Acme"), RFQ_EINVAL);
    assert_int_equal(rfq_acl_tenant_user(user, sizeof(user), "a b"), RFQ_EINVAL);
    assert_int_equal(rfq_acl_tenant_user(user, sizeof(user), ""), RFQ_EINVAL);
    assert_int_equal(rfq_acl_tenant_user(user, sizeof(user), NULL), RFQ_EINVAL);
    assert_int_equal(rfq_acl_tenant_user(user, 8, "acme"), RFQ_ETOOBIG);
    /* The longest tenant id fits. */
    char longest[RFQ_TENANT_MAX + 1];
    memset(longest, 'a', RFQ_TENANT_MAX);
    longest[RFQ_TENANT_MAX] = '\0';
    assert_int_equal(rfq_acl_tenant_user(user, sizeof(user), longest), RFQ_OK);
}

static void test_acl_password(void **state)
{
    (void)state;
    char a[RFQ_ACL_PASSWORD_LEN + 1], b[RFQ_ACL_PASSWORD_LEN + 1], c[RFQ_ACL_PASSWORD_LEN + 1];
    assert_int_equal(rfq_acl_tenant_password(a, SECRET, SECRET_LEN, "acme"), RFQ_OK);
    /* HMAC-SHA256(secret, "rfq-tenant-redis:acme") in lower-case hex: the admin tool and the
     * requester must agree byte for byte. */
    assert_string_equal(a, "3910dffbf1e87289545694939ab4f06fb8927e9e2719b711f8ab2b1d34000f4a");
    assert_int_equal(rfq_acl_tenant_password(b, SECRET, SECRET_LEN, "acme"), RFQ_OK);
    assert_string_equal(a, b); /* deterministic */
    assert_int_equal(rfq_acl_tenant_password(c, SECRET, SECRET_LEN, "acme2"), RFQ_OK);
    assert_string_not_equal(a, c); /* per tenant */
    unsigned char other[SECRET_LEN];
    memcpy(other, SECRET, SECRET_LEN);
    other[0] ^= 1;
    assert_int_equal(rfq_acl_tenant_password(c, other, SECRET_LEN, "acme"), RFQ_OK);
    assert_string_not_equal(a, c); /* per secret */
    assert_int_equal(strlen(c), RFQ_ACL_PASSWORD_LEN);
    /* Too short a secret, or a bad tenant, gives no password. */
    assert_int_equal(rfq_acl_tenant_password(c, SECRET, 31, "acme"), RFQ_EINVAL);
    assert_string_equal(c, "");
    assert_int_equal(rfq_acl_tenant_password(c, SECRET, SECRET_LEN, "ACME"), RFQ_EINVAL);
    assert_int_equal(rfq_acl_tenant_password(c, NULL, SECRET_LEN, "acme"), RFQ_EINVAL);
}

/* Write content to a new temp file; returns its path (static buffer). */
static const char *temp_file(const void *content, size_t len)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/test_tenant_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_acl_secret_load(void **state)
{
    (void)state;
    unsigned char *sec = NULL;
    size_t len = 0;
    struct rfq_err err = {{0}, {0}};

    /* A trailing newline (or CRLF) is not part of the secret. */
    const char *p = temp_file("0123456789abcdef0123456789abcdef\n", 33);
    assert_int_equal(rfq_acl_secret_load(p, &sec, &len, &err), RFQ_OK);
    unlink(p);
    assert_int_equal(len, SECRET_LEN);
    assert_memory_equal(sec, SECRET, SECRET_LEN);
    free(sec);
    p = temp_file("0123456789abcdef0123456789abcdef\r\n", 34);
    assert_int_equal(rfq_acl_secret_load(p, &sec, &len, &err), RFQ_OK);
    unlink(p);
    assert_int_equal(len, SECRET_LEN);
    free(sec);

    /* Binary secrets are kept as they are. */
    unsigned char bin[40];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (unsigned char)(i * 7);
    p = temp_file(bin, sizeof(bin));
    assert_int_equal(rfq_acl_secret_load(p, &sec, &len, &err), RFQ_OK);
    unlink(p);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(sec, bin, sizeof(bin));
    free(sec);

    /* Too short once the newline is dropped. */
    p = temp_file("0123456789abcdef0123456789abcde\n", 32);
    assert_int_equal(rfq_acl_secret_load(p, &sec, &len, &err), RFQ_EINVAL);
    unlink(p);
    assert_null(sec);
    assert_true(strstr(err.message, "at least 32") != NULL);

    /* Missing file, empty path. */
    assert_int_equal(rfq_acl_secret_load("/nonexistent/secret", &sec, &len, &err), RFQ_EIO);
    assert_int_equal(rfq_acl_secret_load("", &sec, &len, &err), RFQ_EINVAL);
    assert_int_equal(rfq_acl_secret_load(NULL, &sec, &len, NULL), RFQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiers),          cmocka_unit_test(test_rec_init_and_minimal),
        cmocka_unit_test(test_rec_round_trip), cmocka_unit_test(test_rec_malformed),
        cmocka_unit_test(test_effective),      cmocka_unit_test(test_acl_user),
        cmocka_unit_test(test_acl_password),   cmocka_unit_test(test_acl_secret_load),
    };
    return cmocka_run_group_tests_name("tenant", tests, NULL, NULL);
}
