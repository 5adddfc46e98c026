/* bench_idmap: a chained hash table under one mutex; entries live from one half of the
 * rendezvous (202 or outcome) to the other. */
#include "bench_idmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 65536u
#define ID_MAX 64

struct entry {
    struct entry *next;
    char id[ID_MAX];
    struct bench_id_event ev; /* seq == UINT32_MAX while only the outcome is known */
};

static struct entry *table[BUCKETS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h & (BUCKETS - 1);
}

void bench_idmap_reset(void)
{
    pthread_mutex_lock(&mu);
    for (uint32_t i = 0; i < BUCKETS; i++) {
        while (table[i]) {
            struct entry *e = table[i];
            table[i] = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&mu);
}

/* Under mu: unlink and return the entry for id, or NULL. */
static struct entry *take(const char *id, uint32_t h)
{
    for (struct entry **p = &table[h]; *p; p = &(*p)->next) {
        if (strcmp((*p)->id, id) == 0) {
            struct entry *e = *p;
            *p = e->next;
            return e;
        }
    }
    return NULL;
}

/* Under mu: keep ev for id (dropped silently when out of memory: the RFQ then counts as
 * incomplete, which the report shows). */
static void keep(const char *id, uint32_t h, const struct bench_id_event *ev)
{
    struct entry *e = malloc(sizeof(*e));
    if (!e)
        return;
    strncpy(e->id, id, ID_MAX - 1);
    e->id[ID_MAX - 1] = '\0';
    e->ev = *ev;
    e->next = table[h];
    table[h] = e;
}

bool bench_idmap_accepted(const char *rfq_id, uint32_t seq, struct bench_id_event *ev)
{
    uint32_t h = hash(rfq_id);
    pthread_mutex_lock(&mu);
    struct entry *e = take(rfq_id, h);
    if (!e) {
        struct bench_id_event mine = {.seq = seq, .outcome = BENCH_ID_NONE};
        keep(rfq_id, h, &mine);
    }
    pthread_mutex_unlock(&mu);
    if (!e)
        return false;
    *ev = e->ev;
    ev->seq = seq;
    free(e);
    return true;
}

bool bench_idmap_outcome(const char *rfq_id, enum bench_idmap_outcome o, int64_t at_ns, int quotes,
                         struct bench_id_event *ev)
{
    uint32_t h = hash(rfq_id);
    struct bench_id_event mine = {
        .seq = UINT32_MAX, .outcome = o, .at_ns = at_ns, .quotes = quotes};
    pthread_mutex_lock(&mu);
    struct entry *e = take(rfq_id, h);
    if (!e)
        keep(rfq_id, h, &mine);
    pthread_mutex_unlock(&mu);
    if (!e)
        return false;
    *ev = mine;
    ev->seq = e->ev.seq;
    free(e);
    return true;
}
