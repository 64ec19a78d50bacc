/* store.h: the store interface. Every read and write of application data goes
 * through these calls; they are implemented once over db.h and run on SQLite
 * (embedded) and PostgreSQL (distributed). Strings in returned records are
 * allocated in the caller's arena. */
#ifndef CP_STORE_H
#define CP_STORE_H

#include <jansson.h>

#include "core/arena.h"
#include "core/error.h"
#include "store/db.h"
#include "store/status.h"

typedef struct cp_store cp_store;

/* Opens (and, if migrate is true, migrates) the database at url. */
cp_result cp_store_open(const char *url, int pool_size, bool migrate, cp_store **out, cp_error *err) CP_MUST_CHECK;
void cp_store_close(cp_store *s);
cp_db *cp_store_db(cp_store *s);
/* Applies pending migrations; *applied gets how many ran. */
cp_result cp_store_migrate(cp_store *s, int *applied, cp_error *err) CP_MUST_CHECK;
/* Cheap round trip, for /readyz. */
cp_result cp_store_ping(cp_store *s, cp_error *err) CP_MUST_CHECK;
/* The data version: moves on every change a resource list can show (triggers
 * in migration 0002). CP_OK with *v set. */
cp_result cp_store_data_version(cp_store *s, int64_t *v, cp_error *err) CP_MUST_CHECK;

/* Per-project caps, so one tenant cannot take what others need (0 = none).
 * Checked in the same transaction as the write they guard, after the project
 * row is locked, so concurrent requests cannot both pass (store_limits.c). */
typedef struct {
    long project_runs;        /* unfinished runs (create and update; destroys always go): 429 too_many_runs */
    long project_resources;   /* resources not destroyed: 409 resource_quota */
    long project_active_runs; /* runs a project may have executing at once: a claim past it waits */
    long drift_minute_ms;     /* one minute of a drift interval (60000; tests shorten it); 0 -> 60000 */
} cp_store_limits;
/* Call once at start, before the store is shared. */
void cp_store_set_limits(cp_store *s, const cp_store_limits *l);

typedef struct {
    char *id;
    char *email;
    char *name;
    char *password_hash;
    int64_t created_at;
} cp_user;

/* CP_ECONFLICT when the (lower-cased) email exists. */
cp_result cp_store_user_create(cp_store *s, cp_arena *a, const char *email, const char *name, const char *password_hash,
                               cp_user *out, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_user_by_email(cp_store *s, cp_arena *a, const char *email, cp_user *out,
                                 cp_error *err) CP_MUST_CHECK;
cp_result cp_store_user_by_id(cp_store *s, cp_arena *a, const char *id, cp_user *out, cp_error *err) CP_MUST_CHECK;

/* Replaces the user's password hash. */
cp_result cp_store_user_set_password(cp_store *s, const char *user_id, const char *password_hash,
                                     cp_error *err) CP_MUST_CHECK;

/* ---- projects and memberships (store_projects.c) ---- */

typedef enum { CP_ROLE_NONE = 0, CP_ROLE_VIEWER, CP_ROLE_MEMBER, CP_ROLE_ADMIN, CP_ROLE_OWNER } cp_role;
cp_role cp_role_parse(const char *s);
const char *cp_role_name(cp_role r);

typedef struct {
    char *id;
    char *name;
    bool require_approval;
    bool has_budget;
    double monthly_budget_usd;
    double budget_used_usd; /* monthly run-rate of resources that exist or are being created */
    cp_role role;           /* the asking user's role */
    int64_t created_at;
    int64_t default_ttl_seconds, max_ttl_seconds; /* 0 = none */
    bool expiry_auto_approve;
    long drift_interval_minutes; /* 0 = drift checks off */
} cp_project;

typedef struct {
    char *user_id;
    char *email;
    char *name;
    cp_role role;
} cp_member;

cp_result cp_store_project_create(cp_store *s, cp_arena *a, const char *owner_id, const char *name,
                                  bool require_approval, const double *budget, cp_project *out,
                                  cp_error *err) CP_MUST_CHECK;
/* CP_ENOTFOUND unless user_id is a member. */
cp_result cp_store_project_get(cp_store *s, cp_arena *a, const char *project_id, const char *user_id, cp_project *out,
                               cp_error *err) CP_MUST_CHECK;
/* The project's require_approval; true when it cannot be read (fail safe). */
bool cp_store_project_requires_approval(cp_store *s, const char *project_id);
/* Keyset page of the user's projects, newest first; *next is NULL on the last page. */
cp_result cp_store_projects_list(cp_store *s, cp_arena *a, const char *user_id, int limit, const char *cursor,
                                 cp_project **items, size_t *n, char **next, cp_error *err) CP_MUST_CHECK;
/* name NULL = unchanged; budget_set false = unchanged; budget NULL with budget_set = clear. */
cp_result cp_store_project_update(cp_store *s, const char *id, const char *name, const bool *require_approval,
                                  bool budget_set, const double *budget, cp_error *err) CP_MUST_CHECK;
/* CP_ECONFLICT while any resource is not destroyed. */
cp_result cp_store_project_delete(cp_store *s, const char *id, cp_error *err) CP_MUST_CHECK;

cp_result cp_store_members_list(cp_store *s, cp_arena *a, const char *project_id, cp_member **items, size_t *n,
                                cp_error *err) CP_MUST_CHECK;
/* CP_ENOTFOUND (field email) for an unknown user, CP_ECONFLICT if already a member. */
cp_result cp_store_member_add(cp_store *s, cp_arena *a, const char *project_id, const char *email, cp_role role,
                              cp_member *out, cp_error *err) CP_MUST_CHECK;
/* Both refuse (CP_ECONFLICT) to leave the project without an owner. */
cp_result cp_store_member_set_role(cp_store *s, const char *project_id, const char *user_id, cp_role role,
                                   cp_error *err) CP_MUST_CHECK;
cp_result cp_store_member_remove(cp_store *s, const char *project_id, const char *user_id, cp_error *err) CP_MUST_CHECK;
cp_role cp_store_member_role(cp_store *s, const char *project_id, const char *user_id);

/* ---- cloud accounts (store_projects.c) ---- */

typedef struct {
    char *id;
    char *project_id;
    char *cloud;
    char *name;
    char *hint;
    char *key_id;
    char *nonce;
    char *ciphertext;
    int64_t created_at;
    /* Workload identity (migration 0020): kind "credentials" (sealed above)
     * or "workload_identity" (no secret: key_id, nonce, ciphertext are "") */
    char *kind;
    char *identity; /* JSON object of the catalog's identity fields; NULL for credentials */
    char *audience; /* token aud; NULL = the cloud's default */
    bool deleted;   /* removed, kept for the history of its resources */
} cp_account;

/* id must be pre-generated: the vault binds the ciphertext to it. */
cp_result cp_store_account_create(cp_store *s, const cp_account *acc, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_account_get(cp_store *s, cp_arena *a, const char *id, cp_account *out, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_accounts_list(cp_store *s, cp_arena *a, const char *project_id, cp_account **items, size_t *n,
                                 cp_error *err) CP_MUST_CHECK;
/* CP_ECONFLICT while resources that are not destroyed use it. */
cp_result cp_store_account_delete(cp_store *s, const char *id, cp_error *err) CP_MUST_CHECK;
/* Every account, for key rotation. */
cp_result cp_store_accounts_all(cp_store *s, cp_arena *a, cp_account **items, size_t *n, cp_error *err) CP_MUST_CHECK;
/* Re-seal: conditional on the old key id, so a concurrent rotation cannot clobber. */
cp_result cp_store_account_reseal(cp_store *s, const char *id, const char *old_key_id, const char *key_id,
                                  const char *nonce, const char *ciphertext, cp_error *err) CP_MUST_CHECK;

/* ---- audit (store_projects.c) ---- */

typedef struct {
    char *id;
    int64_t ts;
    char *actor_id;
    char *actor_email;
    char *project_id;
    char *action;
    char *target;
    char *detail; /* JSON text */
} cp_audit;

/* Best effort by design of the callers: a failed audit write is logged. */
cp_result cp_store_audit_add(cp_store *s, const char *actor_id, const char *project_id, const char *action,
                             const char *target, const char *detail_json, cp_error *err) CP_MUST_CHECK;
/* The events of one actor that belong to no project (logins). */
cp_result cp_store_audit_list_actor(cp_store *s, cp_arena *a, const char *actor_id, int limit, const char *cursor,
                                    cp_audit **items, size_t *n, char **next, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_audit_list(cp_store *s, cp_arena *a, const char *project_id, int limit, const char *cursor,
                              cp_audit **items, size_t *n, char **next, cp_error *err) CP_MUST_CHECK;

/* ---- resources and the runs queued against them (store_resources.c) ---- */

typedef struct {
    char *id;
    char *project_id;
    char *account_id;
    char *account_name;
    char *cloud;
    char *kind;
    char *name;
    char *region;
    char *size;
    char *config; /* JSON text */
    cp_resource_status status;
    char *outputs; /* JSON text */
    double monthly_cost_usd;
    char *created_by;
    int64_t created_at, updated_at;
    char *run_id; /* current run: the latest one; NULL when none (then the two below mean nothing) */
    cp_run_operation run_operation;
    cp_run_status run_status;
    char *schedule;               /* working hours {stop, start, timezone} as JSON text; NULL when none */
    char *power_state;            /* running | stopped for a VM the last run left so; NULL otherwise */
    int64_t schedule_next_at;     /* Unix ms of the next scheduled stop or start; 0 when none */
    int64_t expires_at;           /* ms; 0 = never */
    cp_drift_status drift_status; /* the last drift check's finding */
    int64_t drift_checked_at;     /* 0: never checked */
    bool is_protected;            /* no destroy, no plan that destroys or replaces it (migration 0014) */
} cp_resource;

typedef struct {
    char *id;
    char *resource_id;
    char *resource_name;
    char *project_id;
    cp_run_operation operation;
    cp_run_status status;
    int64_t attempt;
    char *params; /* JSON text, store/run_params.h: what this run wants; the store only keeps it */
    char *lease_owner;
    int64_t lease_expires_at;
    char *lock_id;
    bool tofu_started;
    bool cancel_requested;
    char *plan_summary; /* JSON text or NULL; the plan itself is never read with the run (cp_store_run_plan_load) */
    char *approved_by;
    char *error;
    int64_t event_count, events_dropped;
    char *created_by;
    int64_t queued_at, started_at, finished_at;
    char *source;             /* who asked: CP_SOURCE_USER, or the scheduler's task (CP_SOURCE_*) */
    bool override_required;   /* its plan broke a soft guardrail: approval takes a reason (migration 0014) */
    char *request_id;         /* the trace id (core/trace.h) current on the thread that queued it; NULL: none (0017) */
    int64_t events_pruned_at; /* retention removed its events then (0: never; migration 0018) */
} cp_run;

/* runs.source: a person, or what the scheduler queued the run for. */
#define CP_SOURCE_USER "user"
#define CP_SOURCE_DRIFT_SCHEDULE "drift_schedule"
#define CP_SOURCE_DRIFT_RECONCILE "drift_reconcile"
#define CP_SOURCE_DRIFT_ACCEPT "drift_accept"
#define CP_SOURCE_EXPIRY "expiry"
#define CP_SOURCE_SCHEDULE "schedule"

typedef struct {
    const char *project_id, *cloud, *kind, *status; /* as given in the query; NULL = any */
    int64_t expires_before;                         /* ms; 0 = any: else not destroyed and expiring before then */
    const char *drift_status;                       /* NULL = any */
} cp_resource_filter;

/* Inserts the resource (pending) and its create run (queued) atomically,
 * refusing with budget_exceeded when the project budget would be passed. */
cp_result cp_store_resource_create(cp_store *s, cp_arena *a, const cp_resource *res, const char *run_params,
                                   cp_resource *out, cp_run *run, cp_error *err) CP_MUST_CHECK;
/* The resource if user_id is a member of its project (role in *role). */
cp_result cp_store_resource_get(cp_store *s, cp_arena *a, const char *id, const char *user_id, cp_resource *out,
                                cp_role *role, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_resources_list(cp_store *s, cp_arena *a, const char *user_id, const cp_resource_filter *f, int limit,
                                  const char *cursor, cp_resource **items, size_t *n, char **next,
                                  cp_error *err) CP_MUST_CHECK;
/* The same page's rows (limit clamped as there), without copying them: fn
 * gets each of up to limit + 1 rows (the extra one only says a next page
 * exists) in no particular order, valid during the call only. Made for
 * writing the page straight from the rows (api/resources.c). */
typedef void (*cp_resource_fn)(void *ctx, const cp_resource *res);
cp_result cp_store_resources_each(cp_store *s, const char *user_id, const cp_resource_filter *f, int limit,
                                  const char *cursor, cp_resource_fn fn, void *ctx, cp_error *err) CP_MUST_CHECK;
/* The resource regardless of membership (workers only). */
cp_result cp_store_resource_by_id(cp_store *s, cp_arena *a, const char *id, cp_resource *out,
                                  cp_error *err) CP_MUST_CHECK;
/* Queues an update or destroy run. CP_ECONFLICT when the resource is destroyed
 * or a destroy is already queued. For updates, budget is checked as for create. */
cp_result cp_store_run_enqueue(cp_store *s, cp_arena *a, const char *resource_id, cp_run_operation operation,
                               const char *run_params, double new_monthly_cost, const char *user_id, cp_run *out,
                               cp_error *err) CP_MUST_CHECK;
/* The same for a run that source (CP_SOURCE_*) asked for; user_id may be NULL. */
cp_result cp_store_run_enqueue_from(cp_store *s, cp_arena *a, const char *resource_id, cp_run_operation operation,
                                    const char *run_params, double new_monthly_cost, const char *user_id,
                                    const char *source, cp_run *out, cp_error *err) CP_MUST_CHECK;

/* ---- runs: reads (store_runs.c) ---- */

cp_result cp_store_run_get(cp_store *s, cp_arena *a, const char *run_id, cp_run *out, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_runs_list(cp_store *s, cp_arena *a, const char *resource_id, int limit, const char *cursor,
                             cp_run **items, size_t *n, char **next, cp_error *err) CP_MUST_CHECK;
/* Recent runs across the user's projects (dashboard). */
cp_result cp_store_runs_recent(cp_store *s, cp_arena *a, const char *user_id, int limit, cp_run **items, size_t *n,
                               cp_error *err) CP_MUST_CHECK;

/* ---- runs, worker side (store_runs.c): claim, lease, transitions, fenced by owner + attempt ---- */

/* Claims run_id for worker if it is runnable now: queued (or approved and
 * awaiting apply), no earlier unfinished run of the same resource, no live
 * lease, and its project below project_active_runs executing runs (fair
 * queueing: a project with a backlog cannot take every worker). CP_ECONFLICT
 * when it is not claimable (taken, waiting its turn, ended, project busy). */
cp_result cp_store_run_claim(cp_store *s, cp_arena *a, const char *run_id, const char *worker, int64_t lease_ms,
                             cp_run *out, cp_error *err) CP_MUST_CHECK;
/* Ids of a project's runs that are claimable now, oldest first: after one of
 * its runs ends, the next may take the freed slot (project_active_runs). */
cp_result cp_store_runs_claimable_in_project(cp_store *s, cp_arena *a, const char *project_id, int limit, char ***ids,
                                             size_t *n, cp_error *err) CP_MUST_CHECK;
/* Ids of queued runs with no live lease (for the reconciler), oldest first. */
cp_result cp_store_runs_claimable(cp_store *s, cp_arena *a, int limit, char ***ids, size_t *n,
                                  cp_error *err) CP_MUST_CHECK;
/* Fenced calls (heartbeat, transition, mark_tofu_started, set_plan, finish)
 * return CP_ECONFLICT with reason CP_REASON_LEASE_LOST (code "lease_lost")
 * when, and only when, the caller's lease is lost: another owner may have the
 * run now, so write nothing more. */
cp_result cp_store_run_heartbeat(cp_store *s, const cp_run *run, int64_t lease_ms, bool *cancel_requested,
                                 cp_error *err) CP_MUST_CHECK;
/* Moves the run (and its resource) along the state machine; every write is
 * conditional on lease owner + attempt. Illegal transitions are refused and
 * logged (CP_ERR, code illegal_transition). */
cp_result cp_store_run_transition(cp_store *s, const cp_run *run, cp_run_status to, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_run_mark_tofu_started(cp_store *s, const cp_run *run, const char *lock_id,
                                         cp_error *err) CP_MUST_CHECK;
/* A saved plan as the vault sealed it (vault/vault.h, cp_vault_seal_plan):
 * the store keeps it, never reads it with a run, and clears it when the run
 * ends (finish, cancel, reap). key_id NULL on a row written before plans
 * were sealed: ciphertext is then the plan in base64, in the clear. */
typedef struct {
    const char *key_id, *nonce, *ciphertext;
} cp_sealed_plan;
/* plan: NULL when no person must approve (nothing is kept). */
cp_result cp_store_run_set_plan(cp_store *s, const cp_run *run, const char *summary_json, const cp_sealed_plan *plan,
                                cp_error *err) CP_MUST_CHECK;
/* The sealed plan of the run this worker claimed for its apply (fenced like
 * the writes). CP_ENOTFOUND (plan_missing) when the run holds none. */
cp_result cp_store_run_plan_load(cp_store *s, cp_arena *a, const cp_run *run, cp_sealed_plan *out,
                                 cp_error *err) CP_MUST_CHECK;
/* For key rotation: runs holding a sealed plan under a key other than
 * key_id (legacy plans in the clear included: key_id NULL). */
typedef struct {
    char *run_id, *project_id;
    cp_sealed_plan plan;
} cp_run_plan_row;
cp_result cp_store_run_plans_not_under(cp_store *s, cp_arena *a, const char *key_id, cp_run_plan_row **items, size_t *n,
                                       cp_error *err) CP_MUST_CHECK;
/* Re-seal: conditional on the ciphertext seen, so a plan cleared or replaced
 * meanwhile is left alone (CP_ECONFLICT). */
cp_result cp_store_run_plan_reseal(cp_store *s, const char *run_id, const char *old_ciphertext,
                                   const cp_sealed_plan *plan, cp_error *err) CP_MUST_CHECK;
/* What a create or update that succeeded writes to its resource. */
typedef struct {
    const char *size;        /* NULL = unchanged */
    const char *config;      /* JSON text; NULL = unchanged */
    double monthly_cost_usd; /* also the rate of the cost period that opens */
    const char *name;        /* NULL = unchanged (a rename: PATCH name) */
} cp_resource_spec;
/* Final states. outputs_json and spec only on success; spec is required for
 * a create or update that succeeded (CP_ERR without it). */
cp_result cp_store_run_finish(cp_store *s, const cp_run *run, cp_run_status final, const char *error,
                              const char *outputs_json, const cp_resource_spec *spec, cp_error *err) CP_MUST_CHECK;

/* ---- runs: user actions and lease expiry (store_runs.c) ---- */

cp_result cp_store_run_approve(cp_store *s, const char *run_id, const char *user_id, cp_error *err) CP_MUST_CHECK;
/* Queued or approval-waiting runs end at once (*immediate); running ones get cancel_requested. */
cp_result cp_store_run_cancel(cp_store *s, const char *run_id, bool *immediate, cp_error *err) CP_MUST_CHECK;

/* Runs whose lease expired more than grace_ms ago (the window in which a
 * worker that could not renew kills its own tofu: see worker/heartbeat.c).
 * Before tofu started: back to queued. During
 * plan/apply: failed "worker lost"; lock ids of those are returned so the
 * caller can free the state locks the platform itself took. Each run is
 * reaped in its own transaction, fenced like a worker's write: a run whose
 * owner renewed, moved or finished it first is left alone, and a run that
 * cannot be reaped now is logged and left for the next call. */
typedef struct {
    char *run_id, *resource_id, *lock_id;
    char *request_id; /* the run's trace id (cp_run.request_id), NULL: none */
} cp_lost_run;
cp_result cp_store_runs_reap(cp_store *s, cp_arena *a, int64_t grace_ms, char ***requeued, size_t *nrequeued,
                             cp_lost_run **lost, size_t *nlost, cp_error *err) CP_MUST_CHECK;

/* ---- run events (store_events.c) ---- */

/* One event to append: type, its data as JSON text, and when it happened (ms). */
typedef struct {
    const char *type;
    const char *data;
    int64_t ts;
} cp_event_new;
/* Appends n events (at most CP_EVENTS_APPEND_MAX) in order, in one
 * transaction and one INSERT: seqs follow the run's event_count. Those past
 * max_events per run are dropped and counted (the reader reports the count as
 * truncation). *last_seq gets the seq of the last one stored, or 0. */
#define CP_EVENTS_APPEND_MAX 256
cp_result cp_store_events_append(cp_store *s, const char *run_id, const cp_event_new *ev, size_t n, int64_t max_events,
                                 int64_t *last_seq, cp_error *err) CP_MUST_CHECK;
/* cp_store_events_append of one event, stamped now. */
cp_result cp_store_event_append(cp_store *s, const char *run_id, const char *type, const char *data_json,
                                int64_t max_events, int64_t *seq, cp_error *err) CP_MUST_CHECK;
typedef struct {
    int64_t seq, ts;
    char *type;
    char *data;
} cp_event;
cp_result cp_store_events_list(cp_store *s, cp_arena *a, const char *run_id, int64_t after_seq, int limit,
                               cp_event **items, size_t *n, cp_error *err) CP_MUST_CHECK;

/* ---- costs (store_costs.c) ---- */

typedef struct {
    char *key;
    char *label; /* project name when grouped by project, else the key */
    double monthly_usd;
    int64_t count;
} cp_cost_group;
/* group_by: "cloud", "project", "kind" or "region" (checked by the caller). */
cp_result cp_store_costs_summary(cp_store *s, cp_arena *a, const char *user_id, const char *group_by,
                                 cp_cost_group **items, size_t *n, cp_error *err) CP_MUST_CHECK;
typedef struct {
    char *project_id, *cloud;
    double monthly_usd;
    int64_t started_at, ended_at; /* ended_at 0 = still running */
} cp_cost_period;
cp_result cp_store_cost_periods(cp_store *s, cp_arena *a, const char *user_id, int64_t since, cp_cost_period **items,
                                size_t *n, cp_error *err) CP_MUST_CHECK;

#endif
