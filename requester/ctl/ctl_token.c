/* ctl_token: `rfqctl token` mints a development bearer token with a local private key. */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "rfq_ids.h"
#include "rfq_jwt.h"

#define KEY_FILE_MAX 65536
#define TTL_MAX (366LL * 86400) /* a year: dev tokens should not live forever */

static void token_help(void)
{
    printf("Usage: rfqctl token --tenant T --tier basic|premium|enterprise [options]\n"
           "\n"
           "Mint a signed bearer token for tenant T and print it on stdout.\n"
           "\n"
           "  --tenant T     tenant id, [a-z0-9][a-z0-9-]{0,62} (required)\n"
           "  --tier T       basic, premium or enterprise (required)\n"
           "  --ttl S        lifetime in seconds (default 3600, at most %lld)\n"
           "  --key PEM      private key file (default $RFQ_JWT_SIGNING_KEY); for HS256, a\n"
           "                 file holding the shared secret\n"
           "  --alg A        ES256 (default), RS256 or HS256\n"
           "  --iss S        issuer claim (default rfq-dev)\n"
           "  --aud S        audience claim (default rfq-engine)\n"
           "  --sub S        subject claim (default none)\n"
           "  --kid K        key id in the header, naming the verification key in the\n"
           "                 requester's key set (RFQ_JWT_KEYS); 1..64 of [A-Za-z0-9._-]\n"
           "                 (default $RFQ_JWT_SIGNING_KID). Without it only a one-key set\n"
           "                 accepts the token\n"
           "\n"
           "Example: export RFQ_TOKEN=$(rfqctl token --tenant acme --tier premium)\n",
           TTL_MAX);
}

/* Read the key file into a new buffer; for HS256 the secret's trailing newline is not part
 * of it (the verifier strips it the same way). */
static unsigned char *read_key(const char *path, const char *alg, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "rfqctl token: cannot open key file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    unsigned char *buf = malloc(KEY_FILE_MAX + 1);
    size_t n = buf ? fread(buf, 1, KEY_FILE_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n > KEY_FILE_MAX) {
        fprintf(stderr, "rfqctl token: key file %s is empty, unreadable or too large\n", path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (strcmp(alg, "HS256") == 0)
        while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
    *len = n;
    return buf;
}

int ctl_cmd_token(int argc, char **argv, struct ctl_global *g)
{
    enum { O_TENANT = CTL_OPT_FIRST_FREE, O_TIER, O_TTL, O_KEY, O_ALG, O_ISS, O_AUD, O_SUB, O_KID };
    static const struct option opts[] = {CTL_GLOBAL_OPTIONS,        {"tenant", 1, NULL, O_TENANT},
                                         {"tier", 1, NULL, O_TIER}, {"ttl", 1, NULL, O_TTL},
                                         {"key", 1, NULL, O_KEY},   {"alg", 1, NULL, O_ALG},
                                         {"iss", 1, NULL, O_ISS},   {"aud", 1, NULL, O_AUD},
                                         {"sub", 1, NULL, O_SUB},   {"kid", 1, NULL, O_KID},
                                         {NULL, 0, NULL, 0}};
    const char *tenant = NULL, *tier = NULL, *key = getenv("RFQ_JWT_SIGNING_KEY");
    const char *alg = "ES256", *iss = "rfq-dev", *aud = "rfq-engine", *sub = NULL;
    const char *kid = getenv("RFQ_JWT_SIGNING_KID");
    if (kid && !*kid)
        kid = NULL;
    long long ttl = 3600;
    int opt, rc;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            token_help();
            return CTL_EXIT_OK;
        case O_TENANT:
            tenant = optarg;
            break;
        case O_TIER:
            tier = optarg;
            break;
        case O_TTL:
            if (!ctl_parse_int(optarg, 1, TTL_MAX, &ttl))
                return ctl_usage_error("token", "--ttl must be 1..%lld seconds, not '%s'", TTL_MAX,
                                       optarg);
            break;
        case O_KEY:
            key = optarg;
            break;
        case O_ALG:
            alg = optarg;
            break;
        case O_ISS:
            iss = optarg;
            break;
        case O_AUD:
            aud = optarg;
            break;
        case O_SUB:
            sub = optarg;
            break;
        case O_KID:
            kid = optarg;
            break;
        default:
            if ((rc = ctl_global_option("token", opt, optarg, argv, g)) >= 0)
                return rc;
        }
    }
    if (optind < argc)
        return ctl_usage_error("token", "unexpected argument '%s'", argv[optind]);
    if (!tenant)
        return ctl_usage_error("token", "--tenant is required");
    if (!rfq_tenant_valid(tenant))
        return ctl_usage_error(
            "token", "invalid tenant id '%s': it must match [a-z0-9][a-z0-9-]{0,62}", tenant);
    if (!tier)
        return ctl_usage_error("token", "--tier is required (basic, premium or enterprise)");
    if (strcmp(tier, "basic") != 0 && strcmp(tier, "premium") != 0 &&
        strcmp(tier, "enterprise") != 0)
        return ctl_usage_error("token", "--tier must be basic, premium or enterprise, not '%s'",
                               tier);
    if (strcmp(alg, "ES256") != 0 && strcmp(alg, "RS256") != 0 && strcmp(alg, "HS256") != 0)
        return ctl_usage_error("token", "--alg must be ES256, RS256 or HS256, not '%s'", alg);
    if (kid && !rfq_kid_valid(kid))
        return ctl_usage_error("token", "--kid must be 1..%d characters of [A-Za-z0-9._-]",
                               RFQ_KID_MAX);
    if (!*iss || !*aud)
        return ctl_usage_error("token", "--iss and --aud must not be empty");
    if (!key || !*key)
        return ctl_usage_error("token",
                               "no signing key: pass --key PEM or set RFQ_JWT_SIGNING_KEY");

    size_t key_len = 0;
    unsigned char *key_buf = read_key(key, alg, &key_len);
    if (!key_buf)
        return CTL_EXIT_FAIL;
    struct rfq_jwt_claims claims = {.issuer = iss,
                                    .audience = aud,
                                    .tenant = tenant,
                                    .tier = tier,
                                    .subject = sub,
                                    .iat = (int64_t)time(NULL),
                                    .ttl_s = ttl,
                                    .kid = kid};
    char *tok = NULL;
    rfq_status st = rfq_jwt_mint(&tok, alg, key_buf, key_len, &claims);
    OPENSSL_cleanse(key_buf, key_len);
    free(key_buf);
    if (st != RFQ_OK) {
        if (strcmp(alg, "HS256") == 0)
            fprintf(stderr, "rfqctl token: cannot sign with %s as HS256\n", key);
        else
            fprintf(stderr, "rfqctl token: cannot sign with %s (is it a PEM private key for %s?)\n",
                    key, alg);
        return CTL_EXIT_FAIL;
    }
    printf("%s\n", tok);
    free(tok);
    return CTL_EXIT_OK;
}
