/* rfq_cfg: configuration shared by every process, read from the environment, plus the
 * ready file that tells the local stack and tests a process is serving. */
#ifndef RFQ_CFG_H
#define RFQ_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_status.h"

struct rfq_common_cfg {
    char nats_url[512];     /* RFQ_NATS_URL, default nats://127.0.0.1:4222 */
    char redis_host[256];   /* from RFQ_REDIS_URL redis://host:port, default 127.0.0.1 */
    int redis_port;         /* default 6379 */
    char redis_user[128];   /* RFQ_REDIS_URL userinfo redis://user:pw@...; "" = default user */
    char redis_pass[256];   /* "" = no AUTH */
    char ready_file[512];   /* RFQ_READY_FILE or --ready-file: written once serving, "" = none */
    char metrics_addr[272]; /* RFQ_METRICS_ADDR host:port serving GET /metrics, "" = none */
};

/* Environment value or def when unset or empty; borrowed. */
const char *rfq_env_str(const char *name, const char *def);
/* Integer environment value; def when unset; exits the process with a message when malformed
 * (configuration errors must stop a process at start, not later). */
int64_t rfq_env_int(const char *name, int64_t def);

/* Split a listening address "host:port" (also "[v6]:port"; ":port" means 0.0.0.0) into its
 * parts; port 0..65535 (0 = any free port). RFQ_EINVAL when malformed or host_cap too small. */
rfq_status rfq_parse_listen_addr(const char *addr, char *host, size_t host_cap, int *port);

/* Load the common settings from the environment. Returns RFQ_EINVAL on a malformed URL. */
rfq_status rfq_common_cfg_load(struct rfq_common_cfg *cfg);

/* Parse "redis://host:port" (also "host:port") into host/port; credentials in the URL are
 * accepted and dropped (see rfq_parse_redis_url_auth). */
rfq_status rfq_parse_redis_url(const char *url, char *host, size_t host_cap, int *port);

/* Parse "redis://[[user]:password@]host[:port][/db]" (also without the scheme). The userinfo
 * is percent-decoded; "redis://:pw@h" and "redis://pw@h" give an empty user (AUTH with the
 * password alone, as redis-cli does). user/pass are "" when the URL has none. */
rfq_status rfq_parse_redis_url_auth(const char *url, char *host, size_t host_cap, int *port,
                                    char *user, size_t user_cap, char *pass, size_t pass_cap);

/* Copy url into out with the password of every "scheme://user:password@" (a comma list of
 * URLs too) replaced by "***", and a userinfo without ':' (a token) replaced whole: URLs may
 * be printed, passwords never. Returns out (truncated to cap). */
const char *rfq_url_redact(const char *url, char *out, size_t cap);

/* Write our pid to path atomically (tmp + rename); no-op for NULL or "". */
rfq_status rfq_ready_file_write(const char *path);

/* Install SIGINT/SIGTERM handlers that set the returned flag; SIGPIPE is ignored. */
volatile int *rfq_signals_install(void);

#endif
