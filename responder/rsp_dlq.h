/* rsp_dlq: dead letters of the RFQs a responder refuses (stage "responder"): reason codes, the
 * header checks, and a token bucket so that a flood of bad RFQs cannot become a flood of
 * dead letters. */
#ifndef RSP_DLQ_H
#define RSP_DLQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nats/nats.h>

#include "rfq_msg.h"
#include "rfq_nats.h"
#include "rfq_status.h"

#define RSP_DLQ_STAGE "responder"
#define RSP_DLQ_RATE 100  /* dead letters per second and process, sustained */
#define RSP_DLQ_BURST 100 /* and at once */

/* Token bucket: rate tokens a second, at most burst saved up. Thread-safe. */
struct rsp_dlq_bucket {
    pthread_mutex_t mu;
    double tokens;
    double rate, burst;
    int64_t last_ns; /* monotonic time of the last refill, 0 before the first take */
};

/* Start full. */
void rsp_dlq_bucket_init(struct rsp_dlq_bucket *b, double rate, double burst);
void rsp_dlq_bucket_destroy(struct rsp_dlq_bucket *b);
/* Take one token at monotonic time now_ns; false when none is left. */
bool rsp_dlq_bucket_take(struct rsp_dlq_bucket *b, int64_t now_ns);

/* Reason code of an RFQ body that rfq_request_decode refused with st: "oversize" (RFQ_ETOOBIG),
 * "bad_json" (not a JSON object, or repeated keys), else "schema". Pure; static strings. */
const char *rsp_dlq_decode_reason(rfq_status st, const char *data, size_t len);

/* Check the RFQ message's headers against its decoded body: Rfq-Tenant, Rfq-Id and
 * Rfq-Deadline (decimal unix ms), each when present, must equal the body's tenant, rfq_id
 * and deadline_ms. Headers are optional (the body is the RFQ); a differing one is forged or
 * stale. Returns true when they agree; otherwise false with a detail in detail[cap]. Pure. */
bool rsp_dlq_headers_agree(const struct rfq_request *r, const char *hdr_tenant, const char *hdr_id,
                           const char *hdr_deadline, char *detail, size_t cap);

/* Publish the dead letter of orig (borrowed: subject, reply and headers as rfq_dlq_msg_create
 * keeps them) with core NATS to rfq.v1.dlq.responder, where the stream RFQ_DLQ stores it. No
 * PubAck is awaited: this runs on the RFQ delivery thread, and a refused RFQ is not worth a
 * round trip there. */
rfq_status rsp_dlq_publish(natsConnection *nc, const struct rfq_dead_letter *dl, natsMsg *orig);

#endif
