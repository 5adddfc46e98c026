/* rfq_fetch: natsSubscription_Fetch without nats.c 3.4.1's heap overflow.
 *
 * In nats.c before 3.9 (fixed upstream as "heap buffer overflow in _fetch", #749), a fetch that
 * starts with messages already queued in the pull subscription takes them, then sends a pull
 * request for the remainder and reads until the number it holds equals that remainder. When
 * it already holds more, it reads on until its timeout, and deliveries of an earlier pull
 * request still open on the server (under overload: one whose client gave up) land past the
 * end of the batch's array. Seen as fetches returning more than they asked for, and as heap
 * corruption in the benchmark's gatherer under overload. */
#ifndef RFQ_FETCH_H
#define RFQ_FETCH_H

#include <nats/nats.h>

/* natsSubscription_Fetch of up to batch messages within wait_ms, except when messages are
 * already queued in sub (late deliveries, status messages): then it takes one at a time, a
 * fetch of one being unable to overrun, and the caller's next call takes the next. A message
 * arriving between that look and the fetch can still start the overflowing path: more than
 * half a batch would have to arrive within those microseconds. */
natsStatus rfq_fetch(natsMsgList *list, natsSubscription *sub, int batch, int64_t wait_ms,
                     jsErrCode *jerr);

#endif
