/* api.h: the HTTP API: its route table, the auth guard and one handler per
 * route. The context handlers share is cp_app (app/app.h). */
#ifndef CP_API_H
#define CP_API_H

#include "app/app.h"
#include "http/http.h"

/* The route table of the HTTP API. */
extern const cp_route cp_api_routes[];
extern const size_t cp_api_nroutes;
/* The auth guard used by the server for CP_ROUTE_AUTH routes. */
cp_result cp_api_authenticate(cp_req *req, bool allow_ticket);
/* The guard of CP_ROUTE_SANDBOX_KEY routes: a registered sandbox API key
 * (401 otherwise) within its request rate (429 otherwise). */
cp_result cp_api_sandbox_authenticate(cp_req *req);

#define CP_APP(req) ((cp_app *)(req)->app)

/* Handlers */
cp_result cp_api_signup(cp_req *req);
cp_result cp_api_login(cp_req *req);
cp_result cp_api_me(cp_req *req);
cp_result cp_api_refresh(cp_req *req);
cp_result cp_api_logout(cp_req *req);
cp_result cp_api_sessions_list(cp_req *req);
cp_result cp_api_sessions_revoke(cp_req *req);
cp_result cp_api_sessions_revoke_all(cp_req *req);
cp_result cp_api_password_change(cp_req *req);
cp_result cp_api_signup_complete(cp_req *req);
/* Project invitations (invitations.c). */
cp_result cp_api_invitations_create(cp_req *req);
cp_result cp_api_invitations_list(cp_req *req);
cp_result cp_api_invitations_revoke(cp_req *req);
cp_result cp_api_my_invitations(cp_req *req);
cp_result cp_api_invitations_accept_token(cp_req *req);
cp_result cp_api_invitations_accept(cp_req *req);
cp_result cp_api_invitations_decline(cp_req *req);
cp_result cp_api_healthz(cp_req *req);
cp_result cp_api_readyz(cp_req *req);
cp_result cp_api_metrics(cp_req *req);
cp_result cp_api_openapi(cp_req *req);
cp_result cp_api_projects_create(cp_req *req);
cp_result cp_api_projects_list(cp_req *req);
cp_result cp_api_projects_get(cp_req *req);
cp_result cp_api_projects_update(cp_req *req);
cp_result cp_api_projects_delete(cp_req *req);
cp_result cp_api_members_list(cp_req *req);
cp_result cp_api_members_update(cp_req *req);
cp_result cp_api_members_remove(cp_req *req);
cp_result cp_api_audit_list(cp_req *req);
cp_result cp_api_my_audit(cp_req *req);
cp_result cp_api_accounts_create(cp_req *req);
cp_result cp_api_accounts_list(cp_req *req);
cp_result cp_api_accounts_delete(cp_req *req);
cp_result cp_api_catalog(cp_req *req);
cp_result cp_api_resources_create(cp_req *req);
cp_result cp_api_resources_list(cp_req *req);
cp_result cp_api_resources_get(cp_req *req);
cp_result cp_api_resources_update(cp_req *req);
cp_result cp_api_resources_delete(cp_req *req);
cp_result cp_api_runs_list(cp_req *req);
cp_result cp_api_runs_recent(cp_req *req);
cp_result cp_api_runs_get(cp_req *req);
cp_result cp_api_runs_approve(cp_req *req);
cp_result cp_api_runs_cancel(cp_req *req);
cp_result cp_api_runs_events(cp_req *req);
cp_result cp_api_runs_stream_ticket(cp_req *req);
cp_result cp_api_costs_summary(cp_req *req);
cp_result cp_api_costs_daily(cp_req *req);
/* The sandbox cloud (sandbox_cloud.c), under /sandbox/v1. */
cp_result cp_api_sandbox_instance_create(cp_req *req);
cp_result cp_api_sandbox_instance_get(cp_req *req);
cp_result cp_api_sandbox_instance_update(cp_req *req);
cp_result cp_api_sandbox_instance_delete(cp_req *req);
cp_result cp_api_sandbox_bucket_create(cp_req *req);
cp_result cp_api_sandbox_bucket_get(cp_req *req);
cp_result cp_api_sandbox_bucket_update(cp_req *req);
cp_result cp_api_sandbox_bucket_delete(cp_req *req);

#endif
