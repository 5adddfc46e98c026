/* rfq_redis: connect, load scripts, EVALSHA with NOSCRIPT recovery. */
#include "rfq_redis.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfq_ids.h"
#include "rfq_log.h"

extern const char rfq_lua_create_rfq[];
extern const char rfq_lua_add_quote[];
extern const char rfq_lua_sweep_expired[];

static const char *const script_bodies[RFQ_SCRIPT_COUNT] = {
    rfq_lua_create_rfq,
    rfq_lua_add_quote,
    rfq_lua_sweep_expired,
};
static char script_shas[RFQ_SCRIPT_COUNT][41];
static pthread_once_t shas_once = PTHREAD_ONCE_INIT;

/* Redis names a script by the SHA1 of its body: compute ours once so EVALSHA needs no
 * round trip to learn them. */
static void compute_shas(void)
{
    for (int i = 0; i < RFQ_SCRIPT_COUNT; i++) {
        unsigned char d[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)script_bodies[i], strlen(script_bodies[i]), d);
        for (int j = 0; j < SHA_DIGEST_LENGTH; j++)
            snprintf(&script_shas[i][j * 2], 3, "%02x", d[j]);
    }
}

const char *rfq_script_sha(rfq_script s)
{
    pthread_once(&shas_once, compute_shas);
    return script_shas[s];
}

const char *rfq_script_body(rfq_script s)
{
    return script_bodies[s];
}

rfq_status rfq_redis_scripts_load(redisContext *c)
{
    for (int i = 0; i < RFQ_SCRIPT_COUNT; i++) {
        redisReply *r = redisCommand(c, "SCRIPT LOAD %s", script_bodies[i]);
        if (!r)
            return RFQ_EREDIS;
        int ok = r->type == REDIS_REPLY_STRING && strcmp(r->str, rfq_script_sha(i)) == 0;
        freeReplyObject(r);
        if (!ok)
            return RFQ_EREDIS;
    }
    return RFQ_OK;
}

/* True for the answers that mean "these credentials will not do": retrying cannot help. */
static bool is_auth_refusal(const redisReply *r)
{
    static const char *const prefixes[] = {
        "WRONGPASS",           "NOPERM", "NOAUTH", "ERR AUTH", "ERR invalid password",
        "ERR Client sent AUTH"};
    if (!r || r->type != REDIS_REPLY_ERROR)
        return false;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        if (strncmp(r->str, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* AUTH [user] pass on a fresh connection. */
static rfq_status redis_auth(redisContext *c, const struct rfq_redis_target *t, struct rfq_err *err)
{
    redisReply *r = t->user && *t->user ? redisCommand(c, "AUTH %b %b", t->user, strlen(t->user),
                                                       t->pass, strlen(t->pass))
                                        : redisCommand(c, "AUTH %b", t->pass, strlen(t->pass));
    rfq_status st = RFQ_OK;
    if (!r) {
        st = rfq_err_set(err, RFQ_EREDIS, "", "Redis %s:%d: AUTH failed: %s", t->host, t->port,
                         c->errstr);
    } else if (r->type == REDIS_REPLY_ERROR) {
        /* The error text names no password (Redis never echoes it). */
        st = rfq_err_set(err, is_auth_refusal(r) ? RFQ_EAUTH : RFQ_EREDIS, "",
                         "Redis %s:%d refused AUTH as user '%s': %.80s", t->host, t->port,
                         t->user && *t->user ? t->user : "default", r->str);
    }
    if (r)
        freeReplyObject(r);
    return st;
}

/* SCRIPT LOAD every script, telling a refusal (ACL) from other failures. */
static rfq_status load_scripts_checked(redisContext *c, const struct rfq_redis_target *t,
                                       struct rfq_err *err)
{
    redisReply *r = redisCommand(c, "SCRIPT LOAD %s", script_bodies[0]);
    if (r && is_auth_refusal(r)) {
        rfq_err_set(err, RFQ_EAUTH, "", "Redis %s:%d refused SCRIPT LOAD for user '%s': %.80s",
                    t->host, t->port, t->user && *t->user ? t->user : "default", r->str);
        freeReplyObject(r);
        return RFQ_EAUTH;
    }
    if (r)
        freeReplyObject(r);
    if (rfq_redis_scripts_load(c) != RFQ_OK)
        return rfq_err_set(err, RFQ_EREDIS, "", "Redis %s:%d: cannot load the scripts", t->host,
                           t->port);
    return RFQ_OK;
}

rfq_status rfq_redis_open(redisContext **out, const struct rfq_redis_target *t, int timeout_ms,
                          int wait_ms, bool load_scripts, struct rfq_err *err)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int64_t until = rfq_mono_ns() + (int64_t)wait_ms * 1000000;
    bool auth = t->pass && *t->pass;
    *out = NULL;
    for (;;) {
        rfq_status st = RFQ_EREDIS;
        redisContext *c = redisConnectWithTimeout(t->host, t->port, tv);
        if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK)
            rfq_err_set(err, RFQ_EREDIS, "", "cannot connect to Redis at %s:%d%s%s", t->host,
                        t->port, c ? ": " : "", c ? c->errstr : "");
        else if ((st = auth ? redis_auth(c, t, err) : RFQ_OK) == RFQ_OK && load_scripts)
            st = load_scripts_checked(c, t, err);
        if (st == RFQ_OK) {
            *out = c;
            return RFQ_OK;
        }
        if (c)
            redisFree(c);
        if (st == RFQ_EAUTH || rfq_mono_ns() >= until)
            return st;
        usleep(100 * 1000);
    }
}

static char cred_user[128], cred_pass[256];

void rfq_redis_set_credentials(const char *user, const char *pass)
{
    snprintf(cred_user, sizeof(cred_user), "%s", user ? user : "");
    snprintf(cred_pass, sizeof(cred_pass), "%s", pass ? pass : "");
}

rfq_status rfq_redis_connect(redisContext **out, const char *host, int port, int timeout_ms,
                             int wait_ms)
{
    struct rfq_redis_target t = {host, port, cred_user, cred_pass};
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_redis_open(out, &t, timeout_ms, wait_ms, true, &err);
    /* Callers retry in loops: say once why the credentials do not work. */
    static atomic_int told;
    if (st == RFQ_EAUTH && !atomic_exchange(&told, 1)) {
        static const struct rfq_log_ctx ctx = {.component = "redis"};
        RFQ_LOG(&ctx, RFQ_ERROR, "%s (check the user and password in RFQ_REDIS_URL)", err.message);
    }
    return st;
}

int rfq_redis_is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

#define RFQ_EVAL_ARGS_MAX 192 /* add_quote with 32 answers takes 170 */

/* Build the EVALSHA argument vector: "EVALSHA" sha nkeys argv... */
static int eval_argv(rfq_script s, int nkeys, int argc, const char **argv, const size_t *lens,
                     const char **av, size_t *al, char *nk)
{
    if (argc + 3 > RFQ_EVAL_ARGS_MAX)
        return -1;
    snprintf(nk, 12, "%d", nkeys);
    av[0] = "EVALSHA";
    al[0] = 7;
    av[1] = rfq_script_sha(s);
    al[1] = 40;
    av[2] = nk;
    al[2] = strlen(nk);
    for (int i = 0; i < argc; i++) {
        av[3 + i] = argv[i];
        al[3 + i] = lens ? lens[i] : strlen(argv[i]);
    }
    return argc + 3;
}

redisReply *rfq_redis_eval(redisContext *c, rfq_script s, int nkeys, int argc, const char **argv,
                           const size_t *lens)
{
    const char *av[RFQ_EVAL_ARGS_MAX];
    size_t al[RFQ_EVAL_ARGS_MAX];
    char nk[12];
    int n = eval_argv(s, nkeys, argc, argv, lens, av, al, nk);
    if (n < 0)
        return NULL;
    redisReply *r = redisCommandArgv(c, n, av, al);
    if (rfq_redis_is_noscript(r)) {
        freeReplyObject(r);
        if (rfq_redis_scripts_load(c) != RFQ_OK)
            return NULL;
        r = redisCommandArgv(c, n, av, al);
    }
    return r;
}

rfq_status rfq_redis_append_eval(redisContext *c, rfq_script s, int nkeys, int argc,
                                 const char **argv, const size_t *lens)
{
    const char *av[RFQ_EVAL_ARGS_MAX];
    size_t al[RFQ_EVAL_ARGS_MAX];
    char nk[12];
    int n = eval_argv(s, nkeys, argc, argv, lens, av, al, nk);
    if (n < 0)
        return RFQ_EINVAL;
    return redisAppendCommandArgv(c, n, av, al) == REDIS_OK ? RFQ_OK : RFQ_EREDIS;
}
