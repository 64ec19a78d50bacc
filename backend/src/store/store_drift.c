/* store_drift.c: drift detection's rows: queuing checks (by a person or
 * the scheduler's sweep), what a check found (the resource's drift columns
 * and the drift_reports row), reports, the fleet counts, and the projects'
 * drift interval. */
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "store/run_params.h"
#include "store/store_rows.h"
#include "store/store_webhooks.h"
#include "store/store_drift.h"

#define CHECK_CANCELED "canceled: a change of the resource was queued"

/* ---- what a check found ---- */

cp_result cp_conn_drift_record(cp_dbconn *c, const cp_run *run, cp_run_status final, const cp_drift_outcome *drift,
                               cp_error *err)
{
    if (final == CP_RUN_CANCELED) return CP_OK;
    cp_drift_status status = final == CP_RUN_SUCCEEDED && drift ? drift->status : CP_DRIFT_CHECK_FAILED;
    const char *changes = final == CP_RUN_SUCCEEDED && drift && drift->changes ? drift->changes : "[]";
    int64_t now = cp_now_ms();
    /* Drifted or missing where it was not before: its webhooks and people hear of it. */
    bool tell = false;
    if (status == CP_DRIFT_DRIFTED || status == CP_DRIFT_MISSING) {
        cp_param b[] = {CP_PTEXT(run->resource_id), CP_PTEXT(cp_drift_status_name(status))};
        double same = 0;
        cp_result rr =
            cp_conn_scalar(c, "SELECT COUNT(*) FROM resources WHERE id = ? AND drift_status = ?", b, 2, &same, err);
        if (rr != CP_OK) return rr;
        tell = same == 0;
    }
    cp_param p[] = {CP_PTEXT(run->id), CP_PTEXT(run->resource_id), CP_PTEXT(cp_drift_status_name(status)),
                    CP_PTEXT(changes), CP_PINT(now)};
    cp_result r = cp_db_exec(c,
                             "INSERT INTO drift_reports (run_id, resource_id, status, changes, checked_at)"
                             " VALUES (?, ?, ?, ?, ?)",
                             p, 5, NULL, err);
    if (r != CP_OK) return r;
    cp_param q[] = {CP_PTEXT(cp_drift_status_name(status)), CP_PINT(now), CP_PTEXT(run->resource_id)};
    r = cp_db_exec(c, "UPDATE resources SET drift_status = ?, drift_checked_at = ? WHERE id = ?", q, 3, NULL, err);
    if (r == CP_OK && tell)
        r = cp_conn_resource_event(c, run->resource_id, CP_EVENT_RESOURCE_DRIFTED, NULL, cp_drift_status_name(status),
                                   0, run->id, err);
    return r;
}

cp_result cp_conn_drift_cancel_checks(cp_dbconn *c, const char *resource_id, cp_error *err)
{
    int64_t now = cp_now_ms();
    /* Nobody holds a queued check: it ends here, as its owner would end it. */
    cp_param p[] = {CP_PINT(now), CP_PTEXT(resource_id)};
    cp_result r = cp_db_exec(c,
                             "UPDATE runs SET status = 'canceled', finished_at = ?, error = '" CHECK_CANCELED "',"
                             " lease_owner = NULL, lease_expires_at = NULL WHERE resource_id = ?"
                             " AND operation = 'drift_check' AND status = 'queued'",
                             p, 2, NULL, err);
    if (r != CP_OK) return r;
    /* A running one: its worker sees the request at its next lease renewal. */
    cp_param q[] = {CP_PTEXT(resource_id)};
    return cp_db_exec(c,
                      "UPDATE runs SET cancel_requested = 1 WHERE resource_id = ? AND operation = 'drift_check'"
                      " AND status IN " CP_RUN_SQL_IN_PROGRESS,
                      q, 1, NULL, err);
}

/* ---- queuing checks ---- */

typedef struct {
    cp_resource_status status;
    char *project_id, *name, *region, *size, *config;
    double cost;
    long interval;
} check_row;

static void fill_check_row(cp_dbrows *r, cp_arena *a, void *out)
{
    check_row *x = out;
    x->status = cp_resource_status_col(r, 0);
    x->project_id = cp_dbrows_dup(r, 1, a);
    x->name = cp_dbrows_dup(r, 2, a);
    x->region = cp_dbrows_dup(r, 3, a);
    x->size = cp_dbrows_dup(r, 4, a);
    x->config = cp_dbrows_dup(r, 5, a);
    x->cost = cp_dbrows_real(r, 6);
    x->interval = (long)cp_dbrows_int(r, 7);
}

#define CHECK_ROW_COLS                                                                                                 \
    "r.status, r.project_id, r.name, r.region, r.size, r.config, r.monthly_cost_usd, p.drift_interval_minutes,"        \
    " r.id"
#define CHECK_ROW_FROM " FROM resources r JOIN projects p ON p.id = r.project_id"

/* A check runs tofu with the ordered configuration, as the resource's last
 * successful run left it. Its id goes to id; out (may be NULL) is read back. */
static cp_result insert_check(cp_dbconn *c, cp_arena *a, const char *resource_id, const check_row *row,
                              const char *user_id, const char *source, char id[CP_ID_LEN + 1], cp_run *out,
                              cp_error *err)
{
    json_t *config = json_loads(row->config ? row->config : "{}", 0, NULL);
    cp_run_params params = {.name = row->name,
                            .region = row->region,
                            .size = row->size,
                            .config = json_is_object(config) ? config : NULL,
                            .monthly_cost_usd = row->cost};
    char *text = cp_run_params_encode(&params);
    json_decref(config);
    if (!text) return cp_error_set(err, CP_ERR, NULL, NULL, "resource %s: cannot encode its run", resource_id);
    cp_result r =
        cp_conn_run_insert_id(c, resource_id, row->project_id, CP_OP_DRIFT_CHECK, text, user_id, source, id, err);
    free(text);
    if (r == CP_OK && out) r = cp_conn_run_by_id(c, a, id, out, err);
    return r;
}

typedef struct {
    cp_arena *a;
    const char *resource_id, *user_id, *source;
    cp_run *out;
} check_new;

static cp_result tx_check_enqueue(cp_dbconn *c, void *ctx, cp_error *err)
{
    check_new *cn = ctx;
    cp_result r = cp_conn_lock(c, CP_LOCK_RESOURCE, cn->resource_id, err);
    if (r != CP_OK) return r;
    check_row row;
    cp_param p[] = {CP_PTEXT(cn->resource_id)};
    r = cp_conn_one(c, cn->a, "SELECT " CHECK_ROW_COLS CHECK_ROW_FROM " WHERE r.id = ?", p, 1, fill_check_row, &row,
                    err);
    if (r == CP_ENOTFOUND) return cp_error_set(err, r, "not_found", NULL, "resource not found");
    if (r != CP_OK) return r;
    double busy = 0;
    r = cp_conn_scalar(c, "SELECT COUNT(*) FROM runs WHERE resource_id = ? AND status IN " CP_RUN_SQL_IN_PROGRESS, p, 1,
                       &busy, err);
    if (r != CP_OK) return r;
    if (busy > 0)
        return cp_error_set(err, CP_ECONFLICT, "run_in_progress", NULL,
                            "another run of this resource is unfinished; check again once it ends");
    if (row.status != CP_RES_ACTIVE)
        return cp_error_set(err, CP_ECONFLICT, "not_active", NULL, "only an active resource can be checked for drift");
    char id[CP_ID_LEN + 1];
    return insert_check(c, cn->a, cn->resource_id, &row, cn->user_id, cn->source, id, cn->out, err);
}

cp_result cp_store_drift_check_enqueue(cp_store *s, cp_arena *a, const char *resource_id, const char *user_id,
                                       const char *source, cp_run *out, cp_error *err)
{
    check_new cn = {a, resource_id, user_id, source, out};
    return cp_store_tx(s, tx_check_enqueue, &cn, err);
}

/* ---- the scheduler's sweep ---- */

/* Due: active, in a project with an interval, next check unset or past, and
 * no unfinished run. PostgreSQL claims the rows it returns (SKIP LOCKED: a
 * row another sweep holds is left to it); SQLite's write transaction is the
 * only writer. Either way the claim and the drift_next_at move commit with
 * the runs, so each due check is queued once. No ORDER BY: the rows a sweep
 * takes move on, so the next sweep takes others, and no sort holds it up. */
#define SWEEP_WHERE                                                                                                    \
    " WHERE p.drift_interval_minutes > 0 AND r.status = 'active'"                                                      \
    " AND (r.drift_next_at IS NULL OR r.drift_next_at <= ?)"                                                           \
    " AND NOT EXISTS (SELECT 1 FROM runs u WHERE u.resource_id = r.id AND u.status IN " CP_RUN_SQL_IN_PROGRESS ")"     \
    " LIMIT ?"
#define SWEEP_SQL "SELECT " CHECK_ROW_COLS CHECK_ROW_FROM SWEEP_WHERE
#define SWEEP_SQL_PG SWEEP_SQL " FOR UPDATE OF r SKIP LOCKED"

typedef struct {
    check_row row;
    char *id;
} due_row;

static void fill_due(cp_dbrows *r, cp_arena *a, void *out)
{
    due_row *d = out;
    fill_check_row(r, a, &d->row);
    d->id = cp_dbrows_dup(r, 8, a);
}

typedef struct {
    cp_arena *a;
    int64_t now, minute_ms;
    int limit;
    char **ids;
    size_t n;
} sweep_ctx;

static cp_result tx_sweep(cp_dbconn *c, void *ctx, cp_error *err)
{
    sweep_ctx *sc = ctx;
    bool pg = cp_dbconn_kind(c) == CP_DB_PG;
    cp_param p[] = {CP_PINT(sc->now), CP_PINT(sc->limit)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, pg ? SWEEP_SQL_PG : SWEEP_SQL, p, 2, &rows, err);
    if (r != CP_OK) return r;
    due_row *due = cp_arena_alloc(sc->a, (size_t)sc->limit * sizeof *due);
    size_t n = 0;
    while (n < (size_t)sc->limit && cp_dbrows_next(rows)) fill_due(rows, sc->a, &due[n++]);
    cp_dbrows_free(rows);
    sc->ids = cp_arena_alloc(sc->a, (n ? n : 1) * sizeof *sc->ids);
    for (size_t i = 0; i < n && r == CP_OK; i++) {
        char id[CP_ID_LEN + 1];
        r = insert_check(c, sc->a, due[i].id, &due[i].row, NULL, CP_SOURCE_DRIFT_SCHEDULE, id, NULL, err);
        if (r != CP_OK) break;
        cp_param q[] = {CP_PINT(sc->now + due[i].row.interval * sc->minute_ms), CP_PTEXT(due[i].id)};
        r = cp_db_exec(c, "UPDATE resources SET drift_next_at = ? WHERE id = ?", q, 2, NULL, err);
        if (r == CP_OK) sc->ids[sc->n++] = cp_arena_strdup(sc->a, id);
    }
    return r;
}

cp_result cp_store_drift_sweep(cp_store *s, cp_arena *a, int64_t now_ms, int limit, char ***ids, size_t *n,
                               cp_error *err)
{
    sweep_ctx sc = {a, now_ms, s->limits.drift_minute_ms > 0 ? s->limits.drift_minute_ms : 60000, limit, NULL, 0};
    *ids = NULL;
    *n = 0;
    if (limit <= 0) return CP_OK;
    cp_result r = cp_store_tx(s, tx_sweep, &sc, err);
    if (r == CP_OK) {
        *ids = sc.ids;
        *n = sc.n;
    }
    return r;
}

/* ---- reports ---- */

static void fill_report(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_drift_report *x = out;
    x->run_id = cp_dbrows_dup(r, 0, a);
    const char *t = cp_dbrows_text(r, 1);
    x->status = CP_DRIFT_CHECK_FAILED;
    if (t) cp_drift_status_parse(t, &x->status);
    x->changes = cp_dbrows_dup(r, 2, a);
    x->checked_at = cp_dbrows_int(r, 3);
}

cp_result cp_store_drift_report(cp_store *s, cp_arena *a, const char *resource_id, cp_drift_report *out, cp_error *err)
{
    memset(out, 0, sizeof *out);
    out->resource_id = cp_arena_strdup(a, resource_id);
    cp_param p[] = {CP_PTEXT(resource_id)};
    cp_result r = cp_store_one(s, a,
                               "SELECT run_id, status, changes, checked_at FROM drift_reports WHERE resource_id = ?"
                               " ORDER BY run_id DESC LIMIT 1",
                               p, 1, fill_report, out, "drift report", err);
    if (r == CP_ENOTFOUND) {
        out->status = CP_DRIFT_NEVER_CHECKED;
        out->changes = cp_arena_strdup(a, "[]");
        out->run_id = NULL;
        return CP_OK;
    }
    return r;
}

/* ---- the fleet view ---- */

typedef struct {
    char *project_id, *name, *cloud, *status;
    int64_t count;
} count_row;

static void fill_count(cp_dbrows *r, cp_arena *a, void *out)
{
    count_row *x = out;
    x->project_id = cp_dbrows_dup(r, 0, a);
    x->name = cp_dbrows_dup(r, 1, a);
    x->cloud = cp_dbrows_dup(r, 2, a);
    x->status = cp_dbrows_dup(r, 3, a);
    x->count = cp_dbrows_int(r, 4);
}

/* The group of key in g[0..*n), added (with name) when new. */
static cp_drift_group *group_of(cp_drift_group *g, size_t *n, const char *key, const char *name)
{
    for (size_t i = *n; i > 0; i--)
        if (!strcmp(g[i - 1].key, key)) return &g[i - 1];
    cp_drift_group *x = &g[(*n)++];
    memset(x, 0, sizeof *x);
    x->key = (char *)key;
    x->name = (char *)name;
    return x;
}

/* Counts by (project, cloud, drift status) of the user's projects' resources
 * not destroyed, from the partial index resources_drift_counts alone. On
 * PostgreSQL each project is read by its own index range (LATERAL), so a user
 * in every project reads the index, not the table; SQLite (no LATERAL) walks
 * the memberships into the same index. One statement per shape. */
#define FLEET_PG(one)                                                                                                  \
    "SELECT m.project_id, p.name, x.cloud, x.drift_status, x.n FROM memberships m JOIN projects p"                     \
    " ON p.id = m.project_id CROSS JOIN LATERAL (SELECT r.cloud, r.drift_status, COUNT(*) AS n FROM resources r"       \
    " WHERE r.project_id = m.project_id AND r.status <> 'destroyed' GROUP BY r.cloud, r.drift_status) x"               \
    " WHERE m.user_id = ?" one " ORDER BY m.project_id"
#define FLEET_LITE(one)                                                                                                \
    "SELECT m.project_id, MIN(p.name), r.cloud, r.drift_status, COUNT(*) FROM memberships m JOIN projects p"           \
    " ON p.id = m.project_id JOIN resources r ON r.project_id = m.project_id AND r.status <> 'destroyed'"              \
    " WHERE m.user_id = ?" one " GROUP BY m.project_id, r.cloud, r.drift_status ORDER BY m.project_id"
#define FLEET_ONE " AND m.project_id = ?"

cp_result cp_store_drift_fleet(cp_store *s, cp_arena *a, const char *user_id, const char *project_id,
                               cp_drift_group **projects, size_t *nprojects, cp_drift_group **clouds, size_t *nclouds,
                               cp_error *err)
{
    bool pg = cp_db_kind_of(cp_store_db(s)) == CP_DB_PG;
    static const char *const sql[2][2] = {{FLEET_LITE(""), FLEET_LITE(FLEET_ONE)}, {FLEET_PG(""), FLEET_PG(FLEET_ONE)}};
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(project_id)};
    count_row *rows;
    size_t n;
    cp_result r = cp_store_many(s, a, sql[pg][project_id != NULL], p, project_id ? 2 : 1, fill_count, sizeof(count_row),
                                1000000, (void **)&rows, &n, err);
    if (r != CP_OK) return r;
    *projects = cp_arena_alloc(a, (n ? n : 1) * sizeof **projects);
    *clouds = cp_arena_alloc(a, (n ? n : 1) * sizeof **clouds);
    *nprojects = *nclouds = 0;
    for (size_t i = 0; i < n; i++) {
        cp_drift_status st;
        if (!rows[i].status || !cp_drift_status_parse(rows[i].status, &st)) continue;
        group_of(*projects, nprojects, rows[i].project_id, rows[i].name)->counts[st] += rows[i].count;
        group_of(*clouds, nclouds, rows[i].cloud, NULL)->counts[st] += rows[i].count;
    }
    return CP_OK;
}

/* ---- the project setting ---- */

static void fill_long(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(long *)out = (long)cp_dbrows_int(r, 0);
}

cp_result cp_store_project_drift_interval(cp_store *s, const char *project_id, long *minutes, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id)};
    *minutes = 0;
    return cp_store_one(s, NULL, "SELECT drift_interval_minutes FROM projects WHERE id = ?", p, 1, fill_long, minutes,
                        "project", err);
}

typedef struct {
    const char *project_id;
    long minutes;
} interval_ctx;

static cp_result tx_set_interval(cp_dbconn *c, void *ctx, cp_error *err)
{
    interval_ctx *ic = ctx;
    cp_param p[] = {CP_PINT(ic->minutes), CP_PTEXT(ic->project_id)};
    int64_t changed = 0;
    cp_result r = cp_db_exec(c, "UPDATE projects SET drift_interval_minutes = ? WHERE id = ?", p, 2, &changed, err);
    if (r != CP_OK) return r;
    if (changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "project not found");
    /* A new interval starts now: each resource is checked at the next sweep. */
    cp_param q[] = {CP_PTEXT(ic->project_id)};
    return cp_db_exec(c, "UPDATE resources SET drift_next_at = NULL WHERE project_id = ? AND drift_next_at IS NOT NULL",
                      q, 1, NULL, err);
}

cp_result cp_store_project_set_drift_interval(cp_store *s, const char *project_id, long minutes, cp_error *err)
{
    interval_ctx ic = {project_id, minutes};
    return cp_store_tx(s, tx_set_interval, &ic, err);
}
