/* ctl_dlq: the pieces of `rfqctl dlq` that need no server: reading one dead letter's summary
 * from its headers, filtering, and its JSON form (what --json and the table print). */
#ifndef CTL_DLQ_H
#define CTL_DLQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <nats/nats.h>

/* One RFQ_DLQ entry as `dlq list` shows it. Strings are copies, control characters replaced. */
struct ctl_dlq_entry {
    uint64_t seq;      /* stream sequence */
    int64_t time_ms;   /* when the stream stored it (unix ms) */
    char stage[32];    /* <stage> of rfq.v1.dlq.<stage>, "" when the subject is not one */
    char reason[64];   /* Rfq-Dlq-Reason */
    char tenant[80];   /* Rfq-Tenant */
    char rfq_id[80];   /* Rfq-Id */
    char subject[256]; /* Rfq-Dlq-Subject: where the refused message arrived */
    char detail[256];  /* Rfq-Dlq-Detail */
    size_t size;       /* payload bytes */
};

/* Fill e from a message of RFQ_DLQ (borrowed) stored at seq, time_ms. Missing headers read
 * as "". */
void ctl_dlq_entry_read(struct ctl_dlq_entry *e, natsMsg *m, uint64_t seq, int64_t time_ms);

/* --stage, --reason, --tenant: NULL matches anything; otherwise an exact match. */
struct ctl_dlq_filter {
    const char *stage;
    const char *reason;
    const char *tenant;
};
bool ctl_dlq_entry_match(const struct ctl_dlq_entry *e, const struct ctl_dlq_filter *f);

/* {"seq","time_ms","time","stage","reason","tenant","rfq_id","subject","size","detail"}; a
 * string field is null when absent (or not UTF-8). New reference. */
json_t *ctl_dlq_entry_json(const struct ctl_dlq_entry *e);

/* Print a dead letter's payload for people: indented when it is JSON, else the bytes with
 * control characters and non-ASCII shown as \xNN. */
void ctl_dlq_print_payload(FILE *out, const char *data, size_t len);

#endif
