/* req_nats_submit: the submit API over NATS request/reply on rfq.v1.submit (queue group
 * "rfq-requester"): same body and answers as POST /v1/rfqs, token in an Authorization header,
 * HTTP status in the reply header Rfq-Status. */
#ifndef REQ_NATS_SUBMIT_H
#define REQ_NATS_SUBMIT_H

#include "req_server.h"

#define REQ_SUBMIT_QUEUE "rfq-requester"

struct req_nats_submit;

/* Subscribe n queue subscriptions (each has its own delivery thread, so n submits run in
 * parallel). *out is new (req_nats_submit_stop). */
rfq_status req_nats_submit_start(struct req_nats_submit **out, struct req_server *s, int n);

/* Drain: stop taking new requests, let in-flight ones answer (up to timeout_ms), free.
 * Accepts NULL. */
void req_nats_submit_stop(struct req_nats_submit *ns, int timeout_ms);

#endif
