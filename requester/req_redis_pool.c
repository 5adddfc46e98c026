/* req_redis_pool: borrow/return hiredis contexts; broken ones are replaced. */
#include "req_redis_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rfq_redis.h"

struct req_redis_pool {
    pthread_mutex_t mu;
    pthread_cond_t returned; /* signalled when a context is returned or freed */
    redisContext **idle;     /* stack of idle contexts, capacity max */
    int n_idle;
    int live; /* contexts that exist: idle + borrowed */
    int max;
    char host[256];
    int port;
    int timeout_ms;
};

rfq_status req_redis_pool_create(req_redis_pool **out, const char *host, int port, int timeout_ms,
                                 int max_conns, int wait_ms)
{
    *out = NULL;
    if (max_conns < 1)
        return RFQ_EINVAL;
    req_redis_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return RFQ_ENOMEM;
    p->idle = calloc((size_t)max_conns, sizeof(*p->idle));
    if (!p->idle) {
        free(p);
        return RFQ_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->returned, NULL);
    p->max = max_conns;
    snprintf(p->host, sizeof(p->host), "%s", host);
    p->port = port;
    p->timeout_ms = timeout_ms;
    redisContext *c = NULL;
    rfq_status st = rfq_redis_connect(&c, host, port, timeout_ms, wait_ms);
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
    if (rfq_redis_connect(&c, p->host, p->port, p->timeout_ms, 0) != RFQ_OK) {
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
