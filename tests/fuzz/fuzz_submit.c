/* fuzz_submit: rfq_submit_decode (POST /v1/rfqs and rfq.v1.submit bodies) with the default
 * limits. Properties: a refusal says why in JSON-safe text; what is accepted is within the
 * limits; our own JSON of an accepted submit is accepted again and gives the same submit; and
 * the RFQ built from it survives encode -> decode. */
#include "fuzz_msg.h"

/* The submit as a client would send it: the RFQ encoding without identity and times, with the
 * timeout. New string. */
static char *submit_json(const struct rfq_submit *s)
{
    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    r.body = *s;
    json_t *j = rfq_request_to_json(&r);
    FUZZ_ASSERT(j != NULL);
    json_object_del(j, "rfq_id");
    json_object_del(j, "tenant");
    json_object_del(j, "created_ms");
    json_object_del(j, "deadline_ms");
    json_object_set_new(j, "timeout_ms", json_integer(s->timeout_ms));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    FUZZ_ASSERT(text != NULL);
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct rfq_limits lim = rfq_limits_default();
    struct rfq_submit s;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_submit_decode(&s, (const char *)data, size, &lim, &err);
    if (st != RFQ_OK) {
        fuzz_check_refusal(st, &err);
        FUZZ_ASSERT((st == RFQ_ETOOBIG) == (size > RFQ_BODY_MAX));
        return 0;
    }
    fuzz_check_body(&s, &lim);

    char *text = submit_json(&s);
    struct rfq_submit back;
    st = rfq_submit_decode(&back, text, strlen(text), &lim, &err);
    if (st != RFQ_OK)
        fprintf(stderr, "own encoding refused: %s: %s\n%s\n", err.field, err.message, text);
    FUZZ_ASSERT(st == RFQ_OK);
    FUZZ_ASSERT(fuzz_body_same(&s, &back, true));
    free(text);

    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    memcpy(r.rfq_id, "3f2c7a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f", 37);
    memcpy(r.tenant, "acme", 5);
    r.created_ms = 1760000000000LL;
    r.deadline_ms = r.created_ms + s.timeout_ms;
    r.body = s;
    fuzz_request_round_trip(&r);
    return 0;
}
