/* app.h: the application context shared by every handler and worker: config,
 * store, keys, vault, rate limiters. Built once at start by cp_app_init. */
#ifndef CP_APP_H
#define CP_APP_H

#include "auth/jwt.h"
#include "auth/ratelimit.h"
#include "core/config.h"
#include "http/http.h"
#include "store/store.h"
#include "vault/vault.h"

struct cp_queue;
struct cp_events;

typedef struct cp_app {
    cp_config *cfg;
    cp_store *store;
    struct cp_queue *queue;    /* NULL in `migrate`/`admin` */
    struct cp_events *events;
    cp_vault *vault;
    cp_jwt_key jwt;
    cp_ratelimit *login_by_email;
    cp_ratelimit *login_by_ip;
    int64_t started_at_ms;
} cp_app;

/* Creates the data dir, loads or generates keys, opens the store (migrating
 * when `migrate`). Returns a clear message in err on any failure. */
cp_result cp_app_init(cp_app *app, cp_config *cfg, bool migrate, cp_error *err);
void cp_app_close(cp_app *app);
/* The database URL the config selects (PostgreSQL URL or SQLite path); static buffer. */
const char *cp_app_database_url(const cp_config *cfg, char *buf, size_t cap);

/* The route table of the HTTP API. */
extern const cp_route cp_api_routes[];
extern const size_t cp_api_nroutes;
/* The auth guard used by the server for CP_ROUTE_AUTH routes. */
cp_result cp_api_authenticate(cp_req *req, bool allow_query_token);

#define CP_APP(req) ((cp_app *)(req)->app)

/* Handlers */
cp_result cp_api_signup(cp_req *req);
cp_result cp_api_login(cp_req *req);
cp_result cp_api_me(cp_req *req);
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
cp_result cp_api_members_add(cp_req *req);
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
cp_result cp_api_costs_summary(cp_req *req);
cp_result cp_api_costs_daily(cp_req *req);

#endif
