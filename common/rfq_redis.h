/* rfq_redis: Redis connections and the engine's Lua scripts (loaded once, called by SHA).
 * hiredis 0.14 is RESP2-only and a context is not thread-safe: one context per thread. */
#ifndef RFQ_REDIS_H
#define RFQ_REDIS_H

#include <stdbool.h>
#include <stddef.h>

#include <hiredis/hiredis.h>

#include "rfq_status.h"

typedef enum {
    RFQ_SCRIPT_CREATE_RFQ = 0, /* lua/create_rfq.lua */
    RFQ_SCRIPT_ADD_QUOTE,      /* lua/add_quote.lua */
    RFQ_SCRIPT_SWEEP_EXPIRED,  /* lua/sweep_expired.lua */
    RFQ_SCRIPT_COUNT
} rfq_script;

/* Where and as whom a connection goes. Strings are borrowed. */
struct rfq_redis_target {
    const char *host;
    int port;
    const char *user; /* ACL user; NULL or "" = AUTH with the password alone (default user) */
    const char *pass; /* NULL or "" = no AUTH */
};

/* Connect with a command timeout, AUTH when a password is given, and SCRIPT LOAD every script
 * when load_scripts (a tenant's read-only user may not). Retries for up to wait_ms while
 * Redis is unreachable or loading; a refused AUTH or a NOPERM/NOAUTH answer returns RFQ_EAUTH
 * at once (wrong credentials do not heal). err (may be NULL) says what failed, never with the
 * password. *out is new: free with redisFree. */
rfq_status rfq_redis_open(redisContext **out, const struct rfq_redis_target *t, int timeout_ms,
                          int wait_ms, bool load_scripts, struct rfq_err *err);

/* The credentials rfq_redis_connect uses: the process's service user (from RFQ_REDIS_URL).
 * Call once at start, before any thread connects; NULL or "" pass = no AUTH. Copied. */
void rfq_redis_set_credentials(const char *user, const char *pass);

/* rfq_redis_open(host:port, the credentials set above, scripts loaded). */
rfq_status rfq_redis_connect(redisContext **out, const char *host, int port, int timeout_ms,
                             int wait_ms);

/* SHA1 (40 hex chars) and body of a script; borrowed, static. */
const char *rfq_script_sha(rfq_script s);
const char *rfq_script_body(rfq_script s);

/* SCRIPT LOAD every script (after a connect or a NOSCRIPT). */
rfq_status rfq_redis_scripts_load(redisContext *c);

/* EVALSHA script with nkeys keys followed by the other arguments; argv/lens hold keys then
 * args (argc in all). Reloads scripts once on NOSCRIPT (Redis restarted). Returns a new
 * reply (freeReplyObject) or NULL on I/O error; error replies are returned as such. */
redisReply *rfq_redis_eval(redisContext *c, rfq_script s, int nkeys, int argc, const char **argv,
                           const size_t *lens);

/* Queue an EVALSHA without waiting (pipelining); read with redisGetReply. */
rfq_status rfq_redis_append_eval(redisContext *c, rfq_script s, int nkeys, int argc,
                                 const char **argv, const size_t *lens);

/* True when reply is an error reply starting with NOSCRIPT. */
int rfq_redis_is_noscript(const redisReply *r);

#endif
