/* rsp_dlq: refused RFQs to the dead-letter stream, rate-limited. */
#include "rsp_dlq.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

void rsp_dlq_bucket_init(struct rsp_dlq_bucket *b, double rate, double burst)
{
    pthread_mutex_init(&b->mu, NULL);
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst;
    b->last_ns = 0;
}

void rsp_dlq_bucket_destroy(struct rsp_dlq_bucket *b)
{
    pthread_mutex_destroy(&b->mu);
}

bool rsp_dlq_bucket_take(struct rsp_dlq_bucket *b, int64_t now_ns)
{
    pthread_mutex_lock(&b->mu);
    if (b->last_ns != 0 && now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) / 1e9 * b->rate;
        if (b->tokens > b->burst)
            b->tokens = b->burst;
    }
    if (b->last_ns == 0 || now_ns > b->last_ns)
        b->last_ns = now_ns;
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    pthread_mutex_unlock(&b->mu);
    return ok;
}

const char *rsp_dlq_decode_reason(rfq_status st, const char *data, size_t len)
{
    if (st == RFQ_ETOOBIG || len > (size_t)RFQ_BODY_MAX)
        return "oversize";
    if (!data || len == 0)
        return "bad_json";
    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    const char *r = json_is_object(root) ? "schema" : "bad_json";
    json_decref(root);
    return r;
}

/* Header values are shown in details: keep them short. */
#define HDR_SHOWN 70

bool rsp_dlq_headers_agree(const struct rfq_request *r, const char *hdr_tenant, const char *hdr_id,
                           const char *hdr_deadline, char *detail, size_t cap)
{
    if (hdr_tenant && strcmp(hdr_tenant, r->tenant) != 0) {
        snprintf(detail, cap, "Rfq-Tenant header %.*s differs from body tenant %s", HDR_SHOWN,
                 hdr_tenant, r->tenant);
        return false;
    }
    if (hdr_id && strcmp(hdr_id, r->rfq_id) != 0) {
        snprintf(detail, cap, "Rfq-Id header %.*s differs from body rfq_id %s", HDR_SHOWN, hdr_id,
                 r->rfq_id);
        return false;
    }
    char deadline[24];
    snprintf(deadline, sizeof(deadline), "%" PRId64, r->deadline_ms);
    if (hdr_deadline && strcmp(hdr_deadline, deadline) != 0) {
        snprintf(detail, cap, "Rfq-Deadline header %.*s differs from body deadline_ms %s",
                 HDR_SHOWN, hdr_deadline, deadline);
        return false;
    }
    return true;
}

rfq_status rsp_dlq_publish(natsConnection *nc, const struct rfq_dead_letter *dl, natsMsg *orig)
{
    struct rfq_dead_letter d = *dl;
    d.orig = orig;
    int len = natsMsg_GetDataLength(orig);
    natsMsg *m = NULL;
    rfq_status st = rfq_dlq_msg_create(&m, &d, natsMsg_GetData(orig), len > 0 ? len : 0);
    if (st != RFQ_OK)
        return st;
    natsStatus s = natsConnection_PublishMsg(nc, m);
    natsMsg_Destroy(m);
    return rfq_nats_status(s);
}
