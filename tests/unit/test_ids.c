/* test_ids: id charsets and lengths, key and subject building with bounded buffers, and the
 * parsers for deadline members and quote subjects fed hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_ids.h"

#define GUARD 0x5a
#define GUARD_LEN 16

/* A string of n copies of c (n < 4096); borrowed from a ring of static buffers, large enough
 * for every value one test keeps alive at once. */
#define RING 16
static const char *rep(char c, size_t n)
{
    static char bufs[RING][4096];
    static int next;
    char *b = bufs[next++ % RING];
    assert_true(n < sizeof(bufs[0]));
    memset(b, c, n);
    b[n] = '\0';
    return b;
}

static const char *cat(const char *a, const char *b)
{
    static char bufs[RING][8192];
    static int next;
    char *out = bufs[next++ % RING];
    size_t la = strlen(a), lb = strlen(b);
    assert_true(la + lb < sizeof(bufs[0]));
    memmove(out, a, la);
    memmove(out + la, b, lb + 1);
    return out;
}

/* ---- validation -------------------------------------------------------------------------- */

static void test_tenant_valid(void **state)
{
    static const char *const good[] = {"a",  "0",      "acme", "acme-eu",
                                       "a-", "9lives", "a--b", "tenant-123-x"};
    static const char *const bad[] = {
        "",       "-acme",  "Acme",  "ACME",   "acme_x", "acme.eu",     "acme*",  "acme>", "acme:x",
        "ac{me}", "acme x", " acme", "acme\n", "acme/x", "caf\xc3\xa9", "acme\t", "*",     ">"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(rfq_tenant_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rfq_tenant_valid(bad[i]))
            print_error("tenant \"%s\" accepted\n", bad[i]);
        assert_false(rfq_tenant_valid(bad[i]));
    }
    assert_false(rfq_tenant_valid(NULL));
    assert_true(rfq_tenant_valid(rep('a', 63)));
    assert_true(rfq_tenant_valid(cat("z", rep('-', 62))));
    assert_false(rfq_tenant_valid(rep('a', 64)));
    assert_false(rfq_tenant_valid(rep('a', 1000)));
}

static void test_region_valid(void **state)
{
    assert_true(rfq_region_valid("eu-west"));
    assert_true(rfq_region_valid("us-east-1"));
    assert_true(rfq_region_valid(rep('r', 32)));
    assert_false(rfq_region_valid(rep('r', 33)));
    assert_false(rfq_region_valid("eu.west"));
    assert_false(rfq_region_valid("EU-west"));
    assert_false(rfq_region_valid("-eu"));
    assert_false(rfq_region_valid("*"));
    assert_false(rfq_region_valid(">"));
    assert_false(rfq_region_valid(""));
    assert_false(rfq_region_valid(NULL));
}

static void test_ident_valid(void **state)
{
    static const char *const good[] = {
        "a", "A", "_", "-", "unicorn-7", "Z_y-9", "3f2c7a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f"};
    static const char *const bad[] = {"",     "a.b", "a*",   "a>",   "a/b",  "a:b",
                                      "a{b}", "a b", "a|b",  "a\nb", "a\\",  "é",
                                      "a%",   "a+b", "a\"b", ".",    "a\x7f"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(rfq_ident_valid(good[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rfq_ident_valid(bad[i]))
            print_error("ident \"%s\" accepted\n", bad[i]);
        assert_false(rfq_ident_valid(bad[i]));
    }
    assert_false(rfq_ident_valid(NULL));
    assert_true(rfq_ident_valid(rep('X', 64)));
    assert_false(rfq_ident_valid(rep('X', 65)));
}

static void test_id_new_and_clocks(void **state)
{
    char ids[64][37];
    for (int i = 0; i < 64; i++) {
        rfq_id_new(ids[i]);
        assert_int_equal(strlen(ids[i]), 36);
        assert_true(rfq_ident_valid(ids[i]));
        assert_int_equal(ids[i][14], '4'); /* UUID version 4 */
        for (const char *p = ids[i]; *p; p++)
            assert_false(*p >= 'A' && *p <= 'Z');
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    }
    int64_t ms = rfq_now_ms();
    assert_true(ms > 1600000000000LL && ms < 4102444800000LL); /* 2020 .. 2100 */
    int64_t a = rfq_mono_ns(), b = rfq_mono_ns();
    assert_true(b >= a);
}

/* ---- keys and subjects ------------------------------------------------------------------- */

typedef rfq_status (*build2_fn)(char *, size_t, const char *, const char *);

/* Build with fn into a buffer of exactly the needed size, one less, and zero; check the
 * result and that nothing is written past cap. */
static void check_build2(build2_fn fn, const char *a, const char *b, const char *want)
{
    size_t need = strlen(want) + 1;
    char buf[RFQ_KEY_MAX * 2 + GUARD_LEN];
    memset(buf, GUARD, sizeof(buf));
    assert_int_equal(fn(buf, need, a, b), RFQ_OK);
    assert_string_equal(buf, want);
    for (size_t i = need; i < need + GUARD_LEN; i++)
        assert_int_equal((unsigned char)buf[i], GUARD);

    memset(buf, GUARD, sizeof(buf));
    assert_int_equal(fn(buf, need - 1, a, b), RFQ_ETOOBIG);
    assert_int_equal(buf[0], '\0');
    for (size_t i = need - 1; i < need + GUARD_LEN; i++)
        assert_int_equal((unsigned char)buf[i], GUARD);

    memset(buf, GUARD, sizeof(buf));
    assert_int_equal(fn(buf, 0, a, b), RFQ_ETOOBIG);
    assert_int_equal((unsigned char)buf[0], GUARD);
}

static void test_keys(void **state)
{
    check_build2(rfq_key_rfq, "acme", "id-1", "rfq:acme:{id-1}");
    check_build2(rfq_key_quotes, "acme", "id-1", "rfq:acme:{id-1}:quotes");
    check_build2(rfq_key_rank, "acme", "ID_2", "rfq:acme:{ID_2}:rank");
    check_build2(rfq_deadline_member, "acme", "id-1", "acme/id-1");

    char buf[RFQ_KEY_MAX];
    assert_int_equal(rfq_key_index(buf, sizeof(buf), "acme"), RFQ_OK);
    assert_string_equal(buf, "rfq:acme:idx");
    assert_int_equal(rfq_key_index(buf, 12, "acme"), RFQ_ETOOBIG);
    assert_int_equal(rfq_key_index(buf, sizeof(buf), "Acme"), RFQ_EINVAL);
    assert_int_equal(rfq_key_index(buf, sizeof(buf), NULL), RFQ_EINVAL);
    assert_string_equal(RFQ_SYS_DEADLINES, "rfq:_sys:deadlines");
    /* "_sys" can never be a tenant, so the system keys cannot collide with a tenant's */
    assert_false(rfq_tenant_valid("_sys"));

    /* the longest tenant and id fit RFQ_KEY_MAX */
    const char *t63 = rep('t', 63), *id64 = rep('I', 64);
    assert_int_equal(rfq_key_quotes(buf, sizeof(buf), t63, id64), RFQ_OK);
    assert_int_equal(strlen(buf), 4 + 63 + 2 + 64 + 1 + 7);

    /* hostile parts are refused, never formatted */
    static const char *const bad_tenants[] = {"", "a:b", "a}b", "a{b", "A", "a*", "a b"};
    static const char *const bad_ids[] = {"", "a}b", "a{b", "a:b", "x.y", "a b", "*", ">"};
    for (size_t i = 0; i < sizeof(bad_tenants) / sizeof(bad_tenants[0]); i++) {
        assert_int_equal(rfq_key_rfq(buf, sizeof(buf), bad_tenants[i], "id"), RFQ_EINVAL);
        assert_int_equal(rfq_key_rank(buf, sizeof(buf), bad_tenants[i], "id"), RFQ_EINVAL);
        assert_int_equal(rfq_deadline_member(buf, sizeof(buf), bad_tenants[i], "id"), RFQ_EINVAL);
    }
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        assert_int_equal(rfq_key_quotes(buf, sizeof(buf), "acme", bad_ids[i]), RFQ_EINVAL);
        assert_int_equal(rfq_deadline_member(buf, sizeof(buf), "acme", bad_ids[i]), RFQ_EINVAL);
    }
    assert_int_equal(rfq_key_rfq(buf, sizeof(buf), NULL, "id"), RFQ_EINVAL);
    assert_int_equal(rfq_key_rfq(buf, sizeof(buf), "acme", NULL), RFQ_EINVAL);
    assert_int_equal(rfq_key_rfq(buf, sizeof(buf), rep('t', 64), "id"), RFQ_EINVAL);
    assert_int_equal(rfq_key_rfq(buf, sizeof(buf), "acme", rep('i', 65)), RFQ_EINVAL);
}

/* The tenant-wide quota, open-set and usage keys, and the months that name usage keys. */
static void test_tenant_keys(void **state)
{
    check_build2(rfq_key_usage, "acme", "2024-03", "rfq:acme:usage:2024-03");
    char buf[RFQ_KEY_MAX];
    assert_int_equal(rfq_key_quota(buf, sizeof(buf), "acme"), RFQ_OK);
    assert_string_equal(buf, "rfq:acme:quota");
    assert_int_equal(rfq_key_open(buf, sizeof(buf), "acme"), RFQ_OK);
    assert_string_equal(buf, "rfq:acme:open");
    assert_int_equal(rfq_key_quota(buf, 14, "acme"), RFQ_ETOOBIG);
    assert_int_equal(rfq_key_open(buf, 13, "acme"), RFQ_ETOOBIG);
    assert_int_equal(rfq_key_quota(buf, sizeof(buf), "Acme"), RFQ_EINVAL);
    assert_int_equal(rfq_key_open(buf, sizeof(buf), NULL), RFQ_EINVAL);
    assert_int_equal(rfq_key_open(buf, sizeof(buf), "_sys"), RFQ_EINVAL);
    /* the longest tenant fits */
    assert_int_equal(rfq_key_usage(buf, sizeof(buf), rep('t', 63), "2024-12"), RFQ_OK);
    assert_int_equal(strlen(buf), 4 + 63 + 1 + 6 + 7);

    /* a month that is not YYYY-MM (01..12) never becomes part of a key */
    static const char *const bad_months[] = {"",        "2024-3",   "2024-13",    "2024-00",
                                             "24-03",   "2024/03",  "2024-03-01", "2024-0a",
                                             "abcd-01", "2024-03 ", "*",          "2024-1*"};
    for (size_t i = 0; i < sizeof(bad_months) / sizeof(bad_months[0]); i++) {
        assert_false(rfq_month_valid(bad_months[i]));
        assert_int_equal(rfq_key_usage(buf, sizeof(buf), "acme", bad_months[i]), RFQ_EINVAL);
    }
    assert_false(rfq_month_valid(NULL));
    assert_int_equal(rfq_key_usage(buf, sizeof(buf), "acme", NULL), RFQ_EINVAL);
    assert_int_equal(rfq_key_usage(buf, sizeof(buf), "a:b", "2024-03"), RFQ_EINVAL);
    assert_true(rfq_month_valid("1999-01"));
    assert_true(rfq_month_valid("0000-12"));

    char m[RFQ_MONTH_LEN + 1];
    assert_int_equal(rfq_month_utc(0, m), RFQ_OK);
    assert_string_equal(m, "1970-01");
    assert_int_equal(rfq_month_utc(1709251199999LL, m), RFQ_OK); /* 2024-02-29T23:59:59.999Z */
    assert_string_equal(m, "2024-02");
    assert_int_equal(rfq_month_utc(1709251200000LL, m), RFQ_OK); /* 2024-03-01T00:00:00Z */
    assert_string_equal(m, "2024-03");
    assert_int_equal(rfq_month_utc(1735689599999LL, m), RFQ_OK); /* 2024-12-31T23:59:59.999Z */
    assert_string_equal(m, "2024-12");
    assert_int_equal(rfq_month_utc(253402300799999LL, m), RFQ_OK); /* the last ms of 9999 */
    assert_string_equal(m, "9999-12");
    assert_true(rfq_month_valid(m));
    assert_int_equal(rfq_month_utc(253402300800000LL, m), RFQ_EINVAL);
    assert_string_equal(m, "");
    assert_int_equal(rfq_month_utc(-1, m), RFQ_EINVAL);
    assert_int_equal(rfq_month_utc(INT64_MAX, m), RFQ_EINVAL);
    assert_int_equal(rfq_month_utc(rfq_now_ms(), m), RFQ_OK);
    assert_true(rfq_month_valid(m));
}

static void test_subjects(void **state)
{
    check_build2(rfq_subject_request, "eu-west", "acme", "rfq.v1.req.eu-west.acme");
    check_build2(rfq_subject_quote, "acme", "id-1", "rfq.v1.quote.acme.id-1");
    check_build2(rfq_subject_event, "acme", "id-1", "rfq.v1.event.acme.id-1");

    char buf[RFQ_KEY_MAX];
    assert_int_equal(rfq_subject_dlq(buf, sizeof(buf), "aggregator"), RFQ_OK);
    assert_string_equal(buf, "rfq.v1.dlq.aggregator");
    assert_int_equal(rfq_subject_dlq(buf, 10, "aggregator"), RFQ_ETOOBIG);
    assert_int_equal(rfq_subject_dlq(buf, sizeof(buf), "agg.x"), RFQ_EINVAL);
    assert_int_equal(rfq_subject_dlq(buf, sizeof(buf), ">"), RFQ_EINVAL);
    assert_int_equal(rfq_subject_dlq(buf, sizeof(buf), NULL), RFQ_EINVAL);

    /* a wildcard or extra token in any part would widen who receives the message */
    static const char *const bad[] = {"*", ">", "a.b", "a b", "", "A"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(rfq_subject_request(buf, sizeof(buf), bad[i], "acme"), RFQ_EINVAL);
        assert_int_equal(rfq_subject_request(buf, sizeof(buf), "eu-west", bad[i]), RFQ_EINVAL);
        assert_int_equal(rfq_subject_quote(buf, sizeof(buf), bad[i], "id"), RFQ_EINVAL);
        assert_int_equal(rfq_subject_event(buf, sizeof(buf), bad[i], "id"), RFQ_EINVAL);
    }
    static const char *const bad_ids[] = {"*", ">", "a.b", "a b", ""};
    for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
        assert_int_equal(rfq_subject_quote(buf, sizeof(buf), "acme", bad_ids[i]), RFQ_EINVAL);
        assert_int_equal(rfq_subject_event(buf, sizeof(buf), "acme", bad_ids[i]), RFQ_EINVAL);
    }
    /* the constants agree with the builders */
    assert_int_equal(rfq_subject_quote(buf, sizeof(buf), "acme", "id"), RFQ_OK);
    assert_memory_equal(buf, RFQ_SUBJECT_QUOTES_ALL, strlen(RFQ_SUBJECT_QUOTES_ALL) - 1);
    assert_int_equal(rfq_subject_event(buf, sizeof(buf), "acme", "id"), RFQ_OK);
    assert_memory_equal(buf, RFQ_SUBJECT_EVENTS_ALL, strlen(RFQ_SUBJECT_EVENTS_ALL) - 1);
}

/* ---- parsers ----------------------------------------------------------------------------- */

/* Output buffers with guard bytes, to catch writes past RFQ_TENANT_MAX+1 / RFQ_ID_MAX+1. */
struct parse_out {
    char tenant[RFQ_TENANT_MAX + 1];
    char tguard[GUARD_LEN];
    char id[RFQ_ID_MAX + 1];
    char iguard[GUARD_LEN];
};

static void parse_out_init(struct parse_out *o)
{
    memset(o, GUARD, sizeof(*o));
}

static void parse_out_check(const struct parse_out *o)
{
    for (int i = 0; i < GUARD_LEN; i++) {
        assert_int_equal((unsigned char)o->tguard[i], GUARD);
        assert_int_equal((unsigned char)o->iguard[i], GUARD);
    }
}

static void test_deadline_member_parse(void **state)
{
    struct parse_out o;
    parse_out_init(&o);
    assert_int_equal(rfq_deadline_member_parse("acme/id-1", o.tenant, o.id), RFQ_OK);
    assert_string_equal(o.tenant, "acme");
    assert_string_equal(o.id, "id-1");
    parse_out_check(&o);

    /* longest valid parts, and round trip with the builder */
    char member[RFQ_KEY_MAX];
    assert_int_equal(rfq_deadline_member(member, sizeof(member), rep('t', 63), rep('I', 64)),
                     RFQ_OK);
    parse_out_init(&o);
    assert_int_equal(rfq_deadline_member_parse(member, o.tenant, o.id), RFQ_OK);
    assert_string_equal(o.tenant, rep('t', 63));
    assert_string_equal(o.id, rep('I', 64));
    parse_out_check(&o);

    const char *hostile[] = {
        "",
        "/",
        "acme",
        "acme/",
        "/id",
        "acme/id/x",
        "acme//id",
        "ACME/id",
        "acme/id ",
        " acme/id",
        "acme/id\n",
        "acme/i.d",
        "acme/*",
        "acme/>",
        "ac:me/id",
        "acme\\/id",
        cat(rep('t', 64), "/id"),
        cat("acme/", rep('I', 65)),
        cat(rep('t', 4000), "/id"),
        cat("acme/", rep('I', 4000)),
        rep('/', 100),
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        parse_out_init(&o);
        if (rfq_deadline_member_parse(hostile[i], o.tenant, o.id) != RFQ_EINVAL)
            print_error("deadline member \"%.80s\" accepted\n", hostile[i]);
        assert_int_equal(rfq_deadline_member_parse(hostile[i], o.tenant, o.id), RFQ_EINVAL);
        parse_out_check(&o);
    }
    assert_int_equal(rfq_deadline_member_parse(NULL, o.tenant, o.id), RFQ_EINVAL);
}

static void test_quote_subject_parse(void **state)
{
    struct parse_out o;
    parse_out_init(&o);
    assert_int_equal(rfq_subject_quote_parse("rfq.v1.quote.acme.id-1", o.tenant, o.id), RFQ_OK);
    assert_string_equal(o.tenant, "acme");
    assert_string_equal(o.id, "id-1");
    parse_out_check(&o);

    char subject[RFQ_KEY_MAX];
    assert_int_equal(rfq_subject_quote(subject, sizeof(subject), rep('t', 63), rep('I', 64)),
                     RFQ_OK);
    parse_out_init(&o);
    assert_int_equal(rfq_subject_quote_parse(subject, o.tenant, o.id), RFQ_OK);
    assert_string_equal(o.tenant, rep('t', 63));
    assert_string_equal(o.id, rep('I', 64));
    parse_out_check(&o);

    const char *hostile[] = {
        "",
        "rfq",
        "rfq.v1.quote",
        "rfq.v1.quote.",
        "rfq.v1.quote.acme",
        "rfq.v1.quote.acme.",
        "rfq.v1.quote..id",
        "rfq.v1.quote.acme.id.extra",
        "rfq.v1.quote.acme..id",
        "rfq.v1.quote.acme.*",
        "rfq.v1.quote.acme.>",
        "rfq.v1.quote.*.id",
        "rfq.v1.quote.>.id",
        "rfq.v1.quote.Acme.id",
        "rfq.v1.QUOTE.acme.id",
        "rfq.v1.quotes.acme.id",
        "rfq.v2.quote.acme.id",
        "rfq.v1.event.acme.id",
        "xrfq.v1.quote.acme.id",
        " rfq.v1.quote.acme.id",
        "rfq.v1.quote.acme.id ",
        "rfq.v1.quote.acme.id\r\n",
        "rfq.v1.quote.ac_me.id",
        "rfq.v1.quote.acme.i/d",
        cat("rfq.v1.quote.", cat(rep('t', 64), ".id")),
        cat("rfq.v1.quote.acme.", rep('I', 65)),
        cat("rfq.v1.quote.", cat(rep('t', 4000), ".id")),
        cat("rfq.v1.quote.acme.", rep('I', 4000)),
        cat("rfq.v1.quote.", rep('.', 200)),
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        parse_out_init(&o);
        if (rfq_subject_quote_parse(hostile[i], o.tenant, o.id) != RFQ_EINVAL)
            print_error("quote subject \"%.80s\" accepted\n", hostile[i]);
        assert_int_equal(rfq_subject_quote_parse(hostile[i], o.tenant, o.id), RFQ_EINVAL);
        parse_out_check(&o);
    }
    assert_int_equal(rfq_subject_quote_parse(NULL, o.tenant, o.id), RFQ_EINVAL);
}

static void test_build_parse_round_trip(void **state)
{
    /* random valid tenants and ids survive build -> parse for both formats */
    static const char tch[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    static const char ich[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    unsigned seed = 12345;
    for (int n = 0; n < 2000; n++) {
        char tenant[RFQ_TENANT_MAX + 1], id[RFQ_ID_MAX + 1];
        seed = seed * 1103515245u + 12345u;
        size_t tl = 1 + (seed >> 8) % RFQ_TENANT_MAX;
        seed = seed * 1103515245u + 12345u;
        size_t il = 1 + (seed >> 8) % RFQ_ID_MAX;
        for (size_t i = 0; i < tl; i++) {
            seed = seed * 1103515245u + 12345u;
            tenant[i] = tch[(seed >> 8) % (i == 0 ? 36 : 37)];
        }
        tenant[tl] = '\0';
        for (size_t i = 0; i < il; i++) {
            seed = seed * 1103515245u + 12345u;
            id[i] = ich[(seed >> 8) % (sizeof(ich) - 1)];
        }
        id[il] = '\0';
        assert_true(rfq_tenant_valid(tenant));
        assert_true(rfq_ident_valid(id));

        char buf[RFQ_KEY_MAX];
        struct parse_out o;
        assert_int_equal(rfq_subject_quote(buf, sizeof(buf), tenant, id), RFQ_OK);
        parse_out_init(&o);
        assert_int_equal(rfq_subject_quote_parse(buf, o.tenant, o.id), RFQ_OK);
        assert_string_equal(o.tenant, tenant);
        assert_string_equal(o.id, id);
        assert_int_equal(rfq_deadline_member(buf, sizeof(buf), tenant, id), RFQ_OK);
        parse_out_init(&o);
        assert_int_equal(rfq_deadline_member_parse(buf, o.tenant, o.id), RFQ_OK);
        assert_string_equal(o.tenant, tenant);
        assert_string_equal(o.id, id);
        parse_out_check(&o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tenant_valid),
        cmocka_unit_test(test_region_valid),
        cmocka_unit_test(test_ident_valid),
        cmocka_unit_test(test_id_new_and_clocks),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_tenant_keys),
        cmocka_unit_test(test_subjects),
        cmocka_unit_test(test_deadline_member_parse),
        cmocka_unit_test(test_quote_subject_parse),
        cmocka_unit_test(test_build_parse_round_trip),
    };
    return cmocka_run_group_tests_name("ids", tests, NULL, NULL);
}
