/* tokens.h: API tokens in the HTTP API: the bearer path of the auth guard,
 * scopes, and the table of the scope each route needs. */
#ifndef CP_API_TOKENS_H
#define CP_API_TOKENS_H

#include "api/api.h"

enum {
    CP_SCOPE_READ = 1 << 0,
    CP_SCOPE_ORDER = 1 << 1,
    CP_SCOPE_APPROVE = 1 << 2,
    CP_SCOPE_ADMIN = 1 << 3,
    CP_SCOPE_ALL = 0xf,
};

/* What a route asks of a token, beyond one scope. */
typedef enum {
    CP_TOKEN_ANY = 0,       /* personal and project tokens */
    CP_TOKEN_PERSONAL_ONLY, /* acts on the user's own account (new projects, invitations, personal tokens) */
    CP_TOKEN_NEVER,         /* a browser sign-in only (password, sessions, logout) */
} cp_token_use;

typedef struct {
    const char *method, *pattern;
    unsigned scope; /* one CP_SCOPE_* */
    cp_token_use use;
} cp_route_scope;

/* The one table: the scope of every route but plain GETs (which need read).
 * A route missing here is refused to tokens (a unit test keeps it complete). */
extern const cp_route_scope cp_api_route_scopes[];
extern const size_t cp_api_nroute_scopes;
/* The entry for (method, pattern), or NULL. */
const cp_route_scope *cp_api_route_scope(const char *method, const char *pattern);

/* Scope names <-> bits. cp_scope_parse: 0 for an unknown name. */
unsigned cp_scope_parse(const char *name);
/* A JSON array of scope names (new reference). */
json_t *cp_scopes_json(unsigned scopes);
/* Bits of a stored JSON array text (unknown names ignored). */
unsigned cp_scopes_from_text(const char *text);

/* The guard's bearer path for a cpt_ token: 401 invalid_token for anything
 * but a live token whose secret matches; then the route's scope (403
 * insufficient_scope). Sets user_id (the user acted as), token_id, scopes. */
cp_result cp_api_token_authenticate(cp_req *req, const char *token) CP_MUST_CHECK;
/* The scope check alone for the current route (also used for stream tickets). */
cp_result cp_api_token_check_route(cp_req *req) CP_MUST_CHECK;

/* Handlers */
cp_result cp_api_tokens_create(cp_req *req);
cp_result cp_api_tokens_list(cp_req *req);
cp_result cp_api_tokens_revoke(cp_req *req);
cp_result cp_api_project_tokens_create(cp_req *req);
cp_result cp_api_project_tokens_list(cp_req *req);
cp_result cp_api_project_tokens_revoke(cp_req *req);

#endif
