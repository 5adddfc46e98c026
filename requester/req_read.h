/* req_read: the read side of the API (status, ranked quotes, listings) from Redis. Every read
 * names keys under rfq:<tenant>: of the verified caller only, so another tenant's RFQ is
 * simply not found. */
#ifndef REQ_READ_H
#define REQ_READ_H

#include <stdint.h>

#include <jansson.h>

#include "req_reply.h"
#include "req_server.h"

/* One RFQ as stored: the hash fields plus its priced quotes. */
struct req_rfq_view {
    char rfq_id[RFQ_ID_MAX + 1];
    char tenant[RFQ_TENANT_MAX + 1];
    char status[16]; /* open | completed | expired */
    int64_t created_ms;
    int64_t deadline_ms;
    int64_t closed_ms; /* 0 while open */
    int max_quotes;
    int count; /* priced quotes stored */
    int declines;
    json_t *request; /* new reference: the stored RFQ JSON, or NULL */
    json_t *ranked;  /* new reference: array of quotes cheapest first, each with "rank" and
                        "arrival" added */
};

/* Load an RFQ of tenant with its quotes. RFQ_ENOTFOUND when it does not exist for this tenant;
 * RFQ_EREDIS when Redis fails. v must be released with req_rfq_view_clear (also on error). */
rfq_status req_read_rfq(struct req_server *s, const char *tenant, const char *rfq_id,
                        struct req_rfq_view *v);
void req_rfq_view_clear(struct req_rfq_view *v);

/* GET /v1/rfqs/<id>, /v1/rfqs/<id>/quotes and /v1/rfqs: fill out with 200 or an error. */
void req_read_status(struct req_server *s, const char *tenant, const char *rfq_id,
                     struct req_reply *out);
void req_read_quotes(struct req_server *s, const char *tenant, const char *rfq_id,
                     struct req_reply *out);
void req_read_list(struct req_server *s, const char *tenant, const char *status, int limit,
                   struct req_reply *out);

/* ---- pure helpers (unit tested) ---- */

/* Validate the listing query: status NULL or open|completed|expired; limit NULL (20) or an
 * integer 1..100. RFQ_EINVAL with err filled otherwise. */
rfq_status req_list_params(const char *status, const char *limit, const char **status_out,
                           int *limit_out, struct rfq_err *err);

/* Split a rank member (rfq_rank_member) into amount, eta, arrival and responder (borrowed
 * pointer into member). Any output may be NULL. RFQ_EINVAL when malformed. */
rfq_status req_rank_parse(const char *member, int64_t *amount, int *eta, uint64_t *arrival,
                          const char **responder);

/* Build the ranked quote array: members in ranking order, quotes = object responder -> quote
 * JSON text (borrowed). Adds "rank" (1-based) and "arrival" to each quote; skips members
 * whose quote is missing or unreadable. Returns a new reference (never NULL unless OOM). */
json_t *req_quotes_ranked(const char *const *members, size_t n, json_t *quotes);

/* A new array holding the quotes of ranked (borrowed) in arrival order. */
json_t *req_quotes_by_arrival(json_t *ranked);

/* The status answer body of v (new reference). */
json_t *req_view_status_json(const struct req_rfq_view *v);

#endif
