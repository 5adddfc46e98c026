/* rfq_redis_acl: tenant Redis users and their derived passwords. */
#include "rfq_redis_acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rfq_ids.h"

#define ACL_SECRET_MIN 32
#define ACL_SECRET_MAX 4096
#define ACL_PASSWORD_CONTEXT "rfq-tenant-redis:"

rfq_status rfq_acl_tenant_user(char *out, size_t cap, const char *tenant)
{
    if (!tenant || !rfq_tenant_valid(tenant))
        return RFQ_EINVAL;
    int n = snprintf(out, cap, "rfq-t-%s", tenant);
    return n > 0 && (size_t)n < cap ? RFQ_OK : RFQ_ETOOBIG;
}

/* The context prefix keeps these passwords apart from any other use of the same secret. */
rfq_status rfq_acl_tenant_password(char *out, const unsigned char *secret, size_t secret_len,
                                   const char *tenant)
{
    out[0] = '\0';
    if (!secret || secret_len < ACL_SECRET_MIN || !tenant || !rfq_tenant_valid(tenant))
        return RFQ_EINVAL;
    char msg[sizeof(ACL_PASSWORD_CONTEXT) + RFQ_TENANT_MAX];
    int n = snprintf(msg, sizeof(msg), ACL_PASSWORD_CONTEXT "%s", tenant);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (n <= 0 ||
        !HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)msg, (size_t)n, mac,
              &mac_len) ||
        mac_len * 2 != RFQ_ACL_PASSWORD_LEN)
        return RFQ_EINVAL;
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 0xf];
    }
    out[RFQ_ACL_PASSWORD_LEN] = '\0';
    OPENSSL_cleanse(mac, sizeof(mac));
    return RFQ_OK;
}

rfq_status rfq_acl_secret_load(const char *path, unsigned char **out, size_t *len,
                               struct rfq_err *err)
{
    *out = NULL;
    *len = 0;
    if (!path || !*path)
        return rfq_err_set(err, RFQ_EINVAL, "RFQ_TENANT_SECRET_FILE", "no secret file given");
    FILE *f = fopen(path, "rb");
    if (!f)
        return rfq_err_set(err, RFQ_EIO, "RFQ_TENANT_SECRET_FILE", "cannot open %s: %s", path,
                           strerror(errno));
    unsigned char *buf = malloc(ACL_SECRET_MAX + 1);
    if (!buf) {
        fclose(f);
        return RFQ_ENOMEM;
    }
    size_t n = fread(buf, 1, ACL_SECRET_MAX + 1, f);
    int read_err = ferror(f);
    fclose(f);
    rfq_status st = RFQ_OK;
    if (read_err)
        st = rfq_err_set(err, RFQ_EIO, "RFQ_TENANT_SECRET_FILE", "cannot read %s", path);
    else if (n > ACL_SECRET_MAX)
        st = rfq_err_set(err, RFQ_EINVAL, "RFQ_TENANT_SECRET_FILE", "%s is over %d bytes", path,
                         ACL_SECRET_MAX);
    /* Editors add a final newline: it is not part of the secret. */
    if (st == RFQ_OK && n > 0 && buf[n - 1] == '\n')
        n--;
    if (st == RFQ_OK && n > 0 && buf[n - 1] == '\r')
        n--;
    if (st == RFQ_OK && n < ACL_SECRET_MIN)
        st = rfq_err_set(err, RFQ_EINVAL, "RFQ_TENANT_SECRET_FILE",
                         "%s must hold at least %d bytes", path, ACL_SECRET_MIN);
    if (st != RFQ_OK) {
        OPENSSL_cleanse(buf, ACL_SECRET_MAX + 1);
        free(buf);
        return st;
    }
    *out = buf;
    *len = n;
    return RFQ_OK;
}

/* Run one command given as argv and check the reply is not an error. A reply error is copied
 * into err (never the arguments: they may hold a password). */
static rfq_status acl_run(redisContext *c, int argc, const char **argv, struct rfq_err *err)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r)
        return rfq_err_set(err, RFQ_EREDIS, "", "redis: %s", c->errstr[0] ? c->errstr : "no reply");
    rfq_status st = RFQ_OK;
    if (r->type == REDIS_REPLY_ERROR)
        st = rfq_err_set(err, RFQ_EREDIS, "", "redis %s %s: %.120s", argv[0], argv[1], r->str);
    freeReplyObject(r);
    return st;
}

/* ACL SAVE persists users when Redis runs with an aclfile; without one Redis refuses it and
 * the users live until restart (the admin tool re-creates them: create is idempotent). */
static rfq_status acl_save(redisContext *c, struct rfq_err *err)
{
    const char *argv[] = {"ACL", "SAVE"};
    redisReply *r = redisCommandArgv(c, 2, argv, NULL);
    if (!r)
        return rfq_err_set(err, RFQ_EREDIS, "", "redis: %s", c->errstr[0] ? c->errstr : "no reply");
    rfq_status st = RFQ_OK;
    if (r->type == REDIS_REPLY_ERROR && !strstr(r->str, "not configured to use an ACL file"))
        st = rfq_err_set(err, RFQ_EREDIS, "", "redis ACL SAVE: %.120s", r->str);
    freeReplyObject(r);
    return st;
}

rfq_status rfq_acl_tenant_create(redisContext *admin, const char *tenant, const char *password,
                                 struct rfq_err *err)
{
    char user[RFQ_ACL_USER_MAX], pass_rule[RFQ_ACL_PASSWORD_LEN + 2], keys[RFQ_KEY_MAX];
    if (rfq_acl_tenant_user(user, sizeof(user), tenant) != RFQ_OK)
        return rfq_err_set(err, RFQ_EINVAL, "tenant", "invalid tenant id");
    if (!password || strlen(password) != RFQ_ACL_PASSWORD_LEN)
        return rfq_err_set(err, RFQ_EINVAL, "password", "password must be %d hex characters",
                           RFQ_ACL_PASSWORD_LEN);
    snprintf(pass_rule, sizeof(pass_rule), ">%s", password);
    snprintf(keys, sizeof(keys), "~rfq:%s:*", tenant);
    /* reset first: the user ends with exactly these rules, whatever it had before. */
    const char *argv[] = {"ACL",         "SETUSER", user,           "reset",
                          "on",          pass_rule, keys,           "resetchannels",
                          "-@all",       "+@read",  "+@connection", "-@keyspace",
                          "-@dangerous", "-@admin", "-@scripting"};
    rfq_status st = acl_run(admin, (int)(sizeof(argv) / sizeof(argv[0])), argv, err);
    OPENSSL_cleanse(pass_rule, sizeof(pass_rule));
    if (st == RFQ_OK)
        st = acl_save(admin, err);
    return st;
}

rfq_status rfq_acl_tenant_delete(redisContext *admin, const char *tenant, struct rfq_err *err)
{
    char user[RFQ_ACL_USER_MAX];
    if (rfq_acl_tenant_user(user, sizeof(user), tenant) != RFQ_OK)
        return rfq_err_set(err, RFQ_EINVAL, "tenant", "invalid tenant id");
    const char *argv[] = {"ACL", "DELUSER", user};
    rfq_status st = acl_run(admin, 3, argv, err);
    if (st == RFQ_OK)
        st = acl_save(admin, err);
    return st;
}
