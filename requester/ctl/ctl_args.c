/* ctl_args: command-line parsing helpers shared by the rfqctl subcommands. */
#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <getopt.h>

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "rfqctl%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'rfqctl%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    return CTL_EXIT_USAGE;
}

/* Called for every option a subcommand's own switch did not handle: the global options, and
 * getopt's '?' (unknown option) and ':' (missing argument) reports, which need optopt and
 * argv to name the culprit because opterr is off. */
int ctl_global_option(const char *cmd, int opt, const char *arg, char *const argv[],
                      struct ctl_global *g)
{
    static char api_buf[1024];
    switch (opt) {
    case CTL_OPT_API:
        if (!ctl_set_api(g, arg, api_buf, sizeof(api_buf)))
            return ctl_usage_error(cmd, "--api must be an http:// or https:// URL, not '%s'", arg);
        return -1;
    case CTL_OPT_TOKEN:
        g->token = arg;
        return -1;
    case ':':
        if (optopt && optopt < 256)
            return ctl_usage_error(cmd, "option '-%c' needs a value", optopt);
        return ctl_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    case '?':
        if (optopt && optopt < 256)
            return ctl_usage_error(cmd, "unknown option '-%c'", optopt);
        return ctl_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    default:
        return ctl_usage_error(cmd, "unexpected option");
    }
}

bool ctl_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    /* strtoll would also skip leading spaces and take a '+': only digits and a '-' sign */
    if (!s || !*s ||
        !(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A finite decimal number, the whole of [s, s+n). */
static bool parse_double_n(const char *s, size_t n, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* strtod also takes "inf", "nan" and hex floats: refuse anything but a plain decimal */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.-+eE", buf[i]))
            return false;
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (errno || !end || *end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

bool ctl_parse_point(const char *s, double *lat, double *lon)
{
    const char *comma = s ? strchr(s, ',') : NULL;
    if (!comma || strchr(comma + 1, ','))
        return false;
    double a, b;
    if (!parse_double_n(s, (size_t)(comma - s), &a) ||
        !parse_double_n(comma + 1, strlen(comma + 1), &b))
        return false;
    if (a < -90 || a > 90 || b < -180 || b > 180)
        return false;
    *lat = a;
    *lon = b;
    return true;
}

json_t *ctl_parse_list(const char *s)
{
    json_t *arr = json_array();
    if (!arr || !s)
        return arr;
    if (!*s)
        return arr; /* --wants "" means none */
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 0) {
            json_decref(arr);
            return NULL;
        }
        if (json_array_append_new(arr, json_stringn(p, n)) != 0) { /* e.g. not UTF-8 */
            json_decref(arr);
            return NULL;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return arr;
}

bool ctl_set_api(struct ctl_global *g, const char *url, char *buf, size_t cap)
{
    if (!url || (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0))
        return false;
    size_t n = strlen(url);
    while (n > 8 && url[n - 1] == '/')
        n--;
    if (n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return false;
    memcpy(buf, url, n);
    buf[n] = '\0';
    g->api = buf;
    return true;
}
