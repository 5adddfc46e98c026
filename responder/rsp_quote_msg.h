/* rsp_quote_msg: the quote-stream message of one answer or of a batch of answers, with the
 * headers the aggregator checks; and the responder ids of a batch we sent, for PubAck
 * accounting. */
#ifndef RSP_QUOTE_MSG_H
#define RSP_QUOTE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "rfq_status.h"

#define RSP_HDR_MSG_ID "Nats-Msg-Id"

/* What goes into one message. All borrowed. */
struct rsp_quote_msg {
    const char *subject;      /* the RFQ's reply subject */
    const char *tenant;       /* header Rfq-Tenant */
    const char *rfq_id;       /* header Rfq-Id */
    const char *responder_id; /* header Rfq-Responder: a single answer's; NULL for a batch */
    int batch;                /* header Rfq-Batch: answers in a batch body; 0 for one answer */
    const char *msg_id;       /* header Nats-Msg-Id */
    const char *traceparent;  /* header traceparent, or NULL */
    int64_t deadline_ms;      /* header Rfq-Deadline */
    const char *body;
    size_t body_len;
};

/* Build the message; *out is new (natsMsg_Destroy). */
rfq_status rsp_quote_msg_create(natsMsg **out, const struct rsp_quote_msg *in);

/* Call fn(closure, responder_id) for every answer of the batch body we sent (body[0..len));
 * returns how many. Parses JSON: only for agents that asked for PubAck outcomes. */
int rsp_quote_msg_each_responder(const char *body, size_t len,
                                 void (*fn)(void *closure, const char *responder_id),
                                 void *closure);

#endif
