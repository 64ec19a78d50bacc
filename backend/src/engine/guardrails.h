/* guardrails.h: a project's guardrail rules, parsed from their typed JSON
 * document, and evaluated on an order (before any run) and on a run's plan
 * (before its apply). Pure: no store, no HTTP; the catalog says what a size,
 * a region and a public bucket are. The checks come out shaped as the API's
 * GuardrailCheck objects, one per rule the project has. */
#ifndef CP_GUARDRAILS_H
#define CP_GUARDRAILS_H

#include <jansson.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { CP_GR_ADVISORY, CP_GR_SOFT, CP_GR_HARD, CP_GR_LEVEL_COUNT } cp_gr_level;
typedef enum { CP_GR_PASSED, CP_GR_WARNED, CP_GR_BLOCKED, CP_GR_OVERRIDDEN, CP_GR_OUTCOME_COUNT } cp_gr_outcome;
typedef enum {
    CP_GR_ALLOWED_CLOUDS,
    CP_GR_ALLOWED_REGIONS,
    CP_GR_ALLOWED_SIZES,
    CP_GR_MAX_VCPU_PER_RESOURCE,
    CP_GR_MAX_VCPU_PER_PROJECT,
    CP_GR_REQUIRED_TAGS,
    CP_GR_MAX_MONTHLY_COST,
    CP_GR_BUDGET,
    CP_GR_NO_PUBLIC_BUCKETS,
    CP_GR_PROTECTED, /* not a rule of the document: a protected resource, always hard */
    CP_GR_RULE_COUNT
} cp_gr_rule;

const char *cp_gr_level_name(cp_gr_level l);
const char *cp_gr_outcome_name(cp_gr_outcome o);
const char *cp_gr_rule_name(cp_gr_rule r);
bool cp_gr_rule_parse(const char *name, cp_gr_rule *out);

/* Parsed rules; opaque. Safe to read from several threads once made;
 * shared by reference (guardrails_cache.h). */
typedef struct cp_guardrails cp_guardrails;

/* Parses and checks a GuardrailRules document (NULL or {} = no rules).
 * Errors: CP_EINVAL (400) for a wrong shape (unknown key, wrong type, field
 * names the path); CP_EUNPROC (422) invalid_pattern for a tag pattern that
 * does not compile, unknown_region / unknown_size for a name the catalog does
 * not have, invalid_value for a value out of range. Caller frees *out. */
cp_result cp_guardrails_parse(json_t *doc, cp_guardrails **out, cp_error *err) CP_MUST_CHECK;
/* Another reference to g (returned); each is dropped by cp_guardrails_free,
 * the last one frees. */
cp_guardrails *cp_guardrails_ref(cp_guardrails *g);
void cp_guardrails_free(cp_guardrails *g);
/* True when no rule is set. */
bool cp_guardrails_empty(const cp_guardrails *g);
/* The level of a rule the project has; false when it has not that rule. */
bool cp_guardrails_level(const cp_guardrails *g, cp_gr_rule rule, cp_gr_level *level);

/* What an order (or a run's params) asks for, and what the project has. */
typedef struct {
    const char *cloud, *kind, *name, *region, *size; /* size NULL for storage */
    json_t *config;                                  /* borrowed; NULL = {} */
    double monthly_cost_usd;                         /* of this resource as ordered */
    bool has_budget;
    double budget_usd;
    double budget_used_usd; /* the project's, this resource's current cost not included */
    long project_vcpu;      /* the project's other VMs' vCPUs, this resource not included */
} cp_gr_order;

/* The order stage: one check per rule the project has (budget only when the
 * project has the rule), in rule order. A new array (caller owns), of
 * {rule, level, stage:"order", outcome, message, address:null, reason:null,
 * overridden_by:null, created_at:null}. */
json_t *cp_guardrails_eval_order(const cp_guardrails *g, const cp_gr_order *o);

/* The plan stage of a run. */
typedef struct {
    json_t *summary;        /* PlanSummary: resources[{address, action, type?, attributes?[{path, after}]}] */
    const cp_gr_order *run; /* the run's params as an order (cloud, kind, ... cost); NULL for a destroy */
    bool protected_;        /* the resource is protected */
} cp_gr_plan;

/* Checks on the plan: protected (when the resource is: a delete or replace
 * is blocked, hard), no_public_buckets on the planned attributes (catalog
 * public_when) and on config.public, and the cloud, region, size, vCPU, tag
 * and cost rules on the run's params (never the budget: the store checks it
 * when the run is queued). Stage "plan"; address set for the checks of a
 * planned resource. A new array (caller owns). */
json_t *cp_guardrails_eval_plan(const cp_guardrails *g, const cp_gr_plan *p);

/* What the checks say: any blocked hard check, any blocked soft check. */
void cp_guardrails_verdict(json_t *checks, bool *hard_blocked, bool *soft_blocked);
/* Counts each check by level and outcome (cloudplane_guardrail_checks_total):
 * for checks that decide an order or a run, not for previews. */
void cp_guardrails_count(json_t *checks);
/* Marks the blocked soft checks overridden (reason, by). When only is not
 * NULL, only those of rules whose bit (1u << rule) is set in *only. */
void cp_guardrails_override(json_t *checks, const char *reason, const char *by, const unsigned *only);
/* Bits (1u << rule) of the checks with outcome overridden. */
unsigned cp_guardrails_overridden_rules(json_t *checks);

#endif
