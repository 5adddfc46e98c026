/* bench_idmap: rfq_id -> bench sequence number for the engine drivers. The 202 (which names
 * the rfq_id) and the completed event travel different ways and may arrive in either order:
 * an outcome that comes first waits here for its 202. */
#ifndef BENCH_IDMAP_H
#define BENCH_IDMAP_H

#include <stdbool.h>
#include <stdint.h>

enum bench_idmap_outcome { BENCH_ID_NONE = 0, BENCH_ID_COMPLETED, BENCH_ID_EXPIRED };

struct bench_id_event {
    uint32_t seq;
    enum bench_idmap_outcome outcome;
    int64_t at_ns;
    int quotes;
};

/* Empty the map (between runs). */
void bench_idmap_reset(void);

/* The 202 for seq named rfq_id. When the outcome already came, it is returned in *ev (and the
 * entry removed): true. Otherwise the pair is kept until the outcome: false. */
bool bench_idmap_accepted(const char *rfq_id, uint32_t seq, struct bench_id_event *ev);

/* The outcome of rfq_id. When its 202 came already, *ev names the seq (entry removed): true.
 * Otherwise the outcome is kept for the 202: false. */
bool bench_idmap_outcome(const char *rfq_id, enum bench_idmap_outcome o, int64_t at_ns, int quotes,
                         struct bench_id_event *ev);

#endif
