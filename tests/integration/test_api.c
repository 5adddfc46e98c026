/* test_api: HTTP API error answers (400/401/404/405/413/415/503), health, and listings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "harness.h"
#include "rfq_ids.h"
#include "scenarios.h"

static void post_expect(const struct h_proc *req, const char *token, const char *ctype,
                        const char *body, long status, const char *code, const char *what)
{
    struct h_resp r;
    h_http(&r, req, "POST", "/v1/rfqs", token, ctype, body, strlen(body));
    h_check_error(&r, status, code, what);
    if (status == 401) {
        char v[256];
        H_CHECK(h_resp_header(&r, "WWW-Authenticate", v, sizeof(v)) && strncmp(v, "Bearer", 6) == 0,
                "%s: 401 without a WWW-Authenticate: Bearer header", what);
    }
    h_resp_free(&r);
}

static void get_expect(const struct h_proc *req, const char *token, const char *path, long status,
                       const char *code, const char *what)
{
    struct h_resp r;
    h_http(&r, req, "GET", path, token, NULL, NULL, 0);
    h_check_error(&r, status, code, what);
    h_resp_free(&r);
}

/* base64url without padding, into a new string. */
static char *b64url(const char *in)
{
    size_t n = strlen(in);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
    for (char *p = out; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
    return out;
}

/* An unsigned token (alg "none") with otherwise valid claims. New string. */
static char *token_alg_none(const char *tenant)
{
    char payload[512];
    long long now = h_now_ms() / 1000;
    snprintf(payload, sizeof(payload),
             "{\"iss\":\"rfq-dev\",\"aud\":\"rfq-engine\",\"tenant_id\":\"%s\",\"tier\":"
             "\"enterprise\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
             tenant, now, now, now + 3600);
    char *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    char *p = b64url(payload);
    char *tok = malloc(strlen(h) + strlen(p) + 3);
    sprintf(tok, "%s.%s.", h, p);
    free(h);
    free(p);
    return tok;
}

static long long tenant_index_size(const char *tenant)
{
    char k[RFQ_KEY_MAX];
    rfq_key_index(k, sizeof(k), tenant);
    return h_redis_int_cmd("ZCARD", k);
}

void sc_http_api_errors(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char *globex = h_token("globex", "enterprise", 3600);
    const char *json = "application/json";

    /* healthz */
    json_t *hz = h_get_json(req, NULL, "/healthz");
    H_CHECK_STR(h_jstr(hz, "status"), "ok", "healthz status");
    H_CHECK_STR(h_jstr(hz, "nats"), "connected", "healthz nats");
    H_CHECK_STR(h_jstr(hz, "redis"), "ok", "healthz redis");
    json_decref(hz);

    /* A valid submit, for the checks below: Retry-After is ceil(timeout) = 1 s here. */
    char *good = h_submit_body("eu-west", 5, 1000);
    struct h_resp r;
    h_http(&r, req, "POST", "/v1/rfqs", tok, json, good, strlen(good));
    H_CHECK(r.status == 202, "valid submit: HTTP %ld (%.300s)", r.status, r.body);
    char ra[32], ct[128];
    H_CHECK(h_resp_header(&r, "Retry-After", ra, sizeof(ra)), "202 without Retry-After");
    H_CHECK_STR(ra, "1", "Retry-After for timeout_ms 1000");
    H_CHECK(h_resp_header(&r, "Content-Type", ct, sizeof(ct)) && strncmp(ct, json, 16) == 0,
            "202 Content-Type is not application/json");
    char id[RFQ_ID_MAX + 1];
    snprintf(id, sizeof(id), "%s", h_jstr(r.json, "rfq_id") ? h_jstr(r.json, "rfq_id") : "");
    H_CHECK(rfq_ident_valid(id), "202 body without rfq_id");
    h_resp_free(&r);
    long long before = tenant_index_size("acme");

    /* 400: bad JSON and schema violations, each with a JSON error body. */
    const char *bad_bodies[][2] = {
        {"{\"region\":", "truncated JSON"},
        {"[1,2]", "JSON array"},
        {"\"just a string\"", "JSON string"},
        {"{}", "empty object"},
        {"{\"pickup\":{\"lat\":1,\"lon\":1},\"dropoff\":{\"lat\":1,\"lon\":2},\"passengers\":1}",
         "missing region"},
        {"{\"region\":\"eu-west\",\"pickup\":{\"lat\":91,\"lon\":1},\"dropoff\":{\"lat\":1,"
         "\"lon\":2},\"passengers\":1}",
         "latitude out of range"},
        {"{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":1},\"dropoff\":{\"lat\":1,"
         "\"lon\":2},\"passengers\":0}",
         "zero passengers"},
        {"{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":1},\"dropoff\":{\"lat\":1,"
         "\"lon\":2},\"passengers\":\"two\"}",
         "passengers not a number"},
        {"{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":1},\"dropoff\":{\"lat\":1,"
         "\"lon\":2},\"passengers\":1,\"max_quotes\":0}",
         "max_quotes 0"},
        {"{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":1},\"dropoff\":{\"lat\":1,"
         "\"lon\":2},\"passengers\":1,\"timeout_ms\":5}",
         "timeout_ms below the minimum"},
        {"{\"region\":\"EU WEST\",\"pickup\":{\"lat\":1,\"lon\":1},\"dropoff\":{\"lat\":1,"
         "\"lon\":2},\"passengers\":1}",
         "invalid region"},
        {"{\"region\":\"eu-west\",\"pickup\":{\"lat\":1,\"lon\":1},\"dropoff\":{\"lat\":1,"
         "\"lon\":2},\"passengers\":1,\"tenant\":\"globex\"}",
         "body choosing a tenant (unknown field)"},
        {"{\"region\":\"eu-west\",\"region\":\"us-east\",\"pickup\":{\"lat\":1,\"lon\":1},"
         "\"dropoff\":{\"lat\":1,\"lon\":2},\"passengers\":1}",
         "duplicate key"},
    };
    for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++)
        post_expect(req, tok, json, bad_bodies[i][0], 400, "bad_request", bad_bodies[i][1]);
    H_CHECK_INT(tenant_index_size("acme"), before, "RFQs created by rejected submits");

    /* 401: no token, wrong scheme, garbage, wrong key, expired, wrong iss/aud, alg tricks. */
    post_expect(req, NULL, json, good, 401, "unauthorized", "no Authorization header");
    char *bad_tokens[8];
    const char *bad_names[8] = {
        "garbage token",  "token from another key",           "expired token", "wrong issuer",
        "wrong audience", "HS256 signed with the public key", "alg none",      "oversized token"};
    bad_tokens[0] = strdup("not.a.jwt");
    bad_tokens[1] = h_token_foreign_key("acme");
    bad_tokens[2] = h_token("acme", "enterprise", -120);
    bad_tokens[3] = h_token_claims("acme", "someone-else", "rfq-engine");
    bad_tokens[4] = h_token_claims("acme", "rfq-dev", "other-service");
    bad_tokens[5] = h_token_hs256_pubkey("acme");
    bad_tokens[6] = token_alg_none("acme");
    bad_tokens[7] = malloc(9001);
    memset(bad_tokens[7], 'A', 9000);
    bad_tokens[7][9000] = '\0';
    for (int i = 0; i < 8; i++) {
        post_expect(req, bad_tokens[i], json, good, 401, "unauthorized", bad_names[i]);
        free(bad_tokens[i]);
    }
    /* Credentials that are not a bearer token. */
    struct h_resp rb;
    h_http_auth(&rb, req, "POST", "/v1/rfqs", "Basic YWNtZTpzZWNyZXQ=", json, good, strlen(good));
    h_check_error(&rb, 401, "unauthorized", "Basic credentials");
    h_resp_free(&rb);
    h_http_auth(&rb, req, "POST", "/v1/rfqs", "Bearer", json, good, strlen(good));
    h_check_error(&rb, 401, "unauthorized", "Bearer without a token");
    h_resp_free(&rb);
    h_http(&rb, req, "GET", "/v1/rfqs", NULL, NULL, NULL, 0);
    h_check_error(&rb, 401, "unauthorized", "listing without a token");
    h_resp_free(&rb);
    char path[160];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    get_expect(req, NULL, path, 401, "unauthorized", "status without a token");
    H_CHECK_INT(tenant_index_size("acme"), before, "RFQs created by unauthorized submits");
    h_proc_check_alive(req);

    /* 404: another tenant's RFQ, unknown ids, unknown paths. */
    get_expect(req, globex, path, 404, "not_found", "another tenant's RFQ");
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", id);
    get_expect(req, globex, path, 404, "not_found", "another tenant's quotes");
    get_expect(req, tok, "/v1/rfqs/00000000-0000-4000-8000-000000000000", 404, "not_found",
               "unknown RFQ id");
    get_expect(req, tok, "/v1/rfqs/00000000-0000-4000-8000-000000000000/quotes", 404, "not_found",
               "quotes of an unknown RFQ id");
    get_expect(req, tok, "/v1/rfqs/no%20such%20id", 404, "not_found", "malformed RFQ id");
    get_expect(req, tok, "/v2/rfqs", 404, "not_found", "unknown path");
    json_t *mine = h_get_json(req, tok, (snprintf(path, sizeof(path), "/v1/rfqs/%s", id), path));
    H_CHECK_STR(h_jstr(mine, "rfq_id"), id, "owner reads its RFQ");
    H_CHECK_STR(h_jstr(mine, "tenant"), "acme", "owner reads its tenant");
    H_CHECK_STR(h_jstr(json_object_get(mine, "links"), "self"), path, "status links.self");
    H_CHECK(json_is_object(json_object_get(mine, "request")), "status without the request");
    json_decref(mine);

    /* 405 with an Allow header. */
    struct h_resp rm;
    char allow[128];
    h_http(&rm, req, "DELETE", "/v1/rfqs", tok, NULL, NULL, 0);
    h_check_error(&rm, 405, "method_not_allowed", "DELETE /v1/rfqs");
    H_CHECK(h_resp_header(&rm, "Allow", allow, sizeof(allow)) && strstr(allow, "POST") &&
                strstr(allow, "GET"),
            "405 on /v1/rfqs: Allow header \"%s\" should list GET and POST",
            h_resp_header(&rm, "Allow", allow, sizeof(allow)) ? allow : "(none)");
    h_resp_free(&rm);
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    h_http(&rm, req, "PUT", path, tok, json, good, strlen(good));
    h_check_error(&rm, 405, "method_not_allowed", "PUT /v1/rfqs/<id>");
    H_CHECK(h_resp_header(&rm, "Allow", allow, sizeof(allow)) && strstr(allow, "GET"),
            "405 on /v1/rfqs/<id>: Allow header should list GET");
    h_resp_free(&rm);
    h_http(&rm, req, "POST", "/healthz", NULL, json, "{}", 2);
    h_check_error(&rm, 405, "method_not_allowed", "POST /healthz");
    h_resp_free(&rm);

    /* 413 above 16 KiB (valid JSON, valid token). */
    size_t big_n = 17 * 1024;
    char *big = malloc(big_n + 64);
    int off = snprintf(big, big_n + 64, "{\"region\":\"eu-west\",\"pad\":\"");
    memset(big + off, 'x', big_n);
    strcpy(big + off + big_n, "\"}");
    post_expect(req, tok, json, big, 413, "payload_too_large", "17 KiB body");
    free(big);

    /* 415: not JSON, or no Content-Type at all. */
    post_expect(req, tok, "text/plain", good, 415, "unsupported_media_type", "text/plain body");
    post_expect(req, tok, "application/x-www-form-urlencoded", good, 415, "unsupported_media_type",
                "form body");
    h_http(&rm, req, "POST", "/v1/rfqs", tok, NULL, good, strlen(good));
    if (rm.status != 415)
        h_note("POST without Content-Type answered %ld (contract: Content-Type required)",
               rm.status);
    h_resp_free(&rm);
    /* A charset parameter is still JSON. */
    h_http(&rm, req, "POST", "/v1/rfqs", tok, "application/json; charset=utf-8", good,
           strlen(good));
    H_CHECK(rm.status == 202, "application/json; charset=utf-8 refused: HTTP %ld (%.200s)",
            rm.status, rm.body);
    h_resp_free(&rm);
    h_proc_check_alive(req);

    free(good);
    free(globex);
    free(tok);
}

/* The ids of a listing answer, in order, joined with ','. */
static void listing_ids(json_t *ans, char *out, size_t cap)
{
    out[0] = '\0';
    json_t *arr = json_object_get(ans, "rfqs");
    H_CHECK(json_is_array(arr), "listing has no \"rfqs\" array");
    long long prev = -1;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *e = json_array_get(arr, i);
        const char *id = h_jstr(e, "rfq_id");
        H_CHECK(id != NULL, "listing entry without rfq_id");
        long long c = h_jint(e, "created_ms", -1);
        H_CHECK(c > 0 && (prev < 0 || c <= prev), "listing not newest first at entry %zu", i);
        H_CHECK(h_jstr(e, "status") && h_jint(e, "deadline_ms", -1) > 0 &&
                    h_jint(e, "quote_count", -1) >= 0,
                "listing entry %zu lacks status, deadline_ms or quote_count", i);
        prev = c;
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? "," : "", id);
    }
}

static void expect_listing(const struct h_proc *req, const char *token, const char *query,
                           const char *const *ids, int n)
{
    char path[160], got[2048], want[2048] = "";
    snprintf(path, sizeof(path), "/v1/rfqs%s", query);
    json_t *ans = h_get_json(req, token, path);
    listing_ids(ans, got, sizeof(got));
    for (int i = 0; i < n; i++) {
        size_t k = strlen(want);
        snprintf(want + k, sizeof(want) - k, "%s%s", k ? "," : "", ids[i]);
    }
    H_CHECK(strcmp(got, want) == 0, "GET %s:\n  got  [%s]\n  want [%s]", path, got, want);
    json_decref(ans);
}

void sc_listing(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *acme = h_token("acme", "enterprise", 3600);
    char *globex = h_token("globex", "enterprise", 3600);

    /* acme: a1..a5, oldest first; a2 will expire, a4 will complete. */
    char a[5][RFQ_ID_MAX + 1], g[3][RFQ_ID_MAX + 1];
    for (int i = 0; i < 5; i++) {
        char *b = h_submit_body("eu-west", i == 3 ? 1 : 5, i == 1 ? 300 : 30000);
        json_decref(h_submit(req, acme, b, a[i]));
        free(b);
        h_sleep_ms(5); /* distinct created_ms */
        if (i == 1) {
            char *gb = h_submit_body("us-east", 5, 30000);
            for (int k = 0; k < 3; k++) {
                json_decref(h_submit(req, globex, gb, g[k]));
                h_sleep_ms(5);
            }
            free(gb);
        }
    }
    h_publish_quote("acme", a[3], "r-1", 4242, 30, NULL);
    json_t *st = h_wait_closed(req, acme, a[3], 5000);
    H_CHECK_STR(h_jstr(st, "status"), "completed", "a4 status");
    json_decref(st);
    st = h_wait_closed(req, acme, a[1], 5000);
    H_CHECK_STR(h_jstr(st, "status"), "expired", "a2 status");
    json_decref(st);

    const char *all[] = {a[4], a[3], a[2], a[1], a[0]};
    expect_listing(req, acme, "", all, 5);
    expect_listing(req, acme, "?limit=2", all, 2);
    const char *open_ids[] = {a[4], a[2], a[0]};
    expect_listing(req, acme, "?status=open", open_ids, 3);
    expect_listing(req, acme, "?status=open&limit=1", open_ids, 1);
    const char *completed[] = {a[3]};
    expect_listing(req, acme, "?status=completed", completed, 1);
    const char *expired[] = {a[1]};
    expect_listing(req, acme, "?status=expired&limit=100", expired, 1);
    const char *gl[] = {g[2], g[1], g[0]};
    expect_listing(req, globex, "", gl, 3);
    expect_listing(req, globex, "?status=completed", NULL, 0);

    /* Entry details: statuses, counts and best price. */
    json_t *ans = h_get_json(req, acme, "/v1/rfqs");
    json_t *arr = json_object_get(ans, "rfqs");
    const char *want_status[] = {"open", "completed", "open", "expired", "open"};
    for (size_t i = 0; i < 5; i++) {
        json_t *e = json_array_get(arr, i);
        H_CHECK_STR(h_jstr(e, "status"), want_status[i], "listing status");
        if (i == 1) {
            H_CHECK_INT(h_jint(e, "quote_count", -1), 1, "listing quote_count of a4");
            H_CHECK_INT(h_jint(e, "best_amount_minor", -1), 4242, "listing best_amount_minor");
        } else {
            H_CHECK_INT(h_jint(e, "quote_count", -1), 0, "listing quote_count");
            json_t *b = json_object_get(e, "best_amount_minor");
            H_CHECK(b == NULL || json_is_null(b), "best_amount_minor of an RFQ without quotes");
        }
    }
    json_decref(ans);

    /* Bad query values: the contract gives the range, not the answer; never a 5xx. */
    const char *odd[] = {"?limit=0", "?limit=101", "?limit=abc", "?status=bogus", "?limit=-1"};
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        struct h_resp r;
        char path[64];
        snprintf(path, sizeof(path), "/v1/rfqs%s", odd[i]);
        h_http(&r, req, "GET", path, acme, NULL, NULL, 0);
        H_CHECK(r.status == 200 || r.status == 400, "GET %s answered %ld", path, r.status);
        if (r.status == 400)
            h_check_error(&r, 400, "bad_request", path);
        else
            H_CHECK(json_array_size(json_object_get(r.json, "rfqs")) <= 100,
                    "GET %s returned more than 100 entries", path);
        h_log("GET %s -> %ld", path, r.status);
        h_resp_free(&r);
    }
    get_expect(req, NULL, "/v1/rfqs", 401, "unauthorized", "listing without a token");

    free(acme);
    free(globex);
}

void sc_dependency_outage(void)
{
    h_nats_start();
    h_redis_start();
    struct h_proc *agg = h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    const char *fleet[] = {"RFQ_FLEET_SIZE=2", "RFQ_REGIONS=eu-west", NULL};
    struct h_proc *rsp = h_responder_start(fleet);
    char *tok = h_token("acme", "enterprise", 3600);
    const char *json = "application/json";
    char *good = h_submit_body("eu-west", 5, 1000);
    struct h_resp rm;
    json_decref(h_get_json(req, NULL, "/healthz"));
    char before[RFQ_ID_MAX + 1], path[128];
    char *long_body = h_submit_body("eu-west", 5, 30000);
    json_decref(h_submit(req, tok, long_body, before));
    h_sleep_ms(1100); /* appendfsync everysec: let the AOF reach the disk */

    /* 503 when Redis is gone: health says so, and a submit is refused, not half-done. */
    h_redis_stop();
    int64_t until = h_now_ms() + 8000;
    long hs = 0;
    for (;;) {
        h_http(&rm, req, "GET", "/healthz", NULL, NULL, NULL, 0);
        hs = rm.status;
        if (hs == 503) {
            H_CHECK(rm.json != NULL, "503 healthz body is not JSON: %.200s", rm.body);
            const char *rv = h_jstr(rm.json, "redis");
            H_CHECK(rv == NULL || strcmp(rv, "ok") != 0, "healthz answered 503 but says redis ok");
            h_resp_free(&rm);
            break;
        }
        h_resp_free(&rm);
        H_CHECK(h_now_ms() < until, "healthz still answers %ld 8 s after Redis stopped", hs);
        h_sleep_ms(100);
    }
    post_expect(req, tok, json, good, 503, "unavailable", "submit while Redis is down");
    h_proc_check_alive(req);

    /* Redis comes back (AOF reloaded): the requester recovers without a restart. */
    h_redis_restart();
    until = h_now_ms() + 8000;
    for (;;) {
        h_http(&rm, req, "GET", "/healthz", NULL, NULL, NULL, 0);
        hs = rm.status;
        h_resp_free(&rm);
        if (hs == 200)
            break;
        H_CHECK(h_now_ms() < until, "healthz still answers %ld 8 s after Redis came back", hs);
        h_sleep_ms(100);
    }
    snprintf(path, sizeof(path), "/v1/rfqs/%s", before);
    json_t *st = h_get_json(req, tok, path);
    H_CHECK_STR(h_jstr(st, "rfq_id"), before, "RFQ stored before the outage, after it");
    json_decref(st);
    char after[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, good, after));

    /* And when NATS is gone too, health names it. */
    h_nats_stop();
    until = h_now_ms() + 8000;
    for (;;) {
        h_http(&rm, req, "GET", "/healthz", NULL, NULL, NULL, 0);
        const char *nv = rm.json ? h_jstr(rm.json, "nats") : NULL;
        bool down = rm.status == 503 && nv && strcmp(nv, "connected") != 0;
        long got = rm.status;
        h_resp_free(&rm);
        if (down)
            break;
        H_CHECK(h_now_ms() < until,
                "healthz answers %ld without naming NATS down 8 s after "
                "nats-server stopped",
                got);
        h_sleep_ms(100);
    }
    /* Every process rides out the outage (reconnecting), and h_finish then checks that each
     * still stops promptly on SIGTERM. */
    h_sleep_ms(500);
    h_proc_check_alive(req);
    h_proc_check_alive(agg);
    h_proc_check_alive(rsp);

    free(long_body);
    free(good);
    free(tok);
}
