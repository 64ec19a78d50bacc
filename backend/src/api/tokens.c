/* tokens.c: API tokens: the guard's path for cpt_ bearer tokens, and the
 * routes that create, list and revoke personal and project service tokens.
 *
 * Each request reads its token row by primary key (no cache), as sessions
 * do, so a revocation or an expiry holds on every API instance at once. A
 * personal token acts as its user, narrowed to its scopes; a project token
 * acts as its own service user, a member of one project with the token's
 * role, so every existing membership check confines it to that project. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/common.h"
#include "api/tokens.h"
#include "auth/apitoken.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "queue/events.h"
#include "store/store_tokens.h"

#define DAY_MS (24LL * 3600 * 1000)
#define DEFAULT_DAYS 90
#define MAX_DAYS 365
/* last_used_at moves at most once a minute per token: one write, not one per request. */
#define TOUCH_MS 60000

static cp_result bad_token(cp_req *req)
{
    return cp_req_fail(req, CP_EAUTH, "invalid_token", NULL, "the access token is invalid, expired or revoked");
}

static cp_result insufficient(cp_req *req, const char *msg)
{
    return cp_req_fail(req, CP_EFORBIDDEN, "insufficient_scope", NULL, "%s", msg);
}

cp_result cp_api_token_check_route(cp_req *req)
{
    if (!req->token_id) return CP_OK;
    const cp_route_scope *rs = cp_api_route_scope(req->route->method, req->route->pattern);
    unsigned need = CP_SCOPE_READ;
    cp_token_use use = CP_TOKEN_ANY;
    if (rs) {
        need = rs->scope;
        use = rs->use;
    } else if (strcmp(req->route->method, "GET") != 0) {
        return insufficient(req, "API tokens may not use this route");
    }
    if (use == CP_TOKEN_NEVER)
        return cp_req_fail(req, CP_EFORBIDDEN, "session_required", NULL, "this needs a browser sign-in, not a token");
    if (use == CP_TOKEN_PERSONAL_ONLY && req->token_service)
        return insufficient(req, "a project token may not use this route");
    if (!(req->token_scopes & need)) {
        json_t *names = cp_scopes_json(need);
        const char *name = json_string_value(json_array_get(names, 0));
        cp_result r = cp_req_fail(req, CP_EFORBIDDEN, "insufficient_scope", NULL, "this token lacks the %s scope",
                                  name ? name : "needed");
        json_decref(names);
        return r;
    }
    return CP_OK;
}

cp_result cp_api_token_authenticate(cp_req *req, const char *token)
{
    cp_app *app = CP_APP(req);
    char id[CP_ID_LEN + 1], hash[CP_APITOKEN_HASH_HEX];
    if (!cp_apitoken_parse(token, id, hash)) return bad_token(req);
    int64_t now = cp_now_ms();
    cp_api_token t;
    cp_user u;
    int64_t version = 0;
    cp_result r = cp_store_token_auth(app->store, req->arena, id, now, &t, &u, &version, &req->err);
    if (r == CP_EAUTH) return bad_token(req);
    if (r != CP_OK) return r;
    bool match = cp_apitoken_hash_eq(t.secret_hash, hash);
    sodium_memzero(hash, sizeof hash);
    if (!match) return bad_token(req);
    req->user_id = u.id;
    req->user_email = u.email;
    req->user_name = u.name;
    req->session_id = cp_arena_printf(req->arena, "t:%s", t.id); /* stream tickets carry it (store_sessions.c) */
    req->data_version = version;
    req->has_data_version = true;
    req->token_id = t.id;
    req->token_scopes = cp_scopes_from_text(t.scopes);
    req->token_service = !strcmp(t.kind, "project");
    if (t.last_used_at < now - TOUCH_MS) {
        cp_error e;
        if (cp_store_token_touch(app->store, t.id, now, &e) != CP_OK)
            cp_log_warn("token %s: last_used_at not updated: %s", t.id, e.message);
    }
    return cp_api_token_check_route(req);
}

/* ---- management ---- */

static json_t *token_json(const cp_api_token *t)
{
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "id", t->id, "kind", t->kind, "name", t->name, "scopes",
                  cp_scopes_json(cp_scopes_from_text(t->scopes)), "created_at", cp_api_time(t->created_at),
                  "expires_at", cp_api_time(t->expires_at), "last_used_at", cp_api_time(t->last_used_at));
    json_object_set_new(j, "project_id", cp_json_str_or_null(t->project_id));
    json_object_set_new(j, "role", t->role != CP_ROLE_NONE ? json_string(cp_role_name(t->role)) : json_null());
    json_object_set_new(j, "created_by", cp_json_str_or_null(t->user_id));
    return j;
}

/* name, scopes and expires_in_days of a new token (422 on each bad one). A
 * token making a token hands on at most its own scopes. */
static cp_result parse_new(cp_req *req, json_t *body, cp_api_token *t, unsigned *scopes)
{
    *scopes = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(body, "scopes"), i, v)
    {
        unsigned bit = json_is_string(v) ? cp_scope_parse(json_string_value(v)) : 0;
        if (!bit)
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "scopes",
                               "scopes must be a non-empty list of read, order, approve, admin");
        if (*scopes & bit)
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "scopes", "scopes names %s twice",
                               json_string_value(v));
        *scopes |= bit;
    }
    if (!*scopes)
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", "scopes",
                           "scopes must be a non-empty list of read, order, approve, admin");
    if (req->token_id && (*scopes & ~req->token_scopes))
        return insufficient(req, "a token cannot make a token with scopes it does not have");
    json_t *d = json_object_get(body, "expires_in_days");
    json_int_t days = DEFAULT_DAYS;
    if (d && !json_is_null(d)) {
        days = json_is_integer(d) ? json_integer_value(d) : 0;
        if (days < 1 || days > MAX_DAYS)
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "expires_in_days",
                               "expires_in_days must be an integer from 1 to %d", MAX_DAYS);
    }
    bool blank = true;
    const char *name = cp_json_str(body, "name", "");
    for (const char *p = name; *p && blank; p++) blank = isspace((unsigned char)*p) != 0;
    if (blank) return cp_req_fail(req, CP_EUNPROC, "missing_field", "name", "name is required");
    t->name = (char *)name;
    t->created_at = cp_now_ms();
    t->expires_at = t->created_at + days * DAY_MS;
    json_t *sj = cp_scopes_json(*scopes);
    char *text = json_dumps(sj, JSON_COMPACT);
    json_decref(sj);
    t->scopes = cp_arena_strdup(req->arena, text ? text : "[]");
    free(text);
    return CP_OK;
}

/* Stores t (made by parse_new) with a fresh id and secret, and answers 201
 * with the token shown this once. */
static cp_result create_reply(cp_req *req, cp_api_token *t)
{
    char id[CP_ID_LEN + 1], token[CP_APITOKEN_LEN + 1], hash[CP_APITOKEN_HASH_HEX];
    char service[CP_ID_LEN + 1];
    cp_id_new(id);
    cp_apitoken_new(id, token, hash);
    t->id = id;
    t->secret_hash = hash;
    if (!strcmp(t->kind, "project")) {
        cp_id_new(service);
        t->service_user_id = service;
    }
    cp_result r = cp_store_token_create(CP_APP(req)->store, t, &req->err);
    if (r == CP_OK) {
        json_t *detail = json_pack("{s:s, s:s, s:o}", "name", t->name, "kind", t->kind, "scopes",
                                   cp_scopes_json(cp_scopes_from_text(t->scopes)));
        if (t->role != CP_ROLE_NONE) json_object_set_new(detail, "role", json_string(cp_role_name(t->role)));
        cp_api_audit(req, t->project_id, "token.create", t->id, detail);
        json_t *j = token_json(t);
        json_object_set_new(j, "token", json_string(token));
        r = cp_reply(req, 201, j);
    }
    sodium_memzero(token, sizeof token);
    sodium_memzero(hash, sizeof hash);
    return r;
}

static const cp_json_field new_fields[] = {
    {.name = "name", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 100},
    {.name = "scopes", .type = CP_JF_ARRAY, .required = true, .min_len = 1, .max_len = 4},
    {.name = "expires_in_days", .type = CP_JF_INT, .min = 1, .max = MAX_DAYS},
    {.name = "role", .type = CP_JF_STRING, .max_len = 16},
};

cp_result cp_api_tokens_create(cp_req *req)
{
    json_t *body;
    cp_result r = cp_req_body(req, new_fields, 3, &body);
    if (r != CP_OK) return r;
    cp_api_token t = {.kind = "personal", .user_id = (char *)req->user_id, .role = CP_ROLE_NONE};
    unsigned scopes;
    if ((r = parse_new(req, body, &t, &scopes)) != CP_OK) return r;
    return create_reply(req, &t);
}

static cp_result list_reply(cp_req *req, const char *user_id, const char *project_id)
{
    cp_api_token *items;
    size_t n;
    cp_result r = cp_store_tokens_list(CP_APP(req)->store, req->arena, user_id, project_id, &items, &n, &req->err);
    if (r != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, token_json(&items[i]));
    return cp_reply(req, 200, cp_api_page_json(arr, NULL));
}

cp_result cp_api_tokens_list(cp_req *req)
{
    return list_reply(req, req->user_id, NULL);
}

static cp_result revoke(cp_req *req, const char *param, const char *project_id)
{
    const char *id;
    cp_result r = cp_api_id(req, param, &id);
    if (r != CP_OK) return r;
    char *acting = NULL;
    r = cp_store_token_revoke(CP_APP(req)->store, req->arena, id, req->user_id, project_id, cp_now_ms(), &acting,
                              &req->err);
    if (r != CP_OK) return r;
    /* Event streams opened with it re-check their access and end (runs.c). */
    if (acting) cp_events_access_user(CP_APP(req)->events, acting);
    cp_api_audit(req, project_id, "token.revoke", id, NULL);
    return cp_reply(req, 204, NULL);
}

cp_result cp_api_tokens_revoke(cp_req *req)
{
    return revoke(req, "id", NULL);
}

cp_result cp_api_project_tokens_create(cp_req *req)
{
    json_t *body;
    cp_result r = cp_req_body(req, new_fields, CP_ARRAY_LEN(new_fields), &body);
    if (r != CP_OK) return r;
    cp_project p;
    if ((r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_ADMIN, &p)) != CP_OK) return r;
    cp_role role = cp_role_parse(cp_json_str(body, "role", "member"));
    if (role == CP_ROLE_NONE || role == CP_ROLE_OWNER)
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", "role", "role must be admin, member or viewer");
    if (role > p.role)
        return cp_req_fail(req, CP_EFORBIDDEN, "forbidden", "role", "a token's role cannot be above your own");
    cp_api_token t = {.kind = "project", .user_id = (char *)req->user_id, .project_id = p.id, .role = role};
    unsigned scopes;
    if ((r = parse_new(req, body, &t, &scopes)) != CP_OK) return r;
    return create_reply(req, &t);
}

cp_result cp_api_project_tokens_list(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_ADMIN, &p);
    if (r != CP_OK) return r;
    return list_reply(req, NULL, p.id);
}

cp_result cp_api_project_tokens_revoke(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_ADMIN, &p);
    if (r != CP_OK) return r;
    return revoke(req, "token_id", p.id);
}
