/* agg_quote_check: pure validation of one incoming quote message, producing a stable reason
 * code for the dead-letter queue. No I/O: subject, headers and body in, verdict out. */
#ifndef AGG_QUOTE_CHECK_H
#define AGG_QUOTE_CHECK_H

#include <stddef.h>

#include <jansson.h>

#include "rfq_ids.h"
#include "rfq_msg.h"

/* Why a quote is refused. The names (agg_reason_str) are the DLQ reason codes of the
 * contract; AGG_REASON_STORE is ours: Redis kept failing on this one message. */
typedef enum {
    AGG_REASON_NONE = 0,    /* accepted */
    AGG_REASON_BAD_JSON,    /* empty, or not a JSON object */
    AGG_REASON_SCHEMA,      /* JSON object, but not a valid quote */
    AGG_REASON_SUBJECT,     /* subject is not rfq.v1.quote.<tenant>.<rfq_id> */
    AGG_REASON_MISMATCH,    /* body rfq_id or a header disagrees with the subject */
    AGG_REASON_UNKNOWN_RFQ, /* no such RFQ for this tenant */
    AGG_REASON_LATE,        /* arrived after the deadline */
    AGG_REASON_CLOSED,      /* the RFQ was already completed or expired */
    AGG_REASON_CURRENCY,    /* quote currency differs from the RFQ's */
    AGG_REASON_STORE,       /* Redis refused the store repeatedly (poison message) */
    AGG_REASON_OVERFLOW,    /* the RFQ already holds the most answers it keeps */
    AGG_REASON_OVERSIZE,    /* body over AGG_QUOTE_MAX bytes */
    AGG_REASON_DUPLICATE,   /* a new stream message from a responder that already answered */
} agg_reason;

/* Largest quote body looked at, bytes; a bigger one is dead-lettered unread as "oversize".
 * (The stream itself refuses messages over 64 KiB at publish time.) */
#define AGG_QUOTE_MAX RFQ_BODY_MAX

/* Stable code of a reason ("bad_json", ...; "ok" for AGG_REASON_NONE); static, never NULL. */
const char *agg_reason_str(agg_reason r);

/* The parts of a quote message we look at. All borrowed; any may be NULL (body with len 0). */
struct agg_quote_in {
    const char *subject;       /* NATS subject the quote was published on */
    const char *body;          /* payload, not necessarily NUL-terminated */
    size_t len;                /* payload length */
    const char *hdr_tenant;    /* Rfq-Tenant header (required) */
    const char *hdr_rfq_id;    /* Rfq-Id header (checked when present) */
    const char *hdr_responder; /* Rfq-Responder header (checked when present; single quotes) */
    const char *hdr_batch;     /* Rfq-Batch header (checked when present; batches) */
};

/* A quote that passed every check that needs no state. */
struct agg_checked_quote {
    char tenant[RFQ_TENANT_MAX + 1]; /* from the subject; "" when the subject was bad */
    char rfq_id[RFQ_ID_MAX + 1];     /* from the subject; "" when the subject was bad */
    struct rfq_quote quote;          /* decoded body (valid only for AGG_REASON_NONE) */
};

/* Validate one quote message: subject shape, JSON, schema, then that the body's rfq_id and
 * the Rfq-Tenant header (and Rfq-Id / Rfq-Responder when sent) agree with the subject.
 * Fills out (tenant and rfq_id as soon as the subject parsed, for DLQ context) and writes a
 * human-readable detail into detail[cap] on refusal. Never fails on any input bytes. */
agg_reason agg_quote_check(const struct agg_quote_in *in, struct agg_checked_quote *out,
                           char *detail, size_t cap);

/* Validate a batch message (rfq_quote_body_is_batch) as a whole: subject shape, size
 * (RFQ_QUOTE_BATCH_BODY_MAX), a JSON array of 1..RFQ_QUOTE_BATCH_MAX answers, the Rfq-Tenant
 * header (required) and the Rfq-Id and Rfq-Batch headers when sent. On AGG_REASON_NONE
 * *answers is the array (new reference: json_decref it) and out has tenant and rfq_id; check
 * each answer with agg_quote_check_answer. Never fails on any input bytes. */
agg_reason agg_quote_check_batch(const struct agg_quote_in *in, json_t **answers,
                                 struct agg_checked_quote *out, char *detail, size_t cap);

/* Validate one answer of a batch that passed agg_quote_check_batch: decode it into out->quote
 * (out->tenant and out->rfq_id are kept) and check that its rfq_id is the subject's. Refusals
 * are AGG_REASON_SCHEMA or AGG_REASON_MISMATCH. answer is borrowed. */
agg_reason agg_quote_check_answer(json_t *answer, struct agg_checked_quote *out, char *detail,
                                  size_t cap);

/* Dead-letter context of a refused quote whose subject did not name them (out->tenant or
 * out->rfq_id ""): the tenant from a valid Rfq-Tenant header; the RFQ id from a valid Rfq-Id
 * header, else from the body's rfq_id when the body is a JSON object naming a valid one.
 * Fields already set are kept. Pure. */
void agg_quote_context(const struct agg_quote_in *in, struct agg_checked_quote *out);

#endif
