/* req_sse_buf: Server-Sent Events framing, the pending-output buffer of one stream, and the
 * per-stream quote dedupe. Pure: no I/O, no locks (one stream is one thread's). */
#ifndef REQ_SSE_BUF_H
#define REQ_SSE_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "rfq_ids.h"
#include "rfq_status.h"

#define REQ_SSE_BUF_MAX ((size_t)1024 * 1024) /* pending output of one stream, bytes */
#define REQ_SSE_SEEN_MAX 4096                 /* responders remembered for dedupe */

/* Bytes waiting to be written to the client. */
struct req_sse_buf {
    char *data; /* malloc'd, grows up to REQ_SSE_BUF_MAX */
    size_t len; /* bytes in data */
    size_t off; /* bytes already taken */
    size_t cap;
};

/* Responder ids whose quote was already sent on this stream. */
struct req_sse_seen {
    char (*ids)[RFQ_ID_MAX + 1];
    size_t n, cap;
};

enum req_sse_kind {
    REQ_SSE_SKIP = 0, /* nothing sent: malformed, or a quote already sent */
    REQ_SSE_QUOTE,    /* a quote event was queued */
    REQ_SSE_FINAL,    /* completed/expired was queued: the stream ends after it */
    REQ_SSE_OTHER,    /* another event type, forwarded as is */
};

void req_sse_buf_free(struct req_sse_buf *b);
/* Bytes not yet taken. */
size_t req_sse_buf_pending(const struct req_sse_buf *b);
/* Copy up to max pending bytes into out; returns the count. */
size_t req_sse_buf_take(struct req_sse_buf *b, char *out, size_t max);

/* Queue "event: <event>\ndata: <compact JSON of data>\n\n". data is borrowed. event must be
 * [a-z_]{1,32}. RFQ_ETOOBIG when the buffer would pass REQ_SSE_BUF_MAX. */
rfq_status req_sse_event(struct req_sse_buf *b, const char *event, json_t *data);
/* Queue a comment line ": <text>\n\n" (keep-alive). */
rfq_status req_sse_comment(struct req_sse_buf *b, const char *text);

void req_sse_seen_free(struct req_sse_seen *s);
/* Remember id; true when it was not seen before (also true, unremembered, past the cap). */
bool req_sse_seen_add(struct req_sse_seen *s, const char *id);

/* Translate one live event message (aggregator JSON on rfq.v1.event.<t>.<id>) into SSE:
 * quotes are deduped by responder_id, completed/expired end the stream. */
enum req_sse_kind req_sse_feed(struct req_sse_buf *b, struct req_sse_seen *seen, const char *msg,
                               size_t len);
/* req_sse_feed, except that a completed or expired event (an RFQ's last one) is only
 * recognised: REQ_SSE_FINAL with nothing queued, for the caller to send the stored state. */
enum req_sse_kind req_sse_feed_hold_final(struct req_sse_buf *b, struct req_sse_seen *seen,
                                          const char *msg, size_t len);

/* Queue the stored state of an RFQ: one quote event per quote of by_arrival (borrowed array of
 * quote objects in arrival order; "rank"/"arrival" members are dropped) not yet seen, then, if
 * status is not "open", the final event with count and best (borrowed, may be NULL). Returns
 * REQ_SSE_FINAL when a final event was queued. */
enum req_sse_kind req_sse_state(struct req_sse_buf *b, struct req_sse_seen *seen,
                                const char *tenant, const char *rfq_id, const char *status,
                                int count, json_t *by_arrival, json_t *best);

#endif
