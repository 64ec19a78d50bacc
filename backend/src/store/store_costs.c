/* store_costs.c: cost periods (opened and closed as a resource's monthly
 * rate changes) and the cost reads: the summary by group and the periods. */
#include <string.h>

#include "store/store_int.h"

cp_result cp_conn_rate_change(cp_dbconn *c, const char *resource_id, double rate, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PTEXT(resource_id)};
    cp_result r = cp_db_exec(c, "UPDATE cost_periods SET ended_at = ? WHERE resource_id = ? AND ended_at IS NULL", p, 2,
                             NULL, err);
    if (r != CP_OK || rate <= 0) return r;
    cp_param q[] = {CP_PREAL(rate), CP_PINT(now), CP_PTEXT(resource_id)};
    return cp_db_exec(
        c,
        "INSERT INTO cost_periods (resource_id, project_id, cloud, monthly_cost_usd, started_at)"
        " SELECT id, project_id, cloud, CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT) FROM resources WHERE id = ?",
        q, 3, NULL, err);
}

static void fill_group(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_cost_group *g = out;
    g->key = cp_dbrows_dup(r, 0, a);
    g->label = cp_dbrows_dup(r, 1, a);
    g->monthly_usd = cp_dbrows_real(r, 2);
    g->count = cp_dbrows_int(r, 3);
}

/* The monthly cost of running resources (active, updating, destroying),
 * read from resource_totals (migration 0007), which triggers keep in step
 * with every write to resources: a few rows per project of the user. */
#define COST_FROM                                                                                                      \
    " FROM memberships m JOIN resource_totals t ON t.project_id = m.project_id"                                        \
    " JOIN projects p ON p.id = t.project_id WHERE m.user_id = ?"                                                      \
    " AND t.status IN ('active', 'updating', 'destroying') AND t.n > 0"
#define COST_SQL(key, label, group)                                                                                    \
    "SELECT " key ", " label ", SUM(t.monthly_cost_usd), SUM(t.n)" COST_FROM " GROUP BY " group " ORDER BY 3 DESC, 1"

cp_result cp_store_costs_summary(cp_store *s, cp_arena *a, const char *user_id, const char *group_by,
                                 cp_cost_group **items, size_t *n, cp_error *err)
{
    /* One static statement per grouping: the column is never spliced from input. */
    static const struct {
        const char *by, *sql;
    } q[] = {
        {"cloud", COST_SQL("t.cloud", "t.cloud", "t.cloud")},
        {"project", COST_SQL("p.id", "p.name", "p.id, p.name")},
        {"kind", COST_SQL("t.kind", "t.kind", "t.kind")},
        {"region", COST_SQL("t.region", "t.region", "t.region")},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(q); i++) {
        if (strcmp(q[i].by, group_by) != 0) continue;
        cp_param p[] = {CP_PTEXT(user_id)};
        return cp_store_many(s, a, q[i].sql, p, 1, fill_group, sizeof(cp_cost_group), 10000, (void **)items, n, err);
    }
    return cp_error_set(err, CP_EUNPROC, "invalid_value", "group_by",
                        "group_by must be cloud, project, kind or region");
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
