/* ctl_submit: `rfqctl submit` posts an RFQ and, with --wait, polls it to its ranked result. */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rfq_ids.h"

#define WAIT_GRACE_MS 10000 /* how long past the deadline an RFQ may still read "open" */
#define POLL_MS 100

static void submit_help(void)
{
    printf("Usage: rfqctl submit --region R --pickup LAT,LON --dropoff LAT,LON [options]\n"
           "\n"
           "Submit a request for quote (POST /v1/rfqs) and print the JSON answer.\n"
           "\n"
           "  --region R        region to scatter to, e.g. eu-west (required)\n"
           "  --pickup LAT,LON  pickup point, e.g. 48.8566,2.3522 (required)\n"
           "  --dropoff LAT,LON drop-off point (required)\n"
           "  --passengers N    number of passengers (default 1)\n"
           "  --wants a,b       wanted perks, e.g. free_drinks,quiet_ride\n"
           "  --max-quotes N    complete after N quotes (server default 5)\n"
           "  --timeout-ms N    deadline after N ms (server default 2000)\n"
           "  --currency C      ISO currency of the quotes (server default USD)\n"
           "  --wait            poll until the RFQ is no longer open, then print the ranked\n"
           "                    quotes as a table\n"
           "  --json            with --wait, print the quotes answer as JSON instead\n"
           "  --api URL, --token T (see rfqctl --help)\n");
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Poll GET /v1/rfqs/<id> until its status is not "open" or the wait is over; then show the
 * quotes. wait_ms is how long the RFQ may take (its timeout), measured on our clock so a
 * skewed server clock does not matter. */
static int wait_and_show(struct ctl_global *g, const char *rfq_id, long long wait_ms, bool json)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", rfq_id);
    int64_t give_up = rfq_mono_ns() / 1000000 + wait_ms + WAIT_GRACE_MS;
    for (;;) {
        struct ctl_response r;
        int rc = ctl_http_call(g, "GET", path, NULL, &r);
        if (rc)
            return rc;
        if (!ctl_response_ok(&r)) {
            rc = ctl_http_report(g, "GET", path, &r);
            ctl_response_free(&r);
            return rc;
        }
        json_t *j = ctl_response_json(&r, path);
        ctl_response_free(&r);
        if (!j)
            return CTL_EXIT_FAIL;
        const char *status = json_string_value(json_object_get(j, "status"));
        if (status && strcmp(status, "open") != 0) {
            json_t *count = json_object_get(j, "quote_count");
            json_t *declines = json_object_get(j, "declines");
            if (!json)
                printf("\nrfq %s %s: %" JSON_INTEGER_FORMAT " quotes, %" JSON_INTEGER_FORMAT
                       " declines\n",
                       rfq_id, status, json_integer_value(count), json_integer_value(declines));
            json_decref(j);
            return ctl_show_quotes(g, rfq_id, json);
        }
        json_decref(j);
        if (!status) {
            fprintf(stderr, "rfqctl submit: %s has no status\n", path);
            return CTL_EXIT_FAIL;
        }
        if (rfq_mono_ns() / 1000000 > give_up) {
            fprintf(stderr, "rfqctl submit: rfq %s is still open %d s after its deadline\n", rfq_id,
                    WAIT_GRACE_MS / 1000);
            return CTL_EXIT_FAIL;
        }
        sleep_ms(POLL_MS);
    }
}

/* Parse the options into a submit body (new reference) or return an exit code. */
static int build_body(int argc, char **argv, struct ctl_global *g, json_t *body, bool *wait,
                      bool *json)
{
    enum {
        O_REGION = CTL_OPT_FIRST_FREE,
        O_PICKUP,
        O_DROPOFF,
        O_PASSENGERS,
        O_WANTS,
        O_MAX_QUOTES,
        O_TIMEOUT,
        O_CURRENCY,
        O_WAIT,
    };
    static const struct option opts[] = {CTL_GLOBAL_OPTIONS,
                                         {"region", 1, NULL, O_REGION},
                                         {"pickup", 1, NULL, O_PICKUP},
                                         {"dropoff", 1, NULL, O_DROPOFF},
                                         {"passengers", 1, NULL, O_PASSENGERS},
                                         {"wants", 1, NULL, O_WANTS},
                                         {"max-quotes", 1, NULL, O_MAX_QUOTES},
                                         {"timeout-ms", 1, NULL, O_TIMEOUT},
                                         {"currency", 1, NULL, O_CURRENCY},
                                         {"wait", 0, NULL, O_WAIT},
                                         {"json", 0, NULL, CTL_OPT_JSON},
                                         {NULL, 0, NULL, 0}};
    const char *region = NULL;
    double plat = 0, plon = 0, dlat = 0, dlon = 0;
    bool have_pickup = false, have_dropoff = false;
    long long passengers = 1, v;
    json_t *wants = NULL;
    int opt, rc;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            submit_help();
            json_decref(wants);
            return CTL_EXIT_OK;
        case O_REGION:
            region = optarg;
            break;
        case O_PICKUP:
            if (!(have_pickup = ctl_parse_point(optarg, &plat, &plon)))
                goto bad_point;
            break;
        case O_DROPOFF:
            if (!(have_dropoff = ctl_parse_point(optarg, &dlat, &dlon)))
                goto bad_point;
            break;
        case O_PASSENGERS:
            if (!ctl_parse_int(optarg, 0, INT32_MAX, &passengers))
                goto bad_int;
            break;
        case O_WANTS:
            json_decref(wants);
            if (!(wants = ctl_parse_list(optarg)))
                return ctl_usage_error("submit", "--wants takes a comma-separated list, not '%s'",
                                       optarg);
            break;
        case O_MAX_QUOTES:
        case O_TIMEOUT:
            if (!ctl_parse_int(optarg, 0, INT32_MAX, &v))
                goto bad_int;
            json_object_set_new(body, opt == O_MAX_QUOTES ? "max_quotes" : "timeout_ms",
                                json_integer(v));
            break;
        case O_CURRENCY:
            json_object_set_new(body, "currency", json_string(optarg));
            break;
        case O_WAIT:
            *wait = true;
            break;
        case CTL_OPT_JSON:
            *json = true;
            break;
        default:
            if ((rc = ctl_global_option("submit", opt, optarg, argv, g)) >= 0) {
                json_decref(wants);
                return rc;
            }
        }
    }
    if (optind < argc)
        rc = ctl_usage_error("submit", "unexpected argument '%s'", argv[optind]);
    else if (!region || !have_pickup || !have_dropoff)
        rc = ctl_usage_error("submit", "--region, --pickup and --dropoff are required");
    else
        rc = -1;
    if (rc >= 0) {
        json_decref(wants);
        return rc;
    }
    json_object_set_new(body, "region", json_string(region));
    json_object_set_new(body, "pickup", json_pack("{s:f,s:f}", "lat", plat, "lon", plon));
    json_object_set_new(body, "dropoff", json_pack("{s:f,s:f}", "lat", dlat, "lon", dlon));
    json_object_set_new(body, "passengers", json_integer(passengers));
    if (wants)
        json_object_set_new(body, "wants", wants);
    return -1;

bad_point:
    json_decref(wants);
    return ctl_usage_error(
        "submit", "'%s' is not LAT,LON (decimal degrees, lat -90..90, lon -180..180)", optarg);
bad_int:
    json_decref(wants);
    return ctl_usage_error("submit", "'%s' is not a non-negative integer", optarg);
}

int ctl_cmd_submit(int argc, char **argv, struct ctl_global *g)
{
    bool wait = false, json = false;
    json_t *body = json_object();
    if (!body)
        return CTL_EXIT_FAIL;
    int rc = build_body(argc, argv, g, body, &wait, &json);
    if (rc >= 0) {
        json_decref(body);
        return rc;
    }
    /* keep the documented field order in the request body */
    static const char *const order[] = {"region",     "pickup",   "dropoff",
                                        "passengers", "wants",    "max_quotes",
                                        "timeout_ms", "currency", NULL};
    json_t *ordered = json_object();
    for (const char *const *k = order; *k; k++)
        if (json_object_get(body, *k))
            json_object_set(ordered, *k, json_object_get(body, *k));
    json_decref(body);
    char *text = json_dumps(ordered, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(ordered);
    if (!text)
        return CTL_EXIT_FAIL;

    struct ctl_response r;
    rc = ctl_http_call(g, "POST", "/v1/rfqs", text, &r);
    free(text);
    if (rc)
        return rc;
    if (!ctl_response_ok(&r)) {
        rc = ctl_http_report(g, "POST", "/v1/rfqs", &r);
        ctl_response_free(&r);
        return rc;
    }
    json_t *ans = ctl_response_json(&r, "POST /v1/rfqs");
    ctl_response_free(&r);
    if (!ans)
        return CTL_EXIT_FAIL;
    if (!wait || !json)
        ctl_print_json(ans);
    rc = CTL_EXIT_OK;
    if (wait) {
        const char *id = json_string_value(json_object_get(ans, "rfq_id"));
        json_t *created = json_object_get(ans, "created_ms");
        json_t *deadline = json_object_get(ans, "deadline_ms");
        long long wait_ms = 60000;
        if (json_is_integer(created) && json_is_integer(deadline))
            wait_ms = json_integer_value(deadline) - json_integer_value(created);
        if (!id || !rfq_ident_valid(id)) {
            fprintf(stderr, "rfqctl submit: the answer has no valid rfq_id to wait for\n");
            rc = CTL_EXIT_FAIL;
        } else {
            fflush(stdout);
            rc = wait_and_show(g, id, wait_ms < 0 ? 0 : wait_ms, json);
        }
    }
    json_decref(ans);
    return rc;
}
