/* ctl_table: human-readable output of rfqctl: money, durations, times and aligned tables. */
#include "ctl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ISO 4217 minor-unit exponents that are not 2 (the common ones; anything else shows two
 * decimals). */
static int currency_exponent(const char *cur)
{
    static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                       "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                       "VND", "VUV", "XAF", "XOF", "XPF", NULL};
    static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND", NULL};
    for (const char *const *c = zero; cur && *c; c++)
        if (strcmp(cur, *c) == 0)
            return 0;
    for (const char *const *c = three; cur && *c; c++)
        if (strcmp(cur, *c) == 0)
            return 3;
    return 2;
}

void ctl_format_money(char *out, size_t cap, long long minor, const char *currency)
{
    int exp = currency_exponent(currency);
    unsigned long long v = minor < 0 ? 0ULL - (unsigned long long)minor : (unsigned long long)minor;
    const char *sign = minor < 0 ? "-" : "";
    if (exp == 0) {
        snprintf(out, cap, "%s%llu", sign, v);
        return;
    }
    unsigned long long div = exp == 3 ? 1000 : 100;
    snprintf(out, cap, "%s%llu.%0*llu", sign, v / div, exp, v % div);
}

void ctl_format_eta(char *out, size_t cap, long long s)
{
    if (s < 0)
        snprintf(out, cap, "-");
    else if (s < 60)
        snprintf(out, cap, "%llds", s);
    else if (s < 3600)
        snprintf(out, cap, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(out, cap, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
}

void ctl_format_time(char *out, size_t cap, long long ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, cap, "-");
}

void ctl_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
}

/* A table of text cells, printed with columns padded to their widest cell. */
#define TBL_COLS 8
struct table {
    int ncols;
    unsigned right; /* bit c set: column c is right-aligned (numbers) */
    size_t nrows;
    char *(*cells)[TBL_COLS]; /* nrows rows, each ncols new strings */
    size_t width[TBL_COLS];
};

static void table_row(struct table *t, const char *const *vals)
{
    char *(*rows)[TBL_COLS] = realloc(t->cells, (t->nrows + 1) * sizeof(*rows));
    if (!rows)
        return;
    t->cells = rows;
    for (int c = 0; c < t->ncols; c++) {
        char *cell = strdup(vals[c] ? vals[c] : "");
        /* values come from the network: no terminal control sequences */
        for (char *p = cell; p && *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?';
        rows[t->nrows][c] = cell;
        size_t w = cell ? strlen(cell) : 0;
        if (w > t->width[c])
            t->width[c] = w;
    }
    t->nrows++;
}

static void table_print_free(struct table *t)
{
    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *v = t->cells[r][c] ? t->cells[r][c] : "";
            bool right = t->right & (1u << c);
            if (c == t->ncols - 1 && !right)
                printf("%s\n", v);
            else
                printf(right ? "%*s%s" : "%-*s%s", (int)t->width[c], v,
                       c == t->ncols - 1 ? "\n" : "  ");
            free(t->cells[r][c]);
        }
    }
    free(t->cells);
    t->cells = NULL;
    t->nrows = 0;
}

/* Tags array as "a,b,c" ("-" when empty) into out. */
static void join_tags(char *out, size_t cap, json_t *arr)
{
    size_t n = 0;
    size_t i;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? "," : "", s);
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
    if (!out[0])
        snprintf(out, cap, "-");
}

static const char *str_or(json_t *obj, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : def;
}

void ctl_print_quotes_table(json_t *quotes)
{
    struct table t = {.ncols = 6, .right = 1u << 0 | 1u << 2};
    const char *head[] = {"RANK", "RESPONDER", "PRICE", "CURRENCY", "ETA", "PERKS"};
    table_row(&t, head);
    size_t i;
    json_t *q;
    json_array_foreach(quotes, i, q)
    {
        char rank[24], price[48], eta[32], perks[512];
        json_t *r = json_object_get(q, "rank");
        if (json_is_integer(r))
            snprintf(rank, sizeof(rank), "%" JSON_INTEGER_FORMAT, json_integer_value(r));
        else
            snprintf(rank, sizeof(rank), "-");
        const char *decline = json_string_value(json_object_get(q, "decline"));
        if (decline) {
            snprintf(perks, sizeof(perks), "declined: %s", decline);
            const char *row[] = {rank, str_or(q, "responder_id", "?"), "-", "-", "-", perks};
            table_row(&t, row);
            continue;
        }
        json_t *price_obj = json_object_get(q, "price");
        const char *cur = str_or(price_obj, "currency", "?");
        json_t *amount = json_object_get(price_obj, "amount_minor");
        if (json_is_integer(amount))
            ctl_format_money(price, sizeof(price), json_integer_value(amount), cur);
        else
            snprintf(price, sizeof(price), "?");
        json_t *e = json_object_get(q, "eta_s");
        ctl_format_eta(eta, sizeof(eta), json_is_integer(e) ? json_integer_value(e) : -1);
        join_tags(perks, sizeof(perks), json_object_get(q, "perks"));
        const char *row[] = {rank, str_or(q, "responder_id", "?"), price, cur, eta, perks};
        table_row(&t, row);
    }
    if (t.nrows == 1) {
        table_print_free(&t);
        printf("(no quotes)\n");
        return;
    }
    table_print_free(&t);
}

void ctl_print_list_table(json_t *rfqs)
{
    struct table t = {.ncols = 6, .right = 1u << 4 | 1u << 5};
    const char *head[] = {"RFQ_ID",       "STATUS", "CREATED_UTC",
                          "DEADLINE_UTC", "QUOTES", "BEST_MINOR"};
    table_row(&t, head);
    size_t i;
    json_t *r;
    json_array_foreach(rfqs, i, r)
    {
        char created[32], deadline[32], count[24], best[32];
        json_t *v = json_object_get(r, "created_ms");
        ctl_format_time(created, sizeof(created), json_is_integer(v) ? json_integer_value(v) : 0);
        v = json_object_get(r, "deadline_ms");
        ctl_format_time(deadline, sizeof(deadline), json_is_integer(v) ? json_integer_value(v) : 0);
        v = json_object_get(r, "quote_count");
        snprintf(count, sizeof(count), "%" JSON_INTEGER_FORMAT,
                 json_is_integer(v) ? json_integer_value(v) : 0);
        v = json_object_get(r, "best_amount_minor");
        if (json_is_integer(v))
            snprintf(best, sizeof(best), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else
            snprintf(best, sizeof(best), "-");
        const char *row[] = {
            str_or(r, "rfq_id", "?"), str_or(r, "status", "?"), created, deadline, count, best};
        table_row(&t, row);
    }
    if (t.nrows == 1) {
        table_print_free(&t);
        printf("(no rfqs)\n");
        return;
    }
    table_print_free(&t);
}

void ctl_print_dlq_table(json_t *entries)
{
    struct table t = {.ncols = 8, .right = 1u << 0 | 1u << 7};
    const char *head[] = {"SEQ",    "TIME_UTC", "STAGE",   "REASON",
                          "TENANT", "RFQ_ID",   "SUBJECT", "SIZE"};
    table_row(&t, head);
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        char seq[24], when[32], size[24];
        snprintf(seq, sizeof(seq), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(e, "seq")));
        ctl_format_time(when, sizeof(when), json_integer_value(json_object_get(e, "time_ms")));
        snprintf(size, sizeof(size), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(e, "size")));
        const char *row[] = {seq,
                             when,
                             str_or(e, "stage", "-"),
                             str_or(e, "reason", "-"),
                             str_or(e, "tenant", "-"),
                             str_or(e, "rfq_id", "-"),
                             str_or(e, "subject", "-"),
                             size};
        table_row(&t, row);
    }
    bool empty = t.nrows == 1;
    table_print_free(&t);
    if (empty)
        printf("(no dead letters)\n");
}
