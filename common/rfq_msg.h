/* rfq_msg: the wire schema. Decodes and encodes submits, RFQs, quotes and events as JSON,
 * with size caps, duplicate-key rejection and range checks. Pure: no I/O. */
#ifndef RFQ_MSG_H
#define RFQ_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rfq_ids.h"
#include "rfq_status.h"

#define RFQ_BODY_MAX (16 * 1024) /* largest submit or quote body accepted, bytes */
#define RFQ_TAGS_MAX 8           /* wants per RFQ, perks per quote */
#define RFQ_TAG_MAX 32           /* a want or perk: [a-z0-9_]{1,32} */
#define RFQ_REASON_MAX 128       /* decline reason, printable ASCII */
/* Latest time a message may carry (2100-01-01): keeps every sum of times far from overflow. */
#define RFQ_TIME_MAX_MS 4102444800000LL

struct rfq_point {
    double lat; /* -90..90 */
    double lon; /* -180..180 */
};

/* Limits and defaults applied to a submit body. */
struct rfq_limits {
    int max_quotes_default; /* when the body has no max_quotes */
    int max_quotes_max;
    int timeout_default_ms; /* when the body has no timeout_ms */
    int timeout_min_ms;
    int timeout_max_ms;
    int passengers_max;
};

/* Default limits: max_quotes 5 (1..100), timeout 2000 ms (100..60000), passengers 1..8. */
struct rfq_limits rfq_limits_default(void);

/* What an app backend sends to POST /v1/rfqs or rfq.v1.submit. */
struct rfq_submit {
    char region[RFQ_REGION_MAX + 1];
    struct rfq_point pickup, dropoff;
    int passengers;
    char wants[RFQ_TAGS_MAX][RFQ_TAG_MAX + 1];
    int n_wants;
    int max_quotes;
    int timeout_ms;
    char currency[4]; /* ISO 4217, default "USD" */
};

/* The RFQ as scattered to responders: the submit plus identity and times. */
struct rfq_request {
    char rfq_id[RFQ_ID_MAX + 1];
    char tenant[RFQ_TENANT_MAX + 1];
    int64_t created_ms;
    int64_t deadline_ms;
    struct rfq_submit body;
};

/* A responder's answer: a priced quote, or a decline with a reason. */
struct rfq_quote {
    char rfq_id[RFQ_ID_MAX + 1];
    char responder_id[RFQ_ID_MAX + 1];
    bool decline;
    char decline_reason[RFQ_REASON_MAX + 1];
    int64_t amount_minor; /* price in minor units (cents), >= 0 */
    char currency[4];
    int eta_s; /* seconds until pickup, 0..86400 */
    char perks[RFQ_TAGS_MAX][RFQ_TAG_MAX + 1];
    int n_perks;
    int64_t valid_until_ms; /* 0 when absent */
};

/* Decode a submit body; applies defaults and limits. Unknown fields are refused so that a
 * typo is an error, not a silently ignored option. err says which field and why. */
rfq_status rfq_submit_decode(struct rfq_submit *out, const char *buf, size_t len,
                             const struct rfq_limits *lim, struct rfq_err *err);

/* Encode/decode the RFQ sent to responders. encode returns a new malloc'd NUL-terminated
 * string in *out (free() it). decode ignores unknown fields (forward compatibility). */
rfq_status rfq_request_encode(const struct rfq_request *req, char **out, size_t *out_len);
rfq_status rfq_request_decode(struct rfq_request *out, const char *buf, size_t len,
                              struct rfq_err *err);

/* Encode/decode a quote. decode ignores unknown fields; the stored form is always our own
 * canonical re-encoding, never the raw bytes. */
rfq_status rfq_quote_encode(const struct rfq_quote *q, char **out, size_t *out_len);
rfq_status rfq_quote_decode(struct rfq_quote *out, const char *buf, size_t len,
                            struct rfq_err *err);
/* rfq_quote_decode's checks on an object already parsed (an answer inside a quote batch, see
 * rfq_quote_batch.h). root is borrowed. */
rfq_status rfq_quote_from_json(struct rfq_quote *out, json_t *root, struct rfq_err *err);
/* What rfq_quote_decode would check, on a quote built in memory (a responder's answer):
 * RFQ_OK, or RFQ_EINVAL with err naming the field. */
rfq_status rfq_quote_check(const struct rfq_quote *q, struct rfq_err *err);

/* JSON object views (new references) for building API answers and events. */
json_t *rfq_request_to_json(const struct rfq_request *req);
json_t *rfq_quote_to_json(const struct rfq_quote *q);

/* Parse buf as a JSON object with duplicate keys refused and the size capped at max_len.
 * Returns a new reference or NULL with err filled. */
json_t *rfq_json_parse_object(const char *buf, size_t len, size_t max_len, struct rfq_err *err);

/* Ranking member for the per-RFQ sorted set: cheapest first, then ETA, then arrival order,
 * encoded as a fixed-width string so Redis' lexicographic order is the ranking order.
 * out needs RFQ_RANK_MEMBER_MAX bytes. */
#define RFQ_RANK_MEMBER_MAX (16 + 1 + 6 + 1 + 20 + 1 + RFQ_ID_MAX + 1)
rfq_status rfq_rank_member(char *out, size_t cap, const struct rfq_quote *q, uint64_t arrival);
/* The responder id at the end of a rank member (borrowed pointer into member), or NULL. */
const char *rfq_rank_member_responder(const char *member);

#endif
