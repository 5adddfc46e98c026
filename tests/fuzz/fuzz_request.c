/* fuzz_request: rfq_request_decode (the RFQ responders receive). Properties: a refusal says why
 * in JSON-safe text; an accepted RFQ has valid ids and times and a body within the wide limits;
 * encode -> decode gives it back and re-encoding is byte-stable; the subjects a responder
 * builds from it (request, reply) can be built and the reply subject parses back. */
#include "fuzz_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The decoder's own wide limits (rfq_msg.c): what any engine version may send. */
    const struct rfq_limits wide = {1, 1000, 1, 1, 3600000, 64};
    struct rfq_request r;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_request_decode(&r, (const char *)data, size, &err);
    if (st != RFQ_OK) {
        fuzz_check_refusal(st, &err);
        FUZZ_ASSERT((st == RFQ_ETOOBIG) == (size > RFQ_BODY_MAX));
        return 0;
    }
    FUZZ_ASSERT(rfq_ident_valid(r.rfq_id));
    FUZZ_ASSERT(rfq_tenant_valid(r.tenant));
    FUZZ_ASSERT(r.created_ms >= 0 && r.created_ms <= RFQ_TIME_MAX_MS);
    FUZZ_ASSERT(r.deadline_ms >= 0 && r.deadline_ms <= RFQ_TIME_MAX_MS);
    fuzz_check_body(&r.body, &wide);
    fuzz_request_round_trip(&r);

    char subj[RFQ_KEY_MAX], tenant[RFQ_TENANT_MAX + 1], id[RFQ_ID_MAX + 1];
    FUZZ_ASSERT(rfq_subject_request(subj, sizeof(subj), r.body.region, r.tenant) == RFQ_OK);
    FUZZ_ASSERT(rfq_subject_quote(subj, sizeof(subj), r.tenant, r.rfq_id) == RFQ_OK);
    FUZZ_ASSERT(rfq_subject_quote_parse(subj, tenant, id) == RFQ_OK);
    FUZZ_ASSERT(strcmp(tenant, r.tenant) == 0 && strcmp(id, r.rfq_id) == 0);
    return 0;
}
