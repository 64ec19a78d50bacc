/* plan_json.h: reading `tofu show -json` of a plan. Owns the one attribute
 * diff of a change ({before, after, before_sensitive, after_sensitive,
 * after_unknown}) that the drift reader (drift.c) shares, and what a saved
 * plan's resource_changes add to its summary: per resource its type, the
 * attributes that change (before -> after, sensitive values "***", values
 * known only after apply) and, for a replace, the attributes that force it. */
#ifndef CP_PLAN_JSON_H
#define CP_PLAN_JSON_H

#include <jansson.h>

typedef enum {
    /* Drift: paths name attributes and map keys; lists and sets are compared
     * whole; a map that appears or goes below the top is one change; entries
     * are {path, before, after} and a masked value is "***" on both sides. */
    CP_DIFF_DRIFT = 0,
    /* Plan: maps and lists are flattened ("tags.owner", "allowed_cidrs.0"),
     * also when they appear or go; entries are {path, before, after,
     * sensitive, known}; a masked side is "***" unless it is null, and a
     * value known only after apply is after null, known false. */
    CP_DIFF_PLAN,
} cp_diff_mode;

/* Appends to out (an array) one entry per attribute of change (tofu's change
 * object; borrowed) whose value changes. A value marked sensitive at its path
 * or above never leaves unmasked. */
void cp_plan_diff(json_t *out, json_t *change, cp_diff_mode mode);

/* The action of tofu's change.actions: "create", "update", "delete",
 * "replace" (delete+create either way), "read"; NULL for no-op or unknown. */
const char *cp_plan_action(json_t *actions);

/* Adds to each entry of summary's resources ([{address, action}], from the
 * plan's own stream) the entry of plan's resource_changes with its address:
 * type, attributes (cp_plan_diff, CP_DIFF_PLAN) and, for a replace,
 * replace_paths (dotted). Entries and counts are the summary's own: a change
 * the summary lacks is not added. plan is borrowed and may be NULL. */
void cp_plan_json_merge(json_t *summary, json_t *plan);

#endif
