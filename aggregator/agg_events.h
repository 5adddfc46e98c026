/* agg_events: the aggregator's events (quote, completed, expired) as the contract spells
 * them, published with core NATS on rfq.v1.event.<tenant>.<rfq_id>. */
#ifndef AGG_EVENTS_H
#define AGG_EVENTS_H

#include <stdint.h>

#include <nats/nats.h>

#include "rfq_msg.h"
#include "rfq_status.h"

/* {"type":"quote","rfq_id","tenant","count":n,"quote":{...}} around quote_json, the quote's
 * canonical encoding (rfq_quote_encode): a new malloc'd string (free()), or NULL when out of
 * memory or an id is not a valid identifier. Pure. */
char *agg_event_quote_json(const char *tenant, const char *rfq_id, int64_t count,
                           const char *quote_json);

/* {"type":type,"rfq_id","tenant","status":type,"count":n,"best":{...}|null} for type
 * "completed" or "expired". best_json is the stored quote JSON (borrowed, may be NULL; when it
 * does not parse as an object, best is null). New malloc'd string or NULL. Pure. */
char *agg_event_closed_json(const char *type, const char *tenant, const char *rfq_id, int64_t count,
                            const char *best_json);

/* Publish json to rfq.v1.event.<tenant>.<rfq_id>. Fire and forget: events are a
 * notification; the state of record is in Redis. RFQ_EINVAL on bad ids, RFQ_ENATS. */
rfq_status agg_event_publish(natsConnection *nc, const char *tenant, const char *rfq_id,
                             const char *json);

#endif
