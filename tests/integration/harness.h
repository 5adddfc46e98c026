/* harness: real nats-server, redis-server and engine processes for one integration scenario,
 * plus HTTP, NATS, Redis and JWT helpers and assertions that always clean up. */
#ifndef RFQ_IT_HARNESS_H
#define RFQ_IT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <nats/nats.h>

#include "rfq_tenant.h"

/* ---- assertions ------------------------------------------------------------------------ */

/* Print the failure with its location, dump every process log, stop everything, exit(1).
 * Safe to call from any thread; only the first failure is reported. */
void h_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

#define H_CHECK(cond, ...)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            h_fail(__FILE__, __LINE__, __VA_ARGS__);                                               \
    } while (0)

#define H_CHECK_INT(a, b, what)                                                                    \
    do {                                                                                           \
        long long h_a_ = (long long)(a), h_b_ = (long long)(b);                                    \
        if (h_a_ != h_b_)                                                                          \
            h_fail(__FILE__, __LINE__, "%s: got %lld, expected %lld", (what), h_a_, h_b_);         \
    } while (0)

#define H_CHECK_STR(a, b, what)                                                                    \
    do {                                                                                           \
        const char *h_a_ = (a), *h_b_ = (b);                                                       \
        if (!h_a_ || !h_b_ || strcmp(h_a_, h_b_) != 0)                                             \
            h_fail(__FILE__, __LINE__, "%s: got \"%s\", expected \"%s\"", (what),                  \
                   h_a_ ? h_a_ : "(null)", h_b_ ? h_b_ : "(null)");                                \
    } while (0)

/* Informational line on stdout, prefixed with the elapsed time. */
void h_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A behaviour worth reporting that the contract leaves open: printed, never fails. */
void h_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- lifecycle ------------------------------------------------------------------------- */

/* Start a scenario: temp dir, signal handling, cleanup at exit, and a watchdog that fails the
 * scenario after bound_s seconds (kept below the CTest TIMEOUT so cleanup still runs). */
void h_init(const char *scenario, int bound_s);
/* Lengthen the running scenario's bound by s seconds (a scenario told to do more work). */
void h_bound_extend(int s);
/* Orderly end of a passing scenario: stop engines (checking each exits cleanly on SIGTERM),
 * close clients, stop servers, remove the temp dir. */
void h_finish(void);
const char *h_tmpdir(void);
int64_t h_now_ms(void);
void h_sleep_ms(int ms);

/* A free loopback TCP port (bind port 0 on 127.0.0.1 and read it back). */
int h_free_port(void);

/* ---- processes ------------------------------------------------------------------------- */

struct h_proc {
    char name[64];        /* label in logs and file names, unique per scenario */
    char path[512];       /* executable */
    char log_path[600];   /* stdout and stderr of the process */
    char ready_path[600]; /* RFQ_READY_FILE, "" for servers */
    char **argv;          /* owned, NULL-terminated */
    char **envp;          /* owned, NULL-terminated */
    pid_t pid;            /* 0 when not running */
    int exit_status;      /* waitpid status of the last run */
    bool is_engine;       /* engine processes must exit 0 on SIGTERM */
    char http_base[64];   /* requester only: http://127.0.0.1:<port> */
};

/* Start nats-server with deploy/nats/rfq-nats.conf (its users and permissions; random
 * passwords per scenario in the server's environment), JetStream, loopback, free port, store
 * in the temp dir, and wait until it accepts clients with JetStream enabled. Also connects the
 * test's own NATS client (user admin) and creates the tenant bucket RFQ_TENANTS. */
void h_nats_start(void);
/* Stop nats-server (SIGTERM, then SIGKILL after a bound); the test's client stays (and keeps
 * trying to reconnect) until h_finish. */
void h_nats_stop(void);
/* Crash nats-server (SIGKILL, reaped): what JetStream wrote to its store dir stays. The test's
 * client keeps trying to reconnect. */
void h_nats_kill9(void);
/* Start the stopped or killed nats-server again with the same port, store dir, configuration
 * and passwords, and wait until the test's client has reconnected and JetStream answers with
 * the stream RFQ_QUOTES (when it existed) recovered. Returns the ms this took. */
int h_nats_restart(void);
/* URL of the admin user, with its password (what rfqctl and the test's client use). */
const char *h_nats_url(void);
/* URL of one user of rfq-nats.conf: "admin", "requester", "aggregator", "responder" or "app"
 * (the engines get theirs by role). Borrowed, valid until the scenario ends. */
const char *h_nats_url_as(const char *role);
natsConnection *h_nc(void);
jsCtx *h_js(void);
/* Request rfq.v1.submit on the test's connection with body and an Authorization value (NULL:
 * no header), waiting up to 5 s. Returns the reply (natsMsg_Destroy it); fails the scenario
 * when no reply came. */
natsMsg *h_nats_submit_request(const char *authorization, const char *body, size_t len);
/* The reply's Rfq-Status header as a number, 0 when absent. */
int h_nats_reply_status(natsMsg *reply);
/* PIDs of the running servers (0 when stopped), e.g. to read their CPU time and memory. */
pid_t h_nats_pid(void);
pid_t h_redis_pid(void);

/* Start redis-server (AOF, loopback, free port, dir in the temp dir) with an aclfile in the
 * temp dir: user default (admin, password-protected) and rfq-svc (rules of
 * deploy/redis/service.acl, what the engines use); tenants' users are added by ACL SAVE.
 * Waits for PING as default. */
void h_redis_start(void);
/* Stop redis-server (SIGTERM, then SIGKILL after a bound). */
void h_redis_stop(void);
/* Crash redis-server (SIGKILL, reaped): with AOF everysec, what it wrote to the kernel before
 * answering stays, as after a process crash (not a power cut). */
void h_redis_kill9(void);
/* Start the stopped or killed redis-server again on the same port, data dir and aclfile (AOF
 * reloads, users stay). */
void h_redis_restart(void);
/* redis://default:<pw>@127.0.0.1:<port>: the admin user (as RFQ_REDIS_ADMIN_URL). */
const char *h_redis_url(void);
const char *h_redis_admin_url(void); /* the same */
/* redis://rfq-svc:<pw>@127.0.0.1:<port>: the engines' RFQ_REDIS_URL. */
const char *h_redis_service_url(void);
/* The test's own connection, authenticated as default (admin). */
redisContext *h_redis(void);

/* RFQ_TENANT_SECRET_FILE of the requesters (random, 0600): tenants' Redis passwords derive
 * from it (rfq_acl_tenant_password). */
const char *h_secret_path(void);
/* Every password and secret of the scenario (NATS users, Redis default and rfq-svc, the
 * tenant secret, registered tenants' Redis passwords), NULL-terminated; borrowed, valid until
 * the next call. No log may contain any of them. */
const char *const *h_passwords_for_leak_check(void);

/* ---- tenants --------------------------------------------------------------------------- */

/* Register tenant, idempotently: its record in the bucket RFQ_TENANTS (created with default
 * settings when missing; tier_override, when not NULL, becomes the record's tier) and its Redis
 * user rfq-t-<tenant> (rfq_acl_tenant_create, password derived from h_secret_path()'s secret).
 * Each part is made when its server runs (now, or when it starts). */
void h_tenant_register(const char *tenant, const char *tier_override);
/* Write a tenant's record (bucket RFQ_TENANTS), e.g. to change its settings, and make sure its
 * Redis user exists. */
void h_tenant_put(const struct rfq_tenant_rec *rec);

/* Engine processes. extra_env is a NULL-terminated list of "NAME=value" (may be NULL);
 * the common variables (RFQ_NATS_URL as the process's own NATS user, RFQ_REDIS_URL as
 * rfq-svc, RFQ_READY_FILE, RFQ_JWT_KEY, RFQ_HTTP_ADDR, RFQ_LOG_LEVEL, and for requesters
 * RFQ_TENANT_SECRET_FILE) are set by the harness. Each waits for the ready file. */
struct h_proc *h_requester_start(const char *const *extra_env);
struct h_proc *h_aggregator_start(const char *const *extra_env);
struct h_proc *h_responder_start(const char *const *extra_env);
/* Start again a stopped or killed process with the same arguments and environment. */
void h_proc_restart(struct h_proc *p);
/* Send sig (e.g. SIGSTOP/SIGCONT) to a running process. */
void h_proc_signal(struct h_proc *p, int sig);
/* SIGSTOP p and wait until the kernel reports it stopped (state T), so nothing it does races
 * the checks that follow. Fails the scenario after 5 s. */
void h_proc_freeze(struct h_proc *p);
/* SIGKILL and reap. */
void h_proc_kill9(struct h_proc *p);
/* SIGTERM, wait up to bound, then SIGKILL; returns the waitpid status. */
int h_proc_stop(struct h_proc *p);
/* Fails the scenario when the process already exited (crash detection). */
void h_proc_check_alive(struct h_proc *p);
/* Check every engine process is still running. */
void h_check_all_alive(void);

/* ---- tokens ---------------------------------------------------------------------------- */

/* ES256 token for tenant/tier signed with the scenario key; ttl_s may be negative (expired).
 * Returned string is new (free()). Every h_token* registers a valid tenant id the first time
 * it sees it (record and Redis user, as h_tenant_register), so plain scenarios need no
 * ceremony; a scenario may delete the record afterwards to test refusals. */
char *h_token(const char *tenant, const char *tier, int64_t ttl_s);
/* Token with explicit issuer and audience (for the negative cases). New string. */
char *h_token_claims(const char *tenant, const char *issuer, const char *audience);
/* Token signed by a key the requester does not know. New string. */
char *h_token_foreign_key(const char *tenant);
/* HS256 token whose secret is the text of the requester's public key (algorithm confusion). */
char *h_token_hs256_pubkey(const char *tenant);

/* ---- HTTP ------------------------------------------------------------------------------ */

struct h_resp {
    long status;   /* HTTP status, 0 when the request failed */
    char *headers; /* raw header block, NUL-terminated, owned */
    char *body;    /* NUL-terminated, owned */
    size_t body_len;
    json_t *json; /* body parsed as JSON when it is JSON, else NULL; owned */
};

/* Perform one request against base (a requester's http_base) + path. token and content_type
 * may be NULL (no header). body may be NULL. Fails the scenario only on transport errors. */
/* A growing, NUL-terminated byte buffer and the libcurl write callback that fills it
 * (CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION with the buffer as data; free(p) after). */
struct h_buf {
    char *p;
    size_t n;
};
size_t h_buf_write(char *data, size_t size, size_t nmemb, void *ud);

void h_http(struct h_resp *r, const struct h_proc *req, const char *method, const char *path,
            const char *token, const char *content_type, const char *body, size_t body_len);
/* Same with the whole Authorization header value given (NULL: no header). */
void h_http_auth(struct h_resp *r, const struct h_proc *req, const char *method, const char *path,
                 const char *authorization, const char *content_type, const char *body,
                 size_t body_len);
void h_resp_free(struct h_resp *r);

/* ---- metrics (GET /metrics on RFQ_METRICS_ADDR) ------------------------------------------ */

/* A process's metrics address: env gets "RFQ_METRICS_ADDR=127.0.0.1:<free port>" for its
 * extra_env, base the matching "http://127.0.0.1:<port>". */
struct h_metrics {
    char env[64];
    char base[64];
};
void h_metrics_init(struct h_metrics *m);
/* GET /metrics expecting 200 with the exposition content type and every sample under a
 * declared family; the text (new). */
char *h_metrics_scrape(const struct h_metrics *m);
/* The value of the sample "<series> <value>" in text; -1 when absent. */
double h_metrics_value(const char *text, const char *series);
/* Scrape and read one series. */
double h_metric(const struct h_metrics *m, const char *series);
/* Value of a response header (case-insensitive name) into out; false when absent. */
bool h_resp_header(const struct h_resp *r, const char *name, char *out, size_t cap);
/* Check an error answer: status, JSON body {"error":{"code":code,"message":<non-empty>}}. */
void h_check_error(const struct h_resp *r, long status, const char *code, const char *what);

/* A submit body for region with max_quotes and timeout_ms (0 = leave out). New string. */
char *h_submit_body(const char *region, int max_quotes, int timeout_ms);
/* POST /v1/rfqs expecting 202; copies the rfq id to id_out[65]; returns the parsed body (new). */
json_t *h_submit(const struct h_proc *req, const char *token, const char *body, char *id_out);
/* GET path expecting 200; returns the parsed JSON (new). */
json_t *h_get_json(const struct h_proc *req, const char *token, const char *path);
/* Poll GET /v1/rfqs/<id> until its status is not "open" (bounded); returns the JSON (new). */
json_t *h_wait_closed(const struct h_proc *req, const char *token, const char *id, int bound_ms);
/* Poll GET /v1/rfqs/<id> until quote_count >= n (bounded); returns the JSON (new). */
json_t *h_wait_quote_count(const struct h_proc *req, const char *token, const char *id, int n,
                           int bound_ms);

/* ---- JSON helpers ---------------------------------------------------------------------- */

const char *h_jstr(const json_t *obj, const char *key); /* NULL when missing/not string */
long long h_jint(const json_t *obj, const char *key, long long def);
/* Ranking rule check on a /quotes answer: rank 1..n, ordered by amount, eta, arrival. */
void h_check_ranked(const json_t *quotes_answer, const char *rfq_id, int expect_n);

/* ---- NATS helpers ---------------------------------------------------------------------- */

/* JetStream-publish data to subject with header pairs (hdrs: "K","V",...,NULL). Returns the
 * PubAck: *seq and *duplicate filled when non-NULL. Fails the scenario on error. */
void h_js_publish(const char *subject, const char *const *hdrs, const void *data, size_t len,
                  uint64_t *seq, bool *duplicate);
/* Quote body for rfq_id from responder with price/eta in currency. New string. */
char *h_quote_body(const char *rfq_id, const char *responder, long long amount, int eta_s,
                   const char *currency);
/* Publish a well-formed quote the way a responder does (subject, headers, Nats-Msg-Id
 * "<rfq_id>.<responder>" unless msg_id is given). */
void h_publish_quote(const char *tenant, const char *rfq_id, const char *responder,
                     long long amount, int eta_s, const char *msg_id);

/* Wait until the aggregator's durable consumer has nothing pending and nothing unacked, i.e.
 * every quote published so far was processed and acknowledged. false on timeout (with the
 * last numbers in *pending and *ack_pending when non-NULL). */
bool h_quotes_drained(int bound_ms, uint64_t *pending, int64_t *ack_pending);

/* Events observed on rfq.v1.event.> since h_events_start(). */
void h_events_start(void);
/* Number of events of type ("quote", "completed", "expired") for rfq_id. */
int h_events_count(const char *rfq_id, const char *type);
/* Wait until at least n events of type for rfq_id were seen; false on timeout. */
bool h_events_wait(const char *rfq_id, const char *type, int n, int bound_ms);
/* The i-th event (0-based, in arrival order) of type for rfq_id: borrowed, or NULL. */
json_t *h_events_get(const char *rfq_id, const char *type, int i);

/* One entry of the RFQ_DLQ stream. */
struct h_dlq_entry {
    uint64_t seq;
    char subject[256]; /* DLQ subject */
    char reason[64];   /* Rfq-Dlq-Reason */
    char detail[256];  /* Rfq-Dlq-Detail */
    char orig[256];    /* Rfq-Dlq-Subject */
    char tenant[80];   /* Rfq-Tenant */
    char rfq_id[80];   /* Rfq-Id */
    char *data;        /* original payload, NUL-terminated, owned */
    size_t len;
};
/* Messages the JetStream stream holds now. */
uint64_t h_stream_msgs(const char *stream);
/* Wait until the DLQ holds an entry whose Rfq-Dlq-Subject is orig_subject and whose data
 * equals data/len; fills *out (free with h_dlq_entry_free). false on timeout. */
bool h_dlq_wait(const char *orig_subject, const void *data, size_t len, int bound_ms,
                struct h_dlq_entry *out);
/* Number of DLQ entries whose Rfq-Dlq-Subject is orig_subject (and, when reason is not NULL,
 * whose Rfq-Dlq-Reason is reason). */
int h_dlq_count_subject(const char *orig_subject, const char *reason);
void h_dlq_entry_free(struct h_dlq_entry *e);

/* ---- Redis helpers --------------------------------------------------------------------- */

/* HGET key field as integer (def when missing). */
long long h_redis_hget_int(const char *key, const char *field, long long def);
/* HGET key field into out; false when missing. */
bool h_redis_hget(const char *key, const char *field, char *out, size_t cap);
long long h_redis_int_cmd(const char *cmd, const char *key); /* HLEN/ZCARD/EXISTS key */
/* ZSCORE key member, -1 when absent. */
long long h_redis_zscore(const char *key, const char *member);

/* ---- rfqctl ---------------------------------------------------------------------------- */

struct h_ctl_run {
    int rc;          /* exit status, -1 when it did not exit normally */
    char out[32768]; /* stdout */
    char err[4096];  /* stderr */
};
/* Run the rfqctl binary (when the build defines RFQ_IT_RFQCTL_BIN) with args (NULL-terminated)
 * as the admin NATS user, plus env ("K=V", NULL-terminated, may be NULL);
 * RFQ_REDIS_ADMIN_URL and RFQ_TENANT_SECRET_FILE are unset unless env sets them. Bounded to
 * 20 s. */
void h_rfqctl(struct h_ctl_run *o, const char *const *env, const char *const *args);
/* Read up to cap-1 bytes of path into buf, NUL-terminated ("" when it cannot be read). */
void h_read_file(const char *path, char *buf, size_t cap);
/* Fail when out or err holds any password or secret of the scenario. */
void h_check_no_secret(const char *out, const char *err, const char *what);

#endif
