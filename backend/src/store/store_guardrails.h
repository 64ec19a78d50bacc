/* store_guardrails.h (store.h declares the store itself and the types
 * these use): guardrails: each project's rules and the checks of runs. */
#ifndef CP_STORE_GUARDRAILS_H
#define CP_STORE_GUARDRAILS_H

#include "store/store.h"

/* ---- guardrails (store_guardrails.c) ---- */

/* A project's rules as stored: the GuardrailRules document (JSON text; "{}"
 * with updated_at 0 when the project never set any). */
typedef struct {
    char *rules;
    int64_t updated_at; /* ms; 0 = never set */
    char *updated_by;   /* user id or NULL */
} cp_guardrails_row;
cp_result cp_store_guardrails_get(cp_store *s, cp_arena *a, const char *project_id, cp_guardrails_row *out,
                                  cp_error *err) CP_MUST_CHECK;
/* Replaces the project's rules (rules_json: the checked document). */
cp_result cp_store_guardrails_put(cp_store *s, const char *project_id, const char *rules_json, const char *user_id,
                                  int64_t now, cp_error *err) CP_MUST_CHECK;

/* How many VMs of each (cloud, size) a project has that exist or are being
 * created (as the budget counts them), except_id (may be NULL) left out. */
typedef struct {
    char *cloud, *size;
    int64_t count;
} cp_vm_size_count;
cp_result cp_store_project_vm_sizes(cp_store *s, cp_arena *a, const char *project_id, const char *except_id,
                                    cp_vm_size_count **items, size_t *n, cp_error *err) CP_MUST_CHECK;

/* One stored guardrail check of a run (GuardrailCheck). */
typedef struct {
    int64_t seq;
    char *stage, *rule, *level, *outcome, *message, *address, *reason, *overridden_by;
    int64_t created_at;
} cp_run_check;
/* A run's checks in the order they were made. */
cp_result cp_store_run_checks_list(cp_store *s, cp_arena *a, const char *run_id, cp_run_check **items, size_t *n,
                                   cp_error *err) CP_MUST_CHECK;
/* Appends checks (a JSON array text of GuardrailCheck objects) to a run. */
cp_result cp_store_run_checks_add(cp_store *s, const char *run_id, const char *checks_json,
                                  cp_error *err) CP_MUST_CHECK;
/* The worker's plan checks, fenced like its other writes (lease owner and
 * attempt); override_required also marks the run. */
cp_result cp_store_run_plan_checks(cp_store *s, const cp_run *run, const char *checks_json, bool override_required,
                                   cp_error *err) CP_MUST_CHECK;
/* Approves a run awaiting approval (as cp_store_run_approve) and marks its
 * blocked soft plan checks overridden by user_id for reason, in one
 * transaction. */
cp_result cp_store_run_approve_override(cp_store *s, const char *run_id, const char *user_id, const char *reason,
                                        cp_error *err) CP_MUST_CHECK;

/* Protects a resource or lifts its protection; CP_ECONFLICT
 * resource_destroyed for a destroyed one. */
cp_result cp_store_resource_set_protected(cp_store *s, const char *resource_id, bool on, cp_error *err) CP_MUST_CHECK;
/* After a plan the guardrails stopped (nothing applied): an update or
 * destroy gives its resource back the status it had before the run (before,
 * a cp_run_params status_before; NULL, from a run claimed before it was
 * kept: active). A resource failed before the run stays failed. */
cp_result cp_store_resource_unfail(cp_store *s, const char *resource_id, const char *before,
                                   cp_error *err) CP_MUST_CHECK;

/* An order's guardrail outcome, for the create or update it queues: checks
 * (JSON array text, NULL for none) are stored on the new run in the same
 * transaction; skip_budget leaves out the store's budget check (the budget
 * rule is advisory, or soft and overridden). */
typedef struct {
    const char *checks;
    bool skip_budget;
} cp_order_guard;
/* cp_store_resource_create and cp_store_run_enqueue with an order's guard. */
cp_result cp_store_resource_create_guarded(cp_store *s, cp_arena *a, const cp_resource *res, const char *run_params,
                                           const cp_order_guard *guard, cp_resource *out, cp_run *run,
                                           cp_error *err) CP_MUST_CHECK;
cp_result cp_store_run_enqueue_guarded(cp_store *s, cp_arena *a, const char *resource_id, cp_run_operation operation,
                                       const char *run_params, double new_monthly_cost, const char *user_id,
                                       const cp_order_guard *guard, cp_run *out, cp_error *err) CP_MUST_CHECK;

#endif
