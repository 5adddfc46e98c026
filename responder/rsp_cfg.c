/* rsp_cfg: defaults, environment and flags for rfq-responder, each value range-checked. */
#include "rsp_cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "rfq_ids.h"
#include "rfq_quote_batch.h"

#define RSP_THINK_MAX_MS 600000 /* ten minutes: beyond any RFQ timeout */
#define RSP_MONEY_MAX 100000000 /* base fare or per-km rate cap, minor units */

static rfq_status fail(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static rfq_status fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return RFQ_EINVAL;
}

/* Whole decimal integer in [lo, hi]. */
static bool parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || errno || !end || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    if (!*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || !end || *end)
        return false;
    *out = v;
    return true;
}

rfq_status rsp_regions_parse(struct rsp_fleet_cfg *fleet, const char *list)
{
    int n = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == RSP_REGIONS_MAX || len == 0 || len > RFQ_REGION_MAX)
            return RFQ_EINVAL;
        memcpy(fleet->regions[n], p, len);
        fleet->regions[n][len] = '\0';
        if (!rfq_region_valid(fleet->regions[n]))
            return RFQ_EINVAL;
        for (int i = 0; i < n; i++)
            if (strcmp(fleet->regions[i], fleet->regions[n]) == 0)
                return RFQ_EINVAL;
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    fleet->n_regions = n;
    return RFQ_OK;
}

rfq_status rsp_think_parse(struct rsp_pricing_cfg *p, const char *s)
{
    const char *colon = strchr(s, ':');
    char lo_s[16];
    int64_t lo, hi;
    if (!colon || (size_t)(colon - s) >= sizeof(lo_s))
        return RFQ_EINVAL;
    memcpy(lo_s, s, (size_t)(colon - s));
    lo_s[colon - s] = '\0';
    if (!parse_int(lo_s, 0, RSP_THINK_MAX_MS, &lo) ||
        !parse_int(colon + 1, lo, RSP_THINK_MAX_MS, &hi))
        return RFQ_EINVAL;
    p->think_ms_min = (int)lo;
    p->think_ms_max = (int)hi;
    return RFQ_OK;
}

uint64_t rsp_seed_random(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = (uint64_t)rfq_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);
    return seed ? seed : 1;
}

/* Apply one setting by name (the flag name without "--"), from the environment or a flag. */
static rfq_status apply(struct rsp_cfg *cfg, const char *name, const char *v, const char *src,
                        char *err, size_t cap)
{
    struct rsp_fleet_cfg *f = &cfg->fleet;
    struct rsp_pricing_cfg *p = &f->pricing;
    int64_t x;
    if (strcmp(name, "fleet") == 0) {
        if (!parse_int(v, 1, RSP_FLEET_MAX, &x))
            return fail(err, cap, "%s=%s: expected 1..%d unicorns", src, v, RSP_FLEET_MAX);
        f->size = (int)x;
    } else if (strcmp(name, "regions") == 0) {
        if (rsp_regions_parse(f, v) != RFQ_OK)
            return fail(err, cap,
                        "%s=%s: expected 1..%d distinct regions [a-z0-9-], comma-separated", src, v,
                        RSP_REGIONS_MAX);
    } else if (strcmp(name, "prefix") == 0) {
        if (strlen(v) > RSP_PREFIX_MAX || !rfq_ident_valid(v))
            return fail(err, cap, "%s=%s: expected 1..%d of [A-Za-z0-9_-]", src, v, RSP_PREFIX_MAX);
        snprintf(f->prefix, sizeof(f->prefix), "%s", v);
    } else if (strcmp(name, "base-fare-minor") == 0 || strcmp(name, "per-km-minor") == 0) {
        if (!parse_int(v, 0, RSP_MONEY_MAX, &x))
            return fail(err, cap, "%s=%s: expected 0..%d minor units", src, v, RSP_MONEY_MAX);
        *(name[0] == 'b' ? &p->base_fare_minor : &p->per_km_minor) = x;
    } else if (strcmp(name, "think-ms-min") == 0 || strcmp(name, "think-ms-max") == 0) {
        if (!parse_int(v, 0, RSP_THINK_MAX_MS, &x))
            return fail(err, cap, "%s=%s: expected 0..%d ms", src, v, RSP_THINK_MAX_MS);
        *(strcmp(name, "think-ms-min") == 0 ? &p->think_ms_min : &p->think_ms_max) = (int)x;
    } else if (strcmp(name, "think-ms") == 0) {
        if (rsp_think_parse(p, v) != RFQ_OK)
            return fail(err, cap, "%s=%s: expected MIN:MAX ms with 0 <= MIN <= MAX <= %d", src, v,
                        RSP_THINK_MAX_MS);
    } else if (strcmp(name, "decline-pct") == 0) {
        if (!parse_int(v, 0, 100, &x))
            return fail(err, cap, "%s=%s: expected 0..100", src, v);
        p->decline_pct = (int)x;
    } else if (strcmp(name, "quote-batch") == 0) {
        if (!parse_int(v, 1, RFQ_QUOTE_BATCH_MAX, &x))
            return fail(err, cap, "%s=%s: expected 1..%d answers (1 = never batch)", src, v,
                        RFQ_QUOTE_BATCH_MAX);
        cfg->quote_batch = (int)x;
    } else if (strcmp(name, "seed") == 0) {
        if (!parse_u64(v, &p->seed))
            return fail(err, cap, "%s=%s: expected an unsigned integer (0 = random)", src, v);
    } else if (strcmp(name, "ready-file") == 0) {
        if (strlen(v) >= sizeof(cfg->common.ready_file))
            return fail(err, cap, "%s: path too long", src);
        snprintf(cfg->common.ready_file, sizeof(cfg->common.ready_file), "%s", v);
    } else if (strcmp(name, "nats-url") == 0) {
        if (strlen(v) >= sizeof(cfg->common.nats_url))
            return fail(err, cap, "%s: URL too long", src);
        snprintf(cfg->common.nats_url, sizeof(cfg->common.nats_url), "%s", v);
    } else if (strcmp(name, "metrics-addr") == 0) {
        char host[256];
        int port = 0;
        if (strlen(v) >= sizeof(cfg->common.metrics_addr) ||
            (v[0] && rfq_parse_listen_addr(v, host, sizeof(host), &port) != RFQ_OK))
            return fail(err, cap, "%s=%s: expected host:port", src, v);
        snprintf(cfg->common.metrics_addr, sizeof(cfg->common.metrics_addr), "%s", v);
    } else if (strcmp(name, "nats-inbox-prefix") == 0) {
        if (!rfq_nats_inbox_prefix_valid(v))
            return fail(err, cap,
                        "%s=%s: expected 1..%d printable characters, dot-separated tokens, no "
                        "spaces or wildcards",
                        src, v, RFQ_NATS_INBOX_PREFIX_MAX);
        snprintf(cfg->nats_inbox_prefix, sizeof(cfg->nats_inbox_prefix), "%s", v);
    } else if (strcmp(name, "log-level") == 0) {
        if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "warn") && strcmp(v, "error"))
            return fail(err, cap, "%s=%s: expected debug|info|warn|error", src, v);
        snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", v);
    } else {
        return fail(err, cap, "unknown option --%s (see --help)", name);
    }
    return RFQ_OK;
}

/* Environment variables and the setting each one feeds. */
static const struct {
    const char *env, *name;
} env_map[] = {
    {"RFQ_FLEET_SIZE", "fleet"},
    {"RFQ_REGIONS", "regions"},
    {"RFQ_RESPONDER_PREFIX", "prefix"},
    {"RFQ_BASE_FARE_MINOR", "base-fare-minor"},
    {"RFQ_PER_KM_MINOR", "per-km-minor"},
    {"RFQ_THINK_MS_MIN", "think-ms-min"},
    {"RFQ_THINK_MS_MAX", "think-ms-max"},
    {"RFQ_DECLINE_PCT", "decline-pct"},
    {"RFQ_SEED", "seed"},
    {"RFQ_QUOTE_BATCH", "quote-batch"},
    {"RFQ_NATS_INBOX_PREFIX", "nats-inbox-prefix"},
    {"RFQ_LOG_LEVEL", "log-level"},
};

/* Flags that take a value; --help takes none. */
static const char *const flags[] = {
    "fleet",        "regions",    "prefix",      "decline-pct",       "think-ms",
    "seed",         "ready-file", "nats-url",    "nats-inbox-prefix", "base-fare-minor",
    "per-km-minor", "log-level",  "quote-batch", "metrics-addr",      NULL};

rfq_status rsp_cfg_load(struct rsp_cfg *cfg, int argc, char **argv, char *err, size_t cap)
{
    memset(cfg, 0, sizeof(*cfg));
    err[0] = '\0';
    if (rfq_common_cfg_load(&cfg->common) != RFQ_OK)
        return fail(err, cap, "RFQ_REDIS_URL is malformed");
    struct rsp_fleet_cfg *f = &cfg->fleet;
    f->size = 10;
    rsp_regions_parse(f, "eu-west,us-east");
    snprintf(f->prefix, sizeof(f->prefix), "unicorn");
    f->pricing = (struct rsp_pricing_cfg){.base_fare_minor = 400,
                                          .per_km_minor = 180,
                                          .think_ms_min = 5,
                                          .think_ms_max = 60,
                                          .decline_pct = 10,
                                          .seed = 0};
    snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
    cfg->quote_batch = RFQ_QUOTE_BATCH_MAX;
    /* The responder user of rfq-nats.conf may subscribe only to this inbox prefix. */
    snprintf(cfg->nats_inbox_prefix, sizeof(cfg->nats_inbox_prefix), "%s",
             RFQ_NATS_INBOX_RESPONDER);

    rfq_status st;
    for (size_t i = 0; i < sizeof(env_map) / sizeof(env_map[0]); i++) {
        const char *v = getenv(env_map[i].env);
        if (v && *v && (st = apply(cfg, env_map[i].name, v, env_map[i].env, err, cap)) != RFQ_OK)
            return st;
    }

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = true;
            return RFQ_OK;
        }
        if (strncmp(arg, "--", 2) != 0)
            return fail(err, cap, "unexpected argument '%s' (see --help)", arg);
        char name[32];
        const char *eq = strchr(arg + 2, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len == 0 || len >= sizeof(name))
            return fail(err, cap, "unknown option %s (see --help)", arg);
        memcpy(name, arg + 2, len);
        name[len] = '\0';
        bool known = false;
        for (int k = 0; flags[k]; k++)
            known = known || strcmp(flags[k], name) == 0;
        if (!known)
            return fail(err, cap, "unknown option --%s (see --help)", name);
        const char *v = eq ? eq + 1 : NULL;
        if (!v) {
            if (i + 1 >= argc)
                return fail(err, cap, "--%s needs a value", name);
            v = argv[++i];
        }
        char src[40];
        snprintf(src, sizeof(src), "--%s", name);
        if ((st = apply(cfg, name, v, src, err, cap)) != RFQ_OK)
            return st;
    }
    if (f->pricing.think_ms_min > f->pricing.think_ms_max)
        return fail(err, cap, "think time minimum %d ms exceeds maximum %d ms",
                    f->pricing.think_ms_min, f->pricing.think_ms_max);
    return RFQ_OK;
}

void rsp_cfg_usage(FILE *f, const char *prog)
{
    fprintf(
        f,
        "Usage: %s [options]\n"
        "\n"
        "Runs a fleet of simulated unicorn agents: each answers the RFQs of its region\n"
        "with a quote or a decline, published to the RFQ's reply subject.\n"
        "\n"
        "Options (each overrides its environment variable):\n"
        "  --fleet N              unicorns to simulate          RFQ_FLEET_SIZE (10)\n"
        "  --regions A,B          regions, round-robin          RFQ_REGIONS (eu-west,us-east)\n"
        "  --prefix P             responder id prefix           RFQ_RESPONDER_PREFIX (unicorn)\n"
        "  --base-fare-minor N    flat fare, minor units        RFQ_BASE_FARE_MINOR (400)\n"
        "  --per-km-minor N       price per km, minor units     RFQ_PER_KM_MINOR (180)\n"
        "  --think-ms MIN:MAX     think time range, ms          RFQ_THINK_MS_MIN (5),\n"
        "                                                       RFQ_THINK_MS_MAX (60)\n"
        "  --decline-pct N        share of RFQs declined, 0-100 RFQ_DECLINE_PCT (10)\n"
        "  --seed N               pricing seed, 0 = random      RFQ_SEED (0)\n"
        "  --quote-batch N        answers ready together sent   RFQ_QUOTE_BATCH (32)\n"
        "                         as one message, 1 = never\n"
        "  --nats-url URL         NATS server                   RFQ_NATS_URL "
        "(nats://127.0.0.1:4222)\n"
        "  --nats-inbox-prefix P  inbox of replies (PubAcks)    RFQ_NATS_INBOX_PREFIX "
        "(_INBOX_responder)\n"
        "  --ready-file PATH      write the pid here once ready RFQ_READY_FILE\n"
        "  --metrics-addr H:P     serve GET /metrics here       RFQ_METRICS_ADDR (none)\n"
        "  --log-level L          debug|info|warn|error         RFQ_LOG_LEVEL (info)\n"
        "  -h, --help             show this help\n"
        "\n"
        "Responder ids are <prefix>-<region>-<n>. Logs are JSON lines on stderr.\n"
        "Stops cleanly on SIGINT or SIGTERM.\n",
        prog);
}
