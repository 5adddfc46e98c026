/* req_http: libmicrohttpd daemon, one thread per connection (see req_sse.c for why), mapping
 * requests onto req_submit, req_read, req_sse and the dashboard's files, and every failure
 * onto a JSON error. */
#include "req_http.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "req_auth.h"
#include "req_dashboard.h"
#include "req_read.h"
#include "req_reply.h"
#include "req_route.h"
#include "req_shed.h"
#include "req_sse.h"
#include "req_submit.h"
#include "req_tenant.h"
#include "req_usage.h"
#include "rfq_msg.h"

#define REQ_HTTP_CONN_LIMIT 1024
#define REQ_HTTP_IDLE_TIMEOUT_S 30 /* above the SSE ping interval */
#define REQ_HTTP_STACK ((size_t)512 * 1024)
#define REQ_HTTP_DISCARD_MAX ((size_t)1024 * 1024) /* oversized body bytes read before cutting */
#define BODY_TOO_BIG "body exceeds 16384 bytes"
_Static_assert(RFQ_BODY_MAX == 16384, "BODY_TOO_BIG names the cap");

struct req_http {
    struct req_server *srv;
    struct MHD_Daemon *daemon;
    int port;
};

/* Per-request state, from the first access-handler call to NOTIFY_COMPLETED. */
struct http_req {
    struct req_route route;
    struct req_dashboard_route dash; /* set when route.id is REQ_ROUTE_NONE */
    char *body;                      /* POST body, RFQ_BODY_MAX + 1 bytes */
    size_t len;
    int too_big;      /* the body passed RFQ_BODY_MAX: answer 413 */
    size_t discarded; /* bytes dropped after too_big */
    int responded;    /* a response is queued: discard the rest */
    struct rfq_identity who;
    struct req_metrics *metrics; /* the server's answer counters */
};

/* A response is queued: discard the rest of the request, and count the answer. */
static void mark_responded(struct http_req *r, int status)
{
    r->responded = 1;
    req_metrics_count_http(
        r->metrics, req_metrics_route_of(&r->route, r->dash.kind != REQ_DASHBOARD_NONE), status);
}

/* Queue rep on conn (the body moves to MHD). Returns MHD_NO only when nothing could be queued,
 * which makes MHD close the connection. */
static enum MHD_Result send_reply(struct MHD_Connection *conn, struct http_req *r,
                                  struct req_reply *rep)
{
    if (!rep->body)
        req_reply_error(rep, 500, "no answer");
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(rep->body_len, rep->body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        req_reply_clear(rep);
        return MHD_NO;
    }
    rep->body = NULL; /* MHD frees it */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    for (int i = 0; i < rep->n_headers; i++)
        MHD_add_response_header(resp, rep->headers[i].name, rep->headers[i].value);
    int status = rep->status;
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    req_reply_clear(rep);
    if (ret == MHD_YES && r)
        mark_responded(r, status);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, struct http_req *r, int status,
                                  const char *msg)
{
    struct req_reply rep;
    req_reply_init(&rep);
    if (status == 405 && r && r->route.allow)
        req_reply_header(&rep, "Allow", "%s", r->route.allow);
    req_reply_error(&rep, status, "%s", msg);
    return send_reply(conn, r, &rep);
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result serve_health(struct req_http *h, struct MHD_Connection *conn,
                                    struct http_req *r)
{
    int nats_ok = 0, redis_ok = 0;
    req_server_health(h->srv, &nats_ok, &redis_ok);
    /* Shedding is reported, not a failure: reads are served, and every requester sees the
     * same backlog, so taking this one out of a balancer would not help. */
    int64_t backlog = -1;
    enum req_shed_cause shed = req_shed_now(h->srv->shed, &backlog);
    struct req_reply rep;
    req_reply_init(&rep);
    req_reply_json(&rep, nats_ok && redis_ok ? 200 : 503,
                   json_pack("{s:s,s:s,s:s,s:s?,s:o}", "status",
                             nats_ok && redis_ok ? "ok" : "degraded", "nats",
                             nats_ok ? "connected" : "disconnected", "redis",
                             redis_ok ? "ok" : "down", "shedding", req_shed_cause_str(shed),
                             "backlog", backlog >= 0 ? json_integer(backlog) : json_null()));
    return send_reply(conn, r, &rep);
}

/* SSE content reader: runs on the connection's own thread and may block (see req_sse.c). */
static ssize_t sse_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos; /* the stream keeps its own position */
    ssize_t n = req_sse_next(cls, buf, max);
    if (n > 0)
        return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void sse_free(void *cls)
{
    req_sse_close(cls);
}

static enum MHD_Result serve_events(struct req_http *h, struct MHD_Connection *conn,
                                    struct http_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    req_sse *st = NULL;
    rfq_status rs =
        req_sse_open(&st, h->srv, r->who.tenant, r->route.rfq_id, ci ? (int)ci->connect_fd : -1);
    if (rs == RFQ_ENOTFOUND)
        return send_error(conn, r, 404, "no such RFQ");
    if (rs != RFQ_OK)
        return send_error(conn, r, req_http_status_of(rs) == 503 ? 503 : 500,
                          "event stream unavailable");
    /* From here the response owns the stream: sse_free runs when the connection ends, also
     * when queueing fails (MHD_destroy_response). */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_reader, st, sse_free);
    if (!resp) {
        req_sse_close(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        mark_responded(r, MHD_HTTP_OK);
    return ret;
}

/* A dashboard file, or the redirect to it. Not authenticated: the files are public and the
 * page asks for a token itself. The bytes are static (compiled in). */
static enum MHD_Result serve_dashboard(struct MHD_Connection *conn, struct http_req *r)
{
    const struct req_dashboard_file *f = r->dash.file;
    struct MHD_Response *resp =
        f ? MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT)
          : MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    unsigned status = MHD_HTTP_FOUND;
    if (f) {
        status = MHD_HTTP_OK;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
        MHD_add_response_header(resp, "Content-Security-Policy", REQ_DASHBOARD_CSP);
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    } else {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, REQ_DASHBOARD_HOME);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, REQ_DASHBOARD_CACHE);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        mark_responded(r, (int)status);
    return ret;
}

/* GET routes, after authentication. */
static enum MHD_Result serve_get(struct req_http *h, struct MHD_Connection *conn,
                                 struct http_req *r)
{
    struct req_reply rep;
    req_reply_init(&rep);
    switch (r->route.id) {
    case REQ_ROUTE_RFQ:
        req_read_status(h->srv, r->who.tenant, r->route.rfq_id, &rep);
        break;
    case REQ_ROUTE_QUOTES:
        req_read_quotes(h->srv, r->who.tenant, r->route.rfq_id, &rep);
        break;
    case REQ_ROUTE_EVENTS:
        return serve_events(h, conn, r);
    case REQ_ROUTE_USAGE:
        req_usage_read(h->srv, r->who.tenant,
                       MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "month"), &rep);
        break;
    case REQ_ROUTE_RFQS: {
        const char *status;
        int limit;
        struct rfq_err err = {{0}, {0}};
        if (req_list_params(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "status"),
                            MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit"),
                            &status, &limit, &err) != RFQ_OK)
            req_reply_error(&rep, 400, "%s", err.message);
        else
            req_read_list(h->srv, r->who.tenant, status, limit, &rep);
        break;
    }
    default:
        req_reply_error(&rep, 404, "not found");
        break;
    }
    return send_reply(conn, r, &rep);
}

/* Whole request read (no body expected): route, authenticate, answer. */
static enum MHD_Result serve(struct req_http *h, struct MHD_Connection *conn, struct http_req *r)
{
    if (r->route.status == 404)
        return send_error(conn, r, 404, "not found");
    if (r->route.status == 405)
        return send_error(conn, r, 405, "method not allowed");
    if (r->dash.kind != REQ_DASHBOARD_NONE)
        return serve_dashboard(conn, r);
    if (r->route.id == REQ_ROUTE_HEALTH)
        return serve_health(h, conn, r);
    struct req_reply rep;
    req_reply_init(&rep);
    if (req_auth_verify(h->srv->auth, header(conn, MHD_HTTP_HEADER_AUTHORIZATION), &r->who, &rep) !=
            RFQ_OK ||
        req_tenant_admit(h->srv, &r->who, &rep) != RFQ_OK)
        return send_reply(conn, r, &rep);
    return serve_get(h, conn, r);
}

/* First call of a POST /v1/rfqs (headers only): refuse before reading the body when the token,
 * the content type or the announced length is wrong. An answer queued this early makes MHD
 * close the connection afterwards, which is what an unread body needs anyway. */
static enum MHD_Result begin_submit(struct req_http *h, struct MHD_Connection *conn,
                                    struct http_req *r)
{
    struct req_reply rep;
    req_reply_init(&rep);
    if (req_auth_verify(h->srv->auth, header(conn, MHD_HTTP_HEADER_AUTHORIZATION), &r->who, &rep) !=
            RFQ_OK ||
        req_tenant_admit(h->srv, &r->who, &rep) != RFQ_OK)
        return send_reply(conn, r, &rep);
    if (!req_content_type_is_json(header(conn, MHD_HTTP_HEADER_CONTENT_TYPE)))
        return send_error(conn, r, 415, "Content-Type must be application/json");
    const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > (unsigned long long)RFQ_BODY_MAX)
        return send_error(conn, r, 413, BODY_TOO_BIG);
    r->body = malloc((size_t)RFQ_BODY_MAX + 1);
    if (!r->body)
        return send_error(conn, r, 500, "out of memory");
    return MHD_YES;
}

/* First call (headers only). GETs are answered on the final call, so that keep-alive
 * connections stay open; a request that carries a body where none belongs is refused now. */
static enum MHD_Result begin(struct req_http *h, struct MHD_Connection *conn, struct http_req *r)
{
    if (r->route.status == 0 && r->route.method == REQ_METHOD_POST)
        return begin_submit(h, conn, r);
    const char *cl = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if ((cl && strtoull(cl, NULL, 10) > 0) || header(conn, MHD_HTTP_HEADER_TRANSFER_ENCODING))
        return serve(h, conn, r);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct req_http *h = cls;
    struct http_req *r = *con_cls;
    (void)version;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        *con_cls = r;
        r->metrics = &h->srv->metrics;
        req_route_match(&r->route, method, url);
        if (r->route.id == REQ_ROUTE_NONE) {
            /* Not an API path: maybe the dashboard's (its own table, see req_dashboard.h). */
            req_dashboard_match(&r->dash, method, url);
            if (r->dash.kind != REQ_DASHBOARD_NONE) {
                r->route.status = r->dash.status;
                r->route.allow = r->dash.allow;
            }
        }
        return begin(h, conn, r);
    }
    if (r->responded) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!r->body)
            return MHD_YES; /* not a submit: discarded */
        if (r->too_big || r->len + n > (size_t)RFQ_BODY_MAX) {
            /* Over the cap (only a body without Content-Length gets here). MHD 0.9.75 cannot
             * queue a response until the request is complete, so the excess is discarded and
             * 413 sent at the end; past REQ_HTTP_DISCARD_MAX the connection is cut instead,
             * so that an endless upload cannot hold the thread. Nothing is stored. */
            r->too_big = 1;
            r->discarded += n;
            return r->discarded > REQ_HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    if (!r->body)
        return serve(h, conn, r);
    if (r->too_big)
        return send_error(conn, r, 413, BODY_TOO_BIG);
    struct req_reply rep;
    req_reply_init(&rep);
    req_submit_run(h->srv, &r->who, r->body, r->len, header(conn, "traceparent"), &rep);
    if (rep.status >= 500) {
        struct rfq_log_ctx lc = {.component = "requester", .tenant = r->who.tenant};
        RFQ_LOG(&lc, RFQ_WARN, "submit answered %d", rep.status);
    }
    return send_reply(conn, r, &rep);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_req *r = *con_cls;
    (void)cls, (void)conn, (void)toe;
    if (!r)
        return;
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static size_t on_unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls, (void)conn;
    return req_url_unescape(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct req_http *h = cls;
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    RFQ_LOG(&h->srv->log, RFQ_DEBUG, "http: %s", msg);
}

rfq_status req_http_start(struct req_http **out, struct req_server *s, struct rfq_err *err)
{
    *out = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%d", s->cfg.http_port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(s->cfg.http_host, port, &hints, &ai) != 0 || !ai)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_HTTP_ADDR", "%s is not a numeric address",
                           s->cfg.http_host);
    struct req_http *h = calloc(1, sizeof(*h));
    if (!h) {
        freeaddrinfo(ai);
        return RFQ_ENOMEM;
    }
    h->srv = s;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, h, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)REQ_HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)REQ_HTTP_IDLE_TIMEOUT_S, MHD_OPTION_THREAD_STACK_SIZE, (size_t)REQ_HTTP_STACK,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        free(h);
        return rfq_err_set(err, RFQ_EIO, "RFQ_HTTP_ADDR", "cannot listen on %s:%d",
                           s->cfg.http_host, s->cfg.http_port);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : s->cfg.http_port;
    *out = h;
    return RFQ_OK;
}

int req_http_port(const struct req_http *h)
{
    return h ? h->port : 0;
}

void req_http_stop(struct req_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
