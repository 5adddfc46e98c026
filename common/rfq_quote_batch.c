/* rfq_quote_batch: joining answers into one batch body and parsing it back. */
#include "rfq_quote_batch.h"

#include <stdlib.h>
#include <string.h>

bool rfq_quote_body_is_batch(const char *buf, size_t len)
{
    for (size_t i = 0; buf && i < len; i++) {
        char c = buf[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return c == '[';
    }
    return false;
}

int rfq_quote_batch_fit(const size_t *lens, int n)
{
    if (n <= 0)
        return 0;
    size_t total = 1; /* '[' */
    int k = 0;
    while (k < n && k < RFQ_QUOTE_BATCH_MAX) {
        size_t next = total + lens[k] + 1; /* the answer and ',' or ']' */
        if (next > RFQ_QUOTE_BATCH_BODY_MAX)
            break;
        total = next;
        k++;
    }
    return k > 0 ? k : 1;
}

rfq_status rfq_quote_batch_join(char *const *bodies, const size_t *lens, int n, char **out,
                                size_t *out_len)
{
    *out = NULL;
    if (n < 1 || n > RFQ_QUOTE_BATCH_MAX)
        return RFQ_EINVAL;
    size_t total = 1;
    for (int i = 0; i < n; i++)
        total += lens[i] + 1;
    if (total > RFQ_QUOTE_BATCH_BODY_MAX)
        return RFQ_ETOOBIG;
    char *p = malloc(total + 1);
    if (!p)
        return RFQ_ENOMEM;
    size_t at = 0;
    p[at++] = '[';
    for (int i = 0; i < n; i++) {
        memcpy(p + at, bodies[i], lens[i]);
        at += lens[i];
        p[at++] = i + 1 < n ? ',' : ']';
    }
    p[at] = '\0';
    *out = p;
    if (out_len)
        *out_len = at;
    return RFQ_OK;
}

json_t *rfq_quote_batch_parse(const char *buf, size_t len, rfq_status *why, struct rfq_err *err)
{
    if (len > RFQ_QUOTE_BATCH_BODY_MAX) {
        *why = rfq_err_set(err, RFQ_ETOOBIG, "", "batch of %zu bytes exceeds the limit of %d", len,
                           RFQ_QUOTE_BATCH_BODY_MAX);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = buf && len ? json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!root) {
        *why = rfq_err_set(err, RFQ_EINVAL, "", "batch is not valid JSON");
        return NULL;
    }
    size_t n = json_is_array(root) ? json_array_size(root) : 0;
    bool objects = n >= 1 && n <= RFQ_QUOTE_BATCH_MAX;
    for (size_t i = 0; objects && i < n; i++)
        objects = json_is_object(json_array_get(root, i));
    if (!objects) {
        json_decref(root);
        *why = rfq_err_set(err, RFQ_EPROTO, "", "a batch must be a JSON array of 1 to %d objects",
                           RFQ_QUOTE_BATCH_MAX);
        return NULL;
    }
    *why = RFQ_OK;
    return root;
}
