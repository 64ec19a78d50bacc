/* drift.c: resource_drift of a refresh-only plan as attribute changes (the
 * diff itself is plan_json.c's, in its drift mode). */
#include "engine/drift.h"

#include <string.h>

#include "core/cp.h"
#include "engine/plan_json.h"

json_t *cp_drift_changes(json_t *plan, bool *missing)
{
    json_t *out = json_array();
    *missing = false;
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(plan, "resource_drift"), i, d)
    {
        json_t *change = json_object_get(d, "change");
        json_t *actions = json_object_get(change, "actions");
        const char *action = json_string_value(json_array_get(actions, 0));
        const char *address = json_string_value(json_object_get(d, "address"));
        if (!action || !address) continue;
        /* delete+create is a replace: the object went and another took its place. */
        if (!strcmp(action, "delete")) {
            *missing = true;
            json_array_append_new(out,
                                  json_pack("{s:s, s:s, s:[]}", "address", address, "action", "delete", "attributes"));
            continue;
        }
        if (strcmp(action, "update") != 0) continue; /* no-op, read, create: no drift of ours */
        json_t *attrs = json_array();
        cp_plan_diff(attrs, change, CP_DIFF_DRIFT);
        if (json_array_size(attrs) == 0) {
            json_decref(attrs);
            continue;
        }
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:o}", "address", address, "action", "update", "attributes", attrs));
    }
    return out;
}
