/* routes.c: the HTTP API's route table. Every path here is in openapi.yaml, and
 * a test checks both directions. */
#include "api/api.h"

const cp_route cp_api_routes[] = {
    {"GET", "/healthz", cp_api_healthz, CP_ROUTE_PUBLIC},
    {"GET", "/readyz", cp_api_readyz, CP_ROUTE_PUBLIC},
    {"GET", "/metrics", cp_api_metrics, CP_ROUTE_PUBLIC},
    {"GET", "/api/v1/openapi.yaml", cp_api_openapi, CP_ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/signup", cp_api_signup, CP_ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/login", cp_api_login, CP_ROUTE_PUBLIC},
    {"GET", "/api/v1/auth/me", cp_api_me, CP_ROUTE_AUTH},
    {"GET", "/api/v1/auth/audit", cp_api_my_audit, CP_ROUTE_AUTH},
    {"GET", "/api/v1/catalog", cp_api_catalog, CP_ROUTE_AUTH},
    {"POST", "/api/v1/projects", cp_api_projects_create, CP_ROUTE_AUTH},
    {"GET", "/api/v1/projects", cp_api_projects_list, CP_ROUTE_AUTH},
    {"GET", "/api/v1/projects/{id}", cp_api_projects_get, CP_ROUTE_AUTH},
    {"PATCH", "/api/v1/projects/{id}", cp_api_projects_update, CP_ROUTE_AUTH},
    {"DELETE", "/api/v1/projects/{id}", cp_api_projects_delete, CP_ROUTE_AUTH},
    {"GET", "/api/v1/projects/{id}/members", cp_api_members_list, CP_ROUTE_AUTH},
    {"POST", "/api/v1/projects/{id}/members", cp_api_members_add, CP_ROUTE_AUTH},
    {"PATCH", "/api/v1/projects/{id}/members/{user_id}", cp_api_members_update, CP_ROUTE_AUTH},
    {"DELETE", "/api/v1/projects/{id}/members/{user_id}", cp_api_members_remove, CP_ROUTE_AUTH},
    {"GET", "/api/v1/projects/{id}/audit", cp_api_audit_list, CP_ROUTE_AUTH},
    {"POST", "/api/v1/projects/{id}/accounts", cp_api_accounts_create, CP_ROUTE_AUTH},
    {"GET", "/api/v1/projects/{id}/accounts", cp_api_accounts_list, CP_ROUTE_AUTH},
    {"DELETE", "/api/v1/accounts/{id}", cp_api_accounts_delete, CP_ROUTE_AUTH},
    {"POST", "/api/v1/resources", cp_api_resources_create, CP_ROUTE_AUTH},
    {"GET", "/api/v1/resources", cp_api_resources_list, CP_ROUTE_AUTH},
    {"GET", "/api/v1/resources/{id}", cp_api_resources_get, CP_ROUTE_AUTH},
    {"PATCH", "/api/v1/resources/{id}", cp_api_resources_update, CP_ROUTE_AUTH},
    {"DELETE", "/api/v1/resources/{id}", cp_api_resources_delete, CP_ROUTE_AUTH},
    {"GET", "/api/v1/resources/{id}/runs", cp_api_runs_list, CP_ROUTE_AUTH},
    {"GET", "/api/v1/runs", cp_api_runs_recent, CP_ROUTE_AUTH},
    {"GET", "/api/v1/runs/{id}", cp_api_runs_get, CP_ROUTE_AUTH},
    {"POST", "/api/v1/runs/{id}/approve", cp_api_runs_approve, CP_ROUTE_AUTH},
    {"POST", "/api/v1/runs/{id}/cancel", cp_api_runs_cancel, CP_ROUTE_AUTH},
    {"GET", "/api/v1/runs/{id}/events", cp_api_runs_events, CP_ROUTE_AUTH | CP_ROUTE_TOKEN_QUERY},
    {"GET", "/api/v1/costs/summary", cp_api_costs_summary, CP_ROUTE_AUTH},
    {"GET", "/api/v1/costs/daily", cp_api_costs_daily, CP_ROUTE_AUTH},
};

const size_t cp_api_nroutes = CP_ARRAY_LEN(cp_api_routes);
