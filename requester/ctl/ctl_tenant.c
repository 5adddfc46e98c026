/* ctl_tenant: `rfqctl tenant` registers tenants (record in the NATS KV bucket RFQ_TENANTS and
 * a Redis ACL user), changes their settings live, suspends, resumes and deletes them. It
 * talks to NATS and Redis directly as an administrator, not to the HTTP API. */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rfq_cfg.h"
#include "rfq_log.h"
#include "rfq_nats.h"
#include "rfq_redis.h"
#include "rfq_redis_acl.h"
#include "rfq_tenant_kv.h"

#define T_NATS_WAIT_MS 3000
#define T_REDIS_TIMEOUT_MS 3000
#define T_REDIS_WAIT_MS 1000
#define T_QUOTA_MAX ((long long)1 << 40) /* the record decoder's bound */

/* Where the admin connections go: flags over environment. Strings borrowed. */
struct tenant_env {
    const char *nats_url;    /* --nats / RFQ_NATS_URL */
    const char *redis_admin; /* --redis-admin / RFQ_REDIS_ADMIN_URL, NULL = no Redis user */
    const char *secret_file; /* --secret-file / RFQ_TENANT_SECRET_FILE */
};

/* Settings given on the command line; RFQ_TENANT_UNSET = not given. */
enum {
    CLR_TIER = 1 << 0,
    CLR_RATE = 1 << 1,
    CLR_BURST = 1 << 2,
    CLR_MAX_OPEN = 1 << 3,
    CLR_DMQ = 1 << 4,
    CLR_DTO = 1 << 5,
};
struct tenant_flags {
    const char *tier;
    long long rate, burst, max_open, dmq, dto;
    unsigned clear; /* CLR_* bits (set only) */
    bool json;      /* get/list: print JSON */
};

static void tenant_help(void)
{
    printf(
        "Usage: rfqctl tenant ACTION TENANT [options]\n"
        "       rfqctl tenant list [--json]\n"
        "\n"
        "Manage tenant records (NATS KV bucket " RFQ_TENANTS_BUCKET ") and the tenants' Redis\n"
        "users. A tenant must be registered and active to use the API; every change applies\n"
        "to running requesters within a second, without a restart.\n"
        "\n"
        "Actions:\n"
        "  create T [settings]   register T and create its Redis user rfq-t-T. On a tenant\n"
        "                        that exists already: when the settings given match its record\n"
        "                        (or none are given) nothing changes but the Redis user is\n"
        "                        made again (exit 0); otherwise exit 1 (use 'set')\n"
        "  get T [--json]        show T's record and its effective quota\n"
        "  set T [settings] [--clear F,...]   change T's settings\n"
        "  list [--json]         registered tenants\n"
        "  suspend T             every API call of T answers 403 (data kept)\n"
        "  resume T              T may use the API again\n"
        "  delete T              remove T's record (API answers 403) and its Redis user\n"
        "\n"
        "Settings (create, set):\n"
        "  --tier T                  basic, premium or enterprise: overrides the token's tier\n"
        "  --rate N                  RFQs per second (0 = unlimited)\n"
        "  --burst N                 burst size (0 = unlimited)\n"
        "  --max-open N              open RFQs at once (0 = unlimited)\n"
        "  --default-max-quotes N    max_quotes when a request has none (1..100)\n"
        "  --default-timeout-ms N    timeout_ms when a request has none (100..60000)\n"
        "  --clear F,...             (set) back to the tier default: tier, rate, burst,\n"
        "                            max-open, default-max-quotes, default-timeout-ms, all\n"
        "\n"
        "Connections (administrator credentials):\n"
        "  --nats URL          default $RFQ_NATS_URL or nats://127.0.0.1:4222; the admin\n"
        "                      user, nats://admin:PASSWORD@HOST:PORT\n"
        "  --redis-admin URL   default $RFQ_REDIS_ADMIN_URL, redis://default:PASSWORD@HOST:PORT\n"
        "  --secret-file F     default $RFQ_TENANT_SECRET_FILE: derives the tenant's Redis\n"
        "                      password (the requester derives the same one)\n"
        "Without a Redis admin URL and secret file, create and delete change the record only\n"
        "and say so on stderr. Passwords are never printed.\n"
        "\n"
        "Changes are revision-checked: set, suspend and resume re-read and re-apply when\n"
        "another administrator changed the tenant in between (never overwriting it), and give\n"
        "up with exit 1 if it keeps changing.\n"
        "\n"
        "Exit status: 0 done, 1 failed (e.g. tenant not registered), 2 bad command line,\n"
        "3 NATS or Redis unreachable.\n"
        "\n"
        "Example: rfqctl tenant create acme --tier premium --default-max-quotes 5\n");
}

/* ---- connections ---- */

struct tenant_conn {
    natsConnection *nc;
    jsCtx *js;
    kvStore *kv;
};

static void conn_close(struct tenant_conn *c)
{
    kvStore_Destroy(c->kv);
    jsCtx_Destroy(c->js);
    if (c->nc) {
        natsConnection_Close(c->nc);
        natsConnection_Destroy(c->nc);
    }
    memset(c, 0, sizeof(*c));
}

/* Connect and open the bucket (created when create is set). Returns an exit code. A missing
 * bucket without create leaves c->kv NULL: nobody is registered. */
static int conn_open(struct tenant_conn *c, const struct tenant_env *env, bool create)
{
    char shown[512];
    memset(c, 0, sizeof(*c));
    if (rfq_nats_connect(&c->nc, env->nats_url, "rfqctl", true, T_NATS_WAIT_MS) != RFQ_OK) {
        fprintf(stderr, "rfqctl tenant: cannot connect to NATS at %s\n",
                rfq_url_redact(env->nats_url, shown, sizeof(shown)));
        return CTL_EXIT_UNREACHABLE;
    }
    if (natsConnection_JetStream(&c->js, c->nc, NULL) != NATS_OK) {
        fprintf(stderr, "rfqctl tenant: cannot use JetStream\n");
        conn_close(c);
        return CTL_EXIT_FAIL;
    }
    rfq_status st = rfq_tenant_bucket_open(&c->kv, c->js, create);
    if (st == RFQ_ENOTFOUND && !create)
        return CTL_EXIT_OK;
    if (st != RFQ_OK) {
        fprintf(stderr,
                "rfqctl tenant: cannot %s the bucket " RFQ_TENANTS_BUCKET
                " (%s): is JetStream enabled and the user an administrator?\n",
                create ? "open or create" : "open", rfq_status_str(st));
        conn_close(c);
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

/* The tenant's Redis user: created (make) or removed. Returns an exit code; skipped with a
 * warning when no admin URL or secret is configured. */
static int redis_user(const struct tenant_env *env, const char *tenant, bool make)
{
    char user[RFQ_ACL_USER_MAX];
    rfq_acl_tenant_user(user, sizeof(user), tenant);
    const char *missing = !env->redis_admin || !*env->redis_admin ? "RFQ_REDIS_ADMIN_URL"
                          : make && (!env->secret_file || !*env->secret_file)
                              ? "RFQ_TENANT_SECRET_FILE"
                              : NULL;
    if (missing) {
        fprintf(stderr, "rfqctl tenant: warning: %s not set: no Redis user %s was %s\n", missing,
                user, make ? "made" : "removed");
        return CTL_EXIT_OK;
    }
    char host[256], ruser[128], rpass[256], shown[512];
    int port = 0;
    if (rfq_parse_redis_url_auth(env->redis_admin, host, sizeof(host), &port, ruser, sizeof(ruser),
                                 rpass, sizeof(rpass)) != RFQ_OK) {
        OPENSSL_cleanse(rpass, sizeof(rpass));
        fprintf(stderr, "rfqctl tenant: malformed Redis admin URL %s\n",
                rfq_url_redact(env->redis_admin, shown, sizeof(shown)));
        return CTL_EXIT_USAGE;
    }
    int rc = CTL_EXIT_OK;
    unsigned char *secret = NULL;
    size_t secret_len = 0;
    char pw[RFQ_ACL_PASSWORD_LEN + 1] = "";
    struct rfq_err err = {{0}, {0}};
    if (make && (rfq_acl_secret_load(env->secret_file, &secret, &secret_len, &err) != RFQ_OK ||
                 rfq_acl_tenant_password(pw, secret, secret_len, tenant) != RFQ_OK)) {
        fprintf(stderr, "rfqctl tenant: tenant secret: %s\n",
                err.message[0] ? err.message : "cannot derive the password");
        rc = CTL_EXIT_FAIL;
        goto out;
    }
    struct rfq_redis_target t = {host, port, ruser, rpass};
    redisContext *rc_admin = NULL;
    rfq_status st = rfq_redis_open(&rc_admin, &t, T_REDIS_TIMEOUT_MS, T_REDIS_WAIT_MS, false, &err);
    if (st != RFQ_OK) {
        fprintf(stderr, "rfqctl tenant: %s\n", err.message);
        rc = st == RFQ_EAUTH ? CTL_EXIT_FAIL : CTL_EXIT_UNREACHABLE;
        goto out;
    }
    st = make ? rfq_acl_tenant_create(rc_admin, tenant, pw, &err)
              : rfq_acl_tenant_delete(rc_admin, tenant, &err);
    redisFree(rc_admin);
    if (st != RFQ_OK) {
        fprintf(stderr, "rfqctl tenant: Redis user %s: %s\n", user, err.message);
        rc = CTL_EXIT_FAIL;
        goto out;
    }
    printf("redis user %s %s\n", user, make ? "set up" : "removed");
out:
    OPENSSL_cleanse(pw, sizeof(pw));
    OPENSSL_cleanse(rpass, sizeof(rpass));
    if (secret) {
        OPENSSL_cleanse(secret, secret_len);
        free(secret);
    }
    return rc;
}

/* ---- records ---- */

/* Apply the command line's settings to r. True when anything differs afterwards. */
static bool flags_apply(const struct tenant_flags *f, struct rfq_tenant_rec *r)
{
    struct rfq_tenant_rec before = *r;
    if (f->clear & CLR_TIER)
        r->tier[0] = '\0';
    if (f->tier)
        snprintf(r->tier, sizeof(r->tier), "%s", f->tier);
    const struct {
        unsigned bit;
        long long val;
        int64_t *field;
    } q[] = {{CLR_RATE, f->rate, &r->rate_per_s},
             {CLR_BURST, f->burst, &r->burst},
             {CLR_MAX_OPEN, f->max_open, &r->max_open}};
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        if (f->clear & q[i].bit)
            *q[i].field = RFQ_TENANT_UNSET;
        if (q[i].val != RFQ_TENANT_UNSET)
            *q[i].field = q[i].val;
    }
    if (f->clear & CLR_DMQ)
        r->default_max_quotes = RFQ_TENANT_UNSET;
    if (f->dmq != RFQ_TENANT_UNSET)
        r->default_max_quotes = (int)f->dmq;
    if (f->clear & CLR_DTO)
        r->default_timeout_ms = RFQ_TENANT_UNSET;
    if (f->dto != RFQ_TENANT_UNSET)
        r->default_timeout_ms = (int)f->dto;
    return strcmp(before.tier, r->tier) != 0 || before.rate_per_s != r->rate_per_s ||
           before.burst != r->burst || before.max_open != r->max_open ||
           before.default_max_quotes != r->default_max_quotes ||
           before.default_timeout_ms != r->default_timeout_ms;
}

/* One quota line: the override, else the record tier's default, else "token tier". */
static void print_quota(const char *name, int64_t v, const char *tier, int64_t tier_v)
{
    if (v != RFQ_TENANT_UNSET)
        printf("%-20s %lld%s\n", name, (long long)v, v == 0 ? " (unlimited)" : "");
    else if (tier[0])
        printf("%-20s %lld%s (%s default)\n", name, (long long)tier_v,
               tier_v == 0 ? " (unlimited)" : "", tier);
    else
        printf("%-20s default of the token's tier\n", name);
}

static void print_rec(const struct rfq_tenant_rec *r)
{
    struct rfq_quota q = {0, 0, 0};
    if (r->tier[0])
        rfq_tier_quota(r->tier, &q);
    char created[32], updated[32];
    ctl_format_time(created, sizeof(created), r->created_ms);
    ctl_format_time(updated, sizeof(updated), r->updated_ms);
    printf("%-20s %s\n", "tenant", r->tenant);
    printf("%-20s %s\n", "status", r->suspended ? "suspended" : "active");
    printf("%-20s %s\n", "tier", r->tier[0] ? r->tier : "(the token's tier)");
    print_quota("rate_per_s", r->rate_per_s, r->tier, q.rate_per_s);
    print_quota("burst", r->burst, r->tier, q.burst);
    print_quota("max_open", r->max_open, r->tier, q.max_open);
    if (r->default_max_quotes != RFQ_TENANT_UNSET)
        printf("%-20s %d\n", "default_max_quotes", r->default_max_quotes);
    else
        printf("%-20s engine default\n", "default_max_quotes");
    if (r->default_timeout_ms != RFQ_TENANT_UNSET)
        printf("%-20s %d\n", "default_timeout_ms", r->default_timeout_ms);
    else
        printf("%-20s engine default\n", "default_timeout_ms");
    printf("%-20s %s UTC\n", "created", created);
    printf("%-20s %s UTC\n", "updated", updated);
}

/* The stored JSON form of r (new reference). */
static json_t *rec_json(const struct rfq_tenant_rec *r)
{
    char *s = NULL;
    if (rfq_tenant_rec_encode(r, &s, NULL) != RFQ_OK)
        return NULL;
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    return j;
}

/* Read tenant's record; prints why on failure. Returns an exit code. */
static int rec_load(struct tenant_conn *c, const char *tenant, struct rfq_tenant_rec *r)
{
    struct rfq_err err = {{0}, {0}};
    rfq_status st = c->kv ? rfq_tenant_get(c->kv, tenant, r, &err) : RFQ_ENOTFOUND;
    if (st == RFQ_OK)
        return CTL_EXIT_OK;
    if (st == RFQ_ENOTFOUND)
        fprintf(stderr, "rfqctl tenant: tenant %s is not registered\n", tenant);
    else
        fprintf(stderr, "rfqctl tenant: cannot read tenant %s: %s\n", tenant,
                err.message[0] ? err.message : rfq_status_str(st));
    return CTL_EXIT_FAIL;
}

/* rfq_tenant_update changes: the command line's settings (set), the status (suspend,
 * resume). Both are re-applied to the newer record after a conflict. */
static bool change_settings(struct rfq_tenant_rec *r, void *arg)
{
    return flags_apply(arg, r);
}

static bool change_suspended(struct rfq_tenant_rec *r, void *arg)
{
    bool suspend = *(const bool *)arg;
    if (r->suspended == suspend)
        return false;
    r->suspended = suspend;
    return true;
}

/* Read, change and write tenant's record with a revision check, so that a change another
 * administrator made in between is re-read and kept, never overwritten. *written says
 * whether anything was written. Prints why on failure; returns an exit code. */
static int rec_update(struct tenant_conn *c, const char *tenant, rfq_tenant_change_fn change,
                      void *arg, bool *written)
{
    struct rfq_err err = {{0}, {0}};
    struct rfq_tenant_update_res res = {.written = false};
    rfq_status st =
        c->kv ? rfq_tenant_update(c->kv, tenant, change, arg, &res, &err) : RFQ_ENOTFOUND;
    *written = st == RFQ_OK && res.written;
    if (st == RFQ_OK)
        return CTL_EXIT_OK;
    if (st == RFQ_ENOTFOUND)
        fprintf(stderr, "rfqctl tenant: tenant %s is not registered\n", tenant);
    else if (res.gave_up)
        fprintf(stderr, "rfqctl tenant: %s\n", err.message);
    else
        fprintf(stderr, "rfqctl tenant: cannot update tenant %s: %s\n", tenant,
                err.message[0] ? err.message : rfq_status_str(st));
    return CTL_EXIT_FAIL;
}

/* ---- actions ---- */

/* The record is written only if none appeared since it was read (revision check): when
 * another administrator registered the tenant meanwhile, the existing-tenant rule applies to
 * theirs instead of overwriting it. */
static int act_create(struct tenant_conn *c, const struct tenant_env *env, const char *tenant,
                      const struct tenant_flags *f)
{
    bool user_made = false;
    for (int attempt = 1;; attempt++) {
        struct rfq_tenant_rec r;
        struct rfq_err err = {{0}, {0}};
        uint64_t rev = 0;
        rfq_status st = rfq_tenant_get_rev(c->kv, tenant, &r, &rev, &err);
        if (st == RFQ_OK) {
            struct rfq_tenant_rec want = r;
            if (flags_apply(f, &want)) {
                fprintf(stderr,
                        "rfqctl tenant: tenant %s exists with other settings; change them with "
                        "'rfqctl tenant set %s ...'\n",
                        tenant, tenant);
                return CTL_EXIT_FAIL;
            }
            printf("tenant %s exists already (record unchanged)\n", tenant);
            return user_made ? CTL_EXIT_OK : redis_user(env, tenant, true);
        }
        if (st != RFQ_ENOTFOUND && st != RFQ_EPROTO) {
            fprintf(stderr, "rfqctl tenant: cannot read tenant %s: %s\n", tenant, err.message);
            return CTL_EXIT_FAIL;
        }
        /* The Redis user first: the record is what opens the API, so the storage user must
         * exist by then. A malformed record (EPROTO, rev set) is replaced. */
        if (!user_made) {
            int rc = redis_user(env, tenant, true);
            if (rc != CTL_EXIT_OK)
                return rc;
            user_made = true;
        }
        rfq_tenant_rec_init(&r, tenant);
        flags_apply(f, &r);
        bool conflict = false;
        st = rfq_tenant_put_rev(c->kv, &r, st == RFQ_EPROTO ? rev : 0, NULL, &conflict, &err);
        if (st == RFQ_OK) {
            printf("tenant %s created (tier %s)\n", tenant, r.tier[0] ? r.tier : "from the token");
            return CTL_EXIT_OK;
        }
        if (!conflict || attempt >= RFQ_TENANT_UPDATE_ATTEMPTS) {
            fprintf(stderr, "rfqctl tenant: cannot write tenant %s: %s\n", tenant, err.message);
            return CTL_EXIT_FAIL;
        }
    }
}

static int act_set(struct tenant_conn *c, const char *tenant, const struct tenant_flags *f)
{
    bool written = false;
    struct tenant_flags flags = *f; /* the change takes a mutable argument */
    int rc = rec_update(c, tenant, change_settings, &flags, &written);
    if (rc != CTL_EXIT_OK)
        return rc;
    printf("tenant %s %s\n", tenant, written ? "updated" : "unchanged");
    return CTL_EXIT_OK;
}

static int act_status(struct tenant_conn *c, const char *tenant, bool suspend)
{
    bool written = false;
    int rc = rec_update(c, tenant, change_suspended, &suspend, &written);
    if (rc != CTL_EXIT_OK)
        return rc;
    printf("tenant %s %s\n", tenant, suspend ? "suspended" : "active");
    return CTL_EXIT_OK;
}

static int act_get(struct tenant_conn *c, const char *tenant, bool json)
{
    struct rfq_tenant_rec r;
    int rc = rec_load(c, tenant, &r);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (json) {
        json_t *j = rec_json(&r);
        if (!j)
            return CTL_EXIT_FAIL;
        ctl_print_json(j);
        json_decref(j);
    } else {
        print_rec(&r);
    }
    return CTL_EXIT_OK;
}

/* Deleting is idempotent: with no record left the Redis user is still removed. */
static int act_delete(struct tenant_conn *c, const struct tenant_env *env, const char *tenant)
{
    struct rfq_err err = {{0}, {0}};
    struct rfq_tenant_rec r;
    rfq_status st = c->kv ? rfq_tenant_get(c->kv, tenant, &r, &err) : RFQ_ENOTFOUND;
    if (st == RFQ_ENOTFOUND) {
        fprintf(stderr, "rfqctl tenant: tenant %s had no record\n", tenant);
    } else if (rfq_tenant_delete(c->kv, tenant, &err) != RFQ_OK) {
        fprintf(stderr, "rfqctl tenant: cannot delete tenant %s: %s\n", tenant, err.message);
        return CTL_EXIT_FAIL;
    } else {
        printf("tenant %s deleted\n", tenant);
    }
    /* The record went first: the API refuses the tenant before its storage user goes. */
    return redis_user(env, tenant, false);
}

static int act_list(struct tenant_conn *c, bool json)
{
    char **ids = NULL;
    size_t n = 0;
    struct rfq_err err = {{0}, {0}};
    if (c->kv && rfq_tenant_list(c->kv, &ids, &n, &err) != RFQ_OK) {
        fprintf(stderr, "rfqctl tenant: cannot list tenants: %s\n", err.message);
        return CTL_EXIT_FAIL;
    }
    json_t *arr = json ? json_array() : NULL;
    if (!json)
        printf("%-32s %-10s %-11s %s\n", "TENANT", "STATUS", "TIER", "UPDATED (UTC)");
    int rc = CTL_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        struct rfq_tenant_rec r;
        rfq_status st = rfq_tenant_get(c->kv, ids[i], &r, &err);
        if (st == RFQ_ENOTFOUND) { /* deleted meanwhile */
            free(ids[i]);
            continue;
        }
        if (st == RFQ_EPROTO) { /* shown, not fatal: the operator must see it to fix it */
            fprintf(stderr, "rfqctl tenant: tenant %s: malformed record: %s\n", ids[i],
                    err.message);
            if (!arr)
                printf("%-32s malformed\n", ids[i]);
        } else if (st != RFQ_OK) {
            fprintf(stderr, "rfqctl tenant: tenant %s: %s\n", ids[i], err.message);
            rc = CTL_EXIT_FAIL;
        } else if (arr) {
            json_array_append_new(arr, rec_json(&r));
        } else {
            char updated[32];
            ctl_format_time(updated, sizeof(updated), r.updated_ms);
            printf("%-32s %-10s %-11s %s\n", r.tenant, r.suspended ? "suspended" : "active",
                   r.tier[0] ? r.tier : "(token)", updated);
        }
        free(ids[i]);
    }
    free(ids);
    if (arr) {
        ctl_print_json(arr);
        json_decref(arr);
    }
    return rc;
}

/* ---- command line ---- */

/* "--clear a,b" into CLR_* bits; false on an unknown name. */
static bool parse_clear(const char *s, unsigned *bits)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {{"tier", CLR_TIER},
                 {"rate", CLR_RATE},
                 {"burst", CLR_BURST},
                 {"max-open", CLR_MAX_OPEN},
                 {"default-max-quotes", CLR_DMQ},
                 {"default-timeout-ms", CLR_DTO},
                 {"all", CLR_TIER | CLR_RATE | CLR_BURST | CLR_MAX_OPEN | CLR_DMQ | CLR_DTO}};
    while (*s) {
        size_t len = strcspn(s, ",");
        size_t i = 0;
        while (i < sizeof(names) / sizeof(names[0]) &&
               !(strlen(names[i].name) == len && strncmp(names[i].name, s, len) == 0))
            i++;
        if (i == sizeof(names) / sizeof(names[0]))
            return false;
        *bits |= names[i].bit;
        s += len;
        if (*s == ',')
            s++;
    }
    return *bits != 0;
}

/* Long name of an option value (for messages: getopt may have taken "--x=v" or "--x v"). */
static const char *opt_name(const struct option *opts, int val)
{
    for (; opts->name; opts++)
        if (opts->val == val)
            return opts->name;
    return "?";
}

enum tenant_action { A_CREATE, A_GET, A_SET, A_LIST, A_SUSPEND, A_RESUME, A_DELETE, A_NONE };

static enum tenant_action parse_action(const char *s)
{
    static const char *const names[] = {"create",  "get",    "set",   "list",
                                        "suspend", "resume", "delete"};
    for (int i = 0; i < A_NONE; i++)
        if (strcmp(s, names[i]) == 0)
            return (enum tenant_action)i;
    return A_NONE;
}

int ctl_cmd_tenant(int argc, char **argv, struct ctl_global *g)
{
    enum {
        O_TIER = CTL_OPT_FIRST_FREE,
        O_RATE,
        O_BURST,
        O_MAX_OPEN,
        O_DMQ,
        O_DTO,
        O_CLEAR,
        O_NATS,
        O_REDIS_ADMIN,
        O_SECRET,
    };
    static const struct option opts[] = {CTL_GLOBAL_OPTIONS,
                                         {"json", 0, NULL, CTL_OPT_JSON},
                                         {"tier", 1, NULL, O_TIER},
                                         {"rate", 1, NULL, O_RATE},
                                         {"burst", 1, NULL, O_BURST},
                                         {"max-open", 1, NULL, O_MAX_OPEN},
                                         {"default-max-quotes", 1, NULL, O_DMQ},
                                         {"default-timeout-ms", 1, NULL, O_DTO},
                                         {"clear", 1, NULL, O_CLEAR},
                                         {"nats", 1, NULL, O_NATS},
                                         {"redis-admin", 1, NULL, O_REDIS_ADMIN},
                                         {"secret-file", 1, NULL, O_SECRET},
                                         {NULL, 0, NULL, 0}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc < 2)
            return ctl_usage_error("tenant", "an action is needed: create, get, set, list, "
                                             "suspend, resume or delete");
        tenant_help();
        return CTL_EXIT_OK;
    }
    enum tenant_action act = parse_action(argv[1]);
    if (act == A_NONE)
        return ctl_usage_error("tenant", "unknown action '%s'", argv[1]);
    struct tenant_env env = {rfq_env_str("RFQ_NATS_URL", "nats://127.0.0.1:4222"),
                             rfq_env_str("RFQ_REDIS_ADMIN_URL", NULL),
                             rfq_env_str("RFQ_TENANT_SECRET_FILE", NULL)};
    struct tenant_flags f = {NULL,
                             RFQ_TENANT_UNSET,
                             RFQ_TENANT_UNSET,
                             RFQ_TENANT_UNSET,
                             RFQ_TENANT_UNSET,
                             RFQ_TENANT_UNSET,
                             0,
                             false};
    bool settings = false;
    int opt, rc;
    /* The action's arguments: argv[1] plays the program name for getopt. */
    int ac = argc - 1;
    char **av = argv + 1;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(ac, av, ":h", opts, NULL)) != -1) {
        long long *num = NULL, lo = 0, hi = T_QUOTA_MAX;
        switch (opt) {
        case 'h':
            tenant_help();
            return CTL_EXIT_OK;
        case CTL_OPT_JSON:
            f.json = true;
            break;
        case O_TIER:
            if (!rfq_tier_valid(optarg))
                return ctl_usage_error(
                    "tenant", "--tier must be basic, premium or enterprise, not '%s'", optarg);
            f.tier = optarg;
            settings = true;
            break;
        case O_RATE:
            num = &f.rate;
            break;
        case O_BURST:
            num = &f.burst;
            break;
        case O_MAX_OPEN:
            num = &f.max_open;
            break;
        case O_DMQ:
            num = &f.dmq, lo = 1, hi = 100;
            break;
        case O_DTO:
            num = &f.dto, lo = 100, hi = 60000;
            break;
        case O_CLEAR:
            if (!parse_clear(optarg, &f.clear))
                return ctl_usage_error("tenant",
                                       "--clear takes tier, rate, burst, max-open, "
                                       "default-max-quotes, default-timeout-ms or all, not '%s'",
                                       optarg);
            settings = true;
            break;
        case O_NATS:
            env.nats_url = optarg;
            break;
        case O_REDIS_ADMIN:
            env.redis_admin = optarg;
            break;
        case O_SECRET:
            env.secret_file = optarg;
            break;
        default:
            if ((rc = ctl_global_option("tenant", opt, optarg, av, g)) >= 0)
                return rc;
        }
        if (num) {
            if (!ctl_parse_int(optarg, lo, hi, num))
                return ctl_usage_error("tenant", "--%s must be an integer in %lld..%lld, not '%s'",
                                       opt_name(opts, opt), lo, hi, optarg);
            settings = true;
        }
    }
    const char *tenant = optind < ac ? av[optind] : NULL;
    if (act == A_LIST) {
        if (tenant)
            return ctl_usage_error("tenant", "list takes no tenant, got '%s'", tenant);
    } else {
        if (!tenant)
            return ctl_usage_error("tenant", "%s needs a tenant id", av[0]);
        if (!rfq_tenant_valid(tenant))
            return ctl_usage_error(
                "tenant", "invalid tenant id '%s': it must match [a-z0-9][a-z0-9-]{0,62}", tenant);
        if (optind + 1 < ac)
            return ctl_usage_error("tenant", "unexpected argument '%s'", av[optind + 1]);
    }
    if (settings && act != A_CREATE && act != A_SET)
        return ctl_usage_error("tenant", "settings are for create and set, not %s", av[0]);
    if (f.clear && act != A_SET)
        return ctl_usage_error("tenant", "--clear is for set");
    if (f.json && act != A_GET && act != A_LIST)
        return ctl_usage_error("tenant", "--json is for get and list");

    /* nats.c and the common library log JSON lines: only errors matter here. */
    rfq_log_set_level(rfq_env_str("RFQ_LOG_LEVEL", "error"));
    struct tenant_conn c;
    if ((rc = conn_open(&c, &env, act == A_CREATE)) != CTL_EXIT_OK)
        return rc;
    switch (act) {
    case A_CREATE:
        rc = act_create(&c, &env, tenant, &f);
        break;
    case A_GET:
        rc = act_get(&c, tenant, f.json);
        break;
    case A_SET:
        rc = act_set(&c, tenant, &f);
        break;
    case A_LIST:
        rc = act_list(&c, f.json);
        break;
    case A_SUSPEND:
    case A_RESUME:
        rc = act_status(&c, tenant, act == A_SUSPEND);
        break;
    case A_DELETE:
        rc = act_delete(&c, &env, tenant);
        break;
    case A_NONE:
        break;
    }
    conn_close(&c);
    return rc;
}
