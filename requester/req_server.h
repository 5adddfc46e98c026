/* req_server: the requester's context (configuration, token verifier, NATS connection, Redis
 * pool) and its lifecycle: create (connect dependencies), start (HTTP and NATS intake), stop,
 * destroy. */
#ifndef REQ_SERVER_H
#define REQ_SERVER_H

#include <stdatomic.h>

#include <nats/nats.h>

#include "req_metrics.h"
#include "rfq_metrics_http.h"
#include "req_config.h"
#include "req_redis_pool.h"
#include "rfq_jwt.h"
#include "rfq_log.h"

struct req_auth;
struct req_http;
struct req_nats_submit;
struct req_shed;
struct req_tenant_redis;
struct rfq_tenant_view;

struct req_server {
    struct req_config cfg; /* copy of the configuration */
    rfq_jwt_verifier *jwt; /* owned; thread-safe */
    struct req_auth *auth; /* owned; token verification with a cache */
    natsConnection *nc;    /* owned; send_asap: a scatter leaves at once */
    req_redis_pool *redis; /* owned; service user: writes (and reads when isolation is off) */
    struct rfq_tenant_view *tenants;       /* owned; watched tenant records (req_tenant) */
    struct req_tenant_redis *tenant_redis; /* owned; per-tenant read connections */
    int stop_fd;                           /* eventfd: readable once stopping (wakes SSE streams) */
    atomic_int stopping;                   /* 1 once req_server_stop began */
    atomic_int open_streams;        /* event streams between req_sse_open and req_sse_close */
    struct req_http *http;          /* owned; NULL until started */
    struct req_nats_submit *submit; /* owned; NULL until started */
    struct req_shed *shed;          /* owned; load-shedding monitor, NULL when off or stopped */
    struct req_metrics metrics;     /* answer counters, for GET /metrics */
    struct rfq_metrics_http *metrics_http; /* owned; NULL when RFQ_METRICS_ADDR is unset */
    struct rfq_log_ctx log;                /* component "requester" */
};

/* Build the context: load the key, connect NATS (waiting up to wait_ms) and Redis (scripts
 * loaded). *out is new (req_server_destroy). err says what failed. */
rfq_status req_server_create(struct req_server **out, const struct req_config *cfg, int wait_ms,
                             struct rfq_err *err);

/* Start the HTTP listener and the rfq.v1.submit queue subscriptions. When this returns RFQ_OK
 * the process serves (write the ready file then). */
rfq_status req_server_start(struct req_server *s, struct rfq_err *err);

/* Port the HTTP listener is bound to (useful with port 0), or 0 when not started. */
int req_server_http_port(const struct req_server *s);

/* Graceful stop: drain the NATS submit subscriptions (in-flight submits finish), end every
 * event stream, stop the HTTP listener (in-flight requests finish). Idempotent. */
void req_server_stop(struct req_server *s);

/* Stop if needed, close NATS and Redis, free everything. Accepts NULL. */
void req_server_destroy(struct req_server *s);

/* True when NATS is connected and Redis answers PING (for /healthz). */
void req_server_health(struct req_server *s, int *nats_ok, int *redis_ok);

#endif
