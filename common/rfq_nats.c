/* rfq_nats: connection options, streams and dead letters. */
#include "rfq_nats.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rfq_cfg.h"
#include "rfq_dlq.h"
#include "rfq_ids.h"
#include "rfq_log.h"

rfq_status rfq_nats_status(natsStatus s)
{
    if (s == NATS_OK)
        return RFQ_OK;
    if (s == NATS_TIMEOUT)
        return RFQ_ETIMEOUT;
    if (s == NATS_NO_MEMORY)
        return RFQ_ENOMEM;
    return RFQ_ENATS;
}

/* The connection callbacks run on nats.c threads, possibly after natsConnection_Destroy
 * returned, so they take no closure: nothing of the caller's may be referenced. */
static const struct rfq_log_ctx nats_log_ctx = {.component = "nats"};

static void on_disconnected(natsConnection *nc, void *closure)
{
    (void)closure;
    if (natsConnection_IsClosed(nc))
        return; /* a deliberate close, not an outage */
    RFQ_LOG(&nats_log_ctx, RFQ_WARN, "nats disconnected, reconnecting");
}

/* Monotonic time of the latest reconnection of any connection of the process, 0 = none. */
static _Atomic int64_t last_reconnect_ns;

static void on_reconnected(natsConnection *nc, void *closure)
{
    (void)nc;
    (void)closure;
    atomic_store(&last_reconnect_ns, rfq_mono_ns());
    RFQ_LOG(&nats_log_ctx, RFQ_INFO, "nats reconnected");
}

int64_t rfq_nats_since_reconnect_ms(void)
{
    int64_t t = atomic_load(&last_reconnect_ns);
    return t ? (rfq_mono_ns() - t) / 1000000 : INT64_MAX;
}

static void on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    (void)closure;
    /* The server's -ERR text names the subject ('Permissions Violation for Subscription to
     * "_INBOX.>"'); nats.c makes it the connection's last error just before this call. Only
     * used when it is this error's, so a stale text is never shown. Server texts carry no
     * credentials. */
    const char *text = NULL;
    if (natsConnection_GetLastError(nc, &text) != err || !text)
        text = "";
    const char *subject = sub ? natsSubscription_GetSubject(sub) : NULL;
    RFQ_LOG(&nats_log_ctx, RFQ_WARN, "nats async error: %s%s%.200s%s%.200s%s",
            natsStatus_GetText(err), text[0] ? ": " : "", text, subject ? " (subscription " : "",
            subject ? subject : "", subject ? ")" : "");
}

bool rfq_nats_inbox_prefix_valid(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (n == 0 || n > RFQ_NATS_INBOX_PREFIX_MAX || p[0] == '.' || p[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c >= 0x7f || c == '*' || c == '>' || (c == '.' && p[i + 1] == '.'))
            return false;
    }
    return true;
}

/* nats.c's last error reads "(conn.c:1905): Authorization Violation": keep the server's part. */
static const char *last_error_text(void)
{
    const char *t = nats_GetLastError(NULL);
    if (!t || !*t)
        return "refused";
    const char *sep = t[0] == '(' ? strstr(t, "): ") : NULL;
    return sep ? sep + 3 : t;
}

rfq_status rfq_nats_connect(natsConnection **out, const char *url, const char *name, bool send_asap,
                            int wait_ms)
{
    return rfq_nats_connect_inbox(out, url, name, send_asap, wait_ms, NULL);
}

rfq_status rfq_nats_connect_inbox(natsConnection **out, const char *url, const char *name,
                                  bool send_asap, int wait_ms, const char *inbox_prefix)
{
    if (inbox_prefix && *inbox_prefix && !rfq_nats_inbox_prefix_valid(inbox_prefix))
        return RFQ_EINVAL;
    /* No lock spinning: nats.c spins up to 2000 trylocks before blocking on a contended lock,
     * which on a machine with few cores burns the CPU the lock holder needs (about a tenth of
     * a responder's instructions under load). Must come before any other nats.c call; a later
     * call keeps the first setting. */
    natsStatus s = nats_Open(0);
    natsOptions *opts = NULL;
    if (s == NATS_OK)
        s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = natsOptions_SetURL(opts, url);
    if (s == NATS_OK && inbox_prefix && *inbox_prefix)
        s = natsOptions_SetCustomInboxPrefix(opts, inbox_prefix);
    if (s == NATS_OK)
        s = natsOptions_SetName(opts, name);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 250);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(opts, 8 * 1024 * 1024);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPendingMsgs(opts, 1000000);
    if (s == NATS_OK)
        s = natsOptions_SetSendAsap(opts, send_asap);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(opts, on_disconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(opts, on_reconnected, NULL);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(opts, on_async_error, NULL);
    if (s != NATS_OK) {
        natsOptions_Destroy(opts);
        return rfq_nats_status(s);
    }
    int64_t until = rfq_mono_ns() + (int64_t)wait_ms * 1000000;
    for (;;) {
        s = natsConnection_Connect(out, opts);
        /* Refused credentials stay refused: waiting would only delay the error. */
        if (s == NATS_OK || s == NATS_CONNECTION_AUTH_FAILED || rfq_mono_ns() >= until)
            break;
        usleep(100 * 1000);
    }
    natsOptions_Destroy(opts);
    if (s == NATS_CONNECTION_AUTH_FAILED) {
        char shown[512]; /* the URL may carry a password */
        RFQ_LOG(&nats_log_ctx, RFQ_ERROR,
                "NATS at %s refused the credentials (%s): check the user and password in the "
                "URL",
                rfq_url_redact(url, shown, sizeof(shown)), last_error_text());
        return RFQ_EAUTH;
    }
    return rfq_nats_status(s);
}

const char *rfq_nats_header(natsMsg *msg, const char *key)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(msg, key, &v) != NATS_OK)
        return NULL;
    return v;
}

static rfq_status ensure_stream(jsCtx *js, jsStreamConfig *cfg)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_AddStream(&si, js, cfg, NULL, &jerr);
    if (s != NATS_OK && jerr == JSStreamNameExistErr)
        s = js_UpdateStream(&si, js, cfg, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    if (s != NATS_OK) {
        struct rfq_log_ctx ctx = {.component = "nats"};
        RFQ_LOG(&ctx, RFQ_ERROR, "cannot create stream %s: %s (js error %d)", cfg->Name,
                natsStatus_GetText(s), (int)jerr);
    }
    return rfq_nats_status(s);
}

natsStatus rfq_nats_inbox_subscribe(natsConnection *nc, natsSubscription **sub, char *inbox,
                                    size_t cap)
{
    *sub = NULL;
    natsInbox *fresh = NULL;
    natsStatus s = natsInbox_Create(&fresh);
    if (s == NATS_OK && (size_t)snprintf(inbox, cap, "%s", fresh) >= cap)
        s = NATS_INVALID_ARG;
    natsInbox_Destroy(fresh);
    if (s == NATS_OK)
        s = natsConnection_SubscribeSync(sub, nc, inbox);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(*sub, -1, -1);
    if (s != NATS_OK) {
        natsSubscription_Destroy(*sub);
        *sub = NULL;
    }
    return s;
}

rfq_status rfq_streams_ensure(jsCtx *js)
{
    const char *quote_subjects[] = {RFQ_SUBJECT_QUOTES_ALL};
    jsStreamConfig q;
    jsStreamConfig_Init(&q);
    q.Name = RFQ_STREAM_QUOTES;
    q.Subjects = quote_subjects;
    q.SubjectsLen = 1;
    q.Storage = js_FileStorage;
    q.Retention = js_WorkQueuePolicy;
    q.MaxAge = (int64_t)3600 * 1000000000;    /* an hour: far beyond any RFQ deadline */
    q.Duplicates = (int64_t)120 * 1000000000; /* re-sent quotes are dropped for 2 min */
    q.MaxMsgSize = 64 * 1024;
    rfq_status st = ensure_stream(js, &q);
    if (st != RFQ_OK)
        return st;

    const char *dlq_subjects[] = {RFQ_SUBJECT_DLQ_ALL};
    jsStreamConfig d;
    jsStreamConfig_Init(&d);
    d.Name = RFQ_STREAM_DLQ;
    d.Subjects = dlq_subjects;
    d.SubjectsLen = 1;
    d.Storage = js_FileStorage;
    d.Retention = js_LimitsPolicy;
    d.MaxAge = (int64_t)7 * 24 * 3600 * 1000000000;
    d.MaxBytes = (int64_t)1024 * 1024 * 1024;
    return ensure_stream(js, &d);
}

/* Header values must not carry CR/LF or other controls (they would break the header block),
 * and stay short. */
static const char *header_safe(char *buf, size_t cap, const char *v)
{
    size_t n = 0;
    for (; v && v[n] && n + 1 < cap; n++)
        buf[n] = (v[n] < 0x20 || v[n] == 0x7f) ? '?' : v[n];
    buf[n] = '\0';
    return buf;
}

rfq_status rfq_dlq_msg_create(natsMsg **out, const struct rfq_dead_letter *dl, const void *data,
                              int len)
{
    char subject[RFQ_KEY_MAX], detail[256];
    *out = NULL;
    rfq_status st = rfq_subject_dlq(subject, sizeof(subject), dl->stage);
    if (st != RFQ_OK)
        return st;
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, RFQ_HDR_DLQ_REASON, dl->reason ? dl->reason : "unknown");
    if (s == NATS_OK && dl->detail)
        s = natsMsgHeader_Set(m, RFQ_HDR_DLQ_DETAIL,
                              header_safe(detail, sizeof(detail), dl->detail));
    if (s == NATS_OK && dl->subject)
        s = natsMsgHeader_Set(m, RFQ_HDR_DLQ_SUBJECT, dl->subject);
    if (s == NATS_OK && dl->tenant)
        s = natsMsgHeader_Set(m, RFQ_HDR_TENANT, dl->tenant);
    if (s == NATS_OK && dl->rfq_id)
        s = natsMsgHeader_Set(m, RFQ_HDR_ID, dl->rfq_id);
    if (s == NATS_OK && dl->reply)
        s = natsMsgHeader_Set(m, RFQ_HDR_DLQ_REPLY, dl->reply);
    if (s != NATS_OK) {
        natsMsg_Destroy(m);
        return rfq_nats_status(s);
    }
    if (dl->orig && (st = rfq_dlq_copy_headers(m, dl->orig, dl->tenant, dl->rfq_id)) != RFQ_OK) {
        natsMsg_Destroy(m);
        if (st == RFQ_ENOMEM)
            return st;
        /* Headers the library will not copy must not keep the message out of the DLQ (the
         * caller would retry it forever): send it without them. */
        struct rfq_dead_letter bare = *dl;
        bare.orig = NULL;
        return rfq_dlq_msg_create(out, &bare, data, len);
    }
    *out = m;
    return RFQ_OK;
}

rfq_status rfq_dlq_publish(jsCtx *js, const struct rfq_dead_letter *dl, const void *data, int len)
{
    natsMsg *m = NULL;
    rfq_status st = rfq_dlq_msg_create(&m, dl, data, len);
    if (st != RFQ_OK)
        return st;
    jsPubAck *ack = NULL;
    natsStatus s = js_PublishMsg(&ack, js, m, NULL, NULL);
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    return rfq_nats_status(s);
}
