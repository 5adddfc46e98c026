/* test_tokens: forged tokens refused over HTTP and NATS with nothing stored or published, key
 * rotation without a restart (file change, SIGHUP, broken file), and no token, key or password
 * in any log while every log line about an RFQ names its tenant and id. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "forge.h"
#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "rfq_tenant_kv.h"
#include "scenarios.h"

#define TENANT "tok-acme"
#define ISS "rfq-dev"    /* what the harness configures (RFQ_JWT_ISS) */
#define AUD "rfq-engine" /* RFQ_JWT_AUD */
#define RELOAD_BOUND_MS 2000
#define CHALLENGE_INVALID "error=\"invalid_token\""

/* ---- files and keys ------------------------------------------------------------------------ */

static char *tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", h_tmpdir(), name);
    return out;
}

/* Whole file as a new string, NULL when it cannot be read. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* Replace h_tmpdir()/name with text the way an operator should: temp file, then rename. */
static void write_atomic(const char *name, const char *text)
{
    char path[600], tmp[640];
    tmp_path(path, sizeof(path), name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    H_CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", tmp);
    H_CHECK(rename(tmp, path) == 0, "rename %s", tmp);
}

static char *pem_text(EVP_PKEY *k, int private_key)
{
    BIO *b = BIO_new(BIO_s_mem());
    H_CHECK(b && (private_key ? PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL)
                              : PEM_write_bio_PUBKEY(b, k)) == 1,
            "PEM encoding");
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(b);
    H_CHECK(out != NULL, "out of memory");
    return out;
}

/* The scenario key pair the harness keeps in the temp dir (h_token creates it). */
static char *scenario_private_pem(void)
{
    char path[600];
    char *pem = read_text(tmp_path(path, sizeof(path), "jwt-private.pem"));
    H_CHECK(pem != NULL, "the harness keeps no jwt-private.pem in %s", h_tmpdir());
    return pem;
}

static EVP_PKEY *pkey_of(const char *priv_pem)
{
    BIO *b = BIO_new_mem_buf(priv_pem, -1);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    H_CHECK(k != NULL, "cannot parse the scenario private key");
    return k;
}

/* An ES256 token for tenant with kid (NULL = none), enterprise tier (no quota), one hour. */
static char *mint(const char *priv_pem, const char *kid, const char *tenant)
{
    struct rfq_jwt_claims c = {.issuer = ISS,
                               .audience = AUD,
                               .tenant = tenant,
                               .tier = "enterprise",
                               .subject = "token-tests",
                               .iat = h_now_ms() / 1000,
                               .ttl_s = 3600,
                               .kid = kid};
    char *tok = NULL;
    rfq_status st =
        rfq_jwt_mint(&tok, "ES256", (const unsigned char *)priv_pem, strlen(priv_pem), &c);
    H_CHECK(st == RFQ_OK && tok, "mint a token with kid %s", kid ? kid : "(none)");
    return tok;
}

/* Tenants must be registered to use the API: write the record as rfqctl does. */
static void register_tenant(const char *tenant)
{
    kvStore *kv = NULL;
    H_CHECK(rfq_tenant_bucket_open(&kv, h_js(), true) == RFQ_OK, "open %s", RFQ_TENANTS_BUCKET);
    struct rfq_tenant_rec rec;
    rfq_tenant_rec_init(&rec, tenant);
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_tenant_put(kv, &rec, &err);
    kvStore_Destroy(kv);
    H_CHECK(st == RFQ_OK, "register tenant %s: %s", tenant, err.message);
}

/* ---- submits ------------------------------------------------------------------------------- */

struct answer {
    long status;     /* HTTP status or Rfq-Status */
    char www[256];   /* WWW-Authenticate, "" when absent */
    char code[64];   /* error.code of the body, "" when none */
    char rfq_id[80]; /* rfq_id of a 202 */
    char raw[256];   /* body, truncated, for messages */
};

static void answer_body(struct answer *a, const char *body, size_t len)
{
    snprintf(a->raw, sizeof(a->raw), "%.*s", (int)len, body);
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *code = h_jstr(json_object_get(j, "error"), "code");
    snprintf(a->code, sizeof(a->code), "%s", code ? code : "");
    const char *id = h_jstr(j, "rfq_id");
    snprintf(a->rfq_id, sizeof(a->rfq_id), "%s", id ? id : "");
    json_decref(j);
}

/* POST /v1/rfqs with a whole Authorization value (NULL = none). */
static void http_submit(struct answer *a, const struct h_proc *req, const char *authorization,
                        int max_quotes, int timeout_ms)
{
    memset(a, 0, sizeof(*a));
    char *body = h_submit_body("eu-west", max_quotes, timeout_ms);
    struct h_resp r;
    h_http_auth(&r, req, "POST", "/v1/rfqs", authorization, "application/json", body, strlen(body));
    free(body);
    a->status = r.status;
    if (!h_resp_header(&r, "WWW-Authenticate", a->www, sizeof(a->www)))
        a->www[0] = '\0';
    answer_body(a, r.body, r.body_len);
    h_resp_free(&r);
}

/* Request rfq.v1.submit with a whole Authorization value (NULL = none). */
static void nats_submit(struct answer *a, const char *authorization, int max_quotes, int timeout_ms)
{
    memset(a, 0, sizeof(*a));
    char *body = h_submit_body("eu-west", max_quotes, timeout_ms);
    natsMsg *reply = h_nats_submit_request(authorization, body, strlen(body));
    free(body);
    a->status = h_nats_reply_status(reply);
    const char *v = NULL;
    if (natsMsgHeader_Get(reply, "WWW-Authenticate", &v) == NATS_OK && v)
        snprintf(a->www, sizeof(a->www), "%s", v);
    answer_body(a, natsMsg_GetData(reply), (size_t)natsMsg_GetDataLength(reply));
    natsMsg_Destroy(reply);
}

static char *bearer(const char *tok)
{
    char *out = malloc(strlen(tok) + 8);
    H_CHECK(out != NULL, "out of memory");
    sprintf(out, "Bearer %s", tok);
    return out;
}

/* A refused token: 401, an invalid_token challenge, JSON error "unauthorized". */
static void expect_invalid_token(const struct answer *a, const char *via, const char *name)
{
    H_CHECK(a->status == 401, "%s, %s: status %ld, expected 401 (%s)", via, name, a->status,
            a->raw);
    H_CHECK(strncmp(a->www, "Bearer realm=\"rfq\", " CHALLENGE_INVALID, 41) == 0,
            "%s, %s: WWW-Authenticate \"%s\"", via, name, a->www);
    H_CHECK_STR(a->code, "unauthorized", name);
}

static long http_status(const struct h_proc *req, const char *tok, struct answer *a)
{
    char *auth = bearer(tok);
    http_submit(a, req, auth, 1, 5000);
    free(auth);
    return a->status;
}

/* ---- Redis and bus snapshots --------------------------------------------------------------- */

struct keylist {
    char **v;
    size_t n;
};

static void redis_keys(struct keylist *k)
{
    memset(k, 0, sizeof(*k));
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(h_redis(), "SCAN %s COUNT 1000", cursor);
        H_CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2, "SCAN failed");
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            char **grown = realloc(k->v, (k->n + 1) * sizeof(*k->v));
            H_CHECK(grown != NULL, "out of memory");
            k->v = grown;
            k->v[k->n++] = strdup(keys->element[i]->str);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
}

static bool keylist_has(const struct keylist *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->v[i], key) == 0)
            return true;
    return false;
}

static void keylist_free(struct keylist *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
}

/* ---- forged_tokens ------------------------------------------------------------------------- */

/* The scenario key (kid "es-1") and a fresh RS256 key ("rs-1") in one set: the RSA public key
 * is there so that HMAC keyed with its PEM text (key confusion) has a target. */
static void write_forge_set(EVP_PKEY *rs, char *set_path, size_t cap)
{
    char *rs_pub = pem_text(rs, 0);
    write_atomic("rs-1.pub", rs_pub);
    free(rs_pub);
    write_atomic("forge-keys.json",
                 "{\"keys\":[{\"kid\":\"es-1\",\"alg\":\"ES256\",\"key_file\":\"jwt-public.pem\"},"
                 "{\"kid\":\"rs-1\",\"alg\":\"RS256\",\"key_file\":\"rs-1.pub\"}]}");
    tmp_path(set_path, cap, "forge-keys.json");
}

void sc_forged_tokens(void)
{
    h_nats_start();
    h_redis_start();
    free(h_token(TENANT, "enterprise", 60)); /* the scenario key pair exists from here on */
    register_tenant(TENANT);
    char *priv = scenario_private_pem();
    EVP_PKEY *es = pkey_of(priv), *rs = EVP_RSA_gen(2048);
    H_CHECK(rs != NULL, "RSA key generation");
    char set[600], env_keys[700];
    write_forge_set(rs, set, sizeof(set));
    snprintf(env_keys, sizeof(env_keys), "RFQ_JWT_KEYS=%s", set);
    const char *env[] = {env_keys, NULL};
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(env);

    /* A valid token first: the set, the tenant and the forger's signer all work. */
    char *es_pub = pem_text(es, 0), *rs_pub = pem_text(rs, 0);
    struct forge_keys fk = {.signer = es,
                            .signer_kid = "es-1",
                            .es_pub_pem = es_pub,
                            .rs_kid = "rs-1",
                            .rs_pub_pem = rs_pub,
                            .issuer = ISS,
                            .audience = AUD,
                            .tenant = TENANT,
                            .now_s = h_now_ms() / 1000};
    char *valid = forge_valid(&fk, "es-1", TENANT, "enterprise", 3600);
    H_CHECK(valid != NULL, "forge a valid token");
    char *auth = bearer(valid);
    struct answer a;
    http_submit(&a, req, auth, 1, 60000);
    H_CHECK(a.status == 202, "valid token over HTTP: %ld %s", a.status, a.raw);
    nats_submit(&a, auth, 1, 60000);
    H_CHECK(a.status == 202, "valid token over NATS: %ld %s", a.status, a.raw);
    free(auth);

    /* Baseline: what Redis holds, and a listener on every scatter subject. */
    natsSubscription *sub = NULL;
    H_CHECK(natsConnection_SubscribeSync(&sub, h_nc(), "rfq.v1.req.>") == NATS_OK &&
                natsConnection_Flush(h_nc()) == NATS_OK,
            "subscribe rfq.v1.req.>");
    struct keylist before;
    redis_keys(&before);
    char idx[128];
    snprintf(idx, sizeof(idx), "rfq:%s:idx", TENANT);
    long long idx_before = h_redis_int_cmd("ZCARD", idx);
    H_CHECK(idx_before == 2, "%s holds %lld RFQs, expected the 2 valid ones", idx, idx_before);

    struct forge_case *cases = NULL;
    size_t n = 0;
    H_CHECK(forge_all(&cases, &n, &fk) == 0, "forge the tokens");
    size_t tried = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cases[i].field, "ok") == 0)
            continue; /* the control token: proven above, and it would store an RFQ */
        auth = bearer(cases[i].token);
        http_submit(&a, req, auth, 1, 60000);
        expect_invalid_token(&a, "HTTP", cases[i].name);
        nats_submit(&a, auth, 1, 60000);
        expect_invalid_token(&a, "NATS", cases[i].name);
        free(auth);
        tried++;
    }
    /* No Authorization at all: the bare challenge, with no error code. */
    http_submit(&a, req, NULL, 1, 60000);
    H_CHECK(a.status == 401, "no token over HTTP: %ld", a.status);
    H_CHECK_STR(a.www, "Bearer realm=\"rfq\"", "WWW-Authenticate without a token");
    nats_submit(&a, NULL, 1, 60000);
    H_CHECK(a.status == 401, "no token over NATS: %ld", a.status);
    H_CHECK_STR(a.www, "Bearer realm=\"rfq\"", "NATS WWW-Authenticate without a token");

    /* Nothing was published... */
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, sub, 500);
    H_CHECK(s == NATS_TIMEOUT, "a forged token got an RFQ scattered: %s",
            m ? natsMsg_GetSubject(m) : natsStatus_GetText(s));
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    /* ...and nothing stored. */
    struct keylist after;
    redis_keys(&after);
    for (size_t i = 0; i < after.n; i++)
        H_CHECK(keylist_has(&before, after.v[i]), "a forged token left key %s in Redis",
                after.v[i]);
    H_CHECK_INT(h_redis_int_cmd("ZCARD", idx), idx_before, "RFQs of the tenant after forgeries");
    h_log("forged tokens tried: %zu, each refused with 401 over HTTP and over NATS; Redis keys "
          "%zu before, %zu after; nothing published",
          tried, before.n, after.n);
    H_CHECK(tried >= 30, "only %zu forged tokens", tried);

    keylist_free(&before);
    keylist_free(&after);
    forge_free(cases, n);
    free(valid);
    free(es_pub);
    free(rs_pub);
    free(priv);
    EVP_PKEY_free(es);
    EVP_PKEY_free(rs);
}

/* ---- key_rotation -------------------------------------------------------------------------- */

/* Number of lines of a log file holding every one of the given substrings (NULL-ended). */
static int log_count(const char *path, const char *const *needles)
{
    char *text = read_text(path);
    int count = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        bool all = true;
        for (size_t i = 0; needles[i] && all; i++)
            all = strstr(line, needles[i]) != NULL;
        count += all;
    }
    free(text);
    return count;
}

/* Wait until log_count(path, needles) exceeds before; false on timeout. */
static bool log_wait(const char *path, const char *const *needles, int before, int bound_ms)
{
    int64_t until = h_now_ms() + bound_ms;
    while (h_now_ms() < until) {
        if (log_count(path, needles) > before)
            return true;
        h_sleep_ms(20);
    }
    return log_count(path, needles) > before;
}

/* Wait until a submit with tok answers want (bounded); returns the wait in ms or -1. */
static long long wait_status(const struct h_proc *req, const char *tok, long want, int bound_ms)
{
    struct answer a;
    int64_t t0 = h_now_ms();
    while (h_now_ms() - t0 < bound_ms) {
        if (http_status(req, tok, &a) == want)
            return h_now_ms() - t0;
        h_sleep_ms(50);
    }
    return -1;
}

#define SET_ENTRY(kid, file) "{\"kid\":\"" kid "\",\"alg\":\"ES256\",\"key_file\":\"" file "\"}"

void sc_key_rotation(void)
{
    h_nats_start();
    h_redis_start();
    free(h_token(TENANT, "enterprise", 60));
    register_tenant(TENANT);
    char *priv1 = scenario_private_pem();
    EVP_PKEY *k2 = EVP_EC_gen("P-256");
    H_CHECK(k2 != NULL, "EC key generation");
    char *priv2 = pem_text(k2, 1), *pub2 = pem_text(k2, 0);
    write_atomic("k2.pub", pub2);
    write_atomic("keys.json", "{\"keys\":[" SET_ENTRY("k1", "jwt-public.pem") "]}");
    char set[600], env_keys[700];
    snprintf(env_keys, sizeof(env_keys), "RFQ_JWT_KEYS=%s",
             tmp_path(set, sizeof(set), "keys.json"));
    const char *env[] = {env_keys, NULL};
    struct h_proc *req = h_requester_start(env);
    const char *started[] = {"token keys: kids k1", NULL};
    H_CHECK(log_count(req->log_path, started) == 1, "the requester does not log its kids");

    char *t1 = mint(priv1, "k1", TENANT), *t2 = mint(priv2, "k2", TENANT);
    struct answer a;
    for (int i = 0; i < 3; i++) /* verified once, then answered from the token cache */
        H_CHECK(http_status(req, t1, &a) == 202, "token(k1): %ld %s", a.status, a.raw);
    H_CHECK(http_status(req, t2, &a) == 401, "token(k2) before k2 exists: %ld", a.status);

    /* Add k2 by rewriting the file, no signal: picked up within 2 s; k1 keeps working. */
    write_atomic("keys.json", "{\"keys\":[" SET_ENTRY("k1", "jwt-public.pem") "," SET_ENTRY(
                                  "k2", "k2.pub") "]}");
    long long waited = wait_status(req, t2, 202, RELOAD_BOUND_MS);
    H_CHECK(waited >= 0, "token(k2) not accepted within %d ms of the key-set change",
            RELOAD_BOUND_MS);
    h_log("k2 accepted %lld ms after the key-set file changed (no signal)", waited);
    H_CHECK(http_status(req, t1, &a) == 202, "token(k1) during the overlap: %ld %s", a.status,
            a.raw);

    /* Remove k1 and send SIGHUP: once reloaded, k1's cached token is refused at once. */
    const char *hup_ok[] = {"key set reloaded (SIGHUP): kids k2", NULL};
    int before = log_count(req->log_path, hup_ok);
    write_atomic("keys.json", "{\"keys\":[" SET_ENTRY("k2", "k2.pub") "]}");
    h_proc_signal(req, SIGHUP);
    H_CHECK(log_wait(req->log_path, hup_ok, before, RELOAD_BOUND_MS),
            "no reload logged within %d ms of SIGHUP", RELOAD_BOUND_MS);
    http_status(req, t1, &a);
    expect_invalid_token(&a, "HTTP", "token(k1) after k1 was removed");
    H_CHECK(strstr(a.www, "unknown kid") != NULL, "challenge of a removed kid: %s", a.www);
    H_CHECK(http_status(req, t2, &a) == 202, "token(k2) after k1 was removed: %ld %s", a.status,
            a.raw);

    /* A broken key-set file: an error is logged, the keys in force stay. */
    const char *file_err[] = {"\"level\":\"error\"", "key set reload (key file changed) failed",
                              NULL};
    const char *hup_err[] = {"\"level\":\"error\"", "key set reload (SIGHUP) failed", NULL};
    before = log_count(req->log_path, file_err);
    write_atomic("keys.json", "{\"keys\":[" SET_ENTRY("k2", "k2.pub"));
    H_CHECK(log_wait(req->log_path, file_err, before, RELOAD_BOUND_MS),
            "no error logged within %d ms of a broken key-set file", RELOAD_BOUND_MS);
    H_CHECK(http_status(req, t2, &a) == 202, "token(k2) with a broken key-set file: %ld %s",
            a.status, a.raw);
    before = log_count(req->log_path, hup_err);
    h_proc_signal(req, SIGHUP);
    H_CHECK(log_wait(req->log_path, hup_err, before, RELOAD_BOUND_MS),
            "no error logged after SIGHUP with a broken key-set file");
    H_CHECK(http_status(req, t2, &a) == 202, "token(k2) after SIGHUP with a broken file: %ld",
            a.status);
    H_CHECK(http_status(req, t1, &a) == 401, "token(k1) with a broken file: %ld", a.status);

    /* Restore: a good file is loaded again. */
    const char *file_ok[] = {"key set reloaded (key file changed): kids k2", NULL};
    before = log_count(req->log_path, file_ok);
    write_atomic("keys.json", "{\"keys\":[" SET_ENTRY("k2", "k2.pub") "]}");
    H_CHECK(log_wait(req->log_path, file_ok, before, RELOAD_BOUND_MS),
            "the restored key-set file was not loaded within %d ms", RELOAD_BOUND_MS);
    H_CHECK(http_status(req, t2, &a) == 202, "token(k2) after the restore: %ld", a.status);

    /* None of it put key material in the log. */
    char *log = read_text(req->log_path);
    H_CHECK(log && !strstr(log, "BEGIN") && !strstr(log, "PRIVATE"), "key material in %s",
            req->log_path);
    free(log);
    free(t1);
    free(t2);
    free(priv1);
    free(priv2);
    free(pub2);
    EVP_PKEY_free(k2);
}

/* ---- secrets_not_logged -------------------------------------------------------------------- */

struct secrets {
    char *v[512];
    const char *what[512];
    size_t n;
};

static void secret_add(struct secrets *s, const char *what, const char *text, size_t len)
{
    if (len < 8 || s->n >= sizeof(s->v) / sizeof(s->v[0]))
        return;
    s->v[s->n] = strndup(text, len);
    s->what[s->n++] = what;
}

/* A token, and its payload and signature segments on their own. */
static void secret_token(struct secrets *s, const char *tok)
{
    secret_add(s, "token", tok, strlen(tok));
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    if (d1 && d2 && d2 > d1) {
        secret_add(s, "token payload segment", d1 + 1, (size_t)(d2 - d1 - 1));
        secret_add(s, "token signature segment", d2 + 1, strlen(d2 + 1));
    }
}

/* Every base64 body line of a PEM text. */
static void secret_pem(struct secrets *s, const char *what, const char *pem)
{
    for (const char *line = pem; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len >= 16 && line[0] != '-')
            secret_add(s, what, line, len);
        line = end ? end + 1 : NULL;
    }
}

/* The password of a URL's userinfo (scheme://user:pass@host), when there is one. */
static void secret_url_password(struct secrets *s, const char *url)
{
    const char *p = strstr(url, "://");
    const char *at = p ? strchr(p + 3, '@') : NULL;
    const char *colon = p ? strchr(p + 3, ':') : NULL;
    if (at && colon && colon < at)
        secret_add(s, "password in a server URL", colon + 1, (size_t)(at - colon - 1));
}

/* Fail when any *.log file of the temp dir holds one of the secrets. */
static int check_logs_clean(const struct secrets *s)
{
    DIR *d = opendir(h_tmpdir());
    H_CHECK(d != NULL, "open %s", h_tmpdir());
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0)
            continue;
        char path[900];
        snprintf(path, sizeof(path), "%s/%s", h_tmpdir(), e->d_name);
        char *text = read_text(path);
        H_CHECK(text != NULL, "read %s", path);
        for (size_t i = 0; i < s->n; i++)
            H_CHECK(strstr(text, s->v[i]) == NULL, "%s: a %s is in the log (%.24s...)", path,
                    s->what[i], s->v[i]);
        free(text);
        files++;
    }
    closedir(d);
    return files;
}

/* Every JSON log line with an rfq_id names its tenant; each of ids has lines. Returns the
 * number of lines about one of ids. */
static int check_rfq_lines(const struct h_proc *const *procs, size_t n_procs, char ids[][80],
                           size_t n_ids)
{
    int about = 0;
    for (size_t i = 0; i < n_ids; i++) {
        int found = 0;
        for (size_t p = 0; p < n_procs; p++) {
            char *text = read_text(procs[p]->log_path);
            H_CHECK(text != NULL, "read %s", procs[p]->log_path);
            for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                json_t *j = json_loads(line, 0, NULL);
                const char *rid = h_jstr(j, "rfq_id");
                if (rid) {
                    H_CHECK(h_jstr(j, "tenant") && *h_jstr(j, "tenant"),
                            "%s: a line with rfq_id has no tenant: %s", procs[p]->name, line);
                }
                if (strstr(line, ids[i])) {
                    /* a line that mentions the RFQ carries it, and its tenant, as fields */
                    H_CHECK(j != NULL, "%s: not a JSON line: %s", procs[p]->name, line);
                    H_CHECK(rid && strcmp(rid, ids[i]) == 0, "%s: line about %s without rfq_id: %s",
                            procs[p]->name, ids[i], line);
                    H_CHECK_STR(h_jstr(j, "tenant"), TENANT, "tenant of a line about an RFQ");
                    found++;
                }
                json_decref(j);
            }
            free(text);
        }
        H_CHECK(found > 0, "no log line names RFQ %s", ids[i]);
        about += found;
    }
    return about;
}

void sc_secrets_not_logged(void)
{
    h_nats_start();
    h_redis_start();
    char *tok = h_token(TENANT, "enterprise", 3600);
    register_tenant(TENANT);
    const char *dbg[] = {"RFQ_LOG_LEVEL=debug", NULL};
    const char *fleet[] = {"RFQ_LOG_LEVEL=debug",
                           "RFQ_FLEET_SIZE=3",
                           "RFQ_REGIONS=eu-west",
                           "RFQ_DECLINE_PCT=0",
                           "RFQ_THINK_MS_MIN=5",
                           "RFQ_THINK_MS_MAX=30",
                           NULL};
    struct h_proc *agg = h_aggregator_start(dbg);
    struct h_proc *rsp = h_responder_start(fleet);
    struct h_proc *req = h_requester_start(dbg);
    /* A second requester with a key set holding an HS256 secret, to prove secrets stay out.
     * Its ES256 key keeps the legacy kid "default", so a token with that kid passes both
     * requesters of the rfq.v1.submit queue group. */
    char hs_secret[65];
    unsigned char rnd[32];
    H_CHECK(RAND_bytes(rnd, sizeof(rnd)) == 1, "random secret");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hs_secret + 2 * i, 3, "%02x", rnd[i]);
    char secret_line[80];
    snprintf(secret_line, sizeof(secret_line), "%s\n", hs_secret);
    write_atomic("hs-1.secret", secret_line);
    write_atomic("hs-keys.json",
                 "{\"keys\":[" SET_ENTRY(
                     "default", "jwt-public.pem") ",{\"kid\":\"hs-1\",\"alg\":"
                                                  "\"HS256\",\"secret_file\":\"hs-1.secret\"}]}");
    char set[600], env_keys[700];
    snprintf(env_keys, sizeof(env_keys), "RFQ_JWT_KEYS=%s",
             tmp_path(set, sizeof(set), "hs-keys.json"));
    const char *env2[] = {"RFQ_LOG_LEVEL=debug", env_keys, NULL};
    struct h_proc *req2 = h_requester_start(env2);

    struct secrets sec = {.n = 0};
    char *priv = scenario_private_pem(), path[600];
    char *pub = read_text(tmp_path(path, sizeof(path), "jwt-public.pem"));
    H_CHECK(pub != NULL, "read the public key");
    secret_pem(&sec, "private key line", priv);
    secret_pem(&sec, "public key line", pub);
    secret_add(&sec, "HS256 secret", hs_secret, strlen(hs_secret));
    secret_url_password(&sec, h_nats_url());
    secret_url_password(&sec, h_redis_url());

    /* Valid tokens: a full flow over HTTP and over NATS, and reads. */
    char ids[8][80];
    size_t n_ids = 0;
    char *body = h_submit_body("eu-west", 3, 5000);
    json_t *j = h_submit(req, tok, body, ids[n_ids++]);
    json_decref(j);
    free(body);
    char *both = mint(priv, "default", TENANT), *auth = bearer(both);
    struct answer a;
    nats_submit(&a, auth, 3, 5000);
    H_CHECK(a.status == 202, "NATS submit: %ld %s", a.status, a.raw);
    snprintf(ids[n_ids++], sizeof(ids[0]), "%s", a.rfq_id);
    free(auth);
    for (size_t i = 0; i < n_ids; i++) {
        json_decref(h_wait_closed(req, tok, ids[i], 10000));
        char p[160];
        snprintf(p, sizeof(p), "/v1/rfqs/%.79s/quotes", ids[i]);
        json_decref(h_get_json(req, tok, p));
    }
    json_decref(h_get_json(req, tok, "/v1/rfqs?limit=5"));
    secret_token(&sec, tok);
    secret_token(&sec, both);

    /* The key-set requester: ES256 with kid, HS256 with kid. */
    struct rfq_jwt_claims c = {.issuer = ISS,
                               .audience = AUD,
                               .tenant = TENANT,
                               .tier = "enterprise",
                               .iat = h_now_ms() / 1000,
                               .ttl_s = 600,
                               .kid = "hs-1"};
    char *hs_tok = NULL, *es_tok = mint(priv, "default", TENANT);
    H_CHECK(rfq_jwt_mint(&hs_tok, "HS256", (const unsigned char *)hs_secret, strlen(hs_secret),
                         &c) == RFQ_OK,
            "mint HS256");
    const char *good2[] = {es_tok, hs_tok};
    for (size_t i = 0; i < 2; i++) {
        H_CHECK(http_status(req2, good2[i], &a) == 202, "key-set requester: %ld %s", a.status,
                a.raw);
        snprintf(ids[n_ids++], sizeof(ids[0]), "%s", a.rfq_id);
        secret_token(&sec, good2[i]);
    }

    /* Invalid tokens of every kind, over HTTP to both requesters and over NATS. */
    char *bad[8];
    size_t n_bad = 0;
    bad[n_bad++] = h_token(TENANT, "enterprise", -120);
    bad[n_bad++] = h_token_foreign_key(TENANT);
    bad[n_bad++] = h_token_hs256_pubkey(TENANT);
    bad[n_bad++] = h_token_claims(TENANT, "evil-issuer", AUD);
    c.kid = "hs-1";
    const char *wrong_secret = "this-is-not-the-secret-but-it-is-long-enough";
    H_CHECK(rfq_jwt_mint(&bad[n_bad], "HS256", (const unsigned char *)wrong_secret,
                         strlen(wrong_secret), &c) == RFQ_OK,
            "mint HS256");
    n_bad++;
    bad[n_bad++] = mint(priv, "no-such-kid", TENANT);
    for (size_t i = 0; i < n_bad; i++) {
        auth = bearer(bad[i]);
        http_submit(&a, req, auth, 1, 1000);
        expect_invalid_token(&a, "HTTP", "invalid token");
        http_submit(&a, req2, auth, 1, 1000);
        expect_invalid_token(&a, "HTTP (key set)", "invalid token");
        nats_submit(&a, auth, 1, 1000);
        expect_invalid_token(&a, "NATS", "invalid token");
        struct h_resp r;
        h_http(&r, req, "GET", "/v1/rfqs", bad[i], NULL, NULL, 0);
        H_CHECK(r.status == 401, "GET with an invalid token: %ld", r.status);
        h_resp_free(&r);
        secret_token(&sec, bad[i]);
        free(auth);
    }

    /* Reloads: a good one (SIGHUP) and a failing one that reads a too-short secret. */
    const char *reloaded[] = {"key set reloaded (SIGHUP)", NULL};
    h_proc_signal(req2, SIGHUP);
    H_CHECK(log_wait(req2->log_path, reloaded, 0, RELOAD_BOUND_MS), "no reload after SIGHUP");
    const char *short_secret = "short-secret-value\n";
    secret_add(&sec, "rejected short secret", short_secret, strlen(short_secret) - 1);
    write_atomic("hs-1.secret", short_secret);
    const char *failed[] = {"key set reload (key file changed) failed", NULL};
    H_CHECK(log_wait(req2->log_path, failed, 0, RELOAD_BOUND_MS),
            "no error for a too-short secret");
    H_CHECK(http_status(req2, hs_tok, &a) == 202, "HS256 token after a failed reload: %ld",
            a.status);
    snprintf(ids[n_ids++], sizeof(ids[0]), "%s", a.rfq_id);

    for (size_t i = 2; i < n_ids; i++)
        json_decref(h_wait_closed(req2, hs_tok, ids[i], 10000));
    h_sleep_ms(200); /* the last lines reach the files */
    int files = check_logs_clean(&sec);
    const struct h_proc *procs[] = {req, req2, agg, rsp};
    int about = check_rfq_lines(procs, 4, ids, n_ids);
    h_log("%zu secrets (tokens, token segments, key lines, passwords) absent from %d log files; "
          "%d log lines about %zu RFQs all carry tenant and rfq_id",
          sec.n, files, about, n_ids);

    for (size_t i = 0; i < n_bad; i++)
        free(bad[i]);
    for (size_t i = 0; i < sec.n; i++)
        free(sec.v[i]);
    free(hs_tok);
    free(es_tok);
    free(both);
    free(priv);
    free(pub);
    free(tok);
}
