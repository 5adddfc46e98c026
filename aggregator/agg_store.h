/* agg_store: the aggregator's Redis calls (add_quote pipelines, deadline sweeps, best-quote
 * lookups) and the parsing of their replies. A redisContext belongs to one thread. */
#ifndef AGG_STORE_H
#define AGG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_ids.h"
#include "rfq_msg.h"
#include "rfq_redis.h"
#include "rfq_status.h"

/* Connect and per-command timeout of the aggregator's Redis connections, ms. A stalled Redis
 * counts as a failed one (the batch is retried); it also bounds how long a stop request can
 * wait on Redis (on the consumer thread and in the sweeper's join). */
#define AGG_REDIS_TIMEOUT_MS 1000

/* What add_quote.lua did with a quote, plus our two transport outcomes. */
typedef enum {
    AGG_OUT_STORED = 0, /* priced quote stored and ranked, RFQ still open */
    AGG_OUT_COMPLETED,  /* stored, and it was the max_quotes-th: the RFQ is now completed */
    AGG_OUT_DECLINED,   /* decline stored (not ranked, not counted) */
    AGG_OUT_DUPLICATE,  /* this responder already answered: counted in dups, nothing stored */
    AGG_OUT_LATE,       /* arrived after the deadline */
    AGG_OUT_CLOSED,     /* RFQ already completed or expired */
    AGG_OUT_UNKNOWN,    /* no such RFQ for this tenant */
    AGG_OUT_CURRENCY,   /* currency differs from the RFQ's */
    AGG_OUT_OVERFLOW,   /* the RFQ already holds AGG_ANSWERS_MAX answers from others */
    AGG_OUT_ERROR,      /* Redis answered with an error or a malformed reply */
    AGG_OUT_RETRY,      /* no answer: the connection failed before this reply */
} agg_outcome;

/* Name of an outcome ("stored", ...); static, never NULL. */
const char *agg_outcome_str(agg_outcome o);
/* Outcome named by s[0..len) as add_quote.lua spells it; AGG_OUT_ERROR when unknown. */
agg_outcome agg_outcome_parse(const char *s, size_t len);

struct agg_store_result {
    agg_outcome outcome;
    int64_t count;   /* priced quotes stored for the RFQ after this call */
    char status[16]; /* RFQ status after the call ("open", "completed", "expired", "") */
    char error[128]; /* Redis error text when outcome is AGG_OUT_ERROR */
    /* completed: the best quote's stored JSON, read in the same script (saves the two round
     * trips of a separate lookup); malloc'd, NULL when absent; agg_store_result_clear frees */
    char *best_json;
    int64_t created_ms; /* completed: the RFQ's created_ms, 0 when unknown */
};

/* Parse one add_quote.lua reply {outcome, count, status[, best, created_ms]}. count and status may
 * be missing (Lua truncates a table at a nil). out must not hold a best_json (clear it first).
 * Pure. Returns RFQ_EPROTO (outcome AGG_OUT_ERROR, error filled) for an error reply or any
 * other shape; r may be NULL (RFQ_EREDIS, AGG_OUT_RETRY). */
rfq_status agg_store_parse_add_reply(const redisReply *r, struct agg_store_result *out);
/* Free what a parsed result owns (best_json). */
void agg_store_result_clear(struct agg_store_result *r);

/* The key and argument strings of one add_quote call (see lua/add_quote.lua). */
/* Most answers (quotes and declines) one RFQ keeps; more are dead-lettered as "overflow". */
#define AGG_ANSWERS_MAX 1000

struct agg_add_args {
    char key_rfq[RFQ_KEY_MAX];
    char key_quotes[RFQ_KEY_MAX];
    char key_rank[RFQ_KEY_MAX];
    char rank_member[RFQ_RANK_MEMBER_MAX]; /* "" for a decline */
    char arrival_ms[24];
    char deadline_member[RFQ_KEY_MAX];
    char currency[4]; /* "" for a decline */
    char now_ms[24];
    char answers_max[12];
    char key_open[RFQ_KEY_MAX];  /* the tenant's open set (quota) */
    char key_usage[RFQ_KEY_MAX]; /* the tenant's usage hash of the arrival's UTC month */
};

/* Build the add_quote arguments of a quote for tenant/rfq_id that arrived at arrival_ms
 * (JetStream timestamp) as stream sequence arrival_seq. Pure. RFQ_EINVAL on bad ids. The
 * usage month is arrival_ms's (now_ms's when arrival_ms is out of range). */
rfq_status agg_add_args_build(struct agg_add_args *a, const char *tenant, const char *rfq_id,
                              const struct rfq_quote *q, int64_t arrival_ms, uint64_t arrival_seq,
                              int64_t now_ms);

/* Only the answer's own arguments (rank member, arrival, currency) of a, whose keys were
 * built for an earlier answer of the same RFQ that arrived at the same time. Pure. */
rfq_status agg_add_args_answer(struct agg_add_args *a, const struct rfq_quote *q,
                               int64_t arrival_ms, uint64_t arrival_seq, int64_t now_ms);

/* One quote to store. Inputs borrowed; result written by agg_store_add_quotes. */
struct agg_store_item {
    const char *tenant;
    const char *rfq_id;
    const struct rfq_quote *quote;
    const char *json; /* canonical encoding of quote, stored verbatim */
    size_t json_len;
    int64_t arrival_ms;
    uint64_t arrival_seq;
    struct agg_store_result result; /* out */
};

/* Most answers stored by one add_quote call. */
#define AGG_STORE_GROUP_MAX 32

/* Store n quotes with one pipeline of EVALSHA add_quote (one call per run of consecutive items
 * of the same RFQ, e.g. a batch message's answers, up to AGG_STORE_GROUP_MAX), then read every
 * reply. Items whose
 * reply was NOSCRIPT (Redis restarted and lost its script cache) are sent again once after
 * reloading the scripts. Returns RFQ_OK when every item got an answer (which may be
 * AGG_OUT_ERROR), or RFQ_EREDIS when the connection failed: the items without an answer
 * have AGG_OUT_RETRY and the context must be replaced. */
rfq_status agg_store_add_quotes(redisContext *c, struct agg_store_item *items, int n,
                                int64_t now_ms);

/* An RFQ closed by the sweeper. */
struct agg_expired {
    char tenant[RFQ_TENANT_MAX + 1];
    char rfq_id[RFQ_ID_MAX + 1];
    int64_t count; /* priced quotes stored when it expired */
};

/* Parse sweep_expired.lua's flat {member, count, ...} reply into out[cap]. Malformed
 * members are skipped; a missing count reads as 0. Pure. Returns the number parsed, or -1
 * when the reply is not an array. */
int agg_store_parse_sweep_reply(const redisReply *r, struct agg_expired *out, int cap);

/* Run sweep_expired.lua once: close up to limit (<= cap) open RFQs whose deadline is
 * <= cutoff_ms, as of now_ms. *n gets how many this call closed (each exactly once across
 * all aggregators). RFQ_EREDIS when the connection failed, RFQ_EPROTO on an error reply. */
rfq_status agg_store_sweep(redisContext *c, int64_t cutoff_ms, int64_t now_ms, int limit,
                           struct agg_expired *out, int cap, int *n);

/* A best-quote lookup: tenant and id in, the best quote's stored JSON out. */
struct agg_best_req {
    const char *tenant; /* borrowed */
    const char *rfq_id; /* borrowed */
    char *best_json;    /* out: new malloc'd string (free()), NULL when the RFQ has none */
};

/* Find the best (first-ranked) quote of n RFQs: one pipeline of ZRANGE rank 0 0, then one of
 * HGET quotes <responder>. RFQ_EREDIS when the connection failed (every best_json is then
 * NULL and the context must be replaced). */
rfq_status agg_store_best_quotes(redisContext *c, struct agg_best_req *reqs, int n);

/* Replace *c (freed when not NULL) by a new connection with scripts loaded and
 * AGG_REDIS_TIMEOUT_MS timeouts; one attempt. RFQ_EREDIS when Redis is unreachable (*c is
 * then NULL). */
rfq_status agg_store_reconnect(redisContext **c, const char *host, int port);

#endif
