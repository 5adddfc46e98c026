/* agg_events: event JSON building and publication. */
#include "agg_events.h"

#include <string.h>

#include <jansson.h>

#include "rfq_ids.h"
#include "rfq_nats.h"

/* Serialize and release j; NULL when j is NULL or out of memory. */
static char *dump_owned(json_t *j)
{
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

char *agg_event_quote_json(const char *tenant, const char *rfq_id, int64_t count,
                           const struct rfq_quote *q)
{
    return dump_owned(json_pack("{s:s,s:s,s:s,s:I,s:o}", "type", "quote", "rfq_id", rfq_id,
                                "tenant", tenant, "count", (json_int_t)count, "quote",
                                rfq_quote_to_json(q)));
}

char *agg_event_closed_json(const char *type, const char *tenant, const char *rfq_id, int64_t count,
                            const char *best_json)
{
    json_t *best = NULL;
    if (best_json) {
        best = json_loads(best_json, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(best)) {
            json_decref(best);
            best = NULL;
        }
    }
    if (!best)
        best = json_null();
    return dump_owned(json_pack("{s:s,s:s,s:s,s:s,s:I,s:o}", "type", type, "rfq_id", rfq_id,
                                "tenant", tenant, "status", type, "count", (json_int_t)count,
                                "best", best));
}

rfq_status agg_event_publish(natsConnection *nc, const char *tenant, const char *rfq_id,
                             const char *json)
{
    char subject[RFQ_KEY_MAX];
    rfq_status st = rfq_subject_event(subject, sizeof(subject), tenant, rfq_id);
    if (st != RFQ_OK)
        return st;
    if (!json)
        return RFQ_ENOMEM;
    return rfq_nats_status(natsConnection_Publish(nc, subject, json, (int)strlen(json)));
}
