/* ctl_http: the rfqctl HTTP client over libcurl: JSON calls, error reports, SSE streaming. */
#include "ctl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define CTL_BODY_MAX (8u << 20) /* largest answer we buffer; a listing is far smaller */
#define CTL_LINE_MAX (1u << 20) /* longest SSE line we accept */

int ctl_http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void ctl_http_cleanup(void)
{
    curl_global_cleanup();
}

void ctl_response_free(struct ctl_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

bool ctl_response_ok(const struct ctl_response *r)
{
    return r->status >= 200 && r->status < 300;
}

/* Append n bytes to the response body, keeping it NUL-terminated; false past the cap. */
static bool body_append(struct ctl_response *r, const char *p, size_t n)
{
    if (r->len + n > CTL_BODY_MAX)
        return false;
    char *b = realloc(r->body, r->len + n + 1);
    if (!b)
        return false;
    memcpy(b + r->len, p, n);
    r->len += n;
    b[r->len] = '\0';
    r->body = b;
    return true;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    return body_append(arg, p, size * nmemb) ? size * nmemb : 0;
}

/* Keep the Retry-After header (the only one the commands use). */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct ctl_response *r = arg;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";
    if (n > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        size_t vn = n - (sizeof(name) - 1);
        while (vn && isspace((unsigned char)*v))
            v++, vn--;
        while (vn && isspace((unsigned char)v[vn - 1]))
            vn--;
        if (vn >= sizeof(r->retry_after))
            vn = sizeof(r->retry_after) - 1;
        memcpy(r->retry_after, v, vn);
        r->retry_after[vn] = '\0';
    }
    return n;
}

/* A JWT is three base64url segments: anything else (spaces, CR/LF) must not reach a header. */
static bool token_chars_ok(const char *t)
{
    for (; *t; t++)
        if (!isalnum((unsigned char)*t) && *t != '-' && *t != '_' && *t != '.')
            return false;
    return true;
}

/* A configured easy handle for g->api + path with our headers; *hdrs must be freed by the
 * caller (curl_slist_free_all). NULL when the token is unusable (message printed). */
static CURL *easy_for(const struct ctl_global *g, const char *path, const char *accept,
                      bool json_body, struct curl_slist **hdrs, char *errbuf)
{
    if (g->token && *g->token && !token_chars_ok(g->token)) {
        fprintf(stderr, "rfqctl: the token contains characters a JWT cannot have\n");
        return NULL;
    }
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    size_t n = strlen(g->api) + strlen(path) + 1;
    char *url = malloc(n);
    if (!url) {
        curl_easy_cleanup(c);
        return NULL;
    }
    snprintf(url, n, "%s%s", g->api, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    free(url); /* curl copies it */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "rfqctl/" CTL_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    errbuf[0] = '\0';

    char line[8192 + 64];
    *hdrs = NULL;
    snprintf(line, sizeof(line), "Accept: %s", accept);
    *hdrs = curl_slist_append(*hdrs, line);
    if (json_body)
        *hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
    if (g->token && *g->token) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", g->token);
        *hdrs = curl_slist_append(*hdrs, line);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    return c;
}

static int unreachable(const struct ctl_global *g, CURLcode rc, const char *errbuf)
{
    fprintf(stderr, "rfqctl: cannot reach the API at %s: %s\n", g->api,
            errbuf && *errbuf ? errbuf : curl_easy_strerror(rc));
    return CTL_EXIT_UNREACHABLE;
}

int ctl_http_call(const struct ctl_global *g, const char *method, const char *path,
                  const char *body, struct ctl_response *out)
{
    memset(out, 0, sizeof(*out));
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    CURL *c = easy_for(g, path, "application/json", body != NULL, &hdrs, errbuf);
    if (!c)
        return CTL_EXIT_FAIL;
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    int ret = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        if (!out->body)
            body_append(out, "", 0);
    } else {
        snprintf(out->error, sizeof(out->error), "%s", *errbuf ? errbuf : curl_easy_strerror(rc));
        ret = unreachable(g, rc, errbuf);
        ctl_response_free(out);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return ret;
}

int ctl_http_report(const struct ctl_global *g, const char *method, const char *path,
                    const struct ctl_response *r)
{
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    fprintf(stderr, "rfqctl: %s %s: HTTP %ld%s%s%s%s\n", method, path, r->status, code ? " " : "",
            code ? code : "", msg ? ": " : "", msg ? msg : "");
    if (j) {
        char *compact = json_dumps(j, JSON_COMPACT);
        if (compact)
            fprintf(stderr, "%s\n", compact);
        free(compact);
    } else if (r->body && r->len) {
        fprintf(stderr, "%.2048s\n", r->body);
    }
    if (r->status == 401 && (!g->token || !*g->token))
        fprintf(stderr, "rfqctl: no token was sent: pass --token or set RFQ_TOKEN "
                        "(mint one with 'rfqctl token')\n");
    if (r->status == 429 && r->retry_after[0])
        fprintf(stderr, "rfqctl: quota exhausted, retry after %s s\n", r->retry_after);
    json_decref(j);
    return CTL_EXIT_FAIL;
}

json_t *ctl_response_json(const struct ctl_response *r, const char *what)
{
    json_error_t jerr;
    json_t *j = r->body ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
    if (!j)
        fprintf(stderr, "rfqctl: %s: the API answered with invalid JSON (%s)\n", what,
                r->body ? jerr.text : "empty body");
    return j;
}

/* ---- streaming ---- */

struct stream_ctx {
    CURL *curl;
    ctl_line_fn on_line;
    void *arg;
    struct ctl_response *err;
    char *line; /* partial line carried between writes */
    size_t len, cap;
    bool checked; /* status looked at */
    bool stream;  /* 2xx: parse lines; else collect the error body */
    bool stopped; /* on_line asked to stop */
    bool skip_lf; /* previous line ended with CR: a following LF belongs to it */
    bool failed;  /* we aborted on a limit (message printed) */
};

static bool line_push(struct stream_ctx *s, char ch)
{
    if (s->len + 1 >= CTL_LINE_MAX)
        return false;
    if (!s->line || s->len + 1 >= s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        char *p = realloc(s->line, cap);
        if (!p)
            return false;
        s->line = p;
        s->cap = cap;
    }
    s->line[s->len++] = ch;
    s->line[s->len] = '\0';
    return true;
}

/* Split the byte stream into lines ending in LF, CRLF or CR (the SSE rule). */
static size_t on_stream(char *p, size_t size, size_t nmemb, void *arg)
{
    struct stream_ctx *s = arg;
    size_t n = size * nmemb;
    if (!s->checked) {
        long status = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        s->err->status = status;
        s->stream = status >= 200 && status < 300;
        s->checked = true;
    }
    if (!s->stream)
        return body_append(s->err, p, n) ? n : 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (s->skip_lf) {
            s->skip_lf = false;
            if (ch == '\n')
                continue;
        }
        if (ch == '\n' || ch == '\r') {
            s->skip_lf = ch == '\r';
            bool go = s->on_line(s->arg, s->line ? s->line : "", s->len);
            s->len = 0;
            if (s->line)
                s->line[0] = '\0';
            if (!go) {
                s->stopped = true;
                return 0; /* aborts the transfer */
            }
        } else if (!line_push(s, ch)) {
            fprintf(stderr, "rfqctl: event stream line longer than %u bytes\n", CTL_LINE_MAX);
            s->failed = true;
            return 0;
        }
    }
    return n;
}

int ctl_http_stream(const struct ctl_global *g, const char *path, ctl_line_fn on_line, void *arg,
                    struct ctl_response *err_out)
{
    memset(err_out, 0, sizeof(*err_out));
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *hdrs = NULL;
    CURL *c = easy_for(g, path, "text/event-stream", false, &hdrs, errbuf);
    if (!c)
        return CTL_EXIT_FAIL;
    struct stream_ctx s = {.curl = c, .on_line = on_line, .arg = arg, .err = err_out};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    /* No total timeout: streams are long. The server pings every 15 s, so a minute without
     * a byte means the connection is dead. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    CURLcode rc = curl_easy_perform(c);
    int ret = 0;
    if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && s.stopped)) {
        if (!s.checked)
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &err_out->status);
        if (s.stream && s.len && !s.stopped) /* last line without a line ending */
            on_line(arg, s.line, s.len);
        if (!err_out->body)
            body_append(err_out, "", 0);
    } else if (s.failed) {
        ret = CTL_EXIT_FAIL;
    } else if (s.checked) {
        fprintf(stderr, "rfqctl: the event stream broke off: %s\n",
                *errbuf ? errbuf : curl_easy_strerror(rc));
        ret = CTL_EXIT_FAIL;
    } else {
        ret = unreachable(g, rc, errbuf);
        ctl_response_free(err_out);
    }
    free(s.line);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return ret;
}
