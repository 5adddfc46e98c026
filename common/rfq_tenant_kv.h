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
/* ---- revision-checked changes (two administrators must not lose each other's update) ----- */

/* Read one record and its revision (the bucket sequence of the tenant's newest entry), for
 * rfq_tenant_put_rev. As rfq_tenant_get; *rev is also set for a malformed record (RFQ_EPROTO)
 * so that it can be replaced. */
rfq_status rfq_tenant_get_rev(kvStore *kv, const char *tenant, struct rfq_tenant_rec *out,
                              uint64_t *rev, struct rfq_err *err);
/* Write rec (as rfq_tenant_put) only when the tenant's newest revision is still rev; rev 0:
 * only when the tenant has no record (never written, or deleted). When someone wrote in
 * between nothing is written, *conflict (may be NULL) becomes true and RFQ_ENATS returns.
 * *new_rev (may be NULL) gets the written revision. */
rfq_status rfq_tenant_put_rev(kvStore *kv, struct rfq_tenant_rec *rec, uint64_t rev,
                              uint64_t *new_rev, bool *conflict, struct rfq_err *err);

#define RFQ_TENANT_UPDATE_ATTEMPTS 5 /* reads-and-writes before rfq_tenant_update gives up */

/* A change for rfq_tenant_update: edit rec in place; return true to write it, false to leave
 * the record as it is. Run again on the newer record after a conflict, so it must depend on
 * its arguments only. */
typedef bool (*rfq_tenant_change_fn)(struct rfq_tenant_rec *rec, void *arg);

struct rfq_tenant_update_res {
    struct rfq_tenant_rec rec; /* the record as written (or as read, when not written) */
    uint64_t rev;              /* its revision */
    int conflicts;             /* writes refused because someone wrote in between */
    bool written;              /* change returned true and the write landed */
    bool gave_up;              /* still conflicting after RFQ_TENANT_UPDATE_ATTEMPTS */
};

/* Read-modify-write of tenant's record with a revision check: read, apply change, write only
 * if nobody wrote since the read; on a conflict read again and re-apply, up to
 * RFQ_TENANT_UPDATE_ATTEMPTS times (short random pauses in between). RFQ_ENOTFOUND when the
 * tenant is not registered (also when deleted meanwhile: an update never brings a deleted
 * tenant back); RFQ_EPROTO for a malformed record; RFQ_ENATS with res->gave_up when it kept
 * conflicting (err says so). */
rfq_status rfq_tenant_update(kvStore *kv, const char *tenant, rfq_tenant_change_fn change,
                             void *arg, struct rfq_tenant_update_res *res, struct rfq_err *err);

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
