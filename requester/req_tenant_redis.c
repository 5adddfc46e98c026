/* req_tenant_redis: per-tenant Redis pools for reads. */
#include "req_tenant_redis.h"

#include "req_server.h"

rfq_status req_tenant_redis_create(req_tenant_redis **out, struct req_server *s,
                                   struct rfq_err *err)
{
    (void)s;
    (void)err;
    *out = NULL;
    return RFQ_OK;
}

void req_tenant_redis_destroy(req_tenant_redis *t)
{
    (void)t;
}

rfq_status req_tenant_redis_run(struct req_server *s, const char *tenant, req_redis_fn fn,
                                void *arg)
{
    (void)tenant;
    return req_redis_pool_run(s->redis, fn, arg);
}
