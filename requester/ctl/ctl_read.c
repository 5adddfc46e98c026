/* ctl_read: the read-only subcommands `rfqctl status`, `quotes` and `list`. */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_ids.h"

/* GET path and hand back the parsed 2xx answer (new reference) in *out; prints the error
 * and returns an exit code otherwise. With raw, prints the body as received instead. */
static int get_json(struct ctl_global *g, const char *path, bool raw, json_t **out)
{
    *out = NULL;
    struct ctl_response r;
    int rc = ctl_http_call(g, "GET", path, NULL, &r);
    if (rc)
        return rc;
    if (!ctl_response_ok(&r)) {
        rc = ctl_http_report(g, "GET", path, &r);
    } else if (raw) {
        fwrite(r.body, 1, r.len, stdout);
        if (!r.len || r.body[r.len - 1] != '\n')
            fputc('\n', stdout);
    } else if (!(*out = ctl_response_json(&r, path))) {
        rc = CTL_EXIT_FAIL;
    }
    ctl_response_free(&r);
    return rc;
}

/* Options of the commands that take one RFQ id: --json, --help and the globals. On success
 * *id is the validated id. */
static int parse_id_command(const char *cmd, int argc, char **argv, struct ctl_global *g,
                            void (*help)(void), const char **id, bool *json)
{
    static const struct option opts[] = {
        CTL_GLOBAL_OPTIONS, {"json", 0, NULL, CTL_OPT_JSON}, {NULL, 0, NULL, 0}};
    int opt, rc;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt == 'h') {
            help();
            return CTL_EXIT_OK;
        }
        if (opt == CTL_OPT_JSON)
            *json = true;
        else if ((rc = ctl_global_option(cmd, opt, optarg, argv, g)) >= 0)
            return rc;
    }
    if (optind >= argc)
        return ctl_usage_error(cmd, "missing RFQ id");
    if (optind + 1 < argc)
        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    *id = argv[optind];
    if (!rfq_ident_valid(*id))
        return ctl_usage_error(cmd, "'%s' is not an RFQ id ([A-Za-z0-9_-]{1,64})", *id);
    return -1;
}

static void status_help(void)
{
    printf("Usage: rfqctl status ID [--api URL] [--token T]\n"
           "\n"
           "Print an RFQ's state (GET /v1/rfqs/ID) as JSON: status, deadline, quote count,\n"
           "best quote and the original request.\n");
}

int ctl_cmd_status(int argc, char **argv, struct ctl_global *g)
{
    const char *id = NULL;
    bool json = false;
    int rc = parse_id_command("status", argc, argv, g, status_help, &id, &json);
    if (rc >= 0)
        return rc;
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    json_t *j = NULL;
    rc = get_json(g, path, false, &j);
    if (j)
        ctl_print_json(j);
    json_decref(j);
    return rc;
}

int ctl_show_quotes(struct ctl_global *g, const char *rfq_id, bool raw_json)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/quotes", rfq_id);
    json_t *j = NULL;
    int rc = get_json(g, path, raw_json, &j);
    if (!j)
        return rc;
    json_t *quotes = json_object_get(j, "quotes");
    if (!json_is_array(quotes)) {
        fprintf(stderr, "rfqctl: %s: the answer has no quotes array\n", path);
        json_decref(j);
        return CTL_EXIT_FAIL;
    }
    ctl_print_quotes_table(quotes);
    json_decref(j);
    return rc;
}

static void quotes_help(void)
{
    printf("Usage: rfqctl quotes ID [--json] [--api URL] [--token T]\n"
           "\n"
           "Print an RFQ's ranked quotes (GET /v1/rfqs/ID/quotes), cheapest first, as a table\n"
           "of rank, responder, price, currency, eta and perks.\n"
           "\n"
           "  --json   print the API answer as received\n");
}

int ctl_cmd_quotes(int argc, char **argv, struct ctl_global *g)
{
    const char *id = NULL;
    bool json = false;
    int rc = parse_id_command("quotes", argc, argv, g, quotes_help, &id, &json);
    if (rc >= 0)
        return rc;
    return ctl_show_quotes(g, id, json);
}

static void list_help(void)
{
    printf("Usage: rfqctl list [--status open|completed|expired] [--limit N] [--json]\n"
           "\n"
           "List the tenant's RFQs, newest first (GET /v1/rfqs).\n"
           "\n"
           "  --status S  only RFQs in status S\n"
           "  --limit N   at most N (1..100, server default 20)\n"
           "  --json      print the API answer as received\n"
           "  --api URL, --token T (see rfqctl --help)\n");
}

int ctl_cmd_list(int argc, char **argv, struct ctl_global *g)
{
    enum { O_STATUS = CTL_OPT_FIRST_FREE, O_LIMIT };
    static const struct option opts[] = {CTL_GLOBAL_OPTIONS,
                                         {"status", 1, NULL, O_STATUS},
                                         {"limit", 1, NULL, O_LIMIT},
                                         {"json", 0, NULL, CTL_OPT_JSON},
                                         {NULL, 0, NULL, 0}};
    const char *status = NULL;
    long long limit = 0;
    bool json = false;
    int opt, rc;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            list_help();
            return CTL_EXIT_OK;
        case O_STATUS:
            status = optarg;
            if (strcmp(status, "open") != 0 && strcmp(status, "completed") != 0 &&
                strcmp(status, "expired") != 0)
                return ctl_usage_error(
                    "list", "--status must be open, completed or expired, not '%s'", status);
            break;
        case O_LIMIT:
            if (!ctl_parse_int(optarg, 1, 100, &limit))
                return ctl_usage_error("list", "--limit must be 1..100, not '%s'", optarg);
            break;
        case CTL_OPT_JSON:
            json = true;
            break;
        default:
            if ((rc = ctl_global_option("list", opt, optarg, argv, g)) >= 0)
                return rc;
        }
    }
    if (optind < argc)
        return ctl_usage_error("list", "unexpected argument '%s'", argv[optind]);
    char path[128];
    int n = snprintf(path, sizeof(path), "/v1/rfqs");
    if (status)
        n += snprintf(path + n, sizeof(path) - (size_t)n, "?status=%s", status);
    if (limit)
        snprintf(path + n, sizeof(path) - (size_t)n, "%climit=%lld", status ? '&' : '?', limit);
    json_t *j = NULL;
    rc = get_json(g, path, json, &j);
    if (!j)
        return rc;
    json_t *rfqs = json_object_get(j, "rfqs");
    if (!json_is_array(rfqs)) {
        fprintf(stderr, "rfqctl list: the answer has no rfqs array\n");
        json_decref(j);
        return CTL_EXIT_FAIL;
    }
    ctl_print_list_table(rfqs);
    json_decref(j);
    return rc;
}
