/* rfq_ids: identifiers, their charsets, clocks, and the names built from them
 * (Redis keys and NATS subjects). Pure functions: no I/O. */
#ifndef RFQ_IDS_H
#define RFQ_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_status.h"

#define RFQ_TENANT_MAX 63 /* [a-z0-9][a-z0-9-]{0,62} */
#define RFQ_REGION_MAX 32 /* [a-z0-9][a-z0-9-]{0,31} */
#define RFQ_ID_MAX 64     /* rfq ids and responder ids: [A-Za-z0-9_-]{1,64} */
#define RFQ_KEY_MAX 256   /* every key or subject we build fits */
#define RFQ_SYS_DEADLINES "rfq:_sys:deadlines"

/* Tenant ids: lower-case letter or digit, then up to 62 of [a-z0-9-]. */
bool rfq_tenant_valid(const char *s);
/* Regions: same shape as tenants, at most 32 characters. */
bool rfq_region_valid(const char *s);
/* RFQ and responder ids: 1..64 of [A-Za-z0-9_-] (safe as NATS token and key part). */
bool rfq_ident_valid(const char *s);

/* New random RFQ id (UUID v4, lower-case, 36 chars) into out[37]. */
void rfq_id_new(char out[37]);

/* Wall clock in unix milliseconds. */
int64_t rfq_now_ms(void);
/* Monotonic clock in nanoseconds (for measuring durations). */
int64_t rfq_mono_ns(void);

/* Redis keys of one RFQ. The id sits in a hash tag so all keys of one RFQ share a
 * cluster slot. Each returns RFQ_EINVAL if an id is invalid, RFQ_ETOOBIG if cap is small. */
rfq_status rfq_key_rfq(char *out, size_t cap, const char *tenant, const char *rfq_id);
rfq_status rfq_key_quotes(char *out, size_t cap, const char *tenant, const char *rfq_id);
rfq_status rfq_key_rank(char *out, size_t cap, const char *tenant, const char *rfq_id);
/* Per-tenant listing index: rfq ids by created_ms. */
rfq_status rfq_key_index(char *out, size_t cap, const char *tenant);
/* Per-tenant quota state (hash: the rate bucket's tokens and last refill): rfq:<t>:quota. */
rfq_status rfq_key_quota(char *out, size_t cap, const char *tenant);
/* Per-tenant open RFQs (zset: rfq_id by deadline_ms): rfq:<t>:open. */
rfq_status rfq_key_open(char *out, size_t cap, const char *tenant);
/* Per-tenant usage of one UTC month (hash of counters): rfq:<t>:usage:<YYYY-MM>. month must
 * pass rfq_month_valid. */
rfq_status rfq_key_usage(char *out, size_t cap, const char *tenant, const char *month);

/* Months as the usage keys name them: "YYYY-MM" (UTC, month 01..12). */
#define RFQ_MONTH_LEN 7
bool rfq_month_valid(const char *s);
/* The UTC month of a unix-ms time into out[8] ("YYYY-MM"). RFQ_EINVAL (out "") for a time
 * before 1970 or past year 9999. */
rfq_status rfq_month_utc(int64_t ms, char out[RFQ_MONTH_LEN + 1]);

/* Member of RFQ_SYS_DEADLINES: "<tenant>/<rfq_id>". */
rfq_status rfq_deadline_member(char *out, size_t cap, const char *tenant, const char *rfq_id);
/* Split a deadline member back into tenant and id (buffers of RFQ_TENANT_MAX+1, RFQ_ID_MAX+1). */
rfq_status rfq_deadline_member_parse(const char *member, char *tenant, char *rfq_id);

/* NATS subjects. */
rfq_status rfq_subject_request(char *out, size_t cap, const char *region, const char *tenant);
rfq_status rfq_subject_quote(char *out, size_t cap, const char *tenant, const char *rfq_id);
rfq_status rfq_subject_event(char *out, size_t cap, const char *tenant, const char *rfq_id);
rfq_status rfq_subject_dlq(char *out, size_t cap, const char *stage);
/* Parse "rfq.v1.quote.<tenant>.<rfq_id>" into its parts (buffers as above). */
rfq_status rfq_subject_quote_parse(const char *subject, char *tenant, char *rfq_id);

#define RFQ_SUBJECT_SUBMIT "rfq.v1.submit"
#define RFQ_SUBJECT_QUOTES_ALL "rfq.v1.quote.>"
#define RFQ_SUBJECT_EVENTS_ALL "rfq.v1.event.>"
#define RFQ_SUBJECT_DLQ_ALL "rfq.v1.dlq.>"
#define RFQ_STREAM_QUOTES "RFQ_QUOTES"
#define RFQ_STREAM_DLQ "RFQ_DLQ"
#define RFQ_CONSUMER_AGG "rfq-aggregator"

/* Headers on RFQ and quote messages. */
#define RFQ_HDR_ID "Rfq-Id"
#define RFQ_HDR_TENANT "Rfq-Tenant"
#define RFQ_HDR_DEADLINE "Rfq-Deadline"
#define RFQ_HDR_RESPONDER "Rfq-Responder"
#define RFQ_HDR_TRACEPARENT "traceparent"
#define RFQ_HDR_AUTH "Authorization"
#define RFQ_HDR_STATUS "Rfq-Status"
#define RFQ_HDR_DLQ_REASON "Rfq-Dlq-Reason"
#define RFQ_HDR_DLQ_SUBJECT "Rfq-Dlq-Subject"
#define RFQ_HDR_DLQ_DETAIL "Rfq-Dlq-Detail"

#endif
