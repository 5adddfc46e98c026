/* rsp_agent: the unicorn-agent library. Receives RFQs over NATS, asks a pluggable quote
 * callback per hosted responder, and sends each answer to the RFQ's return address. */
#ifndef RSP_AGENT_H
#define RSP_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_msg.h"
#include "rfq_status.h"

/* What a quote callback decided for one responder and one RFQ. */
typedef enum {
    RSP_QUOTE = 0, /* send the priced quote in *out */
    RSP_DECLINE,   /* send a decline; reason from out->decline_reason ("declined" if empty) */
    RSP_NO_ANSWER, /* send nothing: the RFQ simply gets no answer from this responder */
} rsp_decision;

/* The quote callback: the one function a real agent writes.
 *
 * Called once per RFQ for every responder hosted in the RFQ's region, after the RFQ was decoded
 * and found still open. Calls are serialized (never two at once for one agent, even across
 * regions), and run on a NATS delivery thread: keep them short and never block for long, or
 * every later RFQ waits. Use *think_ms, not sleep(), to answer later.
 *
 *   closure       the pointer given to rsp_agent_add_responder for this responder (borrowed).
 *   rfq           the decoded RFQ (borrowed; valid during the call only: copy what you keep).
 *   responder_id  the responder being asked (borrowed, as added).
 *   out           pre-filled: rfq_id, responder_id, currency (the RFQ's), all else zero.
 *                 For RSP_QUOTE set amount_minor (>= 0, minor units of out->currency, which
 *                 must stay the RFQ's), eta_s (0..86400), perks ([a-z0-9_]{1,32}, distinct, at
 *                 most RFQ_TAGS_MAX) and optionally valid_until_ms. For RSP_DECLINE optionally
 *                 set decline_reason (printable ASCII, <= 128). The agent keeps rfq_id and
 *                 responder_id as pre-filled and sets out->decline from the decision.
 *   think_ms      pre-set to 0: how long to wait before sending (milliseconds). 0 sends at once
 *                 from the calling thread; otherwise the answer is sent by the agent's
 *                 scheduler thread. If the RFQ's deadline is reached before then, the answer is
 *                 dropped (counted as late), never sent.
 *
 * A quote that fails the wire schema (negative price, bad currency or perk, ...) is logged,
 * counted as invalid and not sent. */
typedef rsp_decision (*rsp_quote_fn)(void *closure, const struct rfq_request *rfq,
                                     const char *responder_id, struct rfq_quote *out,
                                     int *think_ms);

/* One answer ready to go out, as handed to a custom send hook. All fields borrowed. */
struct rsp_reply {
    const char *subject;      /* the RFQ's reply subject (opaque return address) */
    const char *tenant;       /* header Rfq-Tenant */
    const char *rfq_id;       /* header Rfq-Id */
    const char *responder_id; /* header Rfq-Responder */
    const char *msg_id;       /* header Nats-Msg-Id: "<rfq_id>.<responder_id>" */
    const char *traceparent;  /* header traceparent copied from the RFQ, or NULL */
    int64_t deadline_ms;      /* the RFQ's deadline (header Rfq-Deadline on the quote) */
    const char *body;         /* quote JSON (rfq_quote_encode) */
    size_t body_len;
    const struct rfq_quote *quote; /* the quote as sent */
};

/* Replaces the JetStream publish (tests, other transports). Called from the thread that sends
 * (see rsp_quote_fn's think_ms); returns RFQ_OK when the reply was handed over. */
typedef rfq_status (*rsp_send_fn)(void *closure, const struct rsp_reply *reply);

/* Final PubAck outcome of one answer sent by the JetStream transport, for agents that account
 * for what the engine holds (audits, fault tests). Called once per answer handed to the stream,
 * on nats.c's async-reply thread, only while the agent lives: acked is true when the stream
 * confirmed it (duplicate: it already held this Nats-Msg-Id, from an earlier attempt), false
 * when the agent gave up (a PubAck error, or none by the RFQ's deadline). A re-send after a
 * PubAck timeout is not an outcome. Strings are borrowed for the call. Keep it short. */
typedef void (*rsp_ack_fn)(void *closure, const char *tenant, const char *rfq_id,
                           const char *responder_id, bool acked, bool duplicate);

struct rsp_agent_cfg {
    const char *nats_url; /* server URL(s) for rsp_agent_start; copied by create */
    const char *name;     /* NATS connection name, default "rfq-responder". Static storage
                             (a literal): nats.c's callbacks may read it after destroy */
    bool send_asap;       /* write each publish at once (lower latency); default true */
    int connect_wait_ms;  /* retry the first connect for this long; default 5000 */
    int ack_wait_ms;      /* PubAck wait before re-sending (until the deadline); 1000 */
    int max_pending_acks; /* quotes in flight without PubAck before publishing stalls; 4096 */
    int drain_ms;         /* shutdown: answers due within this still go, then PubAcks; 1000 */
    /* Answers to one RFQ that are ready at once (think time 0) go out as one batch message of
     * up to this many (rfq_quote_batch.h): one publish, PubAck and stream message instead of
     * one each. 1 sends every answer alone. 1..RFQ_QUOTE_BATCH_MAX, default
     * RFQ_QUOTE_BATCH_MAX. JetStream transport only: a send hook gets answers one by one. */
    int batch_max;
    rsp_send_fn send;   /* NULL: JetStream publish with PubAck (the normal case) */
    void *send_closure; /* passed to send */
    rsp_ack_fn on_ack;  /* NULL: none; JetStream transport only */
    void *ack_closure;  /* passed to on_ack */

    /* Replies (PubAcks) arrive on <inbox_prefix>.<...>. Default "_INBOX_responder", the only
     * inbox the responder user of rfq-nats.conf may subscribe to; "" = nats.c's "_INBOX".
     * Copied by create. */
    const char *inbox_prefix;
};

/* Fill cfg with the defaults above (nats_url "nats://127.0.0.1:4222", inbox_prefix
 * RFQ_NATS_INBOX_RESPONDER). */
void rsp_agent_cfg_init(struct rsp_agent_cfg *cfg);

/* Counters since creation; a snapshot, read without stopping the agent. */
struct rsp_agent_stats {
    uint64_t received;      /* RFQ messages delivered to the agent */
    uint64_t bad;           /* refused: malformed, oversize, bad subject, no reply subject,
                               headers contradicting the body (dead-lettered, see below) */
    uint64_t expired;       /* skipped: deadline already passed on arrival */
    uint64_t unrouted;      /* no responder hosted in the RFQ's region */
    uint64_t asked;         /* callback invocations */
    uint64_t quotes;        /* quotes handed to the transport */
    uint64_t declines;      /* declines handed to the transport */
    uint64_t no_answer;     /* RSP_NO_ANSWER decisions */
    uint64_t invalid;       /* answers refused: wire schema, currency, unknown decision */
    uint64_t late;          /* dropped: deadline reached while thinking */
    uint64_t cancelled;     /* dropped: still thinking at shutdown */
    uint64_t send_errors;   /* the publish itself failed */
    uint64_t acked;         /* PubAcks received (JetStream transport only) */
    uint64_t duplicates;    /* PubAcks saying the stream already had this Nats-Msg-Id */
    uint64_t ack_errors;    /* PubAck errors, and timeouts once the deadline passed */
    uint64_t retries;       /* quotes re-sent after a PubAck timeout */
    uint64_t shed;          /* dropped unsent: the scheduler was behind and reached the answer
                               only after the RFQ's deadline (expired answers go first) */
    uint64_t dead_lettered; /* refused RFQs sent to rfq.v1.dlq.responder (NATS intake only) */
    uint64_t dlq_dropped;   /* refused RFQs not dead-lettered: over RSP_DLQ_RATE, or the
                               publish failed */
};

typedef struct rsp_agent rsp_agent;

/* Create an agent that asks fn for answers. No I/O yet: add responders, then start (or, with a
 * send hook, feed it with rsp_agent_deliver). cfg is copied (nats_url and inbox_prefix too).
 * *out is new (rsp_agent_destroy). RFQ_EINVAL when fn is NULL or cfg is out of range (an
 * inbox_prefix failing rfq_nats_inbox_prefix_valid included). */
rfq_status rsp_agent_create(rsp_agent **out, const struct rsp_agent_cfg *cfg, rsp_quote_fn fn);

/* Host one responder: RFQs for region are offered to it, with closure passed to the callback
 * (borrowed: must outlive the agent). Only before rsp_agent_start. RFQ_EINVAL for an invalid
 * id (rfq_ident_valid) or region (rfq_region_valid), or an id already hosted; RFQ_ECLOSED
 * after start; RFQ_ENOMEM. */
rfq_status rsp_agent_add_responder(rsp_agent *a, const char *responder_id, const char *region,
                                   void *closure);

/* Connect to NATS, create the JetStream context, subscribe rfq.v1.req.<region>.> for every
 * hosted region and flush, so that when this returns RFQ_OK the server knows the
 * subscriptions (write the ready file then). RFQ_EINVAL without responders; RFQ_ENATS or
 * RFQ_ETIMEOUT when NATS is unreachable; RFQ_EAUTH at once when it refuses the credentials.
 *
 * Answers then go out as JetStream async publishes to the RFQ's reply subject with headers
 * Rfq-Id, Rfq-Tenant, Rfq-Responder, Nats-Msg-Id "<rfq_id>.<responder_id>", Rfq-Deadline and
 * traceparent (when the RFQ had one). Answers ready together go as batches (cfg.batch_max):
 * the body is a JSON array of answers, Rfq-Batch names their count instead of Rfq-Responder,
 * and Nats-Msg-Id is "<rfq_id>.<first responder_id>+<count>". PubAcks are counted; after
 * ack_wait_ms without one, the same message is published again (the stream drops duplicates by
 * Nats-Msg-Id) until the deadline passes. */
rfq_status rsp_agent_start(rsp_agent *a);

/* Process one RFQ message as if it arrived on subject with the given reply subject; this is
 * what the NATS subscription calls, and what tests and other transports call directly.
 * data need not be NUL-terminated; traceparent may be NULL. Thread-safe once every responder
 * is added.
 * Returns RFQ_OK when the RFQ was offered to the region's responders; RFQ_EINVAL or
 * RFQ_ETOOBIG when it was dropped as bad (logged), RFQ_ECLOSED when its deadline had passed,
 * RFQ_ENOTFOUND when no responder is hosted in its region. Never crashes on any input.
 * RFQs arriving over NATS get two more things this call cannot do: their Rfq-Tenant, Rfq-Id
 * and Rfq-Deadline headers, when present, must agree with the body, and every refused one is
 * dead-lettered to rfq.v1.dlq.responder (see rsp_dlq.h; at most RSP_DLQ_RATE a second). */
rfq_status rsp_agent_deliver(rsp_agent *a, const char *subject, const char *reply, const char *data,
                             size_t len, const char *traceparent);

/* Copy the counters into *out. Thread-safe. */
void rsp_agent_stats_get(rsp_agent *a, struct rsp_agent_stats *out);

/* Orderly shutdown: stop receiving (in-flight callbacks finish), send the answers due within
 * drain_ms, cancel the rest, wait up to drain_ms more for outstanding PubAcks, close NATS, log
 * the counters, free everything. NULL is a no-op. */
void rsp_agent_destroy(rsp_agent *a);

#endif
