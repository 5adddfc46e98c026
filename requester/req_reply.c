/* req_reply: answers and JSON error bodies. */
#include "req_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void req_reply_init(struct req_reply *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 500;
}

void req_reply_clear(struct req_reply *r)
{
    free(r->body);
    req_reply_init(r);
}

/* The last resort when even an error body cannot be allocated. */
static void reply_oom(struct req_reply *r)
{
    static const char oom[] = "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";
    free(r->body);
    r->status = 500;
    r->body = malloc(sizeof(oom));
    r->body_len = r->body ? sizeof(oom) - 1 : 0;
    if (r->body)
        memcpy(r->body, oom, sizeof(oom));
}

void req_reply_json(struct req_reply *r, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        reply_oom(r);
        return;
    }
    free(r->body);
    r->status = status;
    r->body = text;
    r->body_len = strlen(text);
}

const char *req_error_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 413:
        return "payload_too_large";
    case 415:
        return "unsupported_media_type";
    case 429:
        return "rate_limited";
    case 503:
        return "unavailable";
    default:
        return "internal";
    }
}

int req_http_status_of(rfq_status st)
{
    switch (st) {
    case RFQ_OK:
        return 200;
    case RFQ_EINVAL:
    case RFQ_EPROTO:
        return 400;
    case RFQ_EAUTH:
        return 401;
    case RFQ_ENOTFOUND:
        return 404;
    case RFQ_ETOOBIG:
        return 413;
    case RFQ_ETIMEOUT:
    case RFQ_ENATS:
    case RFQ_EREDIS:
        return 503;
    default:
        return 500;
    }
}

void req_reply_error(struct req_reply *r, int status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    req_reply_json(
        r, status,
        json_pack("{s:{s:s,s:s}}", "error", "code", req_error_code(status), "message", msg));
    if (r->status == 401 && !req_reply_header_get(r, "WWW-Authenticate"))
        req_reply_header(r, "WWW-Authenticate", "Bearer realm=\"rfq\"");
}

void req_reply_header(struct req_reply *r, const char *name, const char *fmt, ...)
{
    if (r->n_headers >= REQ_REPLY_HEADERS_MAX)
        return;
    struct req_header *h = &r->headers[r->n_headers++];
    snprintf(h->name, sizeof(h->name), "%s", name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->value, sizeof(h->value), fmt, ap);
    va_end(ap);
    for (char *p = h->value; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
}

const char *req_reply_header_get(const struct req_reply *r, const char *name)
{
    for (int i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

json_t *req_links_json(const char *rfq_id)
{
    char self[128], quotes[128], events[128];
    snprintf(self, sizeof(self), "/v1/rfqs/%.64s", rfq_id);
    snprintf(quotes, sizeof(quotes), "/v1/rfqs/%.64s/quotes", rfq_id);
    snprintf(events, sizeof(events), "/v1/rfqs/%.64s/events", rfq_id);
    return json_pack("{s:s,s:s,s:s}", "self", self, "quotes", quotes, "events", events);
}
