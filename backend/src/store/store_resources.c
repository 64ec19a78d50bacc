/* store_resources.c: resources, runs and their state machine, leases, run
 * events and costs. Every worker-side write is fenced: it only applies while
 * the writer still holds the run's lease (owner + attempt). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_int.h"

/* Same definition as the project's budget_used_usd (store_projects.c). */
#define BUDGET_SQL                                                                                               \
    "SELECT p.monthly_budget_usd IS NOT NULL, COALESCE(p.monthly_budget_usd, 0),"                                \
    " (SELECT COALESCE(SUM(r.monthly_cost_usd), 0) FROM resources r WHERE r.project_id = p.id"                   \
    " AND r.status <> 'destroyed' AND r.id <> ? AND (r.status <> 'failed' OR EXISTS (SELECT 1 FROM cost_periods c" \
    " WHERE c.resource_id = r.id AND c.ended_at IS NULL))) FROM projects p WHERE p.id = ?"

typedef struct {
    bool has_budget;
    double budget, used;
} budget_row;

static void fill_budget(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    budget_row *b = out;
    b->has_budget = cp_dbrows_int(r, 0) != 0;
    b->budget = cp_dbrows_real(r, 1);
    b->used = cp_dbrows_real(r, 2);
}

/* CP_EUNPROC budget_exceeded when adding cost (for resource except_id) passes the budget. */
static cp_result check_budget(cp_dbconn *c, const char *project_id, const char *except_id, double cost, cp_error *err)
{
    budget_row b;
    cp_param p[] = {CP_PTEXT(except_id ? except_id : ""), CP_PTEXT(project_id)};
    cp_result r = cp_conn_one(c, NULL, BUDGET_SQL, p, 2, fill_budget, &b, err);
    if (r != CP_OK) return r;
    if (b.has_budget && b.used + cost > b.budget + 1e-9)
        return cp_error_set(err, CP_EUNPROC, "budget_exceeded", NULL,
                            "this would raise the project's monthly cost to $%.2f, over its budget of $%.2f",
                            b.used + cost, b.budget);
    return CP_OK;
}

/* ---- rows ---- */

/* Status and operation columns only ever hold names from status.c; anything
 * else (a hand-edited row) is logged and read as failed (or create). NULL
 * (no current run) reads as the same default and means nothing. */
static void unknown_value(const char *text)
{
    cp_log_warn("store: unknown value '%s' in a status or operation column", text);
}

static cp_run_status run_status_col(cp_dbrows *r, int col)
{
    cp_run_status v = CP_RUN_FAILED;
    const char *t = cp_dbrows_text(r, col);
    if (t && !cp_run_status_parse(t, &v)) unknown_value(t);
    return v;
}

static cp_resource_status resource_status_col(cp_dbrows *r, int col)
{
    cp_resource_status v = CP_RES_FAILED;
    const char *t = cp_dbrows_text(r, col);
    if (t && !cp_resource_status_parse(t, &v)) unknown_value(t);
    return v;
}

static cp_run_operation operation_col(cp_dbrows *r, int col)
{
    cp_run_operation v = CP_OP_CREATE;
    const char *t = cp_dbrows_text(r, col);
    if (t && !cp_run_operation_parse(t, &v)) unknown_value(t);
    return v;
}

#define RESOURCE_COLS                                                                                            \
    "r.id, r.project_id, r.account_id, a.name, r.cloud, r.kind, r.name, r.region, r.size, r.config, r.status,"  \
    " r.outputs, r.monthly_cost_usd, r.created_by, r.created_at, r.updated_at, cr.id, cr.operation, cr.status"
#define RESOURCE_FROM                                                                                            \
    " FROM resources r JOIN cloud_accounts a ON a.id = r.account_id"                                             \
    " LEFT JOIN runs cr ON cr.id = (SELECT MAX(x.id) FROM runs x WHERE x.resource_id = r.id)"

static void fill_resource(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_resource *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->project_id = cp_dbrows_dup(r, 1, a);
    x->account_id = cp_dbrows_dup(r, 2, a);
    x->account_name = cp_dbrows_dup(r, 3, a);
    x->cloud = cp_dbrows_dup(r, 4, a);
    x->kind = cp_dbrows_dup(r, 5, a);
    x->name = cp_dbrows_dup(r, 6, a);
    x->region = cp_dbrows_dup(r, 7, a);
    x->size = cp_dbrows_dup(r, 8, a);
    x->config = cp_dbrows_dup(r, 9, a);
    x->status = resource_status_col(r, 10);
    x->outputs = cp_dbrows_dup(r, 11, a);
    x->monthly_cost_usd = cp_dbrows_real(r, 12);
    x->created_by = cp_dbrows_dup(r, 13, a);
    x->created_at = cp_dbrows_int(r, 14);
    x->updated_at = cp_dbrows_int(r, 15);
    x->run_id = cp_dbrows_dup(r, 16, a);
    x->run_operation = operation_col(r, 17);
    x->run_status = run_status_col(r, 18);
}

typedef struct {
    cp_resource res;
    cp_role role;
} resource_role;

static void fill_resource_role(cp_dbrows *r, cp_arena *a, void *out)
{
    resource_role *rr = out;
    fill_resource(r, a, &rr->res);
    rr->role = cp_role_parse(cp_dbrows_text(r, 19));
}

#define RUN_COLS                                                                                                 \
    "u.id, u.resource_id, rs.name, u.project_id, u.operation, u.status, u.attempt, u.params, u.lease_owner,"    \
    " u.lease_expires_at, u.lock_id, u.tofu_started, u.cancel_requested, u.plan_summary, u.plan_blob,"          \
    " u.approved_by, u.error, u.event_count, u.events_dropped, u.created_by, u.queued_at, u.started_at,"        \
    " u.finished_at"
#define RUN_FROM " FROM runs u JOIN resources rs ON rs.id = u.resource_id"

static void fill_run(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_run *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->resource_id = cp_dbrows_dup(r, 1, a);
    x->resource_name = cp_dbrows_dup(r, 2, a);
    x->project_id = cp_dbrows_dup(r, 3, a);
    x->operation = operation_col(r, 4);
    x->status = run_status_col(r, 5);
    x->attempt = cp_dbrows_int(r, 6);
    x->params = cp_dbrows_dup(r, 7, a);
    x->lease_owner = cp_dbrows_dup(r, 8, a);
    x->lease_expires_at = cp_dbrows_int(r, 9);
    x->lock_id = cp_dbrows_dup(r, 10, a);
    x->tofu_started = cp_dbrows_int(r, 11) != 0;
    x->cancel_requested = cp_dbrows_int(r, 12) != 0;
    x->plan_summary = cp_dbrows_dup(r, 13, a);
    x->plan_blob = cp_dbrows_dup(r, 14, a);
    x->approved_by = cp_dbrows_dup(r, 15, a);
    x->error = cp_dbrows_dup(r, 16, a);
    x->event_count = cp_dbrows_int(r, 17);
    x->events_dropped = cp_dbrows_int(r, 18);
    x->created_by = cp_dbrows_dup(r, 19, a);
    x->queued_at = cp_dbrows_int(r, 20);
    x->started_at = cp_dbrows_int(r, 21);
    x->finished_at = cp_dbrows_int(r, 22);
}

static cp_result run_by_id(cp_dbconn *c, cp_arena *a, const char *id, cp_run *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    cp_result r = cp_conn_one(c, a, "SELECT " RUN_COLS RUN_FROM " WHERE u.id = ?", p, 1, fill_run, out, err);
    if (r == CP_ENOTFOUND) cp_error_set(err, r, "not_found", NULL, "run not found");
    return r;
}

static cp_result insert_run(cp_dbconn *c, cp_arena *a, const char *resource_id, const char *project_id,
                            cp_run_operation operation, const char *params, const char *user_id, cp_run *out,
                            cp_error *err)
{
    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    cp_param p[] = {CP_PTEXT(id),     CP_PTEXT(resource_id), CP_PTEXT(project_id),
                    CP_PTEXT(cp_run_operation_name(operation)),
                    CP_PTEXT(params), CP_PTEXT(user_id),     CP_PINT(cp_now_ms())};
    cp_result r = cp_db_exec(c,
                             "INSERT INTO runs (id, resource_id, project_id, operation, status, params, created_by,"
                             " queued_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
                             p, 7, NULL, err);
    if (r != CP_OK) return r;
    return out ? run_by_id(c, a, id, out, err) : CP_OK;
}

/* ---- resources ---- */

typedef struct {
    cp_arena *a;
    const cp_resource *res;
    const char *params;
    cp_resource *out;
    cp_run *run;
} resource_new;

static cp_result tx_resource_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    resource_new *rn = ctx;
    const cp_resource *x = rn->res;
    cp_result r = check_budget(c, x->project_id, NULL, x->monthly_cost_usd, err);
    if (r != CP_OK) return r;
    int64_t now = cp_now_ms();
    cp_param p[] = {CP_PTEXT(x->id),     CP_PTEXT(x->project_id), CP_PTEXT(x->account_id), CP_PTEXT(x->cloud),
                    CP_PTEXT(x->kind),   CP_PTEXT(x->name),       CP_PTEXT(x->region),     CP_PTEXT(x->size),
                    CP_PTEXT(x->config), CP_PREAL(x->monthly_cost_usd), CP_PTEXT(x->created_by), CP_PINT(now),
                    CP_PINT(now)};
    r = cp_db_exec(c,
                   "INSERT INTO resources (id, project_id, account_id, cloud, kind, name, region, size, config,"
                   " status, monthly_cost_usd, created_by, created_at, updated_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                   p, 13, NULL, err);
    if (r != CP_OK) return r;
    r = insert_run(c, rn->a, x->id, x->project_id, CP_OP_CREATE, rn->params, x->created_by, rn->run, err);
    if (r != CP_OK) return r;
    cp_param q[] = {CP_PTEXT(x->id)};
    return cp_conn_one(c, rn->a, "SELECT " RESOURCE_COLS RESOURCE_FROM " WHERE r.id = ?", q, 1, fill_resource,
                       rn->out, err);
}

cp_result cp_store_resource_create(cp_store *s, cp_arena *a, const cp_resource *res, const char *run_params,
                                   cp_resource *out, cp_run *run, cp_error *err)
{
    resource_new rn = {a, res, run_params, out, run};
    return cp_store_tx(s, tx_resource_create, &rn, err);
}

cp_result cp_store_resource_get(cp_store *s, cp_arena *a, const char *id, const char *user_id, cp_resource *out,
                                cp_role *role, cp_error *err)
{
    resource_role rr;
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(id)};
    cp_result r = cp_store_one(s, a,
                               "SELECT " RESOURCE_COLS ", m.role" RESOURCE_FROM
                               " JOIN memberships m ON m.project_id = r.project_id AND m.user_id = ? WHERE r.id = ?",
                               p, 2, fill_resource_role, &rr, "resource", err);
    if (r == CP_OK) {
        *out = rr.res;
        if (role) *role = rr.role;
    }
    return r;
}

cp_result cp_store_resource_by_id(cp_store *s, cp_arena *a, const char *id, cp_resource *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    return cp_store_one(s, a, "SELECT " RESOURCE_COLS RESOURCE_FROM " WHERE r.id = ?", p, 1, fill_resource, out,
                        "resource", err);
}

cp_result cp_store_resources_list(cp_store *s, cp_arena *a, const char *user_id, const cp_resource_filter *f,
                                  int limit, const char *cursor, cp_resource **items, size_t *n, char **next,
                                  cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(f->project_id), CP_PTEXT(f->cloud), CP_PTEXT(f->kind),
                    CP_PTEXT(f->status), CP_PTEXT(cursor ? cursor : "~"), CP_PINT(limit + 1)};
    cp_result r = cp_store_many(s, a,
                                /* Page the ids first, then join the details for those rows only. */
                                "SELECT " RESOURCE_COLS " FROM (SELECT p.* FROM resources p"
                                " JOIN memberships m ON m.project_id = p.project_id AND m.user_id = ?"
                                " WHERE p.project_id = COALESCE(?, p.project_id) AND p.cloud = COALESCE(?, p.cloud)"
                                " AND p.kind = COALESCE(?, p.kind) AND p.status = COALESCE(?, p.status)"
                                " AND p.id < ? ORDER BY p.id DESC LIMIT ?) r"
                                " JOIN cloud_accounts a ON a.id = r.account_id"
                                " LEFT JOIN runs cr ON cr.id = (SELECT MAX(x.id) FROM runs x WHERE x.resource_id = r.id)"
                                " ORDER BY r.id DESC",
                                p, 7, fill_resource, sizeof(cp_resource), (size_t)limit + 1, (void **)items, n, err);
    if (r == CP_OK) FINISH_PAGE(items, n, next, limit, id);
    return r;
}

typedef struct {
    cp_arena *a;
    const char *resource_id, *params, *user_id;
    cp_run_operation operation;
    double cost;
    cp_run *out;
} run_new;

typedef struct {
    cp_resource_status status;
    char *project_id;
} status_row;

static void fill_status(cp_dbrows *r, cp_arena *a, void *out)
{
    status_row *o = out;
    o->status = resource_status_col(r, 0);
    o->project_id = cp_dbrows_dup(r, 1, a);
}

static cp_result tx_run_enqueue(cp_dbconn *c, void *ctx, cp_error *err)
{
    run_new *rn = ctx;
    status_row row;
    cp_param p[] = {CP_PTEXT(rn->resource_id)};
    cp_result r = cp_conn_one(c, rn->a, "SELECT status, project_id FROM resources WHERE id = ?", p, 1, fill_status,
                              &row, err);
    if (r != CP_OK) return r;
    if (row.status == CP_RES_DESTROYED)
        return cp_error_set(err, CP_ECONFLICT, "resource_destroyed", NULL, "the resource is already destroyed");
    double pending = 0;
    r = cp_conn_scalar(c, "SELECT COUNT(*) FROM runs WHERE resource_id = ? AND operation = 'destroy' AND status IN "
                          CP_RUN_SQL_IN_PROGRESS, p, 1, &pending, err);
    if (r != CP_OK) return r;
    if (pending > 0)
        return cp_error_set(err, CP_ECONFLICT, "destroy_pending", NULL, "a destroy of this resource is already queued");
    if (rn->operation == CP_OP_UPDATE) {
        if ((r = check_budget(c, row.project_id, rn->resource_id, rn->cost, err)) != CP_OK) return r;
    }
    return insert_run(c, rn->a, rn->resource_id, row.project_id, rn->operation, rn->params, rn->user_id, rn->out, err);
}

cp_result cp_store_run_enqueue(cp_store *s, cp_arena *a, const char *resource_id, cp_run_operation operation,
                               const char *run_params, double new_monthly_cost, const char *user_id, cp_run *out,
                               cp_error *err)
{
    run_new rn = {a, resource_id, run_params, user_id, operation, new_monthly_cost, out};
    return cp_store_tx(s, tx_run_enqueue, &rn, err);
}

/* ---- runs: reads ---- */

cp_result cp_store_run_get(cp_store *s, cp_arena *a, const char *run_id, cp_run *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(run_id)};
    return cp_store_one(s, a, "SELECT " RUN_COLS RUN_FROM " WHERE u.id = ?", p, 1, fill_run, out, "run", err);
}

cp_result cp_store_runs_list(cp_store *s, cp_arena *a, const char *resource_id, int limit, const char *cursor,
                             cp_run **items, size_t *n, char **next, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(resource_id), CP_PTEXT(cursor ? cursor : "~"), CP_PINT(limit + 1)};
    cp_result r = cp_store_many(s, a,
                                "SELECT " RUN_COLS RUN_FROM " WHERE u.resource_id = ? AND u.id < ?"
                                " ORDER BY u.id DESC LIMIT ?",
                                p, 3, fill_run, sizeof(cp_run), (size_t)limit + 1, (void **)items, n, err);
    if (r == CP_OK) FINISH_PAGE(items, n, next, limit, id);
    return r;
}

cp_result cp_store_runs_recent(cp_store *s, cp_arena *a, const char *user_id, int limit, cp_run **items, size_t *n,
                               cp_error *err)
{
    cp_param p[] = {CP_PTEXT(user_id), CP_PINT(cp_store_page_limit(limit))};
    return cp_store_many(s, a,
                         "SELECT " RUN_COLS RUN_FROM " JOIN memberships m ON m.project_id = u.project_id"
                         " AND m.user_id = ? ORDER BY u.id DESC LIMIT ?",
                         p, 2, fill_run, sizeof(cp_run), 200, (void **)items, n, err);
}

/* ---- the state machine ---- */

/* The transition table is cp_run_transition_legal (status.c). A refusal is
 * a bug in the caller, so CP_ERR: CP_ECONFLICT means the lease was lost. */
static cp_result refuse(const cp_run *run, cp_run_status from, cp_run_status to, cp_error *err)
{
    const char *f = cp_run_status_name(from), *t = cp_run_status_name(to);
    cp_log(CP_LOG_ERROR, "illegal run transition refused",
           json_pack("{s:s, s:s, s:s}", "run_id", run->id, "from", f, "to", t));
    return cp_error_set(err, CP_ERR, "illegal_transition", NULL, "run %s cannot go from %s to %s", run->id, f, t);
}

/* What every fenced write reports when its lease is gone: CP_ECONFLICT with
 * reason CP_REASON_LEASE_LOST (code "lease_lost"), which callers branch on. */
static cp_result lease_lost(cp_error *err, const char *why, const cp_run *run)
{
    if (why) return cp_error_set_reason(err, CP_ECONFLICT, CP_REASON_LEASE_LOST, NULL, "run %s: %s", run->id, why);
    return cp_error_set_reason(err, CP_ECONFLICT, CP_REASON_LEASE_LOST, NULL, "lease lost");
}

/* Fenced status write: only while run->lease_owner still holds attempt run->attempt. */
static cp_result fenced_status(cp_dbconn *c, const cp_run *run, cp_run_status from, cp_run_status to, bool final,
                               const char *error, cp_error *err)
{
    int64_t now = cp_now_ms();
    cp_param p[] = {CP_PTEXT(cp_run_status_name(to)), CP_PINT(final), CP_PINT(now), CP_PTEXT(error), CP_PINT(final),
                    CP_PTEXT(run->id), CP_PTEXT(run->lease_owner), CP_PINT(run->attempt),
                    CP_PTEXT(cp_run_status_name(from))};
    int64_t changed = 0;
    cp_result r = cp_db_exec(c,
                             "UPDATE runs SET status = ?, finished_at = CASE WHEN ? = 1 THEN ? ELSE finished_at END,"
                             " error = COALESCE(?, error),"
                             " lease_owner = CASE WHEN ? = 1 THEN NULL ELSE lease_owner END"
                             " WHERE id = ? AND lease_owner = ? AND attempt = ? AND status = ?",
                             p, 9, &changed, err);
    if (r == CP_OK && changed == 0)
        return lease_lost(err, "lease lost or status changed", run);
    return r;
}

static cp_result set_resource_status(cp_dbconn *c, const char *resource_id, cp_resource_status status,
                                     cp_error *err)
{
    cp_param p[] = {CP_PTEXT(cp_resource_status_name(status)), CP_PINT(cp_now_ms()), CP_PTEXT(resource_id)};
    return cp_db_exec(c, "UPDATE resources SET status = ?, updated_at = ? WHERE id = ?", p, 3, NULL, err);
}

typedef struct {
    cp_arena *a;
    const char *run_id, *worker;
    int64_t lease_ms;
    cp_run *out;
} claim_ctx;

static cp_result tx_claim(cp_dbconn *c, void *ctx, cp_error *err)
{
    claim_ctx *cc = ctx;
    int64_t now = cp_now_ms();
    cp_param p[] = {CP_PTEXT(cc->worker), CP_PINT(now + cc->lease_ms), CP_PINT(now), CP_PTEXT(cc->run_id),
                    CP_PINT(now)};
    int64_t changed = 0;
    cp_result r = cp_db_exec(
        c,
        "UPDATE runs SET status = CASE WHEN status = 'queued' THEN 'planning' ELSE 'applying' END,"
        " lease_owner = ?, lease_expires_at = ?, attempt = attempt + 1, started_at = COALESCE(started_at, ?)"
        " WHERE id = ? AND (status = 'queued' OR (status = 'awaiting_approval' AND approved_by IS NOT NULL))"
        " AND (lease_owner IS NULL OR lease_expires_at < ?)"
        " AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.resource_id = runs.resource_id AND o.id < runs.id"
        " AND o.status IN " CP_RUN_SQL_IN_PROGRESS ")",
        p, 5, &changed, err);
    if (r != CP_OK) return r;
    if (changed == 0) return cp_error_set(err, CP_ECONFLICT, "not_claimable", NULL, "run is not claimable now");
    if ((r = run_by_id(c, cc->a, cc->run_id, cc->out, err)) != CP_OK) return r;
    return set_resource_status(c, cc->out->resource_id, cp_resource_status_busy(cc->out->operation), err);
}

cp_result cp_store_run_claim(cp_store *s, cp_arena *a, const char *run_id, const char *worker, int64_t lease_ms,
                             cp_run *out, cp_error *err)
{
    claim_ctx cc = {a, run_id, worker, lease_ms, out};
    return cp_store_tx(s, tx_claim, &cc, err);
}

static void fill_id(cp_dbrows *r, cp_arena *a, void *out)
{
    *(char **)out = cp_dbrows_dup(r, 0, a);
}

cp_result cp_store_runs_claimable(cp_store *s, cp_arena *a, int limit, char ***ids, size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PINT(cp_now_ms()), CP_PINT(limit)};
    return cp_store_many(s, a,
                         "SELECT u.id FROM runs u WHERE (u.status = 'queued' OR (u.status = 'awaiting_approval'"
                         " AND u.approved_by IS NOT NULL)) AND (u.lease_owner IS NULL OR u.lease_expires_at < ?)"
                         " AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.resource_id = u.resource_id AND o.id < u.id"
                         " AND o.status IN " CP_RUN_SQL_IN_PROGRESS ") ORDER BY u.id LIMIT ?",
                         p, 2, fill_id, sizeof(char *), (size_t)limit, (void **)ids, n, err);
}

static void fill_cancel(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(bool *)out = cp_dbrows_int(r, 0) != 0;
}

cp_result cp_store_run_heartbeat(cp_store *s, const cp_run *run, int64_t lease_ms, bool *cancel_requested,
                                 cp_error *err)
{
    cp_param p[] = {CP_PINT(cp_now_ms() + lease_ms), CP_PTEXT(run->id), CP_PTEXT(run->lease_owner),
                    CP_PINT(run->attempt)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s, "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?"
                                   " AND attempt = ? AND status IN " CP_RUN_SQL_LEASED, p, 4, &changed, err);
    if (r != CP_OK) return r;
    if (changed == 0) return lease_lost(err, NULL, run);
    *cancel_requested = false;
    cp_param q[] = {CP_PTEXT(run->id)};
    return cp_store_one(s, NULL, "SELECT cancel_requested FROM runs WHERE id = ?", q, 1, fill_cancel,
                        cancel_requested, "run", err);
}

typedef struct {
    const cp_run *run;
    cp_run_status to;
} transition_ctx;

static void fill_run_status(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(cp_run_status *)out = run_status_col(r, 0);
}

static cp_result current_status(cp_dbconn *c, const char *run_id, cp_run_status *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(run_id)};
    return cp_conn_one(c, NULL, "SELECT status FROM runs WHERE id = ?", p, 1, fill_run_status, out, err);
}

static cp_result tx_transition(cp_dbconn *c, void *ctx, cp_error *err)
{
    transition_ctx *tc = ctx;
    cp_run_status from;
    cp_result r = current_status(c, tc->run->id, &from, err);
    if (r != CP_OK) return r;
    if (!cp_run_transition_legal(from, tc->to)) return refuse(tc->run, from, tc->to, err);
    if (cp_run_status_is_final(tc->to))
        return cp_error_set(err, CP_ERR, NULL, NULL, "use cp_store_run_finish for final states");
    r = fenced_status(c, tc->run, from, tc->to, false, NULL, err);
    /* Waiting for a person holds no worker: drop the lease so nothing expires. */
    if (r == CP_OK && tc->to == CP_RUN_AWAITING_APPROVAL) {
        cp_param p[] = {CP_PTEXT(tc->run->id)};
        r = cp_db_exec(c, "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ?", p, 1, NULL, err);
    }
    return r;
}

cp_result cp_store_run_transition(cp_store *s, const cp_run *run, cp_run_status to, cp_error *err)
{
    transition_ctx tc = {run, to};
    return cp_store_tx(s, tx_transition, &tc, err);
}

cp_result cp_store_run_mark_tofu_started(cp_store *s, const cp_run *run, const char *lock_id, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(lock_id), CP_PTEXT(run->id), CP_PTEXT(run->lease_owner), CP_PINT(run->attempt)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s, "UPDATE runs SET tofu_started = 1, lock_id = COALESCE(?, lock_id)"
                                   " WHERE id = ? AND lease_owner = ? AND attempt = ?", p, 4, &changed, err);
    if (r == CP_OK && changed == 0) return lease_lost(err, NULL, run);
    return r;
}

cp_result cp_store_run_set_plan(cp_store *s, const cp_run *run, const char *summary_json, const char *plan_blob,
                                cp_error *err)
{
    cp_param p[] = {CP_PTEXT(summary_json), CP_PTEXT(plan_blob), CP_PTEXT(run->id), CP_PTEXT(run->lease_owner),
                    CP_PINT(run->attempt)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s, "UPDATE runs SET plan_summary = ?, plan_blob = ? WHERE id = ? AND lease_owner = ?"
                                   " AND attempt = ?", p, 5, &changed, err);
    if (r == CP_OK && changed == 0) return lease_lost(err, NULL, run);
    return r;
}

/* Ends the open cost period of a resource and, when rate > 0, opens a new one. */
static cp_result rate_change(cp_dbconn *c, const char *resource_id, double rate, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PTEXT(resource_id)};
    cp_result r = cp_db_exec(c, "UPDATE cost_periods SET ended_at = ? WHERE resource_id = ? AND ended_at IS NULL", p,
                             2, NULL, err);
    if (r != CP_OK || rate <= 0) return r;
    cp_param q[] = {CP_PREAL(rate), CP_PINT(now), CP_PTEXT(resource_id)};
    return cp_db_exec(c,
                      "INSERT INTO cost_periods (resource_id, project_id, cloud, monthly_cost_usd, started_at)"
                      " SELECT id, project_id, cloud, CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT) FROM resources WHERE id = ?",
                      q, 3, NULL, err);
}

typedef struct {
    const cp_run *run;
    cp_run_status status;
    const char *error, *outputs;
    const cp_resource_spec *spec;
} finish_ctx;

static cp_result tx_finish(cp_dbconn *c, void *ctx, cp_error *err)
{
    finish_ctx *fc = ctx;
    const cp_run *run = fc->run;
    cp_run_status from;
    cp_result r = current_status(c, run->id, &from, err);
    if (r != CP_OK) return r;
    if (!cp_run_transition_legal(from, fc->status)) return refuse(run, from, fc->status, err);
    if (!cp_run_status_is_final(fc->status))
        return cp_error_set(err, CP_ERR, NULL, NULL, "use cp_store_run_transition for unfinished states");
    if (fc->status == CP_RUN_SUCCEEDED && run->operation != CP_OP_DESTROY && !fc->spec)
        return cp_error_set(err, CP_ERR, NULL, NULL, "run %s: success without the resource's new spec", run->id);
    if ((r = fenced_status(c, run, from, fc->status, true, fc->error, err)) != CP_OK) return r;

    int64_t now = cp_now_ms();
    bool untouched = !run->tofu_started || from == CP_RUN_AWAITING_APPROVAL;
    double existed = 0;
    if (fc->status == CP_RUN_CANCELED && untouched) {
        cp_param p[] = {CP_PTEXT(run->resource_id)};
        r = cp_conn_scalar(c, "SELECT COUNT(*) FROM cost_periods WHERE resource_id = ? AND ended_at IS NULL", p, 1,
                           &existed, err);
        if (r != CP_OK) return r;
    }
    cp_resource_status next = cp_resource_status_after(run->operation, fc->status, untouched, existed > 0);
    if (fc->status != CP_RUN_SUCCEEDED) return set_resource_status(c, run->resource_id, next, err);
    if (run->operation == CP_OP_DESTROY) {
        if ((r = set_resource_status(c, run->resource_id, next, err)) != CP_OK) return r;
        cp_param p[] = {CP_PTEXT(run->resource_id)};
        r = cp_db_exec(c, "UPDATE resources SET outputs = '{}' WHERE id = ?", p, 1, NULL, err);
        return r == CP_OK ? rate_change(c, run->resource_id, 0, now, err) : r;
    }
    /* create/update: the spec the caller read from the run becomes the resource's. */
    const cp_resource_spec *sp = fc->spec;
    cp_param p[] = {CP_PTEXT(cp_resource_status_name(next)), CP_PTEXT(fc->outputs ? fc->outputs : "{}"),
                    CP_PTEXT(sp->size), CP_PTEXT(sp->config), CP_PREAL(sp->monthly_cost_usd), CP_PINT(now),
                    CP_PTEXT(run->resource_id)};
    r = cp_db_exec(c,
                   "UPDATE resources SET status = ?, outputs = ?, size = COALESCE(?, size),"
                   " config = COALESCE(?, config), monthly_cost_usd = ?, updated_at = ? WHERE id = ?",
                   p, 7, NULL, err);
    return r == CP_OK ? rate_change(c, run->resource_id, sp->monthly_cost_usd, now, err) : r;
}

cp_result cp_store_run_finish(cp_store *s, const cp_run *run, cp_run_status final, const char *error,
                              const char *outputs_json, const cp_resource_spec *spec, cp_error *err)
{
    finish_ctx fc = {run, final, error, outputs_json, spec};
    return cp_store_tx(s, tx_finish, &fc, err);
}

/* ---- user actions on runs ---- */

cp_result cp_store_run_approve(cp_store *s, const char *run_id, const char *user_id, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(run_id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s, "UPDATE runs SET approved_by = ? WHERE id = ? AND status = 'awaiting_approval'"
                                   " AND approved_by IS NULL", p, 2, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "not_awaiting_approval", NULL, "the run is not awaiting approval");
    return r;
}

typedef struct {
    const char *run_id;
    bool immediate;
} cancel_ctx;

static cp_result tx_cancel(cp_dbconn *c, void *ctx, cp_error *err)
{
    cancel_ctx *cc = ctx;
    cp_arena *a = cp_arena_new(1024);
    cp_run run;
    cp_result r = run_by_id(c, a, cc->run_id, &run, err);
    if (r == CP_OK && cp_run_status_is_final(run.status))
        r = cp_error_set(err, CP_ECONFLICT, "run_finished", NULL, "the run has already finished (%s)",
                         cp_run_status_name(run.status));
    if (r == CP_OK && (run.status == CP_RUN_QUEUED || run.status == CP_RUN_AWAITING_APPROVAL) &&
        !run.lease_owner) {
        /* Nobody is running it: end it here, as its owner would. */
        cc->immediate = true;
        cp_param p[] = {CP_PTEXT(run.id)};
        r = cp_db_exec(c, "UPDATE runs SET lease_owner = 'canceler', lease_expires_at = 0 WHERE id = ?", p, 1, NULL,
                       err);
        run.lease_owner = "canceler";
        finish_ctx fc = {&run, CP_RUN_CANCELED, "canceled by user", NULL, NULL};
        if (r == CP_OK) r = tx_finish(c, &fc, err);
    } else if (r == CP_OK) {
        cp_param p[] = {CP_PTEXT(run.id)};
        r = cp_db_exec(c, "UPDATE runs SET cancel_requested = 1 WHERE id = ?", p, 1, NULL, err);
    }
    cp_arena_free(a);
    return r;
}

cp_result cp_store_run_cancel(cp_store *s, const char *run_id, bool *immediate, cp_error *err)
{
    cancel_ctx cc = {run_id, false};
    cp_result r = cp_store_tx(s, tx_cancel, &cc, err);
    *immediate = cc.immediate;
    return r;
}

/* ---- lease expiry ---- */

static void fill_lost(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_run *x = out;
    fill_run(r, a, x);
}

cp_result cp_store_runs_reap(cp_store *s, cp_arena *a, char ***requeued, size_t *nrequeued, cp_lost_run **lost,
                             size_t *nlost, cp_error *err)
{
    *nrequeued = *nlost = 0;
    *requeued = NULL;
    *lost = NULL;
    cp_run *expired;
    size_t n;
    cp_param p[] = {CP_PINT(cp_now_ms())};
    cp_result r = cp_store_many(s, a,
                                "SELECT " RUN_COLS RUN_FROM " WHERE u.lease_owner IS NOT NULL AND u.lease_expires_at < ?"
                                " AND u.status IN " CP_RUN_SQL_LEASED,
                                p, 1, fill_lost, sizeof(cp_run), 1000, (void **)&expired, &n, err);
    if (r != CP_OK || n == 0) return r;
    *requeued = cp_arena_alloc(a, n * sizeof(char *));
    *lost = cp_arena_alloc(a, n * sizeof(cp_lost_run));
    for (size_t i = 0; i < n; i++) {
        cp_run *run = &expired[i];
        cp_error e;
        if (!run->tofu_started) {
            cp_param q[] = {CP_PTEXT(run->id), CP_PTEXT(run->lease_owner), CP_PINT(run->attempt)};
            int64_t changed = 0;
            if (cp_store_exec(s,
                              "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL"
                              " WHERE id = ? AND lease_owner = ? AND attempt = ? AND tofu_started = 0",
                              q, 3, &changed, &e) == CP_OK && changed)
                (*requeued)[(*nrequeued)++] = run->id;
        } else if (cp_store_run_finish(s, run, CP_RUN_FAILED, "worker lost: its lease expired during plan/apply; the"
                                                                 " run was not retried automatically", NULL, NULL,
                                       &e) == CP_OK) {
            cp_lost_run *l = &(*lost)[(*nlost)++];
            l->run_id = run->id;
            l->resource_id = run->resource_id;
            l->lock_id = run->lock_id;
        }
    }
    return CP_OK;
}

/* ---- events ---- */

typedef struct {
    const char *run_id, *type, *data;
    int64_t max, seq;
} event_ctx;

static cp_result tx_event(cp_dbconn *c, void *ctx, cp_error *err)
{
    event_ctx *ec = ctx;
    cp_param p[] = {CP_PTEXT(ec->run_id)};
    double count = 0;
    cp_result r = cp_conn_scalar(c, "SELECT event_count FROM runs WHERE id = ?", p, 1, &count, err);
    if (r != CP_OK) return r;
    if ((int64_t)count >= ec->max) {
        ec->seq = 0;
        return cp_db_exec(c, "UPDATE runs SET events_dropped = events_dropped + 1 WHERE id = ?", p, 1, NULL, err);
    }
    ec->seq = (int64_t)count + 1;
    cp_param q[] = {CP_PTEXT(ec->run_id), CP_PINT(ec->seq), CP_PINT(cp_now_ms()), CP_PTEXT(ec->type),
                    CP_PTEXT(ec->data)};
    r = cp_db_exec(c, "INSERT INTO run_events (run_id, seq, ts, type, data) VALUES (?, ?, ?, ?, ?)", q, 5, NULL, err);
    if (r == CP_OK) r = cp_db_exec(c, "UPDATE runs SET event_count = event_count + 1 WHERE id = ?", p, 1, NULL, err);
    return r;
}

cp_result cp_store_event_append(cp_store *s, const char *run_id, const char *type, const char *data_json,
                                int64_t max_events, int64_t *seq, cp_error *err)
{
    event_ctx ec = {run_id, type, data_json, max_events, 0};
    cp_result r = cp_store_tx(s, tx_event, &ec, err);
    if (seq) *seq = ec.seq;
    return r;
}

static void fill_event(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_event *e = out;
    e->seq = cp_dbrows_int(r, 0);
    e->ts = cp_dbrows_int(r, 1);
    e->type = cp_dbrows_dup(r, 2, a);
    e->data = cp_dbrows_dup(r, 3, a);
}

cp_result cp_store_events_list(cp_store *s, cp_arena *a, const char *run_id, int64_t after_seq, int limit,
                               cp_event **items, size_t *n, cp_error *err)
{
    if (limit < 1 || limit > 1000) limit = 1000;
    cp_param p[] = {CP_PTEXT(run_id), CP_PINT(after_seq), CP_PINT(limit)};
    return cp_store_many(s, a, "SELECT seq, ts, type, data FROM run_events WHERE run_id = ? AND seq > ?"
                               " ORDER BY seq LIMIT ?", p, 3, fill_event, sizeof(cp_event), (size_t)limit,
                         (void **)items, n, err);
}

/* ---- costs ---- */

static void fill_group(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_cost_group *g = out;
    g->key = cp_dbrows_dup(r, 0, a);
    g->label = cp_dbrows_dup(r, 1, a);
    g->monthly_usd = cp_dbrows_real(r, 2);
    g->count = cp_dbrows_int(r, 3);
}

#define COST_FROM                                                                                                \
    " FROM resources r JOIN memberships m ON m.project_id = r.project_id AND m.user_id = ?"                      \
    " JOIN projects p ON p.id = r.project_id WHERE r.status IN ('active', 'updating', 'destroying')"

cp_result cp_store_costs_summary(cp_store *s, cp_arena *a, const char *user_id, const char *group_by,
                                 cp_cost_group **items, size_t *n, cp_error *err)
{
    /* One static statement per grouping: the column is never spliced from input. */
    static const struct { const char *by, *sql; } q[] = {
        {"cloud", "SELECT r.cloud, r.cloud, SUM(r.monthly_cost_usd), COUNT(*)" COST_FROM
                  " GROUP BY r.cloud ORDER BY 3 DESC, 1"},
        {"project", "SELECT p.id, p.name, SUM(r.monthly_cost_usd), COUNT(*)" COST_FROM
                    " GROUP BY p.id, p.name ORDER BY 3 DESC, 1"},
        {"kind", "SELECT r.kind, r.kind, SUM(r.monthly_cost_usd), COUNT(*)" COST_FROM
                 " GROUP BY r.kind ORDER BY 3 DESC, 1"},
        {"region", "SELECT r.region, r.region, SUM(r.monthly_cost_usd), COUNT(*)" COST_FROM
                   " GROUP BY r.region ORDER BY 3 DESC, 1"},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(q); i++) {
        if (strcmp(q[i].by, group_by) != 0) continue;
        cp_param p[] = {CP_PTEXT(user_id)};
        return cp_store_many(s, a, q[i].sql, p, 1, fill_group, sizeof(cp_cost_group), 10000, (void **)items, n, err);
    }
    return cp_error_set(err, CP_EUNPROC, "invalid_value", "group_by", "group_by must be cloud, project, kind or region");
}

static void fill_period(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_cost_period *c = out;
    c->project_id = cp_dbrows_dup(r, 0, a);
    c->cloud = cp_dbrows_dup(r, 1, a);
    c->monthly_usd = cp_dbrows_real(r, 2);
    c->started_at = cp_dbrows_int(r, 3);
    c->ended_at = cp_dbrows_int(r, 4);
}

cp_result cp_store_cost_periods(cp_store *s, cp_arena *a, const char *user_id, int64_t since, cp_cost_period **items,
                                size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(user_id), CP_PINT(since)};
    return cp_store_many(s, a,
                         "SELECT c.project_id, c.cloud, c.monthly_cost_usd, c.started_at, COALESCE(c.ended_at, 0)"
                         " FROM cost_periods c JOIN memberships m ON m.project_id = c.project_id AND m.user_id = ?"
                         " WHERE c.ended_at IS NULL OR c.ended_at > ?",
                         p, 2, fill_period, sizeof(cp_cost_period), 1000000, (void **)items, n, err);
}
