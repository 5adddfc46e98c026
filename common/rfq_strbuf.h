/* rfq_strbuf: a growing NUL-terminated string for hand-written encoders (quotes, metrics text),
 * where building a jansson tree or sizing the output up front would cost more than the text. */
#ifndef RFQ_STRBUF_H
#define RFQ_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* Start as {0}. A failed allocation sets failed, and later writes are dropped: check it once
 * at the end instead of after every write. */
struct rfq_strbuf {
    char *p;
    size_t len, cap;
    bool failed;
};

/* Append s[0..n). */
void rfq_strbuf_put(struct rfq_strbuf *b, const char *s, size_t n);
/* Append formatted text. */
void rfq_strbuf_printf(struct rfq_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Release the text; the struct can be reused after. */
void rfq_strbuf_free(struct rfq_strbuf *b);

#endif
