/* rfq_redis_acl: the Redis users that confine storage access. Each tenant has a user
 * "rfq-t-<tenant>" limited to ~rfq:<tenant>:* (read commands only; @keyspace, @dangerous,
 * @admin, @scripting denied); its password is derived from a tenant secret shared by the
 * requester and the admin tool (HMAC-SHA256), so no password is stored anywhere. */
#ifndef RFQ_REDIS_ACL_H
#define RFQ_REDIS_ACL_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "rfq_status.h"

#define RFQ_ACL_USER_MAX 80
#define RFQ_ACL_PASSWORD_LEN 64 /* hex characters */

/* "rfq-t-<tenant>" into out. RFQ_EINVAL for an invalid tenant. */
rfq_status rfq_acl_tenant_user(char *out, size_t cap, const char *tenant);
/* Hex HMAC-SHA256(secret, "rfq-tenant-redis:" + tenant) into out[RFQ_ACL_PASSWORD_LEN + 1]. */
rfq_status rfq_acl_tenant_password(char *out, const unsigned char *secret, size_t secret_len,
                                   const char *tenant);
/* Read a secret file (>= 32 bytes, trailing newline dropped). *out is new (free after
 * OPENSSL_cleanse). */
rfq_status rfq_acl_secret_load(const char *path, unsigned char **out, size_t *len,
                               struct rfq_err *err);

/* On an admin connection: create or reset the tenant's user (ACL SETUSER ... reset ...), then
 * ACL SAVE when Redis runs with an aclfile (ignored otherwise). */
rfq_status rfq_acl_tenant_create(redisContext *admin, const char *tenant, const char *password,
                                 struct rfq_err *err);
/* Remove the tenant's user (ACL DELUSER, ACL SAVE). */
rfq_status rfq_acl_tenant_delete(redisContext *admin, const char *tenant, struct rfq_err *err);

#endif
