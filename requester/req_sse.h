/* req_sse: one live event stream (GET /v1/rfqs/<id>/events): subscribe, snapshot from Redis,
 * then live events from NATS until the RFQ completes or expires. Transport-neutral: the HTTP
 * layer pulls bytes with req_sse_next from its connection thread. */
#ifndef REQ_SSE_H
#define REQ_SSE_H

#include <stddef.h>
#include <sys/types.h>

#include "req_server.h"

#define REQ_SSE_PING_MS 15000 /* keep-alive comment interval */

typedef struct req_sse req_sse;

/* Open a stream for tenant's RFQ rfq_id. Subscribes to rfq.v1.event.<tenant>.<id> and waits
 * until the server has the subscription, THEN reads the snapshot, so no event can fall between
 * the two. client_fd (or -1) is watched to notice a client that went away while idle.
 * RFQ_ENOTFOUND: no such RFQ for this tenant; RFQ_ENATS/RFQ_EREDIS: dependency down. *out is
 * new: release with req_sse_close. */
rfq_status req_sse_open(req_sse **out, struct req_server *s, const char *tenant, const char *rfq_id,
                        int client_fd);

/* Block until bytes are ready and copy up to max of them into buf. Returns the count (> 0),
 * 0 when the stream ended normally (final event sent, or the server stops), -1 when the client
 * went away or the stream failed. Called by one thread at a time. */
ssize_t req_sse_next(req_sse *st, char *buf, size_t max);

/* Unsubscribe and release the stream. The subscription's last callback may still be running;
 * memory is freed once it returned. Accepts NULL. */
void req_sse_close(req_sse *st);

#endif
