/* rfq_dlq: what a dead letter keeps of the refused message's headers, and the message a
 * replay sends back through the stage. Used by rfq_dlq_msg_create (rfq_nats.h) and rfqctl. */
#ifndef RFQ_DLQ_H
#define RFQ_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "rfq_status.h"

/* Headers a dead letter adds besides Rfq-Dlq-Reason/-Detail/-Subject (rfq_ids.h). */
#define RFQ_HDR_MSG_ID "Nats-Msg-Id"
#define RFQ_HDR_DLQ_MSG_ID "Rfq-Dlq-Msg-Id" /* the original's Nats-Msg-Id */
#define RFQ_HDR_DLQ_REPLY "Rfq-Dlq-Reply"   /* the original's reply subject (RFQs only) */
/* The original's Rfq-Tenant / Rfq-Id, kept under this prefix when they differ from the
 * dead letter's own (e.g. Rfq-Dlq-Orig-Rfq-Tenant on a wrong-tenant quote). */
#define RFQ_HDR_DLQ_ORIG_PREFIX "Rfq-Dlq-Orig-"
/* Comma list of Rfq-Tenant / Rfq-Id: set on the dead letter, absent from the original. */
#define RFQ_HDR_DLQ_ADDED "Rfq-Dlq-Added"
/* On a replayed message: the RFQ_DLQ sequence it was replayed from. */
#define RFQ_HDR_REPLAY_OF "Rfq-Replay-Of"

#define RFQ_DLQ_HEADERS_MAX 32 /* original header names kept at most */
#define RFQ_DLQ_VALUES_MAX 8   /* values per header name kept at most */

/* How a dead letter treats one header name of the original message. */
typedef enum {
    RFQ_DLQ_HDR_DROP = 0, /* never kept: credentials, Nats-* controls, forged Rfq-Dlq-* */
    RFQ_DLQ_HDR_KEEP,     /* kept under its own name */
    RFQ_DLQ_HDR_MSG_ID,   /* Nats-Msg-Id: kept as Rfq-Dlq-Msg-Id (the DLQ stream must not
                             deduplicate dead letters by it) */
    RFQ_DLQ_HDR_CONTEXT,  /* Rfq-Tenant / Rfq-Id: the dead letter sets its own */
} rfq_dlq_hdr_kind;

/* Classify an original header name. Pure; NULL or "" is RFQ_DLQ_HDR_DROP. Credentials are
 * matched case-insensitively (Authorization, Proxy-Authorization, Cookie, and names holding
 * token, secret, password, credential, api-key or apikey), as are the Nats- and Rfq-Dlq-
 * prefixes; the engine's own names are matched exactly, as the engine reads them. */
rfq_dlq_hdr_kind rfq_dlq_header_kind(const char *name);

/* Copy the safe headers of orig onto dl (a dead letter being built) following
 * rfq_dlq_header_kind. tenant and rfq_id are the dead letter's own Rfq-Tenant / Rfq-Id (NULL
 * when unknown): an original value that differs is kept as Rfq-Dlq-Orig-<name>, and a context
 * header the original lacked is listed in Rfq-Dlq-Added, so a replay restores the original
 * exactly. Both messages borrowed. */
rfq_status rfq_dlq_copy_headers(natsMsg *dl, natsMsg *orig, const char *tenant, const char *rfq_id);

/* The name a replay sends a dead letter's header under, into out[cap]; false when the header
 * is the dead letter's own (Rfq-Dlq-*, Rfq-Replay-Of, Nats-*). Rfq-Dlq-Orig-<name> maps to
 * <name>. Rfq-Tenant and Rfq-Id map to themselves: the caller drops them when an
 * Rfq-Dlq-Orig- copy exists or Rfq-Dlq-Added names them. Pure. */
bool rfq_dlq_header_replay_name(const char *stored, char *out, size_t cap);

/* True when name is listed in a comma list (e.g. Rfq-Dlq-Added). Pure. */
bool rfq_dlq_list_has(const char *list, const char *name);

/* True when s can be published to: 1..255 printable ASCII characters, no spaces, no
 * wildcards, no empty token. Pure. */
bool rfq_dlq_subject_valid(const char *s);

/* True when subject lies in the quote stream's namespace (rfq.v1.quote.). */
bool rfq_dlq_subject_is_quote(const char *subject);

/* The message that replays dead letter entry (as read from RFQ_DLQ at stream sequence seq):
 * the original subject (Rfq-Dlq-Subject), reply subject (Rfq-Dlq-Reply), payload and
 * headers, plus Rfq-Replay-Of: <seq>. A quote (subject under rfq.v1.quote.) gets the
 * Nats-Msg-Id "<original id>.replay.<seq>" ("dlq.replay.<seq>" when it had none), so the
 * quote stream does not drop it as a copy of the original, while a second replay of the same
 * entry is dropped. *out is new (natsMsg_Destroy). RFQ_EINVAL when the entry has no usable
 * original subject. */
rfq_status rfq_dlq_replay_msg_create(natsMsg **out, natsMsg *entry, uint64_t seq);

#endif
