/* req_config: the requester's settings, read from the environment (see contract). */
#ifndef REQ_CONFIG_H
#define REQ_CONFIG_H

#include <stdint.h>

#include "rfq_cfg.h"
#include "rfq_msg.h"
#include "rfq_status.h"

struct req_config {
    struct rfq_common_cfg common; /* NATS/Redis URLs, ready file */
    char http_host[256];          /* from RFQ_HTTP_ADDR host part (numeric IPv4/IPv6) */
    int http_port;                /* from RFQ_HTTP_ADDR port part; 0 = any free port */
    char jwt_keys[512];           /* RFQ_JWT_KEYS: key-set file (kid -> alg, key); preferred */
    char jwt_key[512];            /* RFQ_JWT_KEY: one PEM public key (when no key set) */
    char jwt_alg[16];             /* RFQ_JWT_ALG, default ES256 */
    char jwt_iss[256];            /* RFQ_JWT_ISS, default rfq-dev */
    char jwt_aud[256];            /* RFQ_JWT_AUD, default rfq-engine */
    int jwt_leeway_s;             /* RFQ_JWT_LEEWAY_S, default 30 */
    char tenant_secret[512];      /* RFQ_TENANT_SECRET_FILE: derives tenant Redis passwords;
                                     "" = reads use the service connection (no isolation) */
    int64_t retention_ms;         /* RFQ_RETENTION_MS, default 86400000 */
    struct rfq_limits limits;     /* submit body limits (rfq_limits_default) */
    int redis_timeout_ms;         /* per-command Redis timeout */
    int redis_max_conns;          /* Redis pool size cap */
    int publish_flush_ms;         /* how long to wait for the NATS server to confirm a scatter */
    int submit_workers;           /* queue subscriptions on rfq.v1.submit (parallel handlers) */
    int64_t shed_backlog;         /* RFQ_SHED_BACKLOG, 20000: quotes waiting for the aggregators
                                     beyond which submits get 503 (0 = no limit) */
    int shed_redis_ms;            /* RFQ_SHED_REDIS_MS, 200: Redis PING round trip beyond which
                                     submits get 503 (0 = no limit) */
    int shed_drain_ms;            /* RFQ_SHED_DRAIN_MS, 2000: the aggregators' time to work off
                                     the backlog beyond which submits get 503 (0 = no limit) */
    int shed_interval_ms;         /* RFQ_SHED_INTERVAL_MS, 250: how often they are measured */
};

/* Load every setting from the environment. Returns RFQ_EINVAL with err filled when a value is
 * malformed or RFQ_JWT_KEY is missing (the process must not start then). */
rfq_status req_config_load(struct req_config *cfg, struct rfq_err *err);

#endif
