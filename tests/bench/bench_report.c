/* bench_report: one line of figures per run, a line of CPU and memory per process, and the
 * engine/baseline ratios at the end. */
#include "bench_report.h"

#include <stdio.h>
#include <string.h>

static struct bench_row rows[BENCH_ROWS_MAX];
static int n_rows;

static void load_label(const struct bench_spec *s, char *out, size_t cap)
{
    if (s->open_loop)
        snprintf(out, cap, "open %d/s", s->rate);
    else
        snprintf(out, cap, "closed W=%d", s->window);
}

/* Milliseconds with three decimals, or "inf" for an RFQ that never completed. */
static const char *ms(int64_t us, char *buf, size_t cap)
{
    if (us == BENCH_LAT_INF)
        snprintf(buf, cap, "inf");
    else
        snprintf(buf, cap, "%.3f", (double)us / 1000.0);
    return buf;
}

static void print_row(const struct bench_row *r)
{
    const struct bench_result *x = &r->res;
    char a[24], b[24], c[24], d[24], e[24];
    printf("%-12s %-13s sent=%u done=%u refused=%u", r->driver, r->load, x->sent, x->done,
           x->refused);
    if (x->refused)
        printf("(%u)", x->refused_status);
    printf(" failed=%u expired=%u incomplete=%u | %.1f rfq/s %.0f quotes/s | ms p50=%s p90=%s "
           "p99=%s p99.9=%s max=%s\n",
           x->failed, x->expired, x->incomplete, x->rfqs_per_s, x->quotes_per_s,
           ms(x->p50_us, a, sizeof(a)), ms(x->p90_us, b, sizeof(b)), ms(x->p99_us, c, sizeof(c)),
           ms(x->p999_us, d, sizeof(d)), ms(x->max_us, e, sizeof(e)));
    double total = 0;
    printf("%-12s cpu_s", "");
    for (int i = 0; i < r->procs.n; i++) {
        printf(" %s=%.2f", r->procs.p[i].name, r->procs.p[i].cpu_s);
        total += r->procs.p[i].cpu_s;
    }
    printf(" total=%.2f", total);
    if (x->done)
        printf(" (%.3f ms/rfq)", total * 1000.0 / x->done);
    printf("\n%-12s peak_rss_mib", "");
    for (int i = 0; i < r->procs.n; i++)
        printf(" %s=%.1f", r->procs.p[i].name, r->procs.p[i].peak_rss_mb);
    printf("\n");
    fflush(stdout);
}

/* Add one measured slice of proc CPU time and peak RSS to the row's totals. */
static void add_procs(struct bench_procs *total, const struct bench_procs *slice)
{
    for (int i = 0; i < slice->n && i < total->n; i++) {
        total->p[i].cpu_s += slice->p[i].cpu_s;
        if (slice->p[i].peak_rss_mb > total->p[i].peak_rss_mb)
            total->p[i].peak_rss_mb = slice->p[i].peak_rss_mb;
    }
}

const struct bench_row *bench_measure_rounds(const struct bench_driver *const *d,
                                             const struct bench_procs *const *procs, int n,
                                             const struct bench_spec *spec, int rounds)
{
    struct bench_row *r[8] = {NULL};
    struct bench_acc acc[8];
    memset(acc, 0, sizeof(acc));
    static struct bench_row scratch[8];
    for (int i = 0; i < n && i < 8; i++) {
        r[i] = (!spec->quiet && n_rows < BENCH_ROWS_MAX) ? &rows[n_rows++] : &scratch[i];
        memset(r[i], 0, sizeof(*r[i]));
        snprintf(r[i]->driver, sizeof(r[i]->driver), "%s", d[i]->name);
        load_label(spec, r[i]->load, sizeof(r[i]->load));
        r[i]->spec = *spec;
        r[i]->procs = *procs[i];
        for (int k = 0; k < r[i]->procs.n; k++)
            r[i]->procs.p[k].cpu_s = r[i]->procs.p[k].peak_rss_mb = 0;
    }
    struct bench_spec slice = *spec;
    slice.seconds = spec->seconds / rounds;
    if (slice.max_rfqs)
        slice.max_rfqs = spec->max_rfqs / (uint32_t)rounds;
    for (int round = 0; round < rounds; round++)
        for (int i = 0; i < n && i < 8; i++) {
            struct bench_procs p = *procs[i];
            bench_procs_begin(&p);
            bench_execute(d[i], &slice, &acc[i]);
            bench_procs_end(&p);
            add_procs(&r[i]->procs, &p);
        }
    for (int i = 0; i < n && i < 8; i++) {
        bench_acc_result(&acc[i], &r[i]->res);
        bench_acc_free(&acc[i]);
        if (!spec->quiet)
            print_row(r[i]);
    }
    return r[0];
}

const struct bench_row *bench_measure(const struct bench_driver *d, const struct bench_spec *spec,
                                      const struct bench_procs *procs)
{
    return bench_measure_rounds(&d, &procs, 1, spec, 1);
}

const struct bench_row *bench_find(const char *driver, const char *load)
{
    for (int i = 0; i < n_rows; i++)
        if (strcmp(rows[i].driver, driver) == 0 && strcmp(rows[i].load, load) == 0)
            return &rows[i];
    return NULL;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

/* Ratios of one engine driver against the baseline: W=100 throughput, W=1 p50/p99. */
static void print_driver_ratios(const char *driver, double *thr, double *p99)
{
    const struct bench_row *e100 = bench_find(driver, "closed W=100");
    const struct bench_row *b100 = bench_find("baseline", "closed W=100");
    const struct bench_row *e1 = bench_find(driver, "closed W=1");
    const struct bench_row *b1 = bench_find("baseline", "closed W=1");
    *thr = e100 && b100 ? ratio(e100->res.rfqs_per_s, b100->res.rfqs_per_s) : 0;
    *p99 = e1 && b1 ? ratio((double)e1->res.p99_us, (double)b1->res.p99_us) : 0;
    double p50 = e1 && b1 ? ratio((double)e1->res.p50_us, (double)b1->res.p50_us) : 0;
    printf("%-12s / baseline: W=100 throughput %.3f (target >= 0.8: %s), W=1 p50 %.2f, W=1 p99 "
           "%.2f (target <= 2: %s)\n",
           driver, *thr, *thr >= 0.8 ? "met" : "missed", p50, *p99,
           *p99 > 0 && *p99 <= 2 ? "met" : "missed");
}

void bench_print_ratios(const char *headline_driver)
{
    printf("\n== engine / baseline (same run, same nats-server and redis-server)\n");
    double thr = 0, p99 = 0, t2, p2;
    const char *drivers[] = {"engine-nats", "engine-http"};
    for (int i = 0; i < 2; i++) {
        if (!bench_find(drivers[i], "closed W=1") && !bench_find(drivers[i], "closed W=100"))
            continue;
        print_driver_ratios(drivers[i], &t2, &p2);
        if (strcmp(drivers[i], headline_driver) == 0)
            thr = t2, p99 = p2;
    }
    /* Against the durable floor: how much of the gap the quote stream's durability explains. */
    const struct bench_row *js100 = bench_find("baseline-js", "closed W=100");
    const struct bench_row *js1 = bench_find("baseline-js", "closed W=1");
    const struct bench_row *b100 = bench_find("baseline", "closed W=100");
    const struct bench_row *b1 = bench_find("baseline", "closed W=1");
    const struct bench_row *e100 = bench_find(headline_driver, "closed W=100");
    const struct bench_row *e1 = bench_find(headline_driver, "closed W=1");
    if (js100 && b100 && e100 && js1 && b1 && e1)
        printf("baseline-js  / baseline: W=100 throughput %.3f, W=1 p99 %.2f; %s / baseline-js: "
               "W=100 throughput %.3f, W=1 p99 %.2f\n",
               ratio(js100->res.rfqs_per_s, b100->res.rfqs_per_s),
               ratio((double)js1->res.p99_us, (double)b1->res.p99_us), headline_driver,
               ratio(e100->res.rfqs_per_s, js100->res.rfqs_per_s),
               ratio((double)e1->res.p99_us, (double)js1->res.p99_us));
    printf("engine/baseline: throughput=%.3f p99=%.2f\n", thr, p99);
    fflush(stdout);
}

bool bench_all_complete(void)
{
    for (int i = 0; i < n_rows; i++) {
        const struct bench_result *x = &rows[i].res;
        if (x->done != x->sent || x->sent == 0)
            return false;
    }
    return true;
}
