/* Unit tests of rfq_parse_redis_url_auth (credentials in RFQ_REDIS_URL), the environment
 * loader, and rfq_url_redact (no password in any printed URL). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "rfq_cfg.h"

struct parsed {
    char host[64], user[64], pass[64];
    int port;
};

static rfq_status parse(const char *url, struct parsed *p)
{
    memset(p, 0, sizeof(*p));
    return rfq_parse_redis_url_auth(url, p->host, sizeof(p->host), &p->port, p->user,
                                    sizeof(p->user), p->pass, sizeof(p->pass));
}

static void test_plain_urls(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse("redis://127.0.0.1:6380", &p), RFQ_OK);
    assert_string_equal(p.host, "127.0.0.1");
    assert_int_equal(p.port, 6380);
    assert_string_equal(p.user, "");
    assert_string_equal(p.pass, "");
    assert_int_equal(parse("localhost", &p), RFQ_OK);
    assert_string_equal(p.host, "localhost");
    assert_int_equal(p.port, 6379);
    assert_int_equal(parse("redis://h:7000/0", &p), RFQ_OK);
    assert_int_equal(p.port, 7000);
    assert_int_equal(parse("redis://h/0", &p), RFQ_OK);
    assert_string_equal(p.host, "h");
    assert_int_equal(p.port, 6379);
}

static void test_credentials(void **state)
{
    (void)state;
    struct parsed p;
    assert_int_equal(parse("redis://rfq-svc:s3cret@127.0.0.1:6390", &p), RFQ_OK);
    assert_string_equal(p.user, "rfq-svc");
    assert_string_equal(p.pass, "s3cret");
    assert_string_equal(p.host, "127.0.0.1");
    assert_int_equal(p.port, 6390);
    /* Password only: the default user (requirepass). */
    assert_int_equal(parse("redis://:pw@h:1", &p), RFQ_OK);
    assert_string_equal(p.user, "");
    assert_string_equal(p.pass, "pw");
    assert_int_equal(parse("redis://pw@h:1", &p), RFQ_OK);
    assert_string_equal(p.user, "");
    assert_string_equal(p.pass, "pw");
    /* Percent-encoding, and a raw '@' or ':' inside the password. */
    assert_int_equal(parse("redis://u%40x:p%3Aw%2F@h:2", &p), RFQ_OK);
    assert_string_equal(p.user, "u@x");
    assert_string_equal(p.pass, "p:w/");
    assert_int_equal(parse("redis://u:a@b:c@h:3", &p), RFQ_OK);
    assert_string_equal(p.user, "u");
    assert_string_equal(p.pass, "a@b:c");
    assert_string_equal(p.host, "h");
    assert_int_equal(p.port, 3);
}

static void test_refused(void **state)
{
    (void)state;
    struct parsed p;
    const char *bad[] = {"",
                         "redis://",
                         "redis://:6379",
                         "redis://h:0",
                         "redis://h:99999",
                         "redis://h:12x",
                         "redis://user:@h:1", /* a user with an empty password */
                         "redis://@h:1",
                         "redis://u:p%zz@h:1",
                         "redis://u:p%00@h:1",
                         "redis://u:p%4@h:1",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        rfq_status st = parse(bad[i], &p);
        if (st == RFQ_OK)
            fail_msg("accepted \"%s\"", bad[i]);
    }
    /* A password longer than the buffer is refused, not truncated. */
    char longurl[200] = "redis://u:";
    memset(longurl + strlen(longurl), 'x', 100);
    strcat(longurl, "@h:1");
    assert_int_equal(parse(longurl, &p), RFQ_EINVAL);
    /* The old entry point accepts (and drops) credentials. */
    char host[64];
    int port = 0;
    assert_int_equal(rfq_parse_redis_url("redis://u:p@h:5", host, sizeof(host), &port), RFQ_OK);
    assert_string_equal(host, "h");
    assert_int_equal(port, 5);
}

static void test_cfg_load(void **state)
{
    (void)state;
    struct rfq_common_cfg c;
    setenv("RFQ_REDIS_URL", "redis://rfq-svc:pw1@127.0.0.1:6391", 1);
    assert_int_equal(rfq_common_cfg_load(&c), RFQ_OK);
    assert_string_equal(c.redis_user, "rfq-svc");
    assert_string_equal(c.redis_pass, "pw1");
    assert_int_equal(c.redis_port, 6391);
    unsetenv("RFQ_REDIS_URL");
    assert_int_equal(rfq_common_cfg_load(&c), RFQ_OK);
    assert_string_equal(c.redis_user, "");
    assert_string_equal(c.redis_pass, "");
    assert_int_equal(c.redis_port, 6379);
}

static const char *redact(const char *url)
{
    static char out[256];
    return rfq_url_redact(url, out, sizeof(out));
}

static void test_redact(void **state)
{
    (void)state;
    assert_string_equal(redact("nats://127.0.0.1:4222"), "nats://127.0.0.1:4222");
    assert_string_equal(redact("nats://requester:pw@127.0.0.1:4222"),
                        "nats://requester:***@127.0.0.1:4222");
    assert_string_equal(redact("redis://:pw@h:1"), "redis://:***@h:1");
    assert_string_equal(redact("nats://tok3n@h:1"), "nats://***@h:1");
    assert_string_equal(redact("redis://u:a@b@h:1/0"), "redis://u:***@h:1/0");
    assert_string_equal(redact("nats://a:p1@h1:1,nats://b:p2@h2:2"),
                        "nats://a:***@h1:1,nats://b:***@h2:2");
    assert_string_equal(redact("nats://a:p1@h1:1,b:p2@h2:2,h3"), "nats://a:***@h1:1,b:***@h2:2,h3");
    assert_string_equal(redact("u:p@h:1"), "u:***@h:1");
    assert_string_equal(redact("127.0.0.1:6379"), "127.0.0.1:6379");
    assert_string_equal(redact("http://h:1/path@x"), "http://h:1/path@x");
    assert_string_equal(redact(""), "");
    assert_string_equal(redact(NULL), "");
    /* Truncation never exposes the password either. */
    char small[12];
    rfq_url_redact("nats://u:secretpw@h:1", small, sizeof(small));
    assert_null(strstr(small, "secret"));
    assert_true(strlen(small) < sizeof(small));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_urls), cmocka_unit_test(test_credentials),
        cmocka_unit_test(test_refused),    cmocka_unit_test(test_cfg_load),
        cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
