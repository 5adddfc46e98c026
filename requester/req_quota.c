/* req_quota: create_rfq.lua's quota verdict and the 429 / RateLimit answer it makes. */
#include "req_quota.h"

#include <stdbool.h>
#include <string.h>

static const char *const outcome_names[] = {
    [REQ_QUOTA_CREATED] = "created",
    [REQ_QUOTA_EXISTS] = "exists",
    [REQ_QUOTA_RATE] = "rate",
    [REQ_QUOTA_OPEN] = "open",
};

/* A non-negative integer element of the reply. */
static bool elem_int(const redisReply *r, size_t i, int64_t *out)
{
    const redisReply *e = r->element[i];
    if (!e || e->type != REDIS_REPLY_INTEGER || e->integer < 0)
        return false;
    *out = (int64_t)e->integer;
    return true;
}

rfq_status req_quota_parse(const redisReply *r, struct req_quota_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (!r)
        return RFQ_EREDIS;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 5 || !r->element[0] ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return RFQ_EPROTO;
    const redisReply *o = r->element[0];
    size_t n = sizeof(outcome_names) / sizeof(outcome_names[0]), i = 0;
    while (i < n &&
           !(strlen(outcome_names[i]) == o->len && memcmp(outcome_names[i], o->str, o->len) == 0))
        i++;
    if (i == n)
        return RFQ_EPROTO;
    v->outcome = (enum req_quota_outcome)i;
    if (!elem_int(r, 1, &v->limit) || !elem_int(r, 2, &v->remaining) ||
        !elem_int(r, 3, &v->reset_ms) || !elem_int(r, 4, &v->retry_after_ms))
        return RFQ_EPROTO;
    return RFQ_OK;
}

int64_t req_quota_ceil_s(int64_t ms)
{
    int64_t s = ms > 0 ? (ms + 999) / 1000 : 0;
    return s < 1 ? 1 : s;
}

void req_quota_headers(struct req_reply *out, const struct req_quota_verdict *v)
{
    if (v->limit <= 0)
        return;
    /* Reset 0 is meaningful here (the bucket is full), so no minimum of 1 as for Retry-After. */
    int64_t reset_s = v->reset_ms > 0 ? (v->reset_ms + 999) / 1000 : 0;
    req_reply_header(out, "RateLimit-Limit", "%lld", (long long)v->limit);
    req_reply_header(out, "RateLimit-Remaining", "%lld", (long long)v->remaining);
    req_reply_header(out, "RateLimit-Reset", "%lld", (long long)reset_s);
}

void req_quota_refuse(struct req_reply *out, const struct req_quota_verdict *v,
                      const struct rfq_quota *q)
{
    int64_t retry_s = req_quota_ceil_s(v->retry_after_ms);
    if (v->outcome == REQ_QUOTA_OPEN)
        req_reply_error(out, 429,
                        "open RFQ limit reached: at most %lld RFQs may be open at once; retry in "
                        "%lld s, when the earliest open RFQ closes",
                        (long long)q->max_open, (long long)retry_s);
    else
        req_reply_error(out, 429,
                        "rate limit exceeded: %lld RFQs per second, burst %lld; retry in %lld s",
                        (long long)q->rate_per_s, (long long)q->burst, (long long)retry_s);
    req_reply_header(out, "Retry-After", "%lld", (long long)retry_s);
    req_quota_headers(out, v);
}
