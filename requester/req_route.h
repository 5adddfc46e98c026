/* req_route: maps an HTTP method and path to an API route. Pure: no I/O. */
#ifndef REQ_ROUTE_H
#define REQ_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "rfq_ids.h"

enum req_route_id {
    REQ_ROUTE_NONE = 0, /* no such path: 404 */
    REQ_ROUTE_HEALTH,   /* /healthz */
    REQ_ROUTE_RFQS,     /* /v1/rfqs: POST submit, GET list */
    REQ_ROUTE_RFQ,      /* /v1/rfqs/<id> */
    REQ_ROUTE_QUOTES,   /* /v1/rfqs/<id>/quotes */
    REQ_ROUTE_EVENTS,   /* /v1/rfqs/<id>/events */
    REQ_ROUTE_USAGE,    /* /v1/usage: the tenant's metered usage */
};

enum req_method {
    REQ_METHOD_OTHER = 0,
    REQ_METHOD_GET,
    REQ_METHOD_HEAD, /* answered like GET, without a body */
    REQ_METHOD_POST,
};

struct req_route {
    enum req_route_id id;
    enum req_method method;
    char rfq_id[RFQ_ID_MAX + 1]; /* validated with rfq_ident_valid; "" when the route has none */
    const char *allow;           /* Allow header value of the path (static), NULL for NONE */
    int status;                  /* 0 when the request may proceed, else 404 or 405 */
};

/* Method name to enum (case-sensitive, as HTTP methods are). */
enum req_method req_method_parse(const char *method);

/* Match path (already percent-decoded, no query string). An id that fails rfq_ident_valid
 * ("..", "a/b", over 64 chars, ...) is not a resource: status 404. A known path with a method
 * it does not serve: status 405 and allow set. */
void req_route_match(struct req_route *out, const char *method, const char *path);

/* Decode %HH escapes of a URL path or query value in place and return the new length. "%00"
 * and malformed escapes stay as they are, so a decoded value never hides a NUL that would cut
 * it short ("/v1/rfqs/a%00b" must not name RFQ "a"). Pure. */
size_t req_url_unescape(char *s);

/* True when a Content-Type value is application/json (any case), optionally followed by
 * parameters ("; charset=utf-8"). NULL is false. */
bool req_content_type_is_json(const char *value);

#endif
