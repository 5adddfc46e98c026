/* bench_redis_stats: where redis-server spends its time during a run, from INFO commandstats
 * read on the harness's admin connection (commands called by Lua scripts count on their own
 * as well as inside the script's EVALSHA). */
#ifndef BENCH_REDIS_STATS_H
#define BENCH_REDIS_STATS_H

/* Zero the counters (CONFIG RESETSTAT). */
void bench_redis_stats_reset(void);

/* Print the top commands by time since the last reset, with calls and time per RFQ. */
void bench_redis_stats_print(unsigned long long rfqs, int top);

#endif
