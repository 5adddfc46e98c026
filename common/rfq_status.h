/* rfq_status: the one error vocabulary every module returns. */
#ifndef RFQ_STATUS_H
#define RFQ_STATUS_H

typedef enum {
    RFQ_OK = 0,
    RFQ_EINVAL,    /* input failed validation (client or responder fault) */
    RFQ_ENOMEM,    /* allocation failed */
    RFQ_ETIMEOUT,  /* a dependency did not answer in time */
    RFQ_EAUTH,     /* token missing, malformed or not valid; or a server refused our login */
    RFQ_EPROTO,    /* peer spoke the protocol wrongly */
    RFQ_ENATS,     /* NATS call failed */
    RFQ_EREDIS,    /* Redis call failed */
    RFQ_ENOTFOUND, /* no such RFQ (for this tenant) */
    RFQ_ETOOBIG,   /* input over its size cap */
    RFQ_EIO,       /* file or system call failed */
    RFQ_ECLOSED,   /* the RFQ is no longer open */
} rfq_status;

/* Short stable name of a status ("ok", "invalid", ...); never NULL, borrowed. */
const char *rfq_status_str(rfq_status st);

/* Caller-supplied error detail: where a decode or check failed and why. */
struct rfq_err {
    char field[64];    /* JSON path or claim that failed, "" when not about one field */
    char message[192]; /* human-readable reason, safe to return to the client */
};

/* Fill err (may be NULL) with a field and printf-style message; returns st for chaining. */
rfq_status rfq_err_set(struct rfq_err *err, rfq_status st, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
