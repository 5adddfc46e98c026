/* test_sse: GET /v1/rfqs/<id>/events streams the current quotes, live quotes and the closing
 * event, then ends. A small SSE client runs libcurl on its own thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "harness.h"
#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "scenarios.h"

/* One SSE stream being read. events: array of {"event":name,"data":json|string}. */
struct sse {
    char url[256];
    char auth[RFQ_JWT_MAX + 64];
    long timeout_ms;
    pthread_t th;
    pthread_mutex_t mu;
    json_t *events; /* guarded by mu */
    int comments;   /* ": ..." lines seen, guarded by mu */
    bool done;      /* guarded by mu */
    char *pending;  /* bytes not yet split into lines (reader thread only) */
    size_t pending_len;
    char event[64];  /* current event name (reader thread only) */
    char *data;      /* current data lines (reader thread only) */
    CURLcode rc;     /* valid once done */
    long status;     /* valid once done */
    char ctype[128]; /* valid once done */
};

/* Handle one complete line of the stream (without its line end). */
static void sse_line(struct sse *s, const char *line)
{
    if (line[0] == '\0') {
        if (s->data || s->event[0]) {
            json_t *d = s->data ? json_loads(s->data, 0, NULL) : NULL;
            if (!d)
                d = json_string(s->data ? s->data : "");
            json_t *e =
                json_pack("{s:s,s:o}", "event", s->event[0] ? s->event : "message", "data", d);
            pthread_mutex_lock(&s->mu);
            json_array_append_new(s->events, e);
            pthread_mutex_unlock(&s->mu);
        }
        free(s->data);
        s->data = NULL;
        s->event[0] = '\0';
        return;
    }
    if (line[0] == ':') {
        pthread_mutex_lock(&s->mu);
        s->comments++;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    const char *colon = strchr(line, ':');
    size_t nlen = colon ? (size_t)(colon - line) : strlen(line);
    const char *val = colon ? colon + 1 : "";
    if (*val == ' ')
        val++;
    if (nlen == 5 && strncmp(line, "event", 5) == 0) {
        snprintf(s->event, sizeof(s->event), "%s", val);
    } else if (nlen == 4 && strncmp(line, "data", 4) == 0) {
        size_t old = s->data ? strlen(s->data) : 0;
        char *nd = realloc(s->data, old + strlen(val) + 2);
        if (!nd)
            return;
        if (old)
            nd[old++] = '\n';
        strcpy(nd + old, val);
        s->data = nd;
    }
}

static size_t sse_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct sse *s = ud;
    size_t n = size * nmemb;
    char *np = realloc(s->pending, s->pending_len + n + 1);
    if (!np)
        return 0;
    memcpy(np + s->pending_len, ptr, n);
    s->pending = np;
    s->pending_len += n;
    s->pending[s->pending_len] = '\0';
    size_t start = 0;
    for (size_t i = 0; i < s->pending_len; i++) {
        if (s->pending[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && s->pending[end - 1] == '\r')
            end--;
        s->pending[end] = '\0';
        sse_line(s, s->pending + start);
        start = i + 1;
    }
    memmove(s->pending, s->pending + start, s->pending_len - start + 1);
    s->pending_len -= start;
    return n;
}

static void *sse_main(void *arg)
{
    struct sse *s = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, s->auth);
    hl = curl_slist_append(hl, "Accept: text/event-stream");
    curl_easy_setopt(c, CURLOPT_URL, s->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sse_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    s->status = status;
    snprintf(s->ctype, sizeof(s->ctype), "%s", ct ? ct : "");
    s->done = true;
    pthread_mutex_unlock(&s->mu);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return NULL;
}

static void sse_start(struct sse *s, const struct h_proc *req, const char *token, const char *id,
                      long timeout_ms)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->url, sizeof(s->url), "%s/v1/rfqs/%s/events", req->http_base, id);
    snprintf(s->auth, sizeof(s->auth), "Authorization: Bearer %s", token);
    s->timeout_ms = timeout_ms;
    s->events = json_array();
    pthread_mutex_init(&s->mu, NULL);
    H_CHECK(pthread_create(&s->th, NULL, sse_main, s) == 0, "cannot start the SSE reader");
}

static int sse_count(struct sse *s)
{
    pthread_mutex_lock(&s->mu);
    int n = (int)json_array_size(s->events);
    pthread_mutex_unlock(&s->mu);
    return n;
}

static bool sse_wait_events(struct sse *s, int n, int bound_ms)
{
    int64_t until = h_now_ms() + bound_ms;
    while (sse_count(s) < n) {
        if (h_now_ms() > until)
            return false;
        h_sleep_ms(20);
    }
    return true;
}

/* Wait for the reader thread to finish (the stream ended or its curl timeout hit). */
static void sse_join(struct sse *s)
{
    pthread_join(s->th, NULL);
}

/* Event i: name and data (borrowed; stable once the reader is joined or past i). */
static const char *sse_name(struct sse *s, int i)
{
    pthread_mutex_lock(&s->mu);
    const char *n = h_jstr(json_array_get(s->events, (size_t)i), "event");
    pthread_mutex_unlock(&s->mu);
    return n;
}

static json_t *sse_data(struct sse *s, int i)
{
    pthread_mutex_lock(&s->mu);
    json_t *d = json_object_get(json_array_get(s->events, (size_t)i), "data");
    pthread_mutex_unlock(&s->mu);
    return d;
}

static void sse_free(struct sse *s)
{
    json_decref(s->events);
    free(s->pending);
    free(s->data);
    pthread_mutex_destroy(&s->mu);
}

static const char *quote_responder(json_t *data)
{
    return h_jstr(json_object_get(data, "quote"), "responder_id");
}

/* The event data follows the NATS event JSON of the contract. */
static void check_event_data(json_t *d, const char *type, const char *id)
{
    H_CHECK(json_is_object(d), "SSE %s event data is not a JSON object", type);
    H_CHECK_STR(h_jstr(d, "type"), type, "SSE data.type");
    H_CHECK_STR(h_jstr(d, "rfq_id"), id, "SSE data.rfq_id");
    H_CHECK_STR(h_jstr(d, "tenant"), "acme", "SSE data.tenant");
}

void sc_sse_events(void)
{
    h_nats_start();
    h_redis_start();
    h_aggregator_start(NULL);
    struct h_proc *req = h_requester_start(NULL);
    char *tok = h_token("acme", "enterprise", 3600);
    char *globex = h_token("globex", "enterprise", 3600);

    /* 1: one quote stored before the stream opens, two arrive live, then completion. */
    char *body = h_submit_body("eu-west", 3, 20000);
    char x[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, body, x));
    h_publish_quote("acme", x, "r-1", 1200, 100, NULL);
    json_decref(h_wait_quote_count(req, tok, x, 1, 5000));

    struct sse s;
    sse_start(&s, req, tok, x, 15000);
    H_CHECK(sse_wait_events(&s, 1, 5000), "no SSE event within 5 s (the stored quote)");
    H_CHECK_STR(sse_name(&s, 0), "quote", "first SSE event");
    check_event_data(sse_data(&s, 0), "quote", x);
    H_CHECK_STR(quote_responder(sse_data(&s, 0)), "r-1", "quote of the first SSE event");
    H_CHECK_INT(h_jint(sse_data(&s, 0), "count", -1), 1, "count of the first SSE event");
    h_publish_quote("acme", x, "r-2", 1000, 200, NULL);
    h_publish_quote("acme", x, "r-3", 1100, 50, NULL);
    sse_join(&s);
    H_CHECK_INT(s.status, 200, "SSE HTTP status");
    H_CHECK(strncmp(s.ctype, "text/event-stream", 17) == 0, "SSE Content-Type is \"%s\"", s.ctype);
    H_CHECK(s.rc == CURLE_OK,
            "SSE stream did not end after the completed event (curl: %s, %d events read)",
            curl_easy_strerror(s.rc), sse_count(&s));
    int n = sse_count(&s);
    H_CHECK(n == 4, "SSE delivered %d events, expected 3 quote events and 1 completed", n);
    bool seen[4] = {false};
    for (int i = 0; i < 3; i++) {
        H_CHECK_STR(sse_name(&s, i), "quote", "SSE event name");
        check_event_data(sse_data(&s, i), "quote", x);
        const char *rid = quote_responder(sse_data(&s, i));
        int k = rid && strncmp(rid, "r-", 2) == 0 ? atoi(rid + 2) : 0;
        H_CHECK(k >= 1 && k <= 3 && !seen[k], "SSE quote from %s unexpected or repeated",
                rid ? rid : "(none)");
        seen[k] = true;
    }
    H_CHECK_STR(sse_name(&s, 3), "completed", "last SSE event");
    json_t *cd = sse_data(&s, 3);
    check_event_data(cd, "completed", x);
    H_CHECK_STR(h_jstr(cd, "status"), "completed", "completed event status");
    H_CHECK_INT(h_jint(cd, "count", -1), 3, "completed event count");
    H_CHECK_STR(h_jstr(json_object_get(cd, "best"), "responder_id"), "r-2", "completed event best");
    sse_free(&s);

    /* 2: an RFQ that expires with nothing: one expired event, best null, stream ends. */
    char *short_body = h_submit_body("eu-west", 5, 1000);
    char y[RFQ_ID_MAX + 1];
    json_decref(h_submit(req, tok, short_body, y));
    sse_start(&s, req, tok, y, 10000);
    sse_join(&s);
    H_CHECK_INT(s.status, 200, "SSE HTTP status (expiring RFQ)");
    H_CHECK(s.rc == CURLE_OK, "SSE stream did not end after the expired event (curl: %s)",
            curl_easy_strerror(s.rc));
    H_CHECK_INT(sse_count(&s), 1, "SSE events of an RFQ that expires empty");
    H_CHECK_STR(sse_name(&s, 0), "expired", "SSE event of an expiring RFQ");
    check_event_data(sse_data(&s, 0), "expired", y);
    H_CHECK_INT(h_jint(sse_data(&s, 0), "count", -1), 0, "expired event count");
    H_CHECK(json_is_null(json_object_get(sse_data(&s, 0), "best")),
            "expired event best is not null");
    sse_free(&s);

    /* 3: the stream of an RFQ that is already completed replays its quotes in arrival order.
     * What follows (a closing event, the end of the stream) the contract leaves open. */
    sse_start(&s, req, tok, x, 3000);
    sse_join(&s);
    H_CHECK_INT(s.status, 200, "SSE HTTP status (completed RFQ)");
    H_CHECK(sse_count(&s) >= 3, "SSE of a completed RFQ replayed %d events, expected >= 3",
            sse_count(&s));
    const char *arrival[] = {"r-1", "r-2", "r-3"};
    for (int i = 0; i < 3; i++) {
        H_CHECK_STR(sse_name(&s, i), "quote", "replayed SSE event");
        H_CHECK_STR(quote_responder(sse_data(&s, i)), arrival[i], "replay in arrival order");
    }
    if (s.rc == CURLE_OK)
        h_note("SSE of a completed RFQ: %d events (last: %s), then the stream ended", sse_count(&s),
               sse_name(&s, sse_count(&s) - 1));
    else
        h_note("SSE of a completed RFQ: %d events, stream still open after 3 s (%s)", sse_count(&s),
               curl_easy_strerror(s.rc));
    sse_free(&s);

    /* 4: access control on the stream. */
    struct h_resp r;
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s/events", x);
    h_http(&r, req, "GET", path, globex, NULL, NULL, 0);
    h_check_error(&r, 404, "not_found", "events of another tenant's RFQ");
    h_resp_free(&r);
    h_http(&r, req, "GET", path, NULL, NULL, NULL, 0);
    h_check_error(&r, 401, "unauthorized", "events without a token");
    h_resp_free(&r);
    h_http(&r, req, "GET", "/v1/rfqs/00000000-0000-4000-8000-000000000000/events", tok, NULL, NULL,
           0);
    h_check_error(&r, 404, "not_found", "events of an unknown RFQ");
    h_resp_free(&r);

    free(short_body);
    free(body);
    free(globex);
    free(tok);
}
