/* store_schedules.c: working-hours schedules on resources (migration 0013):
 * setting them, the scheduler's sweep that queues their stops and starts,
 * and the power state a finished run leaves a VM in. What a due change
 * becomes (cron, catalog prices) is the caller's plan function: the store
 * only claims, queues and moves on. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_int.h"
#include "store/store_rows.h"
#include "store/store_schedules.h"

static const char *const action_names[] = {[CP_SCHED_STOP] = "stop", [CP_SCHED_START] = "start"};

const char *cp_sched_action_name(cp_sched_action a)
{
    return action_names[a == CP_SCHED_START];
}

static cp_sched_action action_col(cp_dbrows *r, int col)
{
    const char *t = cp_dbrows_text(r, col);
    return t && strcmp(t, "start") == 0 ? CP_SCHED_START : CP_SCHED_STOP;
}

cp_result cp_store_schedule_set(cp_store *s, const char *resource_id, const char *schedule_json, int64_t next_at,
                                cp_sched_action next_action, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(schedule_json), next_at ? CP_PINT(next_at) : CP_PNULL,
                    next_at ? CP_PTEXT(cp_sched_action_name(next_action)) : CP_PNULL, CP_PINT(cp_now_ms()),
                    CP_PTEXT(resource_id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE resources SET schedule = ?, schedule_next_at = ?, schedule_next_action = ?,"
                                " updated_at = ? WHERE id = ? AND status <> 'destroyed'",
                                p, 5, &changed, err);
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "resource not found");
    return r;
}

/* ---- the sweep ---- */

#define DUE_COLS                                                                                                       \
    "r.id, r.project_id, r.cloud, r.kind, r.name, r.region, r.size, r.config, r.schedule, r.power_state,"              \
    " r.status, r.schedule_next_at, r.schedule_next_action"

/* An unfinished run postpones the change: such rows are not claimed (nor
 * counted against the limit) until it ends. */
#define DUE_WHERE                                                                                                      \
    " FROM resources r WHERE r.schedule_next_at <= ? AND NOT EXISTS (SELECT 1 FROM runs u"                             \
    " WHERE u.resource_id = r.id AND u.status IN " CP_RUN_SQL_IN_PROGRESS ")"                                          \
    " ORDER BY r.schedule_next_at, r.id LIMIT ?"

typedef struct {
    cp_sched_due due;
    const char *project_id;
} due_row;

typedef struct {
    cp_arena *a;
    int64_t now;
    int limit;
    cp_sched_plan_fn plan;
    char **ids;
    size_t n;
} sweep_ctx;

static cp_result step_one(cp_dbconn *c, sweep_ctx *sc, const due_row *d, cp_error *err)
{
    const cp_sched_due *due = &d->due;
    cp_sched_step step = {0};
    if (due->status == CP_RES_DESTROYED) {
        step.next_at = 0; /* nothing left to stop or start */
    } else if (sc->plan(due, sc->now, &step, err) != CP_OK) {
        /* A schedule that no longer plans (a hand-edited row): stop sweeping it. */
        cp_log_warn("schedule of resource %s dropped: %s", due->resource_id, err->message);
        free(step.run_params);
        step = (cp_sched_step){0};
    }
    if (step.run_params) {
        cp_run run;
        cp_result r = cp_conn_run_insert(c, sc->a, due->resource_id, d->project_id, CP_OP_UPDATE, step.run_params, NULL,
                                         CP_SOURCE_SCHEDULE, &run, err);
        free(step.run_params);
        if (r != CP_OK) return r;
        sc->ids[sc->n++] = run.id;
    }
    cp_param p[] = {step.next_at ? CP_PINT(step.next_at) : CP_PNULL,
                    step.next_at ? CP_PTEXT(cp_sched_action_name(step.next_action)) : CP_PNULL,
                    CP_PTEXT(due->resource_id)};
    return cp_db_exec(c, "UPDATE resources SET schedule_next_at = ?, schedule_next_action = ? WHERE id = ?", p, 3, NULL,
                      err);
}

static cp_result tx_sweep(cp_dbconn *c, void *ctx, cp_error *err)
{
    sweep_ctx *sc = ctx;
    bool pg = cp_dbconn_kind(c) == CP_DB_PG;
    cp_param p[] = {CP_PINT(sc->now), CP_PINT(sc->limit)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(
        c, pg ? "SELECT " DUE_COLS DUE_WHERE " FOR NO KEY UPDATE OF r SKIP LOCKED" : "SELECT " DUE_COLS DUE_WHERE, p, 2,
        &rows, err);
    if (r != CP_OK) return r;
    due_row *due = cp_arena_alloc(sc->a, sizeof *due * (size_t)sc->limit);
    size_t n = 0;
    while (n < (size_t)sc->limit && cp_dbrows_next(rows)) {
        due_row *d = &due[n++];
        d->due.resource_id = cp_dbrows_dup(rows, 0, sc->a);
        d->project_id = cp_dbrows_dup(rows, 1, sc->a);
        d->due.cloud = cp_dbrows_dup(rows, 2, sc->a);
        d->due.kind = cp_dbrows_dup(rows, 3, sc->a);
        d->due.name = cp_dbrows_dup(rows, 4, sc->a);
        d->due.region = cp_dbrows_dup(rows, 5, sc->a);
        d->due.size = cp_dbrows_dup(rows, 6, sc->a);
        d->due.config = cp_dbrows_dup(rows, 7, sc->a);
        d->due.schedule = cp_dbrows_dup(rows, 8, sc->a);
        d->due.power_state = cp_dbrows_dup(rows, 9, sc->a);
        d->due.status = cp_resource_status_col(rows, 10);
        d->due.next_at = cp_dbrows_int(rows, 11);
        d->due.next_action = action_col(rows, 12);
    }
    cp_dbrows_free(rows);
    sc->ids = cp_arena_alloc(sc->a, sizeof *sc->ids * (n ? n : 1));
    sc->n = 0;
    for (size_t i = 0; i < n && r == CP_OK; i++) r = step_one(c, sc, &due[i], err);
    return r;
}

cp_result cp_store_schedule_sweep(cp_store *s, cp_arena *a, int64_t now, int limit, cp_sched_plan_fn plan, char ***ids,
                                  size_t *n, cp_error *err)
{
    sweep_ctx sc = {a, now, limit < 1 ? 1 : limit, plan, NULL, 0};
    *ids = NULL;
    *n = 0;
    cp_result r = cp_store_tx(s, tx_sweep, &sc, err);
    if (r == CP_OK) *ids = sc.ids, *n = sc.n;
    return r;
}

/* ---- after a run ---- */

cp_result cp_conn_power_state_after_run(cp_dbconn *c, const char *resource_id, const char *config, cp_error *err)
{
    json_t *cfg = json_loads(config, 0, NULL);
    const char *ps = json_string_value(json_object_get(cfg, "power_state"));
    cp_param p[] = {CP_PTEXT(ps && strcmp(ps, "stopped") == 0 ? "stopped" : "running"), CP_PTEXT(resource_id)};
    json_decref(cfg);
    return cp_db_exec(c, "UPDATE resources SET power_state = ? WHERE id = ? AND kind = 'vm'", p, 2, NULL, err);
}
