/* rfq-requester: HTTP and NATS intake of RFQs, and their read API. Thin main over the
 * rfq_requester library. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "req_auth.h"
#include "req_config.h"
#include "req_server.h"
#include "rfq_cfg.h"
#include "rfq_crash.h"
#include "rfq_log.h"
#include "rfq_mem.h"

/* SIGHUP asks for a key-set reload; the main loop does it (not signal-safe work). */
static volatile sig_atomic_t reload_requested;

static void on_sighup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: rfq-requester [--ready-file PATH] [--help]\n"
          "\n"
          "Accepts RFQs over HTTP (POST /v1/rfqs) and NATS (rfq.v1.submit), stores them in\n"
          "Redis, scatters them to responders, and serves status, quotes, listings and events.\n"
          "\n"
          "environment:\n"
          "  RFQ_HTTP_ADDR     listen address host:port (127.0.0.1:8080; port 0 = any)\n"
          "  RFQ_JWT_KEYS      key-set file: {\"keys\":[{\"kid\",\"alg\",\"key_file\"|\n"
          "                    \"secret_file\"|\"pem\"}]}; reloaded on SIGHUP and when it or\n"
          "                    a key file changes\n"
          "  RFQ_JWT_KEY       one PEM public key (kid \"default\"), when RFQ_JWT_KEYS is unset\n"
          "  RFQ_JWT_ALG       algorithm of RFQ_JWT_KEY: ES256 | RS256 (ES256)\n"
          "  RFQ_JWT_ISS       required issuer (rfq-dev)\n"
          "  RFQ_JWT_AUD       required audience (rfq-engine)\n"
          "  RFQ_JWT_LEEWAY_S  clock skew allowed on exp/nbf, seconds (30)\n"
          "  RFQ_RETENTION_MS  how long a closed RFQ stays readable after its deadline\n"
          "                    (86400000)\n"
          "  RFQ_TENANT_SECRET_FILE\n"
          "                    secret file (>= 32 bytes) the tenants' Redis passwords derive\n"
          "                    from, shared with rfqctl tenant: reads run as the tenant's own\n"
          "                    Redis user rfq-t-<tenant> (unset: as the service user)\n"
          "  RFQ_SHED_BACKLOG  quotes waiting for the aggregators beyond which new RFQs get\n"
          "                    503 with Retry-After (20000; 0 = no limit)\n"
          "  RFQ_SHED_DRAIN_MS time the aggregators need to work off that backlog at their\n"
          "                    measured rate beyond which new RFQs get 503 (2000; judged\n"
          "                    from 500 waiting quotes on; 0 = no limit)\n"
          "  RFQ_SHED_REDIS_MS Redis PING round trip beyond which new RFQs get 503 (200;\n"
          "                    0 = no limit); all measured every RFQ_SHED_INTERVAL_MS (250)\n"
          "  RFQ_SUBMIT_WORKERS\n"
          "                    handlers of the NATS submit (rfq.v1.submit) working in\n"
          "                    parallel (16; 1..256)\n"
          "  RFQ_NATS_URL      nats://[user:password@]host:port (nats://127.0.0.1:4222)\n"
          "  RFQ_REDIS_URL     redis://[user:password@]host:port (redis://127.0.0.1:6379);\n"
          "                    the service user, e.g. redis://rfq-svc:PASSWORD@127.0.0.1:6379.\n"
          "                    Passwords in URLs are shown as *** in logs\n"
          "  RFQ_READY_FILE    file written with the pid once serving (--ready-file)\n"
          "  RFQ_METRICS_ADDR  host:port serving GET /metrics, apart from the API (none)\n"
          "  RFQ_LOG_LEVEL     debug | info | warn | error (info)\n",
          f);
}

int main(int argc, char **argv)
{
    rfq_mem_tune();
    struct rfq_log_ctx log = {.component = "requester"};
    const char *ready_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--ready-file") == 0 && i + 1 < argc) {
            ready_file = argv[++i];
        } else {
            fprintf(stderr, "rfq-requester: unknown argument %s\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    rfq_log_set_level(rfq_env_str("RFQ_LOG_LEVEL", "info"));
    /* Each HTTP connection takes a descriptor, each event stream one more: allow the hard
     * limit, not the usual soft 1024. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        setrlimit(RLIMIT_NOFILE, &nofile);
    }
    volatile int *stop = rfq_signals_install();
    rfq_crash_report_install("requester");
    struct sigaction hup = {.sa_handler = on_sighup, .sa_flags = SA_RESTART};
    sigemptyset(&hup.sa_mask);
    sigaction(SIGHUP, &hup, NULL);

    struct req_config cfg;
    struct rfq_err err = {{0}, {0}};
    if (req_config_load(&cfg, &err) != RFQ_OK) {
        RFQ_LOG(&log, RFQ_ERROR, "configuration: %s", err.message);
        return 2;
    }
    if (ready_file)
        snprintf(cfg.common.ready_file, sizeof(cfg.common.ready_file), "%s", ready_file);

    struct req_server *srv = NULL;
    if (req_server_create(&srv, &cfg, 10000, &err) != RFQ_OK) {
        RFQ_LOG(&log, RFQ_ERROR, "start: %s", err.message);
        return 1;
    }
    if (req_server_start(srv, &err) != RFQ_OK) {
        RFQ_LOG(&log, RFQ_ERROR, "start: %s", err.message);
        req_server_destroy(srv);
        return 1;
    }
    if (rfq_ready_file_write(cfg.common.ready_file) != RFQ_OK)
        RFQ_LOG(&log, RFQ_WARN, "cannot write ready file %s", cfg.common.ready_file);

    char kids[512];
    RFQ_LOG(&log, RFQ_INFO, "token keys: kids %s",
            rfq_jwt_verifier_kids(srv->jwt, kids, sizeof(kids)));
    while (!*stop) {
        usleep(100 * 1000);
        if (reload_requested) {
            reload_requested = 0;
            req_auth_reload(srv->auth, "SIGHUP");
        }
    }
    RFQ_LOG(&log, RFQ_INFO, "stopping");
    req_server_destroy(srv);
    if (cfg.common.ready_file[0])
        unlink(cfg.common.ready_file);
    return 0;
}
