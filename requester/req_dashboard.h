/* req_dashboard: the browser dashboard's files (compiled in from requester/dashboard/) and the
 * paths that serve them. Pure: no I/O; the HTTP layer turns a match into a response. */
#ifndef REQ_DASHBOARD_H
#define REQ_DASHBOARD_H

#include <stddef.h>

/* Headers sent with every dashboard file. The policy allows only the page's own files and
 * API calls: no inline script or style, no other origin, no framing. */
#define REQ_DASHBOARD_CSP                                                                          \
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "             \
    "script-src 'self'; frame-ancestors 'none'"
#define REQ_DASHBOARD_CACHE "no-cache"
#define REQ_DASHBOARD_HOME "/dashboard" /* where "/" redirects */

/* One embedded file. All fields point to static data. */
struct req_dashboard_file {
    const char *path;          /* served at this exact path */
    const char *content_type;  /* with charset */
    const unsigned char *data; /* the file's bytes (NUL-terminated, len excludes the NUL) */
    size_t len;
};

enum req_dashboard_kind {
    REQ_DASHBOARD_NONE = 0, /* not a dashboard path: the caller goes on (404) */
    REQ_DASHBOARD_FILE,     /* serve file */
    REQ_DASHBOARD_REDIRECT, /* 302 to REQ_DASHBOARD_HOME */
};

struct req_dashboard_route {
    enum req_dashboard_kind kind;
    const struct req_dashboard_file *file; /* FILE only (borrowed, static) */
    const char *allow;                     /* Allow header value (static), NULL for NONE */
    int status; /* 0 when the request may proceed, 405 for a method other than GET/HEAD */
};

/* Match method and path (percent-decoded, no query string): "/dashboard", "/dashboard/app.js"
 * and "/dashboard/style.css" are files; "/" and "/dashboard/" redirect to "/dashboard".
 * Anything else is REQ_DASHBOARD_NONE. Only GET and HEAD are served (405 otherwise). */
void req_dashboard_match(struct req_dashboard_route *out, const char *method, const char *path);

/* Number of embedded files and the i-th one (borrowed, static; NULL when out of range). */
size_t req_dashboard_file_count(void);
const struct req_dashboard_file *req_dashboard_file_at(size_t i);

#endif
