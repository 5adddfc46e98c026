/* rfq_redis: connect, load scripts, EVALSHA with NOSCRIPT recovery. */
#include "rfq_redis.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rfq_ids.h"

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

rfq_status rfq_redis_connect(redisContext **out, const char *host, int port, int timeout_ms,
                             int wait_ms)
{
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int64_t until = rfq_mono_ns() + (int64_t)wait_ms * 1000000;
    *out = NULL;
    for (;;) {
        redisContext *c = redisConnectWithTimeout(host, port, tv);
        if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK &&
            rfq_redis_scripts_load(c) == RFQ_OK) {
            *out = c;
            return RFQ_OK;
        }
        if (c)
            redisFree(c);
        if (rfq_mono_ns() >= until)
            return RFQ_EREDIS;
        usleep(100 * 1000);
    }
}

int rfq_redis_is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0;
}

#define RFQ_EVAL_ARGS_MAX 24

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
