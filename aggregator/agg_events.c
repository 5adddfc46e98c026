/* agg_events: event JSON building and publication. */
#include "agg_events.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rfq_ids.h"
#include "rfq_nats.h"

char *agg_event_quote_json(const char *tenant, const char *rfq_id, int64_t count,
                           const char *quote_json)
{
    /* The stored quote is already canonical JSON and the ids are validated identifiers: the
     * event is spliced, not rebuilt (this was a quarter of the aggregator's instructions). */
    if (!rfq_ident_valid(rfq_id) || !rfq_tenant_valid(tenant) || !quote_json)
        return NULL;
    size_t cap = strlen(tenant) + strlen(rfq_id) + strlen(quote_json) + 96;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    snprintf(s, cap,
             "{\"type\":\"quote\",\"rfq_id\":\"%s\",\"tenant\":\"%s\",\"count\":%lld,\"quote\":%s}",
             rfq_id, tenant, (long long)count, quote_json);
    return s;
}

char *agg_event_closed_json(const char *type, const char *tenant, const char *rfq_id, int64_t count,
                            const char *best_json)
{
    if (!rfq_ident_valid(rfq_id) || !rfq_tenant_valid(tenant) ||
        (strcmp(type, "completed") != 0 && strcmp(type, "expired") != 0))
        return NULL;
    /* best_json was read back from Redis: spliced only when it parses as an object (a damaged
     * value becomes null rather than breaking the event). */
    bool best_ok = false;
    if (best_json) {
        json_t *best = json_loads(best_json, JSON_REJECT_DUPLICATES, NULL);
        best_ok = json_is_object(best);
        json_decref(best);
    }
    const char *best = best_ok ? best_json : "null";
    size_t cap = strlen(tenant) + strlen(rfq_id) + strlen(best) + 128;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    snprintf(
        s, cap,
        "{\"type\":\"%s\",\"rfq_id\":\"%s\",\"tenant\":\"%s\",\"status\":\"%s\",\"count\":%lld,"
        "\"best\":%s}",
        type, rfq_id, tenant, type, (long long)count, best);
    return s;
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
