/* rfq_metrics_http: GET /metrics on a separate listening address (RFQ_METRICS_ADDR), so that
 * operators scrape every process the same way and the API port never shows engine internals
 * to tenants. One thread serves one scrape at a time: a scrape is a few kilobytes. */
#ifndef RFQ_METRICS_HTTP_H
#define RFQ_METRICS_HTTP_H

#include "rfq_metrics.h"
#include "rfq_status.h"

/* Appends the process's families to o; called on the server's thread, so it reads counters
 * the way any other thread may (snapshots, atomics). */
typedef void (*rfq_metrics_render_fn)(struct rfq_strbuf *o, void *ud);

typedef struct rfq_metrics_http rfq_metrics_http;

/* Listen on addr ("host:port", numeric host, "[v6]:port"; port 0 = any free port) and serve
 * GET or HEAD /metrics; other paths 404 and other methods 405, both with a JSON error body.
 * component names the process in log lines. *out is new (rfq_metrics_http_stop). RFQ_EINVAL
 * for a malformed address, RFQ_EIO when it cannot listen. */
rfq_status rfq_metrics_http_start(rfq_metrics_http **out, const char *addr, const char *component,
                                  rfq_metrics_render_fn render, void *ud);

/* The port listened on (the one chosen when addr asked for 0). */
int rfq_metrics_http_port(const rfq_metrics_http *m);

/* Stop listening and release; NULL is a no-op. */
void rfq_metrics_http_stop(rfq_metrics_http *m);

#endif
