/* store_resources.c: resources (create, read, list), the update and destroy
 * runs queued against them, and the project budget both are checked
 * against. Runs once queued belong to store_runs.c. */
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "core/trace.h"
#include "store/store_rows.h"
#include "store/store_guardrails.h"

/* ---- budget ---- */

/* Same definition as the project's budget_used_usd (store_projects.c). */
#define BUDGET_SQL                                                                                                     \
    "SELECT p.monthly_budget_usd IS NOT NULL, COALESCE(p.monthly_budget_usd, 0),"                                      \
    " (SELECT COALESCE(SUM(r.monthly_cost_usd), 0) FROM resources r WHERE r.project_id = p.id"                         \
    " AND r.status <> 'destroyed' AND r.id <> ? AND (r.status <> 'failed' OR EXISTS (SELECT 1 FROM cost_periods c"     \
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

typedef struct {
    cp_resource res;
    cp_role role;
} resource_role;

static void fill_resource_role(cp_dbrows *r, cp_arena *a, void *out)
{
    resource_role *rr = out;
    cp_fill_resource(r, a, &rr->res);
    rr->role = cp_role_parse(cp_dbrows_text(r, RESOURCE_NCOLS));
}

static void fill_id_buf(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    const char *t = cp_dbrows_text(r, 0);
    if (t && strlen(t) == CP_ID_LEN) memcpy(out, t, CP_ID_LEN + 1);
}

/* The runs of a resource claim in id order (store_runs.c), so a new run's
 * id must sort after the resource's latest run. */
static cp_result new_run_id(cp_dbconn *c, const char *resource_id, char id[CP_ID_LEN + 1], cp_error *err)
{
    char last[CP_ID_LEN + 1] = "";
    cp_param p[] = {CP_PTEXT(resource_id)};
    cp_result r = cp_conn_one(c, NULL, "SELECT MAX(id) FROM runs WHERE resource_id = ?", p, 1, fill_id_buf, last, err);
    if (r != CP_OK) return r;
    if (!cp_id_new_after(last, id)) return cp_error_set(err, CP_ERR, NULL, NULL, "no run id after %s", last);
    return CP_OK;
}

cp_result cp_conn_run_insert_id(cp_dbconn *c, const char *resource_id, const char *project_id,
                                cp_run_operation operation, const char *params, const char *user_id, const char *source,
                                char id[CP_ID_LEN + 1], cp_error *err)
{
    cp_result r = new_run_id(c, resource_id, id, err);
    if (r != CP_OK) return r;
    /* The caller's trace id (the request's, or the scheduler sweep's) without
     * passing it down every enqueue: the worker works the run under it. */
    cp_param p[] = {CP_PTEXT(id),
                    CP_PTEXT(resource_id),
                    CP_PTEXT(project_id),
                    CP_PTEXT(cp_run_operation_name(operation)),
                    CP_PTEXT(params),
                    CP_PTEXT(user_id),
                    CP_PINT(cp_now_ms()),
                    CP_PTEXT(source),
                    CP_PTEXT(cp_trace_get())};
    return cp_db_exec(c,
                      "INSERT INTO runs (id, resource_id, project_id, operation, status, params, created_by,"
                      " queued_at, source, request_id) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                      p, 9, NULL, err);
}

cp_result cp_conn_run_insert(cp_dbconn *c, cp_arena *a, const char *resource_id, const char *project_id,
                             cp_run_operation operation, const char *params, const char *user_id, const char *source,
                             cp_run *out, cp_error *err)
{
    char id[CP_ID_LEN + 1];
    cp_result r = cp_conn_run_insert_id(c, resource_id, project_id, operation, params, user_id, source, id, err);
    if (r != CP_OK) return r;
    return out ? cp_conn_run_by_id(c, a, id, out, err) : CP_OK;
}

/* ---- resources ---- */

typedef struct {
    cp_arena *a;
    const cp_resource *res;
    const char *params;
    cp_resource *out;
    cp_run *run;
    const cp_store_limits *limits;
    const cp_order_guard *guard; /* NULL: none */
} resource_new;

static cp_result tx_resource_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    resource_new *rn = ctx;
    const cp_resource *x = rn->res;
    /* Two creates must not both pass the budget (or a quota) on the same count. */
    cp_result r = cp_conn_lock(c, CP_LOCK_PROJECT, x->project_id, err);
    if (r == CP_OK) r = cp_conn_check_quotas(c, rn->limits, x->project_id, true, true, err);
    if (r == CP_OK && !(rn->guard && rn->guard->skip_budget))
        r = check_budget(c, x->project_id, NULL, x->monthly_cost_usd, err);
    if (r != CP_OK) return r;
    int64_t now = cp_now_ms();
    cp_param p[] = {CP_PTEXT(x->id),
                    CP_PTEXT(x->project_id),
                    CP_PTEXT(x->account_id),
                    CP_PTEXT(x->cloud),
                    CP_PTEXT(x->kind),
                    CP_PTEXT(x->name),
                    CP_PTEXT(x->region),
                    CP_PTEXT(x->size),
                    CP_PTEXT(x->config),
                    CP_PREAL(x->monthly_cost_usd),
                    CP_PTEXT(x->created_by),
                    CP_PINT(now),
                    CP_PINT(now),
                    x->expires_at > 0 ? CP_PINT(x->expires_at) : CP_PNULL};
    r = cp_db_exec(c,
                   "INSERT INTO resources (id, project_id, account_id, cloud, kind, name, region, size, config,"
                   " status, monthly_cost_usd, created_by, created_at, updated_at, expires_at)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)",
                   p, 14, NULL, err);
    if (r != CP_OK) return r;
    r = cp_conn_run_insert(c, rn->a, x->id, x->project_id, CP_OP_CREATE, rn->params, x->created_by, CP_SOURCE_USER,
                           rn->run, err);
    if (r == CP_OK && rn->guard) r = cp_conn_run_checks_add(c, rn->run->id, rn->guard->checks, err);
    if (r != CP_OK) return r;
    cp_param q[] = {CP_PTEXT(x->id)};
    return cp_conn_one(c, rn->a, "SELECT " RESOURCE_COLS RESOURCE_FROM " WHERE r.id = ?", q, 1, cp_fill_resource,
                       rn->out, err);
}

cp_result cp_store_resource_create(cp_store *s, cp_arena *a, const cp_resource *res, const char *run_params,
                                   cp_resource *out, cp_run *run, cp_error *err)
{
    resource_new rn = {a, res, run_params, out, run, &s->limits, NULL};
    return cp_store_tx(s, tx_resource_create, &rn, err);
}

cp_result cp_store_resource_create_guarded(cp_store *s, cp_arena *a, const cp_resource *res, const char *run_params,
                                           const cp_order_guard *guard, cp_resource *out, cp_run *run, cp_error *err)
{
    resource_new rn = {a, res, run_params, out, run, &s->limits, guard};
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
    return cp_store_one(s, a, "SELECT " RESOURCE_COLS RESOURCE_FROM " WHERE r.id = ?", p, 1, cp_fill_resource, out,
                        "resource", err);
}

/* ---- the list ----
 *
 * One static statement per filter combination, so each has its own plan and
 * no filter is written `col = COALESCE(?, col)` (which the planner cannot
 * estimate). Three ways in, chosen by what bounds the work:
 * - a project filter: the membership row, then that project's resources by
 *   (project_id, id);
 * - a user in few projects: their memberships, then each project's resources
 *   by (project_id, id): the cost follows the user's own resources;
 * - a user in many projects: resources newest first by id, each probed for a
 *   membership by (project_id, user_id), stopping at the page's end: the cost
 *   follows the page size. The probe is a scalar subquery so the planner
 *   cannot turn it into a join that reads every membership first.
 * On PostgreSQL every shape pages the ids first (from an index alone), then
 * reads the details of those rows only, by primary key. SQLite does the same
 * for a user in few projects (their ids need a sort: sorting whole rows cost
 * more than everything else in a page), but reads a project's rows, and a
 * user in many projects' rows, straight from an index in page order, with
 * no sort and nothing materialised. A page may come back in no particular
 * order and is sorted by the caller (at most 201 rows).
 *
 * Few or many projects is a count of the user's memberships. On SQLite that
 * is a statement of its own (in-process, a few thousand instructions). On
 * PostgreSQL it would be a round trip, so both ways are one statement there:
 * a UNION ALL whose branches are gated on the count, which the planner turns
 * into one-time filters, so only one branch runs. */

/* Up to this many projects a user's resources are read project by project. */
#define LIST_FEW_PROJECTS 48
/* Counts memberships only far enough to tell (LIST_FEW_PROJECTS + 1). */
#define LIST_COUNT "(SELECT COUNT(*) FROM (SELECT 1 FROM memberships WHERE user_id = ? LIMIT 49) x)"
/* SQLite: the count, and the project when there is one. */
#define LIST_COUNT_SQL                                                                                                 \
    "SELECT COUNT(*), MIN(project_id) FROM (SELECT project_id FROM memberships WHERE user_id = ? LIMIT 49)"

#define LIST_FROM_FEW(t)                                                                                               \
    " FROM resources " t " WHERE " t ".project_id IN (SELECT m.project_id FROM memberships m WHERE m.user_id = ?)"
#define LIST_FROM_MANY(t)                                                                                              \
    " FROM resources " t " WHERE (SELECT 1 FROM memberships m WHERE m.project_id = " t ".project_id"                   \
    " AND m.user_id = ?) = 1"
#define LIST_FROM_PROJECT(t)                                                                                           \
    " FROM resources " t " JOIN memberships m ON m.project_id = " t ".project_id AND m.user_id = ?"                    \
    " WHERE " t ".project_id = ?"
#define LIST_CLOUD(t) " AND " t ".cloud = ?"
#define LIST_KIND(t) " AND " t ".kind = ?"
#define LIST_STATUS(t) " AND " t ".status = ?"
#define LIST_DRIFT(t) " AND " t ".drift_status = ?"
/* Parameters: (user, [project,] filters..., [count's user,] cursor, limit). */
#define LIST_PAGE(t, gate) gate " AND " t ".id < ? ORDER BY " t ".id DESC LIMIT ?"
/* The page's ids first, then their rows by key. */
#define LIST_IDS(from, c, k, st, d, gate) "SELECT p.id" from c k st d LIST_PAGE("p", gate)
#define LIST_ROWS(ids)                                                                                                 \
    "SELECT " RESOURCE_COLS " FROM (" ids ") k JOIN resources r ON r.id = k.id"                                        \
    " JOIN cloud_accounts a ON a.id = r.account_id"
/* PostgreSQL: the ids as an array, so the rows are read by primary key
 * whatever the planner thinks of the page's size (as a join it hashed the
 * whole table on a small one). */
#define LIST_ROWS_PG(ids) "SELECT " RESOURCE_COLS RESOURCE_FROM " WHERE r.id = ANY (ARRAY(" ids "))"
#define LIST_SQL_PG(way, c, k, st, d) LIST_ROWS_PG(LIST_IDS(way("p"), c("p"), k("p"), st("p"), d("p"), ""))
#define LIST_SQL(way, c, k, st, d) LIST_ROWS(LIST_IDS(way("p"), c("p"), k("p"), st("p"), d("p"), ""))
/* PostgreSQL's few-projects branch reads each project's page by (project_id,
 * id) in order (at most limit rows each), so its cost follows the page, not
 * the user's resources: (user, filters..., cursor, limit, count's user,
 * limit). The gate lets it run for 48 memberships at most; the LIMIT in
 * index order tells the planner so (it would scan every membership of a
 * user in hundreds of projects, though that plan never runs). */
#define LIST_IDS_LATERAL(c, k, st, d)                                                                                  \
    "SELECT p.id FROM (SELECT project_id FROM memberships WHERE user_id = ? ORDER BY user_id, project_id LIMIT 48) m"  \
    " CROSS JOIN LATERAL (SELECT p.id FROM resources p"                                                                \
    " WHERE p.project_id = m.project_id" c k st d LIST_PAGE("p", "") ") p WHERE " LIST_COUNT                           \
                                                                     " <= 48 ORDER BY p.id DESC LIMIT ?"
#define LIST_SQL_GATED(way, c, k, st, d)                                                                               \
    LIST_ROWS_PG("(" LIST_IDS_LATERAL(c("p"), k("p"), st("p"), d("p")) ") UNION ALL (" LIST_IDS(                       \
        LIST_FROM_MANY("p"), c("p"), k("p"), st("p"), d("p"), " AND " LIST_COUNT " > 48") ")")
/* Rows straight from an index in page order (SQLite: no sort, nothing materialised). */
#define LIST_SQL_FLAT(way, c, k, st, d) "SELECT " RESOURCE_COLS way("r") c("r") k("r") st("r") d("r") LIST_PAGE("r", "")
#define LIST_ACCOUNT_JOIN(t) " JOIN cloud_accounts a ON a.id = r.account_id"
#define LIST_NONE(t) ""
/* Indexed by the filter bits: cloud 1, kind 2, status 4, drift_status 8. */
#define LIST_SHAPES8(sql, way, d)                                                                                      \
    sql(way, LIST_NONE, LIST_NONE, LIST_NONE, d), sql(way, LIST_CLOUD, LIST_NONE, LIST_NONE, d),                       \
        sql(way, LIST_NONE, LIST_KIND, LIST_NONE, d), sql(way, LIST_CLOUD, LIST_KIND, LIST_NONE, d),                   \
        sql(way, LIST_NONE, LIST_NONE, LIST_STATUS, d), sql(way, LIST_CLOUD, LIST_NONE, LIST_STATUS, d),               \
        sql(way, LIST_NONE, LIST_KIND, LIST_STATUS, d), sql(way, LIST_CLOUD, LIST_KIND, LIST_STATUS, d)
#define LIST_SHAPES(sql, way)                                                                                          \
    {                                                                                                                  \
        LIST_SHAPES8(sql, way, LIST_NONE), LIST_SHAPES8(sql, way, LIST_DRIFT)                                          \
    }
/* The flat ways join the account before the filters' WHERE. */
#define LIST_FLAT_MANY(t)                                                                                              \
    " FROM resources " t LIST_ACCOUNT_JOIN(t) " WHERE (SELECT 1 FROM memberships m WHERE m.project_id = " t            \
                                              ".project_id AND m.user_id = ?) = 1"
#define LIST_FLAT_PROJECT(t)                                                                                           \
    " FROM resources " t " JOIN memberships m ON m.project_id = " t                                                    \
    ".project_id AND m.user_id = ?" LIST_ACCOUNT_JOIN(t) " WHERE " t ".project_id = ?"

/* PostgreSQL: LIST_PROJECT, LIST_GATED; SQLite: LIST_FEW and the flat ways. */
enum { LIST_FEW, LIST_PROJECT, LIST_GATED, LIST_LITE_MANY, LIST_LITE_PROJECT };
static const char *const list_sql[5][16] = {
    LIST_SHAPES(LIST_SQL, LIST_FROM_FEW),          LIST_SHAPES(LIST_SQL_PG, LIST_FROM_PROJECT),
    LIST_SHAPES(LIST_SQL_GATED, LIST_NONE),        LIST_SHAPES(LIST_SQL_FLAT, LIST_FLAT_MANY),
    LIST_SHAPES(LIST_SQL_FLAT, LIST_FLAT_PROJECT),
};
_Static_assert(LIST_FEW_PROJECTS == 48, "LIST_COUNT and LIST_SQL_GATED are written for 48");

/* expires_before (the dashboard's "expiring soon"): a statement per way and
 * shape of its own, its term ahead of the cloud filter's (so its parameter
 * too). resources_expiry (0012) holds just the rows it can match. */
#define LIST_EXPIRES(t) " AND " t ".expires_at < ? AND " t ".status <> 'destroyed'"
#define LIST_X_NONE(t) LIST_EXPIRES(t)
#define LIST_X_CLOUD(t) LIST_EXPIRES(t) LIST_CLOUD(t)
#define LIST_SHAPES8_X(sql, way, d)                                                                                    \
    sql(way, LIST_X_NONE, LIST_NONE, LIST_NONE, d), sql(way, LIST_X_CLOUD, LIST_NONE, LIST_NONE, d),                   \
        sql(way, LIST_X_NONE, LIST_KIND, LIST_NONE, d), sql(way, LIST_X_CLOUD, LIST_KIND, LIST_NONE, d),               \
        sql(way, LIST_X_NONE, LIST_NONE, LIST_STATUS, d), sql(way, LIST_X_CLOUD, LIST_NONE, LIST_STATUS, d),           \
        sql(way, LIST_X_NONE, LIST_KIND, LIST_STATUS, d), sql(way, LIST_X_CLOUD, LIST_KIND, LIST_STATUS, d)
#define LIST_SHAPES_EXPIRING(sql, way)                                                                                 \
    {                                                                                                                  \
        LIST_SHAPES8_X(sql, way, LIST_NONE), LIST_SHAPES8_X(sql, way, LIST_DRIFT)                                      \
    }
static const char *const list_expiring_sql[5][16] = {
    LIST_SHAPES_EXPIRING(LIST_SQL, LIST_FROM_FEW),          LIST_SHAPES_EXPIRING(LIST_SQL_PG, LIST_FROM_PROJECT),
    LIST_SHAPES_EXPIRING(LIST_SQL_GATED, LIST_NONE),        LIST_SHAPES_EXPIRING(LIST_SQL_FLAT, LIST_FLAT_MANY),
    LIST_SHAPES_EXPIRING(LIST_SQL_FLAT, LIST_FLAT_PROJECT),
};

/* The most a statement takes: the gated one with every filter, 19. */
#define LIST_MAX_PARAMS 20

/* One way's parameters after p[*np]; returns the filter bits. */
static int list_params(cp_param *p, int *np, const char *user_id, const cp_resource_filter *f, bool gate,
                       const char *cursor, int limit)
{
    int shape = 0;
    p[(*np)++] = CP_PTEXT(user_id);
    if (f->project_id) p[(*np)++] = CP_PTEXT(f->project_id);
    if (f->expires_before) p[(*np)++] = CP_PINT(f->expires_before);
    if (f->cloud) p[(*np)++] = CP_PTEXT(f->cloud), shape |= 1;
    if (f->kind) p[(*np)++] = CP_PTEXT(f->kind), shape |= 2;
    if (f->status) p[(*np)++] = CP_PTEXT(f->status), shape |= 4;
    if (f->drift_status) p[(*np)++] = CP_PTEXT(f->drift_status), shape |= 8;
    if (gate) p[(*np)++] = CP_PTEXT(user_id);
    p[(*np)++] = CP_PTEXT(cursor ? cursor : "~");
    p[(*np)++] = CP_PINT(limit);
    return shape;
}

static int newest_first(const void *x, const void *y)
{
    return strcmp(((const cp_resource *)y)->id, ((const cp_resource *)x)->id);
}

typedef struct {
    double n;
    char *project; /* CP_ID_LEN + 1 */
} member_count;

static void fill_member_count(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    member_count *mc = out;
    mc->n = cp_dbrows_real(r, 0);
    const char *t = cp_dbrows_text(r, 1);
    if (t && strlen(t) == CP_ID_LEN) memcpy(mc->project, t, CP_ID_LEN + 1);
}

/* The page's statement and its parameters (p holds LIST_MAX_PARAMS; they may point into
 * project). On SQLite, a user in one project is listed as if they had asked
 * for it: rows straight from (project_id, id) in order, with no sort. */
static cp_result list_statement(cp_store *s, const char *user_id, const cp_resource_filter *f, int limit,
                                const char *cursor, const char **sql, cp_param *p, int *np, char project[CP_ID_LEN + 1],
                                cp_error *err)
{
    bool pg = cp_db_kind_of(cp_store_db(s)) == CP_DB_PG;
    int way = pg ? LIST_PROJECT : LIST_LITE_PROJECT;
    bool gated = !f->project_id && pg;
    cp_resource_filter one = *f;
    if (gated) {
        way = LIST_GATED;
    } else if (!f->project_id) {
        project[0] = '\0';
        member_count mc = {0, project};
        cp_param u[] = {CP_PTEXT(user_id)};
        cp_dbconn *c = cp_db_acquire(cp_store_db(s));
        cp_result r = cp_conn_one(c, NULL, LIST_COUNT_SQL, u, 1, fill_member_count, &mc, err);
        cp_db_release(cp_store_db(s), c);
        if (r != CP_OK) return r;
        if (mc.n == 1 && project[0]) one.project_id = project;
        way = one.project_id ? LIST_LITE_PROJECT : mc.n <= LIST_FEW_PROJECTS ? LIST_FEW : LIST_LITE_MANY;
    }
    *np = 0;
    int shape;
    if (gated) {
        /* The lateral branch, then the many-projects one (LIST_SQL_GATED). */
        const char *filters[] = {f->cloud, f->kind, f->status, f->drift_status};
        p[(*np)++] = CP_PTEXT(user_id);
        if (f->expires_before) p[(*np)++] = CP_PINT(f->expires_before);
        for (size_t i = 0; i < CP_ARRAY_LEN(filters); i++)
            if (filters[i]) p[(*np)++] = CP_PTEXT(filters[i]);
        p[(*np)++] = CP_PTEXT(cursor ? cursor : "~");
        p[(*np)++] = CP_PINT(limit + 1);
        p[(*np)++] = CP_PTEXT(user_id);
        p[(*np)++] = CP_PINT(limit + 1);
        shape = list_params(p, np, user_id, f, true, cursor, limit + 1);
    } else {
        shape = list_params(p, np, user_id, &one, false, cursor, limit + 1);
    }
    *sql = f->expires_before ? list_expiring_sql[way][shape] : list_sql[way][shape];
    return CP_OK;
}

cp_result cp_store_resources_list(cp_store *s, cp_arena *a, const char *user_id, const cp_resource_filter *f, int limit,
                                  const char *cursor, cp_resource **items, size_t *n, char **next, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    const char *sql;
    cp_param p[LIST_MAX_PARAMS];
    int np;
    char project[CP_ID_LEN + 1];
    cp_result r = list_statement(s, user_id, f, limit, cursor, &sql, p, &np, project, err);
    if (r == CP_OK)
        r = cp_store_many(s, a, sql, p, np, cp_fill_resource, sizeof(cp_resource), (size_t)limit + 1, (void **)items, n,
                          err);
    if (r != CP_OK) return r;
    if (*n > 1) qsort(*items, *n, sizeof(cp_resource), newest_first);
    FINISH_PAGE(items, n, next, limit, id);
    return CP_OK;
}

cp_result cp_store_resources_each(cp_store *s, const char *user_id, const cp_resource_filter *f, int limit,
                                  const char *cursor, cp_resource_fn fn, void *ctx, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    const char *sql;
    cp_param p[LIST_MAX_PARAMS];
    int np;
    char project[CP_ID_LEN + 1];
    cp_result r = list_statement(s, user_id, f, limit, cursor, &sql, p, &np, project, err);
    if (r != CP_OK) return r;
    cp_dbconn *c = cp_db_acquire(cp_store_db(s));
    cp_dbrows *rows;
    r = cp_db_query(c, sql, p, np, &rows, err);
    if (r == CP_OK) {
        cp_resource res;
        for (int i = 0; i <= limit && cp_dbrows_next(rows); i++) {
            cp_fill_resource_view(rows, &res);
            fn(ctx, &res);
        }
        cp_dbrows_free(rows);
    }
    cp_db_release(cp_store_db(s), c);
    return r;
}

/* ---- update and destroy runs ---- */

typedef struct {
    cp_arena *a;
    const char *resource_id, *params, *user_id, *source;
    cp_run_operation operation;
    double cost;
    cp_run *out;
    const cp_store_limits *limits;
    const cp_order_guard *guard; /* NULL: none */
} run_new;

typedef struct {
    cp_resource_status status;
    char *project_id;
} status_row;

static void fill_status(cp_dbrows *r, cp_arena *a, void *out)
{
    status_row *o = out;
    o->status = cp_resource_status_col(r, 0);
    o->project_id = cp_dbrows_dup(r, 1, a);
}

static cp_result tx_run_enqueue(cp_dbconn *c, void *ctx, cp_error *err)
{
    run_new *rn = ctx;
    status_row row;
    cp_param p[] = {CP_PTEXT(rn->resource_id)};
    /* The project for the budget check of updates, the resource for "one
     * pending destroy": both read below, then written by the insert. */
    cp_result r = cp_conn_lock(c, CP_LOCK_PROJECT_OF_RESOURCE, rn->resource_id, err);
    if (r == CP_OK) r = cp_conn_lock(c, CP_LOCK_RESOURCE, rn->resource_id, err);
    if (r != CP_OK) return r;
    r = cp_conn_one(c, rn->a, "SELECT status, project_id FROM resources WHERE id = ?", p, 1, fill_status, &row, err);
    if (r != CP_OK) return r;
    if (row.status == CP_RES_DESTROYED)
        return cp_error_set(err, CP_ECONFLICT, "resource_destroyed", NULL, "the resource is already destroyed");
    double pending = 0;
    r = cp_conn_scalar(c,
                       "SELECT COUNT(*) FROM runs WHERE resource_id = ? AND operation = 'destroy' AND status "
                       "IN " CP_RUN_SQL_IN_PROGRESS,
                       p, 1, &pending, err);
    if (r != CP_OK) return r;
    if (pending > 0)
        return cp_error_set(err, CP_ECONFLICT, "destroy_pending", NULL, "a destroy of this resource is already queued");
    /* A change of the resource ends any drift check of it still to finish. */
    if (rn->operation != CP_OP_DRIFT_CHECK && (r = cp_conn_drift_cancel_checks(c, rn->resource_id, err)) != CP_OK)
        return r;
    if (rn->operation == CP_OP_UPDATE) {
        /* Destroys are not capped: they end work, and one per resource at most is queued. */
        if ((r = cp_conn_check_quotas(c, rn->limits, row.project_id, false, true, err)) != CP_OK) return r;
        if (!(rn->guard && rn->guard->skip_budget) &&
            (r = check_budget(c, row.project_id, rn->resource_id, rn->cost, err)) != CP_OK)
            return r;
    }
    r = cp_conn_run_insert(c, rn->a, rn->resource_id, row.project_id, rn->operation, rn->params, rn->user_id,
                           rn->source, rn->out, err);
    if (r == CP_OK && rn->guard && rn->out) r = cp_conn_run_checks_add(c, rn->out->id, rn->guard->checks, err);
    return r;
}

cp_result cp_conn_destroy_enqueue(cp_dbconn *c, cp_arena *a, const char *resource_id, const char *run_params,
                                  const char *source, cp_run *out, cp_error *err)
{
    run_new rn = {a, resource_id, run_params, NULL, source, CP_OP_DESTROY, 0, out, NULL, NULL};
    return tx_run_enqueue(c, &rn, err);
}

cp_result cp_store_run_enqueue_from(cp_store *s, cp_arena *a, const char *resource_id, cp_run_operation operation,
                                    const char *run_params, double new_monthly_cost, const char *user_id,
                                    const char *source, cp_run *out, cp_error *err)
{
    run_new rn = {a, resource_id, run_params, user_id, source, operation, new_monthly_cost, out, &s->limits, NULL};
    return cp_store_tx(s, tx_run_enqueue, &rn, err);
}

cp_result cp_store_run_enqueue(cp_store *s, cp_arena *a, const char *resource_id, cp_run_operation operation,
                               const char *run_params, double new_monthly_cost, const char *user_id, cp_run *out,
                               cp_error *err)
{
    return cp_store_run_enqueue_from(s, a, resource_id, operation, run_params, new_monthly_cost, user_id,
                                     CP_SOURCE_USER, out, err);
}

cp_result cp_store_run_enqueue_guarded(cp_store *s, cp_arena *a, const char *resource_id, cp_run_operation operation,
                                       const char *run_params, double new_monthly_cost, const char *user_id,
                                       const cp_order_guard *guard, cp_run *out, cp_error *err)
{
    run_new rn = {a,         resource_id,      run_params, user_id,    CP_SOURCE_USER,
                  operation, new_monthly_cost, out,        &s->limits, guard};
    return cp_store_tx(s, tx_run_enqueue, &rn, err);
}
