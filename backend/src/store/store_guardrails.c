/* store_guardrails.c: a project's guardrail rules, the checks stored on each
 * run, resource protection, and the approval that overrides a plan's soft
 * checks. The rules themselves are engine/guardrails.c's to read. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "store/store_rows.h"
#include "store/store_guardrails.h"

/* ---- rules ---- */

static void fill_rules(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_guardrails_row *x = out;
    x->rules = cp_dbrows_dup(r, 0, a);
    x->updated_at = cp_dbrows_int(r, 1);
    x->updated_by = cp_dbrows_dup(r, 2, a);
}

cp_result cp_store_guardrails_get(cp_store *s, cp_arena *a, const char *project_id, cp_guardrails_row *out,
                                  cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id)};
    cp_result r =
        cp_store_one(s, a, "SELECT rules, updated_at, updated_by FROM project_guardrails WHERE project_id = ?", p, 1,
                     fill_rules, out, "guardrails", err);
    if (r == CP_ENOTFOUND) {
        *out = (cp_guardrails_row){cp_arena_strdup(a, "{}"), 0, NULL};
        cp_error_clear(err);
        return CP_OK;
    }
    return r;
}

cp_result cp_store_guardrails_put(cp_store *s, const char *project_id, const char *rules_json, const char *user_id,
                                  int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id), CP_PTEXT(rules_json), CP_PINT(now), CP_PTEXT(user_id)};
    return cp_store_exec(
        s,
        "INSERT INTO project_guardrails (project_id, rules, updated_at, updated_by) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (project_id) DO UPDATE SET rules = excluded.rules,"
        " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        p, 4, NULL, err);
}

/* ---- the project's VMs, for the vCPU rule ---- */

static void fill_vm_size(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_vm_size_count *x = out;
    x->cloud = cp_dbrows_dup(r, 0, a);
    x->size = cp_dbrows_dup(r, 1, a);
    x->count = cp_dbrows_int(r, 2);
}

cp_result cp_store_project_vm_sizes(cp_store *s, cp_arena *a, const char *project_id, const char *except_id,
                                    cp_vm_size_count **items, size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id), CP_PTEXT(except_id ? except_id : "")};
    /* Counted as the budget counts resources (store_resources.c, BUDGET_SQL). */
    return cp_store_many(s, a,
                         "SELECT r.cloud, r.size, COUNT(*) FROM resources r WHERE r.project_id = ? AND r.kind = 'vm'"
                         " AND r.status <> 'destroyed' AND r.id <> ? AND (r.status <> 'failed' OR EXISTS (SELECT 1"
                         " FROM cost_periods c WHERE c.resource_id = r.id AND c.ended_at IS NULL))"
                         " GROUP BY r.cloud, r.size",
                         p, 2, fill_vm_size, sizeof(cp_vm_size_count), 1000, (void **)items, n, err);
}

/* ---- checks of runs ---- */

static const char *opt(json_t *c, const char *k)
{
    return json_string_value(json_object_get(c, k));
}

cp_result cp_conn_run_checks_add(cp_dbconn *c, const char *run_id, const char *checks_json, cp_error *err)
{
    json_t *arr = checks_json ? json_loads(checks_json, 0, NULL) : NULL;
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        json_decref(arr);
        return CP_OK;
    }
    double last = 0;
    cp_param q[] = {CP_PTEXT(run_id)};
    cp_result r = cp_conn_scalar(c, "SELECT COALESCE(MAX(seq), 0) FROM run_checks WHERE run_id = ?", q, 1, &last, err);
    int64_t now = cp_now_ms();
    size_t i;
    json_t *ck;
    json_array_foreach(arr, i, ck)
    {
        if (r != CP_OK) break;
        cp_param p[] = {CP_PTEXT(run_id),
                        CP_PINT((int64_t)last + (int64_t)i + 1),
                        CP_PTEXT(opt(ck, "stage")),
                        CP_PTEXT(opt(ck, "rule")),
                        CP_PTEXT(opt(ck, "level")),
                        CP_PTEXT(opt(ck, "outcome")),
                        CP_PTEXT(opt(ck, "message") ? opt(ck, "message") : ""),
                        CP_PTEXT(opt(ck, "address")),
                        CP_PTEXT(opt(ck, "reason")),
                        CP_PTEXT(opt(ck, "overridden_by")),
                        CP_PINT(now)};
        r = cp_db_exec(c,
                       "INSERT INTO run_checks (run_id, seq, stage, rule, level, outcome, message, address, reason,"
                       " overridden_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       p, 11, NULL, err);
    }
    json_decref(arr);
    return r;
}

typedef struct {
    const char *run_id, *checks;
} checks_add;

static cp_result tx_checks_add(cp_dbconn *c, void *ctx, cp_error *err)
{
    checks_add *ca = ctx;
    return cp_conn_run_checks_add(c, ca->run_id, ca->checks, err);
}

cp_result cp_store_run_checks_add(cp_store *s, const char *run_id, const char *checks_json, cp_error *err)
{
    checks_add ca = {run_id, checks_json};
    return cp_store_tx(s, tx_checks_add, &ca, err);
}

static void fill_check(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_run_check *x = out;
    x->seq = cp_dbrows_int(r, 0);
    x->stage = cp_dbrows_dup(r, 1, a);
    x->rule = cp_dbrows_dup(r, 2, a);
    x->level = cp_dbrows_dup(r, 3, a);
    x->outcome = cp_dbrows_dup(r, 4, a);
    x->message = cp_dbrows_dup(r, 5, a);
    x->address = cp_dbrows_dup(r, 6, a);
    x->reason = cp_dbrows_dup(r, 7, a);
    x->overridden_by = cp_dbrows_dup(r, 8, a);
    x->created_at = cp_dbrows_int(r, 9);
}

cp_result cp_store_run_checks_list(cp_store *s, cp_arena *a, const char *run_id, cp_run_check **items, size_t *n,
                                   cp_error *err)
{
    cp_param p[] = {CP_PTEXT(run_id)};
    return cp_store_many(s, a,
                         "SELECT seq, stage, rule, level, outcome, message, address, reason, overridden_by, created_at"
                         " FROM run_checks WHERE run_id = ? ORDER BY seq",
                         p, 1, fill_check, sizeof(cp_run_check), 1000, (void **)items, n, err);
}

typedef struct {
    const cp_run *run;
    const char *checks;
    bool override_required;
} plan_checks;

static cp_result tx_plan_checks(cp_dbconn *c, void *ctx, cp_error *err)
{
    plan_checks *pc = ctx;
    const cp_run *run = pc->run;
    cp_param p[] = {CP_PINT(pc->override_required ? 1 : 0), CP_PTEXT(run->id), CP_PTEXT(run->lease_owner),
                    CP_PINT(run->attempt)};
    int64_t changed = 0;
    cp_result r =
        cp_db_exec(c, "UPDATE runs SET override_required = ? WHERE id = ? AND lease_owner = ? AND attempt = ?", p, 4,
                   &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set_reason(err, CP_ECONFLICT, CP_REASON_LEASE_LOST, NULL, "run %s: lease lost", run->id);
    return r == CP_OK ? cp_conn_run_checks_add(c, run->id, pc->checks, err) : r;
}

cp_result cp_store_run_plan_checks(cp_store *s, const cp_run *run, const char *checks_json, bool override_required,
                                   cp_error *err)
{
    plan_checks pc = {run, checks_json, override_required};
    return cp_store_tx(s, tx_plan_checks, &pc, err);
}

typedef struct {
    const char *run_id, *user_id, *reason;
} approve_ctx;

static cp_result tx_approve_override(cp_dbconn *c, void *ctx, cp_error *err)
{
    approve_ctx *ac = ctx;
    cp_param p[] = {CP_PTEXT(ac->user_id), CP_PTEXT(ac->run_id)};
    int64_t changed = 0;
    cp_result r = cp_db_exec(c,
                             "UPDATE runs SET approved_by = ? WHERE id = ? AND status = 'awaiting_approval'"
                             " AND approved_by IS NULL",
                             p, 2, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "not_awaiting_approval", NULL, "the run is not awaiting approval");
    cp_param q[] = {CP_PTEXT(ac->reason), CP_PTEXT(ac->user_id), CP_PTEXT(ac->run_id)};
    return r == CP_OK ? cp_db_exec(c,
                                   "UPDATE run_checks SET outcome = 'overridden', reason = ?, overridden_by = ?"
                                   " WHERE run_id = ? AND stage = 'plan' AND outcome = 'blocked' AND level = 'soft'",
                                   q, 3, NULL, err)
                      : r;
}

cp_result cp_store_run_approve_override(cp_store *s, const char *run_id, const char *user_id, const char *reason,
                                        cp_error *err)
{
    approve_ctx ac = {run_id, user_id, reason};
    return cp_store_tx(s, tx_approve_override, &ac, err);
}

/* ---- protection ---- */

cp_result cp_store_resource_set_protected(cp_store *s, const char *resource_id, bool on, cp_error *err)
{
    cp_param p[] = {CP_PINT(on ? 1 : 0), CP_PINT(cp_now_ms()), CP_PTEXT(resource_id)};
    int64_t changed = 0;
    cp_result r =
        cp_store_exec(s, "UPDATE resources SET protected = ?, updated_at = ? WHERE id = ? AND status <> 'destroyed'", p,
                      3, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "resource_destroyed", NULL, "the resource is destroyed");
    return r;
}

cp_result cp_store_resource_unfail(cp_store *s, const char *resource_id, const char *before, cp_error *err)
{
    if (before && strcmp(before, "active") != 0) return CP_OK; /* failed before the run: stays failed */
    cp_param p[] = {CP_PTEXT(resource_id)};
    return cp_store_exec(s, "UPDATE resources SET status = 'active' WHERE id = ? AND status = 'failed'", p, 1, NULL,
                         err);
}
