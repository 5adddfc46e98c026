/* req_sse_buf: SSE framing, output buffer and dedupe for one event stream. */
#include "req_sse_buf.h"

#include <stdlib.h>
#include <string.h>

void req_sse_buf_free(struct req_sse_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

size_t req_sse_buf_pending(const struct req_sse_buf *b)
{
    return b->len - b->off;
}

size_t req_sse_buf_take(struct req_sse_buf *b, char *out, size_t max)
{
    size_t n = req_sse_buf_pending(b);
    if (n > max)
        n = max;
    memcpy(out, b->data + b->off, n);
    b->off += n;
    if (b->off == b->len)
        b->off = b->len = 0;
    return n;
}

/* Append n bytes, compacting taken bytes away first and growing up to the cap. */
static rfq_status buf_append(struct req_sse_buf *b, const char *s, size_t n)
{
    if (b->off) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + n > REQ_SSE_BUF_MAX)
        return RFQ_ETOOBIG;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return RFQ_ENOMEM;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return RFQ_OK;
}

static bool event_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 32)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return false;
    return true;
}

rfq_status req_sse_event(struct req_sse_buf *b, const char *event, json_t *data)
{
    if (!event_name_valid(event))
        return RFQ_EINVAL;
    /* Compact JSON has no raw newline (strings escape it), so one data: line suffices. */
    char *text = json_dumps(data, JSON_COMPACT);
    if (!text)
        return RFQ_ENOMEM;
    size_t before = b->len - b->off;
    rfq_status st = buf_append(b, "event: ", 7);
    if (st == RFQ_OK)
        st = buf_append(b, event, strlen(event));
    if (st == RFQ_OK)
        st = buf_append(b, "\ndata: ", 7);
    if (st == RFQ_OK)
        st = buf_append(b, text, strlen(text));
    if (st == RFQ_OK)
        st = buf_append(b, "\n\n", 2);
    free(text);
    if (st != RFQ_OK)
        b->len = b->off + before; /* never leave half an event */
    return st;
}

rfq_status req_sse_comment(struct req_sse_buf *b, const char *text)
{
    size_t before = b->len - b->off;
    rfq_status st = buf_append(b, ": ", 2);
    if (st == RFQ_OK)
        st = buf_append(b, text, strcspn(text, "\r\n"));
    if (st == RFQ_OK)
        st = buf_append(b, "\n\n", 2);
    if (st != RFQ_OK)
        b->len = b->off + before;
    return st;
}

void req_sse_seen_free(struct req_sse_seen *s)
{
    free(s->ids);
    memset(s, 0, sizeof(*s));
}

bool req_sse_seen_add(struct req_sse_seen *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ids[i], id) == 0)
            return false;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        if (cap > REQ_SSE_SEEN_MAX)
            return true;
        void *ids = realloc(s->ids, cap * sizeof(*s->ids));
        if (!ids)
            return true;
        s->ids = ids;
        s->cap = cap;
    }
    strncpy(s->ids[s->n], id, RFQ_ID_MAX);
    s->ids[s->n][RFQ_ID_MAX] = '\0';
    s->n++;
    return true;
}

/* req_sse_feed; with hold_final a final event is recognised (REQ_SSE_FINAL) but not queued,
 * so that the caller can send the stored state first. One parse either way. */
static enum req_sse_kind feed(struct req_sse_buf *b, struct req_sse_seen *seen, const char *msg,
                              size_t len, bool hold_final)
{
    json_t *ev = json_loadb(msg, len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(ev, "type"));
    enum req_sse_kind kind = REQ_SSE_SKIP;
    if (!json_is_object(ev) || !event_name_valid(type))
        goto out;
    if (strcmp(type, "quote") == 0) {
        const char *resp =
            json_string_value(json_object_get(json_object_get(ev, "quote"), "responder_id"));
        if (!resp || !rfq_ident_valid(resp) || !req_sse_seen_add(seen, resp))
            goto out;
        kind = REQ_SSE_QUOTE;
    } else if (strcmp(type, "completed") == 0 || strcmp(type, "expired") == 0) {
        kind = REQ_SSE_FINAL;
        if (hold_final)
            goto out;
    } else {
        kind = REQ_SSE_OTHER;
    }
    if (req_sse_event(b, type, ev) != RFQ_OK)
        kind = REQ_SSE_SKIP;
out:
    json_decref(ev);
    return kind;
}

enum req_sse_kind req_sse_feed(struct req_sse_buf *b, struct req_sse_seen *seen, const char *msg,
                               size_t len)
{
    return feed(b, seen, msg, len, false);
}

enum req_sse_kind req_sse_feed_hold_final(struct req_sse_buf *b, struct req_sse_seen *seen,
                                          const char *msg, size_t len)
{
    return feed(b, seen, msg, len, true);
}

enum req_sse_kind req_sse_state(struct req_sse_buf *b, struct req_sse_seen *seen,
                                const char *tenant, const char *rfq_id, const char *status,
                                int count, json_t *by_arrival, json_t *best)
{
    size_t i;
    json_t *q;
    json_array_foreach(by_arrival, i, q)
    {
        const char *resp = json_string_value(json_object_get(q, "responder_id"));
        if (!resp || !req_sse_seen_add(seen, resp))
            continue;
        json_t *plain = json_copy(q);
        json_object_del(plain, "rank");
        json_object_del(plain, "arrival");
        json_t *ev = json_pack("{s:s,s:s,s:s,s:i,s:o}", "type", "quote", "rfq_id", rfq_id, "tenant",
                               tenant, "count", (int)i + 1, "quote", plain);
        if (ev)
            req_sse_event(b, "quote", ev);
        json_decref(ev);
    }
    if (strcmp(status, "completed") != 0 && strcmp(status, "expired") != 0)
        return REQ_SSE_SKIP;
    json_t *plain_best = best ? json_copy(best) : NULL;
    json_object_del(plain_best, "rank");
    json_object_del(plain_best, "arrival");
    json_t *ev = json_pack("{s:s,s:s,s:s,s:s,s:i,s:o?}", "type", status, "rfq_id", rfq_id, "tenant",
                           tenant, "status", status, "count", count, "best", plain_best);
    rfq_status st = ev ? req_sse_event(b, status, ev) : RFQ_ENOMEM;
    json_decref(ev);
    return st == RFQ_OK ? REQ_SSE_FINAL : REQ_SSE_SKIP;
}
