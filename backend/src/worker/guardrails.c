/* guardrails.c: the plan stage of a project's guardrails in the worker. A
 * run of a project with rules, or of a protected resource, takes the saved
 * plan path; its plan is checked here before anything is applied. This is
 * what covers the runs no API handler checked: drift reconciles, expiry
 * destroys, working-hours runs. */
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "engine/catalog.h"
#include "engine/guardrails.h"
#include "engine/guardrails_cache.h"
#include "store/run_params.h"
#include "worker/worker_int.h"
#include "store/store_guardrails.h"
#include "store/store_webhooks.h"

cp_result cp_worker__guardrails_load(job *j, cp_error *err)
{
    cp_guardrails_row row;
    j->guarded = j->res.is_protected;
    cp_result r = cp_store_guardrails_get(j->w->app->store, j->a, j->res.project_id, &row, err);
    if (r != CP_OK) return r;
    r = cp_gr_cache_get(j->w->app->guardrails, j->res.project_id, row.updated_at, row.rules, &j->rules, err);
    if (r != CP_OK) return r; /* the run fails: unreadable rules never let a plan through */
    if (cp_guardrails_empty(j->rules)) {
        cp_guardrails_free(j->rules);
        j->rules = NULL;
    }
    j->guarded = j->guarded || j->rules;
    return CP_OK;
}

void cp_worker__guardrails_free(job *j)
{
    cp_guardrails_free(j->rules);
    j->rules = NULL;
}

/* The project's VMs' vCPUs but this resource's. */
static long project_vcpu(job *j)
{
    cp_vm_size_count *rows;
    size_t n;
    cp_error e;
    long v = 0;
    if (cp_store_project_vm_sizes(j->w->app->store, j->a, j->res.project_id, j->res.id, &rows, &n, &e) != CP_OK) {
        cp_log_warn("run %s: project vCPUs not read: %s", j->run.id, e.message);
        return 0;
    }
    for (size_t i = 0; i < n; i++) v += (long)rows[i].count * cp_catalog_size_vcpu(rows[i].cloud, "vm", rows[i].size);
    return v;
}

/* The soft plan checks of rules the order overrode take the order's reason. */
static void carry_order_overrides(job *j, json_t *checks)
{
    cp_run_check *items;
    size_t n;
    cp_error e;
    if (cp_store_run_checks_list(j->w->app->store, j->a, j->run.id, &items, &n, &e) != CP_OK) return;
    for (size_t i = 0; i < n; i++) {
        cp_gr_rule rule;
        if (strcmp(items[i].stage, "order") != 0 || strcmp(items[i].outcome, "overridden") != 0 ||
            !cp_gr_rule_parse(items[i].rule, &rule))
            continue;
        unsigned only = 1u << rule;
        cp_guardrails_override(checks, items[i].reason, items[i].overridden_by, &only);
    }
}

/* The one place a plan the guardrails stopped is recorded: audit and the
 * guardrail.blocked event (webhooks and notifications). */
static void blocked(job *j, json_t *checks)
{
    json_t *rules = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) if (!strcmp(json_string_value(json_object_get(c, "outcome")), "blocked"))
        json_array_append(rules, json_object_get(c, "rule"));
    json_t *d = json_pack("{s:s, s:s, s:s, s:o, s:O}", "stage", "plan", "run_id", j->run.id, "resource_id", j->res.id,
                          "rules", rules, "checks", checks);
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    cp_error e;
    /* Best effort, as every audit write: the run's failure is what counts. */
    CP_IGNORE(cp_store_audit_add(j->w->app->store, NULL, j->res.project_id, "guardrail.blocked", j->run.id, text, &e));
    free(text);
    json_t *ev = json_pack("{s:s, s:O, s:{s:s, s:s, s:s?}, s:{s:s, s:s}}", "stage", "plan", "checks", checks, "run",
                           "id", j->run.id, "resource_id", j->res.id, "created_by", j->run.created_by, "resource", "id",
                           j->res.id, "name", j->res.name);
    if (!ev || cp_store_event_emit(j->w->app->store, j->res.project_id, "guardrail.blocked", ev, &e) != CP_OK)
        cp_log_warn("run %s: guardrail.blocked event not queued: %s", j->run.id, ev ? e.message : "no memory");
    json_decref(ev);
}

/* "allowed_sizes: size sandbox.large is not ..." of the first blocked hard check. */
static const char *hard_reason(json_t *checks)
{
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) if (!strcmp(json_string_value(json_object_get(c, "outcome")), "blocked") &&
                                         !strcmp(json_string_value(json_object_get(c, "level")),
                                                 "hard")) return json_string_value(json_object_get(c, "message"));
    return "a hard guardrail";
}

/* The plan-stage checks of the run's plan summary, with the rules and the
 * protection loaded for this claim. A new array. */
static json_t *plan_checks(job *j, json_t *summary)
{
    cp_run_params params;
    cp_run_params_decode(j->run.params, &params);
    cp_gr_order run = {.cloud = j->res.cloud,
                       .kind = j->res.kind,
                       .name = params.name ? params.name : j->res.name,
                       .region = params.region ? params.region : j->res.region,
                       .size = params.size,
                       .config = params.config,
                       .monthly_cost_usd = params.monthly_cost_usd};
    if (j->rules && cp_guardrails_level(j->rules, CP_GR_MAX_VCPU_PER_PROJECT, NULL)) run.project_vcpu = project_vcpu(j);
    cp_gr_plan plan = {summary, j->run.operation == CP_OP_DESTROY ? NULL : &run, j->res.is_protected};
    json_t *checks = cp_guardrails_eval_plan(j->rules, &plan);
    cp_run_params_release(&params);
    return checks;
}

cp_result cp_worker__guardrails_plan(job *j, json_t *summary, bool *park, cp_error *e)
{
    *park = false;
    json_t *checks = plan_checks(j, summary);
    carry_order_overrides(j, checks);
    cp_guardrails_count(checks);
    bool hard, soft;
    cp_guardrails_verdict(checks, &hard, &soft);
    char *text = json_dumps(checks, JSON_COMPACT);
    cp_result r = cp_store_run_plan_checks(j->w->app->store, &j->run, text, soft && !hard, e);
    free(text);
    if (r != CP_OK) {
        if (e->reason == CP_REASON_LEASE_LOST) cp_worker__fence(j);
        json_decref(checks);
        return r;
    }
    if (hard) {
        blocked(j, checks);
        r = cp_error_set(e, CP_EUNPROC, "guardrail_blocked", NULL, "blocked by the project's guardrails: %s",
                         hard_reason(checks));
    } else if (soft) {
        blocked(j, checks);
        cp_worker__log_line(j, "system", "warn",
                            "the plan breaks a soft guardrail: an owner or admin must approve it with a reason");
        j->run.override_required = true;
        *park = true;
    }
    json_decref(checks);
    return r;
}

cp_result cp_worker__guardrails_apply(job *j, cp_error *e)
{
    if (!j->guarded) return CP_OK;
    json_t *summary = j->run.plan_summary ? json_loads(j->run.plan_summary, 0, NULL) : NULL;
    if (!summary) summary = json_object();
    json_t *all = plan_checks(j, summary), *hard = json_array();
    json_decref(summary);
    /* Only what the approval cannot have accepted: a hard rule (protection is one). */
    size_t i;
    json_t *c;
    json_array_foreach(all, i, c) if (!strcmp(json_string_value(json_object_get(c, "level")), "hard") &&
                                      !strcmp(json_string_value(json_object_get(c, "outcome")), "blocked"))
        json_array_append(hard, c);
    json_decref(all);
    cp_result r = CP_OK;
    if (json_array_size(hard) > 0) {
        char *text = json_dumps(hard, JSON_COMPACT);
        r = cp_store_run_plan_checks(j->w->app->store, &j->run, text, j->run.override_required, e);
        free(text);
        if (r != CP_OK && e->reason == CP_REASON_LEASE_LOST) cp_worker__fence(j);
        if (r == CP_OK) {
            cp_guardrails_count(hard); /* only what blocks: the rest counted at the plan */
            blocked(j, hard);
            r = cp_error_set(e, CP_EUNPROC, "guardrail_blocked", NULL,
                             "blocked by the project's guardrails since the approval: %s", hard_reason(hard));
        }
    }
    json_decref(hard);
    return r;
}

void cp_worker__guardrails_failed(job *j)
{
    if (j->run.operation == CP_OP_CREATE || j->lost) return;
    cp_error e;
    cp_run_params params;
    cp_run_params_decode(j->run.params, &params);
    if (cp_store_resource_unfail(j->w->app->store, j->res.id, params.status_before, &e) != CP_OK)
        cp_log_warn("run %s: resource %s left failed: %s", j->run.id, j->res.id, e.message);
    cp_run_params_release(&params);
}
