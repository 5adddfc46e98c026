/* bench_redis_stats: INFO commandstats, sorted by time. */
#include "bench_redis_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "harness.h"

struct cmd_stat {
    char name[48];
    unsigned long long calls;
    double usec;
};

void bench_redis_stats_reset(void)
{
    redisReply *r = redisCommand(h_redis(), "CONFIG RESETSTAT");
    freeReplyObject(r);
}

static int by_usec(const void *a, const void *b)
{
    double d = ((const struct cmd_stat *)b)->usec - ((const struct cmd_stat *)a)->usec;
    return d > 0 ? 1 : d < 0 ? -1 : 0;
}

void bench_redis_stats_print(unsigned long long rfqs, int top)
{
    redisReply *r = redisCommand(h_redis(), "INFO commandstats");
    if (!r || r->type != REDIS_REPLY_STRING) {
        printf("redis commandstats: not available\n");
        freeReplyObject(r);
        return;
    }
    struct cmd_stat st[128] = {{{0}, 0, 0}};
    int n = 0;
    char *save = NULL;
    /* Lines: cmdstat_<name>:calls=N,usec=U,usec_per_call=...,... */
    for (char *line = strtok_r(r->str, "\r\n", &save); line && n < 128;
         line = strtok_r(NULL, "\r\n", &save)) {
        struct cmd_stat *c = &st[n];
        const char *colon = strchr(line, ':'), *calls = strstr(line, ":calls="),
                   *usec = strstr(line, ",usec=");
        size_t len = colon ? (size_t)(colon - line) : 0;
        if (strncmp(line, "cmdstat_", 8) != 0 || !calls || !usec || len <= 8 ||
            len - 8 >= sizeof(c->name))
            continue;
        memcpy(c->name, line + 8, len - 8);
        c->name[len - 8] = '\0';
        c->calls = strtoull(calls + 7, NULL, 10);
        c->usec = strtod(usec + 6, NULL);
        n++;
    }
    freeReplyObject(r);
    qsort(st, (size_t)n, sizeof(st[0]), by_usec);
    printf("redis commands by time (%llu RFQs):", rfqs);
    for (int i = 0; i < n && i < top; i++)
        printf(" %s %.1f us/rfq (%.1f calls/rfq)%s", st[i].name,
               rfqs ? st[i].usec / (double)rfqs : 0, rfqs ? (double)st[i].calls / (double)rfqs : 0,
               i + 1 < n && i + 1 < top ? "," : "\n");
}
