/* rfq_tenant_kv: tenant records in NATS KV and their watched view. */
#include "rfq_tenant_kv.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "rfq_kv_watch.h"
#include "rfq_nats.h"

#define TENANT_BUCKET_HISTORY 5
#define TENANT_JS_WAIT_MS 2000      /* a bucket read must not hold a request for long */
#define TENANT_WATCH_JS_WAIT_MS 500 /* watcher set-up and tear-down (see view_start) */
#define TENANT_LOAD_BOUND_MS 10000  /* initial load of every record */
#define TENANT_WATCH_POLL_MS 200    /* how promptly the watcher thread sees a stop */
#define TENANT_WATCH_RETRY_MS 250   /* pause before re-creating a failed watcher */
#define TENANT_KEYS_TIMEOUT_MS 5000 /* rfq_tenant_list */

/* ---- administration ---------------------------------------------------------------------- */

rfq_status rfq_tenant_bucket_open(kvStore **out, jsCtx *js, bool create)
{
    *out = NULL;
    natsStatus s = js_KeyValue(out, js, RFQ_TENANTS_BUCKET);
    if (s == NATS_NOT_FOUND && create) {
        kvConfig cfg;
        kvConfig_Init(&cfg);
        cfg.Bucket = RFQ_TENANTS_BUCKET;
        cfg.Description = "rfq-engine tenant records";
        cfg.History = TENANT_BUCKET_HISTORY;
        cfg.StorageType = js_FileStorage;
        cfg.MaxValueSize = 4096;
        s = js_CreateKeyValue(out, js, &cfg);
    }
    if (s != NATS_OK) {
        *out = NULL;
        return s == NATS_NOT_FOUND ? RFQ_ENOTFOUND : rfq_nats_status(s);
    }
    return RFQ_OK;
}

/* Decode one stored value and check it belongs under its key (a record copied to another key
 * must not grant that tenant anything). */
static rfq_status decode_value(const void *value, int len, const char *tenant,
                               struct rfq_tenant_rec *out, struct rfq_err *err)
{
    rfq_status st = rfq_tenant_rec_decode(out, value, len > 0 ? (size_t)len : 0, err);
    if (st == RFQ_OK && strcmp(out->tenant, tenant) != 0)
        st = rfq_err_set(err, RFQ_EINVAL, "tenant_id", "record under key %s names tenant %s",
                         tenant, out->tenant);
    return st;
}

/* Read tenant's newest entry: RFQ_OK with *rev, RFQ_ENOTFOUND (none or deleted), RFQ_EPROTO
 * (malformed record), or RFQ_ENATS/RFQ_ETIMEOUT. */
static rfq_status get_rev(kvStore *kv, const char *tenant, struct rfq_tenant_rec *out,
                          uint64_t *rev, struct rfq_err *err)
{
    if (!rfq_tenant_valid(tenant))
        return rfq_err_set(err, RFQ_EINVAL, "tenant", "invalid tenant id");
    kvEntry *e = NULL;
    natsStatus s = kvStore_Get(&e, kv, tenant);
    if (s == NATS_NOT_FOUND)
        return rfq_err_set(err, RFQ_ENOTFOUND, "tenant", "tenant %s is not registered", tenant);
    if (s != NATS_OK)
        return rfq_err_set(err, rfq_nats_status(s), "", "cannot read %s: %s", RFQ_TENANTS_BUCKET,
                           natsStatus_GetText(s));
    rfq_status st = decode_value(kvEntry_Value(e), kvEntry_ValueLen(e), tenant, out, err) == RFQ_OK
                        ? RFQ_OK
                        : RFQ_EPROTO;
    if (rev)
        *rev = kvEntry_Revision(e);
    kvEntry_Destroy(e);
    return st;
}

rfq_status rfq_tenant_get(kvStore *kv, const char *tenant, struct rfq_tenant_rec *out,
                          struct rfq_err *err)
{
    return get_rev(kv, tenant, out, NULL, err);
}

/* Stamp and encode rec for writing (*json is new). What is written must read back: the
 * same checks the watchers apply. */
static rfq_status encode_for_put(struct rfq_tenant_rec *rec, char **json, size_t *len,
                                 struct rfq_err *err)
{
    *json = NULL;
    if (!rfq_tenant_valid(rec->tenant))
        return rfq_err_set(err, RFQ_EINVAL, "tenant", "invalid tenant id");
    if (rec->tier[0] && !rfq_tier_valid(rec->tier))
        return rfq_err_set(err, RFQ_EINVAL, "tier", "tier must be basic|premium|enterprise");
    rec->updated_ms = rfq_now_ms();
    if (!rec->created_ms)
        rec->created_ms = rec->updated_ms;
    rfq_status st = rfq_tenant_rec_encode(rec, json, len);
    if (st != RFQ_OK)
        return rfq_err_set(err, st, "", "cannot encode the tenant record");
    struct rfq_tenant_rec check;
    st = rfq_tenant_rec_decode(&check, *json, *len, err);
    if (st != RFQ_OK) {
        free(*json);
        *json = NULL;
    }
    return st;
}

rfq_status rfq_tenant_put(kvStore *kv, struct rfq_tenant_rec *rec, struct rfq_err *err)
{
    char *json = NULL;
    size_t len = 0;
    rfq_status st = encode_for_put(rec, &json, &len, err);
    if (st == RFQ_OK) {
        natsStatus s = kvStore_Put(NULL, kv, rec->tenant, json, (int)len);
        if (s != NATS_OK)
            st = rfq_err_set(err, rfq_nats_status(s), "", "cannot write %s: %s", RFQ_TENANTS_BUCKET,
                             natsStatus_GetText(s));
    }
    free(json);
    return st;
}

/* ---- revision-checked changes ------------------------------------------------------------ */

rfq_status rfq_tenant_get_rev(kvStore *kv, const char *tenant, struct rfq_tenant_rec *out,
                              uint64_t *rev, struct rfq_err *err)
{
    *rev = 0;
    return get_rev(kv, tenant, out, rev, err);
}

/* The server refuses a write whose expected last revision is stale with JetStream error 10071
 * ("wrong last sequence: N"); kvStore_Update does not hand the code back, only this text. */
static bool is_wrong_last_seq(natsStatus s)
{
    if (s != NATS_ERR)
        return false;
    const char *text = nats_GetLastError(NULL);
    return text && strstr(text, "wrong last sequence") != NULL;
}

rfq_status rfq_tenant_put_rev(kvStore *kv, struct rfq_tenant_rec *rec, uint64_t rev,
                              uint64_t *new_rev, bool *conflict, struct rfq_err *err)
{
    if (conflict)
        *conflict = false;
    if (new_rev)
        *new_rev = 0;
    char *json = NULL;
    size_t len = 0;
    rfq_status st = encode_for_put(rec, &json, &len, err);
    if (st != RFQ_OK)
        return st;
    uint64_t written = 0;
    /* Create also takes the place of a delete marker (rev 0 = "no live record"). */
    natsStatus s = rev == 0 ? kvStore_Create(&written, kv, rec->tenant, json, (int)len)
                            : kvStore_Update(&written, kv, rec->tenant, json, (int)len, rev);
    free(json);
    if (s == NATS_OK) {
        if (new_rev)
            *new_rev = written;
        return RFQ_OK;
    }
    if (is_wrong_last_seq(s)) {
        if (conflict)
            *conflict = true;
        return rfq_err_set(err, RFQ_ENATS, "revision",
                           rev ? "tenant %s changed since it was read (revision %llu)"
                               : "tenant %s was registered meanwhile",
                           rec->tenant, (unsigned long long)rev);
    }
    return rfq_err_set(err, rfq_nats_status(s), "", "cannot write %s: %s", RFQ_TENANTS_BUCKET,
                       natsStatus_GetText(s));
}

rfq_status rfq_tenant_update(kvStore *kv, const char *tenant, rfq_tenant_change_fn change,
                             void *arg, struct rfq_tenant_update_res *res, struct rfq_err *err)
{
    memset(res, 0, sizeof(*res));
    for (int attempt = 1;; attempt++) {
        rfq_status st = rfq_tenant_get_rev(kv, tenant, &res->rec, &res->rev, err);
        if (st != RFQ_OK)
            return st;
        if (!change(&res->rec, arg))
            return RFQ_OK;
        bool conflict = false;
        uint64_t rev = 0;
        st = rfq_tenant_put_rev(kv, &res->rec, res->rev, &rev, &conflict, err);
        if (st == RFQ_OK) {
            res->rev = rev;
            res->written = true;
            return RFQ_OK;
        }
        if (!conflict)
            return st;
        res->conflicts++;
        if (attempt >= RFQ_TENANT_UPDATE_ATTEMPTS) {
            res->gave_up = true;
            return rfq_err_set(err, RFQ_ENATS, "revision",
                               "tenant %s kept changing while being updated (%d attempts); "
                               "nothing was written, try again",
                               tenant, attempt);
        }
        /* A short random pause: two writers retrying in step would collide again. */
        unsigned jitter = 0;
        if (getrandom(&jitter, sizeof(jitter), GRND_NONBLOCK) != (ssize_t)sizeof(jitter))
            jitter = (unsigned)rfq_mono_ns() ^ (unsigned)getpid();
        usleep((useconds_t)((5000 + jitter % 20000) * (unsigned)attempt));
    }
}

rfq_status rfq_tenant_delete(kvStore *kv, const char *tenant, struct rfq_err *err)
{
    if (!rfq_tenant_valid(tenant))
        return rfq_err_set(err, RFQ_EINVAL, "tenant", "invalid tenant id");
    natsStatus s = kvStore_Delete(kv, tenant);
    if (s != NATS_OK)
        return rfq_err_set(err, rfq_nats_status(s), "", "cannot delete from %s: %s",
                           RFQ_TENANTS_BUCKET, natsStatus_GetText(s));
    return RFQ_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

rfq_status rfq_tenant_list(kvStore *kv, char ***out, size_t *n, struct rfq_err *err)
{
    *out = NULL;
    *n = 0;
    kvWatchOptions o;
    kvWatchOptions_Init(&o);
    o.Timeout = TENANT_KEYS_TIMEOUT_MS;
    kvKeysList keys = {NULL, 0};
    natsStatus s = kvStore_Keys(&keys, kv, &o);
    if (s == NATS_NOT_FOUND)
        return RFQ_OK;
    if (s != NATS_OK)
        return rfq_err_set(err, rfq_nats_status(s), "", "cannot list %s: %s", RFQ_TENANTS_BUCKET,
                           natsStatus_GetText(s));
    /* The list takes the key strings over; keysList_Destroy then frees only the array. */
    if (keys.Count > 0) {
        *out = malloc((size_t)keys.Count * sizeof(char *));
        if (!*out) {
            kvKeysList_Destroy(&keys);
            return RFQ_ENOMEM;
        }
        for (int i = 0; i < keys.Count; i++) {
            (*out)[i] = keys.Keys[i];
            keys.Keys[i] = NULL;
        }
        *n = (size_t)keys.Count;
        qsort(*out, *n, sizeof(char *), cmp_str);
    }
    kvKeysList_Destroy(&keys);
    return RFQ_OK;
}

/* ---- the watched view -------------------------------------------------------------------- */

/* One tenant as last seen. A deleted tenant stays as a tombstone carrying the revision of its
 * delete, so that a slower direct read cannot bring an older record back. */
struct view_entry {
    struct rfq_tenant_rec rec; /* rec.tenant is the key */
    uint64_t rev;              /* KV revision of what is held */
    uint64_t gen;              /* watcher generation that last confirmed it */
    bool present;              /* false: deleted at rev */
};

struct rfq_tenant_view {
    natsConnection *nc; /* borrowed */
    jsCtx *js;          /* owned; direct reads */
    kvStore *kv;        /* owned; direct reads */
    jsCtx *js_watch;    /* owned; the watcher's consumer requests */
    rfq_kv_watch *w;    /* owned by the watcher thread once it runs */
    pthread_t thread;
    bool thread_started;
    atomic_int stop;
    pthread_rwlock_t lock; /* guards e, n, cap, gen */
    struct view_entry *e;  /* sorted by tenant */
    size_t n, cap;         /* entries used / allocated */
    uint64_t gen;          /* generation of the current watcher (1, 2, ...) */
    uint64_t reconnects;   /* connection's reconnect count when the watcher was made */
    natsStatistics *stats; /* owned; reads the reconnect count */
    atomic_uint_least64_t changes;
    struct rfq_log_ctx log;
};

/* Index of tenant, or the insertion point with *found false. Lock held. */
static size_t view_find(const rfq_tenant_view *v, const char *tenant, bool *found)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->e[mid].rec.tenant, tenant);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Slot for tenant (inserted zeroed when missing), or NULL when out of memory. Write lock. */
static struct view_entry *view_slot(rfq_tenant_view *v, const char *tenant, bool *is_new)
{
    bool found = false;
    size_t i = view_find(v, tenant, &found);
    *is_new = !found;
    if (found)
        return &v->e[i];
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        struct view_entry *e = realloc(v->e, cap * sizeof(*e));
        if (!e)
            return NULL;
        v->e = e;
        v->cap = cap;
    }
    memmove(&v->e[i + 1], &v->e[i], (v->n - i) * sizeof(*v->e));
    v->n++;
    memset(&v->e[i], 0, sizeof(v->e[i]));
    rfq_tenant_rec_init(&v->e[i].rec, tenant);
    return &v->e[i];
}

/* Store rec (NULL: a delete) at rev. From the watcher (from_watch) a change replaces what a
 * previous watcher generation left, and otherwise anything not newer; from a direct read it
 * only fills in what the watcher has not delivered yet. */
static void view_store(rfq_tenant_view *v, const char *tenant, const struct rfq_tenant_rec *rec,
                       uint64_t rev, bool from_watch)
{
    pthread_rwlock_wrlock(&v->lock);
    bool is_new = false;
    struct view_entry *e = view_slot(v, tenant, &is_new);
    if (e && (is_new || rev > e->rev || (from_watch && (e->gen < v->gen || rev == e->rev)))) {
        if (rec)
            e->rec = *rec;
        e->present = rec != NULL;
        e->rev = rev;
        e->gen = v->gen;
    }
    pthread_rwlock_unlock(&v->lock);
}

/* Keep tenant's entry through a resync although its new value was refused (malformed). */
static void view_touch(rfq_tenant_view *v, const char *tenant)
{
    pthread_rwlock_wrlock(&v->lock);
    bool found = false;
    size_t i = view_find(v, tenant, &found);
    if (found)
        v->e[i].gen = v->gen;
    pthread_rwlock_unlock(&v->lock);
}

/* After a watcher's initial values: drop what that watcher did not deliver (removed while no
 * watcher was listening, e.g. purged during an outage). */
static void view_prune(rfq_tenant_view *v)
{
    pthread_rwlock_wrlock(&v->lock);
    size_t j = 0;
    for (size_t i = 0; i < v->n; i++)
        if (v->e[i].gen >= v->gen)
            v->e[j++] = v->e[i];
    v->n = j;
    pthread_rwlock_unlock(&v->lock);
}

/* Apply one watched entry. A malformed record is logged and ignored: the tenant keeps its last
 * good record. */
static void view_apply(rfq_tenant_view *v, const struct rfq_kv_change *c)
{
    const char *key = c->key;
    uint64_t rev = c->revision;
    if (!key || !rfq_tenant_valid(key)) {
        RFQ_LOG(&v->log, RFQ_WARN, "tenant bucket: key '%.80s' is not a tenant id; ignored",
                key ? key : "");
        return;
    }
    if (c->deleted) {
        view_store(v, key, NULL, rev, true);
        RFQ_LOG(&v->log, RFQ_INFO, "tenant %s removed (revision %llu)", key,
                (unsigned long long)rev);
    } else {
        struct rfq_tenant_rec rec;
        struct rfq_err err = {{0}, {0}};
        if (decode_value(c->value, c->value_len, key, &rec, &err) != RFQ_OK) {
            view_touch(v, key);
            RFQ_LOG(&v->log, RFQ_ERROR,
                    "tenant %s: malformed record ignored (revision %llu): %s; keeping the last "
                    "good one",
                    key, (unsigned long long)rev, err.message);
            return;
        }
        view_store(v, key, &rec, rev, true);
        RFQ_LOG(&v->log, RFQ_DEBUG, "tenant %s updated (revision %llu)", key,
                (unsigned long long)rev);
    }
    atomic_fetch_add(&v->changes, 1);
}

static uint64_t reconnect_count(rfq_tenant_view *v)
{
    uint64_t reconnects = 0;
    if (natsConnection_GetStats(v->nc, v->stats) == NATS_OK)
        natsStatistics_GetCounts(v->stats, NULL, NULL, NULL, NULL, &reconnects);
    return reconnects;
}

/* A new watcher: it first replays the newest value of every key (a full resync). */
static natsStatus watcher_create(rfq_tenant_view *v)
{
    pthread_rwlock_wrlock(&v->lock);
    v->gen++;
    pthread_rwlock_unlock(&v->lock);
    v->reconnects = reconnect_count(v);
    return rfq_kv_watch_create(&v->w, v->nc, v->js_watch, RFQ_TENANTS_BUCKET);
}

static void watcher_drop(rfq_tenant_view *v)
{
    rfq_kv_watch_destroy(v->w);
    v->w = NULL;
}

/* Deliver the watcher's entries until its initial values are done (NULL marker), bounded. */
static rfq_status view_load(rfq_tenant_view *v, int bound_ms)
{
    int64_t end = rfq_mono_ns() + (int64_t)bound_ms * 1000000;
    for (;;) {
        int64_t left = (end - rfq_mono_ns()) / 1000000;
        if (left <= 0)
            return RFQ_ETIMEOUT;
        struct rfq_kv_change c;
        natsStatus s = rfq_kv_watch_next(v->w, &c, (int)left);
        if (s != NATS_OK)
            return rfq_nats_status(s);
        if (!c.key) {
            view_prune(v);
            return RFQ_OK;
        }
        view_apply(v, &c);
    }
}

/* Watcher thread. Applies changes as they come. A watch that reports itself broken (a gap,
 * lost heartbeats) is replaced, and so is one that lived through a reconnection (the server
 * may have restarted and lost its consumer): a new one replays every record (a resync). */
static void *view_main(void *arg)
{
    rfq_tenant_view *v = arg;
    bool initial_done = true; /* view_load consumed the first watcher's initial values */
    bool told = false;        /* a failing re-creation was logged (once per streak) */
    while (!atomic_load(&v->stop)) {
        if (!v->w) {
            bool up = natsConnection_Status(v->nc) == NATS_CONN_STATUS_CONNECTED;
            natsStatus s = up ? watcher_create(v) : NATS_CONNECTION_DISCONNECTED;
            if (s != NATS_OK) {
                v->w = NULL;
                if (up && !told)
                    RFQ_LOG(&v->log, RFQ_WARN,
                            "cannot watch tenant bucket %s: %s; the records held are kept and "
                            "retried",
                            RFQ_TENANTS_BUCKET, natsStatus_GetText(s));
                told = told || up;
                usleep(TENANT_WATCH_RETRY_MS * 1000);
                continue;
            }
            told = false;
            initial_done = false;
            RFQ_LOG(&v->log, RFQ_INFO, "tenant bucket watch re-created (resync)");
        }
        struct rfq_kv_change c;
        natsStatus s = rfq_kv_watch_next(v->w, &c, TENANT_WATCH_POLL_MS);
        if (s == NATS_OK && c.key) {
            view_apply(v, &c);
        } else if (s == NATS_OK) {
            if (!initial_done)
                view_prune(v);
            initial_done = true;
        } else if (s == NATS_TIMEOUT) {
            if (natsConnection_Status(v->nc) == NATS_CONN_STATUS_CONNECTED &&
                reconnect_count(v) != v->reconnects)
                watcher_drop(v);
        } else if (!atomic_load(&v->stop)) {
            RFQ_LOG(&v->log, RFQ_WARN, "tenant bucket watch failed: %s; re-creating",
                    natsStatus_GetText(s));
            watcher_drop(v);
            usleep(TENANT_WATCH_RETRY_MS * 1000);
        }
    }
    return NULL;
}

rfq_status rfq_tenant_view_start(rfq_tenant_view **out, natsConnection *nc,
                                 const struct rfq_log_ctx *log, struct rfq_err *err)
{
    *out = NULL;
    rfq_tenant_view *v = calloc(1, sizeof(*v));
    if (!v)
        return RFQ_ENOMEM;
    v->nc = nc;
    if (log)
        v->log = *log;
    pthread_rwlock_init(&v->lock, NULL);
    rfq_status st = RFQ_ENATS;
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = TENANT_JS_WAIT_MS;
    /* Tearing a watcher down deletes its consumer with a request that, during an outage,
     * waits for its full timeout: the watcher's requests get a short one, so that a requester
     * stopping while NATS is down is not held up. Reads keep the longer one. */
    jsOptions jw;
    jsOptions_Init(&jw);
    jw.Wait = TENANT_WATCH_JS_WAIT_MS;
    if (natsStatistics_Create(&v->stats) != NATS_OK ||
        natsConnection_JetStream(&v->js, nc, &jo) != NATS_OK ||
        natsConnection_JetStream(&v->js_watch, nc, &jw) != NATS_OK) {
        rfq_err_set(err, st, "RFQ_NATS_URL", "cannot set up JetStream for the tenant records");
        goto fail;
    }
    st = rfq_tenant_bucket_open(&v->kv, v->js, true);
    if (st != RFQ_OK) {
        rfq_err_set(err, st, "RFQ_NATS_URL",
                    "tenant bucket %s cannot be opened or created (%s): JetStream must be "
                    "enabled and the user allowed to read it",
                    RFQ_TENANTS_BUCKET, rfq_status_str(st));
        goto fail;
    }
    /* Its short timeout may expire on a loaded server: retry within the load bound. */
    int64_t until = rfq_mono_ns() + (int64_t)TENANT_LOAD_BOUND_MS * 1000000;
    natsStatus s;
    for (;;) {
        if ((s = watcher_create(v)) != NATS_OK)
            v->w = NULL;
        if (s == NATS_OK || rfq_mono_ns() >= until)
            break;
        usleep(TENANT_WATCH_RETRY_MS * 1000);
    }
    if (s != NATS_OK) {
        st = rfq_err_set(err, rfq_nats_status(s), "RFQ_NATS_URL",
                         "cannot watch tenant bucket %s: %s", RFQ_TENANTS_BUCKET,
                         natsStatus_GetText(s));
        goto fail;
    }
    st = view_load(v, TENANT_LOAD_BOUND_MS);
    if (st != RFQ_OK) {
        rfq_err_set(err, st, "RFQ_NATS_URL", "cannot load tenant records from %s (%s)",
                    RFQ_TENANTS_BUCKET, rfq_status_str(st));
        goto fail;
    }
    if (pthread_create(&v->thread, NULL, view_main, v) != 0) {
        st = rfq_err_set(err, RFQ_ENOMEM, "", "cannot start the tenant watcher thread");
        goto fail;
    }
    v->thread_started = true;
    size_t loaded = 0;
    pthread_rwlock_rdlock(&v->lock); /* the watcher thread runs already */
    for (size_t i = 0; i < v->n; i++)
        loaded += v->e[i].present;
    pthread_rwlock_unlock(&v->lock);
    RFQ_LOG(&v->log, RFQ_INFO, "watching %s: %zu tenant records loaded", RFQ_TENANTS_BUCKET,
            loaded);
    *out = v;
    return RFQ_OK;
fail:
    rfq_tenant_view_destroy(v);
    return st;
}

void rfq_tenant_view_destroy(rfq_tenant_view *v)
{
    if (!v)
        return;
    atomic_store(&v->stop, 1);
    if (v->thread_started)
        pthread_join(v->thread, NULL);
    if (v->w)
        watcher_drop(v);
    jsCtx_Destroy(v->js_watch);
    kvStore_Destroy(v->kv);
    jsCtx_Destroy(v->js);
    natsStatistics_Destroy(v->stats);
    pthread_rwlock_destroy(&v->lock);
    free(v->e);
    free(v);
}

rfq_status rfq_tenant_view_get(rfq_tenant_view *v, const char *tenant, struct rfq_tenant_rec *out)
{
    if (!tenant || !rfq_tenant_valid(tenant))
        return RFQ_ENOTFOUND;
    pthread_rwlock_rdlock(&v->lock);
    bool found = false;
    size_t i = view_find(v, tenant, &found);
    if (found && v->e[i].present)
        *out = v->e[i].rec;
    found = found && v->e[i].present;
    pthread_rwlock_unlock(&v->lock);
    if (found)
        return RFQ_OK;
    /* Miss (or deleted): the tenant may have been created a moment ago and not reached the
     * watcher yet. One direct read; while NATS is down it would only wait for a timeout. */
    if (natsConnection_Status(v->nc) != NATS_CONN_STATUS_CONNECTED)
        return RFQ_ENATS;
    struct rfq_err err = {{0}, {0}};
    uint64_t rev = 0;
    rfq_status st = get_rev(v->kv, tenant, out, &rev, &err);
    if (st == RFQ_EPROTO) {
        RFQ_LOG(&v->log, RFQ_ERROR, "tenant %s: malformed record ignored: %s", tenant, err.message);
        return RFQ_ENOTFOUND;
    }
    if (st == RFQ_OK)
        view_store(v, tenant, out, rev, false);
    return st == RFQ_OK || st == RFQ_ENOTFOUND ? st : RFQ_ENATS;
}

uint64_t rfq_tenant_view_changes(const rfq_tenant_view *v)
{
    return v ? atomic_load(&((rfq_tenant_view *)v)->changes) : 0;
}
