/* plan_json.c: the attribute diff of a tofu change, and a saved plan's
 * resource_changes merged into its summary. */
#include "engine/plan_json.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/redact.h"

#define PATH_MAX_LEN 512
#define MAX_DEPTH 16

typedef struct {
    json_t *out;
    cp_diff_mode mode;
} diff_ctx;

/* The marker (sensitive or unknown) of key, or of list index idx when key is
 * NULL, under m: true (it covers everything below), a nested marker, or NULL. */
static json_t *mark_child(json_t *m, const char *key, size_t idx)
{
    if (json_is_true(m)) return m;
    if (!key) return json_is_array(m) ? json_array_get(m, idx) : NULL;
    return json_is_object(m) ? json_object_get(m, key) : NULL;
}

static bool absent(json_t *v)
{
    return !v || json_is_null(v);
}

/* A side as shown: "***" when masked (unless there is no value), else a copy. */
static json_t *shown(json_t *v, bool masked, cp_diff_mode mode)
{
    if (masked && (mode == CP_DIFF_DRIFT || !absent(v))) return json_string(CP_REDACT_MASK);
    return v ? json_deep_copy(v) : json_null();
}

/* Whether before/after (and the unknown marker) are walked key by key rather
 * than reported as one value. */
static bool descend(const diff_ctx *c, json_t *before, json_t *after, json_t *bs, json_t *as, json_t *au, int depth)
{
    if (depth >= MAX_DEPTH || json_is_true(bs) || json_is_true(as) || json_is_true(au)) return false;
    if (c->mode == CP_DIFF_DRIFT) {
        bool objects = (json_is_object(before) || absent(before)) && (json_is_object(after) || absent(after)) &&
                       (json_is_object(before) || json_is_object(after));
        /* A whole object that appears or goes is one change, not one per key,
         * below the top (the attribute itself). */
        return objects && (depth > 0 ? json_is_object(before) && json_is_object(after) : true);
    }
    /* Plan: objects with objects, lists with lists, either side maybe absent. */
    bool obj = (json_is_object(before) || absent(before)) && (json_is_object(after) || absent(after)) &&
               (json_is_object(before) || json_is_object(after) || json_is_object(au));
    bool arr = (json_is_array(before) || absent(before)) && (json_is_array(after) || absent(after)) &&
               (json_is_array(before) || json_is_array(after) || json_is_array(au));
    return obj || arr;
}

static void diff(diff_ctx *c, const char *path, json_t *before, json_t *after, json_t *bs, json_t *as, json_t *au,
                 int depth);

static void diff_key(diff_ctx *c, const char *path, const char *key, size_t idx, json_t *before, json_t *after,
                     json_t *bs, json_t *as, json_t *au, int depth)
{
    char p[PATH_MAX_LEN];
    if (key)
        snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", key);
    else
        snprintf(p, sizeof p, "%s%s%zu", path, *path ? "." : "", idx);
    json_t *b = key ? json_object_get(before, key) : json_array_get(before, idx);
    json_t *a = key ? json_object_get(after, key) : json_array_get(after, idx);
    diff(c, p, b, a, mark_child(bs, key, idx), mark_child(as, key, idx), mark_child(au, key, idx), depth + 1);
}

/* Appends an entry for each difference under before/after. */
static void diff(diff_ctx *c, const char *path, json_t *before, json_t *after, json_t *bs, json_t *as, json_t *au,
                 int depth)
{
    bool unknown = c->mode == CP_DIFF_PLAN && json_is_true(au);
    bool au_walk = c->mode == CP_DIFF_PLAN && (json_is_object(au) || json_is_array(au));
    if (!unknown && !au_walk && (json_equal(before, after) || (absent(before) && absent(after)))) return;
    if (descend(c, before, after, bs, as, c->mode == CP_DIFF_PLAN ? au : NULL, depth)) {
        if (json_is_array(before) || json_is_array(after) || json_is_array(au)) {
            size_t n = json_array_size(before);
            if (json_array_size(after) > n) n = json_array_size(after);
            if (json_is_array(au) && json_array_size(au) > n) n = json_array_size(au);
            for (size_t i = 0; i < n; i++) diff_key(c, path, NULL, i, before, after, bs, as, au, depth);
            return;
        }
        const char *k;
        json_t *v;
        json_object_foreach(before, k, v) diff_key(c, path, k, 0, before, after, bs, as, au, depth);
        json_object_foreach(after, k, v)
        {
            if (!json_object_get(before, k)) diff_key(c, path, k, 0, before, after, bs, as, au, depth);
        }
        if (c->mode == CP_DIFF_PLAN) json_object_foreach(au, k, v)
            {
                if (!json_object_get(before, k) && !json_object_get(after, k))
                    diff_key(c, path, k, 0, before, after, bs, as, au, depth);
            }
        return;
    }
    if (!unknown && (json_equal(before, after) || (absent(before) && absent(after)))) return;
    if (!*path) return; /* a whole resource that is not an object: nothing to name */
    bool masked = json_is_true(bs) || json_is_true(as);
    json_t *b = shown(before, masked, c->mode);
    json_t *a = unknown ? json_null() : shown(after, masked, c->mode);
    if (c->mode == CP_DIFF_DRIFT)
        json_array_append_new(c->out, json_pack("{s:s, s:o, s:o}", "path", path, "before", b, "after", a));
    else
        json_array_append_new(c->out, json_pack("{s:s, s:o, s:o, s:b, s:b}", "path", path, "before", b, "after", a,
                                                "sensitive", masked, "known", !unknown));
}

void cp_plan_diff(json_t *out, json_t *change, cp_diff_mode mode)
{
    diff_ctx c = {out, mode};
    diff(&c, "", json_object_get(change, "before"), json_object_get(change, "after"),
         json_object_get(change, "before_sensitive"), json_object_get(change, "after_sensitive"),
         json_object_get(change, "after_unknown"), 0);
}

const char *cp_plan_action(json_t *actions)
{
    const char *a0 = json_string_value(json_array_get(actions, 0));
    const char *a1 = json_string_value(json_array_get(actions, 1));
    if (!a0) return NULL;
    if (a1) {
        bool dc = !strcmp(a0, "delete") && !strcmp(a1, "create"), cd = !strcmp(a0, "create") && !strcmp(a1, "delete");
        return dc || cd ? "replace" : NULL;
    }
    static const char *const known[] = {"create", "update", "delete", "read"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(a0, known[i])) return known[i];
    return NULL;
}

/* tofu's replace_paths ([["name"], ["tags", "x"], ["list", 0]]) as dotted strings. */
static json_t *replace_paths(json_t *paths)
{
    json_t *out = json_array();
    size_t i, j;
    json_t *p, *step;
    json_array_foreach(paths, i, p)
    {
        char buf[PATH_MAX_LEN] = "";
        size_t len = 0;
        json_array_foreach(p, j, step)
        {
            int n;
            if (json_is_string(step))
                n = snprintf(buf + len, sizeof buf - len, "%s%s", len ? "." : "", json_string_value(step));
            else if (json_is_integer(step))
                n = snprintf(buf + len, sizeof buf - len, "%s%lld", len ? "." : "",
                             (long long)json_integer_value(step));
            else
                continue;
            if (n < 0 || (size_t)n >= sizeof buf - len) break; /* too long: what fits */
            len += (size_t)n;
        }
        if (len) json_array_append_new(out, json_string(buf));
    }
    return out;
}

static json_t *change_of(json_t *plan, const char *address)
{
    size_t i;
    json_t *rc;
    json_array_foreach(json_object_get(plan, "resource_changes"), i, rc)
    {
        const char *a = json_string_value(json_object_get(rc, "address"));
        if (a && !strcmp(a, address)) return rc;
    }
    return NULL;
}

void cp_plan_json_merge(json_t *summary, json_t *plan)
{
    if (!json_is_object(plan)) return;
    size_t i;
    json_t *res;
    json_array_foreach(json_object_get(summary, "resources"), i, res)
    {
        const char *address = json_string_value(json_object_get(res, "address"));
        json_t *rc = address ? change_of(plan, address) : NULL;
        json_t *change = json_object_get(rc, "change");
        if (!json_is_object(change)) continue;
        const char *type = json_string_value(json_object_get(rc, "type"));
        if (type) json_object_set_new(res, "type", json_string(type));
        if (!json_object_get(res, "action") && cp_plan_action(json_object_get(change, "actions")))
            json_object_set_new(res, "action", json_string(cp_plan_action(json_object_get(change, "actions"))));
        json_t *attrs = json_array();
        cp_plan_diff(attrs, change, CP_DIFF_PLAN);
        json_object_set_new(res, "attributes", attrs);
        const char *action = json_string_value(json_object_get(res, "action"));
        if (action && !strcmp(action, "replace"))
            json_object_set_new(res, "replace_paths", replace_paths(json_object_get(change, "replace_paths")));
    }
}
