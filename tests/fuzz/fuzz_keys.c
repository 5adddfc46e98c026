/* fuzz_keys: rfq_ids, the names every component agrees on. Input: up to four lines (a tenant,
 * an id, a region or month, a free string); the first 8 bytes are also read as a time in ms.
 * Properties: the validators match a plain model of their charsets; every builder succeeds
 * exactly for valid parts, gives the documented text, and refuses a short buffer without a
 * partial name; parsers give back the parts a builder took, and accept only what a builder
 * can produce (parse -> build is the identity). */
#include <stdbool.h>
#include <time.h>

#include "fuzz_util.h"
#include "rfq_ids.h"
#include "rfq_keyset.h"

/* Plain models of the charsets in rfq_ids.h. */
static bool model_lower(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool ok =
            (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || (i > 0 && s[i] == '-');
        if (!ok)
            return false;
    }
    return true;
}

static bool model_ident(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > RFQ_ID_MAX)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static bool model_month(const char *s)
{
    if (strlen(s) != 7 || s[4] != '-' || strspn(s, "0123456789") != 4 ||
        strspn(s + 5, "0123456789") != 2)
        return false;
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    return m >= 1 && m <= 12;
}

typedef rfq_status (*build2_fn)(char *, size_t, const char *, const char *);

/* Build with fn(a, b); when valid the result must equal want, and every buffer one byte too
 * small must be refused with RFQ_ETOOBIG and an empty string (no partial name). */
static void check_build2(build2_fn fn, const char *a, const char *b, bool valid, const char *want)
{
    char out[RFQ_KEY_MAX], small[RFQ_KEY_MAX];
    rfq_status st = fn(out, sizeof(out), a, b);
    if (!valid) {
        FUZZ_ASSERT(st == RFQ_EINVAL);
        return;
    }
    FUZZ_ASSERT(st == RFQ_OK);
    FUZZ_ASSERT(strcmp(out, want) == 0);
    size_t n = strlen(out);
    FUZZ_ASSERT(fn(small, n + 1, a, b) == RFQ_OK && strcmp(small, out) == 0);
    memset(small, 'x', sizeof(small));
    FUZZ_ASSERT(fn(small, n, a, b) == RFQ_ETOOBIG && small[0] == '\0');
    small[0] = 'x';
    FUZZ_ASSERT(fn(small, 0, a, b) == RFQ_ETOOBIG && small[0] == 'x');
}

static rfq_status key_index2(char *out, size_t cap, const char *t, const char *unused)
{
    (void)unused;
    return rfq_key_index(out, cap, t);
}

static rfq_status key_quota2(char *out, size_t cap, const char *t, const char *unused)
{
    (void)unused;
    return rfq_key_quota(out, cap, t);
}

static rfq_status key_open2(char *out, size_t cap, const char *t, const char *unused)
{
    (void)unused;
    return rfq_key_open(out, cap, t);
}

static rfq_status subject_dlq2(char *out, size_t cap, const char *stage, const char *unused)
{
    (void)unused;
    return rfq_subject_dlq(out, cap, stage);
}

/* Every name built from tenant t and id. */
static void check_names(const char *t, const char *id)
{
    bool tv = rfq_tenant_valid(t), iv = rfq_ident_valid(id), both = tv && iv;
    char want[4 * RFQ_KEY_MAX];
    snprintf(want, sizeof(want), "rfq:%s:{%s}", t, id);
    check_build2(rfq_key_rfq, t, id, both, want);
    snprintf(want, sizeof(want), "rfq:%s:{%s}:quotes", t, id);
    check_build2(rfq_key_quotes, t, id, both, want);
    snprintf(want, sizeof(want), "rfq:%s:{%s}:rank", t, id);
    check_build2(rfq_key_rank, t, id, both, want);
    snprintf(want, sizeof(want), "rfq.v1.quote.%s.%s", t, id);
    check_build2(rfq_subject_quote, t, id, both, want);
    snprintf(want, sizeof(want), "rfq.v1.event.%s.%s", t, id);
    check_build2(rfq_subject_event, t, id, both, want);
    snprintf(want, sizeof(want), "%s/%s", t, id);
    check_build2(rfq_deadline_member, t, id, both, want);
    snprintf(want, sizeof(want), "rfq:%s:idx", t);
    check_build2(key_index2, t, NULL, tv, want);
    snprintf(want, sizeof(want), "rfq:%s:quota", t);
    check_build2(key_quota2, t, NULL, tv, want);
    snprintf(want, sizeof(want), "rfq:%s:open", t);
    check_build2(key_open2, t, NULL, tv, want);
    /* A region is a tenant-shaped token, so an id-shaped region is tried as well. */
    snprintf(want, sizeof(want), "rfq.v1.req.%s.%s", id, t);
    check_build2(rfq_subject_request, id, t, rfq_region_valid(id) && tv, want);

    if (!both)
        return;
    char name[RFQ_KEY_MAX], pt[RFQ_TENANT_MAX + 1], pid[RFQ_ID_MAX + 1];
    FUZZ_ASSERT(rfq_subject_quote(name, sizeof(name), t, id) == RFQ_OK);
    FUZZ_ASSERT(rfq_subject_quote_parse(name, pt, pid) == RFQ_OK);
    FUZZ_ASSERT(strcmp(pt, t) == 0 && strcmp(pid, id) == 0);
    FUZZ_ASSERT(rfq_deadline_member(name, sizeof(name), t, id) == RFQ_OK);
    FUZZ_ASSERT(rfq_deadline_member_parse(name, pt, pid) == RFQ_OK);
    FUZZ_ASSERT(strcmp(pt, t) == 0 && strcmp(pid, id) == 0);
}

/* Parsers on an arbitrary string: what parses is exactly what the builder would produce. */
static void check_parsers(const char *s)
{
    char t[RFQ_TENANT_MAX + 1], id[RFQ_ID_MAX + 1], built[RFQ_KEY_MAX];
    if (rfq_subject_quote_parse(s, t, id) == RFQ_OK) {
        FUZZ_ASSERT(rfq_tenant_valid(t) && rfq_ident_valid(id));
        FUZZ_ASSERT(rfq_subject_quote(built, sizeof(built), t, id) == RFQ_OK);
        FUZZ_ASSERT(strcmp(built, s) == 0);
    }
    if (rfq_deadline_member_parse(s, t, id) == RFQ_OK) {
        FUZZ_ASSERT(rfq_tenant_valid(t) && rfq_ident_valid(id));
        FUZZ_ASSERT(rfq_deadline_member(built, sizeof(built), t, id) == RFQ_OK);
        FUZZ_ASSERT(strcmp(built, s) == 0);
    }
}

static void check_validators(const char *s)
{
    FUZZ_ASSERT(rfq_tenant_valid(s) == model_lower(s, RFQ_TENANT_MAX));
    FUZZ_ASSERT(rfq_region_valid(s) == model_lower(s, RFQ_REGION_MAX));
    FUZZ_ASSERT(rfq_ident_valid(s) == model_ident(s));
    FUZZ_ASSERT(rfq_month_valid(s) == model_month(s));
    /* Each narrower charset fits in the wider ones it is used with. */
    if (rfq_region_valid(s))
        FUZZ_ASSERT(rfq_tenant_valid(s));
    if (rfq_tenant_valid(s))
        FUZZ_ASSERT(rfq_ident_valid(s));
    if (rfq_ident_valid(s))
        FUZZ_ASSERT(rfq_kid_valid(s));
}

static void check_month(const char *t, const char *month, int64_t ms)
{
    char key[RFQ_KEY_MAX], want[4 * RFQ_KEY_MAX], m[RFQ_MONTH_LEN + 1];
    snprintf(want, sizeof(want), "rfq:%s:usage:%s", t, month);
    rfq_status st = rfq_key_usage(key, sizeof(key), t, month);
    if (rfq_tenant_valid(t) && rfq_month_valid(month))
        FUZZ_ASSERT(st == RFQ_OK && strcmp(key, want) == 0);
    else
        FUZZ_ASSERT(st == RFQ_EINVAL);

    st = rfq_month_utc(ms, m);
    if (ms < 0 || ms >= INT64_C(253402300800000)) {
        FUZZ_ASSERT(st == RFQ_EINVAL && m[0] == '\0');
        return;
    }
    FUZZ_ASSERT(st == RFQ_OK && rfq_month_valid(m));
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    FUZZ_ASSERT(gmtime_r(&secs, &tm) != NULL);
    char expect[16];
    snprintf(expect, sizeof(expect), "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
    FUZZ_ASSERT(strcmp(m, expect) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0; /* names are short; long inputs only slow the search */
    int64_t ms = 0;
    memcpy(&ms, data, size < sizeof(ms) ? size : sizeof(ms));
    char *in = fuzz_strndup(data, size);
    char empty[1] = "";
    char *p[4] = {empty, empty, empty, empty};
    fuzz_split(in, '\n', p, 4);

    for (int i = 0; i < 4; i++) {
        check_validators(p[i]);
        check_parsers(p[i]);
    }
    check_names(p[0], p[1]);
    check_names(p[2], p[3]);
    char dlq[4 * RFQ_KEY_MAX];
    snprintf(dlq, sizeof(dlq), "rfq.v1.dlq.%s", p[2]);
    check_build2(subject_dlq2, p[2], NULL, rfq_region_valid(p[2]), dlq);
    check_month(p[0], p[2], ms);
    check_month(p[0], p[3], ms % INT64_C(253402300800000));

    /* Joined forms of the parts must parse exactly when the parts are valid. */
    char joined[4 * RFQ_KEY_MAX], t[RFQ_TENANT_MAX + 1], id[RFQ_ID_MAX + 1];
    bool ok = rfq_tenant_valid(p[0]) && rfq_ident_valid(p[1]);
    snprintf(joined, sizeof(joined), "rfq.v1.quote.%s.%s", p[0], p[1]);
    FUZZ_ASSERT((rfq_subject_quote_parse(joined, t, id) == RFQ_OK) == ok);
    snprintf(joined, sizeof(joined), "%s/%s", p[0], p[1]);
    FUZZ_ASSERT((rfq_deadline_member_parse(joined, t, id) == RFQ_OK) == ok);
    free(in);
    return 0;
}
