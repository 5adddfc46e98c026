/* rfq_msg: JSON wire schema with strict checks; every failure names its field. */
#include "rfq_msg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_strbuf.h"

struct rfq_limits rfq_limits_default(void)
{
    struct rfq_limits l = {
        .max_quotes_default = 5,
        .max_quotes_max = 100,
        .timeout_default_ms = 2000,
        .timeout_min_ms = 100,
        .timeout_max_ms = 60000,
        .passengers_max = 8,
    };
    return l;
}

/* s cut to cap - 1 bytes with every byte outside printable ASCII made '?'. Parser messages
 * quote the input near the fault (jansson may cut a UTF-8 character there) and keys are the
 * client's: the message goes into JSON error bodies, which must be valid UTF-8, and into
 * headers and logs. Returns out. */
static const char *printable(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap; n++)
        out[n] = (unsigned char)s[n] >= 0x20 && (unsigned char)s[n] < 0x7f ? s[n] : '?';
    out[n] = '\0';
    return out;
}

json_t *rfq_json_parse_object(const char *buf, size_t len, size_t max_len, struct rfq_err *err)
{
    if (!buf || len == 0) {
        rfq_err_set(err, RFQ_EINVAL, "", "empty body");
        return NULL;
    }
    if (len > max_len) {
        rfq_err_set(err, RFQ_ETOOBIG, "", "body of %zu bytes exceeds the limit of %zu", len,
                    max_len);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char text[sizeof(jerr.text)];
        rfq_err_set(err, RFQ_EINVAL, "", "invalid JSON at line %d column %d: %s", jerr.line,
                    jerr.column, printable(text, sizeof(text), jerr.text));
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        rfq_err_set(err, RFQ_EINVAL, "", "body must be a JSON object");
        return NULL;
    }
    return root;
}

static bool tag_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RFQ_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

static bool currency_valid(const char *s)
{
    return strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
           s[2] >= 'A' && s[2] <= 'Z';
}

/* Printable ASCII only: reasons end up in logs and dashboards. */
static bool reason_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RFQ_REASON_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* Copy a string member into out. Missing and not required: leaves out unchanged, RFQ_OK. */
static rfq_status get_string(json_t *obj, const char *key, bool required, char *out, size_t cap,
                             bool (*valid)(const char *), struct rfq_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return required ? rfq_err_set(err, RFQ_EINVAL, key, "%s is required", key) : RFQ_OK;
    if (!json_is_string(v))
        return rfq_err_set(err, RFQ_EINVAL, key, "%s must be a string", key);
    const char *s = json_string_value(v);
    if (json_string_length(v) >= cap || strlen(s) != json_string_length(v) || !valid(s))
        return rfq_err_set(err, RFQ_EINVAL, key, "%s has an invalid value", key);
    memcpy(out, s, strlen(s) + 1);
    return RFQ_OK;
}

/* Read an integer member within [lo, hi]. Missing and not required: *out unchanged. */
static rfq_status get_int(json_t *obj, const char *key, bool required, int64_t lo, int64_t hi,
                          int64_t *out, struct rfq_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return required ? rfq_err_set(err, RFQ_EINVAL, key, "%s is required", key) : RFQ_OK;
    if (!json_is_integer(v))
        return rfq_err_set(err, RFQ_EINVAL, key, "%s must be an integer", key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return rfq_err_set(err, RFQ_EINVAL, key, "%s must be between %lld and %lld", key,
                           (long long)lo, (long long)hi);
    *out = (int64_t)x;
    return RFQ_OK;
}

static rfq_status get_point(json_t *obj, const char *key, struct rfq_point *out,
                            struct rfq_err *err)
{
    json_t *p = json_object_get(obj, key);
    if (!p)
        return rfq_err_set(err, RFQ_EINVAL, key, "%s is required", key);
    if (!json_is_object(p) || json_object_size(p) != 2)
        return rfq_err_set(err, RFQ_EINVAL, key, "%s must be an object {\"lat\",\"lon\"}", key);
    json_t *lat = json_object_get(p, "lat"), *lon = json_object_get(p, "lon");
    if (!json_is_number(lat) || !json_is_number(lon))
        return rfq_err_set(err, RFQ_EINVAL, key, "%s.lat and %s.lon must be numbers", key, key);
    out->lat = json_number_value(lat);
    out->lon = json_number_value(lon);
    if (!isfinite(out->lat) || !isfinite(out->lon) || out->lat < -90 || out->lat > 90 ||
        out->lon < -180 || out->lon > 180)
        return rfq_err_set(err, RFQ_EINVAL, key, "%s is outside lat -90..90, lon -180..180", key);
    return RFQ_OK;
}

/* Read an optional array of distinct tags into tags/n. */
static rfq_status get_tags(json_t *obj, const char *key, char tags[][RFQ_TAG_MAX + 1], int *n,
                           struct rfq_err *err)
{
    *n = 0;
    json_t *arr = json_object_get(obj, key);
    if (!arr)
        return RFQ_OK;
    if (!json_is_array(arr) || json_array_size(arr) > RFQ_TAGS_MAX)
        return rfq_err_set(err, RFQ_EINVAL, key, "%s must be an array of at most %d tags", key,
                           RFQ_TAGS_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v) || !tag_valid(s))
            return rfq_err_set(err, RFQ_EINVAL, key, "%s[%zu] must match [a-z0-9_]{1,32}", key, i);
        for (int j = 0; j < *n; j++)
            if (strcmp(tags[j], s) == 0)
                return rfq_err_set(err, RFQ_EINVAL, key, "%s[%zu] repeats \"%s\"", key, i, s);
        memcpy(tags[*n], s, strlen(s) + 1);
        (*n)++;
    }
    return RFQ_OK;
}

static rfq_status only_known_keys(json_t *obj, const char *const *known, struct rfq_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || strcmp(*k, key) == 0;
        if (!ok) {
            char name[41];
            return rfq_err_set(err, RFQ_EINVAL, "", "unknown field \"%s\"",
                               printable(name, sizeof(name), key));
        }
    }
    return RFQ_OK;
}

/* Shared by submit and request decoding: the body fields. strict refuses unknown keys. */
static rfq_status decode_body(json_t *root, struct rfq_submit *out, const struct rfq_limits *lim,
                              bool strict, struct rfq_err *err)
{
    static const char *const known[] = {"region",     "pickup",   "dropoff",
                                        "passengers", "wants",    "max_quotes",
                                        "timeout_ms", "currency", NULL};
    rfq_status st;
    int64_t v;
    memset(out, 0, sizeof(*out));
    if (strict && (st = only_known_keys(root, known, err)) != RFQ_OK)
        return st;
    if ((st = get_string(root, "region", true, out->region, sizeof(out->region), rfq_region_valid,
                         err)) != RFQ_OK)
        return st;
    if ((st = get_point(root, "pickup", &out->pickup, err)) != RFQ_OK ||
        (st = get_point(root, "dropoff", &out->dropoff, err)) != RFQ_OK)
        return st;
    if ((st = get_int(root, "passengers", true, 1, lim->passengers_max, &v, err)) != RFQ_OK)
        return st;
    out->passengers = (int)v;
    if ((st = get_tags(root, "wants", out->wants, &out->n_wants, err)) != RFQ_OK)
        return st;
    v = lim->max_quotes_default;
    if ((st = get_int(root, "max_quotes", false, 1, lim->max_quotes_max, &v, err)) != RFQ_OK)
        return st;
    out->max_quotes = (int)v;
    v = lim->timeout_default_ms;
    if ((st = get_int(root, "timeout_ms", false, lim->timeout_min_ms, lim->timeout_max_ms, &v,
                      err)) != RFQ_OK)
        return st;
    out->timeout_ms = (int)v;
    memcpy(out->currency, "USD", 4);
    return get_string(root, "currency", false, out->currency, sizeof(out->currency), currency_valid,
                      err);
}

rfq_status rfq_submit_decode(struct rfq_submit *out, const char *buf, size_t len,
                             const struct rfq_limits *lim, struct rfq_err *err)
{
    json_t *root = rfq_json_parse_object(buf, len, RFQ_BODY_MAX, err);
    if (!root)
        return len > RFQ_BODY_MAX ? RFQ_ETOOBIG : RFQ_EINVAL;
    rfq_status st = decode_body(root, out, lim, true, err);
    json_decref(root);
    return st;
}

static json_t *point_json(const struct rfq_point *p)
{
    return json_pack("{s:f,s:f}", "lat", p->lat, "lon", p->lon);
}

static json_t *tags_json(const char tags[][RFQ_TAG_MAX + 1], int n)
{
    json_t *arr = json_array();
    for (int i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_string(tags[i]));
    return arr;
}

json_t *rfq_request_to_json(const struct rfq_request *r)
{
    const struct rfq_submit *b = &r->body;
    return json_pack("{s:s,s:s,s:I,s:I,s:s,s:o,s:o,s:i,s:o,s:i,s:s}", "rfq_id", r->rfq_id, "tenant",
                     r->tenant, "created_ms", (json_int_t)r->created_ms, "deadline_ms",
                     (json_int_t)r->deadline_ms, "region", b->region, "pickup",
                     point_json(&b->pickup), "dropoff", point_json(&b->dropoff), "passengers",
                     b->passengers, "wants", tags_json(b->wants, b->n_wants), "max_quotes",
                     b->max_quotes, "currency", b->currency);
}

/* Serialize a JSON object compactly into a new malloc'd string; consumes j. */
static rfq_status dump_owned(json_t *j, char **out, size_t *out_len)
{
    if (!j)
        return RFQ_ENOMEM;
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!*out)
        return RFQ_ENOMEM;
    if (out_len)
        *out_len = strlen(*out);
    return RFQ_OK;
}

rfq_status rfq_request_encode(const struct rfq_request *req, char **out, size_t *out_len)
{
    return dump_owned(rfq_request_to_json(req), out, out_len);
}

rfq_status rfq_request_decode(struct rfq_request *out, const char *buf, size_t len,
                              struct rfq_err *err)
{
    json_t *root = rfq_json_parse_object(buf, len, RFQ_BODY_MAX, err);
    if (!root)
        return len > RFQ_BODY_MAX ? RFQ_ETOOBIG : RFQ_EINVAL;
    memset(out, 0, sizeof(*out));
    /* Responders accept what any engine version may send: wide limits, unknown keys ignored. */
    struct rfq_limits wide = {1, 1000, 1, 1, 3600000, 64};
    rfq_status st = decode_body(root, &out->body, &wide, false, err);
    int64_t created = 0, deadline = 0;
    if (st == RFQ_OK)
        st = get_string(root, "rfq_id", true, out->rfq_id, sizeof(out->rfq_id), rfq_ident_valid,
                        err);
    if (st == RFQ_OK)
        st = get_string(root, "tenant", true, out->tenant, sizeof(out->tenant), rfq_tenant_valid,
                        err);
    if (st == RFQ_OK)
        st = get_int(root, "created_ms", true, 0, RFQ_TIME_MAX_MS, &created, err);
    if (st == RFQ_OK)
        st = get_int(root, "deadline_ms", true, 0, RFQ_TIME_MAX_MS, &deadline, err);
    out->created_ms = created;
    out->deadline_ms = deadline;
    json_decref(root);
    return st;
}

json_t *rfq_quote_to_json(const struct rfq_quote *q)
{
    if (q->decline)
        return json_pack("{s:s,s:s,s:s}", "rfq_id", q->rfq_id, "responder_id", q->responder_id,
                         "decline", q->decline_reason);
    json_t *j =
        json_pack("{s:s,s:s,s:{s:I,s:s},s:i,s:o}", "rfq_id", q->rfq_id, "responder_id",
                  q->responder_id, "price", "amount_minor", (json_int_t)q->amount_minor, "currency",
                  q->currency, "eta_s", q->eta_s, "perks", tags_json(q->perks, q->n_perks));
    if (j && q->valid_until_ms)
        json_object_set_new(j, "valid_until_ms", json_integer(q->valid_until_ms));
    return j;
}

/* The quote encoder writes into an rfq_strbuf: every quote is encoded twice on its way
 * (responder, aggregator), and building a jansson tree to dump it cost more than the rest of
 * both. */
static void sb_str(struct rfq_strbuf *b, const char *s)
{
    rfq_strbuf_put(b, s, strlen(s));
}

static void sb_int(struct rfq_strbuf *b, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%lld", v);
    rfq_strbuf_put(b, num, (size_t)n);
}

/* The escape of c inside a JSON string, as jansson writes it (esc holds \u00XX forms). */
static const char *json_escape(unsigned char c, char esc[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\t':
        return "\\t";
    case '\r':
        return "\\r";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        snprintf(esc, 8, "\\u%04X", c);
        return esc;
    }
}

/* A JSON string: quote, backslash and control characters escaped, everything else as is. */
static void sb_json_string(struct rfq_strbuf *b, const char *s)
{
    rfq_strbuf_put(b, "\"", 1);
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c && c != '"' && c != '\\' && c >= 0x20)
            continue;
        rfq_strbuf_put(b, run, (size_t)(s - run));
        if (!c)
            break;
        char esc[8];
        sb_str(b, json_escape(c, esc));
        run = s + 1;
    }
    rfq_strbuf_put(b, "\"", 1);
}

rfq_status rfq_quote_encode(const struct rfq_quote *q, char **out, size_t *out_len)
{
    struct rfq_strbuf b = {0};
    sb_str(&b, "{\"rfq_id\":");
    sb_json_string(&b, q->rfq_id);
    sb_str(&b, ",\"responder_id\":");
    sb_json_string(&b, q->responder_id);
    if (q->decline) {
        sb_str(&b, ",\"decline\":");
        sb_json_string(&b, q->decline_reason);
    } else {
        sb_str(&b, ",\"price\":{\"amount_minor\":");
        sb_int(&b, (long long)q->amount_minor);
        sb_str(&b, ",\"currency\":");
        sb_json_string(&b, q->currency);
        sb_str(&b, "},\"eta_s\":");
        sb_int(&b, q->eta_s);
        sb_str(&b, ",\"perks\":[");
        for (int i = 0; i < q->n_perks && i < RFQ_TAGS_MAX; i++) {
            if (i)
                rfq_strbuf_put(&b, ",", 1);
            sb_json_string(&b, q->perks[i]);
        }
        rfq_strbuf_put(&b, "]", 1);
        if (q->valid_until_ms) {
            sb_str(&b, ",\"valid_until_ms\":");
            sb_int(&b, (long long)q->valid_until_ms);
        }
    }
    rfq_strbuf_put(&b, "}", 1);
    if (b.failed) {
        free(b.p);
        return RFQ_ENOMEM;
    }
    *out = b.p;
    if (out_len)
        *out_len = b.len;
    return RFQ_OK;
}

#define RFQ_PRICE_MAX 1000000000000LL /* 10^12 minor units: far above any ride */

rfq_status rfq_quote_decode(struct rfq_quote *out, const char *buf, size_t len, struct rfq_err *err)
{
    json_t *root = rfq_json_parse_object(buf, len, RFQ_BODY_MAX, err);
    if (!root)
        return len > RFQ_BODY_MAX ? RFQ_ETOOBIG : RFQ_EINVAL;
    rfq_status st = rfq_quote_from_json(out, root, err);
    json_decref(root);
    return st;
}

rfq_status rfq_quote_from_json(struct rfq_quote *out, json_t *root, struct rfq_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(root))
        return rfq_err_set(err, RFQ_EINVAL, "", "a quote must be a JSON object");
    rfq_status st;
    int64_t v = 0;
    if ((st = get_string(root, "rfq_id", true, out->rfq_id, sizeof(out->rfq_id), rfq_ident_valid,
                         err)) != RFQ_OK ||
        (st = get_string(root, "responder_id", true, out->responder_id, sizeof(out->responder_id),
                         rfq_ident_valid, err)) != RFQ_OK)
        goto out;
    if (json_object_get(root, "decline")) {
        if (json_object_get(root, "price")) {
            st = rfq_err_set(err, RFQ_EINVAL, "decline", "a quote cannot both decline and price");
            goto out;
        }
        out->decline = true;
        st = get_string(root, "decline", true, out->decline_reason, sizeof(out->decline_reason),
                        reason_valid, err);
        goto out;
    }
    json_t *price = json_object_get(root, "price");
    if (!json_is_object(price)) {
        st = rfq_err_set(err, RFQ_EINVAL, "price", "price must be an object");
        goto out;
    }
    if ((st = get_int(price, "amount_minor", true, 0, RFQ_PRICE_MAX, &out->amount_minor, err)) !=
            RFQ_OK ||
        (st = get_string(price, "currency", true, out->currency, sizeof(out->currency),
                         currency_valid, err)) != RFQ_OK)
        goto out;
    if ((st = get_int(root, "eta_s", true, 0, 86400, &v, err)) != RFQ_OK)
        goto out;
    out->eta_s = (int)v;
    if ((st = get_tags(root, "perks", out->perks, &out->n_perks, err)) != RFQ_OK)
        goto out;
    st = get_int(root, "valid_until_ms", false, 0, RFQ_TIME_MAX_MS, &out->valid_until_ms, err);
out:
    return st;
}

rfq_status rfq_quote_check(const struct rfq_quote *q, struct rfq_err *err)
{
    if (!rfq_ident_valid(q->rfq_id))
        return rfq_err_set(err, RFQ_EINVAL, "rfq_id", "rfq_id has an invalid value");
    if (!rfq_ident_valid(q->responder_id))
        return rfq_err_set(err, RFQ_EINVAL, "responder_id", "responder_id has an invalid value");
    if (q->decline)
        return reason_valid(q->decline_reason)
                   ? RFQ_OK
                   : rfq_err_set(err, RFQ_EINVAL, "decline", "decline has an invalid value");
    if (q->amount_minor < 0 || q->amount_minor > RFQ_PRICE_MAX)
        return rfq_err_set(err, RFQ_EINVAL, "amount_minor", "amount_minor out of range");
    if (!currency_valid(q->currency))
        return rfq_err_set(err, RFQ_EINVAL, "currency", "currency has an invalid value");
    if (q->eta_s < 0 || q->eta_s > 86400)
        return rfq_err_set(err, RFQ_EINVAL, "eta_s", "eta_s out of range");
    if (q->n_perks < 0 || q->n_perks > RFQ_TAGS_MAX)
        return rfq_err_set(err, RFQ_EINVAL, "perks", "perks must be at most %d tags", RFQ_TAGS_MAX);
    for (int i = 0; i < q->n_perks; i++) {
        if (!tag_valid(q->perks[i]))
            return rfq_err_set(err, RFQ_EINVAL, "perks", "perks[%d] must match [a-z0-9_]{1,32}", i);
        for (int j = 0; j < i; j++)
            if (strcmp(q->perks[j], q->perks[i]) == 0)
                return rfq_err_set(err, RFQ_EINVAL, "perks", "perks[%d] repeats \"%s\"", i,
                                   q->perks[i]);
    }
    if (q->valid_until_ms < 0 || q->valid_until_ms > RFQ_TIME_MAX_MS)
        return rfq_err_set(err, RFQ_EINVAL, "valid_until_ms", "valid_until_ms out of range");
    return RFQ_OK;
}

rfq_status rfq_rank_member(char *out, size_t cap, const struct rfq_quote *q, uint64_t arrival)
{
    if (q->decline || q->amount_minor < 0 || !rfq_ident_valid(q->responder_id))
        return RFQ_EINVAL;
    int n = snprintf(out, cap, "%016lld|%06d|%020llu|%s", (long long)q->amount_minor, q->eta_s,
                     (unsigned long long)arrival, q->responder_id);
    return n < 0 || (size_t)n >= cap ? RFQ_ETOOBIG : RFQ_OK;
}

const char *rfq_rank_member_responder(const char *member)
{
    const char *bar = member ? strrchr(member, '|') : NULL;
    return bar && bar[1] ? bar + 1 : NULL;
}
