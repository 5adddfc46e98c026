/* ctl: shared pieces of the rfqctl command-line client (options, HTTP, tables, commands). */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit codes, documented in `rfqctl --help`. */
enum ctl_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAIL = 1,        /* the API answered with an error, or the operation failed */
    CTL_EXIT_USAGE = 2,       /* bad command line */
    CTL_EXIT_UNREACHABLE = 3, /* the API could not be reached */
};

#define CTL_DEFAULT_API "http://127.0.0.1:8080"
#define CTL_VERSION "0.1.0"

/* Options every subcommand accepts. Strings are borrowed (argv or environment). */
struct ctl_global {
    const char *api;   /* base URL without a trailing slash */
    const char *token; /* bearer token, NULL or "" for none */
};

/* getopt_long values of the global options inside a subcommand's option table. */
enum { CTL_OPT_API = 1000, CTL_OPT_TOKEN, CTL_OPT_HELP, CTL_OPT_JSON, CTL_OPT_FIRST_FREE };
#define CTL_GLOBAL_OPTIONS                                                                         \
    {"api", 1, NULL, CTL_OPT_API}, {"token", 1, NULL, CTL_OPT_TOKEN},                              \
    {                                                                                              \
        "help", 0, NULL, 'h'                                                                       \
    }

/* ---- ctl_args.c: parsing helpers ---- */

/* Print "rfqctl <cmd>: <message>" and a --help hint on stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Handle a global option or a getopt error inside a subcommand's loop. Returns -1 when the
 * option was consumed, else an exit code (usage error). */
int ctl_global_option(const char *cmd, int opt, const char *arg, char *const argv[],
                      struct ctl_global *g);
/* Decimal integer in [lo, hi], the whole string. */
bool ctl_parse_int(const char *s, long long lo, long long hi, long long *out);
/* "LAT,LON" with finite decimals in range. */
bool ctl_parse_point(const char *s, double *lat, double *lon);
/* "a,b,c" into a new JSON array of strings (empty items refused); NULL on error. */
json_t *ctl_parse_list(const char *s);
/* Validate and store an API base URL (http:// or https://), trailing slashes dropped into
 * buf. Returns false when it is not one. */
bool ctl_set_api(struct ctl_global *g, const char *url, char *buf, size_t cap);

/* ---- ctl_http.c: the HTTP client ---- */

struct ctl_response {
    long status;          /* HTTP status, 0 when the request did not complete */
    char *body;           /* NUL-terminated body (new; ctl_response_free) */
    size_t len;           /* body bytes */
    char error[256];      /* transport error text when status is 0 */
    char retry_after[32]; /* Retry-After header value, "" when absent */
};

/* Process-wide init/cleanup of the HTTP library (call once from main). */
int ctl_http_init(void);
void ctl_http_cleanup(void);

/* Perform method path (path begins with '/', may carry a query) with an optional JSON body.
 * Returns 0 when an HTTP answer arrived (any status) and fills *out; CTL_EXIT_UNREACHABLE
 * (message printed) when not. */
int ctl_http_call(const struct ctl_global *g, const char *method, const char *path,
                  const char *body, struct ctl_response *out);
void ctl_response_free(struct ctl_response *r);
/* True for 2xx. */
bool ctl_response_ok(const struct ctl_response *r);
/* Print an API error answer on stderr (summary line, then the JSON error body) and return
 * CTL_EXIT_FAIL. */
int ctl_http_report(const struct ctl_global *g, const char *method, const char *path,
                    const struct ctl_response *r);
/* Parse a response body as JSON (new reference) or print why not and return NULL. */
json_t *ctl_response_json(const struct ctl_response *r, const char *what);

/* Stream a GET as server-sent events: on_line gets each complete line (without its line
 * ending) and returns false to stop. Non-2xx answers are collected in *err_out (status and
 * body) and the callback never runs. Returns 0 when the answer arrived (check err_out->status)
 * or CTL_EXIT_UNREACHABLE. */
typedef bool (*ctl_line_fn)(void *arg, const char *line, size_t len);
int ctl_http_stream(const struct ctl_global *g, const char *path, ctl_line_fn on_line, void *arg,
                    struct ctl_response *err_out);

/* ---- ctl_sse.c: server-sent events framing ---- */

/* Incremental SSE parser: feed it lines, get events (name + data) when a blank line ends one. */
struct ctl_sse {
    char event[64]; /* current event name, "" = "message" */
    char *data;     /* accumulated data lines joined by '\n' (new) */
    size_t len, cap;
    bool has_data; /* a data field was seen (it may be empty) */
};
typedef bool (*ctl_event_fn)(void *arg, const char *event, const char *data);
void ctl_sse_init(struct ctl_sse *s);
void ctl_sse_free(struct ctl_sse *s);
/* Feed one line; calls on_event on a blank line that ends an event with data. Returns the
 * callback's result (false = stop), true otherwise. */
bool ctl_sse_line(struct ctl_sse *s, const char *line, size_t len, ctl_event_fn on_event,
                  void *arg);

/* ---- ctl_table.c: human output ---- */

/* Minor units as a decimal amount for the currency's exponent (JPY 0, KWD 3, else 2). */
void ctl_format_money(char *out, size_t cap, long long minor, const char *currency);
/* Seconds as "45s" or "4m05s" or "1h02m03s". */
void ctl_format_eta(char *out, size_t cap, long long seconds);
/* Unix ms as "YYYY-MM-DD HH:MM:SS" (UTC). */
void ctl_format_time(char *out, size_t cap, long long ms);
/* Print the quotes array of a /quotes answer as a table on stdout. */
void ctl_print_quotes_table(json_t *quotes);
/* Print the rfqs array of a listing as a table on stdout. */
void ctl_print_list_table(json_t *rfqs);
/* Print dead letters (the array `rfqctl dlq list --json` prints) as a table on stdout. */
void ctl_print_dlq_table(json_t *entries);
/* Print a JSON value indented on stdout. */
void ctl_print_json(json_t *j);

/* ---- commands (argv[0] is the command name) ---- */
int ctl_cmd_token(int argc, char **argv, struct ctl_global *g);
int ctl_cmd_submit(int argc, char **argv, struct ctl_global *g);
int ctl_cmd_status(int argc, char **argv, struct ctl_global *g);
int ctl_cmd_quotes(int argc, char **argv, struct ctl_global *g);
int ctl_cmd_list(int argc, char **argv, struct ctl_global *g);
int ctl_cmd_watch(int argc, char **argv, struct ctl_global *g);
int ctl_cmd_usage(int argc, char **argv, struct ctl_global *g);
/* ctl_tenant.c: administration over NATS and Redis (not the HTTP API). */
int ctl_cmd_tenant(int argc, char **argv, struct ctl_global *g);
/* ctl_dlq.c: the dead-letter stream over NATS (not the HTTP API). */
int ctl_cmd_dlq(int argc, char **argv, struct ctl_global *g);

/* Fetch /v1/rfqs/<id>/quotes and print the table (or raw JSON). Shared by quotes and
 * submit --wait. */
int ctl_show_quotes(struct ctl_global *g, const char *rfq_id, bool raw_json);

#endif
