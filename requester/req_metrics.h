/* req_metrics: the requester's counters for GET /metrics (RFQ_METRICS_ADDR): every HTTP answer
 * by route and status, every NATS submit answer by status, and the gauges /healthz shows. */
#ifndef REQ_METRICS_H
#define REQ_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "req_route.h"
#include "rfq_metrics.h"

/* The route label of an HTTP answer. */
enum req_metrics_route {
    REQ_METRICS_SUBMIT = 0, /* POST /v1/rfqs */
    REQ_METRICS_LIST,       /* GET /v1/rfqs */
    REQ_METRICS_RFQ,        /* /v1/rfqs/<id> */
    REQ_METRICS_QUOTES,     /* /v1/rfqs/<id>/quotes */
    REQ_METRICS_EVENTS,     /* /v1/rfqs/<id>/events */
    REQ_METRICS_USAGE,      /* /v1/usage */
    REQ_METRICS_HEALTH,     /* /healthz */
    REQ_METRICS_DASHBOARD,  /* the dashboard's files */
    REQ_METRICS_OTHER,      /* no such path, or a method the path does not serve */
    REQ_METRICS_ROUTES
};

/* The statuses the engine answers with; anything else counts as "other". */
#define REQ_METRICS_STATUSES 17

struct req_metrics {
    atomic_ullong http[REQ_METRICS_ROUTES][REQ_METRICS_STATUSES];
    atomic_ullong nats_submit[REQ_METRICS_STATUSES];
};

/* What /healthz shows, read at scrape time. backlog < 0 when unknown. */
struct req_metrics_gauges {
    int event_streams;
    bool shed_backlog, shed_redis; /* the shedding cause in force, if any */
    int64_t backlog;
    bool nats_ok, redis_ok;
};

/* The route label of a matched request (dashboard: it matched the dashboard's table). */
enum req_metrics_route req_metrics_route_of(const struct req_route *r, bool dashboard);

/* Count one answer; thread-safe (relaxed atomics: a scrape needs no ordering). */
void req_metrics_count_http(struct req_metrics *m, enum req_metrics_route route, int status);
void req_metrics_count_nats_submit(struct req_metrics *m, int status);

/* Append the rfq_requester_* families (non-zero samples only) and the process ones to o. */
void req_metrics_render(struct rfq_strbuf *o, struct req_metrics *m,
                        const struct req_metrics_gauges *g);

#endif
