/* guardrails.c: a project's guardrail rules (GET/PUT), the order form's
 * check, the checks stored on runs, resource protection, and the rules at
 * order time: the block, the owner's or admin's override, and the approval
 * that overrides a plan's soft checks (guardrails.h). The rules themselves
 * are engine/guardrails.c's. */
#include "api/guardrails.h"

#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/guardrails_cache.h"
#include "store/store_guardrails.h"
#include "store/store_webhooks.h"

/* ---- the rules ---- */

/* The project's parsed rules (never NULL on CP_OK; a reference: release
 * with cp_guardrails_free); the stored row in *row. */
static cp_result load_rules(cp_req *req, const char *project_id, cp_guardrails **g, cp_guardrails_row *row)
{
    cp_result r = cp_store_guardrails_get(CP_APP(req)->store, req->arena, project_id, row, &req->err);
    if (r != CP_OK) return r;
    cp_error e;
    /* Parsed once per stored row (and instance), not per order. */
    r = cp_gr_cache_get(CP_APP(req)->guardrails, project_id, row->updated_at, row->rules, g, &e);
    if (r != CP_OK) {
        /* Stored rules were checked when set; a catalog that lost a region since
         * makes them unreadable, and an unreadable rule set must not pass orders. */
        cp_log_error("project %s: stored guardrails unreadable: %s", project_id, e.message);
        return cp_req_fail(req, CP_ERR, NULL, NULL, "the project's guardrails cannot be read: %s", e.message);
    }
    return CP_OK;
}

static json_t *rules_json(const char *project_id, const cp_guardrails_row *row)
{
    json_t *rules = json_loads(row->rules ? row->rules : "{}", 0, NULL);
    return json_pack("{s:s, s:o, s:o, s:o}", "project_id", project_id, "rules", rules ? rules : json_object(),
                     "updated_at", cp_api_time(row->updated_at), "updated_by", cp_json_str_or_null(row->updated_by));
}

cp_result cp_api_guardrails_get(cp_req *req)
{
    const char *id;
    cp_project p;
    cp_result r = cp_api_id(req, "id", &id);
    if (r == CP_OK) r = cp_api_project(req, id, CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    cp_guardrails_row row;
    if ((r = cp_store_guardrails_get(CP_APP(req)->store, req->arena, p.id, &row, &req->err)) != CP_OK) return r;
    return cp_reply(req, 200, rules_json(p.id, &row));
}

cp_result cp_api_guardrails_put(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "allowed_clouds", .type = CP_JF_OBJECT},       {.name = "allowed_regions", .type = CP_JF_OBJECT},
        {.name = "allowed_sizes", .type = CP_JF_OBJECT},        {.name = "max_vcpu_per_resource", .type = CP_JF_OBJECT},
        {.name = "max_vcpu_per_project", .type = CP_JF_OBJECT}, {.name = "required_tags", .type = CP_JF_OBJECT},
        {.name = "max_monthly_cost", .type = CP_JF_OBJECT},     {.name = "budget", .type = CP_JF_OBJECT},
        {.name = "no_public_buckets", .type = CP_JF_OBJECT},
    };
    const char *id;
    cp_project p;
    cp_result r = cp_api_id(req, "id", &id);
    if (r == CP_OK) r = cp_api_project(req, id, CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    json_t *b;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if ((r = cp_api_need_role(req, p.role, CP_ROLE_ADMIN)) != CP_OK) return r;
    cp_guardrails *g;
    if ((r = cp_guardrails_parse(b, &g, &req->err)) != CP_OK) return r;
    cp_guardrails_free(g);
    char *text = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return cp_req_fail(req, CP_ERR, NULL, NULL, "out of memory");
    r = cp_store_guardrails_put(CP_APP(req)->store, p.id, text, req->user_id, cp_now_ms(), &req->err);
    free(text);
    if (r != CP_OK) return r;
    cp_gr_cache_forget(CP_APP(req)->guardrails, p.id);
    cp_api_audit(req, p.id, "guardrails.update", p.id, json_pack("{s:O}", "rules", b));
    cp_guardrails_row row;
    if ((r = cp_store_guardrails_get(CP_APP(req)->store, req->arena, p.id, &row, &req->err)) != CP_OK) return r;
    return cp_reply(req, 200, rules_json(p.id, &row));
}

/* ---- evaluation ---- */

/* The project's other VMs' vCPUs (except_id's not counted). */
static cp_result project_vcpu(cp_req *req, const char *project_id, const char *except_id, long *out)
{
    cp_vm_size_count *rows;
    size_t n;
    cp_result r =
        cp_store_project_vm_sizes(CP_APP(req)->store, req->arena, project_id, except_id, &rows, &n, &req->err);
    *out = 0;
    for (size_t i = 0; r == CP_OK && i < n; i++)
        *out += (long)rows[i].count * cp_catalog_size_vcpu(rows[i].cloud, "vm", rows[i].size);
    return r;
}

/* The checks of p's rules g on order o (a new array). */
static cp_result evaluate(cp_req *req, const cp_project *p, const cp_guardrails *g, const cp_api_order *o,
                          json_t **checks)
{
    const cp_resource *ex = o->existing;
    cp_gr_order go = {.cloud = o->cloud,
                      .kind = o->kind,
                      .name = o->name,
                      .region = o->region,
                      .size = o->size,
                      .config = o->config,
                      .monthly_cost_usd = o->monthly_cost_usd > 0 ? o->monthly_cost_usd : 0,
                      .has_budget = p->has_budget,
                      .budget_usd = p->monthly_budget_usd,
                      .budget_used_usd = p->budget_used_usd};
    if (ex && ex->status != CP_RES_DESTROYED) go.budget_used_usd -= ex->monthly_cost_usd;
    if (go.budget_used_usd < 0) go.budget_used_usd = 0;
    if (cp_guardrails_level(g, CP_GR_MAX_VCPU_PER_PROJECT, NULL)) {
        cp_result r = project_vcpu(req, p->id, ex ? ex->id : NULL, &go.project_vcpu);
        if (r != CP_OK) return r;
    }
    *checks = cp_guardrails_eval_order(g, &go);
    return CP_OK;
}

/* {reason} of a guardrail_override: 3 to 1000 characters without NUL. */
static cp_result override_reason(cp_req *req, json_t *ov, const char **reason)
{
    static const cp_json_field fields[] = {
        {.name = "reason", .type = CP_JF_STRING, .required = true, .min_len = 3, .max_len = 1000}};
    *reason = NULL;
    if (!ov || json_is_null(ov)) return CP_OK;
    cp_result r = cp_json_check(ov, fields, CP_ARRAY_LEN(fields), &req->err);
    if (r != CP_OK) {
        if (!strncmp(req->err.field, "reason", 6))
            snprintf(req->err.field, sizeof req->err.field, "guardrail_override.reason");
        return r;
    }
    const char *s = json_string_value(json_object_get(ov, "reason"));
    if (strlen(s) != json_string_length(json_object_get(ov, "reason")))
        return cp_req_fail(req, CP_EINVAL, "bad_request", "guardrail_override.reason", "reason holds a NUL");
    *reason = s;
    return CP_OK;
}

/* The broken soft rules' names (for the audit). */
static json_t *rules_with(json_t *checks, const char *outcome, bool soft_only)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        if (strcmp(json_string_value(json_object_get(c, "outcome")), outcome) != 0) continue;
        if (soft_only && strcmp(json_string_value(json_object_get(c, "level")), "soft") != 0) continue;
        json_array_append(out, json_object_get(c, "rule"));
    }
    return out;
}

void cp_api_guardrails_blocked(cp_req *req, const char *project_id, const cp_api_order *o, json_t *checks)
{
    const char *target = o->existing ? o->existing->id : o->name;
    cp_api_audit(req, project_id, "guardrail.blocked", target,
                 json_pack("{s:s, s:o, s:O}", "stage", "order", "rules", rules_with(checks, "blocked", false), "checks",
                           checks));
    json_t *data = json_pack("{s:s, s:O, s:{s:s, s:s, s:s, s:s?, s:s?, s:s}}", "stage", "order", "checks", checks,
                             "order", "name", o->name, "cloud", o->cloud, "kind", o->kind, "region", o->region, "size",
                             o->size, "created_by", req->user_id);
    if (o->existing)
        json_object_set_new(data, "resource",
                            json_pack("{s:s, s:s}", "id", o->existing->id, "name", o->existing->name));
    cp_error e;
    /* Best effort, as the audit: the 422 is what the caller must see. */
    if (!data || cp_store_event_emit(CP_APP(req)->store, project_id, "guardrail.blocked", data, &e) != CP_OK)
        cp_log_warn("project %s: guardrail.blocked event not queued: %s", project_id, data ? e.message : "no memory");
    json_decref(data);
}

static void reply_blocked(cp_req *req, const cp_project *p, const cp_api_order *o, json_t *checks, bool hard)
{
    json_t *names = rules_with(checks, "blocked", false);
    char *list = json_dumps(names, JSON_COMPACT);
    json_decref(names);
    bool possible = !hard && p->role >= CP_ROLE_ADMIN;
    json_t *e = json_pack("{s:s, s:s, s:O, s:b}", "code", "guardrail_blocked", "message",
                          hard ? "the project's guardrails refuse this order"
                               : "the project's guardrails refuse this "
                                 "order unless an owner or admin "
                                 "overrides them",
                          "violations", checks, "override_possible", possible);
    if (list) {
        char *msg = cp_arena_printf(req->arena, "%s: %s", json_string_value(json_object_get(e, "message")), list);
        json_object_set_new(e, "message", json_string(msg));
        free(list);
    }
    cp_api_guardrails_blocked(req, p->id, o, checks);
    cp_reply(req, 422, json_pack("{s:o}", "error", e));
}

cp_result cp_api_guardrails_order(cp_req *req, const cp_project *p, const cp_api_order *o, json_t *body,
                                  cp_api_guard *guard, bool *replied)
{
    memset(guard, 0, sizeof *guard);
    *replied = false;
    const char *reason;
    cp_result r = override_reason(req, json_object_get(body, "guardrail_override"), &reason);
    if (r != CP_OK) return r;
    cp_guardrails *g;
    cp_guardrails_row row;
    if ((r = load_rules(req, p->id, &g, &row)) != CP_OK) return r;
    json_t *checks = NULL;
    if (!cp_guardrails_empty(g)) r = evaluate(req, p, g, o, &checks);
    if (r != CP_OK || !checks) goto out;
    bool hard, soft;
    cp_guardrails_verdict(checks, &hard, &soft);
    if (soft && !hard && reason) {
        if (p->role < CP_ROLE_ADMIN) {
            r = cp_req_fail(req, CP_EFORBIDDEN, "override_forbidden", "guardrail_override",
                            "only an owner or admin may override the project's guardrails");
            goto out;
        }
        cp_guardrails_override(checks, reason, req->user_id, NULL);
        cp_api_audit(req, p->id, "guardrail.override", o->existing ? o->existing->id : o->name,
                     json_pack("{s:s, s:s, s:o}", "stage", "order", "reason", reason, "rules",
                               rules_with(checks, "overridden", false)));
        soft = false;
    }
    cp_guardrails_count(checks);
    if (hard || soft) {
        reply_blocked(req, p, o, checks, hard);
        *replied = true;
        goto out;
    }
    cp_gr_level bl;
    bool budget_rule = cp_guardrails_level(g, CP_GR_BUDGET, &bl);
    json_t *overridden = rules_with(checks, "overridden", false);
    bool budget_overridden = false;
    size_t i;
    json_t *v;
    json_array_foreach(overridden, i, v) if (!strcmp(json_string_value(v), "budget")) budget_overridden = true;
    json_decref(overridden);
    guard->store.skip_budget = budget_rule && (bl == CP_GR_ADVISORY || (bl == CP_GR_SOFT && budget_overridden));
    guard->store.checks = json_dumps(checks, JSON_COMPACT);
    guard->any = true;
out:
    json_decref(checks);
    cp_guardrails_free(g);
    return r;
}

void cp_api_guard_release(cp_api_guard *g)
{
    free((char *)g->store.checks);
    memset(g, 0, sizeof *g);
}

/* ---- POST /guardrails/check ---- */

static json_t *checks_result(json_t *checks, cp_role role)
{
    bool hard, soft;
    cp_guardrails_verdict(checks, &hard, &soft);
    return json_pack("{s:b, s:b, s:o}", "allowed", !hard && !soft, "override_possible",
                     !hard && soft && role >= CP_ROLE_ADMIN, "checks", checks);
}

cp_result cp_api_guardrails_check(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "project_id", .type = CP_JF_STRING, .required = true, .max_len = 64},
        {.name = "account_id", .type = CP_JF_STRING, .required = true, .max_len = 64},
        {.name = "kind", .type = CP_JF_STRING, .required = true, .max_len = 16},
        {.name = "name", .type = CP_JF_STRING, .nullable = true, .max_len = 128},
        {.name = "region", .type = CP_JF_STRING, .nullable = true, .max_len = 64},
        {.name = "size", .type = CP_JF_STRING, .nullable = true, .max_len = 64},
        {.name = "config", .type = CP_JF_OBJECT, .nullable = true},
        {.name = "resource_id", .type = CP_JF_STRING, .nullable = true, .max_len = 64},
    };
    cp_app *app = CP_APP(req);
    json_t *b;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r != CP_OK) return r;
    cp_project p;
    const char *pid = cp_json_str(b, "project_id", "");
    if (!cp_id_valid(pid) || (r = cp_api_project(req, pid, CP_ROLE_VIEWER, &p)) == CP_ENOTFOUND)
        return cp_req_fail(req, CP_EUNPROC, "not_found", "project_id", "project not found");
    if (r != CP_OK) return r;
    const char *aid = cp_json_str(b, "account_id", "");
    cp_account acc;
    if (!cp_id_valid(aid) || cp_store_account_get(app->store, req->arena, aid, &acc, &req->err) != CP_OK ||
        strcmp(acc.project_id, p.id) != 0 || acc.deleted)
        return cp_req_fail(req, CP_EUNPROC, "not_found", "account_id", "no such cloud account in this project");
    const char *kind = cp_json_str(b, "kind", "");
    if (strcmp(kind, "vm") != 0 && strcmp(kind, "storage") != 0)
        return cp_req_fail(req, CP_EUNPROC, "invalid_kind", "kind", "kind must be vm or storage");
    const char *rid = cp_json_str(b, "resource_id", NULL);
    cp_resource res;
    cp_role role;
    if (rid && (!cp_id_valid(rid) ||
                cp_store_resource_get(app->store, req->arena, rid, req->user_id, &res, &role, &req->err) != CP_OK ||
                strcmp(res.project_id, p.id) != 0))
        return cp_req_fail(req, CP_EUNPROC, "not_found", "resource_id", "no such resource in this project");
    json_t *config = json_object_get(b, "config");
    if (json_is_null(config)) config = NULL;
    const char *size = cp_json_str(b, "size", NULL);
    double cost = cp_catalog_monthly_cost(acc.cloud, kind, size, config);
    cp_api_order o = {acc.cloud, kind, cp_json_str(b, "name", ""), cp_json_str(b, "region", ""), size,
                      config,    cost, rid ? &res : NULL};
    cp_guardrails *g;
    cp_guardrails_row row;
    if ((r = load_rules(req, p.id, &g, &row)) != CP_OK) return r;
    json_t *checks = NULL;
    r = evaluate(req, &p, g, &o, &checks);
    cp_guardrails_free(g);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, checks_result(checks, p.role));
}

/* ---- GET /runs/{id}/checks ---- */

static json_t *check_json(const cp_run_check *c)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "rule", c->rule, "level", c->level, "stage", c->stage, "outcome",
                          c->outcome, "message", c->message ? c->message : "");
    json_object_set_new(j, "address", cp_json_str_or_null(c->address));
    json_object_set_new(j, "reason", cp_json_str_or_null(c->reason));
    json_object_set_new(j, "overridden_by", cp_json_str_or_null(c->overridden_by));
    json_object_set_new(j, "created_at", cp_api_time(c->created_at));
    return j;
}

cp_result cp_api_runs_checks(cp_req *req)
{
    const char *id;
    cp_run run;
    cp_app *app = CP_APP(req);
    cp_result r = cp_api_id(req, "id", &id);
    if (r == CP_OK) r = cp_store_run_get(app->store, req->arena, id, &run, &req->err);
    if (r != CP_OK) return r;
    if (cp_store_member_role(app->store, run.project_id, req->user_id) == CP_ROLE_NONE)
        return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "run not found");
    cp_run_check *items;
    size_t n;
    if ((r = cp_store_run_checks_list(app->store, req->arena, run.id, &items, &n, &req->err)) != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, check_json(&items[i]));
    return cp_reply(req, 200, json_pack("{s:o}", "items", arr));
}

/* ---- PUT /resources/{id}/protection ---- */

cp_result cp_api_resources_protection(cp_req *req)
{
    static const cp_json_field fields[] = {{.name = "protected", .type = CP_JF_BOOL, .required = true}};
    const char *id;
    cp_resource res;
    cp_role role;
    cp_app *app = CP_APP(req);
    cp_result r = cp_api_id(req, "id", &id);
    if (r == CP_OK) r = cp_store_resource_get(app->store, req->arena, id, req->user_id, &res, &role, &req->err);
    if (r != CP_OK) return r;
    json_t *b;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if ((r = cp_api_need_role(req, role, CP_ROLE_ADMIN)) != CP_OK) return r;
    bool on = json_is_true(json_object_get(b, "protected"));
    if ((r = cp_store_resource_set_protected(app->store, res.id, on, &req->err)) != CP_OK) return r;
    cp_api_audit(req, res.project_id, on ? "resource.protect" : "resource.unprotect", res.id,
                 json_pack("{s:s}", "name", res.name));
    if ((r = cp_store_resource_get(app->store, req->arena, res.id, req->user_id, &res, NULL, &req->err)) != CP_OK)
        return r;
    return cp_reply(req, 200, cp_api_resource_json(&res));
}

/* ---- approval ---- */

cp_result cp_api_guardrails_approvable(cp_req *req, const cp_run *run)
{
    cp_resource res;
    cp_result r = cp_store_resource_by_id(CP_APP(req)->store, req->arena, run->resource_id, &res, &req->err);
    if (r != CP_OK || !res.is_protected) return r;
    bool harmful = run->operation == CP_OP_DESTROY;
    json_t *summary = run->plan_summary ? json_loads(run->plan_summary, 0, NULL) : NULL;
    size_t i;
    json_t *rc;
    json_array_foreach(json_object_get(summary, "resources"), i, rc)
    {
        const char *act = json_string_value(json_object_get(rc, "action"));
        if (act && (!strcmp(act, "delete") || !strcmp(act, "replace"))) harmful = true;
    }
    json_decref(summary);
    if (!harmful) return CP_OK;
    return cp_req_fail(req, CP_ECONFLICT, "resource_protected", NULL,
                       "the plan would destroy or replace %s, which is protected: lift its protection first", res.name);
}

cp_result cp_api_guardrails_approve(cp_req *req, const cp_run *run, const char *reason)
{
    cp_app *app = CP_APP(req);
    if (!reason)
        return cp_req_fail(req, CP_EUNPROC, "reason_required", "reason",
                           "this plan broke the project's guardrails: approving it needs a reason");
    cp_run_check *items;
    size_t n;
    cp_result r = cp_store_run_checks_list(app->store, req->arena, run->id, &items, &n, &req->err);
    if (r != CP_OK) return r;
    if ((r = cp_store_run_approve_override(app->store, run->id, req->user_id, reason, &req->err)) != CP_OK) return r;
    json_t *rules = json_array();
    for (size_t i = 0; i < n; i++)
        if (!strcmp(items[i].stage, "plan") && !strcmp(items[i].outcome, "blocked") && !strcmp(items[i].level, "soft"))
            json_array_append_new(rules, json_string(items[i].rule));
    cp_api_audit(req, run->project_id, "guardrail.override", run->id,
                 json_pack("{s:s, s:s, s:s, s:o}", "stage", "plan", "resource_id", run->resource_id, "reason", reason,
                           "rules", rules));
    return CP_OK;
}
