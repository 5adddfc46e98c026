/* req_tenant_redis: Redis connections authenticated as one tenant's ACL user, for every read
 * made on behalf of that tenant (status, quotes, listing, events, usage): Redis itself then
 * refuses any key outside rfq:<tenant>:*, whatever our code does. */
#ifndef REQ_TENANT_REDIS_H
#define REQ_TENANT_REDIS_H

#include "req_redis_pool.h"

struct req_server;
typedef struct req_tenant_redis req_tenant_redis;

/* Pools per tenant, made on first use. With no tenant secret configured (isolation off) every
 * read uses the service pool instead and a warning is logged at start. *out is new. */
rfq_status req_tenant_redis_create(req_tenant_redis **out, struct req_server *s,
                                   struct rfq_err *err);
void req_tenant_redis_destroy(req_tenant_redis *t);

/* Run fn on a connection authenticated as tenant (same retry rule as req_redis_pool_run). */
rfq_status req_tenant_redis_run(struct req_server *s, const char *tenant, req_redis_fn fn,
                                void *arg);

#endif
