/* req_server: build, start, stop and tear down the requester. */
#include "req_server.h"

#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "req_auth.h"
#include "req_http.h"
#include "req_nats_submit.h"
#include "req_shed.h"
#include "req_tenant_redis.h"
#include "rfq_nats.h"
#include "rfq_redis.h"
#include "rfq_tenant_kv.h"

rfq_status req_server_create(struct req_server **out, const struct req_config *cfg, int wait_ms,
                             struct rfq_err *err)
{
    *out = NULL;
    struct req_server *s = calloc(1, sizeof(*s));
    if (!s)
        return RFQ_ENOMEM;
    s->cfg = *cfg;
    s->log.component = "requester";
    s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    rfq_status st = s->stop_fd >= 0 ? RFQ_OK : RFQ_EIO;
    if (st != RFQ_OK) {
        rfq_err_set(err, st, "", "eventfd failed");
        goto fail;
    }
    struct rfq_jwt_cfg jc = {.keys_file = s->cfg.jwt_keys, /* wins over the legacy key */
                             .key_file = s->cfg.jwt_key,
                             .alg = s->cfg.jwt_alg,
                             .issuer = s->cfg.jwt_iss,
                             .audience = s->cfg.jwt_aud,
                             .leeway_s = s->cfg.jwt_leeway_s,
                             .allow_hs256 = strcmp(s->cfg.jwt_alg, "HS256") == 0};
    st = rfq_jwt_verifier_create(&s->jwt, &jc, err);
    if (st == RFQ_OK)
        st = req_auth_create(&s->auth, s->jwt, s->cfg.jwt_leeway_s);
    if (st == RFQ_OK) /* key files are checked for changes every second */
        st = req_auth_watch_start(s->auth, 1000);
    if (st != RFQ_OK)
        goto fail;
    st = rfq_nats_connect(&s->nc, s->cfg.common.nats_url, "rfq-requester", true, wait_ms);
    if (st != RFQ_OK) {
        char shown[512]; /* the URL may carry a password */
        const char *why = nats_GetLastError(NULL);
        rfq_err_set(err, st, "RFQ_NATS_URL", "cannot connect to NATS at %s: %s",
                    rfq_url_redact(s->cfg.common.nats_url, shown, sizeof(shown)),
                    why && *why ? why : rfq_status_str(st));
        goto fail;
    }
    /* Tenant records: loaded before serving, so that admission never starts empty. */
    st = rfq_tenant_view_start(&s->tenants, s->nc, &s->log, err);
    if (st != RFQ_OK)
        goto fail;
    const struct req_redis_pool_cfg pc = {
        .target = {s->cfg.common.redis_host, s->cfg.common.redis_port, s->cfg.common.redis_user,
                   s->cfg.common.redis_pass},
        .timeout_ms = s->cfg.redis_timeout_ms,
        .max_conns = s->cfg.redis_max_conns,
        .load_scripts = true};
    struct rfq_err why = {{0}, {0}}; /* names host, user and reason, never the password */
    st = req_redis_pool_create(&s->redis, &pc, wait_ms, &why);
    if (st != RFQ_OK) {
        rfq_err_set(err, st, "RFQ_REDIS_URL", "%s", why.message);
        goto fail;
    }
    /* Reads on a tenant's behalf: as that tenant's Redis user (RFQ_TENANT_SECRET_FILE). */
    st = req_tenant_redis_create(&s->tenant_redis, s, err);
    if (st != RFQ_OK)
        goto fail;
    *out = s;
    return RFQ_OK;
fail:
    req_server_destroy(s);
    return st;
}

/* GET /metrics: the counters, and the gauges /healthz shows. */
static void render_metrics(struct rfq_strbuf *o, void *ud)
{
    struct req_server *s = ud;
    int64_t backlog = -1;
    enum req_shed_cause cause = req_shed_now(s->shed, &backlog);
    int nats_ok = 0, redis_ok = 0;
    req_server_health(s, &nats_ok, &redis_ok);
    struct req_metrics_gauges g = {
        .event_streams = atomic_load(&s->open_streams),
        .shed_backlog = cause == REQ_SHED_BACKLOG,
        .shed_redis = cause == REQ_SHED_REDIS,
        .backlog = backlog,
        .nats_ok = nats_ok,
        .redis_ok = redis_ok,
    };
    req_metrics_render(o, &s->metrics, &g);
}

rfq_status req_server_start(struct req_server *s, struct rfq_err *err)
{
    /* Before intake: submits consult it. */
    rfq_status st = req_shed_start(&s->shed, s);
    if (st != RFQ_OK)
        return rfq_err_set(err, st, "RFQ_SHED_BACKLOG", "cannot start the load-shedding monitor");
    st = req_http_start(&s->http, s, err);
    if (st != RFQ_OK)
        return st;
    st = req_nats_submit_start(&s->submit, s, s->cfg.submit_workers);
    if (st != RFQ_OK)
        return rfq_err_set(err, st, RFQ_SUBJECT_SUBMIT, "cannot subscribe to %s",
                           RFQ_SUBJECT_SUBMIT);
    RFQ_LOG(&s->log, RFQ_INFO, "serving http on %s:%d and nats %s", s->cfg.http_host,
            req_http_port(s->http), RFQ_SUBJECT_SUBMIT);
    if (!s->cfg.common.metrics_addr[0])
        return RFQ_OK;
    st = rfq_metrics_http_start(&s->metrics_http, s->cfg.common.metrics_addr, "requester",
                                render_metrics, s);
    if (st != RFQ_OK)
        return rfq_err_set(err, st, "RFQ_METRICS_ADDR", "cannot serve metrics on %s",
                           s->cfg.common.metrics_addr);
    RFQ_LOG(&s->log, RFQ_INFO, "metrics on http://%s/metrics (port %d)", s->cfg.common.metrics_addr,
            rfq_metrics_http_port(s->metrics_http));
    return RFQ_OK;
}

int req_server_http_port(const struct req_server *s)
{
    return req_http_port(s->http);
}

void req_server_stop(struct req_server *s)
{
    if (!s || atomic_exchange(&s->stopping, 1))
        return;
    /* First: a scrape reads the shedding monitor, which goes away below. */
    rfq_metrics_http_stop(s->metrics_http);
    s->metrics_http = NULL;
    req_nats_submit_stop(s->submit, 5000);
    s->submit = NULL;
    /* Wake every blocked event stream: they end, and their threads can be joined. */
    uint64_t one = 1;
    ssize_t w = write(s->stop_fd, &one, sizeof(one));
    (void)w;
    /* Give the woken streams a moment to write their last chunk: stopping the daemon shuts
     * the sockets down, and a client would see a broken transfer instead of a clean end. */
    for (int i = 0; i < 50 && atomic_load(&s->open_streams) > 0; i++)
        usleep(10 * 1000);
    req_http_stop(s->http);
    s->http = NULL;
    req_shed_stop(s->shed); /* after intake: no submit reads it any more */
    s->shed = NULL;
    RFQ_LOG(&s->log, RFQ_INFO, "stopped");
}

void req_server_destroy(struct req_server *s)
{
    if (!s)
        return;
    req_server_stop(s);
    rfq_tenant_view_destroy(s->tenants); /* its watcher uses the connection */
    if (s->nc) {
        natsConnection_Close(s->nc);
        natsConnection_Destroy(s->nc);
    }
    req_tenant_redis_destroy(s->tenant_redis);
    req_redis_pool_destroy(s->redis);
    req_auth_destroy(s->auth);
    rfq_jwt_verifier_destroy(s->jwt);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    free(s);
}

void req_server_health(struct req_server *s, int *nats_ok, int *redis_ok)
{
    *nats_ok = natsConnection_Status(s->nc) == NATS_CONN_STATUS_CONNECTED;
    *redis_ok = req_redis_pool_run(s->redis, req_redis_ping, NULL) == RFQ_OK;
}
