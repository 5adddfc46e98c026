/* rsp_metrics: the responder's families for GET /metrics (RFQ_METRICS_ADDR). */
#ifndef RSP_METRICS_H
#define RSP_METRICS_H

#include "rfq_metrics.h"
#include "rfq_metrics_http.h"
#include "rsp_agent.h"

/* Append the rfq_responder_* families of s (and a gauge of the unicorns hosted) and the
 * process ones to o. */
void rsp_metrics_render(struct rfq_strbuf *o, const struct rsp_agent_stats *s, int unicorns);

/* Serve the agent's counters on addr (*out NULL and RFQ_OK when addr is ""). An address that
 * cannot be served is an error (logged): the process should not run unwatched by mistake.
 * The agent must outlive the server. */
rfq_status rsp_metrics_start(rfq_metrics_http **out, const char *addr, rsp_agent *agent,
                             int unicorns);

#endif
