/* http.h: the request/response model handlers see. A request owns an arena;
 * everything a handler allocates for it lives there. Handlers return a result;
 * on failure the server renders req->err as the one JSON error shape. */
#ifndef CP_HTTP_H
#define CP_HTTP_H

#include <jansson.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/json.h"
#include "core/trace.h"

struct MHD_Connection;
struct MHD_Response;

#define CP_MAX_PARAMS 4

typedef struct cp_req cp_req;
typedef cp_result (*cp_handler)(cp_req *req);

enum {
    CP_ROUTE_PUBLIC = 0,
    CP_ROUTE_AUTH = 1 << 0,          /* Bearer token required */
    CP_ROUTE_STREAM_TICKET = 1 << 1, /* also accept ?ticket= (EventSource cannot set headers) */
    CP_ROUTE_SANDBOX_KEY = 1 << 2    /* the sandbox cloud's API key required (Bearer sbx_...) */
};

typedef struct {
    const char *method;
    const char *pattern; /* "/api/v1/projects/{id}" */
    cp_handler fn;
    int flags;
} cp_route;

struct cp_req {
    cp_arena *arena;
    void *app; /* the application context (app/app.h) */
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char id[CP_TRACE_ID_MAX + 1]; /* request id: the caller's X-Request-Id when sane, else made; sent back */
    char client_ip[64];  /* the client (http/clientaddr.h): the peer, or X-Forwarded-For from a trusted proxy */
    char client_key[64]; /* client_ip as rate limits key it (IPv6: its /64) */
    int64_t start_mono_ms;
    int64_t start_mono_us; /* the same, finer: the duration metric (http/reqmetrics.h) */

    cp_buf body;
    bool body_too_big;
    json_t *json; /* parsed body, owned by the arena */

    const cp_route *route;
    const char *param_names[CP_MAX_PARAMS];
    const char *param_values[CP_MAX_PARAMS];
    int nparams;
    const char *user_id;    /* set by the auth guard */
    const char *session_id; /* set by the auth guard: the session the token belongs to */
    const char *user_email; /* set by the auth guard, read with the session (so /auth/me reads nothing more) */
    const char *user_name;
    int64_t data_version;  /* set by the auth guard, read with the session (api/resources.c's page cache) */
    bool has_data_version; /* data_version was read */
    const char *tenant;    /* set by the sandbox key guard: the key's hash, never the key */
    const char *token_id;  /* set by the auth guard for an API token (api/tokens.c): its id, never the secret */
    unsigned token_scopes; /* with token_id: its CP_SCOPE_* bits */
    bool token_service;    /* with token_id: a project service token */

    int status; /* reply */
    json_t *reply;
    struct MHD_Response *raw;    /* a prepared response (files, SSE) instead of reply */
    const char *extra_header[2]; /* one extra header name/value, e.g. Retry-After */
    const char *set_cookie;      /* a Set-Cookie value for the reply (JSON replies and errors) */
    cp_error err;

    /* Waiting for another thread (cp_req_await); guarded by the server. */
    void *await_ctx; /* the handler's: what it waits for */
    int await_state;
    bool suspended;
    unsigned limits_taken; /* cp_api_limit kinds already charged to this request */
    bool stream;           /* the reply is an event stream (cp_sse_begin): the request shrinks once queued */
};

/* Path parameter by name (NULL if the route has none of that name). */
const char *cp_req_param(cp_req *req, const char *name);
/* Query string argument (NULL if absent). */
const char *cp_req_query(cp_req *req, const char *name);
const char *cp_req_header(cp_req *req, const char *name);
/* A cookie the request carries (NULL if absent). */
const char *cp_req_cookie(cp_req *req, const char *name);
/* Parses the body as a JSON object (415 for a non-JSON content type, 400 for
 * malformed JSON) and checks it against the given fields. */
cp_result cp_req_body(cp_req *req, const cp_json_field *fields, size_t n, json_t **out) CP_MUST_CHECK;

/* Sets the reply; steals j. Returns CP_OK so handlers can `return cp_reply(...)`. */
cp_result cp_reply(cp_req *req, int status, json_t *j);
/* A non-JSON reply (text, YAML, metrics); data is copied. */
cp_result cp_reply_text(cp_req *req, int status, const char *content_type, const char *data, size_t len);
/* A reply of bytes the server sends without copying: release(cls) runs
 * once when the response no longer needs data (e.g. free, or dropping a
 * reference to a shared page), also when this reply is replaced. */
cp_result cp_reply_bytes(cp_req *req, int status, const char *content_type, const char *data, size_t len,
                         void (*release)(void *), void *cls);
/* Work on another thread without holding an HTTP thread. A handler calls
 * cp_req_await(req) before it hands the work over, then returns CP_EDECLINED;
 * the server suspends the connection (the HTTP thread serves others). The
 * other thread calls cp_req_wake(req) when done; the server then calls the
 * handler again with the same request (body, arena, await_ctx), which finds
 * the result in await_ctx and goes on. Waking before the handler returned is
 * fine: the handler is then called again at once. A handler that calls
 * cp_req_await but then returns anything but CP_EDECLINED waits for nothing. */
void cp_req_await(cp_req *req);
void cp_req_wake(cp_req *req);

/* Sets req->err and returns r. */
#define cp_req_fail(req, r, code, field, ...) cp_error_set(&(req)->err, (r), (code), (field), __VA_ARGS__)

#endif
