#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/embed.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "core/trace.h"
#include "core/xalloc.h"
#include "http/clientaddr.h"
#include "http/connguard.h"
#include "http/reqmetrics.h"
#include "http/sse.h"

struct cp_server {
    struct MHD_Daemon *d;
    cp_server_config cfg;
    cp_proxies *proxies; /* trusted proxies, NULL = none */
    cp_connguard *guard;
    char *web_dir; /* realpath of cfg.web_dir, or NULL */
    atomic_int inflight;
    atomic_bool stopping; /* refuse new connections during the shutdown grace */
    int port;
};

/* ---- request helpers exposed through http.h ---- */

const char *cp_req_param(cp_req *req, const char *name)
{
    for (int i = 0; i < req->nparams; i++)
        if (!strcmp(req->param_names[i], name)) return req->param_values[i];
    return NULL;
}

const char *cp_req_query(cp_req *req, const char *name)
{
    /* No value holds a NUL (unescape turned each into SUB). */
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *cp_req_header(cp_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *cp_req_cookie(cp_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

/* Decodes %HH in the path and in query names and values as libmicrohttpd
 * does, then turns each NUL ("%00") into SUB (0x1a). Handlers read C
 * strings, which would see only the part before a NUL: a path would lose
 * its tail ("/projects/<id>%00x" read as the project) and an over-long
 * filter would pass its length check. With SUB the text keeps its length,
 * matches no route, id or name, and is refused as other bad input is. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
    CP_UNUSED(cls);
    CP_UNUSED(c);
    size_t len = MHD_http_unescape(s);
    for (char *p = memchr(s, '\0', len); p; p = memchr(p, '\0', len - (size_t)(p - s))) *p = '\x1a';
    return len;
}

static void json_decref_cb(void *p)
{
    json_decref(p);
}

cp_result cp_req_body(cp_req *req, const cp_json_field *fields, size_t n, json_t **out)
{
    const char *ct = cp_req_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t jl = strlen("application/json");
    if (!ct || strncasecmp(ct, "application/json", jl) != 0 || (ct[jl] != '\0' && ct[jl] != ';' && ct[jl] != ' '))
        return cp_req_fail(req, CP_EMEDIA, "unsupported_media_type", NULL, "Content-Type must be application/json");
    if (!req->json) {
        req->json = cp_json_parse(req->body.data, req->body.len, &req->err);
        if (!req->json) return req->err.result;
        cp_arena_defer(req->arena, json_decref_cb, req->json);
    }
    cp_result r = cp_json_check(req->json, fields, n, &req->err);
    if (r == CP_OK) *out = req->json;
    return r;
}

cp_result cp_reply(cp_req *req, int status, json_t *j)
{
    if (req->reply) json_decref(req->reply);
    req->status = status;
    req->reply = j;
    return CP_OK;
}

static void set_raw(cp_req *req, int status, const char *content_type, struct MHD_Response *res)
{
    if (req->raw) MHD_destroy_response(req->raw);
    req->raw = res;
    MHD_add_response_header(req->raw, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    /* API data is never cached by clients; documents (YAML, metrics) may revalidate. */
    MHD_add_response_header(req->raw, MHD_HTTP_HEADER_CACHE_CONTROL,
                            strncmp(content_type, "application/json", 16) == 0 ? "no-store" : "no-cache");
    req->status = status;
}

cp_result cp_reply_text(cp_req *req, int status, const char *content_type, const char *data, size_t len)
{
    set_raw(req, status, content_type, MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY));
    return CP_OK;
}

cp_result cp_reply_bytes(cp_req *req, int status, const char *content_type, const char *data, size_t len,
                         void (*release)(void *), void *cls)
{
    struct MHD_Response *res = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)data, release, cls);
    if (!res) {
        if (release) release(cls);
        return cp_req_fail(req, CP_ERR, NULL, NULL, "cannot create a response");
    }
    set_raw(req, status, content_type, res);
    return CP_OK;
}

/* ---- waiting for other threads (cp_req_await) ---- */

enum { AWAIT_NONE, AWAIT_WAITING, AWAIT_DONE };

/* One lock for every request's await state: taken twice per awaited job,
 * never contended long. */
static pthread_mutex_t await_mu = PTHREAD_MUTEX_INITIALIZER;

void cp_req_await(cp_req *req)
{
    pthread_mutex_lock(&await_mu);
    req->await_state = AWAIT_WAITING;
    pthread_mutex_unlock(&await_mu);
}

void cp_req_wake(cp_req *req)
{
    pthread_mutex_lock(&await_mu);
    req->await_state = AWAIT_DONE;
    if (req->suspended) {
        req->suspended = false;
        MHD_resume_connection(req->conn);
    }
    pthread_mutex_unlock(&await_mu);
}

/* Whether the handler called cp_req_await and its work may still be running. */
static bool await_pending(cp_req *req)
{
    pthread_mutex_lock(&await_mu);
    bool pending = req->await_state != AWAIT_NONE;
    pthread_mutex_unlock(&await_mu);
    return pending;
}

/* After a handler returned: true when it waits (the connection is now
 * suspended and the handler runs again on wake-up); false when it is done or
 * its work is done already. */
static bool suspend_if_waiting(cp_req *req)
{
    bool waiting = false;
    pthread_mutex_lock(&await_mu);
    if (req->await_state == AWAIT_WAITING) {
        req->suspended = true;
        MHD_suspend_connection(req->conn);
        waiting = true;
    }
    req->await_state = waiting ? AWAIT_WAITING : AWAIT_NONE;
    pthread_mutex_unlock(&await_mu);
    return waiting;
}

/* ---- response rendering ---- */

static void add_common_headers(struct MHD_Response *res, cp_req *req)
{
    MHD_add_response_header(res, "X-Request-Id", req->id);
    MHD_add_response_header(res, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(res, "Referrer-Policy", "no-referrer");
}

/* The web UI's pages and assets: scripts only from this origin (the built UI
 * has no inline script), never framed, no plugins. Inline style attributes
 * stay allowed: the charts set them. */
static void add_page_headers(struct MHD_Response *res)
{
    MHD_add_response_header(res, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                            "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    MHD_add_response_header(res, "X-Frame-Options", "DENY");
    MHD_add_response_header(res, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(res, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
}

static enum MHD_Result queue_json(cp_req *req, int status, json_t *j)
{
    char *body = status == 204 ? cp_xstrdup("") : json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!body) body = cp_xstrdup("{}"); /* j was NULL */
    struct MHD_Response *res = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    add_common_headers(res, req);
    if (req->extra_header[0]) MHD_add_response_header(res, req->extra_header[0], req->extra_header[1]);
    if (req->set_cookie) MHD_add_response_header(res, MHD_HTTP_HEADER_SET_COOKIE, req->set_cookie);
    req->status = status;
    enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)status, res);
    MHD_destroy_response(res);
    return ret;
}

static enum MHD_Result queue_error(cp_req *req, cp_result r)
{
    cp_error *e = &req->err;
    if (e->result == CP_OK || e->result == CP_EDECLINED) {
        cp_error_set(e, r == CP_OK ? CP_ERR : r, NULL, NULL, "%s", r == CP_ERR ? "internal error" : cp_result_code(r));
    }
    if (e->result == CP_ERR)
        cp_log(CP_LOG_ERROR, "request failed", json_pack("{s:s, s:s}", "request_id", req->id, "detail", e->message));
    json_t *inner =
        json_pack("{s:s, s:s}", "code", e->code, "message", e->result == CP_ERR ? "internal error" : e->message);
    if (e->field[0]) json_object_set_new(inner, "field", json_string(e->field));
    return queue_json(req, cp_result_http(e->result), json_pack("{s:o}", "error", inner));
}

/* ---- static files ---- */

static const char *mime_for(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(path, '.');
    if (dot)
        for (size_t i = 0; i < CP_ARRAY_LEN(types); i++)
            if (!strcmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

static int open_under(const char *root, const char *rel, struct stat *st)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", root, rel) >= (int)sizeof path) return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

static enum MHD_Result serve_static(cp_server *s, cp_req *req)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        req->extra_header[0] = "Allow";
        req->extra_header[1] = "GET, HEAD";
        cp_req_fail(req, CP_EMETHOD, NULL, NULL, "method %s not allowed here", req->method);
        return queue_error(req, CP_EMETHOD);
    }
    struct MHD_Response *res = NULL;
    const char *served = "index.html";
    if (s->web_dir) {
        const char *rel = req->path + 1;
        struct stat st;
        int fd = -1;
        /* Only plain paths: no "..", no hidden files. */
        if (*rel && !strstr(rel, "..") && !strstr(rel, "/.") && rel[0] != '.') fd = open_under(s->web_dir, rel, &st);
        if (fd >= 0) {
            served = rel;
        } else {
            /* SPA fallback: client-side routes get index.html; missing assets get 404. */
            if (!strncmp(rel, "assets/", 7)) {
                cp_req_fail(req, CP_ENOTFOUND, NULL, NULL, "no such file");
                return queue_error(req, CP_ENOTFOUND);
            }
            fd = open_under(s->web_dir, "index.html", &st);
        }
        if (fd >= 0) res = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    }
    if (!res) {
        const cp_embedded_file *f = cp_embed_get("web/placeholder.html");
        res = MHD_create_response_from_buffer(f ? f->len : 0, f ? (void *)f->data : (void *)"", MHD_RESPMEM_PERSISTENT);
        served = "index.html";
    }
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, mime_for(served));
    /* Hashed build assets never change; everything else is revalidated. */
    MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL,
                            !strncmp(served, "assets/", 7) ? "public, max-age=31536000, immutable" : "no-cache");
    add_common_headers(res, req);
    add_page_headers(res);
    req->status = 200;
    enum MHD_Result ret = MHD_queue_response(req->conn, MHD_HTTP_OK, res);
    MHD_destroy_response(res);
    return ret;
}

/* ---- dispatch ---- */

/* Paths of the JSON APIs (the platform's and the sandbox cloud's): an unknown
 * one is a JSON 404, never the web UI. */
static bool api_path(const char *path)
{
    return !strncmp(path, "/api/", 5) || !strcmp(path, "/api") || !strncmp(path, "/sandbox/", 9) ||
           !strcmp(path, "/sandbox");
}

static enum MHD_Result dispatch(cp_server *s, cp_req *req)
{
    if (req->body_too_big) {
        cp_req_fail(req, CP_ETOOBIG, NULL, NULL, "request body exceeds %zu bytes", s->cfg.max_body);
        return queue_error(req, CP_ETOOBIG);
    }
    char allow[128];
    cp_result r = cp_router_match(s->cfg.routes, s->cfg.nroutes, req->method, req->path, req, allow, sizeof allow);
    if (r == CP_ENOTFOUND && !api_path(req->path) && !s->cfg.no_web) return serve_static(s, req);
    if (r == CP_ENOTFOUND) {
        cp_req_fail(req, r, NULL, NULL, "no route for %s", req->path);
        return queue_error(req, r);
    }
    if (r == CP_EMETHOD) {
        req->extra_header[0] = "Allow";
        req->extra_header[1] = cp_arena_strdup(req->arena, allow);
        cp_req_fail(req, r, NULL, NULL, "method %s not allowed on %s", req->method, req->path);
        return queue_error(req, r);
    }
    if (req->route->flags & CP_ROUTE_AUTH) {
        r = s->cfg.authenticate(req, (req->route->flags & CP_ROUTE_STREAM_TICKET) != 0);
        if (r != CP_OK) return queue_error(req, r);
    }
    if (req->route->flags & CP_ROUTE_SANDBOX_KEY) {
        /* No guard configured: refuse rather than serve the route open. */
        r = s->cfg.authenticate_sandbox ? s->cfg.authenticate_sandbox(req)
                                        : cp_req_fail(req, CP_EAUTH, "unauthorized", NULL, "no API key guard");
        if (r != CP_OK) return queue_error(req, r);
    }
    for (;;) {
        r = req->route->fn(req);
        if (r != CP_EDECLINED || !await_pending(req)) break;
        /* Resumed later on this connection's own thread: never re-entered meanwhile. */
        if (suspend_if_waiting(req)) return MHD_YES;
    }
    req->await_state = AWAIT_NONE; /* gave up waiting (e.g. a full pool): nothing will wake it */
    if (r != CP_OK) return queue_error(req, r);
    if (req->raw) {
        add_common_headers(req->raw, req);
        enum MHD_Result ret = MHD_queue_response(req->conn, (unsigned)req->status, req->raw);
        MHD_destroy_response(req->raw);
        req->raw = NULL;
        return ret;
    }
    json_t *j = req->reply;
    req->reply = NULL;
    return queue_json(req, req->status ? req->status : 200, j ? j : json_object());
}

static void sockaddr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    out[0] = '\0';
    if (!sa) return;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)cap);
}

typedef struct {
    cp_arena *arena;
    char *joined; /* every X-Forwarded-For header, in order, comma-joined */
} xff_acc;

static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    CP_UNUSED(kind);
    xff_acc *acc = cls;
    if (strcasecmp(key, "X-Forwarded-For") != 0 || !value) return MHD_YES;
    acc->joined =
        acc->joined ? cp_arena_printf(acc->arena, "%s,%s", acc->joined, value) : cp_arena_strdup(acc->arena, value);
    return MHD_YES;
}

/* The client behind the connection (http/clientaddr.h); X-Forwarded-For is
 * read only when the peer is a trusted proxy. */
static void client_ip(cp_server *s, cp_req *req)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char peer[CP_ADDR_MAX];
    sockaddr_text(ci ? ci->client_addr : NULL, peer, sizeof peer);
    xff_acc acc = {req->arena, NULL};
    if (cp_proxies_contains(s->proxies, peer)) MHD_get_connection_values(req->conn, MHD_HEADER_KIND, collect_xff, &acc);
    cp_client_addr(s->proxies, peer, acc.joined, req->client_ip);
    cp_client_key(req->client_ip, req->client_key);
}

static cp_guarded *guarded(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Accept policy: the per-IP connection limit, on the socket peer (a trusted
 * proxy carries many clients and is exempt; it should limit them itself). */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    CP_UNUSED(addrlen);
    cp_server *s = cls;
    if (atomic_load(&s->stopping)) return MHD_NO;
    char peer[CP_ADDR_MAX], key[CP_ADDR_MAX];
    sockaddr_text(addr, peer, sizeof peer);
    cp_client_key(peer, key);
    return cp_connguard_admit(s->guard, key, cp_proxies_contains(s->proxies, peer)) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    cp_server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        cp_connguard_close(s->guard, *socket_context);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ai = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const union MHD_ConnectionInfo *fi = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char peer[CP_ADDR_MAX], key[CP_ADDR_MAX];
    sockaddr_text(ai ? ai->client_addr : NULL, peer, sizeof peer);
    cp_client_key(peer, key);
    *socket_context =
        cp_connguard_open(s->guard, key, cp_proxies_contains(s->proxies, peer), fi ? (int)fi->connect_fd : -1);
}

/* An event stream outlives its request by minutes or hours, and 10,000 of
 * them may be open: once its response is queued it keeps only what
 * on_completed reads (the access log), in an arena of that size, not the
 * request's 8 KB one with its parsed body, JSON and auth strings. The
 * stream's own state copies what it needs (api/runs.c). */
static cp_req *stream_shrink(cp_req *req)
{
    size_t strings = strlen(req->method) + strlen(req->path) + (req->user_id ? strlen(req->user_id) : 0) +
                     3 * 16; /* each rounded up to 16 */
    cp_arena *a = cp_arena_new(((sizeof *req + 15) & ~(size_t)15) + strings);
    cp_req *c = cp_arena_alloc(a, sizeof *c);
    c->arena = a;
    c->app = req->app;
    c->conn = req->conn;
    c->method = cp_arena_strdup(a, req->method);
    c->path = cp_arena_strdup(a, req->path);
    c->user_id = req->user_id ? cp_arena_strdup(a, req->user_id) : NULL;
    memcpy(c->id, req->id, sizeof c->id);
    memcpy(c->client_ip, req->client_ip, sizeof c->client_ip);
    memcpy(c->client_key, req->client_key, sizeof c->client_key);
    c->start_mono_ms = req->start_mono_ms;
    c->start_mono_us = req->start_mono_us;
    c->route = req->route;
    c->status = req->status;
    c->stream = true;
    if (req->reply) json_decref(req->reply);
    if (req->raw) MHD_destroy_response(req->raw);
    cp_buf_free(&req->body);
    cp_arena_free(req->arena);
    return c;
}

/* The caller's X-Request-Id when it is sane (core/trace.h), so a proxy's or
 * the web UI's id follows the request; otherwise (absent, too long, odd
 * characters) a new one: a bad value is never kept, logged or echoed. */
static void request_id(cp_req *req)
{
    const char *given = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
    if (cp_trace_id_valid(given))
        memcpy(req->id, given, strlen(given) + 1);
    else
        cp_trace_id_new("", req->id);
}

static enum MHD_Result handle(cp_server *s, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    cp_req *req = *con_cls;
    if (!req) {
        cp_arena *a = cp_arena_new(8192);
        req = cp_arena_alloc(a, sizeof *req);
        req->arena = a;
        req->app = s->cfg.app;
        req->conn = conn;
        req->method = cp_arena_strdup(a, method);
        req->path = cp_arena_strdup(a, url);
        req->start_mono_ms = cp_mono_ms();
        req->start_mono_us = cp_metrics_mono_us();
        request_id(req);
        cp_trace_set(req->id);
        client_ip(s, req);
        *con_cls = req;
        atomic_fetch_add(&s->inflight, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long clen = cl ? strtoull(cl, NULL, 10) : 0;
        /* Bodies carry passwords and cloud credentials: wiped when freed. */
        cp_buf_init_wiped(&req->body, s->cfg.max_body, clen <= s->cfg.max_body ? (size_t)clen : 0);
        if (clen > s->cfg.max_body) {
            req->body_too_big = true;
            return dispatch(s, req);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->body_too_big && cp_buf_add(&req->body, upload_data, *upload_data_size) != CP_OK) {
            req->body_too_big = true;
            cp_buf_free(&req->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->status) return MHD_YES; /* already answered (early 413) */
    cp_trace_set(req->id);
    /* Read in full: what follows (handler, response, an event stream) is not a slow read. */
    cp_connguard_disarm(s->guard, guarded(conn));
    enum MHD_Result ret = dispatch(s, req);
    if (req->stream) *con_cls = stream_shrink(req);
    return ret;
}

/* MHD calls this for each piece of a request, and again when a suspended one
 * resumes, each time maybe on another of its threads: every log line written
 * meanwhile carries the request's id, and no other request's. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    CP_UNUSED(version);
    enum MHD_Result ret = handle(cls, conn, url, method, upload_data, upload_data_size, con_cls);
    cp_trace_set(NULL);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    cp_server *s = cls;
    cp_req *req = *con_cls;
    /* Kept alive: the next request must arrive and be read within the deadline too. */
    cp_connguard_arm(s->guard, guarded(conn));
    if (!req) return;
    cp_trace_set(req->id); /* the access log line names it itself; anything else logged here too */
    cp_reqmetrics_observe(s->cfg.routes, req->route, req->method, !api_path(req->path), req->status,
                          cp_metrics_mono_us() - req->start_mono_us);
    if (s->cfg.access_log) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:i, s:I, s:s}", "request_id", req->id, "method", req->method, "path",
                              req->path, "status", req->status, "duration_ms",
                              (json_int_t)(cp_mono_ms() - req->start_mono_ms), "ip", req->client_ip);
        if (req->user_id) json_object_set_new(f, "user_id", json_string(req->user_id));
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) json_object_set_new(f, "aborted", json_true());
        cp_log(CP_LOG_INFO, "request", f);
    }
    if (req->reply) json_decref(req->reply);
    if (req->raw) MHD_destroy_response(req->raw);
    cp_buf_free(&req->body);
    cp_arena_free(req->arena);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
    cp_trace_set(NULL);
}

/* fmt is libmicrohttpd's own; the attribute tells clang (-Wformat-nonliteral). */
static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    CP_UNUSED(cls);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    cp_log(CP_LOG_WARN, "httpd", json_pack("{s:s}", "detail", msg));
}

/* libmicrohttpd aborts on internal inconsistencies; say where first. */
static void mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    CP_UNUSED(cls);
    cp_log(CP_LOG_ERROR, "httpd panic",
           json_pack("{s:s, s:i, s:s}", "file", file ? file : "", "line", (int)line, "reason", reason ? reason : ""));
    abort();
}

/* "host:port", "[v6]:port" or ":port". */
static cp_result parse_listen(const char *listen, struct sockaddr_storage *ss, bool *v6, cp_error *err)
{
    memset(ss, 0, sizeof *ss);
    char host[128] = "";
    const char *colon = strrchr(listen, ':');
    if (!colon) return cp_error_set(err, CP_EINVAL, NULL, NULL, "listen address '%s' must be host:port", listen);
    size_t hl = (size_t)(colon - listen);
    if (hl >= sizeof host) return cp_error_set(err, CP_EINVAL, NULL, NULL, "listen host too long");
    memcpy(host, listen, hl);
    host[hl] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535 || end == colon + 1)
        return cp_error_set(err, CP_EINVAL, NULL, NULL, "invalid port in listen address '%s'", listen);
    *v6 = host[0] == '[';
    if (*v6) {
        size_t l = strlen(host);
        if (l < 2 || host[l - 1] != ']') return cp_error_set(err, CP_EINVAL, NULL, NULL, "bad IPv6 address");
        host[l - 1] = '\0';
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1)
            return cp_error_set(err, CP_EINVAL, NULL, NULL, "invalid IPv6 address '%s'", host + 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (!host[0])
            a->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (!strcmp(host, "localhost"))
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        else if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return cp_error_set(err, CP_EINVAL, NULL, NULL, "invalid IPv4 address '%s' (use an IP, not a name)", host);
    }
    return CP_OK;
}

cp_result cp_server_start(const cp_server_config *cfg, cp_server **out, cp_error *err)
{
    struct sockaddr_storage ss;
    bool v6 = false;
    cp_result r = parse_listen(cfg->listen, &ss, &v6, err);
    if (r != CP_OK) return r;
    cp_proxies *proxies = NULL;
    r = cp_proxies_parse(cfg->trusted_proxies, &proxies, err);
    if (r != CP_OK) return r;
    cp_server *s = cp_xcalloc(1, sizeof *s);
    s->cfg = *cfg;
    s->proxies = proxies;
    s->guard = cp_connguard_new(cfg->conn_per_ip, cfg->read_timeout_s > 0 ? cfg->read_timeout_s : 10);
    if (!s->guard) {
        cp_proxies_free(s->proxies);
        free(s);
        return cp_error_set(err, CP_ERR, NULL, NULL, "cannot start the connection guard thread");
    }
    if (cfg->web_dir && cfg->web_dir[0]) {
        char rp[PATH_MAX];
        if (realpath(cfg->web_dir, rp))
            s->web_dir = cp_xstrdup(rp);

        else
            cp_log_warn("web dir %s not found; serving the placeholder page", cfg->web_dir);
    }
    MHD_set_panic_func(mhd_panic, NULL);
    unsigned conn_limit = (unsigned)(cfg->max_connections > 0 ? cfg->max_connections : 4096);
    size_t conn_memory = cfg->connection_memory > 0 ? cfg->connection_memory : 16 * 1024;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_TURBO | (v6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(flags, 0, on_accept, s, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)(cfg->threads > 0 ? cfg->threads : 1), MHD_OPTION_NOTIFY_COMPLETED, on_completed,
                            s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, conn_memory, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)120, MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024, MHD_OPTION_UNESCAPE_CALLBACK,
                            unescape, NULL, MHD_OPTION_END);
    if (!s->d) {
        int e = errno;
        cp_connguard_free(s->guard);
        cp_proxies_free(s->proxies);
        free(s->web_dir);
        free(s);
        return cp_error_set(err, CP_ERR, "listen", NULL, "cannot listen on %s: %s", cfg->listen,
                            e ? strerror(e) : "libmicrohttpd refused to start");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : 0;
    *out = s;
    return CP_OK;
}

int cp_server_port(cp_server *s)
{
    return s->port;
}

void cp_server_stop(cp_server *s, int64_t grace_ms)
{
    if (!s) return;
    /* Not MHD_quiesce_daemon: with a thread pool in epoll mode it races the
     * worker threads removing the listen socket from their epoll sets (both
     * remove it; the loser panics, seen with streams open). Refusing in the
     * accept policy stops new work as well. */
    atomic_store(&s->stopping, true);
    cp_sse_shutdown();
    int64_t deadline = cp_mono_ms() + grace_ms;
    while (atomic_load(&s->inflight) > 0 && cp_mono_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->d);
    cp_connguard_free(s->guard);
    cp_proxies_free(s->proxies);
    free(s->web_dir);
    free(s);
}
