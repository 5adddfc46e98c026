/* ctl_sse: server-sent events framing (event/data fields, comments, blank-line dispatch). */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

void ctl_sse_init(struct ctl_sse *s)
{
    memset(s, 0, sizeof(*s));
}

void ctl_sse_free(struct ctl_sse *s)
{
    free(s->data);
    memset(s, 0, sizeof(*s));
}

/* Add one data line, joined to earlier ones by '\n'. */
static bool data_append(struct ctl_sse *s, const char *p, size_t n)
{
    size_t need = s->len + n + 2; /* a possible '\n' separator and the NUL */
    if (need > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < need)
            cap *= 2;
        char *d = realloc(s->data, cap);
        if (!d)
            return false;
        s->data = d;
        s->cap = cap;
    }
    if (s->has_data)
        s->data[s->len++] = '\n';
    memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
    s->has_data = true;
    return true;
}

/* What: one line of the stream, per the EventSource rules: "field: value" (one optional
 * space after the colon), ':' starts a comment, a blank line dispatches the event.
 * Fields other than event and data (id, retry) are ignored: rfqctl does not reconnect. */
bool ctl_sse_line(struct ctl_sse *s, const char *line, size_t len, ctl_event_fn on_event, void *arg)
{
    if (len == 0) {
        bool go = true;
        if (s->has_data)
            go = on_event(arg, s->event[0] ? s->event : "message", s->data);
        s->event[0] = '\0';
        s->len = 0;
        s->has_data = false;
        return go;
    }
    if (line[0] == ':')
        return true;
    const char *colon = memchr(line, ':', len);
    size_t name_len = colon ? (size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    size_t value_len = len - (size_t)(value - line);
    if (value_len && *value == ' ')
        value++, value_len--;
    if (name_len == 5 && memcmp(line, "event", 5) == 0) {
        size_t n = value_len < sizeof(s->event) - 1 ? value_len : sizeof(s->event) - 1;
        memcpy(s->event, value, n);
        s->event[n] = '\0';
    } else if (name_len == 4 && memcmp(line, "data", 4) == 0) {
        return data_append(s, value, value_len);
    }
    return true;
}
