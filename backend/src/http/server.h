/* server.h: the libmicrohttpd server. Owns listening, per-request contexts,
 * body limits, routing, the auth guard hook, static files, the access log and
 * graceful shutdown. */
#ifndef CP_SERVER_H
#define CP_SERVER_H

#include "http/http.h"

typedef struct cp_server cp_server;

typedef struct {
    const char *listen; /* "127.0.0.1:8080", "[::1]:8080", ":8080" */
    int threads;
    size_t max_body;
    bool access_log;
    const char *web_dir; /* NULL/empty: embedded placeholder page */
    bool no_web;         /* no web UI at all: a path without a route is a JSON 404 */
    const cp_route *routes;
    size_t nroutes;
    void *app;
    const char *trusted_proxies; /* CIDR list (http/clientaddr.h); NULL/empty = none */
    int conn_per_ip;             /* 0 = unlimited */
    int max_connections;         /* in all; 0 = 4096 */
    size_t connection_memory;    /* MHD per-connection pool; 0 = 32 KB */
    int read_timeout_s;          /* a request must be read in full within this */
    /* Authenticates req (sets req->user_id) or fails with CP_EAUTH. */
    cp_result (*authenticate)(cp_req *req, bool allow_ticket);
    /* For CP_ROUTE_SANDBOX_KEY routes: checks the sandbox cloud's API key
     * (sets req->tenant) or fails (CP_EAUTH, CP_ERATE). */
    cp_result (*authenticate_sandbox)(cp_req *req);
} cp_server_config;

/* Fails with a clear message on a bad listen address or trusted proxy list. */
cp_result cp_server_start(const cp_server_config *cfg, cp_server **out, cp_error *err) CP_MUST_CHECK;
/* Stops accepting, lets in-flight requests finish for up to grace_ms, then stops. */
void cp_server_stop(cp_server *s, int64_t grace_ms);
/* The bound port (useful with port 0). */
int cp_server_port(cp_server *s);

/* Router, exposed for tests: matches method+path; CP_ENOTFOUND or CP_EMETHOD
 * (allow gets the allowed methods) when nothing matches. */
cp_result cp_router_match(const cp_route *routes, size_t n, const char *method, const char *path, cp_req *req,
                          char *allow, size_t allow_len) CP_MUST_CHECK;

#endif
