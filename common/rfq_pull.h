/* rfq_pull: reads a durable JetStream pull consumer over a plain subscription, with pull
 * requests and acknowledgements sent by us.
 *
 * Why not js_PullSubscribe + natsSubscription_Fetch: in nats.c before 3.9 (fixed upstream as
 * "heap buffer overflow in _fetch", #749) a fetch that starts with more than half a batch
 * already queued in its subscription reads on past its batch, and deliveries of another pull
 * request still open on the server land beyond the end of its array: heap corruption under
 * overload, where such late deliveries are common. Here a fetch fills the caller's array up
 * to its capacity and never further; whatever arrives later waits for the next fetch. */
#ifndef RFQ_PULL_H
#define RFQ_PULL_H

#include <nats/nats.h>

typedef struct rfq_pull rfq_pull;

/* Read consumer of stream over nc (borrowed): subscribes to a fresh inbox of its own. The
 * consumer must exist (it is not created here). *out is new. */
natsStatus rfq_pull_create(rfq_pull **out, natsConnection *nc, const char *stream,
                           const char *consumer);

/* Up to cap messages into msgs (*n of them; the caller destroys each) within wait_ms:
 * messages already delivered to the inbox are taken first, without a request; otherwise one
 * pull request for cap messages, no_wait with an expiry (nats-server 2.9 answers it at once
 * with what the consumer has, or with the first message to arrive within the expiry, then
 * ends it with a 408 status), read until cap messages, the status that ends it, a 2 ms pause
 * once something came, or wait_ms. NATS_OK with *n == 0 when nothing came; an error when the
 * server refused the request (e.g. NATS_NO_RESPONDERS: JetStream unavailable). */
natsStatus rfq_pull_fetch(rfq_pull *p, natsMsg **msgs, int cap, int wait_ms, int *n);

/* Acknowledge m, ask for its redelivery after delay_ms, or restart its ack wait. */
natsStatus rfq_pull_ack(natsConnection *nc, natsMsg *m);
natsStatus rfq_pull_nak(natsConnection *nc, natsMsg *m, int delay_ms);
natsStatus rfq_pull_in_progress(natsConnection *nc, natsMsg *m);

/* The inbox the consumer delivers to, and how many messages wait in it unread (for tests
 * that send pull requests by hand). */
const char *rfq_pull_inbox(const rfq_pull *p);
natsStatus rfq_pull_queued(const rfq_pull *p, int *n);

/* Unsubscribe and free; the consumer stays on the server. NULL is a no-op. */
void rfq_pull_destroy(rfq_pull *p);

#endif
