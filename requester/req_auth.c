/* req_auth: bearer tokens to verified identities, with a verified-token cache, and key-set
 * reloads. */
#include "req_auth.h"

#include <errno.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rfq_log.h"

struct auth_slot {
    unsigned char hash[SHA256_DIGEST_LENGTH]; /* SHA-256 of the token; all zero = empty */
    uint64_t generation;                      /* key-set generation it was verified with */
    struct rfq_identity who;                  /* identity verified for it (who.exp = exp) */
};

struct req_auth {
    rfq_jwt_verifier *v; /* borrowed */
    int leeway_s;
    struct rfq_log_ctx log;
    pthread_mutex_t mu; /* guards slots */
    struct auth_slot slots[REQ_AUTH_CACHE_SLOTS];
    /* key-file watch thread */
    pthread_mutex_t watch_mu; /* guards stop, with watch_cv */
    pthread_cond_t watch_cv;  /* signalled to stop the thread */
    int stop;
    int watching; /* the thread was started */
    int interval_ms;
    pthread_t watcher;
};

rfq_status req_auth_create(req_auth **out, rfq_jwt_verifier *v, int leeway_s)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return RFQ_ENOMEM;
    (*out)->v = v;
    (*out)->leeway_s = leeway_s;
    (*out)->log.component = "requester";
    pthread_mutex_init(&(*out)->mu, NULL);
    pthread_mutex_init(&(*out)->watch_mu, NULL);
    pthread_cond_init(&(*out)->watch_cv, NULL);
    return RFQ_OK;
}

void req_auth_destroy(req_auth *a)
{
    if (!a)
        return;
    if (a->watching) {
        pthread_mutex_lock(&a->watch_mu);
        a->stop = 1;
        pthread_cond_signal(&a->watch_cv);
        pthread_mutex_unlock(&a->watch_mu);
        pthread_join(a->watcher, NULL);
    }
    pthread_cond_destroy(&a->watch_cv);
    pthread_mutex_destroy(&a->watch_mu);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static void cache_clear(req_auth *a)
{
    pthread_mutex_lock(&a->mu);
    memset(a->slots, 0, sizeof(a->slots));
    pthread_mutex_unlock(&a->mu);
}

/* Log the outcome of a reload attempt; empty the cache after a successful one. */
static rfq_status reload_done(req_auth *a, rfq_status st, const struct rfq_err *err,
                              const char *trigger)
{
    if (st != RFQ_OK) {
        RFQ_LOG(&a->log, RFQ_ERROR, "key set reload (%s) failed, keeping the previous keys: %s",
                trigger, err->message[0] ? err->message : rfq_status_str(st));
        return st;
    }
    cache_clear(a);
    char kids[512];
    RFQ_LOG(&a->log, RFQ_INFO, "key set reloaded (%s): kids %s", trigger,
            rfq_jwt_verifier_kids(a->v, kids, sizeof(kids)));
    return RFQ_OK;
}

rfq_status req_auth_reload(req_auth *a, const char *trigger)
{
    struct rfq_err err = {{0}, {0}};
    return reload_done(a, rfq_jwt_verifier_reload(a->v, &err), &err, trigger);
}

/* Watch thread: stat the key files every interval; reload when one changed. */
static void *watch_main(void *arg)
{
    req_auth *a = arg;
    pthread_mutex_lock(&a->watch_mu);
    while (!a->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += a->interval_ms / 1000;
        until.tv_nsec += (long)(a->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->watch_cv, &a->watch_mu, &until);
        if (a->stop)
            break;
        pthread_mutex_unlock(&a->watch_mu);
        struct rfq_err err = {{0}, {0}};
        int reloaded = 0;
        rfq_status st = rfq_jwt_verifier_poll(a->v, &reloaded, &err);
        if (reloaded)
            reload_done(a, st, &err, "key file changed");
        pthread_mutex_lock(&a->watch_mu);
    }
    pthread_mutex_unlock(&a->watch_mu);
    return NULL;
}

rfq_status req_auth_watch_start(req_auth *a, int interval_ms)
{
    if (a->watching || interval_ms < 1)
        return RFQ_EINVAL;
    a->interval_ms = interval_ms;
    if (pthread_create(&a->watcher, NULL, watch_main, a) != 0)
        return RFQ_EIO;
    a->watching = 1;
    return RFQ_OK;
}

static int token68_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

rfq_status req_auth_parse_bearer(const char *header, const char **token, size_t *len)
{
    *token = NULL;
    *len = 0;
    if (!header || strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
        return RFQ_EAUTH;
    const char *p = header + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *start = p;
    while (token68_char(*p))
        p++;
    /* token68 needs one character before any '=' (RFC 7235 2.1): "Bearer ===" is no token. */
    const char *chars_end = p;
    while (*p == '=')
        p++;
    const char *end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' || chars_end == start)
        return RFQ_EAUTH;
    if ((size_t)(end - start) > RFQ_JWT_MAX)
        return RFQ_ETOOBIG;
    *token = start;
    *len = (size_t)(end - start);
    return RFQ_OK;
}

/* Cached identity of the token with this hash, if verified with key-set generation gen and
 * still unexpired at now_s. */
static int cache_get(req_auth *a, const unsigned char *hash, uint64_t gen, int64_t now_s,
                     struct rfq_identity *who)
{
    struct auth_slot *s = &a->slots[(hash[0] | hash[1] << 8) % REQ_AUTH_CACHE_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&a->mu);
    /* Same test as rfq_jwt: the leeway on our side, as exp may sit near INT64_MAX. */
    if (memcmp(s->hash, hash, sizeof(s->hash)) == 0 && s->generation == gen &&
        s->who.exp > now_s - a->leeway_s) {
        *who = s->who;
        hit = 1;
    }
    pthread_mutex_unlock(&a->mu);
    return hit;
}

static void cache_put(req_auth *a, const unsigned char *hash, uint64_t gen,
                      const struct rfq_identity *who)
{
    struct auth_slot *s = &a->slots[(hash[0] | hash[1] << 8) % REQ_AUTH_CACHE_SLOTS];
    pthread_mutex_lock(&a->mu);
    memcpy(s->hash, hash, sizeof(s->hash));
    s->generation = gen;
    s->who = *who;
    pthread_mutex_unlock(&a->mu);
}

/* True when the header uses the Bearer scheme (well-formed or not): a token was presented. */
static int bearer_scheme(const char *header)
{
    return strncasecmp(header, "Bearer", 6) == 0 &&
           (header[6] == '\0' || header[6] == ' ' || header[6] == '\t');
}

/* A 401 answer. With a presented token the challenge says why (RFC 6750 3.1), the reason
 * reduced to printable ASCII without quotes or backslashes so it stays one quoted-string. */
static void reply_401(struct req_reply *out, int presented, const char *reason)
{
    if (presented) {
        char desc[REQ_AUTH_DESC_MAX + 1];
        size_t n = 0;
        for (const char *p = reason; *p && n < REQ_AUTH_DESC_MAX; p++)
            desc[n++] = (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? *p : ' ';
        desc[n] = '\0';
        req_reply_header(out, "WWW-Authenticate",
                         "Bearer realm=\"rfq\", error=\"invalid_token\", "
                         "error_description=\"%s\"",
                         desc);
        req_reply_error(out, 401, "invalid token: %s", reason);
    } else {
        req_reply_header(out, "WWW-Authenticate", "Bearer realm=\"rfq\"");
        req_reply_error(out, 401, "%s", reason);
    }
}

rfq_status req_auth_verify(req_auth *a, const char *header, struct rfq_identity *who,
                           struct req_reply *out)
{
    const char *tok;
    size_t len;
    if (!header || !*header) {
        reply_401(out, 0, "missing Authorization: Bearer token");
        return RFQ_EAUTH;
    }
    if (!bearer_scheme(header)) {
        reply_401(out, 0, "Authorization must be \"Bearer <token>\"");
        return RFQ_EAUTH;
    }
    rfq_status st = req_auth_parse_bearer(header, &tok, &len);
    if (st == RFQ_ETOOBIG) {
        char why[64];
        snprintf(why, sizeof(why), "token longer than %d bytes", RFQ_JWT_MAX);
        reply_401(out, 1, why);
        return RFQ_EAUTH;
    }
    if (st != RFQ_OK) {
        reply_401(out, 1, "malformed Authorization header");
        return RFQ_EAUTH;
    }
    int64_t now_s = rfq_now_ms() / 1000;
    unsigned char hash[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, len, hash);
    /* Read before verifying: a reload during the verification leaves an entry that never
     * hits, rather than one that outlives a removed key. */
    uint64_t gen = rfq_jwt_verifier_generation(a->v);
    if (cache_get(a, hash, gen, now_s, who))
        return RFQ_OK;
    /* rfq_jwt_verify wants the token NUL-terminated at len. */
    char buf[RFQ_JWT_MAX + 1];
    memcpy(buf, tok, len);
    buf[len] = '\0';
    struct rfq_err err = {{0}, {0}};
    st = rfq_jwt_verify(a->v, buf, len, now_s, who, &err);
    if (st != RFQ_OK) {
        /* The reason only: never the token. */
        RFQ_LOG(&a->log, RFQ_DEBUG, "token refused: %s%s%s", err.message,
                err.field[0] ? " field=" : "", err.field);
        reply_401(out, 1, err.message[0] ? err.message : "rejected");
        return RFQ_EAUTH;
    }
    cache_put(a, hash, gen, who);
    return RFQ_OK;
}
