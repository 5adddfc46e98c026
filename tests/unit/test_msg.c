/* test_msg: the wire schema, data-driven from tests/data/{valid,invalid}/<kind>/<case>/, plus
 * generated cases (oversize, deep nesting) and encode -> decode round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rfq_msg.h"

#ifndef RFQ_TEST_DATA_DIR
#error "RFQ_TEST_DATA_DIR must name tests/data"
#endif

enum msg_kind { KIND_SUBMIT, KIND_QUOTE, KIND_REQUEST, KIND_COUNT };
static const char *const kind_names[KIND_COUNT] = {"submit", "quote", "request"};

/* One case directory found on disk. */
struct msg_case {
    enum msg_kind kind;
    char dir[1024];
};

/* The decoded form of any kind, so one code path can drive all three decoders. */
union msg_any {
    struct rfq_submit submit;
    struct rfq_quote quote;
    struct rfq_request request;
};

/* ---- helpers ----------------------------------------------------------------------------- */

/* Read a file into a new buffer (NUL-terminated, *len excludes the NUL); NULL if missing. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static rfq_status decode_kind(enum msg_kind kind, union msg_any *out, const char *buf, size_t len,
                              struct rfq_err *err)
{
    struct rfq_limits lim = rfq_limits_default();
    switch (kind) {
    case KIND_SUBMIT:
        return rfq_submit_decode(&out->submit, buf, len, &lim, err);
    case KIND_QUOTE:
        return rfq_quote_decode(&out->quote, buf, len, err);
    case KIND_REQUEST:
        return rfq_request_decode(&out->request, buf, len, err);
    default:
        fail();
    }
    return RFQ_EINVAL;
}

static json_t *point_to_json(const struct rfq_point *p)
{
    return json_pack("{s:f,s:f}", "lat", p->lat, "lon", p->lon);
}

/* The normalized submit (defaults applied) as JSON, for comparing with an output file. */
static json_t *submit_to_json(const struct rfq_submit *s)
{
    json_t *wants = json_array();
    for (int i = 0; i < s->n_wants; i++)
        json_array_append_new(wants, json_string(s->wants[i]));
    return json_pack("{s:s,s:o,s:o,s:i,s:o,s:i,s:i,s:s}", "region", s->region, "pickup",
                     point_to_json(&s->pickup), "dropoff", point_to_json(&s->dropoff), "passengers",
                     s->passengers, "wants", wants, "max_quotes", s->max_quotes, "timeout_ms",
                     s->timeout_ms, "currency", s->currency);
}

static json_t *kind_to_json(enum msg_kind kind, const union msg_any *m)
{
    switch (kind) {
    case KIND_SUBMIT:
        return submit_to_json(&m->submit);
    case KIND_QUOTE:
        return rfq_quote_to_json(&m->quote);
    case KIND_REQUEST:
        return rfq_request_to_json(&m->request);
    default:
        return NULL;
    }
}

static void assert_json_matches(json_t *got, json_t *want, const char *what)
{
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
        print_error("%s:\n  got  %s\n  want %s\n", what, g ? g : "(null)", w ? w : "(null)");
        free(g);
        free(w);
        fail();
    }
}

/* A request carrying this submit, for round-tripping submits through the request codec. */
static struct rfq_request request_of(const struct rfq_submit *s)
{
    struct rfq_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.rfq_id, sizeof(r.rfq_id), "round-trip_ID-1");
    snprintf(r.tenant, sizeof(r.tenant), "tenant-1");
    r.created_ms = 1760000000000;
    r.deadline_ms = r.created_ms + s->timeout_ms;
    r.body = *s;
    return r;
}

/* Ways to spoil one field of a valid quote (test_quote_check_refuses). */
static void spoil_rfq_id(struct rfq_quote *q)
{
    strcpy(q->rfq_id, "r 1");
}
static void spoil_responder(struct rfq_quote *q)
{
    q->responder_id[0] = '\0';
}
static void spoil_amount(struct rfq_quote *q)
{
    q->amount_minor = -1;
}
static void spoil_currency(struct rfq_quote *q)
{
    strcpy(q->currency, "eu");
}
static void spoil_eta(struct rfq_quote *q)
{
    q->eta_s = 86401;
}
static void spoil_perk_charset(struct rfq_quote *q)
{
    strcpy(q->perks[0], "Wi-Fi");
}
static void spoil_perk_repeat(struct rfq_quote *q)
{
    strcpy(q->perks[1], q->perks[0]);
    q->n_perks = 2;
}
static void spoil_perk_count(struct rfq_quote *q)
{
    q->n_perks = RFQ_TAGS_MAX + 1;
}
static void spoil_valid(struct rfq_quote *q)
{
    q->valid_until_ms = RFQ_TIME_MAX_MS + 1;
}
static void spoil_decline(struct rfq_quote *q)
{
    q->decline = true;
    strcpy(q->decline_reason, "tab\there");
}

/* encode -> decode -> encode: the decoded structs agree and the encoding is a fixed point. */
static void round_trip_quote(const struct rfq_quote *q)
{
    char *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    struct rfq_quote back;
    struct rfq_err err = {.field = ""};
    assert_int_equal(rfq_quote_encode(q, &a, &alen), RFQ_OK);
    assert_int_equal(alen, strlen(a));
    assert_int_equal(rfq_quote_decode(&back, a, alen, &err), RFQ_OK);
    assert_int_equal(memcmp(&back, q, sizeof(back)), 0);
    assert_int_equal(rfq_quote_encode(&back, &b, &blen), RFQ_OK);
    assert_string_equal(a, b);
    /* The encoder writes byte for byte what jansson writes for the same quote (the stored
     * form is unchanged), and what decodes passes the in-memory check. */
    json_t *j = rfq_quote_to_json(q);
    char *c = json_dumps(j, JSON_COMPACT);
    assert_string_equal(a, c);
    assert_int_equal(rfq_quote_check(&back, &err), RFQ_OK);
    free(c);
    json_decref(j);
    free(a);
    free(b);
}

/* rfq_quote_check refuses, field by field, what rfq_quote_decode would refuse. */
static void test_quote_check_refuses(void **state)
{
    (void)state;
    struct rfq_quote good;
    memset(&good, 0, sizeof(good));
    strcpy(good.rfq_id, "r1");
    strcpy(good.responder_id, "u1");
    strcpy(good.currency, "EUR");
    good.amount_minor = 100;
    good.eta_s = 60;
    strcpy(good.perks[0], "wifi");
    good.n_perks = 1;
    struct rfq_err err = {.field = ""};
    assert_int_equal(rfq_quote_check(&good, &err), RFQ_OK);
    struct {
        const char *field;
        void (*spoil)(struct rfq_quote *);
    } cases[] = {
        {"rfq_id", spoil_rfq_id},
        {"responder_id", spoil_responder},
        {"amount_minor", spoil_amount},
        {"currency", spoil_currency},
        {"eta_s", spoil_eta},
        {"perks", spoil_perk_charset},
        {"perks", spoil_perk_repeat},
        {"perks", spoil_perk_count},
        {"valid_until_ms", spoil_valid},
        {"decline", spoil_decline},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rfq_quote q = good;
        cases[i].spoil(&q);
        memset(&err, 0, sizeof(err));
        assert_int_equal(rfq_quote_check(&q, &err), RFQ_EINVAL);
        assert_string_equal(err.field, cases[i].field);
        /* and the decoder agrees once it is encoded */
        char *json = NULL;
        size_t len = 0;
        assert_int_equal(rfq_quote_encode(&q, &json, &len), RFQ_OK);
        struct rfq_quote back;
        assert_int_equal(rfq_quote_decode(&back, json, len, &err), RFQ_EINVAL);
        free(json);
    }
}

static void round_trip_request(const struct rfq_request *r)
{
    char *a = NULL, *b = NULL;
    size_t alen = 0;
    struct rfq_request back;
    struct rfq_err err = {.field = ""};
    assert_int_equal(rfq_request_encode(r, &a, &alen), RFQ_OK);
    assert_int_equal(alen, strlen(a));
    if (rfq_request_decode(&back, a, alen, &err) != RFQ_OK)
        print_error("%s: %s (%s)\n", a, err.message, err.field);
    assert_int_equal(rfq_request_decode(&back, a, alen, &err), RFQ_OK);
    /* timeout_ms is not on the wire (the deadline is); everything else must survive. */
    back.body.timeout_ms = r->body.timeout_ms;
    assert_int_equal(memcmp(&back, r, sizeof(back)), 0);
    assert_int_equal(rfq_request_encode(&back, &b, NULL), RFQ_OK);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* ---- data-driven cases ------------------------------------------------------------------- */

static void run_valid_case(void **state)
{
    const struct msg_case *c = *state;
    char path[1100];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/input", c->dir);
    char *input = read_all(path, &len);
    assert_non_null(input);

    union msg_any m;
    struct rfq_err err = {.field = ""};
    rfq_status st = decode_kind(c->kind, &m, input, len, &err);
    if (st != RFQ_OK)
        print_error("%s: %s (field \"%s\": %s)\n", c->dir, rfq_status_str(st), err.field,
                    err.message);
    assert_int_equal(st, RFQ_OK);

    /* Optional expected normalized form. */
    snprintf(path, sizeof(path), "%s/output", c->dir);
    size_t olen = 0;
    char *output = read_all(path, &olen);
    if (output) {
        json_error_t jerr;
        json_t *want = json_loadb(output, olen, JSON_REJECT_DUPLICATES, &jerr);
        if (!want)
            print_error("%s: bad output file: %s\n", path, jerr.text);
        assert_non_null(want);
        json_t *got = kind_to_json(c->kind, &m);
        assert_non_null(got);
        assert_json_matches(got, want, c->dir);
        json_decref(got);
        json_decref(want);
        free(output);
    }

    switch (c->kind) {
    case KIND_SUBMIT: {
        struct rfq_request r = request_of(&m.submit);
        round_trip_request(&r);
        break;
    }
    case KIND_QUOTE:
        round_trip_quote(&m.quote);
        break;
    case KIND_REQUEST:
        round_trip_request(&m.request);
        break;
    default:
        fail();
    }
    free(input);
}

static void run_invalid_case(void **state)
{
    const struct msg_case *c = *state;
    char path[1100];
    size_t len = 0, flen = 0;
    snprintf(path, sizeof(path), "%s/input", c->dir);
    char *input = read_all(path, &len);
    assert_non_null(input);
    snprintf(path, sizeof(path), "%s/field", c->dir);
    char *field = read_all(path, &flen);
    if (!field)
        print_error("%s: every invalid case needs a field file (may be empty)\n", c->dir);
    assert_non_null(field);
    while (flen && (field[flen - 1] == '\n' || field[flen - 1] == '\r' || field[flen - 1] == ' '))
        field[--flen] = '\0';

    union msg_any m;
    struct rfq_err err = {.field = "unset"};
    rfq_status st = decode_kind(c->kind, &m, input, len, &err);
    if (st != RFQ_EINVAL || strcmp(err.field, field) != 0)
        print_error("%s: status %s, field \"%s\" (wanted \"%s\"): %s\n", c->dir, rfq_status_str(st),
                    err.field, field, err.message);
    assert_int_equal(st, RFQ_EINVAL);
    assert_string_equal(err.field, field);
    assert_true(err.message[0] != '\0');
    /* the same input without an error struct must fail the same way */
    assert_int_equal(decode_kind(c->kind, &m, input, len, NULL), RFQ_EINVAL);
    free(field);
    free(input);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append one test per case directory under <data>/<valid|invalid>/<kind>/ to tests. */
static void collect(struct CMUnitTest **tests, size_t *n, size_t *cap, bool valid,
                    enum msg_kind kind)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s/%s", RFQ_TEST_DATA_DIR, valid ? "valid" : "invalid",
             kind_names[kind]);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "test_msg: cannot open %s\n", dir);
        exit(1);
    }
    char *names[1024];
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 1024) {
        if (e->d_name[0] != '.')
            names[count++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof(names[0]), cmp_names);
    for (size_t i = 0; i < count; i++) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *tests = realloc(*tests, *cap * sizeof(**tests));
        }
        struct msg_case *c = calloc(1, sizeof(*c));
        char *name = malloc(strlen(names[i]) + 32);
        c->kind = kind;
        snprintf(c->dir, sizeof(c->dir), "%s/%s", dir, names[i]);
        sprintf(name, "%s/%s/%s", valid ? "valid" : "invalid", kind_names[kind], names[i]);
        (*tests)[(*n)++] =
            (struct CMUnitTest){name, valid ? run_valid_case : run_invalid_case, NULL, NULL, c};
        free(names[i]);
    }
}

/* ---- generated cases --------------------------------------------------------------------- */

static const char minimal_submit[] = "{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":2},"
                                     "\"dropoff\":{\"lat\":3,\"lon\":4},\"passengers\":1}";
static const char minimal_quote[] =
    "{\"rfq_id\":\"r1\",\"responder_id\":\"u1\",\"decline\":\"busy\"}";

/* A copy of json padded with spaces to exactly total bytes (still valid JSON). */
static char *padded(const char *json, size_t total)
{
    size_t n = strlen(json);
    assert_true(total >= n);
    char *buf = malloc(total + 1);
    assert_non_null(buf);
    memcpy(buf, json, n);
    memset(buf + n, ' ', total - n);
    buf[total] = '\0';
    return buf;
}

static void test_oversize(void **state)
{
    struct rfq_limits lim = rfq_limits_default();
    struct rfq_submit s;
    struct rfq_quote q;
    struct rfq_request r;
    struct rfq_err err = {.field = "unset"};

    char *at_cap = padded(minimal_submit, RFQ_BODY_MAX);
    assert_int_equal(rfq_submit_decode(&s, at_cap, RFQ_BODY_MAX, &lim, &err), RFQ_OK);
    free(at_cap);

    char *over = padded(minimal_submit, RFQ_BODY_MAX + 1);
    assert_int_equal(rfq_submit_decode(&s, over, RFQ_BODY_MAX + 1, &lim, &err), RFQ_ETOOBIG);
    assert_string_equal(err.field, "");
    assert_non_null(strstr(err.message, "limit"));
    free(over);

    over = padded(minimal_quote, RFQ_BODY_MAX + 1);
    assert_int_equal(rfq_quote_decode(&q, over, RFQ_BODY_MAX + 1, &err), RFQ_ETOOBIG);
    assert_int_equal(rfq_request_decode(&r, over, RFQ_BODY_MAX + 1, &err), RFQ_ETOOBIG);
    free(over);

    /* far over the cap: refused on length alone, before parsing */
    size_t huge = 64u << 20;
    char *big = malloc(huge);
    assert_non_null(big);
    memset(big, '[', huge);
    assert_int_equal(rfq_submit_decode(&s, big, huge, &lim, &err), RFQ_ETOOBIG);
    assert_int_equal(rfq_quote_decode(&q, big, huge, NULL), RFQ_ETOOBIG);
    free(big);
}

static void test_empty_and_null(void **state)
{
    struct rfq_limits lim = rfq_limits_default();
    struct rfq_submit s;
    struct rfq_quote q;
    struct rfq_request r;
    struct rfq_err err = {.field = "unset"};
    assert_int_equal(rfq_submit_decode(&s, NULL, 0, &lim, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "");
    assert_int_equal(rfq_submit_decode(&s, minimal_submit, 0, &lim, &err), RFQ_EINVAL);
    assert_int_equal(rfq_quote_decode(&q, NULL, 10, &err), RFQ_EINVAL);
    assert_int_equal(rfq_request_decode(&r, "", 0, NULL), RFQ_EINVAL);
    assert_null(rfq_json_parse_object(NULL, 0, 100, &err));
}

static void test_length_is_respected(void **state)
{
    struct rfq_limits lim = rfq_limits_default();
    struct rfq_submit s;
    struct rfq_err err = {.field = ""};
    /* bytes after len are not part of the body */
    size_t n = strlen(minimal_submit);
    char *buf = malloc(n + 16);
    memcpy(buf, minimal_submit, n);
    memcpy(buf + n, "GARBAGE{{{{", 12);
    assert_int_equal(rfq_submit_decode(&s, buf, n, &lim, &err), RFQ_OK);
    assert_string_equal(s.region, "eu-west");
    /* a body cut short by len is incomplete JSON */
    assert_int_equal(rfq_submit_decode(&s, buf, n - 1, &lim, &err), RFQ_EINVAL);
    /* an embedded NUL byte inside the body is refused */
    memcpy(buf, minimal_submit, n + 1);
    buf[12] = '\0';
    assert_int_equal(rfq_submit_decode(&s, buf, n, &lim, &err), RFQ_EINVAL);
    free(buf);
}

static void test_deep_nesting(void **state)
{
    /* jansson's depth limit must turn a nesting bomb into an error, not a stack overflow */
    struct rfq_limits lim = rfq_limits_default();
    struct rfq_submit s;
    struct rfq_quote q;
    struct rfq_err err = {.field = "unset"};
    size_t depth = 8000;
    char *buf = malloc(2 * depth + 64);
    int p = sprintf(buf, "{\"wants\":");
    memset(buf + p, '[', depth);
    memset(buf + p + depth, ']', depth);
    strcpy(buf + p + 2 * depth, "}");
    size_t len = strlen(buf);
    assert_true(len <= RFQ_BODY_MAX);
    assert_int_equal(rfq_submit_decode(&s, buf, len, &lim, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "");
    assert_int_equal(rfq_quote_decode(&q, buf, len, &err), RFQ_EINVAL);
    free(buf);
    /* moderate nesting parses, and is then refused by the schema */
    const char *nested = "{\"rfq_id\":\"r1\",\"responder_id\":\"u1\",\"price\":{\"amount_minor\":"
                         "[[[[[[[[[[1]]]]]]]]]],\"currency\":\"USD\"},\"eta_s\":1}";
    assert_int_equal(rfq_quote_decode(&q, nested, strlen(nested), &err), RFQ_EINVAL);
    assert_string_equal(err.field, "amount_minor");
}

static void test_custom_limits(void **state)
{
    struct rfq_limits lim = {.max_quotes_default = 3,
                             .max_quotes_max = 10,
                             .timeout_default_ms = 750,
                             .timeout_min_ms = 500,
                             .timeout_max_ms = 1000,
                             .passengers_max = 4};
    struct rfq_submit s;
    struct rfq_err err = {.field = ""};
    assert_int_equal(rfq_submit_decode(&s, minimal_submit, strlen(minimal_submit), &lim, &err),
                     RFQ_OK);
    assert_int_equal(s.max_quotes, 3);
    assert_int_equal(s.timeout_ms, 750);
    assert_string_equal(s.currency, "USD");
    assert_int_equal(s.n_wants, 0);
    const char *five = "{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":2},"
                       "\"dropoff\":{\"lat\":3,\"lon\":4},\"passengers\":5}";
    assert_int_equal(rfq_submit_decode(&s, five, strlen(five), &lim, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "passengers");
    const char *slow = "{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":2},"
                       "\"dropoff\":{\"lat\":3,\"lon\":4},\"passengers\":1,\"timeout_ms\":1001}";
    assert_int_equal(rfq_submit_decode(&s, slow, strlen(slow), &lim, &err), RFQ_EINVAL);
    assert_string_equal(err.field, "timeout_ms");

    struct rfq_limits def = rfq_limits_default();
    assert_int_equal(def.max_quotes_default, 5);
    assert_int_equal(def.max_quotes_max, 100);
    assert_int_equal(def.timeout_default_ms, 2000);
    assert_int_equal(def.timeout_min_ms, 100);
    assert_int_equal(def.timeout_max_ms, 60000);
    assert_int_equal(def.passengers_max, 8);
}

static void test_quote_round_trips(void **state)
{
    struct rfq_quote q;
    memset(&q, 0, sizeof(q));
    strcpy(q.rfq_id, "3f2c7a1e-5b7d-4c2a-9e1f-0a1b2c3d4e5f");
    strcpy(q.responder_id, "unicorn-42");
    q.amount_minor = 123456789012;
    strcpy(q.currency, "EUR");
    q.eta_s = 86400;
    strcpy(q.perks[0], "free_drinks");
    strcpy(q.perks[1], "wifi");
    q.n_perks = 2;
    q.valid_until_ms = RFQ_TIME_MAX_MS;
    round_trip_quote(&q);

    q.valid_until_ms = 0;
    q.n_perks = 0;
    memset(q.perks, 0, sizeof(q.perks));
    q.amount_minor = 0;
    q.eta_s = 0;
    round_trip_quote(&q);

    struct rfq_quote d;
    memset(&d, 0, sizeof(d));
    strcpy(d.rfq_id, "r1");
    strcpy(d.responder_id, "u1");
    d.decline = true;
    strcpy(d.decline_reason, "out of area \"north\" \\ sorry");
    round_trip_quote(&d);
    json_t *j = rfq_quote_to_json(&d);
    assert_null(json_object_get(j, "price"));
    assert_null(json_object_get(j, "eta_s"));
    json_decref(j);
}

static void test_request_round_trips(void **state)
{
    /* doubles that have no short decimal form must survive exactly */
    static const struct rfq_point pts[][2] = {
        {{0.1, -0.2}, {1e-7, -1e-7}},
        {{-33.868820000000001, 151.20929000000001}, {89.999999999999986, -179.99999999999997}},
        {{90, 180}, {-90, -180}},
        {{0, -0.0}, {5e-324, 1.7976931348623157e-308}},
    };
    for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
        struct rfq_request r;
        memset(&r, 0, sizeof(r));
        strcpy(r.rfq_id, "rfq_ID-0123");
        strcpy(r.tenant, "acme-0");
        r.created_ms = 1760000000000 + (int64_t)i;
        r.deadline_ms = RFQ_TIME_MAX_MS;
        strcpy(r.body.region, "ap-southeast-2");
        r.body.pickup = pts[i][0];
        r.body.dropoff = pts[i][1];
        r.body.passengers = 64;
        r.body.max_quotes = 1000;
        r.body.timeout_ms = 2000;
        strcpy(r.body.currency, "AUD");
        for (int w = 0; w < RFQ_TAGS_MAX; w++)
            snprintf(r.body.wants[w], sizeof(r.body.wants[w]), "want_%d", w);
        r.body.n_wants = (int)(i * 3) % (RFQ_TAGS_MAX + 1);
        for (int w = r.body.n_wants; w < RFQ_TAGS_MAX; w++)
            memset(r.body.wants[w], 0, sizeof(r.body.wants[w]));
        round_trip_request(&r);
    }
}

static void test_parse_object(void **state)
{
    struct rfq_err err = {.field = "unset"};
    json_t *j = rfq_json_parse_object("{\"a\":1}", 7, 7, &err);
    assert_non_null(j);
    json_decref(j);
    assert_null(rfq_json_parse_object("{\"a\":1}", 7, 6, &err));
    assert_null(rfq_json_parse_object("{\"a\":1,\"a\":2}", 13, 100, &err));
    assert_non_null(strstr(err.message, "line"));
    assert_null(rfq_json_parse_object("[]", 2, 100, &err));
    j = rfq_json_parse_object("{}", 2, 100, NULL);
    assert_true(json_is_object(j));
    json_decref(j);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_empty_and_null),
        cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_custom_limits),
        cmocka_unit_test(test_quote_round_trips),
        cmocka_unit_test(test_quote_check_refuses),
        cmocka_unit_test(test_request_round_trips),
        cmocka_unit_test(test_parse_object),
    };
    struct CMUnitTest *tests = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            tests = realloc(tests, cap * sizeof(*tests));
        }
        tests[n++] = fixed[i];
    }
    size_t before = n;
    for (int valid = 1; valid >= 0; valid--)
        for (int k = 0; k < KIND_COUNT; k++)
            collect(&tests, &n, &cap, valid, (enum msg_kind)k);
    if (n - before < 40) {
        fprintf(stderr, "test_msg: only %zu data cases under %s\n", n - before, RFQ_TEST_DATA_DIR);
        return 1;
    }
    int failed = _cmocka_run_group_tests("msg", tests, n, NULL, NULL);
    for (size_t i = before; i < n; i++) {
        free((void *)tests[i].name);
        free(tests[i].initial_state);
    }
    free(tests);
    return failed;
}
