/* agg_store: pipelined add_quote calls, deadline sweeps and best-quote lookups in Redis. */
#include "agg_store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const outcome_names[] = {
    [AGG_OUT_STORED] = "stored",     [AGG_OUT_COMPLETED] = "completed",
    [AGG_OUT_DECLINED] = "declined", [AGG_OUT_DUPLICATE] = "duplicate",
    [AGG_OUT_LATE] = "late",         [AGG_OUT_CLOSED] = "closed",
    [AGG_OUT_UNKNOWN] = "unknown",   [AGG_OUT_CURRENCY] = "currency",
    [AGG_OUT_OVERFLOW] = "overflow", [AGG_OUT_ERROR] = "error",
    [AGG_OUT_RETRY] = "retry",
};

const char *agg_outcome_str(agg_outcome o)
{
    if ((unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]))
        return outcome_names[o];
    return "invalid";
}

agg_outcome agg_outcome_parse(const char *s, size_t len)
{
    /* Only the outcomes the script can return; "error" and "retry" are ours. */
    for (int o = AGG_OUT_STORED; o <= AGG_OUT_OVERFLOW; o++) {
        const char *name = outcome_names[o];
        if (s && strlen(name) == len && memcmp(name, s, len) == 0)
            return (agg_outcome)o;
    }
    return AGG_OUT_ERROR;
}

/* Integer from an integer reply or a decimal string reply; false for anything else. */
static bool reply_int(const redisReply *r, int64_t *out)
{
    if (!r)
        return false;
    if (r->type == REDIS_REPLY_INTEGER) {
        *out = (int64_t)r->integer;
        return true;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
        return false;
    char buf[24], *end = NULL;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || !end || *end)
        return false;
    *out = (int64_t)v;
    return true;
}

static bool reply_is_text(const redisReply *r)
{
    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* Mark out as a protocol error with a short description (or Redis' own error text). */
static rfq_status set_error(struct agg_store_result *out, const char *text, size_t len)
{
    out->outcome = AGG_OUT_ERROR;
    if (len >= sizeof(out->error))
        len = sizeof(out->error) - 1;
    memcpy(out->error, text, len);
    out->error[len] = '\0';
    return RFQ_EPROTO;
}

rfq_status agg_store_parse_add_reply(const redisReply *r, struct agg_store_result *out)
{
    memset(out, 0, sizeof(*out));
    if (!r) {
        out->outcome = AGG_OUT_RETRY;
        return RFQ_EREDIS;
    }
    if (r->type == REDIS_REPLY_ERROR)
        return set_error(out, r->str ? r->str : "", r->str ? r->len : 0);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || !reply_is_text(r->element[0]))
        return set_error(out, "unexpected add_quote reply", 26);
    out->outcome = agg_outcome_parse(r->element[0]->str, r->element[0]->len);
    if (out->outcome == AGG_OUT_ERROR)
        return set_error(out, "unexpected add_quote outcome", 28);
    if (r->elements > 1 && !reply_int(r->element[1], &out->count))
        out->count = 0;
    if (r->elements > 2 && reply_is_text(r->element[2]) &&
        r->element[2]->len < sizeof(out->status)) {
        memcpy(out->status, r->element[2]->str, r->element[2]->len);
        out->status[r->element[2]->len] = '\0';
    }
    if (out->outcome == AGG_OUT_COMPLETED && r->elements > 3 && reply_is_text(r->element[3])) {
        out->best_json = malloc(r->element[3]->len + 1);
        if (out->best_json) { /* out of memory: the separate lookup runs instead */
            memcpy(out->best_json, r->element[3]->str, r->element[3]->len);
            out->best_json[r->element[3]->len] = '\0';
        }
    }
    if (out->outcome == AGG_OUT_COMPLETED && r->elements > 4 &&
        !reply_int(r->element[4], &out->created_ms))
        out->created_ms = 0;
    return RFQ_OK;
}

void agg_store_result_clear(struct agg_store_result *r)
{
    free(r->best_json);
    r->best_json = NULL;
}

rfq_status agg_add_args_build(struct agg_add_args *a, const char *tenant, const char *rfq_id,
                              const struct rfq_quote *q, int64_t arrival_ms, uint64_t arrival_seq,
                              int64_t now_ms)
{
    rfq_status st;
    memset(a, 0, sizeof(*a));
    if ((st = rfq_key_rfq(a->key_rfq, sizeof(a->key_rfq), tenant, rfq_id)) != RFQ_OK ||
        (st = rfq_key_quotes(a->key_quotes, sizeof(a->key_quotes), tenant, rfq_id)) != RFQ_OK ||
        (st = rfq_key_rank(a->key_rank, sizeof(a->key_rank), tenant, rfq_id)) != RFQ_OK ||
        (st = rfq_deadline_member(a->deadline_member, sizeof(a->deadline_member), tenant,
                                  rfq_id)) != RFQ_OK ||
        (st = rfq_key_open(a->key_open, sizeof(a->key_open), tenant)) != RFQ_OK)
        return st;
    char month[RFQ_MONTH_LEN + 1];
    if (rfq_month_utc(arrival_ms, month) != RFQ_OK && (st = rfq_month_utc(now_ms, month)) != RFQ_OK)
        return st;
    if ((st = rfq_key_usage(a->key_usage, sizeof(a->key_usage), tenant, month)) != RFQ_OK)
        return st;
    return agg_add_args_answer(a, q, arrival_ms, arrival_seq, now_ms);
}

rfq_status agg_add_args_answer(struct agg_add_args *a, const struct rfq_quote *q,
                               int64_t arrival_ms, uint64_t arrival_seq, int64_t now_ms)
{
    rfq_status st;
    a->rank_member[0] = '\0';
    a->currency[0] = '\0';
    if (!rfq_ident_valid(q->responder_id))
        return RFQ_EINVAL;
    if (!q->decline) {
        if ((st = rfq_rank_member(a->rank_member, sizeof(a->rank_member), q, arrival_seq)) !=
            RFQ_OK)
            return st;
        memcpy(a->currency, q->currency, sizeof(a->currency));
        a->currency[sizeof(a->currency) - 1] = '\0';
    }
    snprintf(a->arrival_ms, sizeof(a->arrival_ms), "%" PRId64, arrival_ms);
    snprintf(a->now_ms, sizeof(a->now_ms), "%" PRId64, now_ms);
    snprintf(a->answers_max, sizeof(a->answers_max), "%d", AGG_ANSWERS_MAX);
    return RFQ_OK;
}

/* Append one EVALSHA add_quote for the k answers items[idx[0..k)], which share an RFQ and
 * a usage month; a[j] are their built arguments. */
static rfq_status append_group(redisContext *c, const struct agg_store_item *items, const int *idx,
                               int k, const struct agg_add_args *a)
{
    const char *argv[10 + 5 * AGG_STORE_GROUP_MAX];
    size_t lens[10 + 5 * AGG_STORE_GROUP_MAX];
    int n = 0;
    const char *common[] = {a[0].key_rfq,         a[0].key_quotes, a[0].key_rank,
                            RFQ_SYS_DEADLINES,    a[0].key_open,   a[0].key_usage,
                            a[0].deadline_member, a[0].now_ms,     a[0].answers_max,
                            items[idx[0]].rfq_id};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        argv[n++] = common[i];
    for (int j = 0; j < k; j++) {
        const struct agg_store_item *it = &items[idx[j]];
        argv[n++] = it->quote->responder_id;
        argv[n++] = it->json;
        argv[n++] = a[j].rank_member;
        argv[n++] = a[j].arrival_ms;
        argv[n++] = a[j].currency;
    }
    for (int i = 0; i < n; i++)
        lens[i] = strlen(argv[i]);
    for (int j = 0; j < k; j++)
        lens[10 + 5 * j + 1] = items[idx[j]].json_len;
    return rfq_redis_append_eval(c, RFQ_SCRIPT_ADD_QUOTE, 6, n, argv, lens);
}

/* Spread one add_quote reply (an array of one reply per answer, or an error for all) over the
 * answers of its group. */
static void group_reply(const redisReply *r, struct agg_store_item *items, const int *idx, int k)
{
    if (r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)k) {
        for (int j = 0; j < k; j++)
            agg_store_parse_add_reply(r->element[j], &items[idx[j]].result);
        return;
    }
    for (int j = 0; j < k; j++) {
        struct agg_store_result *res = &items[idx[j]].result;
        if (r->type == REDIS_REPLY_ERROR)
            agg_store_parse_add_reply(r, res);
        else
            set_error(res, "unexpected add_quote reply", 26);
    }
}

/* Queue one EVALSHA add_quote per run of consecutive items still marked AGG_OUT_RETRY that
 * share an RFQ and a usage month (at most AGG_STORE_GROUP_MAX), then read their replies in
 * order. Items that cannot even be built get AGG_OUT_ERROR and are not sent. */
static rfq_status add_quotes_pass(redisContext *c, struct agg_store_item *items, int n,
                                  int64_t now_ms)
{
    struct agg_add_args *a = malloc(sizeof(*a) * AGG_STORE_GROUP_MAX);
    int *order = malloc(sizeof(*order) * (size_t)n); /* items sent, group after group */
    int *glen = malloc(sizeof(*glen) * (size_t)n);   /* size of each group sent */
    rfq_status st = RFQ_OK;
    int n_groups = 0, n_sent = 0;
    if (!a || !order || !glen) {
        st = RFQ_EREDIS; /* nothing sent: every item stays RETRY */
        goto out;
    }
    for (int i = 0; i < n;) {
        int k = 0;
        for (; i < n && k < AGG_STORE_GROUP_MAX; i++) {
            struct agg_store_item *it = &items[i];
            if (it->result.outcome != AGG_OUT_RETRY)
                continue;
            /* An answer of the same RFQ that arrived with the first (the same message, as a
             * batch's do) shares its keys: only its own arguments are built. */
            const struct agg_store_item *first = k > 0 ? &items[order[n_sent]] : NULL;
            bool same = first && first->arrival_ms == it->arrival_ms &&
                        strcmp(first->tenant, it->tenant) == 0 &&
                        strcmp(first->rfq_id, it->rfq_id) == 0;
            rfq_status built = same ? agg_add_args_answer(&a[k], it->quote, it->arrival_ms,
                                                          it->arrival_seq, now_ms)
                                    : agg_add_args_build(&a[k], it->tenant, it->rfq_id, it->quote,
                                                         it->arrival_ms, it->arrival_seq, now_ms);
            if (built != RFQ_OK) {
                set_error(&it->result, "invalid ids", 11);
                continue;
            }
            if (k > 0 && !same &&
                (strcmp(a[k].key_rfq, a[0].key_rfq) != 0 ||
                 strcmp(a[k].key_usage, a[0].key_usage) != 0))
                break; /* another RFQ (or month): it starts the next group */
            order[n_sent + k++] = i;
        }
        if (k == 0)
            continue;
        if (append_group(c, items, order + n_sent, k, a) != RFQ_OK) {
            st = RFQ_EREDIS; /* this group was not written: it stays RETRY, as do the rest */
            break;
        }
        glen[n_groups++] = k;
        n_sent += k;
    }
    for (int g = 0, at = 0; g < n_groups; at += glen[g++]) {
        void *reply = NULL;
        if (redisGetReply(c, &reply) != REDIS_OK || !reply) {
            st = RFQ_EREDIS; /* this and every later group stay RETRY */
            break;
        }
        group_reply(reply, items, order + at, glen[g]);
        freeReplyObject(reply);
    }
out:
    free(a);
    free(order);
    free(glen);
    return st;
}

rfq_status agg_store_add_quotes(redisContext *c, struct agg_store_item *items, int n,
                                int64_t now_ms)
{
    for (int i = 0; i < n; i++) {
        memset(&items[i].result, 0, sizeof(items[i].result));
        items[i].result.outcome = AGG_OUT_RETRY;
    }
    if (!c || c->err)
        return RFQ_EREDIS;
    rfq_status st = add_quotes_pass(c, items, n, now_ms);
    if (st != RFQ_OK)
        return st;
    /* A NOSCRIPT reply means the script did not run: reload and send those items again. */
    int again = 0;
    for (int i = 0; i < n; i++) {
        struct agg_store_result *res = &items[i].result;
        if (res->outcome == AGG_OUT_ERROR && strncmp(res->error, "NOSCRIPT", 8) == 0) {
            memset(res, 0, sizeof(*res));
            res->outcome = AGG_OUT_RETRY;
            again++;
        }
    }
    if (again == 0)
        return RFQ_OK;
    if (rfq_redis_scripts_load(c) != RFQ_OK)
        return RFQ_EREDIS;
    return add_quotes_pass(c, items, n, now_ms);
}

/* A count element of a sweep reply: an integer or a decimal string without '/'. */
static bool sweep_count(const redisReply *r, int64_t *out)
{
    if (r && r->type == REDIS_REPLY_STRING && memchr(r->str, '/', r->len))
        return false;
    return reply_int(r, out);
}

int agg_store_parse_sweep_reply(const redisReply *r, struct agg_expired *out, int cap)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    int n = 0;
    for (size_t i = 0; i < r->elements && n < cap; i++) {
        const redisReply *m = r->element[i];
        char member[RFQ_TENANT_MAX + RFQ_ID_MAX + 2];
        if (!m || m->type != REDIS_REPLY_STRING || m->len >= sizeof(member) ||
            memchr(m->str, '\0', m->len))
            continue;
        memcpy(member, m->str, m->len);
        member[m->len] = '\0';
        struct agg_expired *e = &out[n];
        if (rfq_deadline_member_parse(member, e->tenant, e->rfq_id) != RFQ_OK)
            continue;
        e->count = 0;
        if (i + 1 < r->elements && sweep_count(r->element[i + 1], &e->count))
            i++;
        n++;
    }
    return n;
}

rfq_status agg_store_sweep(redisContext *c, int64_t cutoff_ms, int64_t now_ms, int limit,
                           struct agg_expired *out, int cap, int *n)
{
    *n = 0;
    if (!c || c->err)
        return RFQ_EREDIS;
    if (limit > cap)
        limit = cap;
    char cutoff[24], lim[12], now[24], month[RFQ_MONTH_LEN + 1];
    snprintf(cutoff, sizeof(cutoff), "%" PRId64, cutoff_ms);
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(now, sizeof(now), "%" PRId64, now_ms);
    /* Expiries are metered in the month of the sweep that closes them. */
    if (rfq_month_utc(now_ms, month) != RFQ_OK)
        return RFQ_EINVAL;
    const char *argv[] = {RFQ_SYS_DEADLINES, cutoff, lim, now, month};
    redisReply *r = rfq_redis_eval(c, RFQ_SCRIPT_SWEEP_EXPIRED, 1, 5, argv, NULL);
    if (!r)
        return RFQ_EREDIS;
    int got = agg_store_parse_sweep_reply(r, out, cap);
    freeReplyObject(r);
    if (got < 0)
        return RFQ_EPROTO;
    *n = got;
    return RFQ_OK;
}

/* Drop every best_json already filled (after a failure half way). */
static void best_reset(struct agg_best_req *reqs, int n)
{
    for (int i = 0; i < n; i++) {
        free(reqs[i].best_json);
        reqs[i].best_json = NULL;
    }
}

rfq_status agg_store_best_quotes(redisContext *c, struct agg_best_req *reqs, int n)
{
    for (int i = 0; i < n; i++)
        reqs[i].best_json = NULL;
    if (n <= 0)
        return RFQ_OK;
    if (!c || c->err)
        return RFQ_EREDIS;
    struct pending {
        bool sent;                /* a command for this RFQ is in the pipeline */
        char who[RFQ_ID_MAX + 1]; /* best responder, "" when none */
    } *p = calloc((size_t)n, sizeof(*p));
    if (!p)
        return RFQ_ENOMEM;
    rfq_status st = RFQ_EREDIS;

    /* Round 1: the first rank member of each RFQ names its best responder. */
    for (int i = 0; i < n; i++) {
        char key[RFQ_KEY_MAX];
        if (rfq_key_rank(key, sizeof(key), reqs[i].tenant, reqs[i].rfq_id) != RFQ_OK)
            continue;
        const char *argv[] = {"ZRANGE", key, "0", "0"};
        if (redisAppendCommandArgv(c, 4, argv, NULL) != REDIS_OK)
            goto out_free;
        p[i].sent = true;
    }
    for (int i = 0; i < n; i++) {
        if (!p[i].sent)
            continue;
        p[i].sent = false;
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r)
            goto out_free;
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_STRING && r->element[0]->len < RFQ_KEY_MAX) {
            char member[RFQ_KEY_MAX];
            memcpy(member, r->element[0]->str, r->element[0]->len);
            member[r->element[0]->len] = '\0';
            const char *who = rfq_rank_member_responder(member);
            if (who && rfq_ident_valid(who))
                memcpy(p[i].who, who, strlen(who) + 1);
        }
        freeReplyObject(r);
    }

    /* Round 2: that responder's stored quote. */
    for (int i = 0; i < n; i++) {
        char key[RFQ_KEY_MAX];
        if (!p[i].who[0] ||
            rfq_key_quotes(key, sizeof(key), reqs[i].tenant, reqs[i].rfq_id) != RFQ_OK)
            continue;
        const char *argv[] = {"HGET", key, p[i].who};
        if (redisAppendCommandArgv(c, 3, argv, NULL) != REDIS_OK)
            goto out_free;
        p[i].sent = true;
    }
    for (int i = 0; i < n; i++) {
        if (!p[i].sent)
            continue;
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r)
            goto out_reset;
        if (r->type == REDIS_REPLY_STRING && !memchr(r->str, '\0', r->len)) {
            reqs[i].best_json = malloc(r->len + 1);
            if (reqs[i].best_json) {
                memcpy(reqs[i].best_json, r->str, r->len);
                reqs[i].best_json[r->len] = '\0';
            }
        }
        freeReplyObject(r);
    }
    st = RFQ_OK;
    goto out_free;

out_reset:
    best_reset(reqs, n);
out_free:
    free(p);
    return st;
}

rfq_status agg_store_reconnect(redisContext **c, const char *host, int port)
{
    if (*c)
        redisFree(*c);
    *c = NULL;
    return rfq_redis_connect(c, host, port, AGG_REDIS_TIMEOUT_MS, 0);
}
