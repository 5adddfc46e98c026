/* ctl_usage: `rfqctl usage`, the tenant's metered usage of a month (GET /v1/usage). */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "rfq_ids.h"

/* The counters in the order the table shows them, with what each one counts. */
static const struct {
    const char *field;
    const char *meaning;
} counters[] = {
    {"rfqs", "RFQs accepted (202)"},
    {"quotes", "priced quotes stored"},
    {"declines", "declines stored"},
    {"fanout", "answers processed (stored, declined, duplicate, late, ...)"},
    {"completed", "RFQs completed (max_quotes reached)"},
    {"expired", "RFQs expired (deadline passed)"},
    {"throttled", "submits refused by the quota (429)"},
};

static void usage_help(void)
{
    printf("Usage: rfqctl usage [--month YYYY-MM] [--json] [--api URL] [--token T]\n"
           "\n"
           "Print the tenant's metered usage of one UTC month (GET /v1/usage): RFQs accepted,\n"
           "quotes and declines stored, answers processed (fanout), RFQs completed and\n"
           "expired, and submits refused by the quota (throttled).\n"
           "\n"
           "  --month M  the month YYYY-MM (default: the current UTC month)\n"
           "  --json     print the API answer as received\n"
           "  --api URL, --token T (see rfqctl --help)\n");
}

/* The answer as a two-column table: tenant and month, then each counter. */
static int print_usage(const struct ctl_response *r)
{
    json_t *j = ctl_response_json(r, "/v1/usage");
    if (!j)
        return CTL_EXIT_FAIL;
    const char *tenant = json_string_value(json_object_get(j, "tenant"));
    const char *month = json_string_value(json_object_get(j, "month"));
    printf("%-10s %s\n%-10s %s\n", "tenant", tenant ? tenant : "-", "month", month ? month : "-");
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        json_t *v = json_object_get(j, counters[i].field);
        if (json_is_integer(v))
            printf("%-10s %10lld  %s\n", counters[i].field, (long long)json_integer_value(v),
                   counters[i].meaning);
        else
            printf("%-10s %10s  %s\n", counters[i].field, "-", counters[i].meaning);
    }
    json_decref(j);
    return CTL_EXIT_OK;
}

int ctl_cmd_usage(int argc, char **argv, struct ctl_global *g)
{
    enum { O_MONTH = CTL_OPT_FIRST_FREE };
    static const struct option opts[] = {CTL_GLOBAL_OPTIONS,
                                         {"month", 1, NULL, O_MONTH},
                                         {"json", 0, NULL, CTL_OPT_JSON},
                                         {NULL, 0, NULL, 0}};
    const char *month = NULL;
    bool json = false;
    int opt, rc;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage_help();
            return CTL_EXIT_OK;
        case O_MONTH:
            if (!rfq_month_valid(optarg))
                return ctl_usage_error("usage", "--month must be YYYY-MM, not '%s'", optarg);
            month = optarg;
            break;
        case CTL_OPT_JSON:
            json = true;
            break;
        default:
            if ((rc = ctl_global_option("usage", opt, optarg, argv, g)) >= 0)
                return rc;
        }
    }
    if (optind < argc)
        return ctl_usage_error("usage", "unexpected argument '%s'", argv[optind]);
    char path[64];
    snprintf(path, sizeof(path), "/v1/usage%s%s", month ? "?month=" : "", month ? month : "");
    struct ctl_response r;
    if ((rc = ctl_http_call(g, "GET", path, NULL, &r)) != 0)
        return rc;
    if (!ctl_response_ok(&r)) {
        rc = ctl_http_report(g, "GET", path, &r);
    } else if (json) {
        fwrite(r.body, 1, r.len, stdout);
        if (!r.len || r.body[r.len - 1] != '\n')
            fputc('\n', stdout);
        rc = CTL_EXIT_OK;
    } else {
        rc = print_usage(&r);
    }
    ctl_response_free(&r);
    return rc;
}
