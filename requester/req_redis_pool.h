/* req_redis_pool: a mutex-protected pool of hiredis contexts shared by the HTTP and NATS
 * handler threads (a hiredis context serves one thread at a time). */
#ifndef REQ_REDIS_POOL_H
#define REQ_REDIS_POOL_H

#include <stdbool.h>

#include <hiredis/hiredis.h>

#include "rfq_redis.h"
#include "rfq_status.h"

typedef struct req_redis_pool req_redis_pool;

/* Where the pool's connections go and as whom. */
struct req_redis_pool_cfg {
    struct rfq_redis_target target; /* strings copied by create */
    int timeout_ms;                 /* per-command timeout, also the wait for a free context */
    int max_conns;                  /* at most this many contexts exist at once */
    bool load_scripts;              /* the service user loads the Lua scripts; a tenant's
                                       read-only user may not */
};

/* Create a pool. Connects (and authenticates) one context now, retrying for up to wait_ms, so
 * that a dead Redis or refused credentials stop the process at start; the others are made on
 * demand. err (may be NULL) says what failed. *out is new (req_redis_pool_destroy). */
rfq_status req_redis_pool_create(req_redis_pool **out, const struct req_redis_pool_cfg *cfg,
                                 int wait_ms, struct rfq_err *err);
/* Free every idle context and the pool. Contexts still borrowed must have been returned. */
void req_redis_pool_destroy(req_redis_pool *p);

/* Borrow a context: an idle one, or a new one (scripts loaded) when below the cap; waits up to
 * the command timeout for one to be returned at the cap. NULL when Redis is unreachable. */
redisContext *req_redis_pool_get(req_redis_pool *p);
/* Return a borrowed context. A context with an I/O error (c->err) is freed instead, and so are
 * all idle ones: after a Redis restart they are all broken, and the next get reconnects. */
void req_redis_pool_put(req_redis_pool *p, redisContext *c);

/* Run fn on a borrowed context. When it fails with an I/O error (c->err set), run it once more
 * on a fresh context: a pooled connection may have died while idle. fn must be safe to repeat.
 * Returns fn's status, or RFQ_EREDIS when no context could be had. */
typedef rfq_status (*req_redis_fn)(redisContext *c, void *arg);
rfq_status req_redis_pool_run(req_redis_pool *p, req_redis_fn fn, void *arg);

/* A req_redis_fn that sends PING (arg unused): RFQ_OK on a status reply, else RFQ_EREDIS. */
rfq_status req_redis_ping(redisContext *c, void *arg);

#endif
