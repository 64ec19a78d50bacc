/* drift.c: resource_drift of a refresh-only plan as attribute changes. */
#include "engine/drift.h"

#include <string.h>

#include "core/cp.h"
#include "engine/redact.h"

#define PATH_MAX_LEN 512
#define MAX_DEPTH 16

/* The sensitivity marker of key under s: true, a nested marker, or NULL. */
static json_t *sens_child(json_t *s, const char *key)
{
    if (json_is_true(s)) return s;
    return json_is_object(s) ? json_object_get(s, key) : NULL;
}

static json_t *shown(json_t *v, json_t *sens)
{
    if (json_is_true(sens)) return json_string(CP_REDACT_MASK);
    return v ? json_deep_copy(v) : json_null();
}

/* Appends {path, before, after} for each difference under before/after. */
static void diff(json_t *out, const char *path, json_t *before, json_t *after, json_t *bs, json_t *as, int depth)
{
    if (json_equal(before, after) || (!before && json_is_null(after)) || (json_is_null(before) && !after)) return;
    bool objects = (json_is_object(before) || !before || json_is_null(before)) &&
                   (json_is_object(after) || !after || json_is_null(after)) &&
                   (json_is_object(before) || json_is_object(after));
    /* A whole object that appears or goes is one change, not one per key,
     * at the top (the attribute itself) only when both sides are objects. */
    if (objects && depth < MAX_DEPTH && (depth > 0 ? json_is_object(before) && json_is_object(after) : true) &&
        !json_is_true(bs) && !json_is_true(as)) {
        const char *k;
        json_t *v;
        json_object_foreach(before, k, v)
        {
            char p[PATH_MAX_LEN];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
            diff(out, p, v, json_object_get(after, k), sens_child(bs, k), sens_child(as, k), depth + 1);
        }
        json_object_foreach(after, k, v)
        {
            if (json_object_get(before, k)) continue;
            char p[PATH_MAX_LEN];
            snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
            diff(out, p, NULL, v, sens_child(bs, k), sens_child(as, k), depth + 1);
        }
        return;
    }
    bool masked = json_is_true(bs) || json_is_true(as);
    json_t *b = masked ? json_string(CP_REDACT_MASK) : shown(before, bs);
    json_t *a = masked ? json_string(CP_REDACT_MASK) : shown(after, as);
    json_array_append_new(out, json_pack("{s:s, s:o, s:o}", "path", path, "before", b, "after", a));
}

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
        diff(attrs, "", json_object_get(change, "before"), json_object_get(change, "after"),
             json_object_get(change, "before_sensitive"), json_object_get(change, "after_sensitive"), 0);
        if (json_array_size(attrs) == 0) {
            json_decref(attrs);
            continue;
        }
        json_array_append_new(
            out, json_pack("{s:s, s:s, s:o}", "address", address, "action", "update", "attributes", attrs));
    }
    return out;
}
