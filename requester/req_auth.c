/* req_auth: bearer tokens to verified identities, with a verified-token cache. */
#include "req_auth.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct auth_slot {
    unsigned char hash[SHA256_DIGEST_LENGTH]; /* SHA-256 of the token; all zero = empty */
    struct rfq_identity who;                  /* identity verified for it (who.exp = exp) */
};

struct req_auth {
    const rfq_jwt_verifier *v; /* borrowed */
    int leeway_s;
    pthread_mutex_t mu; /* guards slots */
    struct auth_slot slots[REQ_AUTH_CACHE_SLOTS];
};

rfq_status req_auth_create(req_auth **out, const rfq_jwt_verifier *v, int leeway_s)
{
    *out = calloc(1, sizeof(**out));
    if (!*out)
        return RFQ_ENOMEM;
    (*out)->v = v;
    (*out)->leeway_s = leeway_s;
    pthread_mutex_init(&(*out)->mu, NULL);
    return RFQ_OK;
}

void req_auth_destroy(req_auth *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a);
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
    while (*p == '=')
        p++;
    const char *end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '\0' || end == start)
        return RFQ_EAUTH;
    if ((size_t)(end - start) > RFQ_JWT_MAX)
        return RFQ_ETOOBIG;
    *token = start;
    *len = (size_t)(end - start);
    return RFQ_OK;
}

/* Cached identity of the token with this hash, if still unexpired at now_s. */
static int cache_get(req_auth *a, const unsigned char *hash, int64_t now_s,
                     struct rfq_identity *who)
{
    struct auth_slot *s = &a->slots[(hash[0] | hash[1] << 8) % REQ_AUTH_CACHE_SLOTS];
    int hit = 0;
    pthread_mutex_lock(&a->mu);
    /* Same test as rfq_jwt: the leeway on our side, as exp may sit near INT64_MAX. */
    if (memcmp(s->hash, hash, sizeof(s->hash)) == 0 && s->who.exp > now_s - a->leeway_s) {
        *who = s->who;
        hit = 1;
    }
    pthread_mutex_unlock(&a->mu);
    return hit;
}

static void cache_put(req_auth *a, const unsigned char *hash, const struct rfq_identity *who)
{
    struct auth_slot *s = &a->slots[(hash[0] | hash[1] << 8) % REQ_AUTH_CACHE_SLOTS];
    pthread_mutex_lock(&a->mu);
    memcpy(s->hash, hash, sizeof(s->hash));
    s->who = *who;
    pthread_mutex_unlock(&a->mu);
}

rfq_status req_auth_verify(req_auth *a, const char *header, struct rfq_identity *who,
                           struct req_reply *out)
{
    const char *tok;
    size_t len;
    if (!header || !*header) {
        req_reply_error(out, 401, "missing Authorization: Bearer token");
        return RFQ_EAUTH;
    }
    rfq_status st = req_auth_parse_bearer(header, &tok, &len);
    if (st == RFQ_ETOOBIG) {
        req_reply_error(out, 401, "token longer than %d bytes", RFQ_JWT_MAX);
        return RFQ_EAUTH;
    }
    if (st != RFQ_OK) {
        req_reply_error(out, 401, "Authorization must be \"Bearer <token>\"");
        return RFQ_EAUTH;
    }
    int64_t now_s = rfq_now_ms() / 1000;
    unsigned char hash[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, len, hash);
    if (cache_get(a, hash, now_s, who))
        return RFQ_OK;
    /* rfq_jwt_verify wants the token NUL-terminated at len. */
    char buf[RFQ_JWT_MAX + 1];
    memcpy(buf, tok, len);
    buf[len] = '\0';
    struct rfq_err err = {{0}, {0}};
    st = rfq_jwt_verify(a->v, buf, len, now_s, who, &err);
    if (st != RFQ_OK) {
        req_reply_header(out, "WWW-Authenticate", "Bearer realm=\"rfq\", error=\"invalid_token\"");
        req_reply_error(out, 401, "invalid token: %s", err.message[0] ? err.message : "rejected");
        return RFQ_EAUTH;
    }
    cache_put(a, hash, who);
    return RFQ_OK;
}
