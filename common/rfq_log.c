/* rfq_log: JSON-lines logger; one fprintf per line so lines from threads do not interleave. */
#include "rfq_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

rfq_log_level rfq_log_min_level = RFQ_INFO;

void rfq_log_set_level(const char *name)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (!name)
        return;
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            rfq_log_min_level = (rfq_log_level)i;
}

/* Append s to out as JSON string content (without quotes), escaping what JSON requires. */
static size_t json_escape(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

void rfq_log_write(const struct rfq_log_ctx *ctx, rfq_log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char msg[1024], esc[2048], tenant[160] = "", rfq[160] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_escape(esc, sizeof(esc), msg);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    if (ctx && ctx->tenant) {
        char t[128];
        json_escape(t, sizeof(t), ctx->tenant);
        snprintf(tenant, sizeof(tenant), ",\"tenant\":\"%s\"", t);
    }
    if (ctx && ctx->rfq_id) {
        char r[128];
        json_escape(r, sizeof(r), ctx->rfq_id);
        snprintf(rfq, sizeof(rfq), ",\"rfq_id\":\"%s\"", r);
    }
    fprintf(stderr, "{\"ts_ms\":%lld,\"level\":\"%s\",\"component\":\"%s\"%s%s,\"msg\":\"%s\"}\n",
            ms, names[lvl], ctx && ctx->component ? ctx->component : "rfq", tenant, rfq, esc);
}
