/* harness_metrics: scraping the engines' GET /metrics (RFQ_METRICS_ADDR) from scenarios. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

void h_metrics_init(struct h_metrics *m)
{
    memset(m, 0, sizeof(*m));
    int port = h_free_port();
    snprintf(m->env, sizeof(m->env), "RFQ_METRICS_ADDR=127.0.0.1:%d", port);
    snprintf(m->base, sizeof(m->base), "http://127.0.0.1:%d", port);
}

/* The sample name line[0..) belongs to family: the family's name itself, or for a histogram
 * its _bucket, _sum and _count series. */
static bool in_family(const char *line, const char *family, bool histogram)
{
    size_t fl = strlen(family);
    if (fl == 0 || strncmp(line, family, fl) != 0)
        return false;
    const char *rest = line + fl;
    if (histogram) {
        static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
        for (int i = 0; i < 3; i++)
            if (strncmp(rest, suffixes[i], strlen(suffixes[i])) == 0)
                rest += strlen(suffixes[i]);
    }
    return *rest == ' ' || *rest == '{';
}

/* Every sample line must follow the "# TYPE" of its family. */
static void check_families(char *text)
{
    char family[128] = "";
    bool histogram = false;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        H_CHECK(nl != NULL, "metrics text does not end with a newline");
        *nl = '\0';
        if (strncmp(line, "# TYPE ", 7) == 0) {
            const char *name = line + 7;
            size_t n = strcspn(name, " ");
            snprintf(family, sizeof(family), "%.*s", (int)n, name);
            histogram = strcmp(name + n, " histogram") == 0;
        } else if (line[0] != '#') {
            H_CHECK(in_family(line, family, histogram), "sample outside its family (%s): %s",
                    family, line);
        }
        *nl = '\n';
        line = nl + 1;
    }
}

char *h_metrics_scrape(const struct h_metrics *m)
{
    struct h_proc target;
    memset(&target, 0, sizeof(target));
    snprintf(target.http_base, sizeof(target.http_base), "%s", m->base);
    struct h_resp r;
    h_http(&r, &target, "GET", "/metrics", NULL, NULL, NULL, 0);
    H_CHECK_INT(r.status, 200, "GET /metrics");
    char ctype[128] = "";
    h_resp_header(&r, "Content-Type", ctype, sizeof(ctype));
    H_CHECK_STR(ctype, "text/plain; version=0.0.4; charset=utf-8", "metrics content type");
    check_families(r.body);
    char *body = r.body;
    r.body = NULL;
    h_resp_free(&r);
    return body;
}

double h_metrics_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p;) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return -1;
}

double h_metric(const struct h_metrics *m, const char *series)
{
    char *text = h_metrics_scrape(m);
    double v = h_metrics_value(text, series);
    free(text);
    return v;
}
