/* rfq_log: one JSON line per event on stderr, carrying component, tenant and RFQ id. */
#ifndef RFQ_LOG_H
#define RFQ_LOG_H

typedef enum { RFQ_DEBUG = 0, RFQ_INFO, RFQ_WARN, RFQ_ERROR } rfq_log_level;

/* Who is speaking and on whose behalf; fields may be NULL. All borrowed. */
struct rfq_log_ctx {
    const char *component; /* "requester", "aggregator", ... */
    const char *tenant;
    const char *rfq_id;
};

extern rfq_log_level rfq_log_min_level;

/* Set the minimum level from a name ("debug", "info", "warn", "error"); unknown keeps it. */
void rfq_log_set_level(const char *name);

/* Write one JSON line. Never pass tokens or secrets: the message is logged verbatim. */
void rfq_log_write(const struct rfq_log_ctx *ctx, rfq_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks the level before evaluating the arguments. */
#define RFQ_LOG(ctx, lvl, ...)                                                                     \
    do {                                                                                           \
        if ((lvl) >= rfq_log_min_level)                                                            \
            rfq_log_write((ctx), (lvl), __VA_ARGS__);                                              \
    } while (0)

#endif
