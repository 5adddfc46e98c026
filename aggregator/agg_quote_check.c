/* agg_quote_check: subject, body and header checks of incoming quotes, without I/O. */
#include "agg_quote_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "rfq_quote_batch.h"

const char *agg_reason_str(agg_reason r)
{
    switch (r) {
    case AGG_REASON_NONE:
        return "ok";
    case AGG_REASON_BAD_JSON:
        return "bad_json";
    case AGG_REASON_SCHEMA:
        return "schema";
    case AGG_REASON_SUBJECT:
        return "subject";
    case AGG_REASON_MISMATCH:
        return "mismatch";
    case AGG_REASON_UNKNOWN_RFQ:
        return "unknown_rfq";
    case AGG_REASON_LATE:
        return "late";
    case AGG_REASON_CLOSED:
        return "closed";
    case AGG_REASON_CURRENCY:
        return "currency";
    case AGG_REASON_OVERFLOW:
        return "overflow";
    case AGG_REASON_STORE:
        return "store";
    case AGG_REASON_OVERSIZE:
        return "oversize";
    case AGG_REASON_DUPLICATE:
        return "duplicate";
    }
    return "unknown";
}

static agg_reason refuse(agg_reason r, char *detail, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write the detail (when the caller wants it) and return r, so checks read as one line. */
static agg_reason refuse(agg_reason r, char *detail, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (detail && cap)
        vsnprintf(detail, cap, fmt, ap);
    va_end(ap);
    return r;
}

/* Decoding failed: was the body not even a JSON object (bad_json) or a JSON object that is
 * not a quote (schema)? Only runs on the failure path, so the second parse costs nothing in
 * the normal case. */
static agg_reason classify_decode_failure(const char *body, size_t len)
{
    if (!body || len == 0 || len > (size_t)RFQ_BODY_MAX)
        return AGG_REASON_BAD_JSON;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    agg_reason r = json_is_object(root) ? AGG_REASON_SCHEMA : AGG_REASON_BAD_JSON;
    json_decref(root);
    return r;
}

/* Header values are printed into details: keep them short there. */
#define HDR_SHOWN 70

/* What every quote message is checked for first: the subject names tenant and RFQ (out gets
 * them, cleared otherwise), and the body (`what`) is at most max_len bytes. */
static agg_reason check_envelope(const struct agg_quote_in *in, struct agg_checked_quote *out,
                                 char *detail, size_t cap, const char *what, int max_len)
{
    memset(out, 0, sizeof(*out));
    if (detail && cap)
        detail[0] = '\0';
    if (rfq_subject_quote_parse(in->subject, out->tenant, out->rfq_id) != RFQ_OK) {
        out->tenant[0] = '\0';
        out->rfq_id[0] = '\0';
        return refuse(AGG_REASON_SUBJECT, detail, cap,
                      "subject is not rfq.v1.quote.<tenant>.<rfq_id>");
    }
    if (in->len > (size_t)max_len)
        return refuse(AGG_REASON_OVERSIZE, detail, cap, "%s is %zu bytes, over the %d-byte limit",
                      what, in->len, max_len);
    return AGG_REASON_NONE;
}

/* The Rfq-Tenant and Rfq-Id headers against the subject: shared by single quotes and batches. */
static agg_reason check_headers(const struct agg_quote_in *in, const struct agg_checked_quote *out,
                                char *detail, size_t cap)
{
    if (!in->hdr_tenant)
        return refuse(AGG_REASON_MISMATCH, detail, cap, "Rfq-Tenant header missing");
    if (strcmp(in->hdr_tenant, out->tenant) != 0)
        return refuse(AGG_REASON_MISMATCH, detail, cap,
                      "Rfq-Tenant header %.*s differs from subject tenant %s", HDR_SHOWN,
                      in->hdr_tenant, out->tenant);
    if (in->hdr_rfq_id && strcmp(in->hdr_rfq_id, out->rfq_id) != 0)
        return refuse(AGG_REASON_MISMATCH, detail, cap, "Rfq-Id header %.*s differs from subject",
                      HDR_SHOWN, in->hdr_rfq_id);
    return AGG_REASON_NONE;
}

agg_reason agg_quote_check(const struct agg_quote_in *in, struct agg_checked_quote *out,
                           char *detail, size_t cap)
{
    /* Not even parsed when too big: a quote is a few hundred bytes. */
    agg_reason r = check_envelope(in, out, detail, cap, "body", AGG_QUOTE_MAX);
    if (r != AGG_REASON_NONE)
        return r;

    struct rfq_err err = {{0}, {0}};
    if (rfq_quote_decode(&out->quote, in->body, in->len, &err) != RFQ_OK) {
        return refuse(classify_decode_failure(in->body, in->len), detail, cap, "%s%s%s", err.field,
                      err.field[0] ? ": " : "", err.message[0] ? err.message : "invalid quote");
    }

    if (strcmp(out->quote.rfq_id, out->rfq_id) != 0)
        return refuse(AGG_REASON_MISMATCH, detail, cap, "body rfq_id %s differs from subject %s",
                      out->quote.rfq_id, out->rfq_id);
    r = check_headers(in, out, detail, cap);
    if (r != AGG_REASON_NONE)
        return r;
    if (in->hdr_responder && strcmp(in->hdr_responder, out->quote.responder_id) != 0)
        return refuse(AGG_REASON_MISMATCH, detail, cap,
                      "Rfq-Responder header %.*s differs from body responder_id %s", HDR_SHOWN,
                      in->hdr_responder, out->quote.responder_id);
    return AGG_REASON_NONE;
}

agg_reason agg_quote_check_batch(const struct agg_quote_in *in, json_t **answers,
                                 struct agg_checked_quote *out, char *detail, size_t cap)
{
    *answers = NULL;
    agg_reason r = check_envelope(in, out, detail, cap, "batch", RFQ_QUOTE_BATCH_BODY_MAX);
    if (r != AGG_REASON_NONE)
        return r;
    struct rfq_err err = {{0}, {0}};
    rfq_status why = RFQ_OK;
    json_t *arr = rfq_quote_batch_parse(in->body, in->len, &why, &err);
    if (!arr)
        return refuse(why == RFQ_EINVAL ? AGG_REASON_BAD_JSON : AGG_REASON_SCHEMA, detail, cap,
                      "%s", err.message);
    r = check_headers(in, out, detail, cap);
    if (r == AGG_REASON_NONE && in->hdr_batch) {
        char want[12];
        snprintf(want, sizeof(want), "%zu", json_array_size(arr));
        if (strcmp(in->hdr_batch, want) != 0)
            r = refuse(AGG_REASON_MISMATCH, detail, cap,
                       "Rfq-Batch header %.*s differs from the %s answers in the body", HDR_SHOWN,
                       in->hdr_batch, want);
    }
    if (r != AGG_REASON_NONE) {
        json_decref(arr);
        return r;
    }
    *answers = arr;
    return AGG_REASON_NONE;
}

agg_reason agg_quote_check_answer(json_t *answer, struct agg_checked_quote *out, char *detail,
                                  size_t cap)
{
    if (detail && cap)
        detail[0] = '\0';
    struct rfq_err err = {{0}, {0}};
    if (rfq_quote_from_json(&out->quote, answer, &err) != RFQ_OK)
        return refuse(AGG_REASON_SCHEMA, detail, cap, "%s%s%s", err.field, err.field[0] ? ": " : "",
                      err.message[0] ? err.message : "invalid quote");
    if (strcmp(out->quote.rfq_id, out->rfq_id) != 0)
        return refuse(AGG_REASON_MISMATCH, detail, cap, "body rfq_id %s differs from subject %s",
                      out->quote.rfq_id, out->rfq_id);
    return AGG_REASON_NONE;
}

void agg_quote_context(const struct agg_quote_in *in, struct agg_checked_quote *out)
{
    if (!out->tenant[0] && in->hdr_tenant && rfq_tenant_valid(in->hdr_tenant))
        snprintf(out->tenant, sizeof(out->tenant), "%s", in->hdr_tenant);
    if (out->rfq_id[0])
        return;
    if (in->hdr_rfq_id && rfq_ident_valid(in->hdr_rfq_id)) {
        snprintf(out->rfq_id, sizeof(out->rfq_id), "%s", in->hdr_rfq_id);
        return;
    }
    if (!in->body || in->len == 0 || in->len > (size_t)AGG_QUOTE_MAX)
        return;
    json_error_t jerr;
    json_t *root = json_loadb(in->body, in->len, JSON_REJECT_DUPLICATES, &jerr);
    const char *id = json_string_value(json_object_get(root, "rfq_id"));
    if (id && rfq_ident_valid(id))
        snprintf(out->rfq_id, sizeof(out->rfq_id), "%s", id);
    json_decref(root);
}
