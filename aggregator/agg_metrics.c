/* agg_metrics: counters of the gather side, named after what a dashboard asks of it. */
#include "agg_metrics.h"

void agg_metrics_render(struct rfq_strbuf *o, const struct agg_metrics_view *v)
{
    const struct agg_batch_stats *b = &v->batches;
    rfq_metrics_counter(o, "rfq_aggregator_messages_total",
                        "Quote stream messages processed (a batch message holds several answers).",
                        b->msgs);
    rfq_metrics_counter(o, "rfq_aggregator_answers_total",
                        "Answers (quotes and declines) in the messages processed.", b->answers);
    rfq_metrics_counter(o, "rfq_aggregator_quotes_stored_total", "Priced quotes stored and ranked.",
                        b->stored);
    rfq_metrics_counter(o, "rfq_aggregator_declines_stored_total", "Declines stored.", b->declined);
    rfq_metrics_counter(o, "rfq_aggregator_rfqs_completed_total",
                        "RFQs completed by reaching max_quotes.", b->completed);
    rfq_metrics_counter(o, "rfq_aggregator_rfqs_expired_total",
                        "RFQs closed by the deadline sweeper of this process.", v->expired);
    rfq_metrics_counter(o, "rfq_aggregator_duplicates_total",
                        "Answers counted as duplicates of one already stored.", b->duplicates);
    rfq_metrics_counter(o, "rfq_aggregator_surplus_total",
                        "On-time answers for an RFQ already completed: counted, not stored.",
                        b->surplus);
    rfq_metrics_counter(
        o, "rfq_aggregator_dead_lettered_total",
        "Dead letters stored in RFQ_DLQ: one per refused answer or refused whole batch.",
        b->dead_lettered);
    rfq_metrics_counter(o, "rfq_aggregator_retried_total",
                        "Messages handed back for redelivery (Redis or NATS trouble).", b->retried);
    rfq_metrics_counter(o, "rfq_aggregator_completed_republished_total",
                        "Completed events published again after a redelivery.", b->repaired);
    rfq_metrics_histogram(o, "rfq_aggregator_completion_seconds",
                          "Time from an RFQ's creation to its max_quotes-th quote stored, for the "
                          "RFQs this process completed.",
                          agg_completion_bounds_s, AGG_COMPLETION_BUCKETS, b->completion_buckets,
                          (double)b->completion_ms_sum / 1000.0);
    rfq_metrics_gauge(o, "rfq_aggregator_fetch_loops",
                      "Fetch loops of this process (RFQ_AGG_WORKERS).", (double)v->fetch_loops);
    rfq_metrics_process(o);
}
