/* ctl_dlq: `rfqctl dlq list | show | replay`: reads the dead-letter stream RFQ_DLQ over NATS
 * as an administrator and sends an entry back through the stage that refused it. */
#include "ctl_dlq.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ctl.h"
#include "rfq_cfg.h"
#include "rfq_dlq.h"
#include "rfq_ids.h"
#include "rfq_log.h"
#include "rfq_nats.h"

#define DLQ_NATS_WAIT_MS 3000
#define DLQ_LIMIT_DEFAULT 20
#define DLQ_LIMIT_MAX 1000
/* list reads entries one by one, newest first; it stops after this many whatever the
 * filters matched, so a filter that matches nothing in a huge stream still ends. */
#define DLQ_SCAN_MAX 10000
#define DLQ_SUBJECT_PREFIX "rfq.v1.dlq."

static void dlq_help(void)
{
    printf(
        "Usage: rfqctl dlq list [--stage S] [--reason R] [--tenant T] [--limit N] [--json]\n"
        "       rfqctl dlq show SEQ [--json]\n"
        "       rfqctl dlq replay SEQ [--yes]\n"
        "\n"
        "Read the dead-letter stream " RFQ_STREAM_DLQ " (messages a stage refused, kept 7 days)\n"
        "and send an entry back through its stage.\n"
        "\n"
        "  list     newest first: stream sequence, time (UTC), stage, reason, tenant, RFQ id,\n"
        "           the subject the message arrived on, payload size. --stage (aggregator,\n"
        "           responder), --reason (e.g. late, unknown_rfq) and --tenant keep matching\n"
        "           entries; --limit N shows at most N (default %d, at most %d). At most %d\n"
        "           entries are read.\n"
        "  show     one entry: its headers and payload (indented when it is JSON)\n"
        "  replay   publish the entry's original payload and headers to its original subject,\n"
        "           through the stage: a quote goes to the quote stream (JetStream, Nats-Msg-Id\n"
        "           <original id>.replay.SEQ; the PubAck is printed), an RFQ to the responders\n"
        "           (core NATS, with its reply subject). Without --yes it only prints what it\n"
        "           would send. Entries without an original subject cannot be replayed. If the\n"
        "           stage refuses the message again, a new dead letter records it (header\n"
        "           " RFQ_HDR_REPLAY_OF ": SEQ).\n"
        "\n"
        "  --json       machine-readable output (list, show)\n"
        "  --nats URL   default $RFQ_NATS_URL or nats://127.0.0.1:4222; the admin user,\n"
        "               nats://admin:PASSWORD@HOST:PORT (never printed)\n"
        "\n"
        "Exit status: 0 done, 1 failed (e.g. no such entry, cannot be replayed), 2 bad command\n"
        "line, 3 NATS unreachable.\n"
        "\n"
        "Example: rfqctl dlq list --reason unknown_rfq --tenant acme --limit 5\n",
        DLQ_LIMIT_DEFAULT, DLQ_LIMIT_MAX, DLQ_SCAN_MAX);
}

/* ---- pure helpers ---- */

/* Copy a header value with control characters replaced ("" when absent). */
static void hdr_copy(natsMsg *m, const char *key, char *out, size_t cap)
{
    const char *v = NULL;
    out[0] = '\0';
    if (natsMsgHeader_Get(m, key, &v) != NATS_OK || !v)
        return;
    size_t n = 0;
    for (; v[n] && n + 1 < cap; n++)
        out[n] = ((unsigned char)v[n] < 0x20 || v[n] == 0x7f) ? '?' : v[n];
    out[n] = '\0';
}

void ctl_dlq_entry_read(struct ctl_dlq_entry *e, natsMsg *m, uint64_t seq, int64_t time_ms)
{
    memset(e, 0, sizeof(*e));
    e->seq = seq;
    e->time_ms = time_ms;
    const char *subj = natsMsg_GetSubject(m);
    size_t plen = strlen(DLQ_SUBJECT_PREFIX);
    if (subj && strncmp(subj, DLQ_SUBJECT_PREFIX, plen) == 0)
        snprintf(e->stage, sizeof(e->stage), "%s", subj + plen);
    hdr_copy(m, RFQ_HDR_DLQ_REASON, e->reason, sizeof(e->reason));
    hdr_copy(m, RFQ_HDR_TENANT, e->tenant, sizeof(e->tenant));
    hdr_copy(m, RFQ_HDR_ID, e->rfq_id, sizeof(e->rfq_id));
    hdr_copy(m, RFQ_HDR_DLQ_SUBJECT, e->subject, sizeof(e->subject));
    hdr_copy(m, RFQ_HDR_DLQ_DETAIL, e->detail, sizeof(e->detail));
    int len = natsMsg_GetDataLength(m);
    e->size = len > 0 ? (size_t)len : 0;
}

bool ctl_dlq_entry_match(const struct ctl_dlq_entry *e, const struct ctl_dlq_filter *f)
{
    return (!f->stage || strcmp(f->stage, e->stage) == 0) &&
           (!f->reason || strcmp(f->reason, e->reason) == 0) &&
           (!f->tenant || strcmp(f->tenant, e->tenant) == 0);
}

/* A JSON string, or null for "" and for text that is not UTF-8 (jansson refuses it). */
static json_t *str_or_null(const char *s)
{
    json_t *j = s[0] ? json_string(s) : NULL;
    return j ? j : json_null();
}

json_t *ctl_dlq_entry_json(const struct ctl_dlq_entry *e)
{
    char t[32];
    ctl_format_time(t, sizeof(t), e->time_ms);
    json_t *j = json_object();
    json_object_set_new(j, "seq", json_integer((json_int_t)e->seq));
    json_object_set_new(j, "time_ms", json_integer((json_int_t)e->time_ms));
    json_object_set_new(j, "time", json_string(t));
    json_object_set_new(j, "stage", str_or_null(e->stage));
    json_object_set_new(j, "reason", str_or_null(e->reason));
    json_object_set_new(j, "tenant", str_or_null(e->tenant));
    json_object_set_new(j, "rfq_id", str_or_null(e->rfq_id));
    json_object_set_new(j, "subject", str_or_null(e->subject));
    json_object_set_new(j, "size", json_integer((json_int_t)e->size));
    json_object_set_new(j, "detail", str_or_null(e->detail));
    return j;
}

void ctl_dlq_print_payload(FILE *out, const char *data, size_t len)
{
    json_error_t jerr;
    json_t *j = len ? json_loadb(data, len, 0, &jerr) : NULL;
    char *pretty = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (pretty) {
        fprintf(out, "%s\n", pretty);
        free(pretty);
        return;
    }
    if (len == 0) {
        fprintf(out, "(empty)\n");
        return;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)data[i];
        if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f))
            fputc(c, out);
        else
            fprintf(out, "\\x%02x", c);
    }
    fputc('\n', out);
}

/* ---- NATS ---- */

struct dlq_conn {
    natsConnection *nc;
    jsCtx *js;
};

static void conn_close(struct dlq_conn *c)
{
    jsCtx_Destroy(c->js);
    if (c->nc) {
        natsConnection_Close(c->nc);
        natsConnection_Destroy(c->nc);
    }
    memset(c, 0, sizeof(*c));
}

static int conn_open(struct dlq_conn *c, const char *url)
{
    char shown[512];
    memset(c, 0, sizeof(*c));
    if (rfq_nats_connect(&c->nc, url, "rfqctl", true, DLQ_NATS_WAIT_MS) != RFQ_OK) {
        fprintf(stderr, "rfqctl dlq: cannot connect to NATS at %s\n",
                rfq_url_redact(url, shown, sizeof(shown)));
        return CTL_EXIT_UNREACHABLE;
    }
    if (natsConnection_JetStream(&c->js, c->nc, NULL) != NATS_OK) {
        fprintf(stderr, "rfqctl dlq: cannot use JetStream\n");
        conn_close(c);
        return CTL_EXIT_FAIL;
    }
    return CTL_EXIT_OK;
}

/* Read entry seq: *out new (natsMsg_Destroy). Prints why not; returns an exit code. */
static int entry_get(struct dlq_conn *c, uint64_t seq, natsMsg **out)
{
    jsErrCode jerr = 0;
    natsStatus s = js_GetMsg(out, c->js, RFQ_STREAM_DLQ, seq, NULL, &jerr);
    if (s == NATS_OK)
        return CTL_EXIT_OK;
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr || jerr == JSStreamNotFoundErr)
        fprintf(stderr, "rfqctl dlq: no entry %llu in %s\n", (unsigned long long)seq,
                RFQ_STREAM_DLQ);
    else
        fprintf(stderr, "rfqctl dlq: cannot read entry %llu: %s (js error %d)\n",
                (unsigned long long)seq, natsStatus_GetText(s), (int)jerr);
    return CTL_EXIT_FAIL;
}

static int64_t entry_time_ms(natsMsg *m)
{
    return natsMsg_GetTime(m) / 1000000;
}

/* ---- actions ---- */

static int act_list(struct dlq_conn *c, const struct ctl_dlq_filter *f, long long limit, bool json)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, c->js, RFQ_STREAM_DLQ, NULL, &jerr);
    uint64_t first = 1, last = 0;
    if (s == NATS_OK) {
        first = si->State.FirstSeq;
        last = si->State.LastSeq;
    } else if (!(s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)) {
        fprintf(stderr, "rfqctl dlq: cannot read stream %s: %s (js error %d)\n", RFQ_STREAM_DLQ,
                natsStatus_GetText(s), (int)jerr);
        return CTL_EXIT_FAIL;
    }
    jsStreamInfo_Destroy(si);

    json_t *arr = json_array();
    int scanned = 0;
    for (uint64_t seq = last; seq >= first && seq > 0 && (long long)json_array_size(arr) < limit;
         seq--) {
        if (scanned++ >= DLQ_SCAN_MAX) {
            fprintf(stderr, "rfqctl dlq: stopped after reading %d entries (down to seq %llu)\n",
                    DLQ_SCAN_MAX, (unsigned long long)seq + 1);
            break;
        }
        natsMsg *m = NULL;
        s = js_GetMsg(&m, c->js, RFQ_STREAM_DLQ, seq, NULL, &jerr);
        if (s != NATS_OK) {
            if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr)
                continue; /* deleted, or aged out meanwhile */
            fprintf(stderr, "rfqctl dlq: cannot read entry %llu: %s (js error %d)\n",
                    (unsigned long long)seq, natsStatus_GetText(s), (int)jerr);
            json_decref(arr);
            return CTL_EXIT_FAIL;
        }
        struct ctl_dlq_entry e;
        ctl_dlq_entry_read(&e, m, seq, entry_time_ms(m));
        natsMsg_Destroy(m);
        if (ctl_dlq_entry_match(&e, f))
            json_array_append_new(arr, ctl_dlq_entry_json(&e));
    }
    if (json)
        ctl_print_json(arr);
    else
        ctl_print_dlq_table(arr);
    json_decref(arr);
    return CTL_EXIT_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The header names of m, sorted (new array of borrowed names; free()). */
static const char **header_names(natsMsg *m, int *n)
{
    const char **keys = NULL;
    *n = 0;
    if (natsMsgHeader_Keys(m, &keys, n) != NATS_OK) {
        *n = 0;
        return NULL;
    }
    qsort(keys, (size_t)*n, sizeof(*keys), cmp_str);
    return keys;
}

/* Print every header name: value line of m, control characters replaced. */
static void print_headers(natsMsg *m, const char *indent)
{
    int n = 0;
    const char **keys = header_names(m, &n);
    for (int i = 0; i < n; i++) {
        const char **vals = NULL;
        int nv = 0;
        if (natsMsgHeader_Values(m, keys[i], &vals, &nv) != NATS_OK)
            continue;
        for (int k = 0; k < nv; k++) {
            printf("%s%s: ", indent, keys[i]);
            for (const char *p = vals[k] ? vals[k] : ""; *p; p++)
                putchar(((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p);
            putchar('\n');
        }
        free((void *)vals);
    }
    free((void *)keys);
}

/* The JSON form of an entry for show --json. New reference. */
static json_t *entry_full_json(natsMsg *m, uint64_t seq)
{
    struct ctl_dlq_entry e;
    ctl_dlq_entry_read(&e, m, seq, entry_time_ms(m));
    json_t *j = ctl_dlq_entry_json(&e);
    json_t *hdrs = json_object();
    int n = 0;
    const char **keys = header_names(m, &n);
    for (int i = 0; i < n; i++) {
        const char **vals = NULL;
        int nv = 0;
        if (natsMsgHeader_Values(m, keys[i], &vals, &nv) != NATS_OK)
            continue;
        json_t *v = nv == 1 ? json_string(vals[0]) : json_array();
        for (int k = 0; nv != 1 && k < nv; k++)
            json_array_append_new(v, json_string(vals[k]));
        if (v)
            json_object_set_new(hdrs, keys[i], v);
        free((void *)vals);
    }
    free((void *)keys);
    json_object_set_new(j, "dlq_subject", json_string(natsMsg_GetSubject(m)));
    json_object_set_new(j, "headers", hdrs);
    const char *data = natsMsg_GetData(m);
    json_error_t jerr;
    json_t *payload = e.size ? json_loadb(data, e.size, 0, &jerr) : NULL;
    json_t *text = payload ? NULL : json_stringn(data ? data : "", e.size);
    if (payload) {
        json_object_set_new(j, "payload", payload);
    } else if (text) {
        json_object_set_new(j, "payload_text", text);
    } else {
        /* not UTF-8: base64 keeps every byte */
        char *b64 = malloc(4 * ((e.size + 2) / 3) + 1);
        if (b64) {
            EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)data, (int)e.size);
            json_object_set_new(j, "payload_base64", json_string(b64));
            free(b64);
        }
    }
    return j;
}

static int act_show(struct dlq_conn *c, uint64_t seq, bool json)
{
    natsMsg *m = NULL;
    int rc = entry_get(c, seq, &m);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (json) {
        json_t *j = entry_full_json(m, seq);
        ctl_print_json(j);
        json_decref(j);
        natsMsg_Destroy(m);
        return CTL_EXIT_OK;
    }
    char t[32];
    ctl_format_time(t, sizeof(t), entry_time_ms(m));
    int len = natsMsg_GetDataLength(m);
    printf("%-9s %llu\n%-9s %s UTC\n%-9s %s\n%-9s %d bytes\n\nheaders:\n", "seq",
           (unsigned long long)seq, "time", t, "subject", natsMsg_GetSubject(m), "size",
           len > 0 ? len : 0);
    print_headers(m, "  ");
    printf("\npayload:\n");
    ctl_dlq_print_payload(stdout, natsMsg_GetData(m), len > 0 ? (size_t)len : 0);
    natsMsg_Destroy(m);
    return CTL_EXIT_OK;
}

static int act_replay(struct dlq_conn *c, uint64_t seq, bool yes)
{
    natsMsg *entry = NULL;
    int rc = entry_get(c, seq, &entry);
    if (rc != CTL_EXIT_OK)
        return rc;
    natsMsg *m = NULL;
    if (rfq_dlq_replay_msg_create(&m, entry, seq) != RFQ_OK) {
        struct ctl_dlq_entry e;
        ctl_dlq_entry_read(&e, entry, seq, 0);
        fprintf(stderr,
                "rfqctl dlq: entry %llu has no usable original subject (%s: '%s'): it cannot "
                "be replayed\n",
                (unsigned long long)seq, RFQ_HDR_DLQ_SUBJECT, e.subject);
        natsMsg_Destroy(entry);
        return CTL_EXIT_FAIL;
    }
    natsMsg_Destroy(entry);
    const char *subject = natsMsg_GetSubject(m);
    const char *reply = natsMsg_GetReply(m);
    bool quote = rfq_dlq_subject_is_quote(subject);
    int len = natsMsg_GetDataLength(m);
    if (!yes) {
        printf("would replay entry %llu to %s%s%s (%s, %d bytes) with headers:\n",
               (unsigned long long)seq, subject, reply ? " reply " : "", reply ? reply : "",
               quote ? "JetStream, stream " RFQ_STREAM_QUOTES : "core NATS", len > 0 ? len : 0);
        print_headers(m, "  ");
        printf("(dry run: add --yes to send it)\n");
        natsMsg_Destroy(m);
        return CTL_EXIT_OK;
    }
    rc = CTL_EXIT_OK;
    if (quote) {
        jsPubAck *pa = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_PublishMsg(&pa, c->js, m, NULL, &jerr);
        if (s != NATS_OK) {
            fprintf(stderr, "rfqctl dlq: replay of entry %llu to %s failed: %s (js error %d)\n",
                    (unsigned long long)seq, subject, natsStatus_GetText(s), (int)jerr);
            rc = CTL_EXIT_FAIL;
        } else {
            printf("replayed entry %llu to %s: PubAck stream %s seq %llu%s\n",
                   (unsigned long long)seq, subject, pa->Stream ? pa->Stream : "?",
                   (unsigned long long)pa->Sequence,
                   pa->Duplicate ? " (duplicate: this entry was already replayed in the last 2 "
                                   "minutes; nothing new was stored)"
                                 : "");
        }
        jsPubAck_Destroy(pa);
    } else {
        natsStatus s = natsConnection_PublishMsg(c->nc, m);
        if (s == NATS_OK)
            s = natsConnection_FlushTimeout(c->nc, DLQ_NATS_WAIT_MS);
        if (s != NATS_OK) {
            fprintf(stderr, "rfqctl dlq: replay of entry %llu to %s failed: %s\n",
                    (unsigned long long)seq, subject, natsStatus_GetText(s));
            rc = CTL_EXIT_FAIL;
        } else {
            printf("replayed entry %llu to %s (core NATS: no acknowledgement; a new refusal "
                   "shows up as a new entry)\n",
                   (unsigned long long)seq, subject);
        }
    }
    natsMsg_Destroy(m);
    return rc;
}

/* ---- command line ---- */

enum dlq_action { A_LIST, A_SHOW, A_REPLAY, A_NONE };

int ctl_cmd_dlq(int argc, char **argv, struct ctl_global *g)
{
    enum { O_STAGE = CTL_OPT_FIRST_FREE, O_REASON, O_TENANT, O_LIMIT, O_YES, O_NATS };
    static const struct option opts[] = {CTL_GLOBAL_OPTIONS,
                                         {"json", 0, NULL, CTL_OPT_JSON},
                                         {"stage", 1, NULL, O_STAGE},
                                         {"reason", 1, NULL, O_REASON},
                                         {"tenant", 1, NULL, O_TENANT},
                                         {"limit", 1, NULL, O_LIMIT},
                                         {"yes", 0, NULL, O_YES},
                                         {"nats", 1, NULL, O_NATS},
                                         {NULL, 0, NULL, 0}};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        if (argc < 2)
            return ctl_usage_error("dlq", "an action is needed: list, show or replay");
        dlq_help();
        return CTL_EXIT_OK;
    }
    enum dlq_action act = strcmp(argv[1], "list") == 0     ? A_LIST
                          : strcmp(argv[1], "show") == 0   ? A_SHOW
                          : strcmp(argv[1], "replay") == 0 ? A_REPLAY
                                                           : A_NONE;
    if (act == A_NONE)
        return ctl_usage_error("dlq", "unknown action '%s'", argv[1]);
    const char *url = rfq_env_str("RFQ_NATS_URL", "nats://127.0.0.1:4222");
    struct ctl_dlq_filter f = {NULL, NULL, NULL};
    long long limit = DLQ_LIMIT_DEFAULT;
    bool json = false, yes = false, filtered = false;
    int opt, rc;
    int ac = argc - 1; /* argv[1] plays the program name for getopt */
    char **av = argv + 1;
    optind = 0;
    opterr = 0;
    while ((opt = getopt_long(ac, av, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            dlq_help();
            return CTL_EXIT_OK;
        case CTL_OPT_JSON:
            json = true;
            break;
        case O_STAGE:
            f.stage = optarg;
            filtered = true;
            break;
        case O_REASON:
            f.reason = optarg;
            filtered = true;
            break;
        case O_TENANT:
            f.tenant = optarg;
            filtered = true;
            break;
        case O_LIMIT:
            if (!ctl_parse_int(optarg, 1, DLQ_LIMIT_MAX, &limit))
                return ctl_usage_error("dlq", "--limit must be an integer in 1..%d, not '%s'",
                                       DLQ_LIMIT_MAX, optarg);
            filtered = true;
            break;
        case O_YES:
            yes = true;
            break;
        case O_NATS:
            url = optarg;
            break;
        default:
            if ((rc = ctl_global_option("dlq", opt, optarg, av, g)) >= 0)
                return rc;
        }
    }
    long long seq = 0;
    if (act == A_LIST) {
        if (optind < ac)
            return ctl_usage_error("dlq", "list takes no argument, got '%s'", av[optind]);
    } else {
        if (optind >= ac)
            return ctl_usage_error("dlq", "%s needs the entry's stream sequence", av[0]);
        if (!ctl_parse_int(av[optind], 1, INT64_MAX, &seq))
            return ctl_usage_error("dlq", "'%s' is not a stream sequence (1, 2, ...)", av[optind]);
        if (optind + 1 < ac)
            return ctl_usage_error("dlq", "unexpected argument '%s'", av[optind + 1]);
        if (filtered)
            return ctl_usage_error("dlq", "--stage, --reason, --tenant and --limit are for list");
    }
    if (json && act == A_REPLAY)
        return ctl_usage_error("dlq", "--json is for list and show");
    if (yes && act != A_REPLAY)
        return ctl_usage_error("dlq", "--yes is for replay");

    /* nats.c and the common library log JSON lines: only errors matter here. */
    rfq_log_set_level(rfq_env_str("RFQ_LOG_LEVEL", "error"));
    struct dlq_conn c;
    if ((rc = conn_open(&c, url)) != CTL_EXIT_OK)
        return rc;
    switch (act) {
    case A_LIST:
        rc = act_list(&c, &f, limit, json);
        break;
    case A_SHOW:
        rc = act_show(&c, (uint64_t)seq, json);
        break;
    case A_REPLAY:
        rc = act_replay(&c, (uint64_t)seq, yes);
        break;
    case A_NONE:
        break;
    }
    conn_close(&c);
    return rc;
}
