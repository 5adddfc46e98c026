/* agg_app: wires one rfq-aggregator process together: NATS, streams, the consumer loop and
 * the deadline sweeper, from start to a graceful stop. */
#ifndef AGG_APP_H
#define AGG_APP_H

#include "agg_cfg.h"
#include "rfq_status.h"

/* Connect, ensure the streams and the durable consumer, start the sweeper, write the ready
 * file, then consume until *stop is set; tear everything down in reverse order. Returns
 * RFQ_OK after a requested stop, or the status of the dependency that failed at start. */
rfq_status agg_app_run(const struct agg_cfg *cfg, volatile int *stop);

#endif
