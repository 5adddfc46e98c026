/* rfqctl: command-line client of the rfq-engine HTTP API and development token minter. */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ctl_command {
    const char *name;
    int (*run)(int argc, char **argv, struct ctl_global *g);
    const char *summary;
};

static const struct ctl_command commands[] = {
    {"token", ctl_cmd_token, "mint a development bearer token"},
    {"submit", ctl_cmd_submit, "submit an RFQ (and --wait for its ranked quotes)"},
    {"status", ctl_cmd_status, "show an RFQ's state as JSON"},
    {"quotes", ctl_cmd_quotes, "show an RFQ's ranked quotes"},
    {"watch", ctl_cmd_watch, "follow an RFQ's live events until it closes"},
    {"list", ctl_cmd_list, "list recent RFQs"},
    {"usage", ctl_cmd_usage, "show the tenant's metered usage of a month"},
    {"tenant", ctl_cmd_tenant, "register and manage tenants (administrator; NATS and Redis)"},
    {"dlq", ctl_cmd_dlq, "list, show and replay dead letters (administrator; NATS)"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* The overview; on stdout when asked for, on stderr when the command line was wrong. */
static void main_help(FILE *out)
{
    fprintf(out, "Usage: rfqctl [--api URL] [--token T] COMMAND [options]\n"
                 "\n"
                 "Commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Global options (also accepted after the command):\n"
            "  --api URL    API base URL (default $RFQ_API_URL or " CTL_DEFAULT_API ")\n"
            "  --token T    bearer token (default $RFQ_TOKEN)\n"
            "  --help       this text; 'rfqctl COMMAND --help' describes a command\n"
            "  --version    print the version\n"
            "\n"
            "Environment:\n"
            "  RFQ_API_URL, RFQ_TOKEN   API base URL and bearer token (submit, status, quotes,\n"
            "                           watch, list, usage)\n"
            "  RFQ_JWT_SIGNING_KEY      token: private key (PEM) or HS256 secret file\n"
            "  RFQ_NATS_URL             tenant, dlq: NATS as the admin user,\n"
            "                           nats://admin:PASSWORD@HOST:PORT\n"
            "  RFQ_REDIS_ADMIN_URL      tenant: Redis administrator,\n"
            "                           redis://default:PASSWORD@HOST:PORT\n"
            "  RFQ_TENANT_SECRET_FILE   tenant: the requester's secret; each tenant's Redis\n"
            "                           password derives from it\n"
            "Passwords are never printed.\n"
            "\n"
            "Exit status: 0 success, 1 the API answered with an error (printed on stderr as\n"
            "JSON) or the operation failed, 2 bad command line, 3 the API could not be reached.\n");
}

int main(int argc, char **argv)
{
    static char api_buf[1024];
    struct ctl_global g = {.api = CTL_DEFAULT_API, .token = getenv("RFQ_TOKEN")};
    const char *env_api = getenv("RFQ_API_URL");
    if (env_api && *env_api && !ctl_set_api(&g, env_api, api_buf, sizeof(api_buf)))
        return ctl_usage_error(NULL, "RFQ_API_URL must be an http:// or https:// URL, not '%s'",
                               env_api);

    static const struct option opts[] = {
        CTL_GLOBAL_OPTIONS, {"version", 0, NULL, 'V'}, {NULL, 0, NULL, 0}};
    int opt, rc;
    opterr = 0;
    /* '+': stop at the command name; the command parses the rest */
    while ((opt = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            main_help(stdout);
            return CTL_EXIT_OK;
        case 'V':
            printf("rfqctl " CTL_VERSION "\n");
            return CTL_EXIT_OK;
        default:
            if ((rc = ctl_global_option(NULL, opt, optarg, argv, &g)) >= 0)
                return rc;
        }
    }
    if (optind >= argc) {
        main_help(stderr);
        return CTL_EXIT_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        if (optind + 1 >= argc) {
            main_help(stdout);
            return CTL_EXIT_OK;
        }
        name = argv[optind + 1];
        for (size_t i = 0; i < N_COMMANDS; i++) {
            if (strcmp(name, commands[i].name) == 0) {
                char *help_argv[] = {argv[optind + 1], (char *)"--help", NULL};
                return commands[i].run(2, help_argv, &g);
            }
        }
        return ctl_usage_error(NULL, "unknown command '%s'", name);
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(name, commands[i].name) == 0) {
            if (ctl_http_init() != 0) {
                fprintf(stderr, "rfqctl: cannot initialise the HTTP library\n");
                return CTL_EXIT_FAIL;
            }
            rc = commands[i].run(argc - optind, argv + optind, &g);
            ctl_http_cleanup();
            return rc;
        }
    }
    return ctl_usage_error(NULL, "unknown command '%s'", name);
}
