/* rfq_status: names for status codes and the error-detail helper. */
#include "rfq_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *rfq_status_str(rfq_status st)
{
    switch (st) {
    case RFQ_OK:
        return "ok";
    case RFQ_EINVAL:
        return "invalid";
    case RFQ_ENOMEM:
        return "no_memory";
    case RFQ_ETIMEOUT:
        return "timeout";
    case RFQ_EAUTH:
        return "unauthorized";
    case RFQ_EPROTO:
        return "protocol";
    case RFQ_ENATS:
        return "nats";
    case RFQ_EREDIS:
        return "redis";
    case RFQ_ENOTFOUND:
        return "not_found";
    case RFQ_ETOOBIG:
        return "too_big";
    case RFQ_EIO:
        return "io";
    case RFQ_ECLOSED:
        return "closed";
    }
    return "unknown";
}

rfq_status rfq_err_set(struct rfq_err *err, rfq_status st, const char *field, const char *fmt, ...)
{
    if (!err)
        return st;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return st;
}
