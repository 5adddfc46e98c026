/* rfq_metrics_http: a one-thread libmicrohttpd daemon for GET /metrics. */
#include "rfq_metrics_http.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "rfq_cfg.h"
#include "rfq_log.h"

#define METRICS_CONN_LIMIT 16 /* scrapers at once; more wait in the listen queue */
#define METRICS_IDLE_TIMEOUT_S 10
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct rfq_metrics_http {
    struct MHD_Daemon *daemon;
    rfq_metrics_render_fn render;
    void *ud;
    int port;
    struct rfq_log_ctx log;
};

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    const struct rfq_metrics_http *m = cls;
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    RFQ_LOG(&m->log, RFQ_DEBUG, "metrics http: %s", msg);
}

/* Queue body with status and content type. mode says whether MHD takes the buffer (and frees
 * it, also on failure) or copies it. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                               enum MHD_ResponseMemoryMode mode, const char *ctype,
                               const char *allow)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
    if (!resp) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result respond_error(struct MHD_Connection *conn, unsigned status, const char *code,
                                     const char *message, const char *allow)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
                     message);
    if (n < 0 || (size_t)n >= sizeof(body))
        return MHD_NO;
    return respond(conn, status, body, (size_t)n, MHD_RESPMEM_MUST_COPY, "application/json", allow);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct rfq_metrics_http *m = cls;
    (void)version;
    (void)upload_data;
    if (*con_cls) { /* answered on the first call: drop any body the client still sends */
        *upload_data_size = 0;
        return MHD_YES;
    }
    *con_cls = m;
    if (!url || strcmp(url, "/metrics") != 0)
        return respond_error(conn, MHD_HTTP_NOT_FOUND, "not_found", "only /metrics is served here",
                             NULL);
    if (!method || (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
        return respond_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                             "use GET or HEAD", "GET, HEAD");
    struct rfq_strbuf o = {0};
    m->render(&o, m->ud);
    if (o.failed || !o.p) {
        rfq_strbuf_free(&o);
        return respond_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                             "out of memory while writing the metrics", NULL);
    }
    return respond(conn, MHD_HTTP_OK, o.p, o.len, MHD_RESPMEM_MUST_FREE, METRICS_CONTENT_TYPE,
                   NULL);
}

rfq_status rfq_metrics_http_start(rfq_metrics_http **out, const char *addr, const char *component,
                                  rfq_metrics_render_fn render, void *ud)
{
    *out = NULL;
    char host[256], port_s[8];
    int port = 0;
    if (rfq_parse_listen_addr(addr, host, sizeof(host), &port) != RFQ_OK)
        return RFQ_EINVAL;
    snprintf(port_s, sizeof(port_s), "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, port_s, &hints, &ai) != 0 || !ai)
        return RFQ_EINVAL;
    struct rfq_metrics_http *m = calloc(1, sizeof(*m));
    if (!m) {
        freeaddrinfo(ai);
        return RFQ_ENOMEM;
    }
    m->render = render;
    m->ud = ud;
    m->log.component = component;
    /* No SO_REUSEPORT: two processes given one address must not share it quietly, each
     * answering half the scrapes. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_EXTERNAL_LOGGER,
                                 on_mhd_log, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONN_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_IDLE_TIMEOUT_S,
                                 MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!m->daemon) {
        free(m);
        return RFQ_EIO;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = di ? di->port : port;
    *out = m;
    return RFQ_OK;
}

int rfq_metrics_http_port(const rfq_metrics_http *m)
{
    return m ? m->port : 0;
}

void rfq_metrics_http_stop(rfq_metrics_http *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->daemon);
    free(m);
}
