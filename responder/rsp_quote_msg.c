/* rsp_quote_msg: building quote-stream messages and reading back a batch's responders. */
#include "rsp_quote_msg.h"

#include <stdio.h>

#include <jansson.h>

#include "rfq_ids.h"
#include "rfq_nats.h"
#include "rfq_quote_batch.h"

rfq_status rsp_quote_msg_create(natsMsg **out, const struct rsp_quote_msg *in)
{
    natsMsg *m = NULL;
    char deadline[24], batch[12];
    snprintf(deadline, sizeof(deadline), "%lld", (long long)in->deadline_ms);
    snprintf(batch, sizeof(batch), "%d", in->batch);
    natsStatus s = natsMsg_Create(&m, in->subject, NULL, in->body, (int)in->body_len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_ID, in->rfq_id);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, in->tenant);
    if (s == NATS_OK && in->responder_id)
        s = natsMsgHeader_Set(m, RFQ_HDR_RESPONDER, in->responder_id);
    if (s == NATS_OK && in->batch > 0)
        s = natsMsgHeader_Set(m, RFQ_HDR_BATCH, batch);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RSP_HDR_MSG_ID, in->msg_id);
    if (s == NATS_OK && in->traceparent)
        s = natsMsgHeader_Set(m, RFQ_HDR_TRACEPARENT, in->traceparent);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_DEADLINE, deadline);
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return rfq_nats_status(s);
    }
    *out = m;
    return RFQ_OK;
}

int rsp_quote_msg_each_responder(const char *body, size_t len,
                                 void (*fn)(void *closure, const char *responder_id), void *closure)
{
    json_error_t jerr;
    json_t *arr = json_loadb(body, len, 0, &jerr);
    size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
    for (size_t i = 0; i < n; i++)
        fn(closure, json_string_value(json_object_get(json_array_get(arr, i), "responder_id")));
    json_decref(arr);
    return (int)n;
}
