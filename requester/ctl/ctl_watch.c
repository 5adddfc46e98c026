/* ctl_watch: `rfqctl watch` follows an RFQ's event stream (SSE) until it completes or expires. */
#include "ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfq_ids.h"

struct watch_ctx {
    struct ctl_sse sse;
    bool json;    /* print each event's data JSON as one line */
    bool closed;  /* saw completed or expired */
    bool refused; /* saw an error event (e.g. the tenant was suspended): the stream ends */
};

/* "<responder> <price> <currency> eta <eta> perks <perks>" for a quote JSON. */
static void describe_quote(char *out, size_t cap, json_t *q)
{
    const char *who = json_string_value(json_object_get(q, "responder_id"));
    const char *decline = json_string_value(json_object_get(q, "decline"));
    if (!who)
        who = "?";
    if (decline) {
        snprintf(out, cap, "%s declined: %s", who, decline);
        return;
    }
    json_t *price = json_object_get(q, "price");
    const char *cur = json_string_value(json_object_get(price, "currency"));
    char money[48], eta[32], perks[256] = "";
    ctl_format_money(money, sizeof(money),
                     json_integer_value(json_object_get(price, "amount_minor")), cur);
    ctl_format_eta(eta, sizeof(eta), json_integer_value(json_object_get(q, "eta_s")));
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(json_object_get(q, "perks"), i, p)
    {
        const char *s = json_string_value(p);
        int w = s ? snprintf(perks + n, sizeof(perks) - n, "%s%s", n ? "," : "", s) : 0;
        if (w < 0 || (size_t)w >= sizeof(perks) - n)
            break;
        n += (size_t)w;
    }
    snprintf(out, cap, "%s %s %s eta %s%s%s", who, money, cur ? cur : "?", eta, n ? " perks " : "",
             perks);
}

/* Replace terminal control bytes: event data comes from the network. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static bool on_event(void *arg, const char *event, const char *data)
{
    struct watch_ctx *w = arg;
    bool closing = strcmp(event, "completed") == 0 || strcmp(event, "expired") == 0;
    json_t *j = json_loads(data, 0, NULL);
    if (strcmp(event, "error") == 0) {
        /* The server cut the stream (the tenant was suspended or removed): an API error,
         * reported as such on stderr. */
        char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup(data);
        if (line) {
            sanitize(line);
            fprintf(stderr, "%s\n", line);
        }
        free(line);
        json_decref(j);
        w->refused = true;
        return false;
    }
    if (w->json) {
        /* one compact JSON document per line, whatever the server's spacing */
        char *line = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup(data);
        if (line) {
            sanitize(line); /* a no-op on JSON text, whose control bytes are escaped */
            printf("%s\n", line);
        }
        free(line);
    } else {
        char text[1024];
        if (j && strcmp(event, "quote") == 0) {
            char q[512];
            describe_quote(q, sizeof(q), json_object_get(j, "quote"));
            snprintf(text, sizeof(text), "%-9s #%-3" JSON_INTEGER_FORMAT " %s", event,
                     json_integer_value(json_object_get(j, "count")), q);
        } else if (j && closing) {
            json_t *best = json_object_get(j, "best");
            char b[512] = "none";
            if (json_is_object(best))
                describe_quote(b, sizeof(b), best);
            snprintf(text, sizeof(text), "%-9s %" JSON_INTEGER_FORMAT " quotes, best: %s", event,
                     json_integer_value(json_object_get(j, "count")), b);
        } else {
            snprintf(text, sizeof(text), "%-9s %s", event, data);
        }
        sanitize(text);
        printf("%s\n", text);
    }
    json_decref(j);
    fflush(stdout);
    if (closing)
        w->closed = true;
    return !closing;
}

static bool on_line(void *arg, const char *line, size_t len)
{
    struct watch_ctx *w = arg;
    return ctl_sse_line(&w->sse, line, len, on_event, w);
}

static void watch_help(void)
{
    printf("Usage: rfqctl watch ID [--json] [--api URL] [--token T]\n"
           "\n"
           "Follow an RFQ's live events (GET /v1/rfqs/ID/events, server-sent events): first\n"
           "the quotes already stored, then each new one, until the RFQ completes or expires.\n"
           "One line per event. When the server ends the stream with an error (e.g. the tenant\n"
           "was suspended) the error is printed on stderr as JSON and the exit status is 1.\n"
           "\n"
           "  --json   print each event's data as one line of JSON\n");
}

int ctl_cmd_watch(int argc, char **argv, struct ctl_global *g)
{
    static const struct option opts[] = {
        CTL_GLOBAL_OPTIONS, {"json", 0, NULL, CTL_OPT_JSON}, {NULL, 0, NULL, 0}};
    struct watch_ctx w;
    memset(&w, 0, sizeof(w));
    int opt, rc;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt == 'h') {
            watch_help();
            return CTL_EXIT_OK;
        }
        if (opt == CTL_OPT_JSON)
            w.json = true;
        else if ((rc = ctl_global_option("watch", opt, optarg, argv, g)) >= 0)
            return rc;
    }
    if (optind >= argc)
        return ctl_usage_error("watch", "missing RFQ id");
    if (optind + 1 < argc)
        return ctl_usage_error("watch", "unexpected argument '%s'", argv[optind + 1]);
    const char *id = argv[optind];
    if (!rfq_ident_valid(id))
        return ctl_usage_error("watch", "'%s' is not an RFQ id ([A-Za-z0-9_-]{1,64})", id);

    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/events", id);
    ctl_sse_init(&w.sse);
    struct ctl_response r;
    rc = ctl_http_stream(g, path, on_line, &w, &r);
    if (rc == 0 && !ctl_response_ok(&r)) {
        rc = ctl_http_report(g, "GET", path, &r);
    } else if (rc == 0 && w.refused) {
        rc = CTL_EXIT_FAIL;
    } else if (rc == 0 && !w.closed) {
        /* an event not ended by a blank line is discarded, as EventSource does */
        fprintf(stderr, "rfqctl watch: the stream ended before the RFQ closed\n");
        rc = CTL_EXIT_FAIL;
    }
    ctl_response_free(&r);
    ctl_sse_free(&w.sse);
    return rc;
}
