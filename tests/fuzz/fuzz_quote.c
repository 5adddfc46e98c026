/* fuzz_quote: a quote as the aggregator receives it: subject, Rfq-Tenant header, body.
 * Input: optional first line "rfq.v1.quote.<tenant>.<rfq_id>" (any line starting "rfq."), then
 * an optional line "Rfq-Tenant: <t>", then the body (the whole input when no subject line).
 * Properties: a subject that parses is rebuilt byte for byte; a refusal says why in JSON-safe
 * text; an accepted quote is within range, survives encode -> decode with byte-stable
 * re-encoding; its keys and event subject can be built; its rank member names the responder
 * and sorts by price, then ETA, then arrival. The body is also read as a quote batch
 * (rfq_quote_batch_parse): a refusal says why; an accepted batch holds 1..RFQ_QUOTE_BATCH_MAX
 * objects, each decoded with rfq_quote_from_json, which agrees with rfq_quote_decode on the
 * object's own text; an accepted answer passes the same checks as a single quote. */
#include "fuzz_msg.h"
#include "rfq_quote_batch.h"

#define PRICE_MAX 1000000000000LL /* rfq_msg.c's cap on amount_minor */

static bool quotes_same(const struct rfq_quote *a, const struct rfq_quote *b)
{
    if (strcmp(a->rfq_id, b->rfq_id) != 0 || strcmp(a->responder_id, b->responder_id) != 0 ||
        a->decline != b->decline || strcmp(a->decline_reason, b->decline_reason) != 0 ||
        a->amount_minor != b->amount_minor || strcmp(a->currency, b->currency) != 0 ||
        a->eta_s != b->eta_s || a->n_perks != b->n_perks || a->valid_until_ms != b->valid_until_ms)
        return false;
    for (int i = 0; i < a->n_perks; i++)
        if (strcmp(a->perks[i], b->perks[i]) != 0)
            return false;
    return true;
}

static void check_quote(const struct rfq_quote *q)
{
    FUZZ_ASSERT(rfq_ident_valid(q->rfq_id) && rfq_ident_valid(q->responder_id));
    if (q->decline) {
        size_t n = strlen(q->decline_reason);
        FUZZ_ASSERT(n >= 1 && n <= RFQ_REASON_MAX);
        for (size_t i = 0; i < n; i++)
            FUZZ_ASSERT(q->decline_reason[i] >= 0x20 && q->decline_reason[i] <= 0x7e);
        FUZZ_ASSERT(q->amount_minor == 0 && q->n_perks == 0 && q->currency[0] == '\0');
        return;
    }
    FUZZ_ASSERT(q->amount_minor >= 0 && q->amount_minor <= PRICE_MAX);
    FUZZ_ASSERT(fuzz_currency_ok(q->currency));
    FUZZ_ASSERT(q->eta_s >= 0 && q->eta_s <= 86400);
    FUZZ_ASSERT(fuzz_tags_ok(q->perks, q->n_perks));
    FUZZ_ASSERT(q->valid_until_ms >= 0 && q->valid_until_ms <= RFQ_TIME_MAX_MS);
}

static void round_trip(const struct rfq_quote *q)
{
    char *enc = NULL, *enc2 = NULL;
    size_t enc_len = 0, enc2_len = 0;
    struct rfq_quote back;
    struct rfq_err err = {{0}, {0}};
    FUZZ_ASSERT(rfq_quote_encode(q, &enc, &enc_len) == RFQ_OK);
    rfq_status st = rfq_quote_decode(&back, enc, enc_len, &err);
    if (st != RFQ_OK)
        fprintf(stderr, "re-decode failed: %s: %s\n%s\n", err.field, err.message, enc);
    FUZZ_ASSERT(st == RFQ_OK);
    FUZZ_ASSERT(quotes_same(q, &back));
    FUZZ_ASSERT(rfq_quote_encode(&back, &enc2, &enc2_len) == RFQ_OK);
    FUZZ_ASSERT(enc_len == enc2_len && memcmp(enc, enc2, enc_len) == 0);
    free(enc);
    free(enc2);
}

/* The ranking member orders like (amount, eta, arrival) and ends with the responder id. */
static void check_rank(const struct rfq_quote *q, uint64_t arrival)
{
    char m[RFQ_RANK_MEMBER_MAX], m2[RFQ_RANK_MEMBER_MAX];
    if (q->decline) {
        FUZZ_ASSERT(rfq_rank_member(m, sizeof(m), q, arrival) == RFQ_EINVAL);
        return;
    }
    FUZZ_ASSERT(rfq_rank_member(m, sizeof(m), q, arrival) == RFQ_OK);
    const char *resp = rfq_rank_member_responder(m);
    FUZZ_ASSERT(resp && strcmp(resp, q->responder_id) == 0);

    struct rfq_quote more = *q;
    if (q->amount_minor < PRICE_MAX) {
        more.amount_minor = q->amount_minor + 1;
        more.eta_s = 0;
        FUZZ_ASSERT(rfq_rank_member(m2, sizeof(m2), &more, 0) == RFQ_OK);
        FUZZ_ASSERT(strcmp(m, m2) < 0);
    }
    more = *q;
    if (q->eta_s < 86400) {
        more.eta_s = q->eta_s + 1;
        FUZZ_ASSERT(rfq_rank_member(m2, sizeof(m2), &more, 0) == RFQ_OK);
        FUZZ_ASSERT(strcmp(m, m2) < 0);
    }
    if (arrival < UINT64_MAX) {
        FUZZ_ASSERT(rfq_rank_member(m2, sizeof(m2), q, arrival + 1) == RFQ_OK);
        FUZZ_ASSERT(strcmp(m, m2) < 0);
    }
    /* Too small a buffer is refused, never cut short. */
    FUZZ_ASSERT(rfq_rank_member(m2, strlen(m), q, arrival) == RFQ_ETOOBIG);
}

/* The body as a batch: every element decodes like the same object sent alone. */
static void check_batch(const char *body, size_t len)
{
    rfq_status why = RFQ_EIO;
    struct rfq_err err = {{0}, {0}};
    json_t *arr = rfq_quote_batch_parse(body, len, &why, &err);
    if (!arr) {
        FUZZ_ASSERT(why == RFQ_EINVAL || why == RFQ_EPROTO || why == RFQ_ETOOBIG);
        FUZZ_ASSERT(err.message[0] != '\0');
        FUZZ_ASSERT(memchr(err.message, '\0', sizeof(err.message)) != NULL);
        return;
    }
    FUZZ_ASSERT(why == RFQ_OK);
    FUZZ_ASSERT(len <= RFQ_QUOTE_BATCH_BODY_MAX);
    FUZZ_ASSERT(rfq_quote_body_is_batch(body, len));
    size_t n = json_array_size(arr);
    FUZZ_ASSERT(json_is_array(arr) && n >= 1 && n <= RFQ_QUOTE_BATCH_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *el = json_array_get(arr, i);
        FUZZ_ASSERT(json_is_object(el));
        struct rfq_quote q, alone;
        struct rfq_err e1 = {{0}, {0}}, e2 = {{0}, {0}};
        rfq_status st = rfq_quote_from_json(&q, el, &e1);
        char *text = json_dumps(el, JSON_COMPACT);
        FUZZ_ASSERT(text != NULL);
        rfq_status st2 = rfq_quote_decode(&alone, text, strlen(text), &e2);
        /* Alone, an element over a single quote's size cap is refused for its size only. */
        if (st2 != RFQ_ETOOBIG) {
            FUZZ_ASSERT(st == st2);
            if (st == RFQ_OK)
                FUZZ_ASSERT(quotes_same(&q, &alone));
        }
        free(text);
        if (st != RFQ_OK) {
            fuzz_check_refusal(st, &e1);
            continue;
        }
        check_quote(&q);
        round_trip(&q);
    }
    json_decref(arr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = fuzz_strndup(data, size);
    const char *subject = NULL, *hdr_tenant = NULL;
    char *body = in;
    size_t body_len = size;
    if (strncmp(in, "rfq.", 4) == 0 && strchr(in, '\n')) {
        subject = in;
        body = strchr(in, '\n');
        *body++ = '\0';
        if (strncmp(body, "Rfq-Tenant:", 11) == 0 && strchr(body, '\n')) {
            hdr_tenant = body + 11;
            while (*hdr_tenant == ' ')
                hdr_tenant++;
            body = strchr(body, '\n');
            *body++ = '\0';
        }
        body_len = size - (size_t)(body - in);
    }

    char tenant[RFQ_TENANT_MAX + 1], id[RFQ_ID_MAX + 1], built[RFQ_KEY_MAX];
    bool subject_ok = false;
    if (subject && rfq_subject_quote_parse(subject, tenant, id) == RFQ_OK) {
        FUZZ_ASSERT(rfq_subject_quote(built, sizeof(built), tenant, id) == RFQ_OK);
        FUZZ_ASSERT(strcmp(built, subject) == 0);
        subject_ok = true;
    }

    check_batch(body, body_len);

    struct rfq_quote q;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_quote_decode(&q, body, body_len, &err);
    if (st != RFQ_OK) {
        fuzz_check_refusal(st, &err);
        goto out;
    }
    check_quote(&q);
    round_trip(&q);
    check_rank(&q, (uint64_t)size * 2654435761u);

    /* What the aggregator stores under: subject tenant + body id, when they agree. */
    if (subject_ok && strcmp(id, q.rfq_id) == 0 &&
        (!hdr_tenant || strcmp(hdr_tenant, tenant) == 0)) {
        char key[RFQ_KEY_MAX];
        FUZZ_ASSERT(rfq_key_rfq(key, sizeof(key), tenant, q.rfq_id) == RFQ_OK);
        FUZZ_ASSERT(rfq_key_quotes(key, sizeof(key), tenant, q.rfq_id) == RFQ_OK);
        FUZZ_ASSERT(rfq_key_rank(key, sizeof(key), tenant, q.rfq_id) == RFQ_OK);
        FUZZ_ASSERT(rfq_subject_event(key, sizeof(key), tenant, q.rfq_id) == RFQ_OK);
    }
out:
    free(in);
    return 0;
}
