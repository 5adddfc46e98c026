/* rfq_cfg: environment configuration, ready files and stop signals. */
#include "rfq_cfg.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *rfq_env_str(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int64_t rfq_env_int(const char *name, int64_t def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || !end || *end) {
        fprintf(stderr, "configuration error: %s=%s is not an integer\n", name, v);
        exit(2);
    }
    return (int64_t)x;
}

rfq_status rfq_parse_redis_url(const char *url, char *host, size_t host_cap, int *port)
{
    const char *p = url;
    if (strncmp(p, "redis://", 8) == 0)
        p += 8;
    const char *colon = strrchr(p, ':');
    size_t hlen = colon ? (size_t)(colon - p) : strlen(p);
    if (hlen == 0 || hlen >= host_cap)
        return RFQ_EINVAL;
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    *port = 6379;
    if (colon) {
        char *end = NULL;
        long v = strtol(colon + 1, &end, 10);
        if (!end || (*end && *end != '/') || v <= 0 || v > 65535)
            return RFQ_EINVAL;
        *port = (int)v;
    }
    return RFQ_OK;
}

rfq_status rfq_common_cfg_load(struct rfq_common_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->nats_url, sizeof(cfg->nats_url), "%s",
             rfq_env_str("RFQ_NATS_URL", "nats://127.0.0.1:4222"));
    snprintf(cfg->ready_file, sizeof(cfg->ready_file), "%s", rfq_env_str("RFQ_READY_FILE", ""));
    const char *redis = rfq_env_str("RFQ_REDIS_URL", "redis://127.0.0.1:6379");
    if (rfq_parse_redis_url(redis, cfg->redis_host, sizeof(cfg->redis_host), &cfg->redis_port) !=
        RFQ_OK) {
        fprintf(stderr, "configuration error: RFQ_REDIS_URL=%s is not redis://host:port\n", redis);
        return RFQ_EINVAL;
    }
    return RFQ_OK;
}

rfq_status rfq_ready_file_write(const char *path)
{
    if (!path || !*path)
        return RFQ_OK;
    char tmp[600];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return RFQ_EIO;
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return RFQ_EIO;
    return RFQ_OK;
}

static volatile int stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

volatile int *rfq_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return &stop_requested;
}
