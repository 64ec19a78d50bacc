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

/* Rate limits of one kind of request (api/limits.c), charged once per
 * request: a token from the client address's bucket (IPv6: its /64) and one
 * from account's (an email, a user id; NULL skips it). CP_OK, or CP_ERATE
 * with a 429 reply, its Retry-After and a JSON error set. Invitations:
 * `r = cp_api_limit(req, CP_LIMIT_INVITE, req->user_id); if (r != CP_OK) return r;`
 * before anything is written. */
cp_result cp_api_limit(cp_req *req, cp_limit_kind kind, const char *account) CP_MUST_CHECK;
/* Sets the Retry-After header of a 429 or 503 reply. */
void cp_api_retry_after(cp_req *req, int seconds);
/* How long a client refused with too_many_runs is told to wait. */
#define CP_RUNS_RETRY_AFTER_S 30
/* argon2id on the hashing pool, never on the HTTP thread. The handler calls
 * it as if it were synchronous and returns any result but CP_OK as is: the
 * first call queues the job and returns CP_EDECLINED (the server suspends the
 * request and calls the handler again when the job is done); the second
 * returns CP_OK with the result. A full pool: CP_EAGAIN, 503 with Retry-After.
 * The handler must be safe to run twice up to this call (no writes before it;
 * cp_api_limit charges once). password must outlive the request (the parsed
 * body does). */
cp_result cp_api_password_hash(cp_req *req, const char *password, char out[CP_PASSWORD_HASH_MAX]) CP_MUST_CHECK;
/* Verifies password against hash; hash NULL burns the same time (unknown
 * account) and gives false. Same calling convention as cp_api_password_hash. */
cp_result cp_api_password_verify(cp_req *req, const char *hash, const char *password, bool *ok) CP_MUST_CHECK;
/* A password change in one trip to the pool (a handler awaits at most once):
 * verifies current against hash (*ok), and only then hashes fresh into out. */
cp_result cp_api_password_rehash(cp_req *req, const char *hash, const char *current, const char *fresh, bool *ok,
                                 char out[CP_PASSWORD_HASH_MAX]) CP_MUST_CHECK;
/* The operator's sandbox cloud policy for an order or account on cloud
 * (config may be NULL): with CLOUDPLANE_SANDBOX_CLOUD=off a simulated cloud is
 * 422 cloud_disabled; simulate_seconds above the configured maximum is 422
 * out_of_range. CP_OK for real clouds. */
cp_result cp_api_sandbox_policy(cp_req *req, const char *cloud, json_t *config) CP_MUST_CHECK;

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
/* Single sign-on (oidc.c). */
cp_result cp_api_oidc_providers(cp_req *req);
cp_result cp_api_oidc_start(cp_req *req);
cp_result cp_api_oidc_callback(cp_req *req);
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
/* schedules.c: working-hours schedules */
cp_result cp_api_resource_schedule_put(cp_req *req);
cp_result cp_api_resource_schedule_delete(cp_req *req);
/* Expiry (expiry.c). */
cp_result cp_api_resources_extend(cp_req *req);
cp_result cp_api_notifications_list(cp_req *req);
cp_result cp_api_notifications_read(cp_req *req);
/* drift.c */
cp_result cp_api_drift_check(cp_req *req);
cp_result cp_api_drift_report(cp_req *req);
cp_result cp_api_drift_reconcile(cp_req *req);
cp_result cp_api_drift_accept(cp_req *req);
cp_result cp_api_drift_fleet(cp_req *req);
cp_result cp_api_runs_list(cp_req *req);
cp_result cp_api_runs_recent(cp_req *req);
cp_result cp_api_runs_get(cp_req *req);
cp_result cp_api_runs_approve(cp_req *req);
cp_result cp_api_runs_cancel(cp_req *req);
cp_result cp_api_runs_events(cp_req *req);
cp_result cp_api_runs_stream_ticket(cp_req *req);
cp_result cp_api_costs_summary(cp_req *req);
cp_result cp_api_costs_daily(cp_req *req);
/* guardrails.c */
cp_result cp_api_guardrails_get(cp_req *req);
cp_result cp_api_guardrails_put(cp_req *req);
cp_result cp_api_guardrails_check(cp_req *req);
cp_result cp_api_runs_checks(cp_req *req);
cp_result cp_api_resources_protection(cp_req *req);
/* The sandbox cloud (sandbox_cloud.c), under /sandbox/v1. */
cp_result cp_api_sandbox_instance_create(cp_req *req);
cp_result cp_api_sandbox_instance_get(cp_req *req);
cp_result cp_api_sandbox_instance_update(cp_req *req);
cp_result cp_api_sandbox_instance_delete(cp_req *req);
cp_result cp_api_sandbox_bucket_create(cp_req *req);
cp_result cp_api_sandbox_bucket_get(cp_req *req);
cp_result cp_api_sandbox_bucket_update(cp_req *req);
cp_result cp_api_sandbox_bucket_delete(cp_req *req);

/* Project webhooks (webhooks.c). */
cp_result cp_api_webhooks_list(cp_req *req);
cp_result cp_api_webhooks_create(cp_req *req);
cp_result cp_api_webhooks_get(cp_req *req);
cp_result cp_api_webhooks_update(cp_req *req);
cp_result cp_api_webhooks_delete(cp_req *req);
cp_result cp_api_webhooks_test(cp_req *req);
cp_result cp_api_webhooks_deliveries(cp_req *req);
cp_result cp_api_webhooks_redeliver(cp_req *req);

#endif
