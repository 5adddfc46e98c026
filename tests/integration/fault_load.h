/* fault_load: steady load for the fault scenarios, and the count of what the engine lost or
 * doubled: a submitter thread posts RFQs at a fixed rate and records every answer; responders
 * hosted in the test on the responder library record every PubAck; after the fault and a drain,
 * both are checked against Redis. One load per scenario process. */
#ifndef RFQ_IT_FAULT_LOAD_H
#define RFQ_IT_FAULT_LOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

#define FL_GOOD_MAX 6 /* well-behaved responders the load can host */

struct fl_cfg {
    const char *scenario;     /* first word of every printed figure line */
    const struct h_proc *req; /* the requester the submitter posts to */
    int rate;                 /* RFQs per second; RFQ_IT_FAULT_RATE overrides */
    int responders;           /* well-behaved responders, 1..FL_GOOD_MAX */
    int timeout_ms;           /* RFQ timeout; half the RFQs want 3 quotes, half more than
                                 there are responders (they expire) */
    bool twice_responder;     /* add "fr-twice": sends every answer twice, with two
                                 Nats-Msg-Ids, so the stream keeps both copies */
    bool late_responder;      /* add "fr-late": answers FL_LATE_AFTER_MS after each deadline */
};

/* Totals of fl_finish (also printed). */
struct fl_result {
    long acked, stored, surplus, late, lost, duplicates; /* answers (quotes and declines) */
    long resent;                                         /* extra acknowledged copies */
    long accepted, rfqs_stored, rfqs_lost, rfqs_dup, open_past_deadline, orphans;
    long submits, refused, unanswered, scatter_missed, scatter_unexplained;
    long outage_submits, outage_503, outage_202;
    long outage_held;  /* submits under way at a nats-server crash answered only once it was
                          back (a scatter held in the reconnect buffer) */
    long refused_seen; /* RFQs the responders saw that no 202 named: refused after their
                          scatter left (their answers are dead-lettered as unknown_rfq) */
    long max_sweep_delay_ms;
    long stale_index;               /* deadline-set and open-set entries past their deadline */
    long dups_counted;              /* sum of the RFQs' dups fields */
    long twice_acked, twice_stored; /* fr-twice's acknowledged copies and stored answers */
    long late_acked, late_stored;   /* fr-late's */
};

/* Start the responders (connected, subscribed) and the submitter. Needs nats-server,
 * redis-server, an aggregator and cfg->req running. */
void fl_start(const struct fl_cfg *cfg);

/* Mark the start and end (the server's restart) of an outage of nats-server ("nats") or
 * redis-server ("redis"): no 202 may be answered inside one, submits in it are counted, and
 * for "nats" an RFQ accepted shortly before the start may have lost its scatter, but no submit
 * under way at the start may stay unanswered until the end. */
void fl_outage_begin(const char *what);
void fl_outage_end(void);

/* Stop submitting, let every deadline pass, wait until every answer has its PubAck outcome and
 * the aggregators have drained the quote stream, then count against Redis, print the figure
 * lines, stop the responders, and fail the scenario on any loss or duplicate. */
void fl_finish(struct fl_result *out);

/* Environment knob as an int (def when unset or not a number). */
int fl_env_int(const char *name, int def);

#endif
