/* rfq_tenant_kv: tenant records in the NATS KV bucket RFQ_TENANTS (key = tenant id, value =
 * rfq_tenant_rec JSON), and a watched in-memory view of them: a change made anywhere reaches
 * every watching process within milliseconds, with no cache TTL. */
#ifndef RFQ_TENANT_KV_H
#define RFQ_TENANT_KV_H

#include <nats/nats.h>

#include "rfq_log.h"
#include "rfq_tenant.h"

#define RFQ_TENANTS_BUCKET "RFQ_TENANTS"

/* ---- administration (rfqctl tenant, tests, local stack) ---------------------------------- */

/* Open the bucket, creating it when missing (history 5, file storage). *out belongs to js's
 * connection: release with kvStore_Destroy. */
rfq_status rfq_tenant_bucket_open(kvStore **out, jsCtx *js, bool create);

/* Read one record. RFQ_ENOTFOUND when the tenant has none (or it was deleted). */
rfq_status rfq_tenant_get(kvStore *kv, const char *tenant, struct rfq_tenant_rec *out,
                          struct rfq_err *err);
/* Write a record (updated_ms set to now; created_ms kept or set). */
rfq_status rfq_tenant_put(kvStore *kv, struct rfq_tenant_rec *rec, struct rfq_err *err);
/* Delete a tenant's record (the watchers forget it). */
rfq_status rfq_tenant_delete(kvStore *kv, const char *tenant, struct rfq_err *err);
/* Every registered tenant id, sorted; *out is a new array of new strings, free each and the
 * array. */
rfq_status rfq_tenant_list(kvStore *kv, char ***out, size_t *n, struct rfq_err *err);

/* ---- the watched view (requester) -------------------------------------------------------- */

typedef struct rfq_tenant_view rfq_tenant_view;

/* Open the bucket (creating it when missing), load every record and keep watching for
 * changes in a background thread of nats.c. A malformed record is logged and ignored (the
 * tenant keeps its last good record). *out is new (rfq_tenant_view_destroy). */
rfq_status rfq_tenant_view_start(rfq_tenant_view **out, natsConnection *nc,
                                 const struct rfq_log_ctx *log, struct rfq_err *err);
/* Stop watching and free. Accepts NULL. */
void rfq_tenant_view_destroy(rfq_tenant_view *v);

/* Copy the current record of tenant. A tenant the view has not seen is read from the bucket
 * once (a tenant created a moment ago may not have reached the watcher yet). RFQ_ENOTFOUND
 * when not registered; RFQ_ENATS when the bucket cannot be read. Thread-safe. */
rfq_status rfq_tenant_view_get(rfq_tenant_view *v, const char *tenant, struct rfq_tenant_rec *out);

/* Number of changes applied since start (tests and /healthz use it to see the watch alive). */
uint64_t rfq_tenant_view_changes(const rfq_tenant_view *v);

#endif
