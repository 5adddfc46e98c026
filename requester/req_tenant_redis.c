/* req_tenant_redis: per-tenant Redis pools for reads, authenticated as rfq-t-<tenant>. */
#include "req_tenant_redis.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "req_server.h"
#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_redis_acl.h"

#define REQ_TENANT_CONNS 4     /* contexts one tenant's pool holds at most */
#define REQ_TENANT_IDLE_MAX 64 /* tenants whose unused pools are kept (least recent go first) */

/* One tenant's pool; users counts the runs in progress (a pool in use is never freed). */
struct tenant_pool {
    char tenant[RFQ_TENANT_MAX + 1];
    req_redis_pool *pool;
    int users;
    uint64_t last_use; /* value of the tick at the last acquire */
    struct tenant_pool *next;
};

struct req_tenant_redis {
    pthread_mutex_t mu;
    struct tenant_pool *pools; /* guarded by mu */
    int n_pools;
    uint64_t tick;
    unsigned char *secret; /* RFQ_TENANT_SECRET_FILE: derives each tenant's password */
    size_t secret_len;
    const struct req_config *cfg; /* the server's: Redis host, port, timeout */
};

rfq_status req_tenant_redis_create(req_tenant_redis **out, struct req_server *s,
                                   struct rfq_err *err)
{
    *out = NULL;
    if (!s->cfg.tenant_secret[0]) {
        RFQ_LOG(&s->log, RFQ_WARN,
                "RFQ_TENANT_SECRET_FILE is not set: reads use the service Redis user, so Redis "
                "does not confine them to one tenant's keys");
        return RFQ_OK;
    }
    req_tenant_redis *t = calloc(1, sizeof(*t));
    if (!t)
        return RFQ_ENOMEM;
    rfq_status st = rfq_acl_secret_load(s->cfg.tenant_secret, &t->secret, &t->secret_len, err);
    if (st != RFQ_OK) {
        free(t);
        return st;
    }
    pthread_mutex_init(&t->mu, NULL);
    t->cfg = &s->cfg;
    *out = t;
    return RFQ_OK;
}

void req_tenant_redis_destroy(req_tenant_redis *t)
{
    if (!t)
        return;
    for (struct tenant_pool *p = t->pools, *next; p; p = next) {
        next = p->next;
        req_redis_pool_destroy(p->pool);
        free(p);
    }
    OPENSSL_cleanse(t->secret, t->secret_len);
    free(t->secret);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* The tenant's pool with one more user, or NULL. mu held. */
static struct tenant_pool *find_locked(req_tenant_redis *t, const char *tenant)
{
    for (struct tenant_pool *p = t->pools; p; p = p->next)
        if (strcmp(p->tenant, tenant) == 0) {
            p->users++;
            p->last_use = ++t->tick;
            return p;
        }
    return NULL;
}

/* A new pool for tenant: one context connected and authenticated now (a tenant whose Redis
 * user is missing fails here, with RFQ_EAUTH). */
static rfq_status pool_open(req_tenant_redis *t, const char *tenant, req_redis_pool **out,
                            struct rfq_err *err)
{
    char user[RFQ_ACL_USER_MAX], pass[RFQ_ACL_PASSWORD_LEN + 1];
    if (rfq_acl_tenant_user(user, sizeof(user), tenant) != RFQ_OK ||
        rfq_acl_tenant_password(pass, t->secret, t->secret_len, tenant) != RFQ_OK)
        return rfq_err_set(err, RFQ_EINVAL, "tenant", "invalid tenant id");
    const struct req_redis_pool_cfg pc = {
        .target = {t->cfg->common.redis_host, t->cfg->common.redis_port, user, pass},
        .timeout_ms = t->cfg->redis_timeout_ms,
        .max_conns = REQ_TENANT_CONNS,
        .load_scripts = false}; /* the tenant's user has no @scripting */
    rfq_status st = req_redis_pool_create(out, &pc, 0, err);
    OPENSSL_cleanse(pass, sizeof(pass));
    return st;
}

static rfq_status acquire(req_tenant_redis *t, const char *tenant, struct tenant_pool **out,
                          struct rfq_err *err)
{
    pthread_mutex_lock(&t->mu);
    *out = find_locked(t, tenant);
    pthread_mutex_unlock(&t->mu);
    if (*out)
        return RFQ_OK;
    /* Connect outside the lock: other tenants' reads go on meanwhile. */
    req_redis_pool *pool = NULL;
    rfq_status st = pool_open(t, tenant, &pool, err);
    if (st != RFQ_OK)
        return st;
    struct tenant_pool *p = calloc(1, sizeof(*p));
    if (!p) {
        req_redis_pool_destroy(pool);
        return RFQ_ENOMEM;
    }
    pthread_mutex_lock(&t->mu);
    *out = find_locked(t, tenant); /* another thread may have made one meanwhile */
    if (!*out) {
        snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
        p->pool = pool;
        p->users = 1;
        p->last_use = ++t->tick;
        p->next = t->pools;
        t->pools = p;
        t->n_pools++;
        *out = p;
        pool = NULL;
        p = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    req_redis_pool_destroy(pool);
    free(p);
    return RFQ_OK;
}

/* One user less; over the cap, free the least recently used idle pools. */
static void release(req_tenant_redis *t, struct tenant_pool *done)
{
    struct tenant_pool *evicted = NULL;
    pthread_mutex_lock(&t->mu);
    done->users--;
    while (t->n_pools > REQ_TENANT_IDLE_MAX) {
        struct tenant_pool **victim = NULL;
        for (struct tenant_pool **pp = &t->pools; *pp; pp = &(*pp)->next)
            if ((*pp)->users == 0 && (!victim || (*pp)->last_use < (*victim)->last_use))
                victim = pp;
        if (!victim)
            break; /* all in use: the cap is reached again once they finish */
        struct tenant_pool *v = *victim;
        *victim = v->next;
        v->next = evicted;
        evicted = v;
        t->n_pools--;
    }
    pthread_mutex_unlock(&t->mu);
    for (struct tenant_pool *next; evicted; evicted = next) {
        next = evicted->next;
        req_redis_pool_destroy(evicted->pool);
        free(evicted);
    }
}

rfq_status req_tenant_redis_run(struct req_server *s, const char *tenant, req_redis_fn fn,
                                void *arg)
{
    req_tenant_redis *t = s->tenant_redis;
    if (!t)
        return req_redis_pool_run(s->redis, fn, arg);
    struct rfq_log_ctx log = {.component = s->log.component, .tenant = tenant};
    struct rfq_err err = {{0}, {0}};
    struct tenant_pool *p = NULL;
    rfq_status st = acquire(t, tenant, &p, &err);
    if (st != RFQ_OK) {
        /* Refused credentials mean the tenant's Redis user is missing or stale (rfqctl tenant
         * create makes it): an operator must act, so say it. */
        if (st == RFQ_EAUTH)
            RFQ_LOG(&log, RFQ_ERROR, "tenant read connection refused: %s", err.message);
        return st;
    }
    st = req_redis_pool_run(p->pool, fn, arg);
    release(t, p);
    /* fn maps a NOPERM reply to RFQ_EAUTH: a read outside the tenant's keys or commands,
     * which is a bug on our side; the caller answers 500. */
    if (st == RFQ_EAUTH)
        RFQ_LOG(&log, RFQ_ERROR, "Redis refused a read as the tenant's user (NOPERM)");
    return st;
}
