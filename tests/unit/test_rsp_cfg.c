/* Unit tests of rsp_cfg: defaults, environment, flags overriding it, and refused values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsp_cfg.h"

static const char *const env_names[] = {
    "RFQ_FLEET_SIZE",      "RFQ_REGIONS",           "RFQ_RESPONDER_PREFIX",
    "RFQ_BASE_FARE_MINOR", "RFQ_PER_KM_MINOR",      "RFQ_THINK_MS_MIN",
    "RFQ_THINK_MS_MAX",    "RFQ_DECLINE_PCT",       "RFQ_SEED",
    "RFQ_LOG_LEVEL",       "RFQ_NATS_URL",          "RFQ_READY_FILE",
    "RFQ_REDIS_URL",       "RFQ_NATS_INBOX_PREFIX", NULL};

static int clean_env(void **state)
{
    for (int i = 0; env_names[i]; i++)
        unsetenv(env_names[i]);
    return 0;
}

static rfq_status load(struct rsp_cfg *cfg, char *err, int argc, ...)
{
    static char prog[] = "rfq-responder";
    char *argv[32] = {prog};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i < argc && i < 32; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return rsp_cfg_load(cfg, argc, argv, err, 256);
}

static void test_defaults(void **state)
{
    struct rsp_cfg c;
    char err[256];
    assert_int_equal(load(&c, err, 1), RFQ_OK);
    assert_false(c.help);
    assert_int_equal(c.fleet.size, 10);
    assert_int_equal(c.fleet.n_regions, 2);
    assert_string_equal(c.fleet.regions[0], "eu-west");
    assert_string_equal(c.fleet.regions[1], "us-east");
    assert_string_equal(c.fleet.prefix, "unicorn");
    assert_int_equal(c.fleet.pricing.base_fare_minor, 400);
    assert_int_equal(c.fleet.pricing.per_km_minor, 180);
    assert_int_equal(c.fleet.pricing.think_ms_min, 5);
    assert_int_equal(c.fleet.pricing.think_ms_max, 60);
    assert_int_equal(c.fleet.pricing.decline_pct, 10);
    assert_int_equal(c.fleet.pricing.seed, 0);
    assert_string_equal(c.common.nats_url, "nats://127.0.0.1:4222");
    assert_string_equal(c.common.ready_file, "");
    assert_string_equal(c.log_level, "info");
    assert_string_equal(c.nats_inbox_prefix, "_INBOX_responder"); /* the responder user's */
}

static void test_env_then_flags(void **state)
{
    setenv("RFQ_FLEET_SIZE", "5", 1);
    setenv("RFQ_REGIONS", "ap-south", 1);
    setenv("RFQ_RESPONDER_PREFIX", "pony", 1);
    setenv("RFQ_BASE_FARE_MINOR", "250", 1);
    setenv("RFQ_PER_KM_MINOR", "99", 1);
    setenv("RFQ_THINK_MS_MIN", "0", 1);
    setenv("RFQ_THINK_MS_MAX", "3", 1);
    setenv("RFQ_DECLINE_PCT", "0", 1);
    setenv("RFQ_SEED", "18446744073709551615", 1);
    setenv("RFQ_NATS_URL", "nats://127.0.0.1:14222", 1);
    setenv("RFQ_READY_FILE", "/tmp/x.ready", 1);
    setenv("RFQ_NATS_INBOX_PREFIX", "_INBOX_acme.r1", 1);
    struct rsp_cfg c;
    char err[256];
    assert_int_equal(load(&c, err, 1), RFQ_OK);
    assert_int_equal(c.fleet.size, 5);
    assert_int_equal(c.fleet.n_regions, 1);
    assert_string_equal(c.fleet.regions[0], "ap-south");
    assert_string_equal(c.fleet.prefix, "pony");
    assert_int_equal(c.fleet.pricing.base_fare_minor, 250);
    assert_int_equal(c.fleet.pricing.per_km_minor, 99);
    assert_int_equal(c.fleet.pricing.think_ms_min, 0);
    assert_int_equal(c.fleet.pricing.think_ms_max, 3);
    assert_int_equal(c.fleet.pricing.decline_pct, 0);
    assert_true(c.fleet.pricing.seed == UINT64_MAX);
    assert_string_equal(c.common.nats_url, "nats://127.0.0.1:14222");
    assert_string_equal(c.common.ready_file, "/tmp/x.ready");
    assert_string_equal(c.nats_inbox_prefix, "_INBOX_acme.r1");

    assert_int_equal(load(&c, err, 14, "--fleet", "7", "--regions=a,b,c", "--think-ms", "2:9",
                          "--seed", "42", "--decline-pct=50", "--ready-file", "/tmp/y", "--prefix",
                          "zebra", "--nats-inbox-prefix=_INBOX"),
                     RFQ_OK);
    assert_string_equal(c.nats_inbox_prefix, "_INBOX");
    assert_int_equal(c.fleet.size, 7);
    assert_int_equal(c.fleet.n_regions, 3);
    assert_string_equal(c.fleet.regions[2], "c");
    assert_int_equal(c.fleet.pricing.think_ms_min, 2);
    assert_int_equal(c.fleet.pricing.think_ms_max, 9);
    assert_int_equal(c.fleet.pricing.seed, 42);
    assert_int_equal(c.fleet.pricing.decline_pct, 50);
    assert_string_equal(c.common.ready_file, "/tmp/y");
    assert_string_equal(c.fleet.prefix, "zebra");
}

static void test_help(void **state)
{
    struct rsp_cfg c;
    char err[256];
    assert_int_equal(load(&c, err, 4, "--fleet", "3", "--help"), RFQ_OK);
    assert_true(c.help);
    assert_int_equal(load(&c, err, 2, "-h"), RFQ_OK);
    assert_true(c.help);
    FILE *f = tmpfile();
    rsp_cfg_usage(f, "rfq-responder");
    rewind(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    const char *must[] = {
        "RFQ_FLEET_SIZE",   "RFQ_REGIONS",      "RFQ_RESPONDER_PREFIX", "RFQ_BASE_FARE_MINOR",
        "RFQ_PER_KM_MINOR", "RFQ_THINK_MS_MIN", "RFQ_THINK_MS_MAX",     "RFQ_DECLINE_PCT",
        "RFQ_SEED",         "RFQ_NATS_URL",     "RFQ_READY_FILE",       "RFQ_NATS_INBOX_PREFIX",
        "--think-ms",       "--ready-file",     "--nats-inbox-prefix",  NULL};
    for (int i = 0; must[i]; i++)
        assert_non_null(strstr(buf, must[i]));
}

static void test_refused(void **state)
{
    struct rsp_cfg c;
    char err[256];
    const char *bad[][2] = {
        {"--fleet", "0"},
        {"--fleet", "abc"},
        {"--fleet", "10001"},
        {"--regions", "a,,b"},
        {"--regions", ""},
        {"--regions", "EU"},
        {"--regions", "a,a"},
        {"--regions", "a.b"},
        {"--think-ms", "10:5"},
        {"--think-ms", "5"},
        {"--think-ms", "-1:5"},
        {"--think-ms", "1:x"},
        {"--decline-pct", "101"},
        {"--decline-pct", "-1"},
        {"--seed", "-3"},
        {"--seed", "1x"},
        {"--prefix", "a.b"},
        {"--prefix", "abcdefghijklmnopqrstuvwxyz"},
        {"--nope", "1"},
        {"--log-level", "loud"},
        {"--base-fare-minor", "-1"},
        {"--nats-inbox-prefix", ""},
        {"--nats-inbox-prefix", "_INBOX.>"},
        {"--nats-inbox-prefix", "_INBOX.*"},
        {"--nats-inbox-prefix", "a..b"},
        {"--nats-inbox-prefix", ".a"},
        {"--nats-inbox-prefix", "a."},
        {"--nats-inbox-prefix", "a b"},
        {"--nats-inbox-prefix",
         "_INBOX_0123456789012345678901234567890123456789012345678901234567890"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(load(&c, err, 3, bad[i][0], bad[i][1]), RFQ_EINVAL);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(load(&c, err, 2, "--fleet"), RFQ_EINVAL); /* missing value */
    assert_int_equal(load(&c, err, 2, "stray"), RFQ_EINVAL);
    setenv("RFQ_DECLINE_PCT", "150", 1);
    assert_int_equal(load(&c, err, 1), RFQ_EINVAL);
    assert_non_null(strstr(err, "RFQ_DECLINE_PCT"));
    unsetenv("RFQ_DECLINE_PCT");
    setenv("RFQ_THINK_MS_MIN", "100", 1); /* above the default maximum of 60 */
    assert_int_equal(load(&c, err, 1), RFQ_EINVAL);
    assert_int_equal(load(&c, err, 3, "--think-ms", "100:200"), RFQ_OK);
    unsetenv("RFQ_THINK_MS_MIN");
}

static void test_seed_random(void **state)
{
    uint64_t a = rsp_seed_random(), b = rsp_seed_random();
    assert_true(a != 0 && b != 0);
    assert_true(a != b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clean_env),
        cmocka_unit_test_setup(test_env_then_flags, clean_env),
        cmocka_unit_test_setup(test_help, clean_env),
        cmocka_unit_test_setup(test_refused, clean_env),
        cmocka_unit_test(test_seed_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
