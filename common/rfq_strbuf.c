/* rfq_strbuf: doubling growth, so n appends cost O(n) copies. */
#include "rfq_strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for want more bytes and the NUL; false (failed set) when memory ran out. */
static bool reserve(struct rfq_strbuf *b, size_t want)
{
    if (b->failed)
        return false;
    if (b->len + want + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + want + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void rfq_strbuf_put(struct rfq_strbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void rfq_strbuf_printf(struct rfq_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void rfq_strbuf_free(struct rfq_strbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}
