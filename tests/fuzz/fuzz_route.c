/* fuzz_route: the requester's HTTP-side parsing, pure parts. Input lines: method, raw URL
 * (path, then an optional ?query of k=v pairs joined by &), Content-Type value, Authorization
 * value. Properties: unescaping never grows a value, never hides a NUL and leaves escape-free
 * text alone; a matched route rebuilds to the exact path with a valid id, its status agrees
 * with its Allow header, and no other path matches; a canonical path built from the input
 * routes back; the bearer parser returns a token68 inside the header that parses back the same
 * when re-wrapped; the Content-Type check accepts exactly application/json with parameters;
 * replies keep client text out of header framing and inside valid JSON. */
#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

#include "fuzz_util.h"
#include <jansson.h>

#include "req_auth.h"
#include "req_reply.h"
#include "req_route.h"

static void check_unescape(char *s)
{
    size_t before = strlen(s);
    bool had_escape = strchr(s, '%') != NULL;
    char *copy = strdup(s);
    FUZZ_ASSERT(copy != NULL);
    size_t n = req_url_unescape(s);
    FUZZ_ASSERT(n == strlen(s)); /* no NUL came out of "%00" */
    FUZZ_ASSERT(n <= before);
    if (!had_escape)
        FUZZ_ASSERT(strcmp(s, copy) == 0);
    /* Each decoded escape takes three bytes down to one. */
    FUZZ_ASSERT((before - n) % 2 == 0);
    free(copy);
}

/* The method appears as a whole item of the Allow list. */
static bool allow_has(const char *allow, const char *method)
{
    size_t n = strlen(method);
    for (const char *p = allow; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, method, n) == 0)
            return true;
        p = end ? end + 2 : p + len;
    }
    return false;
}

static void check_route(const char *method, const char *path)
{
    struct req_route r;
    req_route_match(&r, method, path);
    FUZZ_ASSERT(r.status == 0 || r.status == 404 || r.status == 405);
    if (r.id == REQ_ROUTE_NONE) {
        FUZZ_ASSERT(r.status == 404 && r.allow == NULL && r.rfq_id[0] == '\0');
        return;
    }
    FUZZ_ASSERT(r.allow != NULL);
    FUZZ_ASSERT((r.status == 0) == allow_has(r.allow, method));
    FUZZ_ASSERT(r.method == req_method_parse(method));
    char want[512];
    switch (r.id) {
    case REQ_ROUTE_HEALTH:
        snprintf(want, sizeof(want), "/healthz");
        break;
    case REQ_ROUTE_USAGE:
        snprintf(want, sizeof(want), "/v1/usage");
        break;
    case REQ_ROUTE_RFQS:
        snprintf(want, sizeof(want), "/v1/rfqs");
        break;
    case REQ_ROUTE_RFQ:
        snprintf(want, sizeof(want), "/v1/rfqs/%s", r.rfq_id);
        break;
    case REQ_ROUTE_QUOTES:
        snprintf(want, sizeof(want), "/v1/rfqs/%s/quotes", r.rfq_id);
        break;
    case REQ_ROUTE_EVENTS:
        snprintf(want, sizeof(want), "/v1/rfqs/%s/events", r.rfq_id);
        break;
    default:
        FUZZ_ASSERT(!"unknown route id");
    }
    FUZZ_ASSERT(strcmp(want, path) == 0);
    bool has_id = r.id == REQ_ROUTE_RFQ || r.id == REQ_ROUTE_QUOTES || r.id == REQ_ROUTE_EVENTS;
    FUZZ_ASSERT(has_id ? rfq_ident_valid(r.rfq_id) : r.rfq_id[0] == '\0');
}

/* An id made of the input's id characters routes back to itself on every id path. */
static void check_canonical(const char *s)
{
    char id[RFQ_ID_MAX + 1], path[128];
    size_t n = 0;
    for (; *s && n < RFQ_ID_MAX; s++)
        if (isalnum((unsigned char)*s) || *s == '-' || *s == '_')
            id[n++] = *s;
    id[n] = '\0';
    if (n == 0)
        return;
    static const char *const suffix[] = {"", "/quotes", "/events"};
    static const enum req_route_id ids[] = {REQ_ROUTE_RFQ, REQ_ROUTE_QUOTES, REQ_ROUTE_EVENTS};
    for (int i = 0; i < 3; i++) {
        struct req_route r;
        snprintf(path, sizeof(path), "/v1/rfqs/%s%s", id, suffix[i]);
        req_route_match(&r, "GET", path);
        FUZZ_ASSERT(r.id == ids[i] && r.status == 0 && strcmp(r.rfq_id, id) == 0);
    }
}

static bool token68_char(char c)
{
    return isalnum((unsigned char)c) || strchr("-._~+/", c) != NULL;
}

static void check_bearer(const char *header)
{
    const char *tok = NULL;
    size_t len = 0;
    rfq_status st = req_auth_parse_bearer(header, &tok, &len);
    if (st != RFQ_OK) {
        FUZZ_ASSERT(st == RFQ_EAUTH || st == RFQ_ETOOBIG);
        FUZZ_ASSERT(tok == NULL && len == 0);
        return;
    }
    FUZZ_ASSERT(strncasecmp(header, "Bearer", 6) == 0);
    FUZZ_ASSERT(tok > header + 6 && tok + len <= header + strlen(header));
    FUZZ_ASSERT(len >= 1 && len <= RFQ_JWT_MAX);
    size_t i = 0;
    while (i < len && token68_char(tok[i]))
        i++;
    FUZZ_ASSERT(i >= 1);
    while (i < len && tok[i] == '=')
        i++;
    FUZZ_ASSERT(i == len);
    /* Nothing but blanks around the token. */
    for (const char *p = header + 6; p < tok; p++)
        FUZZ_ASSERT(*p == ' ' || *p == '\t');
    for (const char *p = tok + len; *p; p++)
        FUZZ_ASSERT(*p == ' ' || *p == '\t');

    char *again = malloc(len + 8);
    FUZZ_ASSERT(again != NULL);
    memcpy(again, "Bearer ", 7);
    memcpy(again + 7, tok, len);
    again[len + 7] = '\0';
    const char *tok2 = NULL;
    size_t len2 = 0;
    FUZZ_ASSERT(req_auth_parse_bearer(again, &tok2, &len2) == RFQ_OK);
    FUZZ_ASSERT(len2 == len && memcmp(tok2, tok, len) == 0);
    free(again);
}

/* Answers carry client text (ids in Location, reasons in error bodies): a header never gets a
 * CR or LF, and an error message that is valid UTF-8 gives a 400 whose JSON body holds it. */
static void check_reply(const char *text)
{
    struct req_reply rep;
    req_reply_init(&rep);
    req_reply_header(&rep, "Location", "/v1/rfqs/%s", text);
    const char *v = req_reply_header_get(&rep, "location");
    FUZZ_ASSERT(v && strpbrk(v, "\r\n") == NULL);
    req_reply_error(&rep, 400, "%s", text);
    json_t *want = json_string(text);
    if (want && strlen(text) < 200) {
        FUZZ_ASSERT(rep.status == 400);
        json_t *body = json_loadb(rep.body, rep.body_len, 0, NULL);
        json_t *msg = json_object_get(json_object_get(body, "error"), "message");
        FUZZ_ASSERT(json_equal(msg, want));
        json_decref(body);
    }
    json_decref(want);
    req_reply_clear(&rep);
}

static void check_content_type(const char *v)
{
    bool json = req_content_type_is_json(v);
    const char *p = v + strspn(v, " \t");
    bool model = strncasecmp(p, "application/json", 16) == 0;
    if (model) {
        p += 16;
        p += strspn(p, " \t");
        model = *p == '\0' || *p == ';';
    }
    FUZZ_ASSERT(json == model);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > RFQ_JWT_MAX + 1024)
        return 0;
    char *in = fuzz_strndup(data, size);
    char empty[1] = "";
    char *p[4] = {empty, empty, empty, empty};
    fuzz_split(in, '\n', p, 4);
    const char *method = p[0];
    char *url = p[1];

    /* The server splits the query off before unescaping, as libmicrohttpd does. */
    char *query = strchr(url, '?');
    if (query)
        *query++ = '\0';
    check_unescape(url);
    check_route(method, url);
    check_canonical(url);
    while (query && *query) {
        char *amp = strchr(query, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(query, '=');
        check_unescape(eq ? eq + 1 : query);
        query = amp ? amp + 1 : NULL;
    }

    check_content_type(p[2]);
    check_reply(p[2]);
    check_bearer(p[3]);
    check_bearer(p[0]);
    free(in);
    return 0;
}
