/* req_reply: a transport-independent answer (HTTP status, JSON body, extra headers), shared
 * by the HTTP server and the NATS submit handler, plus the JSON error vocabulary. */
#ifndef REQ_REPLY_H
#define REQ_REPLY_H

#include <stddef.h>

#include <jansson.h>

#include "rfq_status.h"

#define REQ_REPLY_HEADERS_MAX 8

struct req_header {
    char name[32];
    char value[192];
};

struct req_reply {
    int status; /* HTTP status code */
    char *body; /* malloc'd JSON text (owned; req_reply_clear frees it) */
    size_t body_len;
    struct req_header headers[REQ_REPLY_HEADERS_MAX]; /* extra headers (Location, Allow, ...) */
    int n_headers;
};

/* Zero a reply before first use. */
void req_reply_init(struct req_reply *r);
/* Free the body and reset to the initial state. Accepts a zeroed reply. */
void req_reply_clear(struct req_reply *r);

/* Set status and body from j (stolen: j is released). On allocation failure the reply becomes
 * a 500 with a static-sized body. Replaces any earlier body. */
void req_reply_json(struct req_reply *r, int status, json_t *j);

/* Set an error answer {"error":{"code","message"}} for status; code is derived from status
 * (400 bad_request, 401 unauthorized, ...). Adds WWW-Authenticate for 401. */
void req_reply_error(struct req_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add a header (truncated to its field sizes; CR/LF replaced). Ignored when full. */
void req_reply_header(struct req_reply *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Value of a header added earlier, or NULL (borrowed). Names compare case-insensitively. */
const char *req_reply_header_get(const struct req_reply *r, const char *name);

/* The links object of an RFQ: {"self","quotes","events"} paths (new reference). */
json_t *req_links_json(const char *rfq_id);

/* Stable error code of an HTTP status ("bad_request", ..., "internal" for unknown). */
const char *req_error_code(int status);

/* HTTP status for an internal status: EINVAL 400, EAUTH 401, ENOTFOUND 404, ETOOBIG 413,
 * ETIMEOUT/ENATS/EREDIS 503, everything else 500. */
int req_http_status_of(rfq_status st);

#endif
