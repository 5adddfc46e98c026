/* fuzz_msg: checks on decoded wire messages shared by the submit, request and quote targets. */
#ifndef FUZZ_MSG_H
#define FUZZ_MSG_H

#include <math.h>
#include <stdbool.h>

#include <jansson.h>

#include "fuzz_util.h"
#include "rfq_msg.h"

/* A refusal must say why, in text that fits a JSON error body: the requester sends it to the
 * client as {"error":{"message":...}}, and jansson refuses a string that is not UTF-8. */
static inline void fuzz_check_refusal(rfq_status st, const struct rfq_err *err)
{
    FUZZ_ASSERT(st == RFQ_EINVAL || st == RFQ_ETOOBIG);
    FUZZ_ASSERT(memchr(err->message, '\0', sizeof(err->message)) != NULL);
    FUZZ_ASSERT(memchr(err->field, '\0', sizeof(err->field)) != NULL);
    FUZZ_ASSERT(err->message[0] != '\0');
    json_t *m = json_string(err->message), *f = json_string(err->field);
    FUZZ_ASSERT(m != NULL);
    FUZZ_ASSERT(f != NULL);
    json_decref(m);
    json_decref(f);
}

/* Same value, bit for bit where it matters: -0.0 and 0.0 are kept apart. */
static inline bool fuzz_double_same(double a, double b)
{
    return a == b && signbit(a) == signbit(b);
}

static inline bool fuzz_tag_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RFQ_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* Tags are distinct and well-formed. */
static inline bool fuzz_tags_ok(const char tags[][RFQ_TAG_MAX + 1], int n)
{
    if (n < 0 || n > RFQ_TAGS_MAX)
        return false;
    for (int i = 0; i < n; i++) {
        if (!fuzz_tag_ok(tags[i]))
            return false;
        for (int j = 0; j < i; j++)
            if (strcmp(tags[i], tags[j]) == 0)
                return false;
    }
    return true;
}

static inline bool fuzz_currency_ok(const char *c)
{
    return strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z' &&
           c[2] >= 'A' && c[2] <= 'Z';
}

/* Every field of a decoded body is within lim (the request decoder's wide limits or the
 * submit defaults). */
static inline void fuzz_check_body(const struct rfq_submit *s, const struct rfq_limits *lim)
{
    FUZZ_ASSERT(rfq_region_valid(s->region));
    FUZZ_ASSERT(isfinite(s->pickup.lat) && fabs(s->pickup.lat) <= 90);
    FUZZ_ASSERT(isfinite(s->pickup.lon) && fabs(s->pickup.lon) <= 180);
    FUZZ_ASSERT(isfinite(s->dropoff.lat) && fabs(s->dropoff.lat) <= 90);
    FUZZ_ASSERT(isfinite(s->dropoff.lon) && fabs(s->dropoff.lon) <= 180);
    FUZZ_ASSERT(s->passengers >= 1 && s->passengers <= lim->passengers_max);
    FUZZ_ASSERT(fuzz_tags_ok(s->wants, s->n_wants));
    FUZZ_ASSERT(s->max_quotes >= 1 && s->max_quotes <= lim->max_quotes_max);
    FUZZ_ASSERT(s->timeout_ms >= lim->timeout_min_ms && s->timeout_ms <= lim->timeout_max_ms);
    FUZZ_ASSERT(fuzz_currency_ok(s->currency));
}

/* Field-by-field equality of two bodies; the timeout only when with_timeout (the RFQ sent to
 * responders carries a deadline instead). */
static inline bool fuzz_body_same(const struct rfq_submit *a, const struct rfq_submit *b,
                                  bool with_timeout)
{
    if (strcmp(a->region, b->region) != 0 || !fuzz_double_same(a->pickup.lat, b->pickup.lat) ||
        !fuzz_double_same(a->pickup.lon, b->pickup.lon) ||
        !fuzz_double_same(a->dropoff.lat, b->dropoff.lat) ||
        !fuzz_double_same(a->dropoff.lon, b->dropoff.lon) || a->passengers != b->passengers ||
        a->n_wants != b->n_wants || a->max_quotes != b->max_quotes ||
        strcmp(a->currency, b->currency) != 0 || (with_timeout && a->timeout_ms != b->timeout_ms))
        return false;
    for (int i = 0; i < a->n_wants; i++)
        if (strcmp(a->wants[i], b->wants[i]) != 0)
            return false;
    return true;
}

/* encode -> decode gives back the request, and encoding that again gives the same bytes. */
static inline void fuzz_request_round_trip(const struct rfq_request *r)
{
    char *enc = NULL, *enc2 = NULL;
    size_t enc_len = 0, enc2_len = 0;
    struct rfq_request back;
    struct rfq_err err = {{0}, {0}};
    FUZZ_ASSERT(rfq_request_encode(r, &enc, &enc_len) == RFQ_OK);
    FUZZ_ASSERT(enc_len == strlen(enc));
    rfq_status st = rfq_request_decode(&back, enc, enc_len, &err);
    if (st != RFQ_OK)
        fprintf(stderr, "re-decode failed: %s: %s\n%s\n", err.field, err.message, enc);
    FUZZ_ASSERT(st == RFQ_OK);
    FUZZ_ASSERT(strcmp(back.rfq_id, r->rfq_id) == 0);
    FUZZ_ASSERT(strcmp(back.tenant, r->tenant) == 0);
    FUZZ_ASSERT(back.created_ms == r->created_ms && back.deadline_ms == r->deadline_ms);
    FUZZ_ASSERT(fuzz_body_same(&back.body, &r->body, false));
    FUZZ_ASSERT(rfq_request_encode(&back, &enc2, &enc2_len) == RFQ_OK);
    FUZZ_ASSERT(enc2_len == enc_len && memcmp(enc, enc2, enc_len) == 0);
    free(enc);
    free(enc2);
}

#endif
