/* guardrails.h: guardrails at order time, shared by the resource and run
 * handlers (api/guardrails.c owns the rules' endpoints and the override). */
#ifndef CP_API_GUARDRAILS_H
#define CP_API_GUARDRAILS_H

#include "api/common.h"
#include "engine/guardrails.h"
#include "store/store_guardrails.h"

/* The order body's field (resources.c appends it to its tables). */
#define CP_API_GUARDRAIL_OVERRIDE_FIELD                                                                                \
    {                                                                                                                  \
        .name = "guardrail_override", .type = CP_JF_OBJECT, .nullable = true                                           \
    }

/* What the rules said about an order, for the run it queues. */
typedef struct {
    cp_order_guard store; /* checks (JSON text, malloc'd) and skip_budget */
    bool any;             /* the project has rules: checks are stored */
} cp_api_guard;

/* An order, or a change of existing (NULL for a new resource), as the rules
 * see it. */
typedef struct {
    const char *cloud, *kind, *name, *region, *size;
    json_t *config;
    double monthly_cost_usd;
    const cp_resource *existing;
} cp_api_order;

/* Evaluates project p's rules on an order. CP_OK with *replied false: go on
 * (guard filled; release it). *replied true: the reply is set (422
 * guardrail_blocked with error.violations and override_possible, audited
 * guardrail.blocked) and the handler returns CP_OK. Other results: errors
 * (403 override_forbidden for a member's override). An owner's or admin's
 * guardrail_override in body overrides the soft rules (audited
 * guardrail.override). */
cp_result cp_api_guardrails_order(cp_req *req, const cp_project *p, const cp_api_order *o, json_t *body,
                                  cp_api_guard *guard, bool *replied) CP_MUST_CHECK;
void cp_api_guard_release(cp_api_guard *g);

/* The one place an order the guardrails refused is recorded: audit and
 * the guardrail.blocked event (webhooks and notifications). */
void cp_api_guardrails_blocked(cp_req *req, const char *project_id, const cp_api_order *o, json_t *checks);

/* POST /runs/{id}/approve: 409 resource_protected when the run's plan would
 * destroy or replace its resource and the resource is protected (since the
 * plan was made). The worker checks again when it applies. */
cp_result cp_api_guardrails_approvable(cp_req *req, const cp_run *run) CP_MUST_CHECK;

/* POST /runs/{id}/approve for a run with override_required: the reason is
 * required (422 reason_required); approves, overrides the plan's soft
 * checks and audits guardrail.override. */
cp_result cp_api_guardrails_approve(cp_req *req, const cp_run *run, const char *reason) CP_MUST_CHECK;

#endif
