/* req_route: the API's path table. */
#include "req_route.h"

#include <string.h>
#include <strings.h>

enum req_method req_method_parse(const char *method)
{
    if (!method)
        return REQ_METHOD_OTHER;
    if (strcmp(method, "GET") == 0)
        return REQ_METHOD_GET;
    if (strcmp(method, "HEAD") == 0)
        return REQ_METHOD_HEAD;
    if (strcmp(method, "POST") == 0)
        return REQ_METHOD_POST;
    return REQ_METHOD_OTHER;
}

/* Copy the id segment [s, s+n) into out when it is a valid id. */
static int take_id(struct req_route *out, const char *s, size_t n)
{
    if (n == 0 || n > RFQ_ID_MAX)
        return 0;
    memcpy(out->rfq_id, s, n);
    out->rfq_id[n] = '\0';
    if (!rfq_ident_valid(out->rfq_id)) {
        out->rfq_id[0] = '\0';
        return 0;
    }
    return 1;
}

/* Which route the path names, ignoring the method. */
static enum req_route_id match_path(struct req_route *out, const char *path)
{
    static const char rfqs[] = "/v1/rfqs";
    if (strcmp(path, "/healthz") == 0)
        return REQ_ROUTE_HEALTH;
    if (strcmp(path, "/v1/usage") == 0)
        return REQ_ROUTE_USAGE;
    if (strncmp(path, rfqs, sizeof(rfqs) - 1) != 0)
        return REQ_ROUTE_NONE;
    const char *rest = path + sizeof(rfqs) - 1;
    if (*rest == '\0')
        return REQ_ROUTE_RFQS;
    if (*rest != '/')
        return REQ_ROUTE_NONE;
    rest++;
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    if (!take_id(out, rest, n))
        return REQ_ROUTE_NONE;
    if (!slash)
        return REQ_ROUTE_RFQ;
    if (strcmp(slash, "/quotes") == 0)
        return REQ_ROUTE_QUOTES;
    if (strcmp(slash, "/events") == 0)
        return REQ_ROUTE_EVENTS;
    out->rfq_id[0] = '\0';
    return REQ_ROUTE_NONE;
}

void req_route_match(struct req_route *out, const char *method, const char *path)
{
    memset(out, 0, sizeof(*out));
    out->method = req_method_parse(method);
    out->id = path ? match_path(out, path) : REQ_ROUTE_NONE;
    switch (out->id) {
    case REQ_ROUTE_NONE:
        out->status = 404;
        return;
    case REQ_ROUTE_RFQS:
        out->allow = "GET, HEAD, POST";
        break;
    case REQ_ROUTE_EVENTS:
        /* A stream has no meaningful HEAD answer. */
        out->allow = "GET";
        out->status = out->method == REQ_METHOD_GET ? 0 : 405;
        return;
    default:
        out->allow = "GET, HEAD";
        break;
    }
    int reads = out->method == REQ_METHOD_GET || out->method == REQ_METHOD_HEAD;
    int submit = out->method == REQ_METHOD_POST && out->id == REQ_ROUTE_RFQS;
    out->status = reads || submit ? 0 : 405;
}

bool req_content_type_is_json(const char *v)
{
    static const char json[] = "application/json";
    if (!v)
        return false;
    while (*v == ' ' || *v == '\t')
        v++;
    if (strncasecmp(v, json, sizeof(json) - 1) != 0)
        return false;
    v += sizeof(json) - 1;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v == '\0' || *v == ';';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

size_t req_url_unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r;) {
        int hi = r[0] == '%' ? hex_value(r[1]) : -1;
        int lo = hi >= 0 ? hex_value(r[2]) : -1;
        if (lo >= 0 && (hi | lo) != 0) {
            *w++ = (char)(hi * 16 + lo);
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}
