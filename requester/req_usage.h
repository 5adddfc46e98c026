/* req_usage: GET /v1/usage[?month=YYYY-MM]: the caller's metered usage of one UTC month, read
 * from rfq:<tenant>:usage:<YYYY-MM> as the tenant's own Redis user. */
#ifndef REQ_USAGE_H
#define REQ_USAGE_H

#include <stdint.h>

#include <jansson.h>

#include "req_reply.h"
#include "req_server.h"
#include "rfq_ids.h"

/* The counters of a usage hash, in answer order. */
#define REQ_USAGE_FIELDS 7
extern const char *const req_usage_fields[REQ_USAGE_FIELDS];

/* Fill out with 200 {"tenant","month","rfqs","quotes","declines","fanout","completed",
 * "expired","throttled"} (0 for counters never written), 400 when month is given but not
 * YYYY-MM, 503 when Redis cannot be read. month NULL = the current UTC month. */
void req_usage_read(struct req_server *s, const char *tenant, const char *month,
                    struct req_reply *out);

/* ---- pure helpers (unit tested) ---- */

/* The month a query names: param NULL = the month of now_ms; else it must be YYYY-MM.
 * RFQ_EINVAL with err filled otherwise. */
rfq_status req_usage_month(const char *param, int64_t now_ms, char out[RFQ_MONTH_LEN + 1],
                           struct rfq_err *err);

/* The answer body (new reference) for counters in req_usage_fields order. */
json_t *req_usage_json(const char *tenant, const char *month,
                       const long long counters[REQ_USAGE_FIELDS]);

#endif
