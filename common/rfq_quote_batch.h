/* rfq_quote_batch: several answers to one RFQ in one quote-stream message. A responder process
 * that hosts many unicorns sends the answers it has ready at the same moment as one JSON array:
 * one JetStream publish, PubAck, stored message, delivery and ack instead of one of each per
 * answer. Each answer inside is exactly a single quote or decline. Pure: no I/O. */
#ifndef RFQ_QUOTE_BATCH_H
#define RFQ_QUOTE_BATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "rfq_status.h"

/* Most answers in one batch message. */
#define RFQ_QUOTE_BATCH_MAX 32
/* Largest batch body, bytes: the quote stream refuses messages over 64 KiB (headers included). */
#define RFQ_QUOTE_BATCH_BODY_MAX (60 * 1024)
/* Header of a batch message: how many answers it holds (decimal). */
#define RFQ_HDR_BATCH "Rfq-Batch"

/* Whether a quote body is a batch: its first byte after blanks is '['. */
bool rfq_quote_body_is_batch(const char *buf, size_t len);

/* How many of the encoded answers lens[0..n) fit one batch body, counting from the first: at
 * most RFQ_QUOTE_BATCH_MAX, within RFQ_QUOTE_BATCH_BODY_MAX; at least 1 when n > 0 (an answer
 * too big for any batch goes alone). */
int rfq_quote_batch_fit(const size_t *lens, int n);

/* Join the encoded answers bodies[0..n) (rfq_quote_encode outputs, lengths lens) into one
 * batch body "[a,b,...]": a new malloc'd NUL-terminated string in *out. RFQ_EINVAL for n
 * outside 1..RFQ_QUOTE_BATCH_MAX, RFQ_ETOOBIG over RFQ_QUOTE_BATCH_BODY_MAX, RFQ_ENOMEM. */
rfq_status rfq_quote_batch_join(char *const *bodies, const size_t *lens, int n, char **out,
                                size_t *out_len);

/* Parse a batch body: a JSON array (duplicate object keys refused) of 1..RFQ_QUOTE_BATCH_MAX
 * objects, at most RFQ_QUOTE_BATCH_BODY_MAX bytes. The objects are not checked as answers
 * here: decode each with rfq_quote_from_json, so one bad answer does not spoil the others.
 * Returns the array (new reference), or NULL with err and *why set: RFQ_ETOOBIG over the size,
 * RFQ_EINVAL when the body is not a JSON array or object at all (jansson refuses bare values
 * such as 3 or null as well), RFQ_EPROTO when it is one but not an array of
 * 1..RFQ_QUOTE_BATCH_MAX objects. Each answer may use any part of the batch's size: the
 * single-quote limit (RFQ_BODY_MAX) bounds a message, and the batch limit bounds this one. */
json_t *rfq_quote_batch_parse(const char *buf, size_t len, rfq_status *why, struct rfq_err *err);

#endif
