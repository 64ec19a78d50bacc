/* http.c: the client's HTTP over libcurl: JSON calls with the bearer token,
 * the one place an API error becomes a message and an exit code, and a
 * Server-Sent Events reader for run logs. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/buf.h"
#include "core/xalloc.h"

#define CLI_MAX_REPLY (64u << 20) /* a reply larger than this is refused, not buffered */
#define CLI_USER_AGENT "cloudplane-cli/0.1.0"

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    cp_buf *b = ud;
    return cp_buf_add(b, p, size * n) == CP_OK ? size * n : 0;
}

static struct curl_slist *headers(const cp_cli_ctx *c, const char *accept, bool body, const char *last_id)
{
    struct curl_slist *h = NULL;
    char *line = cp_xasprintf("Authorization: Bearer %s", c->token);
    h = curl_slist_append(h, line);
    free(line);
    line = cp_xasprintf("Accept: %s", accept);
    h = curl_slist_append(h, line);
    free(line);
    if (body) h = curl_slist_append(h, "Content-Type: application/json");
    if (last_id && last_id[0]) {
        line = cp_xasprintf("Last-Event-ID: %s", last_id);
        h = curl_slist_append(h, line);
        free(line);
    }
    if (!h) abort(); /* curl_slist_append fails only without memory */
    return h;
}

static CURL *easy(const cp_cli_ctx *c, const char *path, struct curl_slist *h)
{
    CURL *e = curl_easy_init();
    if (!e) abort();
    char *url = cp_xasprintf("%s%s", c->url, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_USERAGENT, CLI_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    return e;
}

static int unreachable(const cp_cli_ctx *c, CURLcode rc, const char *detail)
{
    fprintf(stderr, "cloudplane: cannot reach %s: %s\n", c->url, detail[0] ? detail : curl_easy_strerror(rc));
    return CP_CLI_UNREACHABLE;
}

int cp_cli_report(long status, json_t *err_body)
{
    json_t *e = json_object_get(err_body, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    fprintf(stderr, "cloudplane: %s (HTTP %ld%s%s%s%s)\n", msg ? msg : "the server refused the request", status,
            code ? ", " : "", code ? code : "", field && field[0] ? ", field " : "", field ? field : "");
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(e, "violations"), i, v)
    {
        const char *out = json_string_value(json_object_get(v, "outcome"));
        if (out && strcmp(out, "blocked") != 0 && strcmp(out, "warned") != 0) continue;
        fprintf(stderr, "  %s %s (%s): %s\n", out ? out : "-", json_string_value(json_object_get(v, "rule")),
                json_string_value(json_object_get(v, "level")), json_string_value(json_object_get(v, "message")));
    }
    return code && !strcmp(code, "guardrail_blocked") ? CP_CLI_GUARDRAIL : CP_CLI_API;
}

int cp_cli_call_quiet(const cp_cli_ctx *c, const char *method, const char *path, json_t *body, json_t **out,
                      long *status, json_t **err_body)
{
    *out = NULL;
    *status = 0;
    *err_body = NULL;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text) abort();
    struct curl_slist *h = headers(c, "application/json", text != NULL, NULL);
    CURL *e = easy(c, path, h);
    cp_buf reply;
    cp_buf_init(&reply, CLI_MAX_REPLY);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 120000L);
    if (text) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    } else if (!strcmp(method, "POST")) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &reply);
    CURLcode rc = curl_easy_perform(e);
    int result = CP_CLI_OK;
    if (rc != CURLE_OK) {
        result = rc == CURLE_WRITE_ERROR ? CP_CLI_API : unreachable(c, rc, errbuf);
        if (rc == CURLE_WRITE_ERROR) fprintf(stderr, "cloudplane: the reply is too large\n");
        goto out;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    json_t *doc = reply.len ? json_loadb(reply.data, reply.len, 0, NULL) : NULL;
    if (*status >= 200 && *status < 300) {
        if (reply.len && !doc) {
            fprintf(stderr, "cloudplane: the server's reply is not JSON\n");
            result = CP_CLI_API;
            goto out;
        }
        *out = doc;
    } else {
        *err_body = doc;
        result = CP_CLI_API;
    }
out:
    cp_buf_free(&reply);
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    free(text);
    return result;
}

int cp_cli_call(const cp_cli_ctx *c, const char *method, const char *path, json_t *body, json_t **out, long *status)
{
    json_t *err = NULL;
    long st = 0;
    int rc = cp_cli_call_quiet(c, method, path, body, out, &st, &err);
    if (status) *status = st;
    if (rc == CP_CLI_API && st) rc = cp_cli_report(st, err);
    json_decref(err);
    return rc;
}

char *cp_cli_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    if (!e) abort();
    char *copy = cp_xstrdup(e);
    curl_free(e);
    return copy;
}

/* ---- Server-Sent Events ---- */

typedef struct {
    CURL *e;
    long status;
    cp_buf line;  /* the line being read */
    cp_buf data;  /* the event's data lines */
    cp_buf error; /* the body of a non-200 reply */
    char id[32];
    char event[32];
    cp_cli_sse_fn fn;
    void *ud;
    bool stopped;
} sse_reader;

/* One line of the stream, without its end of line. */
static bool sse_line(sse_reader *r, const char *l, size_t len)
{
    if (len == 0) { /* dispatch */
        bool go = true;
        if (r->data.len || r->event[0])
            go = r->fn(r->ud, r->id, r->event[0] ? r->event : "message", cp_buf_cstr(&r->data));
        cp_buf_reset(&r->data);
        r->id[0] = r->event[0] = '\0';
        return go;
    }
    if (l[0] == ':') return true; /* a comment: heartbeat */
    const char *colon = memchr(l, ':', len);
    size_t nlen = colon ? (size_t)(colon - l) : len;
    const char *v = colon ? colon + 1 : l + len;
    if (colon && *v == ' ') v++;
    size_t vlen = (size_t)(l + len - v);
    if (nlen == 4 && !strncmp(l, "data", 4)) {
        if (r->data.len) CP_IGNORE(cp_buf_add(&r->data, "\n", 1)); /* a full buffer truncates the event */
        CP_IGNORE(cp_buf_add(&r->data, v, vlen));
        return true;
    }
    if (nlen == 2 && !strncmp(l, "id", 2)) snprintf(r->id, sizeof r->id, "%.*s", (int)vlen, v);
    if (nlen == 5 && !strncmp(l, "event", 5)) snprintf(r->event, sizeof r->event, "%.*s", (int)vlen, v);
    return true;
}

static size_t on_sse(char *p, size_t size, size_t n, void *ud)
{
    sse_reader *r = ud;
    size_t total = size * n;
    if (!r->status) curl_easy_getinfo(r->e, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status != 200) return cp_buf_add(&r->error, p, total) == CP_OK ? total : 0;
    for (size_t i = 0; i < total; i++) {
        char ch = p[i];
        if (ch == '\r') continue;
        if (ch != '\n') {
            if (cp_buf_add(&r->line, &ch, 1) != CP_OK) return 0;
            continue;
        }
        bool go = sse_line(r, r->line.data ? r->line.data : "", r->line.len);
        cp_buf_reset(&r->line);
        if (!go) {
            r->stopped = true;
            return 0;
        }
    }
    return total;
}

int cp_cli_sse(const cp_cli_ctx *c, const char *path, const char *last_id, cp_cli_sse_fn fn, void *ud)
{
    struct curl_slist *h = headers(c, "text/event-stream", false, last_id);
    sse_reader r = {.fn = fn, .ud = ud};
    r.e = easy(c, path, h);
    cp_buf_init(&r.line, 1u << 20);
    cp_buf_init(&r.data, 4u << 20);
    cp_buf_init(&r.error, 1u << 20);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(r.e, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(r.e, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(r.e, CURLOPT_WRITEDATA, &r);
    /* Heartbeats come every few seconds: a minute of silence is a dead link. */
    curl_easy_setopt(r.e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(r.e, CURLOPT_LOW_SPEED_TIME, 60L);
    CURLcode rc = curl_easy_perform(r.e);
    int result = CP_CLI_OK;
    if (r.stopped) goto out;
    if (!r.status) curl_easy_getinfo(r.e, CURLINFO_RESPONSE_CODE, &r.status);
    if (r.status && r.status != 200) {
        json_t *doc = r.error.len ? json_loadb(r.error.data, r.error.len, 0, NULL) : NULL;
        result = cp_cli_report(r.status, doc);
        json_decref(doc);
    } else if (rc != CURLE_OK) {
        result = unreachable(c, rc, errbuf);
    }
out:
    cp_buf_free(&r.line);
    cp_buf_free(&r.data);
    cp_buf_free(&r.error);
    curl_easy_cleanup(r.e);
    curl_slist_free_all(h);
    return result;
}
