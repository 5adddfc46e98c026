/* rfq_metrics: a process's counters in the Prometheus text exposition format (0.0.4), so that
 * any scraper can read the engine without a client library. Each process writes its own
 * families (rfq_<component>_...) and the standard process_* ones into an rfq_strbuf. */
#ifndef RFQ_METRICS_H
#define RFQ_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rfq_strbuf.h"

/* The "# HELP" and "# TYPE" lines of a family; type is "counter", "gauge" or "histogram". */
void rfq_metrics_family(struct rfq_strbuf *o, const char *name, const char *type, const char *help);
/* One sample of the family name. label may be NULL (no label); value is escaped. */
void rfq_metrics_sample(struct rfq_strbuf *o, const char *name, const char *label,
                        const char *value, double v);

/* One sample with a label set already written out (name="value",...): for fixed label
 * values only, since nothing in it is escaped. */
void rfq_metrics_sample_labels(struct rfq_strbuf *o, const char *name, const char *labels,
                               double v);

/* A family of one unlabelled sample. */
void rfq_metrics_counter(struct rfq_strbuf *o, const char *name, const char *help, uint64_t v);
void rfq_metrics_gauge(struct rfq_strbuf *o, const char *name, const char *help, double v);

/* Index of the first of the ascending bounds[0..n) that v is at or below; n when above all. */
int rfq_metrics_bucket(const double *bounds, int n, double v);
/* A histogram family from per-bucket counts (counts[i] for bucket i, not cumulative;
 * counts[n] above every bound) and the sum of the observed values. */
void rfq_metrics_histogram(struct rfq_strbuf *o, const char *name, const char *help,
                           const double *bounds, int n, const uint64_t *counts, double sum);

/* The standard process families (CPU seconds, resident and virtual memory, start time, open
 * and maximum file descriptors, threads) and rfq_heap_in_use_bytes (malloc's bytes in use:
 * what a leak grows, where RSS also moves with thread stacks and fragmentation). */
void rfq_metrics_process(struct rfq_strbuf *o);

#endif
