/* rfq_ids: id validation, clocks, and key/subject building with bounded buffers. */
#include "rfq_ids.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

static bool lower_token_valid(const char *s, size_t max)
{
    if (!s || !*s)
        return false;
    size_t n = strlen(s);
    if (n > max)
        return false;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

bool rfq_tenant_valid(const char *s)
{
    return lower_token_valid(s, RFQ_TENANT_MAX);
}

bool rfq_region_valid(const char *s)
{
    return lower_token_valid(s, RFQ_REGION_MAX);
}

bool rfq_ident_valid(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = strlen(s);
    if (n > RFQ_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

void rfq_id_new(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

int64_t rfq_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rfq_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static rfq_status fmt_checked(char *out, size_t cap, int n)
{
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = '\0';
        return RFQ_ETOOBIG;
    }
    return RFQ_OK;
}

static rfq_status rfq_key(char *out, size_t cap, const char *tenant, const char *rfq_id,
                          const char *suffix)
{
    if (!rfq_tenant_valid(tenant) || !rfq_ident_valid(rfq_id))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "rfq:%s:{%s}%s", tenant, rfq_id, suffix));
}

rfq_status rfq_key_rfq(char *out, size_t cap, const char *tenant, const char *rfq_id)
{
    return rfq_key(out, cap, tenant, rfq_id, "");
}

rfq_status rfq_key_quotes(char *out, size_t cap, const char *tenant, const char *rfq_id)
{
    return rfq_key(out, cap, tenant, rfq_id, ":quotes");
}

rfq_status rfq_key_rank(char *out, size_t cap, const char *tenant, const char *rfq_id)
{
    return rfq_key(out, cap, tenant, rfq_id, ":rank");
}

rfq_status rfq_key_index(char *out, size_t cap, const char *tenant)
{
    if (!rfq_tenant_valid(tenant))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "rfq:%s:idx", tenant));
}

/* A key of the tenant with no RFQ part: "rfq:<tenant>:<suffix>". */
static rfq_status tenant_key(char *out, size_t cap, const char *tenant, const char *suffix)
{
    if (!rfq_tenant_valid(tenant))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "rfq:%s:%s", tenant, suffix));
}

rfq_status rfq_key_quota(char *out, size_t cap, const char *tenant)
{
    return tenant_key(out, cap, tenant, "quota");
}

rfq_status rfq_key_open(char *out, size_t cap, const char *tenant)
{
    return tenant_key(out, cap, tenant, "open");
}

rfq_status rfq_key_usage(char *out, size_t cap, const char *tenant, const char *month)
{
    if (!rfq_month_valid(month))
        return RFQ_EINVAL;
    char suffix[sizeof("usage:") + RFQ_MONTH_LEN];
    snprintf(suffix, sizeof(suffix), "usage:%s", month);
    return tenant_key(out, cap, tenant, suffix);
}

bool rfq_month_valid(const char *s)
{
    if (!s || strlen(s) != RFQ_MONTH_LEN || s[4] != '-')
        return false;
    for (int i = 0; i < RFQ_MONTH_LEN; i++)
        if (i != 4 && (s[i] < '0' || s[i] > '9'))
            return false;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    return month >= 1 && month <= 12;
}

rfq_status rfq_month_utc(int64_t ms, char out[RFQ_MONTH_LEN + 1])
{
    out[0] = '\0';
    /* 253402300800000 = 10000-01-01T00:00:00Z: the year must keep four digits. */
    if (ms < 0 || ms >= INT64_C(253402300800000))
        return RFQ_EINVAL;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return RFQ_EINVAL;
    /* The range check keeps the year at four digits; the modulos tell the compiler so. */
    snprintf(out, RFQ_MONTH_LEN + 1, "%04u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u);
    return RFQ_OK;
}

rfq_status rfq_deadline_member(char *out, size_t cap, const char *tenant, const char *rfq_id)
{
    if (!rfq_tenant_valid(tenant) || !rfq_ident_valid(rfq_id))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "%s/%s", tenant, rfq_id));
}

/* Copy the n bytes at s into out (cap bytes) if they fit; false otherwise. */
static bool copy_part(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

rfq_status rfq_deadline_member_parse(const char *member, char *tenant, char *rfq_id)
{
    const char *slash = member ? strchr(member, '/') : NULL;
    if (!slash)
        return RFQ_EINVAL;
    if (!copy_part(tenant, RFQ_TENANT_MAX + 1, member, (size_t)(slash - member)) ||
        !copy_part(rfq_id, RFQ_ID_MAX + 1, slash + 1, strlen(slash + 1)))
        return RFQ_EINVAL;
    return rfq_tenant_valid(tenant) && rfq_ident_valid(rfq_id) ? RFQ_OK : RFQ_EINVAL;
}

rfq_status rfq_subject_request(char *out, size_t cap, const char *region, const char *tenant)
{
    if (!rfq_region_valid(region) || !rfq_tenant_valid(tenant))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "rfq.v1.req.%s.%s", region, tenant));
}

rfq_status rfq_subject_quote(char *out, size_t cap, const char *tenant, const char *rfq_id)
{
    if (!rfq_tenant_valid(tenant) || !rfq_ident_valid(rfq_id))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "rfq.v1.quote.%s.%s", tenant, rfq_id));
}

rfq_status rfq_subject_event(char *out, size_t cap, const char *tenant, const char *rfq_id)
{
    if (!rfq_tenant_valid(tenant) || !rfq_ident_valid(rfq_id))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "rfq.v1.event.%s.%s", tenant, rfq_id));
}

rfq_status rfq_subject_dlq(char *out, size_t cap, const char *stage)
{
    if (!rfq_region_valid(stage))
        return RFQ_EINVAL;
    return fmt_checked(out, cap, snprintf(out, cap, "rfq.v1.dlq.%s", stage));
}

rfq_status rfq_subject_quote_parse(const char *subject, char *tenant, char *rfq_id)
{
    static const char prefix[] = "rfq.v1.quote.";
    if (!subject || strncmp(subject, prefix, sizeof(prefix) - 1) != 0)
        return RFQ_EINVAL;
    const char *t = subject + sizeof(prefix) - 1;
    const char *dot = strchr(t, '.');
    if (!dot)
        return RFQ_EINVAL;
    if (!copy_part(tenant, RFQ_TENANT_MAX + 1, t, (size_t)(dot - t)) ||
        !copy_part(rfq_id, RFQ_ID_MAX + 1, dot + 1, strlen(dot + 1)))
        return RFQ_EINVAL;
    return rfq_tenant_valid(tenant) && rfq_ident_valid(rfq_id) ? RFQ_OK : RFQ_EINVAL;
}
