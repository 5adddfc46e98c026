/* req_quota: the quota's verdict on a submit (the reply of create_rfq.lua) and how it shows in
 * the answer: 429 rate_limited with Retry-After, and the RateLimit-* headers. Pure: no I/O. */
#ifndef REQ_QUOTA_H
#define REQ_QUOTA_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "req_reply.h"
#include "rfq_status.h"
#include "rfq_tenant.h"

enum req_quota_outcome {
    REQ_QUOTA_CREATED = 0, /* admitted and stored */
    REQ_QUOTA_EXISTS,      /* the id was already stored (a retried call): nothing taken */
    REQ_QUOTA_RATE,        /* refused: the rate bucket is empty */
    REQ_QUOTA_OPEN,        /* refused: too many open RFQs */
};

struct req_quota_verdict {
    enum req_quota_outcome outcome;
    int64_t limit;          /* bucket size (burst); 0 = rate unlimited: no RateLimit headers */
    int64_t remaining;      /* whole tokens left */
    int64_t reset_ms;       /* until the bucket is full */
    int64_t retry_after_ms; /* refusals: until a submit can pass */
};

/* Parse create_rfq.lua's {outcome, limit, remaining, reset_ms, retry_after_ms}. RFQ_EPROTO
 * for an error reply or any other shape; RFQ_EREDIS for NULL (no reply). */
rfq_status req_quota_parse(const redisReply *r, struct req_quota_verdict *v);

/* Whole seconds covering ms, at least 1 (Retry-After never says 0). */
int64_t req_quota_ceil_s(int64_t ms);

/* Add RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds, rounded up) when the
 * tenant is rate limited (v->limit > 0); nothing otherwise. */
void req_quota_headers(struct req_reply *out, const struct req_quota_verdict *v);

/* The 429 answer of a refusal: JSON error rate_limited naming the limit that refused, then
 * Retry-After and the RateLimit-* headers. q is the quota that was applied. */
void req_quota_refuse(struct req_reply *out, const struct req_quota_verdict *v,
                      const struct rfq_quota *q);

#endif
