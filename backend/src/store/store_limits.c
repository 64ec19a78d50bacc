/* store_limits.c: the per-project caps (store.h: cp_store_limits), checked
 * inside the transactions that create resources and runs and claim runs. */
#include <string.h>

#include "core/timeutil.h"
#include "store/store_rows.h"

void cp_store_set_limits(cp_store *s, const cp_store_limits *l)
{
    s->limits = *l;
}

cp_result cp_conn_check_quotas(cp_dbconn *c, const cp_store_limits *l, const char *project_id, bool new_resource,
                               bool new_run, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id)};
    double n = 0;
    cp_result r;
    if (new_resource && l->project_resources > 0) {
        r = cp_conn_scalar(c, "SELECT COUNT(*) FROM resources WHERE project_id = ? AND status <> 'destroyed'", p, 1, &n,
                           err);
        if (r != CP_OK) return r;
        if (n >= (double)l->project_resources)
            return cp_error_set(err, CP_ECONFLICT, "resource_quota", NULL,
                                "the project has %ld resources, its quota; destroy one first", l->project_resources);
    }
    if (new_run && l->project_runs > 0) {
        r = cp_conn_scalar(c,
                           "SELECT COUNT(*) FROM runs WHERE project_id = ? AND operation <> 'destroy'"
                           " AND status IN " CP_RUN_SQL_IN_PROGRESS,
                           p, 1, &n, err);
        if (r != CP_OK) return r;
        if (n >= (double)l->project_runs)
            return cp_error_set(err, CP_ERATE, "too_many_runs", NULL,
                                "the project has %ld unfinished runs, its limit; wait for some to finish",
                                l->project_runs);
    }
    return CP_OK;
}

static void fill_project(cp_dbrows *r, cp_arena *a, void *out)
{
    *(char **)out = cp_dbrows_dup(r, 0, a);
}

cp_result cp_conn_check_active(cp_dbconn *c, const cp_store_limits *l, const char *run_id, cp_error *err)
{
    if (l->project_active_runs <= 0) return CP_OK;
    cp_arena *a = cp_arena_new(256);
    char *project = NULL;
    cp_param p[] = {CP_PTEXT(run_id)};
    cp_result r = cp_conn_one(c, a, "SELECT project_id FROM runs WHERE id = ?", p, 1, fill_project, &project, err);
    if (r == CP_ENOTFOUND) r = CP_OK; /* the claim itself reports it */
    if (r != CP_OK || !project) goto out;
    /* Two workers claiming two runs of one project must not both see a free slot. */
    if ((r = cp_conn_lock(c, CP_LOCK_PROJECT, project, err)) != CP_OK) goto out;
    cp_param q[] = {CP_PTEXT(project), CP_PTEXT(run_id)};
    double n = 0;
    r = cp_conn_scalar(c,
                       "SELECT COUNT(*) FROM runs WHERE project_id = ? AND id <> ? AND lease_owner IS NOT NULL"
                       " AND status IN " CP_RUN_SQL_LEASED,
                       q, 2, &n, err);
    if (r == CP_OK && n >= (double)l->project_active_runs)
        r = cp_error_set(err, CP_ECONFLICT, "project_busy", NULL, "the project runs %ld runs already",
                         l->project_active_runs);
out:
    cp_arena_free(a);
    return r;
}

cp_result cp_store_runs_claimable_in_project(cp_store *s, cp_arena *a, const char *project_id, int limit, char ***ids,
                                             size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id), CP_PINT(cp_now_ms()), CP_PINT(limit)};
    return cp_store_many(s, a,
                         "SELECT u.id FROM runs u WHERE u.project_id = ? AND (u.status = 'queued' OR"
                         " (u.status = 'awaiting_approval' AND u.approved_by IS NOT NULL))"
                         " AND (u.lease_owner IS NULL OR u.lease_expires_at < ?)"
                         " AND NOT EXISTS (SELECT 1 FROM runs o WHERE o.resource_id = u.resource_id AND o.id < u.id"
                         " AND o.status IN " CP_RUN_SQL_IN_PROGRESS ") ORDER BY u.id LIMIT ?",
                         p, 3, fill_project, sizeof(char *), (size_t)limit, (void **)ids, n, err);
}
