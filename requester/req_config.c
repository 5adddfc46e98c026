/* req_config: environment to struct req_config, validated once at start. */
#include "req_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rfq_status req_config_load(struct req_config *cfg, struct rfq_err *err)
{
    memset(cfg, 0, sizeof(*cfg));
    if (rfq_common_cfg_load(&cfg->common) != RFQ_OK)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_REDIS_URL",
                           "malformed RFQ_REDIS_URL or RFQ_METRICS_ADDR");
    const char *addr = rfq_env_str("RFQ_HTTP_ADDR", "127.0.0.1:8080");
    if (rfq_parse_listen_addr(addr, cfg->http_host, sizeof(cfg->http_host), &cfg->http_port) !=
        RFQ_OK)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_HTTP_ADDR", "RFQ_HTTP_ADDR=%s is not host:port",
                           addr);
    const char *keys = rfq_env_str("RFQ_JWT_KEYS", "");
    const char *key = rfq_env_str("RFQ_JWT_KEY", "");
    if (!*key && !*keys)
        return rfq_err_set(
            err, RFQ_EINVAL, "RFQ_JWT_KEYS",
            "RFQ_JWT_KEYS (key-set file) or RFQ_JWT_KEY (PEM public key) is required");
    snprintf(cfg->jwt_keys, sizeof(cfg->jwt_keys), "%s", keys);
    snprintf(cfg->jwt_key, sizeof(cfg->jwt_key), "%s", key);
    snprintf(cfg->tenant_secret, sizeof(cfg->tenant_secret), "%s",
             rfq_env_str("RFQ_TENANT_SECRET_FILE", ""));
    snprintf(cfg->jwt_alg, sizeof(cfg->jwt_alg), "%s", rfq_env_str("RFQ_JWT_ALG", "ES256"));
    snprintf(cfg->jwt_iss, sizeof(cfg->jwt_iss), "%s", rfq_env_str("RFQ_JWT_ISS", "rfq-dev"));
    snprintf(cfg->jwt_aud, sizeof(cfg->jwt_aud), "%s", rfq_env_str("RFQ_JWT_AUD", "rfq-engine"));
    int64_t leeway = rfq_env_int("RFQ_JWT_LEEWAY_S", 30);
    if (leeway < 0 || leeway > 3600)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_JWT_LEEWAY_S", "RFQ_JWT_LEEWAY_S must be 0..3600");
    cfg->jwt_leeway_s = (int)leeway;
    cfg->retention_ms = rfq_env_int("RFQ_RETENTION_MS", 86400000);
    if (cfg->retention_ms < 1000)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_RETENTION_MS", "RFQ_RETENTION_MS must be >= 1000");
    cfg->limits = rfq_limits_default();
    cfg->redis_timeout_ms = 2000;
    cfg->redis_max_conns = 64;
    cfg->publish_flush_ms = 2000;
    /* Each submit waits on Redis and on a NATS round trip: with few handlers, a busy NATS
     * intake is bound by their waiting, not by the CPU (4 handlers: about 900 RFQs/s at 100
     * in flight, against 1,200 over HTTP's thread per connection). */
    int64_t workers = rfq_env_int("RFQ_SUBMIT_WORKERS", 16);
    if (workers < 1 || workers > 256)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_SUBMIT_WORKERS",
                           "RFQ_SUBMIT_WORKERS must be 1..256");
    cfg->submit_workers = (int)workers;
    cfg->shed_backlog = rfq_env_int("RFQ_SHED_BACKLOG", 20000);
    if (cfg->shed_backlog < 0)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_SHED_BACKLOG", "RFQ_SHED_BACKLOG must be >= 0");
    int64_t redis_ms = rfq_env_int("RFQ_SHED_REDIS_MS", 200);
    if (redis_ms < 0 || redis_ms > 60000)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_SHED_REDIS_MS",
                           "RFQ_SHED_REDIS_MS must be 0..60000");
    cfg->shed_redis_ms = (int)redis_ms;
    int64_t drain_ms = rfq_env_int("RFQ_SHED_DRAIN_MS", 2000);
    if (drain_ms < 0 || drain_ms > 600000)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_SHED_DRAIN_MS",
                           "RFQ_SHED_DRAIN_MS must be 0..600000");
    cfg->shed_drain_ms = (int)drain_ms;
    int64_t every = rfq_env_int("RFQ_SHED_INTERVAL_MS", 250);
    if (every < 10 || every > 10000)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_SHED_INTERVAL_MS",
                           "RFQ_SHED_INTERVAL_MS must be 10..10000");
    cfg->shed_interval_ms = (int)every;
    return RFQ_OK;
}
