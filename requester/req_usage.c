/* req_usage: the tenant's usage counters of a month, one HMGET. */
#include "req_usage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req_tenant_redis.h"

const char *const req_usage_fields[REQ_USAGE_FIELDS] = {
    "rfqs", "quotes", "declines", "fanout", "completed", "expired", "throttled"};

rfq_status req_usage_month(const char *param, int64_t now_ms, char out[RFQ_MONTH_LEN + 1],
                           struct rfq_err *err)
{
    if (!param)
        return rfq_month_utc(now_ms, out) == RFQ_OK
                   ? RFQ_OK
                   : rfq_err_set(err, RFQ_EINVAL, "month", "the clock is out of range");
    if (!rfq_month_valid(param)) {
        out[0] = '\0';
        return rfq_err_set(err, RFQ_EINVAL, "month", "month must be YYYY-MM (UTC, 01..12)");
    }
    memcpy(out, param, RFQ_MONTH_LEN + 1);
    return RFQ_OK;
}

json_t *req_usage_json(const char *tenant, const char *month,
                       const long long counters[REQ_USAGE_FIELDS])
{
    json_t *j = json_pack("{s:s,s:s}", "tenant", tenant, "month", month);
    for (int i = 0; j && i < REQ_USAGE_FIELDS; i++)
        if (json_object_set_new(j, req_usage_fields[i], json_integer(counters[i])) != 0) {
            json_decref(j);
            return NULL;
        }
    return j;
}

struct usage_call {
    const char *key;
    long long counters[REQ_USAGE_FIELDS];
};

/* A counter from an HMGET element: nil (never written) is 0. */
static rfq_status counter_of(const redisReply *e, long long *out)
{
    *out = 0;
    if (!e || e->type == REDIS_REPLY_NIL)
        return RFQ_OK;
    if (e->type != REDIS_REPLY_STRING)
        return RFQ_EPROTO;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(e->str, &end, 10);
    if (errno || !end || *end || end == e->str)
        return RFQ_EPROTO;
    *out = v;
    return RFQ_OK;
}

/* HMGET only: the tenant's Redis user may read its own keys but run no keyspace command
 * (EXISTS, TYPE, SCAN), and an absent hash reads as all nils anyway. */
static rfq_status usage_redis(redisContext *c, void *arg)
{
    struct usage_call *uc = arg;
    const char *argv[2 + REQ_USAGE_FIELDS] = {"HMGET", uc->key};
    for (int i = 0; i < REQ_USAGE_FIELDS; i++)
        argv[2 + i] = req_usage_fields[i];
    redisReply *r = redisCommandArgv(c, 2 + REQ_USAGE_FIELDS, argv, NULL);
    if (!r)
        return RFQ_EREDIS;
    rfq_status st = RFQ_EREDIS;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == REQ_USAGE_FIELDS) {
        st = RFQ_OK;
        for (int i = 0; st == RFQ_OK && i < REQ_USAGE_FIELDS; i++)
            st = counter_of(r->element[i], &uc->counters[i]);
    }
    freeReplyObject(r);
    return st;
}

void req_usage_read(struct req_server *s, const char *tenant, const char *month,
                    struct req_reply *out)
{
    struct rfq_err err = {{0}, {0}};
    char m[RFQ_MONTH_LEN + 1], key[RFQ_KEY_MAX];
    if (req_usage_month(month, rfq_now_ms(), m, &err) != RFQ_OK) {
        req_reply_error(out, 400, "%s", err.message);
        return;
    }
    if (rfq_key_usage(key, sizeof(key), tenant, m) != RFQ_OK) {
        req_reply_error(out, 500, "cannot name the usage of tenant %s", tenant);
        return;
    }
    struct usage_call uc = {.key = key};
    rfq_status st = req_tenant_redis_run(s, tenant, usage_redis, &uc);
    if (st == RFQ_OK)
        req_reply_json(out, 200, req_usage_json(tenant, m, uc.counters));
    else if (st == RFQ_EPROTO)
        req_reply_error(out, 500, "cannot read the usage");
    else
        req_reply_error(out, 503, "storage unavailable");
}
