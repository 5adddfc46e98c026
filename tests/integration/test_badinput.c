/* test_badinput: a deterministic flood of malformed input on every way into the engine —
 * rfq.v1.submit requests, JetStream publishes on quote subjects, RFQs on the responders'
 * subjects, and raw HTTP — checking that every process survives, that every message is
 * accounted for (stored, refused with a status, or in the DLQ), and that memory stays flat.
 *
 * RFQ_BADINPUT_N (messages per way in; default BI_N_DEFAULT, sized for CI under ASan) and
 * RFQ_BADINPUT_SEED (default BI_SEED_DEFAULT) set the run; the same seed gives the same input. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "scenarios.h"

#define BI_N_DEFAULT 3000
#define BI_SEED_DEFAULT 20261122ULL
#define BI_NATS_MAX ((size_t)1000 * 1000) /* below nats-server's 1 MiB max_payload */
#define BI_WINDOW 64                      /* requests in flight per NATS flood */
#define BI_TARGETS 8                      /* open RFQs the quote flood aims at */
#define BI_SHORT_TARGETS 2                /* RFQs that expire early in the quote flood */
#define BI_RESPONDERS 150 /* responder ids the quote flood uses (duplicates happen) */
#define BI_SLOW_CONNS 64  /* slow HTTP connections held open at once */
#define BI_IO_MS 10000    /* bound on one HTTP exchange */
#define BI_RSS_GROWTH_PCT 5
/* Heap in use after the main round against after the warm-up: 2-5 % (30-70 KB, the same at
 * n = 12,000, so not per message) in normal runs; a leak of 300 bytes per submit doubles it. */
#define BI_HEAP_GROWTH_PCT 15

/* Under AddressSanitizer freed memory sits in a quarantine and shadow memory grows with use:
 * RSS figures are printed but not held to the bound. */
#if defined(__SANITIZE_ADDRESS__)
#define BI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BI_ASAN 1
#endif
#endif
/* A second main round only when the first grew RSS, and only where RSS is checked. */
#ifdef BI_ASAN
#define BI_MAIN_ROUNDS_MAX 1
#else
#define BI_MAIN_ROUNDS_MAX 2
#endif

/* Tenants: acme submits (HTTP and NATS), globex owns the RFQs the quote flood aims at,
 * initech is named by forged RFQs. The quote flood never uses acme or initech, so that the
 * answers our responders send can be told apart from the flood in the DLQ. */
#define BI_SUBMIT_TENANT "acme"
#define BI_QUOTE_TENANT "globex"
#define BI_FORGED_TENANT "initech"
#define BI_FLOOD_REGION "ap-south" /* no responder serves it: the targets get flood quotes only */

/* ---- deterministic randomness ------------------------------------------------------------ */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    /* xorshift64*: small, fast, reproducible across platforms */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static bool rng_pct(struct rng *r, int pct)
{
    return (int)rng_below(r, 100) < pct;
}

/* ---- a growable byte buffer -------------------------------------------------------------- */

struct buf {
    char *p;
    size_t n, cap;
};

static void buf_put(struct buf *b, const void *data, size_t len)
{
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        H_CHECK(b->p != NULL, "out of memory");
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    H_CHECK(n >= 0 && (size_t)n < sizeof(tmp), "buf_printf overflow");
    buf_put(b, tmp, (size_t)n);
}

static void buf_fill(struct buf *b, char c, size_t n)
{
    char chunk[4096];
    memset(chunk, c, sizeof(chunk));
    while (n > 0) {
        size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
        buf_put(b, chunk, k);
        n -= k;
    }
}

static void buf_reset(struct buf *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* ---- malformed JSON ---------------------------------------------------------------------- */

enum kind {
    K_VALID = 0,
    K_TRUNCATED,
    K_DEEP,
    K_HUGE,
    K_DUPKEY,
    K_WRONGTYPE,
    K_MISSING,
    K_EXTRA,
    K_BADUTF8,
    K_NUL,
    K_GARBAGE,
    K_EMPTY,
    K_BITFLIP,
    K_COUNT
};

static const char *const kind_names[K_COUNT] = {
    "valid",     "truncated", "deep", "huge",    "dup_key", "wrong_type", "missing",
    "extra_key", "bad_utf8",  "nul",  "garbage", "empty",   "bit_flip"};

#define PLACEHOLDER "@@BI@@"

/* Every object node of a JSON tree (borrowed), for picking a random place to damage. */
static void collect_objects(json_t *j, json_t **out, int *n, int cap)
{
    if (json_is_object(j)) {
        if (*n < cap)
            out[(*n)++] = j;
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            collect_objects(v, out, n, cap);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            collect_objects(v, out, n, cap);
        }
    }
}

/* A random key of object o (borrowed), or NULL when it has none. */
static const char *random_key(struct rng *r, json_t *o)
{
    size_t n = json_object_size(o);
    if (n == 0)
        return NULL;
    size_t pick = rng_below(r, (uint32_t)n), i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (i++ == pick)
            return k;
    }
    return NULL;
}

/* A JSON value of a random type, often the wrong one for wherever it lands. New reference. */
static json_t *random_value(struct rng *r)
{
    static const long long ints[] = {
        0, -1, 1, 255, 65536, 2147483648, -2147483649LL, INT64_MAX, INT64_MIN, 100000000000000LL};
    switch (rng_below(r, 11)) {
    case 0:
        return json_string("");
    case 1:
        return json_string("not-what-you-expected");
    case 2:
        return json_integer(ints[rng_below(r, sizeof(ints) / sizeof(ints[0]))]);
    case 3:
        return json_real(rng_pct(r, 50) ? 1e308 : -0.5);
    case 4:
        return json_true();
    case 5:
        return json_null();
    case 6:
        return json_pack("[i,s]", 1, "x");
    case 7:
        return json_pack("{s:i}", "nested", 1);
    case 8:
        return json_string("ÿ€ unicode ✓ \xF0\x9F\xA6\x84");
    case 9: {
        size_t n = 100 + rng_below(r, 3000);
        char *s = malloc(n + 1);
        memset(s, 'z', n);
        s[n] = '\0';
        json_t *v = json_string(s);
        free(s);
        return v;
    }
    default:
        return json_false();
    }
}

/* Replace the first PLACEHOLDER string literal ("@@BI@@" with its quotes) in text by repl. */
static void splice(struct buf *out, const char *text, const void *repl, size_t repl_len)
{
    const char *ph = strstr(text, "\"" PLACEHOLDER "\"");
    H_CHECK(ph != NULL, "placeholder missing");
    buf_put(out, text, (size_t)(ph - text));
    buf_put(out, repl, repl_len);
    buf_str(out, ph + strlen(PLACEHOLDER) + 2);
}

/* Put PLACEHOLDER at a random place of a copy of base, dump it, and splice repl in. */
static void damage_at_random_place(struct rng *r, const json_t *base, struct buf *out,
                                   const void *repl, size_t repl_len)
{
    json_t *j = json_deep_copy(base);
    json_t *objs[64];
    int n = 0;
    collect_objects(j, objs, &n, 64);
    json_t *o = objs[rng_below(r, (uint32_t)n)];
    const char *k = random_key(r, o);
    char key[64];
    snprintf(key, sizeof(key), "%s", k ? k : "x_extra");
    json_object_set_new(o, key, json_string(PLACEHOLDER));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    splice(out, text, repl, repl_len);
    free(text);
}

/* Nested arrays or objects, depth levels. */
static void deep_text(struct rng *r, struct buf *b, size_t depth)
{
    bool objects = rng_pct(r, 50);
    for (size_t i = 0; i < depth; i++)
        buf_str(b, objects ? "{\"a\":" : "[");
    buf_str(b, "1");
    for (size_t i = 0; i < depth; i++)
        buf_str(b, objects ? "}" : "]");
}

/* A huge value of about n bytes: a long string, a long array or an object with many keys. */
static void huge_text(struct rng *r, struct buf *b, size_t n)
{
    switch (rng_below(r, 3)) {
    case 0:
        buf_str(b, "\"");
        buf_fill(b, 'h', n);
        buf_str(b, "\"");
        break;
    case 1:
        buf_str(b, "[");
        for (size_t k = 0; b->n < n; k++)
            buf_printf(b, "%s%zu", k ? "," : "", k);
        buf_str(b, "]");
        break;
    default:
        buf_str(b, "{");
        for (size_t k = 0; b->n < n; k++)
            buf_printf(b, "%s\"k%zu\":%zu", k ? "," : "", k, k);
        buf_str(b, "}");
        break;
    }
}

/* Write into out a variant of the valid document base of the given kind, at most max_len
 * bytes (huge variants are capped there). */
static void make_variant(struct rng *r, const json_t *base, enum kind k, struct buf *out,
                         size_t max_len)
{
    buf_reset(out);
    char *valid = json_dumps(base, JSON_COMPACT);
    size_t vlen = strlen(valid);
    struct buf tmp = {0};
    switch (k) {
    case K_VALID:
        buf_str(out, valid);
        break;
    case K_TRUNCATED:
        buf_put(out, valid, vlen > 1 ? rng_below(r, (uint32_t)vlen - 1) + 1 : 0);
        break;
    case K_DEEP: {
        static const size_t depths[] = {33, 64, 500, 2047, 2048, 2049, 5000, 20000, 200000};
        size_t d = depths[rng_below(r, sizeof(depths) / sizeof(depths[0]))];
        if (d * 6 + vlen > max_len)
            d = (max_len - vlen) / 6;
        deep_text(r, &tmp, d);
        damage_at_random_place(r, base, out, tmp.p, tmp.n);
        break;
    }
    case K_HUGE: {
        static const size_t sizes[] = {16000, 16385, 65000, 65537, 300000, 999000};
        size_t n = sizes[rng_below(r, sizeof(sizes) / sizeof(sizes[0]))];
        if (n + vlen + 64 > max_len)
            n = max_len > vlen + 64 ? max_len - vlen - 64 : 0;
        huge_text(r, &tmp, n);
        damage_at_random_place(r, base, out, tmp.p, tmp.n);
        break;
    }
    case K_DUPKEY: {
        /* Repeat a key inside its own object: "k":<other value>,"k":<value> */
        json_t *j = json_deep_copy(base);
        json_t *objs[64];
        int n = 0;
        collect_objects(j, objs, &n, 64);
        const char *key = random_key(r, objs[rng_below(r, (uint32_t)n)]);
        char pat[80];
        snprintf(pat, sizeof(pat), "\"%s\":", key ? key : "rfq_id");
        json_decref(j); /* key was borrowed from it */
        const char *at = strstr(valid, pat);
        if (!at) {
            buf_str(out, valid);
            break;
        }
        json_t *v = random_value(r);
        char *vt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(v);
        buf_put(out, valid, (size_t)(at - valid));
        buf_str(out, pat);
        buf_str(out, vt);
        buf_str(out, ",");
        buf_str(out, at);
        free(vt);
        break;
    }
    case K_WRONGTYPE:
    case K_MISSING:
    case K_EXTRA: {
        json_t *j = json_deep_copy(base);
        json_t *objs[64];
        int n = 0;
        collect_objects(j, objs, &n, 64);
        json_t *o = objs[rng_below(r, (uint32_t)n)];
        const char *key = random_key(r, o);
        char name[64];
        if (k == K_EXTRA || !key) {
            snprintf(name, sizeof(name), "x_%u", (unsigned)rng_below(r, 1000));
            json_object_set_new(o, name, random_value(r));
        } else if (k == K_MISSING) {
            snprintf(name, sizeof(name), "%s", key);
            json_object_del(o, name);
        } else {
            snprintf(name, sizeof(name), "%s", key);
            json_object_set_new(o, name, random_value(r));
        }
        char *t = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        buf_str(out, t);
        free(t);
        break;
    }
    case K_BADUTF8: {
        static const char *const bad[] = {"\"\xC3\x28\"",
                                          "\"\xFF\xFE\"",
                                          "\"\xED\xA0\x80\"",
                                          "\"\xC0\xAF\"",
                                          "\"\xF8\x88\x80\x80\x80\"",
                                          "\"\\ud800\"",
                                          "\"\\udc00x\"",
                                          "\"\xE2\x82\"",
                                          "\"ok\x80\"",
                                          "\"\\uZZZZ\""};
        const char *b = bad[rng_below(r, sizeof(bad) / sizeof(bad[0]))];
        if (rng_pct(r, 70)) {
            damage_at_random_place(r, base, out, b, strlen(b));
        } else { /* a raw bad byte anywhere in the text */
            size_t at = rng_below(r, (uint32_t)vlen);
            buf_put(out, valid, at);
            buf_put(out, "\xFF\xC0", 1 + rng_below(r, 2));
            buf_str(out, valid + at);
        }
        break;
    }
    case K_NUL: {
        if (rng_pct(r, 50)) {
            damage_at_random_place(r, base, out, "\"a\\u0000b\"", 10);
        } else {
            size_t at = rng_below(r, (uint32_t)vlen);
            buf_put(out, valid, at);
            buf_put(out, "\0", 1);
            buf_put(out, valid + at, vlen - at);
        }
        break;
    }
    case K_GARBAGE: {
        size_t n = rng_below(r, 4096);
        for (size_t i = 0; i < n; i++) {
            char c = (char)rng_below(r, 256);
            buf_put(out, &c, 1);
        }
        break;
    }
    case K_EMPTY: {
        static const char *const e[] = {"",      " ", "\n",      "null",    "[]",      "{}",
                                        "\"x\"", "0", "true",    "{\"a\":", "{{",      "}",
                                        "[{}]",  "-", "1e99999", "\"\\",    "{\"\":1}"};
        buf_str(out, e[rng_below(r, sizeof(e) / sizeof(e[0]))]);
        break;
    }
    case K_BITFLIP: {
        buf_str(out, valid);
        int flips = 1 + (int)rng_below(r, 8);
        for (int i = 0; i < flips && out->n > 0; i++) {
            size_t at = rng_below(r, (uint32_t)out->n);
            out->p[at] ^= (char)(1u << rng_below(r, 8));
        }
        break;
    }
    case K_COUNT:
        break;
    }
    free(valid);
    free(tmp.p);
    if (out->n > max_len)
        out->n = max_len;
}

/* A kind: valid_pct % valid, the rest spread over the malformed kinds. */
static enum kind pick_kind(struct rng *r, int valid_pct)
{
    if (rng_pct(r, valid_pct))
        return K_VALID;
    return (enum kind)(1 + rng_below(r, K_COUNT - 1));
}

/* ---- valid documents the variants start from --------------------------------------------- */

/* (Random values are drawn into locals first: argument evaluation order is unspecified, and
 * the same seed must give the same input with any compiler.) */
static json_t *submit_base(struct rng *r)
{
    double lat = 48.85 + rng_below(r, 100) / 1000.0, lon = 2.30 + rng_below(r, 100) / 1000.0;
    int passengers = 1 + (int)rng_below(r, 4), timeout = 500 + (int)rng_below(r, 1500);
    return json_pack("{s:s,s:{s:f,s:f},s:{s:f,s:f},s:i,s:[s],s:i,s:i,s:s}", "region", "eu-west",
                     "pickup", "lat", lat, "lon", 2.35, "dropoff", "lat", 48.80, "lon", lon,
                     "passengers", passengers, "wants", "wifi", "max_quotes", 2, "timeout_ms",
                     timeout, "currency", "EUR");
}

static json_t *quote_base(struct rng *r, const char *rfq_id, const char *responder)
{
    if (rng_pct(r, 15))
        return json_pack("{s:s,s:s,s:s}", "rfq_id", rfq_id, "responder_id", responder, "decline",
                         "busy");
    json_int_t amount = 500 + rng_below(r, 5000);
    const char *currency = rng_pct(r, 95) ? "USD" : "EUR";
    int eta = (int)rng_below(r, 900);
    return json_pack("{s:s,s:s,s:{s:I,s:s},s:i,s:[s],s:I}", "rfq_id", rfq_id, "responder_id",
                     responder, "price", "amount_minor", amount, "currency", currency, "eta_s", eta,
                     "perks", "wifi", "valid_until_ms", (json_int_t)(h_now_ms() + 600000));
}

static json_t *rfq_base(struct rng *r, const char *tenant, const char *rfq_id)
{
    int64_t now = h_now_ms();
    json_int_t deadline = now + 200 + rng_below(r, 800);
    int passengers = 1 + (int)rng_below(r, 3);
    return json_pack("{s:s,s:s,s:I,s:I,s:s,s:{s:f,s:f},s:{s:f,s:f},s:i,s:[],s:i,s:s}", "rfq_id",
                     rfq_id, "tenant", tenant, "created_ms", (json_int_t)now, "deadline_ms",
                     deadline, "region", "eu-west", "pickup", "lat", 40.0, "lon", -3.7, "dropoff",
                     "lat", 40.4, "lon", -3.6, "passengers", passengers, "wants", "max_quotes", 2,
                     "currency", "EUR");
}

/* ---- tallies ----------------------------------------------------------------------------- */

#define TALLY_MAX 64

struct tally {
    const char *title;
    int n;
    char label[TALLY_MAX][48];
    long count[TALLY_MAX];
};

static void tally_add(struct tally *t, const char *label, long k)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->label[i], label) == 0) {
            t->count[i] += k;
            return;
        }
    H_CHECK(t->n < TALLY_MAX, "tally %s full", t->title);
    snprintf(t->label[t->n], sizeof(t->label[0]), "%s", label);
    t->count[t->n++] = k;
}

static long tally_get(const struct tally *t, const char *label)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->label[i], label) == 0)
            return t->count[i];
    return 0;
}

static long tally_sum(const struct tally *t)
{
    long s = 0;
    for (int i = 0; i < t->n; i++)
        s += t->count[i];
    return s;
}

static void tally_print(const struct tally *t)
{
    printf("BADINPUT %s:", t->title);
    for (int i = 0; i < t->n; i++)
        printf(" %s=%ld", t->label[i], t->count[i]);
    printf(" total=%ld\n", tally_sum(t));
    fflush(stdout);
}

/* ---- memory ------------------------------------------------------------------------------ */

static long rss_kb(const struct h_proc *p)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)p->pid);
    FILE *f = fopen(path, "r");
    H_CHECK(f != NULL, "%s: cannot read %s", p->name, path);
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    H_CHECK(kb > 0, "%s: no VmRSS", p->name);
    return kb;
}

/* ---- shared state of one run ------------------------------------------------------------- */

struct run {
    struct rng rng;
    int n; /* messages per way in for this round */
    struct h_proc *req, *agg, *rsp;
    char *tok_acme, *tok_globex, *tok_foreign, *tok_expired;
    char targets[BI_TARGETS + BI_SHORT_TARGETS][RFQ_ID_MAX + 1];
    long accepted_eu_west; /* 202s whose RFQ was scattered to eu-west (our responders) */
    long accepted;         /* 202s in total (HTTP and NATS) */
    long rfqs_sent;        /* RFQ messages published to rfq.v1.req.eu-west.* */
    uint64_t msg_id_seq;
};

/* ---- rfq.v1.submit ----------------------------------------------------------------------- */

/* Authorization header of one submit: mostly valid, else missing or broken in some way. NULL
 * means no header. */
static const char *submit_auth(struct run *R, struct buf *b)
{
    buf_reset(b);
    if (rng_pct(&R->rng, 70)) { /* most carry a good token: the body is what is under test */
        buf_printf(b, "Bearer %s", R->tok_acme);
        return b->p;
    }
    switch (rng_below(&R->rng, 11)) {
    case 0:
        return NULL;
    case 1:
        return "";
    case 2:
        return "Bearer";
    case 3:
        return "Bearer not.a.token";
    case 4:
        return "Basic YWRtaW46YWRtaW4=";
    case 5:
        buf_printf(b, "bearer %s", R->tok_acme); /* scheme is case-insensitive (RFC 7235) */
        return b->p;
    case 6:
        buf_printf(b, "Bearer %s", R->tok_foreign);
        return b->p;
    case 7:
        buf_printf(b, "Bearer %s", R->tok_expired);
        return b->p;
    case 8:
        buf_str(b, "Bearer ");
        buf_fill(b, 'A', 9000);
        return b->p;
    case 9: {
        buf_printf(b, "Bearer %s", R->tok_acme);
        b->p[7 + rng_below(&R->rng, (uint32_t)(b->n - 7))] ^= 0x01; /* one flipped bit */
        return b->p;
    }
    default:
        buf_printf(b, "Bearer %s", R->tok_acme);
        return b->p;
    }
}

/* A 202's RFQ went to eu-west (our responders) when the body we sent named that region. */
static bool body_region_is(const char *body, size_t len, const char *region)
{
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    bool yes = j && h_jstr(j, "region") && strcmp(h_jstr(j, "region"), region) == 0;
    json_decref(j);
    return yes;
}

/* Check one submit reply: a known status in Rfq-Status and a JSON body (an error object unless
 * 202). Returns the status. */
static int check_submit_reply(natsMsg *m)
{
    const char *v = NULL;
    H_CHECK(natsMsgHeader_Get(m, RFQ_HDR_STATUS, &v) == NATS_OK && v, "submit reply without %s",
            RFQ_HDR_STATUS);
    int status = atoi(v);
    H_CHECK(status >= 200 && status <= 599, "submit reply Rfq-Status \"%s\"", v);
    json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
    H_CHECK(j != NULL, "submit reply (%d) is not JSON: %.200s", status, natsMsg_GetData(m));
    if (status != 202) {
        json_t *e = json_object_get(j, "error");
        H_CHECK(json_is_object(e) && h_jstr(e, "code") && h_jstr(e, "message"),
                "submit reply (%d) without an error object: %.200s", status, natsMsg_GetData(m));
    } else {
        H_CHECK(h_jstr(j, "rfq_id") != NULL, "202 without rfq_id");
    }
    json_decref(j);
    return status;
}

/* n requests on rfq.v1.submit, BI_WINDOW in flight; every one must be answered. */
static void flood_submit(struct run *R, struct tally *by_status, struct tally *by_kind)
{
    natsSubscription *sub = NULL;
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "_INBOX.bi%llu", (unsigned long long)rng_next(&R->rng));
    char wild[80];
    snprintf(wild, sizeof(wild), "%s.*", prefix);
    H_CHECK(natsConnection_SubscribeSync(&sub, h_nc(), wild) == NATS_OK, "subscribe %s", wild);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    char **bodies = calloc((size_t)R->n, sizeof(*bodies)); /* kept to read a 202's region */
    size_t *lens = calloc((size_t)R->n, sizeof(*lens));
    bool *answered = calloc((size_t)R->n, sizeof(*answered));
    struct buf body = {0}, auth = {0};
    int sent = 0, got = 0;
    while (got < R->n) {
        while (sent < R->n && sent - got < BI_WINDOW) {
            json_t *base = submit_base(&R->rng);
            enum kind k = pick_kind(&R->rng, 8);
            make_variant(&R->rng, base, k, &body, BI_NATS_MAX - 10000);
            json_decref(base);
            tally_add(by_kind, kind_names[k], 1);
            char reply[100];
            snprintf(reply, sizeof(reply), "%s.%d", prefix, sent);
            natsMsg *m = NULL;
            natsStatus s = natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, reply, body.p, (int)body.n);
            const char *a = submit_auth(R, &auth);
            if (s == NATS_OK && a)
                s = natsMsgHeader_Set(m, RFQ_HDR_AUTH, a);
            if (s == NATS_OK && rng_pct(&R->rng, 10))
                s = natsMsgHeader_Set(m, "traceparent",
                                      rng_pct(&R->rng, 50) ? "00-zz-bad"
                                                           : "00-0af7651916cd43dd8448eb211c80319c-"
                                                             "b7ad6b7169203331-01");
            if (s == NATS_OK && rng_pct(&R->rng, 5))
                s = natsMsgHeader_Add(m, RFQ_HDR_AUTH, "Bearer second.value.here");
            if (s == NATS_OK && rng_pct(&R->rng, 5))
                s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, "globex"); /* forged: ignored */
            if (s == NATS_OK)
                s = natsConnection_PublishMsg(h_nc(), m);
            natsMsg_Destroy(m);
            H_CHECK(s == NATS_OK, "publish submit %d: %s", sent, natsStatus_GetText(s));
            bodies[sent] = malloc(body.n + 1);
            memcpy(bodies[sent], body.p, body.n + 1);
            lens[sent] = body.n;
            sent++;
        }
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, sub, BI_IO_MS);
        H_CHECK(s == NATS_OK, "submit flood: %d of %d answered, then %s", got, sent,
                natsStatus_GetText(s));
        const char *dot = strrchr(natsMsg_GetSubject(m), '.');
        int i = dot ? atoi(dot + 1) : -1;
        H_CHECK(i >= 0 && i < sent && !answered[i], "unexpected submit reply on %s",
                natsMsg_GetSubject(m));
        answered[i] = true;
        int status = check_submit_reply(m);
        char label[16];
        snprintf(label, sizeof(label), "%d", status);
        tally_add(by_status, label, 1);
        if (status == 202) {
            R->accepted++;
            if (body_region_is(bodies[i], lens[i], "eu-west"))
                R->accepted_eu_west++;
        }
        free(bodies[i]);
        bodies[i] = NULL;
        natsMsg_Destroy(m);
        got++;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    free(bodies);
    free(lens);
    free(answered);
    free(body.p);
    free(auth.p);
}

/* ---- quote subjects (JetStream) ---------------------------------------------------------- */

/* The quote flood's subject: mostly a target RFQ of globex, else unknown RFQs and tenants and
 * subjects that are not quote subjects at all (but still under rfq.v1.quote.>). Writes the
 * subject's RFQ id into id (or ""). */
static void quote_subject(struct run *R, char *subject, size_t cap, char *id)
{
    char uuid[37];
    rfq_id_new(uuid);
    uint32_t p = rng_below(&R->rng, 100);
    id[0] = '\0';
    if (p < 72) {
        snprintf(id, RFQ_ID_MAX + 1, "%s",
                 R->targets[rng_below(&R->rng, BI_TARGETS + BI_SHORT_TARGETS)]);
        snprintf(subject, cap, "rfq.v1.quote.%s.%s", BI_QUOTE_TENANT, id);
    } else if (p < 82) {
        snprintf(id, RFQ_ID_MAX + 1, "%s", uuid);
        snprintf(subject, cap, "rfq.v1.quote.%s.%s", BI_QUOTE_TENANT, uuid);
    } else if (p < 87) {
        snprintf(id, RFQ_ID_MAX + 1, "%s", uuid);
        snprintf(subject, cap, "rfq.v1.quote.t-%u.%s", (unsigned)rng_below(&R->rng, 50), uuid);
    } else {
        static const char *const bad[] = {
            "rfq.v1.quote.GLOBEX.%s",  "rfq.v1.quote.globex",      "rfq.v1.quote.globex.%s.extra",
            "rfq.v1.quote.globex.a$b", "rfq.v1.quote.-x.%s",       "rfq.v1.quote.globex.\xC3\x28",
            "rfq.v1.quote.%s",         "rfq.v1.quote.globex.%s%s", "rfq.v1.quote.g_l.%s"};
        const char *f = bad[rng_below(&R->rng, sizeof(bad) / sizeof(bad[0]))];
        snprintf(subject, cap, f, uuid, uuid);
    }
}

/* n JetStream publishes on quote subjects, BI_WINDOW in flight; counts the PubAcks. */
static void flood_quotes(struct run *R, struct tally *acks, struct tally *by_kind)
{
    natsSubscription *sub = NULL;
    char prefix[64], wild[80];
    snprintf(prefix, sizeof(prefix), "_INBOX.bq%llu", (unsigned long long)rng_next(&R->rng));
    snprintf(wild, sizeof(wild), "%s.*", prefix);
    H_CHECK(natsConnection_SubscribeSync(&sub, h_nc(), wild) == NATS_OK, "subscribe %s", wild);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    bool *answered = calloc((size_t)R->n, sizeof(*answered));
    struct buf body = {0}, big = {0};
    int sent = 0, got = 0;
    while (got < R->n) {
        while (sent < R->n && sent - got < BI_WINDOW) {
            char subject[256], id[RFQ_ID_MAX + 1], responder[32];
            quote_subject(R, subject, sizeof(subject), id);
            snprintf(responder, sizeof(responder), "r-%u", rng_below(&R->rng, BI_RESPONDERS));
            char other[37];
            rfq_id_new(other);
            /* Wrong correlation: the body names another RFQ than the subject now and then. */
            const char *body_id = id[0] && rng_pct(&R->rng, 90) ? id : other;
            json_t *base = quote_base(&R->rng, body_id, responder);
            enum kind k = pick_kind(&R->rng, 35);
            make_variant(&R->rng, base, k, &body, BI_NATS_MAX - 10000);
            json_decref(base);
            tally_add(by_kind, kind_names[k], 1);
            char reply[100];
            snprintf(reply, sizeof(reply), "%s.%d", prefix, sent);
            natsMsg *m = NULL;
            natsStatus s = natsMsg_Create(&m, subject, reply, body.p, (int)body.n);
            /* Headers: right, missing, or forged. */
            uint32_t t = rng_below(&R->rng, 20);
            if (s == NATS_OK && t < 15)
                s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, BI_QUOTE_TENANT);
            else if (s == NATS_OK && t == 15)
                s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, "acme");
            else if (s == NATS_OK && t == 16) {
                buf_reset(&big);
                buf_fill(&big, 't', 4000);
                s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, big.p);
            } else if (s == NATS_OK && t == 17)
                s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, "Glo bex*>");
            uint32_t c = rng_below(&R->rng, 10);
            if (s == NATS_OK && c < 7 && id[0])
                s = natsMsgHeader_Set(m, RFQ_HDR_ID, id);
            else if (s == NATS_OK && c == 7)
                s = natsMsgHeader_Set(m, RFQ_HDR_ID, other);
            else if (s == NATS_OK && c == 8)
                s = natsMsgHeader_Set(m, RFQ_HDR_ID, "\x01\x02 not an id");
            if (s == NATS_OK && rng_pct(&R->rng, 80))
                s = natsMsgHeader_Set(m, RFQ_HDR_RESPONDER,
                                      rng_pct(&R->rng, 85) ? responder : "someone-else");
            char msg_id[64];
            uint32_t d = rng_below(&R->rng, 10);
            if (d < 8)
                snprintf(msg_id, sizeof(msg_id), "bi-%llu", (unsigned long long)++R->msg_id_seq);
            else /* an id already used: the stream drops it as a duplicate */
                snprintf(msg_id, sizeof(msg_id), "bi-%llu",
                         (unsigned long long)(R->msg_id_seq > 0 ? R->msg_id_seq : 1));
            if (s == NATS_OK && d < 9)
                s = natsMsgHeader_Set(m, "Nats-Msg-Id", msg_id);
            if (s == NATS_OK)
                s = natsConnection_PublishMsg(h_nc(), m);
            natsMsg_Destroy(m);
            H_CHECK(s == NATS_OK, "publish quote %d on %s: %s", sent, subject,
                    natsStatus_GetText(s));
            sent++;
        }
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, sub, BI_IO_MS);
        H_CHECK(s == NATS_OK, "quote flood: %d of %d acknowledged, then %s", got, sent,
                natsStatus_GetText(s));
        const char *dot = strrchr(natsMsg_GetSubject(m), '.');
        int i = dot ? atoi(dot + 1) : -1;
        H_CHECK(i >= 0 && i < sent && !answered[i], "unexpected PubAck on %s",
                natsMsg_GetSubject(m));
        answered[i] = true;
        json_t *j = json_loadb(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m), 0, NULL);
        const char *status = NULL;
        natsMsgHeader_Get(m, "Status", &status);
        if (j && json_is_object(json_object_get(j, "error"))) {
            char label[48];
            snprintf(label, sizeof(label), "refused_%lld",
                     h_jint(json_object_get(j, "error"), "err_code", 0));
            tally_add(acks, label, 1);
        } else if (j && json_is_true(json_object_get(j, "duplicate"))) {
            tally_add(acks, "duplicate", 1);
        } else if (j && h_jint(j, "seq", 0) > 0) {
            tally_add(acks, "stored", 1);
        } else {
            H_CHECK(status && strcmp(status, "503") == 0, "PubAck %d unreadable: %.200s", i,
                    natsMsg_GetData(m));
            tally_add(acks, "no_stream", 1);
        }
        json_decref(j);
        natsMsg_Destroy(m);
        got++;
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    free(answered);
    free(body.p);
    free(big.p);
}

/* ---- RFQ subjects (responders) ----------------------------------------------------------- */

/* n RFQs on rfq.v1.req.eu-west.<tenant>: malformed bodies, wrong tenants in subject and body,
 * reply subjects missing, foreign or dangerous. Every one reaches the responder (its
 * subscription is rfq.v1.req.eu-west.>), which must drop or answer it. Paced by flushes so that
 * no message is lost to a slow consumer. */
static void flood_rfqs(struct run *R, struct tally *by_kind)
{
    struct buf body = {0};
    for (int i = 0; i < R->n; i++) {
        char id[37], other[37], subject[200], reply[200];
        rfq_id_new(id);
        rfq_id_new(other);
        static const char *const tenants[] = {
            BI_FORGED_TENANT, BI_FORGED_TENANT, "INITECH", "a.b", "-x", "t_1"};
        const char *st = tenants[rng_below(&R->rng, sizeof(tenants) / sizeof(tenants[0]))];
        snprintf(subject, sizeof(subject), "rfq.v1.req.eu-west.%s", st);
        json_t *base = rfq_base(&R->rng, rng_pct(&R->rng, 90) ? BI_FORGED_TENANT : "acme", id);
        enum kind k = pick_kind(&R->rng, 20);
        size_t cap = rng_pct(&R->rng, 2) ? BI_NATS_MAX - 10000 : 60000; /* few huge ones */
        make_variant(&R->rng, base, k, &body, cap);
        json_decref(base);
        tally_add(by_kind, kind_names[k], 1);
        uint32_t rp = rng_below(&R->rng, 12);
        const char *reply_to = reply;
        if (rp < 7) /* right shape; sometimes another RFQ's id (wrong correlation) */
            snprintf(reply, sizeof(reply), "rfq.v1.quote.%s.%s", BI_FORGED_TENANT,
                     rp < 6 ? id : other);
        else if (rp == 7)
            reply_to = NULL;
        else if (rp == 8)
            snprintf(reply, sizeof(reply), "$JS.API.STREAM.PURGE.RFQ_QUOTES");
        else if (rp == 9)
            snprintf(reply, sizeof(reply), "rfq.v1.event.%s.%s", BI_FORGED_TENANT, id);
        else if (rp == 10)
            snprintf(reply, sizeof(reply), "_INBOX.bi.%s", id);
        else
            snprintf(reply, sizeof(reply), "rfq.v1.quote..%s", id);
        natsMsg *m = NULL;
        natsStatus s = natsMsg_Create(&m, subject, reply_to, body.p, (int)body.n);
        if (s == NATS_OK && rng_pct(&R->rng, 70))
            s = natsMsgHeader_Set(m, RFQ_HDR_ID, rng_pct(&R->rng, 80) ? id : other);
        if (s == NATS_OK && rng_pct(&R->rng, 70))
            s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, st);
        if (s == NATS_OK && rng_pct(&R->rng, 30))
            s = natsMsgHeader_Set(m, RFQ_HDR_DEADLINE, rng_pct(&R->rng, 50) ? "-1" : "soon");
        if (s == NATS_OK && rng_pct(&R->rng, 10))
            s = natsMsgHeader_Set(m, "traceparent", "00-\x7f\x01-zz");
        if (s == NATS_OK)
            s = natsConnection_PublishMsg(h_nc(), m);
        natsMsg_Destroy(m);
        H_CHECK(s == NATS_OK, "publish rfq %d: %s", i, natsStatus_GetText(s));
        R->rfqs_sent++;
        if (i % 32 == 31 || body.n > 100000)
            H_CHECK(natsConnection_FlushTimeout(h_nc(), BI_IO_MS) == NATS_OK, "flush");
    }
    H_CHECK(natsConnection_FlushTimeout(h_nc(), BI_IO_MS) == NATS_OK, "flush");
    free(body.p);
}

/* ---- raw HTTP ---------------------------------------------------------------------------- */

static int http_port(const struct h_proc *req)
{
    const char *colon = strrchr(req->http_base, ':');
    return colon ? atoi(colon + 1) : 0;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    H_CHECK(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    H_CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect 127.0.0.1:%d: %s", port,
            strerror(errno));
    return fd;
}

/* Write all of data; false when the peer closed (a server may answer and close before reading
 * an oversized request: that is a refusal, not an error). */
static bool write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        data += w;
        len -= (size_t)w;
    }
    return true;
}

/* Read until the peer closes (bounded by BI_IO_MS) into out. */
static void read_all(int fd, struct buf *out)
{
    buf_reset(out);
    int64_t until = h_now_ms() + BI_IO_MS;
    char chunk[16384];
    for (;;) {
        int left = (int)(until - h_now_ms());
        H_CHECK(left > 0, "HTTP: no end of response within %d ms (got %zu bytes: %.120s)", BI_IO_MS,
                out->n, out->p ? out->p : "");
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; /* closed (or reset after an early answer) */
        buf_put(out, chunk, (size_t)n);
    }
}

/* Count every "HTTP/1.x NNN" status line in a response stream into t; returns how many. */
static int count_statuses(const struct buf *resp, struct tally *t)
{
    int n = 0;
    const char *p = resp->p;
    while (p && (p = strstr(p, "HTTP/1.")) != NULL) {
        /* A pipelined answer follows the previous body directly (no newline in between). */
        if (p[8] == ' ' && p[9] >= '1' && p[9] <= '5' && p[10] >= '0' && p[10] <= '9' &&
            p[11] >= '0' && p[11] <= '9' && p[12] == ' ') {
            char label[8];
            snprintf(label, sizeof(label), "%.3s", p + 9);
            tally_add(t, label, 1);
            n++;
        }
        p += 8;
    }
    return n;
}

/* One raw exchange: send req (possibly several pipelined requests ending with
 * Connection: close), read to EOF, count statuses; a connection closed without any status is
 * counted as "closed". Returns the number of statuses. */
static int http_raw(struct run *R, const char *req, size_t len, struct tally *t)
{
    int fd = tcp_connect(http_port(R->req));
    write_all(fd, req, len);
    shutdown(fd, SHUT_WR);
    struct buf resp = {0};
    read_all(fd, &resp);
    close(fd);
    int n = count_statuses(&resp, t);
    if (n == 0)
        tally_add(t, "closed", 1);
    free(resp.p);
    return n;
}

/* Append a full request to b. body may be NULL; content_type NULL = no header. */
static void http_request(struct buf *b, const char *method, const char *path, const char *auth,
                         const char *content_type, const char *body, size_t body_len, bool close)
{
    buf_printf(b, "%s ", method);
    buf_str(b, path);
    buf_str(b, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if (auth) {
        buf_str(b, "Authorization: ");
        buf_str(b, auth);
        buf_str(b, "\r\n");
    }
    if (content_type) {
        buf_str(b, "Content-Type: ");
        buf_str(b, content_type);
        buf_str(b, "\r\n");
    }
    if (body)
        buf_printf(b, "Content-Length: %zu\r\n", body_len);
    if (close)
        buf_str(b, "Connection: close\r\n");
    buf_str(b, "\r\n");
    if (body)
        buf_put(b, body, body_len);
}

enum http_case {
    HC_BAD_JSON,
    HC_CTYPE,
    HC_METHOD,
    HC_PATH,
    HC_HEADERS,
    HC_VERSION,
    HC_PIPELINE,
    HC_VALID,
    HC_HUGE,
    HC_COUNT
};

static const char *const hc_names[HC_COUNT] = {"bad_json", "content_type", "method",
                                               "path",     "headers",      "version",
                                               "pipeline", "valid",        "huge"};

/* A random odd path (into b). */
static void odd_path(struct run *R, struct buf *b, const char *known_id)
{
    static const char *const paths[] = {"/v1/rfqs/%00",
                                        "/v1/rfqs/..%2f..%2fetc%2fpasswd",
                                        "/v1//rfqs",
                                        "/%",
                                        "/%zz",
                                        "/v1/rfqs?status=%00&limit=-1",
                                        "/v1/rfqs?limit=99999999999999999999",
                                        "/v1/rfqs?status=open&status=closed&limit=1",
                                        "*",
                                        "http://evil/v1/rfqs",
                                        "v1/rfqs",
                                        "/v1/rfqs/\xC3\x28",
                                        "/v1/rfqs/a b",
                                        "/v1/usage?month=2026-13",
                                        "/v1/usage?month=%FF",
                                        "/healthz/..",
                                        "/dashboard/../../etc/passwd",
                                        "/v1/rfqs/%2e%2e",
                                        "/v1/rfqs/" /* + id */,
                                        "/v1/rfqs/" /* + long */};
    size_t n = sizeof(paths) / sizeof(paths[0]);
    size_t i = rng_below(&R->rng, (uint32_t)n);
    buf_str(b, paths[i]);
    if (i == n - 2) {
        buf_str(b, known_id);
        buf_str(b, rng_pct(&R->rng, 50) ? "/quotes/extra" : "/events%00");
    } else if (i == n - 1) {
        static const size_t lens[] = {65, 300, 4000, 9000, 70000};
        buf_fill(b, 'i', lens[rng_below(&R->rng, sizeof(lens) / sizeof(lens[0]))]);
    }
}

/* One HTTP exchange of a random malformed kind; counts into by_status and by_case. */
static void http_one(struct run *R, const char *known_id, struct tally *by_status,
                     struct tally *by_case)
{
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", R->tok_acme);
    struct buf req = {0}, body = {0}, path = {0};
    enum http_case c = (enum http_case)rng_below(&R->rng, HC_COUNT);
    if (c == HC_HUGE && !rng_pct(&R->rng, 20))
        c = HC_BAD_JSON; /* huge uploads are costly: keep them rare */
    tally_add(by_case, hc_names[c], 1);
    switch (c) {
    case HC_BAD_JSON: {
        json_t *base = submit_base(&R->rng);
        make_variant(&R->rng, base, pick_kind(&R->rng, 0), &body, 40000);
        json_decref(base);
        http_request(&req, "POST", "/v1/rfqs", auth, "application/json", body.p, body.n, true);
        break;
    }
    case HC_CTYPE: {
        static const char *const ct[] = {"text/plain",
                                         "application/xml",
                                         "multipart/form-data; boundary=x",
                                         "application/x-www-form-urlencoded",
                                         "application/jsonx",
                                         "",
                                         "json",
                                         "application/json\x01",
                                         NULL};
        const char *t = ct[rng_below(&R->rng, sizeof(ct) / sizeof(ct[0]))];
        char *b = h_submit_body("eu-west", 2, 500);
        http_request(&req, "POST", "/v1/rfqs", auth, t, b, strlen(b), true);
        free(b);
        break;
    }
    case HC_METHOD: {
        static const char *const m[] = {"DELETE", "PUT", "PATCH",  "OPTIONS", "TRACE", "HEAD",
                                        "GETT",   "get", "G\x01T", "CONNECT", "PRI",   "POST"};
        const char *meth = m[rng_below(&R->rng, sizeof(m) / sizeof(m[0]))];
        const char *p = rng_pct(&R->rng, 50) ? "/v1/rfqs" : "/healthz";
        if (strcmp(meth, "POST") == 0)
            p = "/v1/rfqs/some-id"; /* POST where only GET lives */
        http_request(&req, meth, p, auth, NULL, NULL, 0, true);
        break;
    }
    case HC_PATH:
        odd_path(R, &path, known_id);
        http_request(&req, "GET", path.p, auth, NULL, NULL, 0, true);
        break;
    case HC_HEADERS: {
        switch (rng_below(&R->rng, 7)) {
        case 0:
            buf_str(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n");
            break;
        case 1:
            buf_str(&req, "GET /v1/rfqs HTTP/1.1\r\nHost: x\r\nX-Long: ");
            buf_fill(&req, 'L', 40000);
            buf_str(&req, "\r\n\r\n");
            break;
        case 2:
            buf_str(&req, "GET /v1/rfqs HTTP/1.1\r\nHost: x\r\n");
            for (int i = 0; i < 300; i++)
                buf_printf(&req, "X-H%d: %d\r\n", i, i);
            buf_str(&req, "Connection: close\r\n\r\n");
            break;
        case 3:
            buf_str(&req, "GET /v1/rfqs HTTP/1.1\nHost: x\nAuthorization: Bearer x\n\n");
            break;
        case 4:
            buf_str(&req, "GET /v1/rfqs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ");
            buf_fill(&req, 'T', 20000);
            buf_str(&req, "\r\nConnection: close\r\n\r\n");
            break;
        case 5:
            buf_str(&req, "POST /v1/rfqs HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n"
                          "Content-Type: application/json\r\nConnection: close\r\n\r\n{}");
            break;
        default:
            buf_str(&req, "POST /v1/rfqs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                          "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
                          "Connection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
            break;
        }
        break;
    }
    case HC_VERSION: {
        static const char *const v[] = {"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
                                        "GET /healthz HTTP/1.0\r\n\r\n",
                                        "GET /healthz HTTP/1\r\n\r\n",
                                        "GET /healthz\r\n\r\n",
                                        "GET /healthz HTTP/1.1\r\n\r\n" /* no Host */,
                                        "\r\n\r\n",
                                        "HELLO\r\n\r\n",
                                        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"};
        buf_str(&req, v[rng_below(&R->rng, sizeof(v) / sizeof(v[0]))]);
        break;
    }
    case HC_PIPELINE: {
        int k = 2 + (int)rng_below(&R->rng, 4);
        for (int i = 0; i < k; i++) {
            bool last = i == k - 1;
            if (rng_pct(&R->rng, 50)) {
                http_request(&req, "GET", "/healthz", NULL, NULL, NULL, 0, last);
            } else {
                json_t *base = submit_base(&R->rng);
                make_variant(&R->rng, base, pick_kind(&R->rng, 10), &body, 3000);
                json_decref(base);
                http_request(&req, "POST", "/v1/rfqs", auth, "application/json", body.p, body.n,
                             last);
            }
        }
        if (rng_pct(&R->rng, 30))
            buf_str(&req, "GARBAGE AFTER THE LAST REQUEST\r\n\r\n");
        break;
    }
    case HC_VALID:
        if (rng_pct(&R->rng, 50)) {
            http_request(&req, "GET", "/v1/rfqs?limit=5", auth, NULL, NULL, 0, true);
        } else {
            char *b = h_submit_body("eu-west", 2, 500);
            http_request(&req, "POST", "/v1/rfqs", auth, "application/json", b, strlen(b), true);
            free(b);
        }
        break;
    case HC_HUGE: {
        size_t n = (size_t)1024 * 1024 + 1 + rng_below(&R->rng, 512 * 1024);
        if (rng_pct(&R->rng, 50)) { /* announced: refused from the headers alone */
            buf_printf(&req,
                       "POST /v1/rfqs HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n",
                       auth, n);
            buf_fill(&req, ' ', 65536);
        } else { /* chunked: the server reads and discards, then cuts or answers 413 */
            buf_printf(&req,
                       "POST /v1/rfqs HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                       "Connection: close\r\n\r\n",
                       auth);
            for (size_t sent = 0; sent < n; sent += 65536) {
                buf_printf(&req, "10000\r\n");
                buf_fill(&req, '[', 65536);
                buf_str(&req, "\r\n");
            }
            buf_str(&req, "0\r\n\r\n");
        }
        break;
    }
    case HC_COUNT:
        break;
    }
    http_raw(R, req.p, req.n, by_status);
    free(req.p);
    free(body.p);
    free(path.p);
}

/* Slow partial requests: BI_SLOW_CONNS connections each stall mid-header or mid-body while a
 * normal request must still be served; then half complete their request (and get an answer),
 * half hang up. */
static void http_slow(struct run *R, struct tally *by_status)
{
    int fds[BI_SLOW_CONNS];
    char auth[RFQ_JWT_MAX + 16];
    snprintf(auth, sizeof(auth), "Bearer %s", R->tok_acme);
    char *b = h_submit_body("eu-west", 2, 500);
    size_t blen = strlen(b);
    for (int i = 0; i < BI_SLOW_CONNS; i++) {
        fds[i] = tcp_connect(http_port(R->req));
        struct buf head = {0};
        if (i % 2 == 0) { /* mid-header */
            buf_str(&head, "GET /v1/rfqs HTTP/1.1\r\nHost: x\r\nAuthor");
        } else { /* mid-body */
            buf_printf(&head,
                       "POST /v1/rfqs HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n",
                       auth, blen);
            buf_put(&head, b, blen / 2);
        }
        H_CHECK(write_all(fds[i], head.p, head.n), "slow connection %d refused early", i);
        free(head.p);
    }
    h_sleep_ms(300);
    struct h_resp r;
    h_http(&r, R->req, "GET", "/healthz", NULL, NULL, NULL, 0);
    H_CHECK(r.status == 200, "healthz with %d stalled connections: HTTP %ld", BI_SLOW_CONNS,
            r.status);
    h_resp_free(&r);
    for (int i = 0; i < BI_SLOW_CONNS; i++) {
        if (i % 4 < 2) { /* finish the request slowly: it must be answered */
            const char *rest =
                i % 2 == 0 ? "ization: Bearer x\r\nConnection: close\r\n\r\n" : b + blen / 2;
            size_t rl = i % 2 == 0 ? strlen(rest) : blen - blen / 2;
            H_CHECK(write_all(fds[i], rest, rl), "slow connection %d cut", i);
            struct buf resp = {0};
            read_all(fds[i], &resp);
            H_CHECK(count_statuses(&resp, by_status) == 1, "slow request %d got no answer: %.100s",
                    i, resp.p ? resp.p : "");
            free(resp.p);
        } else {
            tally_add(by_status, "hung_up", 1);
        }
        close(fds[i]);
    }
    free(b);
}

/* Raw HTTP flood: n exchanges plus one round of slow connections. */
static void flood_http(struct run *R, const char *known_id, struct tally *by_status,
                       struct tally *by_case)
{
    http_slow(R, by_status);
    for (int i = 0; i < R->n; i++)
        http_one(R, known_id, by_status, by_case);
}

/* ---- accounting -------------------------------------------------------------------------- */

/* Every RFQ_DLQ entry: per stage, and for the aggregator stage, those of the quote flood (quote
 * subjects of neither acme nor initech) per reason. Reads the stream once with an ordered
 * consumer. */
static void read_dlq(struct tally *flood_by_reason, struct tally *by_stage)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, h_js(), "RFQ_DLQ", NULL, &jerr);
    H_CHECK(s == NATS_OK, "stream info RFQ_DLQ: %s", natsStatus_GetText(s));
    uint64_t total = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    if (total == 0)
        return;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Ordered = true;
    natsSubscription *sub = NULL;
    s = js_SubscribeSync(&sub, h_js(), "rfq.v1.dlq.>", NULL, &so, &jerr);
    H_CHECK(s == NATS_OK, "read RFQ_DLQ: %s (js error %d)", natsStatus_GetText(s), (int)jerr);
    natsSubscription_SetPendingLimits(sub, -1, -1);
    for (uint64_t got = 0; got < total; got++) {
        natsMsg *m = NULL;
        s = natsSubscription_NextMsg(&m, sub, BI_IO_MS);
        H_CHECK(s == NATS_OK, "RFQ_DLQ: read %llu of %llu: %s", (unsigned long long)got,
                (unsigned long long)total, natsStatus_GetText(s));
        const char *stage = strrchr(natsMsg_GetSubject(m), '.');
        tally_add(by_stage, stage ? stage + 1 : "?", 1);
        const char *orig = NULL, *reason = NULL;
        natsMsgHeader_Get(m, RFQ_HDR_DLQ_SUBJECT, &orig);
        natsMsgHeader_Get(m, RFQ_HDR_DLQ_REASON, &reason);
        if (stage && strcmp(stage + 1, "aggregator") == 0 && orig &&
            strncmp(orig, "rfq.v1.quote.", 13) == 0 &&
            strncmp(orig, "rfq.v1.quote.acme.", 18) != 0 &&
            strncmp(orig, "rfq.v1.quote." BI_FORGED_TENANT ".",
                    13 + strlen(BI_FORGED_TENANT) + 1) != 0)
            tally_add(flood_by_reason, reason ? reason : "(no reason)", 1);
        natsMsg_Destroy(m);
    }
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
}

/* Stored answers (quotes and declines) and counted drops of the target RFQs. */
static void target_counts(struct run *R, long *stored, long *dups, long *surplus)
{
    *stored = *dups = *surplus = 0;
    for (int i = 0; i < BI_TARGETS + BI_SHORT_TARGETS; i++) {
        char k[RFQ_KEY_MAX], kq[RFQ_KEY_MAX], status[32] = "";
        rfq_key_rfq(k, sizeof(k), BI_QUOTE_TENANT, R->targets[i]);
        rfq_key_quotes(kq, sizeof(kq), BI_QUOTE_TENANT, R->targets[i]);
        *stored += h_redis_int_cmd("HLEN", kq);
        *dups += h_redis_hget_int(k, "dups", 0);
        h_redis_hget(k, "status", status, sizeof(status));
        /* Drops after completion are counted, not dead-lettered; drops after expiry are both
         * counted and dead-lettered (the DLQ has them). */
        if (strcmp(status, "completed") == 0)
            *surplus += h_redis_hget_int(k, "closed_drops", 0);
    }
}

/* Parse "name N" out of the responder's final counter line. */
static long counter_of(const char *line, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof(pat), " %s ", name);
    const char *p = strstr(line, pat);
    return p ? atol(p + strlen(pat)) : -1;
}

/* The responder's "stopped: ..." counters line from its log (new string, or NULL). */
static char *responder_counters(const struct h_proc *rsp)
{
    FILE *f = fopen(rsp->log_path, "r");
    if (!f)
        return NULL;
    char *line = NULL, *found = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        if (strstr(line, "\"stopped: received")) {
            free(found);
            found = strdup(line);
        }
    free(line);
    fclose(f);
    return found;
}

/* Sanitizer or crash reports in a process log. */
static void check_log_clean(const struct h_proc *p)
{
    FILE *f = fopen(p->log_path, "r");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        H_CHECK(!strstr(line, "AddressSanitizer") && !strstr(line, "runtime error:") &&
                    !strstr(line, "LeakSanitizer") && !strstr(line, "Segmentation fault"),
                "%s log has a sanitizer report: %.300s", p->name, line);
    free(line);
    fclose(f);
}

/* ---- the scenario ------------------------------------------------------------------------ */

static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : def;
}

struct round_tallies {
    struct tally submit, submit_kinds, quote_acks, quote_kinds, rfq_kinds, http, http_cases;
};

static void round_init(struct round_tallies *t)
{
    memset(t, 0, sizeof(*t));
    t->submit.title = "submit_status";
    t->submit_kinds.title = "submit_kinds";
    t->quote_acks.title = "quote_pubacks";
    t->quote_kinds.title = "quote_kinds";
    t->rfq_kinds.title = "rfq_kinds";
    t->http.title = "http_status";
    t->http_cases.title = "http_cases";
}

/* Wait until the quote stream is worked off, with the last answers of our responders and the
 * DLQ publishes in it. */
static void flood_settle(uint64_t *pend, int64_t *unacked)
{
    H_CHECK(h_quotes_drained(120000, pend, unacked),
            "quote stream not drained after the flood: %llu pending, %lld unacked",
            (unsigned long long)*pend, (long long)*unacked);
    h_sleep_ms(1000);
    H_CHECK(h_quotes_drained(60000, pend, unacked), "quote stream not drained");
}

/* Every process grew by less than BI_RSS_GROWTH_PCT from before to after. */
static bool rss_flat(const long *before, const long *after, int n)
{
    for (int i = 0; i < n; i++)
        if (100.0 * (double)(after[i] - before[i]) / (double)before[i] >= BI_RSS_GROWTH_PCT)
            return false;
    return true;
}

/* One pass over every way in with n messages each. */
static void flood_round(struct run *R, int n, const char *known_id, struct round_tallies *t)
{
    R->n = n;
    int64_t t0 = h_now_ms();
    flood_submit(R, &t->submit, &t->submit_kinds);
    int64_t t1 = h_now_ms();
    flood_quotes(R, &t->quote_acks, &t->quote_kinds);
    int64_t t2 = h_now_ms();
    flood_rfqs(R, &t->rfq_kinds);
    int64_t t3 = h_now_ms();
    flood_http(R, known_id, &t->http, &t->http_cases);
    int64_t t4 = h_now_ms();
    h_log("round of %d per way in: submit %.1f s, quotes %.1f s, rfqs %.1f s, http %.1f s", n,
          (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3, (t4 - t3) / 1e3);
    h_check_all_alive();
}

void sc_bad_input_flood(void)
{
    int n = env_int("RFQ_BADINPUT_N", BI_N_DEFAULT);
    const char *seed_s = getenv("RFQ_BADINPUT_SEED");
    uint64_t seed = seed_s && *seed_s ? strtoull(seed_s, NULL, 10) : BI_SEED_DEFAULT;
    H_CHECK(n >= 100, "RFQ_BADINPUT_N must be >= 100");
    struct run R;
    memset(&R, 0, sizeof(R));
    R.rng.s = seed ? seed : 1;
    h_log("bad input flood: %d messages per way in, seed %llu", n, (unsigned long long)seed);

    h_nats_start();
    h_redis_start();
    /* Order of procs[] below: requester, aggregator, responder. */
    struct h_metrics met[3];
    for (int i = 0; i < 3; i++)
        h_metrics_init(&met[i]);
    const char *const agg_env[] = {met[1].env, NULL};
    const char *const req_env[] = {met[0].env, NULL};
    R.agg = h_aggregator_start(agg_env);
    R.req = h_requester_start(req_env);
    const char *const rsp_env[] = {met[2].env, "RFQ_FLEET_SIZE=2", "RFQ_REGIONS=eu-west", NULL};
    R.rsp = h_responder_start(rsp_env);
    R.tok_acme = h_token(BI_SUBMIT_TENANT, "enterprise", 3600);
    R.tok_globex = h_token(BI_QUOTE_TENANT, "enterprise", 3600);
    R.tok_foreign = h_token_foreign_key(BI_SUBMIT_TENANT);
    R.tok_expired = h_token(BI_SUBMIT_TENANT, "enterprise", -600);

    /* The quote flood's targets: long-lived RFQs in a region nobody serves (every answer they
     * get comes from the flood), plus two that expire at once. */
    for (int i = 0; i < BI_TARGETS + BI_SHORT_TARGETS; i++) {
        json_t *j = json_pack("{s:s,s:{s:f,s:f},s:{s:f,s:f},s:i,s:i,s:i,s:s}", "region",
                              BI_FLOOD_REGION, "pickup", "lat", 1.0, "lon", 1.0, "dropoff", "lat",
                              1.1, "lon", 1.1, "passengers", 1, "max_quotes", i % 2 ? 100 : 20,
                              "timeout_ms", i < BI_TARGETS ? 60000 : 100, "currency", "USD");
        char *body = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        json_decref(h_submit(R.req, R.tok_globex, body, R.targets[i]));
        free(body);
    }
    char idx_acme[RFQ_KEY_MAX];
    rfq_key_index(idx_acme, sizeof(idx_acme), BI_SUBMIT_TENANT);
    h_sleep_ms(300); /* the short targets expire */

    /* Warm-up: a round of the same shape and size, so that allocator pools, thread stacks and
     * connection pools reach their working size before the baseline is taken. */
    struct round_tallies warm, main_round;
    round_init(&warm);
    round_init(&main_round);
    flood_round(&R, n, R.targets[0], &warm);
    uint64_t pend = 0;
    int64_t unacked = 0;
    H_CHECK(h_quotes_drained(60000, &pend, &unacked), "quote stream not drained after warm-up");
    h_sleep_ms(500);
    struct h_proc *procs[3] = {R.req, R.agg, R.rsp};
    long rss0[3], rss1[3];
    for (int i = 0; i < 3; i++)
        rss0[i] = rss_kb(procs[i]);
    /* malloc's bytes in use (GET /metrics): unlike RSS, thread stacks and fragmentation do
     * not move it, so a leak of a few bytes per message shows. */
    double heap0[3], heap1[3];
    for (int i = 0; i < 3; i++)
        heap0[i] = h_metric(&met[i], "rfq_heap_in_use_bytes");
    long long stored_before = h_redis_int_cmd("ZCARD", idx_acme);
    long accepted_warm = R.accepted;

    /* A leak grows RSS every round; a high-water mark (a thread stack reached deeper, an arena
     * a little more fragmented) does not, and can be 1 MB of the requester's 16. So when the
     * main round grew a process by the limit, one more round of the same size decides, from the
     * end of the first. Its counts join the main round's. */
    int measured = 0;
    for (;;) {
        flood_round(&R, n, R.targets[0], &main_round);
        measured++;
        flood_settle(&pend, &unacked);
        for (int i = 0; i < 3; i++)
            rss1[i] = rss_kb(procs[i]);
        if (measured == 1)
            for (int i = 0; i < 3; i++)
                heap1[i] = h_metric(&met[i], "rfq_heap_in_use_bytes");
        if (measured == BI_MAIN_ROUNDS_MAX || rss_flat(rss0, rss1, 3))
            break;
        h_note("RSS grew by %d %% or more in the main round: one more round decides",
               BI_RSS_GROWTH_PCT);
        memcpy(rss0, rss1, sizeof(rss0));
    }

    /* --- accounting --- */
    struct round_tallies *tt[2] = {&warm, &main_round};
    for (int r = 0; r < 2; r++) {
        printf("BADINPUT ---- %s round\n", r ? "main" : "warm-up");
        tally_print(&tt[r]->submit_kinds);
        tally_print(&tt[r]->submit);
        tally_print(&tt[r]->quote_kinds);
        tally_print(&tt[r]->quote_acks);
        tally_print(&tt[r]->rfq_kinds);
        tally_print(&tt[r]->http_cases);
        tally_print(&tt[r]->http);
    }
    /* rfq.v1.submit: every request answered, and the 202s are exactly what was stored. */
    long long stored_after = h_redis_int_cmd("ZCARD", idx_acme);
    long http_202 = tally_get(&main_round.http, "202");
    long nats_202 = tally_get(&main_round.submit, "202");
    printf("BADINPUT submit: sent=%d answered=%ld accepted_nats=%ld accepted_http=%ld "
           "stored=%lld\n",
           n * measured, tally_sum(&main_round.submit), nats_202, http_202,
           stored_after - stored_before);
    H_CHECK_INT(tally_sum(&main_round.submit), (long)n * measured, "submits answered");
    H_CHECK_INT(stored_after - stored_before, nats_202 + http_202,
                "RFQs stored by the main round (NATS and HTTP 202s)");
    H_CHECK_INT(R.accepted - accepted_warm, nats_202, "NATS 202s");
    /* Bad input is the caller's fault: never an internal error. */
    for (int r = 0; r < 2; r++) {
        H_CHECK_INT(tally_get(&tt[r]->submit, "500"), 0, "NATS submits answered 500");
        H_CHECK_INT(tally_get(&tt[r]->http, "500"), 0, "HTTP requests answered 500");
    }

    /* Quote subjects: every publish acknowledged one way or another; every stored one ends
     * stored, counted or dead-lettered. */
    struct tally dlq_flood = {.title = "quote_dlq_reasons"}, dlq_stage = {.title = "dlq_stages"};
    read_dlq(&dlq_flood, &dlq_stage);
    long stored = 0, dups = 0, surplus = 0;
    target_counts(&R, &stored, &dups, &surplus);
    long in_stream =
        tally_get(&warm.quote_acks, "stored") + tally_get(&main_round.quote_acks, "stored");
    long dead = tally_sum(&dlq_flood);
    tally_print(&dlq_flood);
    tally_print(&dlq_stage);

    H_CHECK_INT(tally_sum(&main_round.quote_acks), (long)n * measured,
                "quote publishes acknowledged");
    /* A duplicate may be both counted (dups) and dead-lettered (reason duplicate): once. */
    long dups_only = dups - tally_get(&dlq_flood, "duplicate");
    if (dups_only < 0)
        dups_only = 0;
    printf("BADINPUT quotes (both rounds): published=%ld in_stream=%ld stored=%ld dups=%ld "
           "(dead-lettered too: %ld) surplus=%ld dead_lettered=%ld refused_by_stream=%ld "
           "-> accounted=%ld\n",
           tally_sum(&warm.quote_acks) + tally_sum(&main_round.quote_acks), in_stream, stored, dups,
           dups - dups_only, surplus, dead,
           tally_sum(&warm.quote_acks) + tally_sum(&main_round.quote_acks) - in_stream,
           stored + dups_only + surplus + dead);
    H_CHECK_INT(stored + dups_only + surplus + dead, in_stream,
                "quotes in the stream = stored + counted + dead-lettered");

    h_check_all_alive();
    /* RFQ subjects: the responder saw every RFQ we sent plus the scatters of accepted submits,
     * and each one was dropped (bad, expired) or offered to its two responders. */
    H_CHECK_INT(h_proc_stop(R.rsp), 0, "responder exit status");
    char *line = responder_counters(R.rsp);
    H_CHECK(line != NULL, "responder logged no counters at stop");
    long received = counter_of(line, "received"), bad = counter_of(line, "bad"),
         expired = counter_of(line, "expired");
    long answered = 0;
    const char *outcomes[] = {"quotes", "declines", "no answer", "invalid",
                              "late",   "shed",     "cancelled", "send errors"};
    for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
        long v = counter_of(line, outcomes[i]);
        answered += v > 0 ? v : 0;
    }
    long expect = R.rfqs_sent + R.accepted_eu_west + tally_get(&warm.http, "202") + http_202;
    printf("BADINPUT rfqs: sent=%ld scattered_by_requester<=%ld received=%ld bad=%ld expired=%ld "
           "offered=%ld (answers %ld over 2 responders)\n",
           R.rfqs_sent, expect - R.rfqs_sent, received, bad, expired, answered / 2, answered);
    H_CHECK(received >= R.rfqs_sent && received <= expect,
            "responder received %ld RFQs, expected %ld..%ld", received, R.rfqs_sent, expect);
    H_CHECK_INT(bad + expired + answered / 2, received,
                "RFQs received = dropped (bad, expired) + offered");
    /* Refused RFQs are dead-lettered at a bounded rate; the rest are only counted. */
    long rsp_dead = tally_get(&dlq_stage, "responder");
    printf("BADINPUT rfqs dead-lettered by the responder: %ld of %ld refused\n", rsp_dead, bad);
    H_CHECK(rsp_dead <= bad, "responder dead letters (%ld) exceed its refusals (%ld)", rsp_dead,
            bad);
    free(line);

    check_log_clean(R.req);
    check_log_clean(R.agg);
    check_log_clean(R.rsp);

    /* Memory flat (checked last, so that every count above is printed first). */
    const char *names[3] = {"requester", "aggregator", "responder"};
    for (int i = 0; i < 3; i++)
        printf("BADINPUT rss %s: %s_kb=%ld end_kb=%ld growth_pct=%.1f\n", names[i],
               measured > 1 ? "before_last_round" : "after_warmup", rss0[i], rss1[i],
               100.0 * (double)(rss1[i] - rss0[i]) / (double)rss0[i]);
    bool rss_ok = rss_flat(rss0, rss1, 3);
    bool heap_ok = true;
    for (int i = 0; i < 3; i++) {
        double growth = 100.0 * (heap1[i] - heap0[i]) / heap0[i];
        printf("BADINPUT heap %s: after_warmup_bytes=%.0f after_main_bytes=%.0f growth_pct=%.1f\n",
               names[i], heap0[i], heap1[i], growth);
        if (growth >= BI_HEAP_GROWTH_PCT)
            heap_ok = false;
    }
#ifdef BI_ASAN
    (void)heap_ok; /* ASan's allocator is not malloc's: the figure does not move */
    if (!rss_ok)
        h_note("RSS grew by %d %% or more under ASan (quarantine): not checked", BI_RSS_GROWTH_PCT);
#else
    H_CHECK(heap_ok, "heap in use of an engine process grew by %d %% or more in the main round",
            BI_HEAP_GROWTH_PCT);
    H_CHECK(rss_ok, "RSS of an engine process grew by %d %% or more", BI_RSS_GROWTH_PCT);
#endif

    free(R.tok_acme);
    free(R.tok_globex);
    free(R.tok_foreign);
    free(R.tok_expired);
}
