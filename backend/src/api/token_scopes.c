/* token_scopes.c: what each route asks of an API token. GETs need read and
 * are not listed; every other authenticated route is, and a route missing
 * here is refused to tokens (tests/unit/test_tokens.c checks the table
 * against the route table both ways). */
#include <string.h>

#include "api/tokens.h"

#define R CP_SCOPE_READ
#define O CP_SCOPE_ORDER
#define AP CP_SCOPE_APPROVE
#define AD CP_SCOPE_ADMIN

const cp_route_scope cp_api_route_scopes[] = {
    /* The account itself: a browser sign-in only. */
    {"POST", "/api/v1/auth/logout", AD, CP_TOKEN_NEVER},
    {"POST", "/api/v1/auth/sessions/revoke-all", AD, CP_TOKEN_NEVER},
    {"DELETE", "/api/v1/auth/sessions/{id}", AD, CP_TOKEN_NEVER},
    {"POST", "/api/v1/auth/password", AD, CP_TOKEN_NEVER},
    {"GET", "/api/v1/auth/sessions", R, CP_TOKEN_NEVER},
    /* Personal tokens: managed by their user; a token needs admin. */
    {"POST", "/api/v1/tokens", AD, CP_TOKEN_PERSONAL_ONLY},
    {"GET", "/api/v1/tokens", AD, CP_TOKEN_PERSONAL_ONLY},
    {"DELETE", "/api/v1/tokens/{id}", AD, CP_TOKEN_PERSONAL_ONLY},
    /* Projects, members, invitations, accounts, guardrails, webhooks, tokens. */
    {"POST", "/api/v1/projects", AD, CP_TOKEN_PERSONAL_ONLY},
    {"PATCH", "/api/v1/projects/{id}", AD, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/projects/{id}", AD, CP_TOKEN_ANY},
    {"POST", "/api/v1/projects/{id}/invitations", AD, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/projects/{id}/invitations/{invitation_id}", AD, CP_TOKEN_ANY},
    {"POST", "/api/v1/invitations/accept", AD, CP_TOKEN_PERSONAL_ONLY},
    {"POST", "/api/v1/invitations/{id}/accept", AD, CP_TOKEN_PERSONAL_ONLY},
    {"POST", "/api/v1/invitations/{id}/decline", AD, CP_TOKEN_PERSONAL_ONLY},
    {"PATCH", "/api/v1/projects/{id}/members/{user_id}", AD, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/projects/{id}/members/{user_id}", AD, CP_TOKEN_ANY},
    {"POST", "/api/v1/projects/{id}/accounts", AD, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/accounts/{id}", AD, CP_TOKEN_ANY},
    {"PUT", "/api/v1/projects/{id}/guardrails", AD, CP_TOKEN_ANY},
    {"PUT", "/api/v1/resources/{id}/protection", AD, CP_TOKEN_ANY},
    {"POST", "/api/v1/projects/{id}/webhooks", AD, CP_TOKEN_ANY},
    {"PATCH", "/api/v1/webhooks/{id}", AD, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/webhooks/{id}", AD, CP_TOKEN_ANY},
    {"POST", "/api/v1/webhooks/{id}/test", AD, CP_TOKEN_ANY},
    {"POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", AD, CP_TOKEN_ANY},
    {"POST", "/api/v1/projects/{id}/tokens", AD, CP_TOKEN_ANY},
    {"GET", "/api/v1/projects/{id}/tokens", AD, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/projects/{id}/tokens/{token_id}", AD, CP_TOKEN_ANY},
    /* Ordering and changing resources. */
    {"POST", "/api/v1/resources", O, CP_TOKEN_ANY},
    {"PATCH", "/api/v1/resources/{id}", O, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/resources/{id}", O, CP_TOKEN_ANY},
    {"POST", "/api/v1/resources/{id}/extend", O, CP_TOKEN_ANY},
    {"PUT", "/api/v1/resources/{id}/schedule", O, CP_TOKEN_ANY},
    {"DELETE", "/api/v1/resources/{id}/schedule", O, CP_TOKEN_ANY},
    {"POST", "/api/v1/resources/{id}/drift-check", O, CP_TOKEN_ANY},
    {"POST", "/api/v1/resources/{id}/drift/reconcile", O, CP_TOKEN_ANY},
    {"POST", "/api/v1/resources/{id}/drift/accept", O, CP_TOKEN_ANY},
    /* Runs. */
    {"POST", "/api/v1/runs/{id}/approve", AP, CP_TOKEN_ANY},
    {"POST", "/api/v1/runs/{id}/cancel", AP, CP_TOKEN_ANY},
    /* Writes that change nothing of the project's: reading. */
    {"POST", "/api/v1/runs/{id}/stream-ticket", R, CP_TOKEN_ANY},
    {"POST", "/api/v1/guardrails/check", R, CP_TOKEN_ANY},
    {"POST", "/api/v1/notifications/{id}/read", R, CP_TOKEN_ANY},
};

const size_t cp_api_nroute_scopes = CP_ARRAY_LEN(cp_api_route_scopes);

const cp_route_scope *cp_api_route_scope(const char *method, const char *pattern)
{
    for (size_t i = 0; i < cp_api_nroute_scopes; i++)
        if (!strcmp(cp_api_route_scopes[i].method, method) && !strcmp(cp_api_route_scopes[i].pattern, pattern))
            return &cp_api_route_scopes[i];
    return NULL;
}

static const char *const scope_names[] = {"read", "order", "approve", "admin"};

unsigned cp_scope_parse(const char *name)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(scope_names); i++)
        if (!strcmp(scope_names[i], name)) return 1u << i;
    return 0;
}

json_t *cp_scopes_json(unsigned scopes)
{
    json_t *a = json_array();
    for (size_t i = 0; i < CP_ARRAY_LEN(scope_names); i++)
        if (scopes & (1u << i)) json_array_append_new(a, json_string(scope_names[i]));
    return a;
}

unsigned cp_scopes_from_text(const char *text)
{
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    unsigned bits = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (json_is_string(v)) bits |= cp_scope_parse(json_string_value(v));
    json_decref(a);
    return bits;
}
