/* req_shed: load shedding. A monitor thread samples the quote backlog (messages of the
 * aggregators' durable consumer not yet delivered or not yet acknowledged) and the Redis round
 * trip; while either is beyond its limit, new submits are refused with 503 and Retry-After
 * instead of being accepted as work the engine cannot finish in time. Reads go on. */
#ifndef REQ_SHED_H
#define REQ_SHED_H

#include <stdbool.h>
#include <stdint.h>

#include "req_reply.h"
#include "rfq_status.h"

struct req_server;
typedef struct req_shed req_shed;

/* Why submits are refused. */
enum req_shed_cause {
    REQ_SHED_NONE = 0,
    REQ_SHED_BACKLOG, /* the aggregators are behind on the quote stream */
    REQ_SHED_REDIS,   /* Redis answers slowly, or not at all */
};

/* Shedding ends once a measure is back at or below this share of its limit (hysteresis: no
 * flapping around the limit). */
#define REQ_SHED_RESUME_PCT 80
/* A backlog that cannot be read (consumer info failing) keeps the last decision this long,
 * then counts as no backlog: shedding must not outlive the evidence for it. */
#define REQ_SHED_UNKNOWN_HOLD_MS 5000
/* Below this many quotes the backlog's drain time is not judged: a few hundred quotes are
 * always in flight, and a rate measured on them says little. */
#define REQ_SHED_DRAIN_MIN 500
#define REQ_SHED_RETRY_MIN_S 1
#define REQ_SHED_RETRY_MAX_S 5

struct req_shed_limits {
    int64_t backlog_max; /* RFQ_SHED_BACKLOG: quotes waiting for the aggregators; 0 = no limit */
    int redis_ms_max;    /* RFQ_SHED_REDIS_MS: PING round trip over the pool; 0 = no limit */
    int drain_ms_max;    /* RFQ_SHED_DRAIN_MS: how long the aggregators need to work off the
                            backlog at their measured rate; 0 = no limit */
};

/* One measurement. */
struct req_shed_sample {
    int64_t at_ms;       /* monotonic milliseconds */
    int64_t backlog;     /* num_pending + num_ack_pending; -1 when it could not be read */
    int64_t consumed;    /* the consumer's ack floor (a consumer sequence): work done so far;
                            -1 when unknown */
    double redis_ms;     /* how long the PING took, answered or not, including the wait for a
                            pooled connection */
    bool redis_answered; /* false: an error or no reply within the pool's timeout */
};

/* What the decision remembers between samples. Zero-initialise. */
struct req_shed_state {
    bool backlog_on, redis_on;
    int64_t backlog;       /* last known backlog, -1 before the first */
    int64_t backlog_at_ms; /* when it was known */
    double drain_per_s;    /* smoothed net drain rate of the backlog (quotes/s; <= 0: none) */
    int64_t consumed;      /* last ack floor */
    int64_t consumed_at_ms;
    bool have_consumed;   /* consumed/consumed_at_ms are set */
    bool have_rate;       /* consume_per_s is measured */
    double consume_per_s; /* smoothed rate the aggregators acknowledge quotes at */
    double drain_ms;      /* backlog / consume_per_s: 0 below REQ_SHED_DRAIN_MIN or unknown */
    double redis_ms;      /* last PING time */
    bool redis_answered;  /* whether that PING was answered */
    bool have_backlog;    /* backlog/backlog_at_ms are set */
};

/* Fold sample s into st and return the cause now in force: a cause starts when its measure is
 * beyond the limit and ends when the measure is back at or below REQ_SHED_RESUME_PCT % of it.
 * The backlog has two measures: its size, and its drain time (how long the aggregators need
 * for it at the rate they acknowledge quotes, judged from REQ_SHED_DRAIN_MIN quotes on), so
 * that what is accepted can still be finished before its deadline whatever the machine.
 * For Redis the measure is the time a PING took, answered or not: a Redis that hangs is shed
 * for, one that refuses at once is not (submits then fail fast by themselves, with 503, and
 * /healthz reports Redis down). The backlog comes first when both hold. Pure. */
enum req_shed_cause req_shed_update(struct req_shed_state *st, const struct req_shed_limits *lim,
                                    const struct req_shed_sample *s);

/* The cause in force for st (backlog first). Pure. */
enum req_shed_cause req_shed_cause_of(const struct req_shed_state *st);

/* Retry-After seconds, REQ_SHED_RETRY_MIN_S..REQ_SHED_RETRY_MAX_S, for cause: for a backlog, the
 * time to drain down to the resume mark at the measured rate (the maximum when it does not
 * drain); for Redis, its PING time in multiples of the limit. Pure. */
int req_shed_retry_after(const struct req_shed_state *st, const struct req_shed_limits *lim,
                         enum req_shed_cause cause);

/* "backlog", "redis", or NULL for REQ_SHED_NONE. Static. */
const char *req_shed_cause_str(enum req_shed_cause c);

/* Start the monitor thread for s (limits s->cfg.shed_*; interval s->cfg.shed_interval_ms).
 * With both limits 0, *out is NULL and RFQ_OK: nothing is ever shed. *out is new
 * (req_shed_stop). RFQ_ENOMEM, RFQ_ENATS (no JetStream context) or RFQ_EIO (thread). */
rfq_status req_shed_start(req_shed **out, struct req_server *s);

/* Stop and join the monitor, free everything. NULL is a no-op. */
void req_shed_stop(req_shed *sh);

/* While shedding, fill out with 503 {"error":{"code":"unavailable","message":<cause and
 * figures>}} plus Retry-After, and return true; otherwise leave out alone and return false.
 * sh may be NULL (never sheds). Thread-safe. */
bool req_shed_refuse(req_shed *sh, struct req_reply *out);

/* The cause in force now (REQ_SHED_NONE for NULL) and, when backlog is not NULL, the last
 * known backlog (-1 when unknown). Thread-safe; for /healthz. */
enum req_shed_cause req_shed_now(req_shed *sh, int64_t *backlog);

#endif
