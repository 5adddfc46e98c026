/* req_metrics: answer counters by route and status, in fixed arrays of atomics so that the
 * hot path pays one relaxed increment. */
#include "req_metrics.h"

#include <stdio.h>

/* Index REQ_METRICS_STATUSES - 1 is "other". */
static const int statuses[REQ_METRICS_STATUSES - 1] = {200, 202, 302, 304, 400, 401, 403, 404,
                                                       405, 406, 413, 414, 415, 429, 500, 503};

static const char *const route_names[REQ_METRICS_ROUTES] = {
    "submit", "list", "rfq", "quotes", "events", "usage", "health", "dashboard", "other"};

static int status_slot(int status)
{
    for (int i = 0; i < REQ_METRICS_STATUSES - 1; i++)
        if (statuses[i] == status)
            return i;
    return REQ_METRICS_STATUSES - 1;
}

enum req_metrics_route req_metrics_route_of(const struct req_route *r, bool dashboard)
{
    if (dashboard)
        return REQ_METRICS_DASHBOARD;
    switch (r->id) {
    case REQ_ROUTE_HEALTH:
        return REQ_METRICS_HEALTH;
    case REQ_ROUTE_RFQS:
        return r->method == REQ_METHOD_POST ? REQ_METRICS_SUBMIT : REQ_METRICS_LIST;
    case REQ_ROUTE_RFQ:
        return REQ_METRICS_RFQ;
    case REQ_ROUTE_QUOTES:
        return REQ_METRICS_QUOTES;
    case REQ_ROUTE_EVENTS:
        return REQ_METRICS_EVENTS;
    case REQ_ROUTE_USAGE:
        return REQ_METRICS_USAGE;
    case REQ_ROUTE_NONE:
        break;
    }
    return REQ_METRICS_OTHER;
}

void req_metrics_count_http(struct req_metrics *m, enum req_metrics_route route, int status)
{
    if ((unsigned)route >= REQ_METRICS_ROUTES)
        route = REQ_METRICS_OTHER;
    atomic_fetch_add_explicit(&m->http[route][status_slot(status)], 1, memory_order_relaxed);
}

void req_metrics_count_nats_submit(struct req_metrics *m, int status)
{
    atomic_fetch_add_explicit(&m->nats_submit[status_slot(status)], 1, memory_order_relaxed);
}

static void status_label(char *out, size_t cap, int slot)
{
    if (slot == REQ_METRICS_STATUSES - 1)
        snprintf(out, cap, "other");
    else
        snprintf(out, cap, "%d", statuses[slot]);
}

void req_metrics_render(struct rfq_strbuf *o, struct req_metrics *m,
                        const struct req_metrics_gauges *g)
{
    char labels[96], st[8];
    const char *http = "rfq_requester_http_responses_total";
    rfq_metrics_family(o, http, "counter", "HTTP answers by route and status.");
    for (int r = 0; r < REQ_METRICS_ROUTES; r++)
        for (int s = 0; s < REQ_METRICS_STATUSES; s++) {
            unsigned long long v = atomic_load_explicit(&m->http[r][s], memory_order_relaxed);
            if (!v)
                continue;
            status_label(st, sizeof(st), s);
            snprintf(labels, sizeof(labels), "route=\"%s\",status=\"%s\"", route_names[r], st);
            rfq_metrics_sample_labels(o, http, labels, (double)v);
        }
    const char *nats = "rfq_requester_nats_submits_total";
    rfq_metrics_family(o, nats, "counter", "rfq.v1.submit answers by Rfq-Status.");
    for (int s = 0; s < REQ_METRICS_STATUSES; s++) {
        unsigned long long v = atomic_load_explicit(&m->nats_submit[s], memory_order_relaxed);
        if (!v)
            continue;
        status_label(st, sizeof(st), s);
        rfq_metrics_sample(o, nats, "status", st, (double)v);
    }
    rfq_metrics_gauge(o, "rfq_requester_event_streams", "Open GET /v1/rfqs/<id>/events streams.",
                      (double)g->event_streams);
    const char *shed = "rfq_requester_shedding";
    rfq_metrics_family(o, shed, "gauge", "1 while new RFQs are refused with 503, by cause.");
    rfq_metrics_sample(o, shed, "cause", "backlog", g->shed_backlog ? 1.0 : 0.0);
    rfq_metrics_sample(o, shed, "cause", "redis", g->shed_redis ? 1.0 : 0.0);
    if (g->backlog >= 0)
        rfq_metrics_gauge(o, "rfq_requester_quote_backlog",
                          "Quotes waiting for the aggregators, as last measured.",
                          (double)g->backlog);
    const char *up = "rfq_requester_dependency_up";
    rfq_metrics_family(o, up, "gauge", "1 when the dependency answers (as /healthz checks it).");
    rfq_metrics_sample(o, up, "dependency", "nats", g->nats_ok ? 1.0 : 0.0);
    rfq_metrics_sample(o, up, "dependency", "redis", g->redis_ok ? 1.0 : 0.0);
    rfq_metrics_process(o);
}
