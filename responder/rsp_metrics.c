/* rsp_metrics: what became of the RFQs a responder process was offered, and of its answers. */
#include "rsp_metrics.h"

#include <stdlib.h>

#include "rfq_log.h"

/* One labelled sample of a counter family. */
static void labelled(struct rfq_strbuf *o, const char *name, const char *label, const char *value,
                     uint64_t v)
{
    rfq_metrics_sample(o, name, label, value, (double)v);
}

void rsp_metrics_render(struct rfq_strbuf *o, const struct rsp_agent_stats *s, int unicorns)
{
    rfq_metrics_counter(o, "rfq_responder_rfqs_received_total",
                        "RFQ messages delivered to the responder process.", s->received);
    rfq_metrics_counter(o, "rfq_responder_rfqs_refused_total",
                        "RFQs refused as malformed (dead-lettered at a bounded rate).", s->bad);
    rfq_metrics_counter(o, "rfq_responder_rfqs_expired_total",
                        "RFQs skipped because their deadline had passed on arrival.", s->expired);
    rfq_metrics_counter(o, "rfq_responder_rfqs_unrouted_total",
                        "RFQs for a region no unicorn of this process serves.", s->unrouted);

    const char *answers = "rfq_responder_answers_total";
    rfq_metrics_family(o, answers, "counter", "Answers handed to the transport, by kind.");
    labelled(o, answers, "kind", "quote", s->quotes);
    labelled(o, answers, "kind", "decline", s->declines);

    const char *dropped = "rfq_responder_answers_dropped_total";
    rfq_metrics_family(o, dropped, "counter", "Answers not sent, by reason.");
    labelled(o, dropped, "reason", "no_answer", s->no_answer);
    labelled(o, dropped, "reason", "invalid", s->invalid);
    labelled(o, dropped, "reason", "late", s->late);
    labelled(o, dropped, "reason", "shed", s->shed);
    labelled(o, dropped, "reason", "cancelled", s->cancelled);

    rfq_metrics_counter(o, "rfq_responder_send_errors_total",
                        "Answer publishes that failed outright.", s->send_errors);
    rfq_metrics_counter(o, "rfq_responder_pubacks_total", "JetStream PubAcks received for answers.",
                        s->acked);
    rfq_metrics_counter(o, "rfq_responder_puback_duplicates_total",
                        "PubAcks saying the stream already held the answer.", s->duplicates);
    rfq_metrics_counter(o, "rfq_responder_puback_errors_total",
                        "PubAck errors, and timeouts once the RFQ deadline passed.", s->ack_errors);
    rfq_metrics_counter(o, "rfq_responder_resends_total",
                        "Answers sent again after a PubAck timeout.", s->retries);
    rfq_metrics_counter(o, "rfq_responder_dead_lettered_total",
                        "Refused RFQs sent to rfq.v1.dlq.responder.", s->dead_lettered);
    rfq_metrics_counter(o, "rfq_responder_dlq_dropped_total",
                        "Refused RFQs not dead-lettered (over the rate, or the publish failed).",
                        s->dlq_dropped);
    rfq_metrics_gauge(o, "rfq_responder_unicorns", "Unicorn agents hosted by this process.",
                      (double)unicorns);
    rfq_metrics_process(o);
}

struct metrics_src {
    rsp_agent *agent;
    int unicorns;
};

static void render(struct rfq_strbuf *o, void *ud)
{
    const struct metrics_src *src = ud;
    struct rsp_agent_stats s;
    rsp_agent_stats_get(src->agent, &s);
    rsp_metrics_render(o, &s, src->unicorns);
}

/* The server's source lives as long as the process: one per process, never freed. */
static struct metrics_src the_src;

rfq_status rsp_metrics_start(rfq_metrics_http **out, const char *addr, rsp_agent *agent,
                             int unicorns)
{
    struct rfq_log_ctx ctx = {.component = "responder"};
    *out = NULL;
    if (!addr || !addr[0])
        return RFQ_OK;
    the_src = (struct metrics_src){agent, unicorns};
    rfq_status st = rfq_metrics_http_start(out, addr, "responder", render, &the_src);
    if (st != RFQ_OK)
        RFQ_LOG(&ctx, RFQ_ERROR, "cannot serve metrics on %s (%s)", addr, rfq_status_str(st));
    else
        RFQ_LOG(&ctx, RFQ_INFO, "metrics on http://%s/metrics (port %d)", addr,
                rfq_metrics_http_port(*out));
    return st;
}
