/* rfq_cfg: environment configuration, ready files and stop signals. */
#include "rfq_cfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

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

/* Percent-decode n bytes of src into out (NUL-terminated); false when it does not fit or
 * holds a bad escape or a NUL. */
static bool pct_decode(const char *src, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            if (i + 2 >= n || !isxdigit((unsigned char)src[i + 1]) ||
                !isxdigit((unsigned char)src[i + 2]))
                return false;
            char hex[3] = {src[i + 1], src[i + 2], '\0'};
            c = (int)strtol(hex, NULL, 16);
            if (c == 0)
                return false;
            i += 2;
        }
        if (k + 1 >= cap)
            return false;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return true;
}

rfq_status rfq_parse_redis_url_auth(const char *url, char *host, size_t host_cap, int *port,
                                    char *user, size_t user_cap, char *pass, size_t pass_cap)
{
    const char *p = url;
    if (user_cap)
        user[0] = '\0';
    if (pass_cap)
        pass[0] = '\0';
    if (strncmp(p, "redis://", 8) == 0)
        p += 8;
    /* Userinfo ends at the last '@' (a raw '@' in a password stays part of it). */
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *pw = colon ? colon + 1 : p;
        if (colon && !pct_decode(p, (size_t)(colon - p), user, user_cap))
            return RFQ_EINVAL;
        if (!pct_decode(pw, (size_t)(at - pw), pass, pass_cap) || !pass[0])
            return RFQ_EINVAL;
        p = at + 1;
    }
    const char *colon = strrchr(p, ':');
    size_t hlen = colon ? (size_t)(colon - p) : strcspn(p, "/");
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

rfq_status rfq_parse_redis_url(const char *url, char *host, size_t host_cap, int *port)
{
    char user[128], pass[256];
    rfq_status st =
        rfq_parse_redis_url_auth(url, host, host_cap, port, user, sizeof(user), pass, sizeof(pass));
    OPENSSL_cleanse(pass, sizeof(pass));
    return st;
}

/* Append n bytes of src to out (capacity cap, length *k), dropping what does not fit. */
static void put(char *out, size_t cap, size_t *k, const char *src, size_t n)
{
    size_t room = cap - 1 - *k;
    if (n > room)
        n = room;
    memcpy(out + *k, src, n);
    *k += n;
}

const char *rfq_url_redact(const char *url, char *out, size_t cap)
{
    if (cap == 0)
        return out;
    size_t k = 0;
    const char *p = url ? url : "";
    /* Each element of a comma list: [scheme://][userinfo@]host[:port][/path]. */
    for (;;) {
        size_t elen = strcspn(p, ",");
        const char *scheme = strstr(p, "://");
        const char *auth = scheme && scheme < p + elen ? scheme + 3 : p;
        put(out, cap, &k, p, (size_t)(auth - p));
        /* The userinfo ends at the last '@' before the path. Keep the user name, hide the
         * password (or a lone token). */
        size_t alen = strcspn(auth, ",/");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q;
        const char *rest = auth;
        if (at) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            if (colon)
                put(out, cap, &k, auth, (size_t)(colon + 1 - auth));
            put(out, cap, &k, "***", 3);
            rest = at;
        }
        put(out, cap, &k, rest, (size_t)(p + elen - rest));
        p += elen;
        if (!*p)
            break;
        put(out, cap, &k, p++, 1); /* the comma */
    }
    out[k] = '\0';
    return out;
}

rfq_status rfq_parse_listen_addr(const char *addr, char *host, size_t host_cap, int *port)
{
    const char *hs = addr, *he, *colon;
    if (!addr || !*addr)
        return RFQ_EINVAL;
    if (addr[0] == '[') {
        hs = addr + 1;
        he = strchr(hs, ']');
        if (!he || he[1] != ':')
            return RFQ_EINVAL;
        colon = he + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon)
            return RFQ_EINVAL;
        he = colon;
    }
    size_t hlen = (size_t)(he - hs);
    if (hlen >= host_cap)
        return RFQ_EINVAL;
    if (hlen == 0)
        snprintf(host, host_cap, "%s", "0.0.0.0");
    else {
        memcpy(host, hs, hlen);
        host[hlen] = '\0';
    }
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || !end || *end || p < 0 || p > 65535)
        return RFQ_EINVAL;
    *port = (int)p;
    return RFQ_OK;
}

rfq_status rfq_common_cfg_load(struct rfq_common_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->nats_url, sizeof(cfg->nats_url), "%s",
             rfq_env_str("RFQ_NATS_URL", "nats://127.0.0.1:4222"));
    snprintf(cfg->ready_file, sizeof(cfg->ready_file), "%s", rfq_env_str("RFQ_READY_FILE", ""));
    const char *redis = rfq_env_str("RFQ_REDIS_URL", "redis://127.0.0.1:6379");
    if (rfq_parse_redis_url_auth(redis, cfg->redis_host, sizeof(cfg->redis_host), &cfg->redis_port,
                                 cfg->redis_user, sizeof(cfg->redis_user), cfg->redis_pass,
                                 sizeof(cfg->redis_pass)) != RFQ_OK) {
        char shown[600];
        fprintf(stderr,
                "configuration error: RFQ_REDIS_URL=%s is not redis://[user:password@]host:port\n",
                rfq_url_redact(redis, shown, sizeof(shown)));
        return RFQ_EINVAL;
    }
    snprintf(cfg->metrics_addr, sizeof(cfg->metrics_addr), "%s",
             rfq_env_str("RFQ_METRICS_ADDR", ""));
    char host[256];
    int port = 0;
    if (cfg->metrics_addr[0] &&
        rfq_parse_listen_addr(cfg->metrics_addr, host, sizeof(host), &port) != RFQ_OK) {
        fprintf(stderr, "configuration error: RFQ_METRICS_ADDR=%s is not host:port\n",
                cfg->metrics_addr);
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
