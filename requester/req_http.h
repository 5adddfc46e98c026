/* req_http: the HTTP API on libmicrohttpd: routing, authentication, body limits, JSON errors,
 * and the event stream. */
#ifndef REQ_HTTP_H
#define REQ_HTTP_H

#include "req_server.h"

struct req_http;

/* Listen on cfg http_host:http_port and serve the API with s. *out is new (req_http_stop).
 * RFQ_EIO when the address cannot be bound. */
rfq_status req_http_start(struct req_http **out, struct req_server *s, struct rfq_err *err);

/* Bound port (after start). */
int req_http_port(const struct req_http *h);

/* Stop listening, wait for in-flight requests (streams end: s->stop_fd must be signalled
 * first) and free. Accepts NULL. */
void req_http_stop(struct req_http *h);

#endif
