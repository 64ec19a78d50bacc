/* store_runs.c: runs once queued: reads, the claim, leases and their
 * heartbeat, the fenced state transitions and finish, the user's approve
 * and cancel, and reaping of expired leases. Every worker-side write is
 * fenced: it only applies while the writer still holds the run's lease
 * (owner + attempt). */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/run_params.h"
#include "store/store_rows.h"
#include "store/store_guardrails.h"
#include "store/store_webhooks.h"
#include "store/store_drift.h"

/* ---- runs: reads ---- */

cp_result cp_store_run_get(cp_store *s, cp_arena *a, const char *run_id, cp_run *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(run_id)};
    return cp_store_one(s, a, "SELECT " RUN_COLS RUN_FROM " WHERE u.id = ?", p, 1, cp_fill_run, out, "run", err);
}

cp_result cp_store_runs_list(cp_store *s, cp_arena *a, const char *resource_id, int limit, const char *cursor,
                             cp_run **items, size_t *n, char **next, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(resource_id), CP_PTEXT(cursor ? cursor : "~"), CP_PINT(limit + 1)};
    cp_result r = cp_store_many(s, a,
                                "SELECT " RUN_COLS RUN_FROM " WHERE u.resource_id = ? AND u.id < ?"
                                " ORDER BY u.id DESC LIMIT ?",
                                p, 3, cp_fill_run, sizeof(cp_run), (size_t)limit + 1, (void **)items, n, err);
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
                         p, 2, cp_fill_run, sizeof(cp_run), 200, (void **)items, n, err);
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
    cp_param p[] = {CP_PTEXT(cp_run_status_name(to)),
                    CP_PINT(final),
                    CP_PINT(now),
                    CP_PTEXT(error),
                    CP_PINT(final),
                    CP_PINT(final),
                    CP_PINT(final),
                    CP_PINT(final),
                    CP_PTEXT(run->id),
                    CP_PTEXT(run->lease_owner),
                    CP_PINT(run->attempt),
                    CP_PTEXT(cp_run_status_name(from))};
    int64_t changed = 0;
    cp_result r = cp_db_exec(c,
                             "UPDATE runs SET status = ?, finished_at = CASE WHEN ? = 1 THEN ? ELSE finished_at END,"
                             " error = COALESCE(?, error),"
                             " lease_owner = CASE WHEN ? = 1 THEN NULL ELSE lease_owner END,"
                             /* An ended run's plan is of no use: keep no copy. */
                             " plan_blob = CASE WHEN ? = 1 THEN NULL ELSE plan_blob END,"
                             " plan_nonce = CASE WHEN ? = 1 THEN NULL ELSE plan_nonce END,"
                             " plan_key_id = CASE WHEN ? = 1 THEN NULL ELSE plan_key_id END"
                             " WHERE id = ? AND lease_owner = ? AND attempt = ? AND status = ?",
                             p, 12, &changed, err);
    if (r == CP_OK && changed == 0) return lease_lost(err, "lease lost or status changed", run);
    return r;
}

static cp_result set_resource_status(cp_dbconn *c, const char *resource_id, cp_resource_status status, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(cp_resource_status_name(status)), CP_PINT(cp_now_ms()), CP_PTEXT(resource_id)};
    return cp_db_exec(c, "UPDATE resources SET status = ?, updated_at = ? WHERE id = ?", p, 3, NULL, err);
}

/* The resource's status when its run is first claimed, kept in the run's
 * params (CP_RUN_STATUS_BEFORE): a run the guardrails stop before anything
 * is applied gives it back (cp_store_resource_unfail). A claim after a
 * requeue finds the resource busy and keeps what the first claim read. */
static cp_result remember_status_before(cp_dbconn *c, cp_arena *a, cp_run *run, cp_error *err)
{
    cp_resource_status st;
    char *text = NULL;
    cp_param p[] = {CP_PTEXT(run->resource_id)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, "SELECT status FROM resources WHERE id = ?", p, 1, &rows, err);
    if (r != CP_OK) return r;
    bool found = cp_dbrows_next(rows);
    st = found ? cp_resource_status_col(rows, 0) : CP_RES_FAILED;
    cp_dbrows_free(rows);
    if (!found || (st != CP_RES_ACTIVE && st != CP_RES_FAILED)) return CP_OK;
    json_t *doc = json_loads(run->params ? run->params : "{}", 0, NULL);
    if (!json_is_object(doc) || json_object_get(doc, CP_RUN_STATUS_BEFORE)) goto out;
    json_object_set_new(doc, CP_RUN_STATUS_BEFORE, json_string(cp_resource_status_name(st)));
    if (!(text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS))) goto out;
    cp_param q[] = {CP_PTEXT(text), CP_PTEXT(run->id)};
    r = cp_db_exec(c, "UPDATE runs SET params = ? WHERE id = ?", q, 2, NULL, err);
    if (r == CP_OK) run->params = cp_arena_strdup(a, text);
out:
    free(text);
    json_decref(doc);
    return r;
}

typedef struct {
    cp_arena *a;
    const char *run_id, *worker;
    int64_t lease_ms;
    cp_run *out;
    const cp_store_limits *limits;
} claim_ctx;

static cp_result tx_claim(cp_dbconn *c, void *ctx, cp_error *err)
{
    claim_ctx *cc = ctx;
    cp_result r = cp_conn_check_active(c, cc->limits, cc->run_id, err);
    if (r != CP_OK) return r;
    int64_t now = cp_now_ms();
    cp_param p[] = {CP_PTEXT(cc->worker), CP_PINT(now + cc->lease_ms), CP_PINT(now), CP_PTEXT(cc->run_id),
                    CP_PINT(now)};
    int64_t changed = 0;
    r = cp_db_exec(c,
                   "UPDATE runs SET status = CASE WHEN status = 'queued' THEN 'planning' ELSE 'applying' END,"
                   " lease_owner = ?, lease_expires_at = ?, attempt = attempt + 1, started_at = COALESCE(started_at, ?)"
                   " WHERE id = ? AND (status = 'queued' OR (status = 'awaiting_approval' AND approved_by IS NOT NULL))"
                   " AND (lease_owner IS NULL OR lease_expires_at < ?)"
                   " AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.resource_id = runs.resource_id AND o.id < runs.id"
                   " AND o.status IN " CP_RUN_SQL_IN_PROGRESS ")",
                   p, 5, &changed, err);
    if (r != CP_OK) return r;
    if (changed == 0) return cp_error_set(err, CP_ECONFLICT, "not_claimable", NULL, "run is not claimable now");
    if ((r = cp_conn_run_by_id(c, cc->a, cc->run_id, cc->out, err)) != CP_OK) return r;
    /* A drift check leaves the resource's status as it is. */
    if (cc->out->operation == CP_OP_DRIFT_CHECK) return CP_OK;
    if (cc->out->status == CP_RUN_PLANNING && (r = remember_status_before(c, cc->a, cc->out, err)) != CP_OK) return r;
    return set_resource_status(c, cc->out->resource_id, cp_resource_status_busy(cc->out->operation, CP_RES_ACTIVE),
                               err);
}

cp_result cp_store_run_claim(cp_store *s, cp_arena *a, const char *run_id, const char *worker, int64_t lease_ms,
                             cp_run *out, cp_error *err)
{
    claim_ctx cc = {a, run_id, worker, lease_ms, out, &s->limits};
    return cp_store_tx(s, tx_claim, &cc, err);
}

cp_result cp_store_runs_claimable(cp_store *s, cp_arena *a, int limit, char ***ids, size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PINT(cp_now_ms()), CP_PINT(limit)};
    return cp_store_many(s, a,
                         "SELECT u.id FROM runs u WHERE (u.status = 'queued' OR (u.status = 'awaiting_approval'"
                         " AND u.approved_by IS NOT NULL)) AND (u.lease_owner IS NULL OR u.lease_expires_at < ?)"
                         " AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.resource_id = u.resource_id AND o.id < u.id"
                         " AND o.status IN " CP_RUN_SQL_IN_PROGRESS ") ORDER BY u.id LIMIT ?",
                         p, 2, cp_fill_text, sizeof(char *), (size_t)limit, (void **)ids, n, err);
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
    *cancel_requested = false;
    /* One statement: the renewal says whether a cancel was asked for. */
    cp_result r = cp_store_one(s, NULL,
                               "UPDATE runs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ?"
                               " AND attempt = ? AND status IN " CP_RUN_SQL_LEASED " RETURNING cancel_requested",
                               p, 4, fill_cancel, cancel_requested, "run", err);
    if (r == CP_ENOTFOUND) return lease_lost(err, NULL, run);
    return r;
}

static void fill_run_status(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(cp_run_status *)out = cp_run_status_col(r, 0);
}

static cp_result current_status(cp_dbconn *c, const char *run_id, cp_run_status *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(run_id)};
    return cp_conn_one(c, NULL, "SELECT status FROM runs WHERE id = ?", p, 1, fill_run_status, out, err);
}

/* One fenced UPDATE whose WHERE holds the transition table's column for
 * `to` (the statuses it may come from, NULL-padded): no read first, no
 * transaction. Only when it changes nothing is the run read, to tell an
 * illegal move (a caller's bug) from a lost lease. */
static cp_result refuse_transition(cp_store *s, const cp_run *run, cp_run_status to, cp_error *err)
{
    cp_run_status from;
    cp_param q[] = {CP_PTEXT(run->id)};
    cp_result r =
        cp_store_one(s, NULL, "SELECT status FROM runs WHERE id = ?", q, 1, fill_run_status, &from, "run", err);
    if (r != CP_OK) return r;
    if (!cp_run_transition_legal(from, to)) return refuse(run, from, to, err);
    if (cp_run_status_is_final(to))
        return cp_error_set(err, CP_ERR, NULL, NULL, "use cp_store_run_finish for final states");
    return lease_lost(err, "lease lost or status changed", run);
}

#define TRANSITION_SQL                                                                                                 \
    "UPDATE runs SET status = ?,"                                                                                      \
    " lease_owner = CASE WHEN ? = 1 THEN NULL ELSE lease_owner END,"                                                   \
    " lease_expires_at = CASE WHEN ? = 1 THEN NULL ELSE lease_expires_at END"                                          \
    " WHERE id = ? AND lease_owner = ? AND attempt = ?"                                                                \
    " AND status IN (?, ?, ?, ?, ?, ?, ?, ?)"

typedef struct {
    const cp_run *run;
    const cp_param *p;
    int n;
    int64_t changed;
} park_ctx;

static cp_result tx_park(cp_dbconn *c, void *ctx, cp_error *err)
{
    park_ctx *pc = ctx;
    cp_result r = cp_db_exec(c, TRANSITION_SQL, pc->p, pc->n, &pc->changed, err);
    if (r == CP_OK && pc->changed > 0) r = cp_conn_run_event(c, pc->run->id, CP_EVENT_RUN_NEEDS_APPROVAL, err);
    return r;
}

cp_result cp_store_run_transition(cp_store *s, const cp_run *run, cp_run_status to, cp_error *err)
{
    if (cp_run_status_is_final(to)) return refuse_transition(s, run, to, err);
    /* Waiting for a person holds no worker: drop the lease so nothing expires. */
    bool park = to == CP_RUN_AWAITING_APPROVAL;
    cp_param p[6 + CP_RUN_STATUS_COUNT] = {
        CP_PTEXT(cp_run_status_name(to)), CP_PINT(park),        CP_PINT(park), CP_PTEXT(run->id),
        CP_PTEXT(run->lease_owner),       CP_PINT(run->attempt)};
    int n = 6;
    for (int f = 0; f < CP_RUN_STATUS_COUNT; f++)
        if (cp_run_transition_legal((cp_run_status)f, to)) p[n++] = CP_PTEXT(cp_run_status_name((cp_run_status)f));
    while (n < 6 + CP_RUN_STATUS_COUNT) p[n++] = CP_PNULL;
    _Static_assert(CP_RUN_STATUS_COUNT == 8, "one ? per run status below");
    int64_t changed = 0;
    cp_result r;
    if (park) {
        /* A run that waits for a person tells them, in the same transaction. */
        park_ctx pc = {run, p, n, 0};
        r = cp_store_tx(s, tx_park, &pc, err);
        changed = pc.changed;
    } else {
        r = cp_store_exec(s, TRANSITION_SQL, p, n, &changed, err);
    }
    if (r != CP_OK || changed > 0) return r;
    return refuse_transition(s, run, to, err);
}

cp_result cp_store_run_mark_tofu_started(cp_store *s, const cp_run *run, const char *lock_id, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(lock_id), CP_PTEXT(run->id), CP_PTEXT(run->lease_owner), CP_PINT(run->attempt)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE runs SET tofu_started = 1, lock_id = COALESCE(?, lock_id)"
                                " WHERE id = ? AND lease_owner = ? AND attempt = ?",
                                p, 4, &changed, err);
    if (r == CP_OK && changed == 0) return lease_lost(err, NULL, run);
    return r;
}

cp_result cp_store_run_set_plan(cp_store *s, const cp_run *run, const char *summary_json, const cp_sealed_plan *plan,
                                cp_error *err)
{
    cp_param p[] = {CP_PTEXT(summary_json),
                    CP_PTEXT(plan ? plan->ciphertext : NULL),
                    CP_PTEXT(plan ? plan->nonce : NULL),
                    CP_PTEXT(plan ? plan->key_id : NULL),
                    CP_PTEXT(run->id),
                    CP_PTEXT(run->lease_owner),
                    CP_PINT(run->attempt)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE runs SET plan_summary = ?, plan_blob = ?, plan_nonce = ?, plan_key_id = ?"
                                " WHERE id = ? AND lease_owner = ? AND attempt = ?",
                                p, 7, &changed, err);
    if (r == CP_OK && changed == 0) return lease_lost(err, NULL, run);
    return r;
}

/* key id, nonce, ciphertext from column col on. */
static void fill_plan_at(cp_dbrows *r, cp_arena *a, int col, cp_sealed_plan *x)
{
    x->key_id = cp_dbrows_dup(r, col, a);
    x->nonce = cp_dbrows_dup(r, col + 1, a);
    x->ciphertext = cp_dbrows_dup(r, col + 2, a);
}

static void fill_plan(cp_dbrows *r, cp_arena *a, void *out)
{
    fill_plan_at(r, a, 0, out);
}

cp_result cp_store_run_plan_load(cp_store *s, cp_arena *a, const cp_run *run, cp_sealed_plan *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(run->id), CP_PTEXT(run->lease_owner), CP_PINT(run->attempt)};
    memset(out, 0, sizeof *out);
    cp_result r = cp_store_one(s, a,
                               "SELECT plan_key_id, plan_nonce, plan_blob FROM runs WHERE id = ? AND lease_owner = ?"
                               " AND attempt = ?",
                               p, 3, fill_plan, out, "run", err);
    if (r == CP_ENOTFOUND) return lease_lost(err, NULL, run);
    if (r == CP_OK && !out->ciphertext)
        return cp_error_set(err, CP_ENOTFOUND, "plan_missing", NULL, "run %s holds no saved plan", run->id);
    return r;
}

static void fill_plan_row(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_run_plan_row *x = out;
    x->run_id = cp_dbrows_dup(r, 0, a);
    x->project_id = cp_dbrows_dup(r, 1, a);
    fill_plan_at(r, a, 2, &x->plan);
}

cp_result cp_store_run_plans_not_under(cp_store *s, cp_arena *a, const char *key_id, cp_run_plan_row **items, size_t *n,
                                       cp_error *err)
{
    cp_param p[] = {CP_PTEXT(key_id)};
    return cp_store_many(
        s, a,
        "SELECT id, project_id, plan_key_id, plan_nonce, plan_blob FROM runs WHERE plan_blob IS NOT NULL"
        " AND (plan_key_id IS NULL OR plan_key_id <> ?) ORDER BY id",
        p, 1, fill_plan_row, sizeof(cp_run_plan_row), 100000, (void **)items, n, err);
}

cp_result cp_store_run_plan_reseal(cp_store *s, const char *run_id, const char *old_ciphertext,
                                   const cp_sealed_plan *plan, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(plan->ciphertext), CP_PTEXT(plan->nonce), CP_PTEXT(plan->key_id), CP_PTEXT(run_id),
                    CP_PTEXT(old_ciphertext)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE runs SET plan_blob = ?, plan_nonce = ?, plan_key_id = ? WHERE id = ?"
                                " AND plan_blob = ?",
                                p, 5, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "conflict", NULL, "the plan changed or was cleared during rotation");
    return r;
}

typedef struct {
    const cp_run *run;
    cp_run_status status;
    const char *error, *outputs;
    const cp_resource_spec *spec;
    const cp_drift_outcome *drift; /* a drift check's finding (success only) */
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
    if (run->operation == CP_OP_DRIFT_CHECK) {
        /* Nothing of the resource changes but what the check found. */
        if ((r = fenced_status(c, run, from, fc->status, true, fc->error, err)) != CP_OK) return r;
        return cp_conn_drift_record(c, run, fc->status, fc->drift, err);
    }
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
        return r == CP_OK ? cp_conn_rate_change(c, run->resource_id, 0, now, err) : r;
    }
    /* create/update: the spec the caller read from the run becomes the resource's. */
    const cp_resource_spec *sp = fc->spec;
    cp_param p[] = {CP_PTEXT(cp_resource_status_name(next)),
                    CP_PTEXT(fc->outputs ? fc->outputs : "{}"),
                    CP_PTEXT(sp->size),
                    CP_PTEXT(sp->config),
                    CP_PREAL(sp->monthly_cost_usd),
                    CP_PINT(now),
                    CP_PTEXT(run->resource_id)};
    r = cp_db_exec(c,
                   "UPDATE resources SET status = ?, outputs = ?, size = COALESCE(?, size),"
                   " config = COALESCE(?, config), monthly_cost_usd = ?, updated_at = ? WHERE id = ?",
                   p, 7, NULL, err);
    if (r == CP_OK && sp->name) {
        cp_param q[] = {CP_PTEXT(sp->name), CP_PTEXT(run->resource_id)};
        r = cp_db_exec(c, "UPDATE resources SET name = ? WHERE id = ?", q, 2, NULL, err);
    }
    if (r == CP_OK && sp->config) r = cp_conn_power_state_after_run(c, run->resource_id, sp->config, err);
    /* A remedy that applied refreshed every attribute and converged it on the
     * order: the resource is in sync, and its report says so. */
    if (r == CP_OK && run->source &&
        (!strcmp(run->source, CP_SOURCE_DRIFT_RECONCILE) || !strcmp(run->source, CP_SOURCE_DRIFT_ACCEPT))) {
        cp_drift_outcome synced = {CP_DRIFT_IN_SYNC, "[]"};
        r = cp_conn_drift_record(c, run, CP_RUN_SUCCEEDED, &synced, err);
    }
    return r == CP_OK ? cp_conn_rate_change(c, run->resource_id, sp->monthly_cost_usd, now, err) : r;
}

/* A create, update or destroy that succeeded or failed tells its webhooks
 * and people, in the finish transaction (drift checks tell through their
 * finding: cp_conn_drift_record). */
static cp_result tx_finish_emit(cp_dbconn *c, void *ctx, cp_error *err)
{
    finish_ctx *fc = ctx;
    cp_result r = tx_finish(c, ctx, err);
    if (r != CP_OK || fc->run->operation == CP_OP_DRIFT_CHECK) return r;
    if (fc->status == CP_RUN_SUCCEEDED) return cp_conn_run_event(c, fc->run->id, CP_EVENT_RUN_SUCCEEDED, err);
    if (fc->status == CP_RUN_FAILED) return cp_conn_run_event(c, fc->run->id, CP_EVENT_RUN_FAILED, err);
    return r;
}

cp_result cp_store_run_finish(cp_store *s, const cp_run *run, cp_run_status final, const char *error,
                              const char *outputs_json, const cp_resource_spec *spec, cp_error *err)
{
    finish_ctx fc = {run, final, error, outputs_json, spec, NULL};
    return cp_store_tx(s, tx_finish_emit, &fc, err);
}

cp_result cp_store_drift_check_finish(cp_store *s, const cp_run *run, cp_run_status final, const char *error,
                                      const cp_drift_outcome *drift, cp_error *err)
{
    finish_ctx fc = {run, final, error, NULL, NULL, drift};
    return cp_store_tx(s, tx_finish, &fc, err);
}

/* ---- user actions on runs ---- */

cp_result cp_store_run_approve(cp_store *s, const char *run_id, const char *user_id, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(run_id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE runs SET approved_by = ? WHERE id = ? AND status = 'awaiting_approval'"
                                " AND approved_by IS NULL",
                                p, 2, &changed, err);
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
    cp_result r = cp_conn_run_by_id(c, a, cc->run_id, &run, err);
    if (r == CP_OK && cp_run_status_is_final(run.status))
        r = cp_error_set(err, CP_ECONFLICT, "run_finished", NULL, "the run has already finished (%s)",
                         cp_run_status_name(run.status));
    if (r == CP_OK && (run.status == CP_RUN_QUEUED || run.status == CP_RUN_AWAITING_APPROVAL) && !run.lease_owner) {
        /* Nobody is running it: end it here, as its owner would. */
        cc->immediate = true;
        cp_param p[] = {CP_PTEXT(run.id)};
        r = cp_db_exec(c, "UPDATE runs SET lease_owner = 'canceler', lease_expires_at = 0 WHERE id = ?", p, 1, NULL,
                       err);
        run.lease_owner = "canceler";
        finish_ctx fc = {&run, CP_RUN_CANCELED, "canceled by user", NULL, NULL, NULL};
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

typedef struct {
    cp_arena *a;
    const cp_run *seen;
    int64_t now;
    cp_reap_outcome outcome;
    cp_run *out;
} reap_ctx;

/* The takeover is the fence: it matches only while the owner and attempt
 * the scan saw still hold the run and the lease is still expired, so a
 * heartbeat, finish or mark_tofu_started that committed first leaves the run
 * alone, and one that commits later finds its lease gone. The row is read
 * again under the takeover, and what it says now decides requeue or fail. */
static cp_result tx_reap(cp_dbconn *c, void *ctx, cp_error *err)
{
    reap_ctx *rc = ctx;
    cp_param p[] = {CP_PTEXT(rc->seen->id), CP_PTEXT(rc->seen->lease_owner), CP_PINT(rc->seen->attempt),
                    CP_PINT(rc->now)};
    int64_t changed = 0;
    cp_result r = cp_db_exec(c,
                             "UPDATE runs SET lease_owner = 'reaper' WHERE id = ? AND lease_owner = ? AND attempt = ?"
                             " AND lease_expires_at < ? AND status IN " CP_RUN_SQL_LEASED,
                             p, 4, &changed, err);
    if (r != CP_OK || changed == 0) return r;
    if ((r = cp_conn_run_by_id(c, rc->a, rc->seen->id, rc->out, err)) != CP_OK) return r;
    if (!rc->out->tofu_started) {
        cp_param q[] = {CP_PTEXT(rc->out->id)};
        r = cp_db_exec(c,
                       "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL"
                       " WHERE id = ? AND lease_owner = 'reaper'",
                       q, 1, NULL, err);
        if (r == CP_OK) rc->outcome = CP_REAP_REQUEUED;
        return r;
    }
    finish_ctx fc = {rc->out,
                     CP_RUN_FAILED,
                     "worker lost: its lease expired during plan/apply; the run was not retried automatically",
                     NULL,
                     NULL,
                     NULL};
    if ((r = tx_finish_emit(c, &fc, err)) == CP_OK) rc->outcome = CP_REAP_LOST;
    return r;
}

cp_result cp_store_run_reap_one(cp_store *s, cp_arena *a, const cp_run *seen, int64_t now, cp_reap_outcome *outcome,
                                cp_run *out, cp_error *err)
{
    reap_ctx rc = {a, seen, now, CP_REAP_NONE, out};
    cp_result r = cp_store_tx(s, tx_reap, &rc, err);
    *outcome = r == CP_OK ? rc.outcome : CP_REAP_NONE;
    return r;
}

cp_result cp_store_runs_reap(cp_store *s, cp_arena *a, int64_t grace_ms, char ***requeued, size_t *nrequeued,
                             cp_lost_run **lost, size_t *nlost, cp_error *err)
{
    *nrequeued = *nlost = 0;
    *requeued = NULL;
    *lost = NULL;
    cp_run *expired;
    size_t n;
    /* "now" for the fence is grace_ms back: only leases expired that long ago. */
    int64_t now = cp_now_ms() - (grace_ms > 0 ? grace_ms : 0);
    cp_param p[] = {CP_PINT(now)};
    cp_result r =
        cp_store_many(s, a,
                      "SELECT " RUN_COLS RUN_FROM " WHERE u.lease_owner IS NOT NULL AND u.lease_expires_at < ?"
                      " AND u.status IN " CP_RUN_SQL_LEASED,
                      p, 1, cp_fill_run, sizeof(cp_run), 1000, (void **)&expired, &n, err);
    if (r != CP_OK || n == 0) return r;
    *requeued = cp_arena_alloc(a, n * sizeof(char *));
    *lost = cp_arena_alloc(a, n * sizeof(cp_lost_run));
    /* One transaction per run: a row that fails is logged and left for the
     * next pass, and holds or rolls back none of the others. */
    for (size_t i = 0; i < n; i++) {
        cp_run *run = cp_arena_alloc(a, sizeof *run);
        cp_reap_outcome outcome;
        cp_error e;
        if (cp_store_run_reap_one(s, a, &expired[i], now, &outcome, run, &e) != CP_OK) {
            cp_log(CP_LOG_WARN, "reaping an expired run failed; retried on the next pass",
                   json_pack("{s:s, s:s}", "run_id", expired[i].id, "detail", e.message));
        } else if (outcome == CP_REAP_REQUEUED) {
            (*requeued)[(*nrequeued)++] = run->id;
        } else if (outcome == CP_REAP_LOST) {
            cp_lost_run *l = &(*lost)[(*nlost)++];
            l->run_id = run->id;
            l->resource_id = run->resource_id;
            l->lock_id = run->lock_id;
            l->request_id = run->request_id;
        }
    }
    return CP_OK;
}
