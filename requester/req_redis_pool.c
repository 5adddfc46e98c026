/* req_redis_pool: borrow/return hiredis contexts; broken ones are replaced. */
#include "req_redis_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "rfq_redis.h"

struct req_redis_pool {
    pthread_mutex_t mu;
    pthread_cond_t returned; /* signalled when a context is returned or freed */
    redisContext **idle;     /* stack of idle contexts, capacity max */
    int n_idle;
    int live; /* contexts that exist: idle + borrowed */
    int max;
    char host[256], user[128], pass[256]; /* pass wiped at destroy */
    struct rfq_redis_target target;       /* points at the copies above */
    int timeout_ms;
    bool load_scripts;
};

rfq_status req_redis_pool_create(req_redis_pool **out, const struct req_redis_pool_cfg *cfg,
                                 int wait_ms, struct rfq_err *err)
{
    *out = NULL;
    if (cfg->max_conns < 1 || !cfg->target.host)
        return RFQ_EINVAL;
    req_redis_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return RFQ_ENOMEM;
    p->idle = calloc((size_t)cfg->max_conns, sizeof(*p->idle));
    if (!p->idle) {
        free(p);
        return RFQ_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->returned, NULL);
    p->max = cfg->max_conns;
    snprintf(p->host, sizeof(p->host), "%s", cfg->target.host);
    snprintf(p->user, sizeof(p->user), "%s", cfg->target.user ? cfg->target.user : "");
    snprintf(p->pass, sizeof(p->pass), "%s", cfg->target.pass ? cfg->target.pass : "");
    p->target = (struct rfq_redis_target){p->host, cfg->target.port, p->user, p->pass};
    p->timeout_ms = cfg->timeout_ms;
    p->load_scripts = cfg->load_scripts;
    redisContext *c = NULL;
    rfq_status st = rfq_redis_open(&c, &p->target, p->timeout_ms, wait_ms, p->load_scripts, err);
    if (st != RFQ_OK) {
        req_redis_pool_destroy(p);
        return st;
    }
    p->idle[p->n_idle++] = c;
    p->live = 1;
    *out = p;
    return RFQ_OK;
}

void req_redis_pool_destroy(req_redis_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n_idle; i++)
        redisFree(p->idle[i]);
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    OPENSSL_cleanse(p->pass, sizeof(p->pass));
    free(p);
}

redisContext *req_redis_pool_get(req_redis_pool *p)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += p->timeout_ms / 1000;
    until.tv_nsec += (long)(p->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    while (p->n_idle == 0 && p->live >= p->max) {
        if (pthread_cond_timedwait(&p->returned, &p->mu, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
    }
    if (p->n_idle > 0) {
        redisContext *c = p->idle[--p->n_idle];
        pthread_mutex_unlock(&p->mu);
        return c;
    }
    p->live++;
    pthread_mutex_unlock(&p->mu);

    /* Connect outside the lock: one attempt, bounded by the command timeout. */
    redisContext *c = NULL;
    if (rfq_redis_open(&c, &p->target, p->timeout_ms, 0, p->load_scripts, NULL) != RFQ_OK) {
        pthread_mutex_lock(&p->mu);
        p->live--;
        pthread_cond_signal(&p->returned);
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    return c;
}

void req_redis_pool_put(req_redis_pool *p, redisContext *c)
{
    if (!c)
        return;
    redisContext *stale[64];
    int n_stale = 0;
    pthread_mutex_lock(&p->mu);
    if (c->err) {
        stale[n_stale++] = c;
        p->live--;
        /* The others were connected to the same server: drop them too (up to 63 at a time). */
        while (p->n_idle > 0 && n_stale < 64) {
            stale[n_stale++] = p->idle[--p->n_idle];
            p->live--;
        }
    } else {
        p->idle[p->n_idle++] = c;
    }
    pthread_cond_broadcast(&p->returned);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n_stale; i++)
        redisFree(stale[i]);
}

rfq_status req_redis_pool_run(req_redis_pool *p, req_redis_fn fn, void *arg)
{
    rfq_status st = RFQ_EREDIS;
    for (int attempt = 0; attempt < 2; attempt++) {
        redisContext *c = req_redis_pool_get(p);
        if (!c)
            return RFQ_EREDIS;
        st = fn(c, arg);
        int broken = c->err != 0;
        req_redis_pool_put(p, c);
        if (!broken)
            break;
    }
    return st;
}

rfq_status req_redis_ping(redisContext *c, void *arg)
{
    (void)arg;
    redisReply *r = redisCommand(c, "PING");
    rfq_status st = r && r->type == REDIS_REPLY_STATUS ? RFQ_OK : RFQ_EREDIS;
    if (r)
        freeReplyObject(r);
    return st;
}
