/* rfq_nats: NATS connection setup, header access, the engine's JetStream streams, and the
 * dead-letter publisher. natsStatus becomes rfq_status here. */
#ifndef RFQ_NATS_H
#define RFQ_NATS_H

#include <stdbool.h>
#include <stdint.h>

#include <nats/nats.h>

#include "rfq_status.h"

/* Map a natsStatus to our vocabulary (NATS_TIMEOUT -> RFQ_ETIMEOUT, others -> RFQ_ENATS). */
rfq_status rfq_nats_status(natsStatus s);

/* Inbox prefixes of the outside users of deploy/nats/rfq-nats.conf: each may subscribe only to
 * its own (<prefix>.>), so no responder reads the answers sent to apps and no app reads the
 * responders' PubAcks. The services keep nats.c's default, _INBOX. */
#define RFQ_NATS_INBOX_RESPONDER "_INBOX_responder"
#define RFQ_NATS_INBOX_APP "_INBOX_app"
#define RFQ_NATS_INBOX_PREFIX_MAX 64

/* True when p can be an inbox prefix: 1..RFQ_NATS_INBOX_PREFIX_MAX characters, tokens separated
 * by single dots, printable ASCII without spaces or wildcards (* >). */
bool rfq_nats_inbox_prefix_valid(const char *p);

/* Connect with reconnect-forever, 250 ms reconnect wait and a 8 MiB reconnect buffer.
 * send_asap writes each publish at once instead of through the 1 ms flusher (lower latency,
 * one write() per message). Retries the first connect for up to wait_ms, except when the
 * server refuses the credentials (Authorization Violation): that fails at once with
 * RFQ_EAUTH and an error log line naming the URL without its password. Replies (requests,
 * JetStream API answers, PubAcks) come back on _INBOX.<...>. *out is new. */
rfq_status rfq_nats_connect(natsConnection **out, const char *url, const char *name, bool send_asap,
                            int wait_ms);

/* rfq_nats_connect with replies on <inbox_prefix>.<...> instead (NULL or "": _INBOX), for
 * users that may subscribe only to their own prefix. RFQ_EINVAL for an invalid prefix. */
rfq_status rfq_nats_connect_inbox(natsConnection **out, const char *url, const char *name,
                                  bool send_asap, int wait_ms, const char *inbox_prefix);

/* Milliseconds since a connection of this process last reconnected to a server after losing
 * it (INT64_MAX when none has). Other clients reconnect and resubscribe at about the same
 * time, so core NATS fan-out published right after a reconnection may reach no one. */
int64_t rfq_nats_since_reconnect_ms(void);

/* Subscribe (synchronously, with no pending limit: a consumer's burst must never be dropped)
 * to a fresh _INBOX subject, copied into inbox (cap >= 64). For deliveries of a JetStream
 * consumer that we read ourselves. */
natsStatus rfq_nats_inbox_subscribe(natsConnection *nc, natsSubscription **sub, char *inbox,
                                    size_t cap);

/* Header value (borrowed from msg) or NULL when absent. */
const char *rfq_nats_header(natsMsg *msg, const char *key);

/* Create or update the engine's streams: RFQ_QUOTES (rfq.v1.quote.>, file storage,
 * work-queue retention, 2 min duplicate window) and RFQ_DLQ (rfq.v1.dlq.>, 7 days). */
rfq_status rfq_streams_ensure(jsCtx *js);

/* Describes why a message went to the dead-letter stream. Strings borrowed; may be NULL. */
struct rfq_dead_letter {
    const char *stage;   /* "aggregator", "requester", "responder": DLQ subject token */
    const char *reason;  /* stable code: bad_json, schema, unknown_rfq, wrong_tenant, late, ... */
    const char *detail;  /* human-readable detail */
    const char *subject; /* subject the message originally arrived on */
    const char *tenant;  /* when known */
    const char *rfq_id;  /* when known */
    natsMsg *orig;       /* the refused message: its safe headers are kept (rfq_dlq.h); may be
                            NULL */
    const char *reply;   /* its reply subject when that is a return address (RFQs), else NULL */
};

/* Publish data to rfq.v1.dlq.<stage> and wait for the stream's PubAck, so the dead letter
 * is durable before the caller acknowledges the original. */
rfq_status rfq_dlq_publish(jsCtx *js, const struct rfq_dead_letter *dl, const void *data, int len);

/* The dead-letter message rfq_dlq_publish sends (subject and headers: Rfq-Dlq-Reason,
 * -Detail, -Subject, -Reply, Rfq-Tenant, Rfq-Id, then orig's safe headers as
 * rfq_dlq_copy_headers keeps them), for callers that
 * publish many asynchronously and wait for the PubAcks once. *out is new (natsMsg_Destroy). */
rfq_status rfq_dlq_msg_create(natsMsg **out, const struct rfq_dead_letter *dl, const void *data,
                              int len);

#endif
