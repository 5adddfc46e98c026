/* rfq_dlq: header keeping rules of dead letters and the replay message. */
#include "rfq_dlq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rfq_ids.h"
#include "rfq_nats.h"

#define DLQ_PREFIX "Rfq-Dlq-"
#define QUOTE_PREFIX "rfq.v1.quote."
#define SUBJECT_MAX 255
#define HDR_NAME_MAX 128 /* longer header names are not kept */

/* Case-insensitive substring test (names are ASCII). */
static bool has_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; *s; s++)
        if (strncasecmp(s, word, n) == 0)
            return true;
    return false;
}

rfq_dlq_hdr_kind rfq_dlq_header_kind(const char *name)
{
    static const char *const secret_words[] = {"authorization", "cookie",     "token",   "secret",
                                               "password",      "credential", "api-key", "apikey"};
    if (!name || !*name || strlen(name) > HDR_NAME_MAX)
        return RFQ_DLQ_HDR_DROP;
    if (strcasecmp(name, RFQ_HDR_MSG_ID) == 0)
        return RFQ_DLQ_HDR_MSG_ID;
    /* Nats-* headers steer the server (Nats-Expected-Stream, Nats-Rollup, ...): on a dead
     * letter they would make its own publish fail or misbehave. */
    if (strncasecmp(name, "Nats-", 5) == 0 ||
        strncasecmp(name, DLQ_PREFIX, strlen(DLQ_PREFIX)) == 0)
        return RFQ_DLQ_HDR_DROP;
    for (size_t i = 0; i < sizeof(secret_words) / sizeof(secret_words[0]); i++)
        if (has_word(name, secret_words[i]))
            return RFQ_DLQ_HDR_DROP;
    if (strcmp(name, RFQ_HDR_TENANT) == 0 || strcmp(name, RFQ_HDR_ID) == 0)
        return RFQ_DLQ_HDR_CONTEXT;
    return RFQ_DLQ_HDR_KEEP;
}

bool rfq_dlq_list_has(const char *list, const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (!list || n == 0)
        return false;
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed > 0 && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed == n && strncmp(p, name, n) == 0)
            return true;
        p += len;
    }
    return false;
}

bool rfq_dlq_header_replay_name(const char *stored, char *out, size_t cap)
{
    if (!stored || !*stored || cap == 0)
        return false;
    size_t plen = strlen(RFQ_HDR_DLQ_ORIG_PREFIX);
    const char *name = stored;
    if (strncmp(stored, RFQ_HDR_DLQ_ORIG_PREFIX, plen) == 0) {
        name = stored + plen;
        /* Only the context headers are ever kept this way. */
        if (strcmp(name, RFQ_HDR_TENANT) != 0 && strcmp(name, RFQ_HDR_ID) != 0)
            return false;
    } else if (strncasecmp(stored, DLQ_PREFIX, strlen(DLQ_PREFIX)) == 0 ||
               strncasecmp(stored, "Nats-", 5) == 0 || strcmp(stored, RFQ_HDR_REPLAY_OF) == 0 ||
               rfq_dlq_header_kind(stored) == RFQ_DLQ_HDR_DROP) {
        /* the dead letter's own; a credential is never kept, so never sent either */
        return false;
    }
    if (strlen(name) >= cap)
        return false;
    memcpy(out, name, strlen(name) + 1);
    return true;
}

bool rfq_dlq_subject_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > SUBJECT_MAX || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '*' || c == '>' || (c == '.' && s[i + 1] == '.'))
            return false;
    }
    return true;
}

bool rfq_dlq_subject_is_quote(const char *subject)
{
    return subject && strncmp(subject, QUOTE_PREFIX, strlen(QUOTE_PREFIX)) == 0;
}

/* Add every value of key in src to dst under name. */
static natsStatus copy_values(natsMsg *dst, const char *name, natsMsg *src, const char *key)
{
    const char **vals = NULL;
    int n = 0;
    natsStatus s = natsMsgHeader_Values(src, key, &vals, &n);
    if (s == NATS_NOT_FOUND)
        return NATS_OK;
    for (int i = 0; s == NATS_OK && i < n && i < RFQ_DLQ_VALUES_MAX; i++)
        s = natsMsgHeader_Add(dst, name, vals[i] ? vals[i] : "");
    free((void *)vals);
    return s;
}

/* One context header (Rfq-Tenant or Rfq-Id) of orig against the dead letter's own value:
 * equal -> nothing to keep; different -> kept under the Orig prefix; absent while the dead
 * letter sets it -> named in *added. */
static natsStatus copy_context(natsMsg *dl, natsMsg *orig, const char *key, const char *own,
                               char *added, size_t cap)
{
    const char **vals = NULL;
    int n = 0;
    natsStatus s = natsMsgHeader_Values(orig, key, &vals, &n);
    if (s == NATS_NOT_FOUND || (s == NATS_OK && n == 0)) {
        free((void *)vals);
        if (own) {
            size_t len = strlen(added);
            snprintf(added + len, cap - len, "%s%s", len ? "," : "", key);
        }
        return NATS_OK;
    }
    if (s != NATS_OK)
        return s;
    bool same = own && n == 1 && vals[0] && strcmp(vals[0], own) == 0;
    free((void *)vals);
    if (same)
        return NATS_OK;
    char name[64];
    snprintf(name, sizeof(name), "%s%s", RFQ_HDR_DLQ_ORIG_PREFIX, key);
    return copy_values(dl, name, orig, key);
}

rfq_status rfq_dlq_copy_headers(natsMsg *dl, natsMsg *orig, const char *tenant, const char *rfq_id)
{
    const char **keys = NULL;
    int n = 0;
    char added[64] = "";
    natsStatus s = natsMsgHeader_Keys(orig, &keys, &n);
    if (s == NATS_NO_MEMORY)
        return RFQ_ENOMEM;
    if (s != NATS_OK) { /* no headers at all */
        n = 0;
        s = NATS_OK;
    }
    int kept = 0;
    for (int i = 0; s == NATS_OK && i < n && kept < RFQ_DLQ_HEADERS_MAX; i++) {
        switch (rfq_dlq_header_kind(keys[i])) {
        case RFQ_DLQ_HDR_KEEP:
            s = copy_values(dl, keys[i], orig, keys[i]);
            kept++;
            break;
        case RFQ_DLQ_HDR_MSG_ID:
            s = copy_values(dl, RFQ_HDR_DLQ_MSG_ID, orig, keys[i]);
            kept++;
            break;
        case RFQ_DLQ_HDR_CONTEXT:
        case RFQ_DLQ_HDR_DROP:
            break;
        }
    }
    free((void *)keys);
    if (s == NATS_OK)
        s = copy_context(dl, orig, RFQ_HDR_TENANT, tenant, added, sizeof(added));
    if (s == NATS_OK)
        s = copy_context(dl, orig, RFQ_HDR_ID, rfq_id, added, sizeof(added));
    if (s == NATS_OK && added[0])
        s = natsMsgHeader_Set(dl, RFQ_HDR_DLQ_ADDED, added);
    return rfq_nats_status(s);
}

/* The header value of m (borrowed) or NULL. */
static const char *hdr(natsMsg *m, const char *key)
{
    const char *v = NULL;
    return natsMsgHeader_Get(m, key, &v) == NATS_OK ? v : NULL;
}

/* The replayed message's headers from the entry's. */
static natsStatus replay_headers(natsMsg *out, natsMsg *entry)
{
    const char **keys = NULL;
    int n = 0;
    natsStatus s = natsMsgHeader_Keys(entry, &keys, &n);
    if (s != NATS_OK) {
        free((void *)keys);
        return NATS_OK; /* no headers to restore */
    }
    const char *added = hdr(entry, RFQ_HDR_DLQ_ADDED);
    for (int i = 0; s == NATS_OK && i < n; i++) {
        char name[HDR_NAME_MAX + 1], orig_copy[64];
        if (!rfq_dlq_header_replay_name(keys[i], name, sizeof(name)))
            continue;
        bool context = strcmp(keys[i], RFQ_HDR_TENANT) == 0 || strcmp(keys[i], RFQ_HDR_ID) == 0;
        if (context) {
            /* The dead letter's own value: the original had the same, unless it lacked the
             * header or had another value (kept under the Orig prefix). */
            snprintf(orig_copy, sizeof(orig_copy), "%s%s", RFQ_HDR_DLQ_ORIG_PREFIX, keys[i]);
            if (rfq_dlq_list_has(added, keys[i]) || hdr(entry, orig_copy))
                continue;
        }
        s = copy_values(out, name, entry, keys[i]);
    }
    free((void *)keys);
    return s;
}

rfq_status rfq_dlq_replay_msg_create(natsMsg **out, natsMsg *entry, uint64_t seq)
{
    *out = NULL;
    const char *subject = hdr(entry, RFQ_HDR_DLQ_SUBJECT);
    if (!rfq_dlq_subject_valid(subject))
        return RFQ_EINVAL;
    const char *reply = hdr(entry, RFQ_HDR_DLQ_REPLY);
    if (reply && !rfq_dlq_subject_valid(reply))
        reply = NULL;
    int len = natsMsg_GetDataLength(entry);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, reply, natsMsg_GetData(entry), len > 0 ? len : 0);
    if (s == NATS_OK)
        s = replay_headers(m, entry);
    char seq_str[24];
    snprintf(seq_str, sizeof(seq_str), "%llu", (unsigned long long)seq);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_REPLAY_OF, seq_str);
    if (s == NATS_OK && rfq_dlq_subject_is_quote(subject)) {
        const char *old = hdr(entry, RFQ_HDR_DLQ_MSG_ID);
        char id[256];
        snprintf(id, sizeof(id), "%.200s.replay.%s", old && *old ? old : "dlq", seq_str);
        s = natsMsgHeader_Set(m, RFQ_HDR_MSG_ID, id);
    }
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return rfq_nats_status(s);
    }
    *out = m;
    return RFQ_OK;
}
