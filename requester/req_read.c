/* req_read: status, ranked quotes and listings, each in one pipelined Redis round trip. */
#include "req_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req_tenant_redis.h"
#include "rfq_ids.h"

#define REQ_LIST_DEFAULT 20
#define REQ_LIST_MAX 100
#define REQ_LIST_SCAN_MAX 1000 /* index entries a filtered listing examines at most */

static int64_t parse_i64(const char *s, int64_t def)
{
    if (!s || !*s)
        return def;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    return end && *end == '\0' ? (int64_t)v : def;
}

/* A bulk string element of an array reply, or NULL when nil/absent. */
static const char *elem_str(const redisReply *r, size_t i)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || i >= r->elements)
        return NULL;
    const redisReply *e = r->element[i];
    return e && e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

/* Status of an error reply: NOPERM (an ACL refusal: the tenant's Redis user may not read
 * that key or run that command) is RFQ_EAUTH, anything else RFQ_EREDIS. */
static rfq_status error_status(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0 ? RFQ_EAUTH
                                                                                  : RFQ_EREDIS;
}

/* Read n pipelined replies into reps. An error reply does not stop the reading: every queued
 * reply is consumed, so a context returned to the pool is in step. Only an I/O error stops it
 * (the context then carries c->err and the pool drops it). */
static rfq_status read_replies(redisContext *c, redisReply **reps, int n)
{
    rfq_status st = RFQ_OK;
    int io_failed = 0;
    for (int i = 0; i < n; i++) {
        reps[i] = NULL;
        if (io_failed)
            continue;
        if (redisGetReply(c, (void **)&reps[i]) != REDIS_OK || !reps[i]) {
            io_failed = 1;
            st = RFQ_EREDIS;
        } else if (reps[i]->type == REDIS_REPLY_ERROR && st != RFQ_EAUTH) {
            st = error_status(reps[i]);
        }
    }
    return st;
}

static void free_replies(redisReply **reps, int n)
{
    for (int i = 0; i < n; i++)
        if (reps[i])
            freeReplyObject(reps[i]);
}

rfq_status req_rank_parse(const char *member, int64_t *amount, int *eta, uint64_t *arrival,
                          const char **responder)
{
    /* "%016lld|%06d|%020llu|<responder>" */
    if (!member || strlen(member) < 16 + 1 + 6 + 1 + 20 + 2)
        return RFQ_EINVAL;
    if (member[16] != '|' || member[23] != '|' || member[44] != '|')
        return RFQ_EINVAL;
    for (int i = 0; i < 44; i++)
        if (i != 16 && i != 23 && (member[i] < '0' || member[i] > '9'))
            return RFQ_EINVAL;
    if (!rfq_ident_valid(member + 45))
        return RFQ_EINVAL;
    if (amount)
        *amount = (int64_t)strtoll(member, NULL, 10);
    if (eta)
        *eta = (int)strtol(member + 17, NULL, 10);
    if (arrival)
        *arrival = strtoull(member + 24, NULL, 10);
    if (responder)
        *responder = member + 45;
    return RFQ_OK;
}

json_t *req_quotes_ranked(const char *const *members, size_t n, json_t *quotes)
{
    json_t *arr = json_array();
    int rank = 0;
    for (size_t i = 0; arr && i < n; i++) {
        uint64_t arrival = 0;
        const char *resp = NULL;
        if (req_rank_parse(members[i], NULL, NULL, &arrival, &resp) != RFQ_OK)
            continue;
        const char *text = json_string_value(json_object_get(quotes, resp));
        json_t *q = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!json_is_object(q)) {
            json_decref(q);
            continue;
        }
        json_object_set_new(q, "rank", json_integer(++rank));
        json_object_set_new(q, "arrival", json_integer((json_int_t)arrival));
        json_array_append_new(arr, q);
    }
    return arr;
}

static int by_arrival(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "arrival"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "arrival"));
    return x < y ? -1 : x > y;
}

json_t *req_quotes_by_arrival(json_t *ranked)
{
    size_t n = json_array_size(ranked);
    json_t *out = json_array();
    json_t **tmp = n ? malloc(n * sizeof(*tmp)) : NULL;
    if (!out || (n && !tmp)) {
        free(tmp);
        json_decref(out);
        return NULL;
    }
    if (n == 0)
        return out; /* qsort(NULL, 0, ...) is undefined */
    for (size_t i = 0; i < n; i++)
        tmp[i] = json_array_get(ranked, i);
    qsort(tmp, n, sizeof(*tmp), by_arrival);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, tmp[i]);
    free(tmp);
    return out;
}

json_t *req_view_status_json(const struct req_rfq_view *v)
{
    json_t *best = json_array_get(v->ranked, 0);
    if (best) {
        best = json_deep_copy(best);
        json_object_del(best, "rank");
        json_object_del(best, "arrival");
    }
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:i,s:i,s:o?,s:O?,s:o}", "rfq_id", v->rfq_id, "tenant",
                  v->tenant, "status", v->status, "created_ms", (json_int_t)v->created_ms,
                  "deadline_ms", (json_int_t)v->deadline_ms, "max_quotes", v->max_quotes,
                  "quote_count", v->count, "declines", v->declines, "best", best, "request",
                  v->request, "links", req_links_json(v->rfq_id));
    if (j && v->closed_ms)
        json_object_set_new(j, "closed_ms", json_integer((json_int_t)v->closed_ms));
    return j;
}

void req_rfq_view_clear(struct req_rfq_view *v)
{
    json_decref(v->request);
    json_decref(v->ranked);
    memset(v, 0, sizeof(*v));
}

struct read_call {
    const char *tenant;
    const char *rfq_id;
    struct req_rfq_view *v;
};

/* Quote JSON of each ranked responder, as an object responder -> JSON text (new reference).
 * Only ranked answers are read: declines stay in the hash, counted, but never loaded. NULL
 * on a failed read, with *st saying why. */
static json_t *read_ranked_quotes(redisContext *c, const char *k_quotes, const char **members,
                                  size_t m, rfq_status *st)
{
    json_t *quotes = json_object();
    if (!quotes || m == 0)
        return quotes;
    const char **argv = calloc(m + 2, sizeof(*argv));
    if (!argv) {
        json_decref(quotes);
        return NULL;
    }
    argv[0] = "HMGET";
    argv[1] = k_quotes;
    size_t n = 2;
    for (size_t i = 0; i < m; i++)
        if ((argv[n] = rfq_rank_member_responder(members[i])) != NULL)
            n++;
    redisReply *r = redisCommandArgv(c, (int)n, argv, NULL);
    for (size_t i = 2; r && r->type == REDIS_REPLY_ARRAY && i < n && i - 2 < r->elements; i++) {
        const char *val = elem_str(r, i - 2);
        if (val)
            json_object_set_new(quotes, argv[i], json_string(val));
    }
    if (!r || r->type == REDIS_REPLY_ERROR) {
        *st = error_status(r);
        json_decref(quotes);
        quotes = NULL;
    }
    freeReplyObject(r);
    free(argv);
    return quotes;
}

/* HMGET the hash and ZRANGE the rank in one round trip, then HMGET the ranked quotes. */
static rfq_status read_rfq_redis(redisContext *c, void *arg)
{
    struct read_call *rc = arg;
    struct req_rfq_view *v = rc->v;
    char k_rfq[RFQ_KEY_MAX], k_quotes[RFQ_KEY_MAX], k_rank[RFQ_KEY_MAX];
    req_rfq_view_clear(v);
    if (rfq_key_rfq(k_rfq, sizeof(k_rfq), rc->tenant, rc->rfq_id) != RFQ_OK ||
        rfq_key_quotes(k_quotes, sizeof(k_quotes), rc->tenant, rc->rfq_id) != RFQ_OK ||
        rfq_key_rank(k_rank, sizeof(k_rank), rc->tenant, rc->rfq_id) != RFQ_OK)
        return RFQ_ENOTFOUND;
    static const char *const fields[] = {"rfq_id",      "tenant",    "status",     "created_ms",
                                         "deadline_ms", "closed_ms", "max_quotes", "count",
                                         "declines",    "request"};
    const char *argv[2 + sizeof(fields) / sizeof(fields[0])] = {"HMGET", k_rfq};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        argv[2 + i] = fields[i];
    redisAppendCommandArgv(c, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL);
    redisAppendCommand(c, "ZRANGE %b 0 -1", k_rank, strlen(k_rank));
    redisReply *reps[2];
    rfq_status st = read_replies(c, reps, 2);
    if (st != RFQ_OK)
        goto out;
    const redisReply *h = reps[0];
    const char *status = elem_str(h, 2), *tenant = elem_str(h, 1);
    if (!status || !tenant || strcmp(tenant, rc->tenant) != 0) {
        st = RFQ_ENOTFOUND;
        goto out;
    }
    snprintf(v->rfq_id, sizeof(v->rfq_id), "%s", rc->rfq_id);
    snprintf(v->tenant, sizeof(v->tenant), "%s", tenant);
    snprintf(v->status, sizeof(v->status), "%s", status);
    v->created_ms = parse_i64(elem_str(h, 3), 0);
    v->deadline_ms = parse_i64(elem_str(h, 4), 0);
    v->closed_ms = parse_i64(elem_str(h, 5), 0);
    v->max_quotes = (int)parse_i64(elem_str(h, 6), 0);
    v->count = (int)parse_i64(elem_str(h, 7), 0);
    v->declines = (int)parse_i64(elem_str(h, 8), 0);
    const char *req = elem_str(h, 9);
    v->request = req ? json_loads(req, 0, NULL) : NULL;

    const redisReply *ra = reps[1];
    size_t n = ra->type == REDIS_REPLY_ARRAY ? ra->elements : 0;
    const char **members = n ? calloc(n, sizeof(*members)) : NULL;
    size_t m = 0;
    for (size_t i = 0; members && i < n; i++)
        if (elem_str(ra, i))
            members[m++] = elem_str(ra, i);
    rfq_status qst = RFQ_ENOMEM;
    json_t *quotes = members || n == 0 ? read_ranked_quotes(c, k_quotes, members, m, &qst) : NULL;
    v->ranked = quotes ? req_quotes_ranked(members, m, quotes) : NULL;
    free(members);
    json_decref(quotes);
    st = v->ranked ? RFQ_OK : (quotes ? RFQ_ENOMEM : qst);
out:
    free_replies(reps, 2);
    return st;
}

rfq_status req_read_rfq(struct req_server *s, const char *tenant, const char *rfq_id,
                        struct req_rfq_view *v)
{
    memset(v, 0, sizeof(*v));
    if (!rfq_tenant_valid(tenant) || !rfq_ident_valid(rfq_id))
        return RFQ_ENOTFOUND;
    struct read_call rc = {tenant, rfq_id, v};
    /* As the tenant's Redis user: Redis itself refuses any other tenant's keys. */
    return req_tenant_redis_run(s, tenant, read_rfq_redis, &rc);
}

/* Turn a failed read into its answer. */
static void read_error(struct req_reply *out, rfq_status st, const char *rfq_id)
{
    if (st == RFQ_ENOTFOUND)
        req_reply_error(out, 404, "no RFQ %s", rfq_id);
    else if (st == RFQ_EREDIS || st == RFQ_ETIMEOUT)
        req_reply_error(out, 503, "storage unavailable");
    else
        req_reply_error(out, 500, "cannot read the RFQ");
}

void req_read_status(struct req_server *s, const char *tenant, const char *rfq_id,
                     struct req_reply *out)
{
    struct req_rfq_view v;
    rfq_status st = req_read_rfq(s, tenant, rfq_id, &v);
    if (st == RFQ_OK)
        req_reply_json(out, 200, req_view_status_json(&v));
    else
        read_error(out, st, rfq_id);
    req_rfq_view_clear(&v);
}

void req_read_quotes(struct req_server *s, const char *tenant, const char *rfq_id,
                     struct req_reply *out)
{
    struct req_rfq_view v;
    rfq_status st = req_read_rfq(s, tenant, rfq_id, &v);
    if (st == RFQ_OK)
        req_reply_json(out, 200,
                       json_pack("{s:s,s:s,s:i,s:i,s:O}", "rfq_id", v.rfq_id, "status", v.status,
                                 "quote_count", v.count, "declines", v.declines, "quotes",
                                 v.ranked));
    else
        read_error(out, st, rfq_id);
    req_rfq_view_clear(&v);
}

rfq_status req_list_params(const char *status, const char *limit, const char **status_out,
                           int *limit_out, struct rfq_err *err)
{
    *status_out = NULL;
    *limit_out = REQ_LIST_DEFAULT;
    if (status && *status) {
        if (strcmp(status, "open") != 0 && strcmp(status, "completed") != 0 &&
            strcmp(status, "expired") != 0)
            return rfq_err_set(err, RFQ_EINVAL, "status",
                               "status must be open, completed or expired");
        *status_out = status;
    }
    if (limit) {
        char *end = NULL;
        long v = strtol(limit, &end, 10);
        if (!*limit || !end || *end || v < 1 || v > REQ_LIST_MAX)
            return rfq_err_set(err, RFQ_EINVAL, "limit", "limit must be an integer 1..%d",
                               REQ_LIST_MAX);
        *limit_out = (int)v;
    }
    return RFQ_OK;
}

struct list_call {
    const char *tenant;
    const char *status; /* filter or NULL */
    int limit;
    json_t *rows; /* array being filled */
};

/* One listing row from the HMGET and ZRANGE replies of rfq_id (new reference). */
static json_t *list_row(const char *rfq_id, const char *status, redisReply **reps)
{
    int64_t best = -1;
    const char *member = elem_str(reps[1], 0);
    if (member && req_rank_parse(member, &best, NULL, NULL, NULL) != RFQ_OK)
        best = -1;
    const char *currency = elem_str(reps[0], 4);
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:s}", "rfq_id", rfq_id, "status", status,
                     "created_ms", (json_int_t)parse_i64(elem_str(reps[0], 1), 0), "deadline_ms",
                     (json_int_t)parse_i64(elem_str(reps[0], 2), 0), "quote_count",
                     (json_int_t)parse_i64(elem_str(reps[0], 3), 0), "best_amount_minor",
                     best >= 0 ? json_integer((json_int_t)best) : json_null(), "currency",
                     currency ? currency : "USD");
}

/* Page through the tenant's index newest first; per page, one pipelined round trip fetches
 * each RFQ's summary and its best rank member (whose first field is the best price). */
static rfq_status list_redis(redisContext *c, void *arg)
{
    struct list_call *lc = arg;
    char k_idx[RFQ_KEY_MAX];
    if (rfq_key_index(k_idx, sizeof(k_idx), lc->tenant) != RFQ_OK)
        return RFQ_EINVAL;
    json_array_clear(lc->rows);
    int page = lc->status ? REQ_LIST_MAX : lc->limit;
    for (int offset = 0; offset < REQ_LIST_SCAN_MAX; offset += page) {
        redisReply *ids =
            redisCommand(c, "ZREVRANGE %b %d %d", k_idx, strlen(k_idx), offset, offset + page - 1);
        if (!ids || ids->type != REDIS_REPLY_ARRAY) {
            rfq_status st = error_status(ids);
            if (ids)
                freeReplyObject(ids);
            return st;
        }
        size_t n = ids->elements;
        const char *valid[REQ_LIST_MAX];
        size_t nv = 0;
        for (size_t i = 0; i < n && nv < REQ_LIST_MAX; i++) {
            char k_rfq[RFQ_KEY_MAX], k_rank[RFQ_KEY_MAX];
            const char *id = elem_str(ids, i);
            if (!id || rfq_key_rfq(k_rfq, sizeof(k_rfq), lc->tenant, id) != RFQ_OK ||
                rfq_key_rank(k_rank, sizeof(k_rank), lc->tenant, id) != RFQ_OK)
                continue;
            redisAppendCommand(c, "HMGET %b status created_ms deadline_ms count currency", k_rfq,
                               strlen(k_rfq));
            redisAppendCommand(c, "ZRANGE %b 0 0", k_rank, strlen(k_rank));
            valid[nv++] = id;
        }
        rfq_status st = RFQ_OK;
        for (size_t i = 0; i < nv; i++) {
            redisReply *reps[2];
            rfq_status rs = read_replies(c, reps, 2);
            const char *status = rs == RFQ_OK ? elem_str(reps[0], 0) : NULL;
            if (rs != RFQ_OK)
                st = rs;
            else if (status && (!lc->status || strcmp(status, lc->status) == 0) &&
                     (int)json_array_size(lc->rows) < lc->limit)
                json_array_append_new(lc->rows, list_row(valid[i], status, reps));
            free_replies(reps, 2);
        }
        freeReplyObject(ids);
        if (st != RFQ_OK)
            return st;
        if ((int)json_array_size(lc->rows) >= lc->limit || (int)n < page)
            break;
    }
    return RFQ_OK;
}

void req_read_list(struct req_server *s, const char *tenant, const char *status, int limit,
                   struct req_reply *out)
{
    struct list_call lc = {tenant, status, limit, json_array()};
    if (!lc.rows) {
        req_reply_error(out, 500, "out of memory");
        return;
    }
    rfq_status st = req_tenant_redis_run(s, tenant, list_redis, &lc);
    if (st == RFQ_OK)
        req_reply_json(out, 200, json_pack("{s:O}", "rfqs", lc.rows));
    else if (st == RFQ_EREDIS || st == RFQ_ETIMEOUT)
        req_reply_error(out, 503, "storage unavailable");
    else
        req_reply_error(out, 500, "cannot list RFQs");
    json_decref(lc.rows);
}
