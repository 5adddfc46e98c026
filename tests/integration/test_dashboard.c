/* test_dashboard: rfq-requester serves the embedded dashboard (/dashboard, its script and
 * style sheet) with the security headers, redirects / to it, and refuses other methods with
 * the API's JSON errors. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"
#include "rfq_ids.h"
#include "scenarios.h"

#define DASH_CSP                                                                                   \
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "             \
    "script-src 'self'; frame-ancestors 'none'"

/* Check that header name is exactly want. */
static void check_header(const struct h_resp *r, const char *name, const char *want,
                         const char *what)
{
    char v[512];
    H_CHECK(h_resp_header(r, name, v, sizeof(v)), "%s: no %s header", what, name);
    H_CHECK(strcmp(v, want) == 0, "%s: %s is \"%s\", expected \"%s\"", what, name, v, want);
}

/* Check that the Content-Type's media type (before any parameter) is type. */
static void check_type(const struct h_resp *r, const char *type, const char *what)
{
    char v[256];
    H_CHECK(h_resp_header(r, "Content-Type", v, sizeof(v)), "%s: no Content-Type", what);
    size_t n = strcspn(v, "; ");
    H_CHECK(n == strlen(type) && strncasecmp(v, type, n) == 0,
            "%s: Content-Type is \"%s\", expected %s", what, v, type);
}

/* GET path: 200, the media type, the dashboard's security headers, a non-empty body. */
static void get_file(struct h_resp *r, const struct h_proc *req, const char *path, const char *type)
{
    h_http(r, req, "GET", path, NULL, NULL, NULL, 0);
    H_CHECK(r->status == 200, "GET %s: HTTP %ld (%.300s)", path, r->status, r->body);
    check_type(r, type, path);
    check_header(r, "Content-Security-Policy", DASH_CSP, path);
    check_header(r, "X-Content-Type-Options", "nosniff", path);
    check_header(r, "Cache-Control", "no-cache", path);
    H_CHECK(r->body_len > 100, "GET %s: body of %zu bytes", path, r->body_len);
    H_CHECK(strlen(r->body) == r->body_len, "GET %s: body holds a NUL byte", path);
    /* Nothing loaded from elsewhere: the page works offline and under the policy. */
    H_CHECK(!strstr(r->body, "http://") && !strstr(r->body, "https://"),
            "GET %s: the file references another origin", path);
}

/* True when the HTML has an inline event handler attribute (` onclick=`), which the policy
 * would block. */
static bool has_inline_handler(const char *html)
{
    for (const char *p = html; (p = strstr(p, " on")) != NULL; p++) {
        const char *q = p + 3;
        while (islower((unsigned char)*q))
            q++;
        if (q > p + 3 && *q == '=')
            return true;
    }
    return false;
}

/* Every <script> of the page is an external same-origin file; no inline style either. */
static void check_page(const char *html)
{
    int scripts = 0;
    for (const char *p = html; (p = strstr(p, "<script")) != NULL; p++) {
        const char *end = strchr(p, '>');
        H_CHECK(end != NULL, "unterminated <script> tag");
        const char *src = strstr(p, " src=\"/dashboard/");
        H_CHECK(src && src < end, "inline <script> in the page (the policy blocks it): %.80s", p);
        scripts++;
    }
    H_CHECK(scripts >= 1, "the page loads no script");
    H_CHECK(strstr(html, "src=\"/dashboard/app.js\""), "the page does not load /dashboard/app.js");
    H_CHECK(strstr(html, "href=\"/dashboard/style.css\""),
            "the page does not load /dashboard/style.css");
    H_CHECK(!strstr(html, "<style"), "inline <style> in the page (the policy blocks it)");
    H_CHECK(!strstr(html, " style=\""), "inline style attribute in the page");
    H_CHECK(!has_inline_handler(html), "inline event handler in the page");
}

/* The script's own rules: API data reaches the DOM as text, the token goes in a header. */
static void check_script(const char *js)
{
    static const char *const banned[] = {".innerHTML",     ".outerHTML", "insertAdjacentHTML",
                                         "document.write", "eval(",      "localStorage"};
    for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
        H_CHECK(!strstr(js, banned[i]), "app.js uses %s", banned[i]);
    H_CHECK(strstr(js, "sessionStorage"), "app.js does not keep the token in sessionStorage");
    H_CHECK(strstr(js, "'Authorization'"), "app.js sends no Authorization header");
    H_CHECK(strstr(js, "/events"), "app.js does not follow the event stream");
}

static void expect_redirect(const struct h_proc *req, const char *method, const char *path)
{
    struct h_resp r;
    h_http(&r, req, method, path, NULL, NULL, NULL, 0);
    H_CHECK(r.status == 302, "%s %s: HTTP %ld, expected 302", method, path, r.status);
    check_header(&r, "Location", "/dashboard", path);
    h_resp_free(&r);
}

static void expect_405(const struct h_proc *req, const char *method, const char *path)
{
    char what[128];
    snprintf(what, sizeof(what), "%s %s", method, path);
    struct h_resp r;
    h_http(&r, req, method, path, NULL, NULL, NULL, 0);
    h_check_error(&r, 405, "method_not_allowed", what);
    check_header(&r, "Allow", "GET, HEAD", what);
    h_resp_free(&r);
}

void sc_dashboard(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *req = h_requester_start(NULL);

    /* The page, its script and its style sheet, without a token. */
    struct h_resp page, js, css;
    get_file(&page, req, "/dashboard", "text/html");
    check_page(page.body);
    get_file(&js, req, "/dashboard/app.js", "application/javascript");
    check_script(js.body);
    get_file(&css, req, "/dashboard/style.css", "text/css");
    h_log("dashboard: page %zu, script %zu, style %zu bytes", page.body_len, js.body_len,
          css.body_len);

    /* HEAD: same headers, no body. */
    struct h_resp r;
    h_http(&r, req, "HEAD", "/dashboard/app.js", NULL, NULL, NULL, 0);
    H_CHECK(r.status == 200, "HEAD /dashboard/app.js: HTTP %ld", r.status);
    check_type(&r, "application/javascript", "HEAD /dashboard/app.js");
    check_header(&r, "Content-Security-Policy", DASH_CSP, "HEAD /dashboard/app.js");
    H_CHECK(r.body_len == 0, "HEAD /dashboard/app.js: %zu body bytes", r.body_len);
    h_resp_free(&r);

    /* / (and /dashboard/) lead to the page. */
    expect_redirect(req, "GET", "/");
    expect_redirect(req, "GET", "/dashboard/");
    expect_redirect(req, "HEAD", "/");

    /* Only GET and HEAD; anything else is the API's JSON 405 with an Allow header. */
    expect_405(req, "POST", "/dashboard");
    expect_405(req, "PUT", "/dashboard/app.js");
    expect_405(req, "DELETE", "/dashboard/style.css");
    expect_405(req, "POST", "/");
    {
        /* A POST with a body is refused before the body matters. */
        const char *body = "{\"region\":\"eu-west\"}";
        h_http(&r, req, "POST", "/dashboard", NULL, "application/json", body, strlen(body));
        h_check_error(&r, 405, "method_not_allowed", "POST /dashboard with a body");
        h_resp_free(&r);
    }

    /* Other paths near the dashboard are unknown, as before. */
    const char *unknown[] = {"/dashboard/index.html", "/dashboard/app.js/", "/dashboardx",
                             "/index.html"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        h_http(&r, req, "GET", unknown[i], NULL, NULL, NULL, 0);
        h_check_error(&r, 404, "not_found", unknown[i]);
        h_resp_free(&r);
    }

    /* The API behind the page is unchanged: it still needs the token, and the listing the
     * page polls answers with one. */
    h_http(&r, req, "GET", "/v1/rfqs?limit=50", NULL, NULL, NULL, 0);
    h_check_error(&r, 401, "unauthorized", "listing without a token");
    h_resp_free(&r);
    char *tok = h_token("acme", "basic", 3600);
    json_t *list = h_get_json(req, tok, "/v1/rfqs?limit=50");
    H_CHECK(json_is_array(json_object_get(list, "rfqs")), "listing without an rfqs array");
    json_decref(list);

    free(tok);
    h_resp_free(&page);
    h_resp_free(&js);
    h_resp_free(&css);
}
