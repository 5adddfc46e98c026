/* agg_metrics: the aggregator's families for GET /metrics (RFQ_METRICS_ADDR). */
#ifndef AGG_METRICS_H
#define AGG_METRICS_H

#include <stdint.h>

#include "agg_batch.h"
#include "rfq_metrics.h"

/* What one scrape shows: the fetch loops' totals, the sweeper's and the number of loops. */
struct agg_metrics_view {
    struct agg_batch_stats batches;
    uint64_t expired;
    int fetch_loops;
};

/* Append the rfq_aggregator_* families and the process ones to o. */
void agg_metrics_render(struct rfq_strbuf *o, const struct agg_metrics_view *v);

#endif
