/* guardrails.c: parsing and evaluating a project's guardrail rules
 * (guardrails.h). Patterns are compiled once, when the document is parsed. */
#include "engine/guardrails.h"

#include <math.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/metrics.h"
#include "core/xalloc.h"
#include "engine/catalog.h"

#define MAX_TAG_RULES 20
#define MAX_LIST 64
#define MSG_MAX 512

static const char *const level_names[CP_GR_LEVEL_COUNT] = {"advisory", "soft", "hard"};
static const char *const outcome_names[CP_GR_OUTCOME_COUNT] = {"passed", "warned", "blocked", "overridden"};
static const char *const rule_names[CP_GR_RULE_COUNT] = {
    "allowed_clouds", "allowed_regions",  "allowed_sizes", "max_vcpu_per_resource", "max_vcpu_per_project",
    "required_tags",  "max_monthly_cost", "budget",        "no_public_buckets",     "protected"};
static const char *const clouds[] = {"aws", "azure", "gcp", "sandbox"};

const char *cp_gr_level_name(cp_gr_level l)
{
    return (unsigned)l < CP_GR_LEVEL_COUNT ? level_names[l] : "hard";
}

const char *cp_gr_outcome_name(cp_gr_outcome o)
{
    return (unsigned)o < CP_GR_OUTCOME_COUNT ? outcome_names[o] : "blocked";
}

const char *cp_gr_rule_name(cp_gr_rule r)
{
    return (unsigned)r < CP_GR_RULE_COUNT ? rule_names[r] : "protected";
}

bool cp_gr_rule_parse(const char *name, cp_gr_rule *out)
{
    for (int i = 0; name && i < CP_GR_RULE_COUNT; i++)
        if (!strcmp(rule_names[i], name)) {
            *out = (cp_gr_rule)i;
            return true;
        }
    return false;
}

typedef struct {
    char *key;
    char *pattern; /* NULL: any value */
    regex_t re;    /* ^(pattern)$ when pattern */
} tag_rule;

struct cp_guardrails {
    atomic_int refs; /* cp_guardrails_ref, cp_guardrails_free */
    bool has[CP_GR_RULE_COUNT];
    cp_gr_level level[CP_GR_RULE_COUNT];
    unsigned clouds;         /* bits of clouds[] */
    json_t *regions, *sizes; /* {cloud: [names]} */
    long vcpu_resource, vcpu_project;
    tag_rule tags[MAX_TAG_RULES];
    size_t ntags;
    double max_cost;
};

/* ---- parse ---- */

static cp_result shape(cp_error *err, const char *field, const char *what)
{
    return cp_error_set(err, CP_EINVAL, "bad_request", field, "%s %s", field, what);
}

/* Only these keys, and each of required present. */
static cp_result keys_only(json_t *o, const char *field, const char *const *allowed, size_t n, cp_error *err)
{
    if (!json_is_object(o)) return shape(err, field, "must be an object");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++) ok = !strcmp(allowed[i], k);
        if (!ok) return cp_error_set(err, CP_EINVAL, "unknown_field", field, "unknown field '%.64s' in %s", k, field);
    }
    for (size_t i = 0; i < n; i++)
        if (!json_object_get(o, allowed[i]) && strcmp(allowed[i], "pattern") != 0)
            return cp_error_set(err, CP_EINVAL, "missing_field", field, "%s needs %s", field, allowed[i]);
    return CP_OK;
}

static int cloud_index(const char *c)
{
    for (size_t i = 0; c && i < CP_ARRAY_LEN(clouds); i++)
        if (!strcmp(clouds[i], c)) return (int)i;
    return -1;
}

static bool nul_free(json_t *s)
{
    return json_is_string(s) && strlen(json_string_value(s)) == json_string_length(s);
}

/* {cloud: [name, ...]} checked against the catalog by known(). */
static cp_result parse_per_cloud(json_t *o, const char *field, bool (*known)(const char *, const char *),
                                 const char *unknown_code, json_t **out, cp_error *err)
{
    if (!json_is_object(o)) return shape(err, field, "must be an object");
    const char *c;
    json_t *arr;
    json_object_foreach(o, c, arr)
    {
        if (cloud_index(c) < 0)
            return cp_error_set(err, CP_EINVAL, "unknown_field", field, "unknown cloud '%.32s' in %s", c, field);
        if (!json_is_array(arr) || json_array_size(arr) > MAX_LIST)
            return shape(err, field, "must list at most 64 names per cloud");
        size_t i;
        json_t *s;
        json_array_foreach(arr, i, s)
        {
            if (!nul_free(s) || json_string_length(s) > 64)
                return shape(err, field, "must hold strings of at most 64 characters");
            if (!known(c, json_string_value(s)))
                return cp_error_set(err, CP_EUNPROC, unknown_code, field, "%s: %s has no %.64s", field, c,
                                    json_string_value(s));
        }
    }
    *out = json_deep_copy(o);
    return CP_OK;
}

static cp_result parse_vcpu(json_t *o, const char *field, long max, long *out, cp_error *err)
{
    json_t *v = json_object_get(o, "vcpu");
    if (!json_is_integer(v)) return shape(err, field, "vcpu must be an integer");
    if (json_integer_value(v) < 1 || json_integer_value(v) > max)
        return cp_error_set(err, CP_EUNPROC, "invalid_value", field, "%s.vcpu must be from 1 to %ld", field, max);
    *out = (long)json_integer_value(v);
    return CP_OK;
}

static cp_result parse_tags(cp_guardrails *g, json_t *arr, cp_error *err)
{
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > MAX_TAG_RULES)
        return shape(err, "required_tags.tags", "must list 1 to 20 tags");
    size_t i;
    json_t *t;
    json_array_foreach(arr, i, t)
    {
        static const char *const ks[] = {"key", "pattern"};
        cp_result r = keys_only(t, "required_tags.tags[]", ks, 2, err);
        if (r != CP_OK) return r;
        json_t *key = json_object_get(t, "key"), *pat = json_object_get(t, "pattern");
        if (!nul_free(key) || json_string_length(key) < 1 || json_string_length(key) > 128)
            return shape(err, "required_tags.tags[].key", "must be a string of 1 to 128 characters");
        if (pat && !json_is_null(pat) && (!nul_free(pat) || json_string_length(pat) > 256))
            return shape(err, "required_tags.tags[].pattern", "must be a string of at most 256 characters");
        tag_rule *tr = &g->tags[g->ntags];
        const char *p = json_string_value(pat);
        if (p) {
            regex_t probe;
            if (regcomp(&probe, p, REG_EXTENDED | REG_NOSUB) != 0)
                return cp_error_set(err, CP_EUNPROC, "invalid_pattern", "required_tags.tags[].pattern",
                                    "the pattern for tag %.128s is not a valid POSIX extended regular expression",
                                    json_string_value(key));
            regfree(&probe);
            size_t n = strlen(p) + 5;
            char *whole = cp_xmalloc(n);
            snprintf(whole, n, "^(%s)$", p);
            int rc = regcomp(&tr->re, whole, REG_EXTENDED | REG_NOSUB);
            free(whole);
            if (rc != 0)
                return cp_error_set(err, CP_EUNPROC, "invalid_pattern", "required_tags.tags[].pattern",
                                    "the pattern for tag %.128s does not compile", json_string_value(key));
            tr->pattern = cp_xstrdup(p);
        }
        tr->key = cp_xstrdup(json_string_value(key));
        g->ntags++;
    }
    return CP_OK;
}

static bool region_known(const char *cloud, const char *region)
{
    return cp_catalog_region_known(cloud, region);
}

static bool size_known(const char *cloud, const char *size)
{
    return cp_catalog_size_known(cloud, size);
}

/* Over 80 lines: one case per rule, each short; split, they would be read apart. */
static cp_result parse_rule(cp_guardrails *g, cp_gr_rule rule, json_t *o, cp_error *err)
{
    const char *name = rule_names[rule];
    static const char *const k_clouds[] = {"level", "clouds"}, *const k_regions[] = {"level", "regions"},
                             *const k_sizes[] = {"level", "sizes"}, *const k_vcpu[] = {"level", "vcpu"},
                             *const k_tags[] = {"level", "tags"}, *const k_cost[] = {"level", "usd"},
                             *const k_level[] = {"level"};
    const char *const *ks = k_level;
    size_t nk = 1;
    switch (rule) {
    case CP_GR_ALLOWED_CLOUDS:
        ks = k_clouds, nk = 2;
        break;
    case CP_GR_ALLOWED_REGIONS:
        ks = k_regions, nk = 2;
        break;
    case CP_GR_ALLOWED_SIZES:
        ks = k_sizes, nk = 2;
        break;
    case CP_GR_MAX_VCPU_PER_RESOURCE:
    case CP_GR_MAX_VCPU_PER_PROJECT:
        ks = k_vcpu, nk = 2;
        break;
    case CP_GR_REQUIRED_TAGS:
        ks = k_tags, nk = 2;
        break;
    case CP_GR_MAX_MONTHLY_COST:
        ks = k_cost, nk = 2;
        break;
    default:
        break;
    }
    cp_result r = keys_only(o, name, ks, nk, err);
    if (r != CP_OK) return r;
    const char *lv = json_string_value(json_object_get(o, "level"));
    int level = -1;
    for (int i = 0; lv && i < CP_GR_LEVEL_COUNT; i++)
        if (!strcmp(level_names[i], lv)) level = i;
    if (level < 0)
        return cp_error_set(err, CP_EINVAL, "bad_request", name, "%s.level must be advisory, soft or hard", name);
    g->has[rule] = true;
    g->level[rule] = (cp_gr_level)level;
    switch (rule) {
    case CP_GR_ALLOWED_CLOUDS: {
        json_t *arr = json_object_get(o, "clouds"), *c;
        size_t i;
        if (!json_is_array(arr) || json_array_size(arr) > CP_ARRAY_LEN(clouds))
            return shape(err, "allowed_clouds.clouds", "must list at most 4 clouds");
        json_array_foreach(arr, i, c)
        {
            int ci = cloud_index(json_string_value(c));
            if (ci < 0 || !nul_free(c))
                return shape(err, "allowed_clouds.clouds", "must hold aws, azure, gcp or sandbox");
            if (g->clouds & (1u << ci)) return shape(err, "allowed_clouds.clouds", "must name each cloud once");
            g->clouds |= 1u << ci;
        }
        return CP_OK;
    }
    case CP_GR_ALLOWED_REGIONS:
        return parse_per_cloud(json_object_get(o, "regions"), "allowed_regions.regions", region_known, "unknown_region",
                               &g->regions, err);
    case CP_GR_ALLOWED_SIZES:
        return parse_per_cloud(json_object_get(o, "sizes"), "allowed_sizes.sizes", size_known, "unknown_size",
                               &g->sizes, err);
    case CP_GR_MAX_VCPU_PER_RESOURCE:
        return parse_vcpu(o, name, 100000, &g->vcpu_resource, err);
    case CP_GR_MAX_VCPU_PER_PROJECT:
        return parse_vcpu(o, name, 1000000, &g->vcpu_project, err);
    case CP_GR_REQUIRED_TAGS:
        return parse_tags(g, json_object_get(o, "tags"), err);
    case CP_GR_MAX_MONTHLY_COST: {
        json_t *v = json_object_get(o, "usd");
        if (!json_is_number(v)) return shape(err, "max_monthly_cost.usd", "must be a number");
        double d = json_number_value(v);
        if (!isfinite(d) || d < 0 || d > 1e9)
            return cp_error_set(err, CP_EUNPROC, "invalid_value", "max_monthly_cost.usd",
                                "max_monthly_cost.usd must be from 0 to 1000000000");
        g->max_cost = d;
        return CP_OK;
    }
    default:
        return CP_OK;
    }
}

cp_result cp_guardrails_parse(json_t *doc, cp_guardrails **out, cp_error *err)
{
    *out = NULL;
    cp_guardrails *g = cp_xcalloc(1, sizeof *g);
    atomic_init(&g->refs, 1);
    cp_result r = CP_OK;
    if (doc && !json_is_null(doc) && !json_is_object(doc)) r = shape(err, "rules", "must be an object");
    if (r == CP_OK && json_is_object(doc)) {
        const char *k;
        json_t *v;
        json_object_foreach(doc, k, v)
        {
            cp_gr_rule rule;
            if (!cp_gr_rule_parse(k, &rule) || rule == CP_GR_PROTECTED) {
                r = cp_error_set(err, CP_EINVAL, "unknown_field", k, "unknown rule '%.64s'", k);
                break;
            }
            if ((r = parse_rule(g, rule, v, err)) != CP_OK) break;
        }
    }
    if (r != CP_OK) {
        cp_guardrails_free(g);
        return r;
    }
    *out = g;
    return CP_OK;
}

cp_guardrails *cp_guardrails_ref(cp_guardrails *g)
{
    if (g) atomic_fetch_add(&g->refs, 1);
    return g;
}

void cp_guardrails_free(cp_guardrails *g)
{
    if (!g || atomic_fetch_sub(&g->refs, 1) != 1) return;
    for (size_t i = 0; i < g->ntags; i++) {
        if (g->tags[i].pattern) regfree(&g->tags[i].re);
        free(g->tags[i].pattern);
        free(g->tags[i].key);
    }
    json_decref(g->regions);
    json_decref(g->sizes);
    free(g);
}

bool cp_guardrails_empty(const cp_guardrails *g)
{
    for (int i = 0; g && i < CP_GR_RULE_COUNT; i++)
        if (g->has[i]) return false;
    return true;
}

bool cp_guardrails_level(const cp_guardrails *g, cp_gr_rule rule, cp_gr_level *level)
{
    if (!g || (unsigned)rule >= CP_GR_RULE_COUNT || !g->has[rule]) return false;
    if (level) *level = g->level[rule];
    return true;
}

/* ---- evaluate ---- */

static json_t *check(cp_gr_rule rule, cp_gr_level level, const char *stage, bool broken, const char *address,
                     const char *msg)
{
    cp_gr_outcome o = !broken ? CP_GR_PASSED : level == CP_GR_ADVISORY ? CP_GR_WARNED : CP_GR_BLOCKED;
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s}", "rule", rule_names[rule], "level", level_names[level], "stage",
                          stage, "outcome", outcome_names[o], "message", msg);
    json_object_set_new(c, "address", address ? json_string(address) : json_null());
    json_object_set_new(c, "reason", json_null());
    json_object_set_new(c, "overridden_by", json_null());
    json_object_set_new(c, "created_at", json_null());
    return c;
}

static bool listed(json_t *arr, const char *v)
{
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) if (v && !strcmp(json_string_value(s), v)) return true;
    return false;
}

/* The checks of the rules on what is ordered; budget only when with_budget.
 * Over 80 lines: one block per rule in the spec's order, each read alone. */
static void eval_order(const cp_guardrails *g, const cp_gr_order *o, const char *stage, bool with_budget, json_t *out)
{
    char m[MSG_MAX];
    const char *cloud = o->cloud ? o->cloud : "";
    bool vm = o->kind && !strcmp(o->kind, "vm");
    json_t *cfg = json_is_object(o->config) ? o->config : NULL;
    if (g->has[CP_GR_ALLOWED_CLOUDS]) {
        int ci = cloud_index(cloud);
        bool ok = ci >= 0 && (g->clouds & (1u << ci));
        snprintf(m, sizeof m, ok ? "cloud %s is allowed" : "cloud %s is not among the allowed clouds (allowed_clouds)",
                 cloud);
        json_array_append_new(out, check(CP_GR_ALLOWED_CLOUDS, g->level[CP_GR_ALLOWED_CLOUDS], stage, !ok, NULL, m));
    }
    if (g->has[CP_GR_ALLOWED_REGIONS]) {
        json_t *arr = json_object_get(g->regions, cloud);
        bool ok = !arr || listed(arr, o->region);
        snprintf(m, sizeof m,
                 !arr ? "region %s: no region rule for %s"
                 : ok ? "region %s is allowed for %s"
                      : "region %s is not among the allowed regions for %s (allowed_regions)",
                 o->region ? o->region : "(none)", cloud);
        json_array_append_new(out, check(CP_GR_ALLOWED_REGIONS, g->level[CP_GR_ALLOWED_REGIONS], stage, !ok, NULL, m));
    }
    if (g->has[CP_GR_ALLOWED_SIZES]) {
        json_t *arr = json_object_get(g->sizes, cloud);
        bool ok = !vm || !arr || listed(arr, o->size);
        snprintf(m, sizeof m,
                 !vm    ? "%s%sstorage has no size"
                 : !arr ? "size %s: no size rule for %s"
                 : ok   ? "size %s is allowed for %s"
                        : "size %s is not among the allowed sizes for %s (allowed_sizes)",
                 vm && o->size ? o->size : "", vm ? cloud : "");
        json_array_append_new(out, check(CP_GR_ALLOWED_SIZES, g->level[CP_GR_ALLOWED_SIZES], stage, !ok, NULL, m));
    }
    int vcpu = vm ? cp_catalog_size_vcpu(cloud, o->kind, o->size) : 0;
    if (g->has[CP_GR_MAX_VCPU_PER_RESOURCE]) {
        bool ok = vcpu <= g->vcpu_resource;
        snprintf(m, sizeof m, "%d vCPUs (%s), the most per resource is %ld%s", vcpu, vm ? o->size : "storage",
                 g->vcpu_resource, ok ? "" : " (max_vcpu_per_resource)");
        json_array_append_new(
            out, check(CP_GR_MAX_VCPU_PER_RESOURCE, g->level[CP_GR_MAX_VCPU_PER_RESOURCE], stage, !ok, NULL, m));
    }
    if (g->has[CP_GR_MAX_VCPU_PER_PROJECT]) {
        long total = o->project_vcpu + vcpu;
        bool ok = total <= g->vcpu_project;
        snprintf(m, sizeof m, "the project's VMs would have %ld vCPUs (%ld and %d of this one), the most is %ld%s",
                 total, o->project_vcpu, vcpu, g->vcpu_project, ok ? "" : " (max_vcpu_per_project)");
        json_array_append_new(
            out, check(CP_GR_MAX_VCPU_PER_PROJECT, g->level[CP_GR_MAX_VCPU_PER_PROJECT], stage, !ok, NULL, m));
    }
    if (g->has[CP_GR_REQUIRED_TAGS]) {
        json_t *tags = json_object_get(cfg, "tags");
        const char *bad = NULL, *why = NULL, *value = NULL;
        for (size_t i = 0; i < g->ntags && !bad; i++) {
            json_t *v = json_object_get(tags, g->tags[i].key);
            value = json_string_value(v);
            if (!value || !*value)
                bad = g->tags[i].key, why = "missing";
            else if (g->tags[i].pattern && regexec(&g->tags[i].re, value, 0, NULL, 0) != 0)
                bad = g->tags[i].key, why = g->tags[i].pattern;
        }
        if (!bad)
            snprintf(m, sizeof m, "every required tag is set (%zu)", g->ntags);
        else if (!strcmp(why, "missing"))
            snprintf(m, sizeof m, "tag %.128s is required and missing (required_tags)", bad);
        else
            snprintf(m, sizeof m, "tag %.128s = \"%.128s\" does not match %.200s (required_tags)", bad, value, why);
        json_array_append_new(out,
                              check(CP_GR_REQUIRED_TAGS, g->level[CP_GR_REQUIRED_TAGS], stage, bad != NULL, NULL, m));
    }
    if (g->has[CP_GR_MAX_MONTHLY_COST]) {
        bool ok = o->monthly_cost_usd <= g->max_cost + 1e-9;
        snprintf(m, sizeof m, "$%.2f a month, the most per resource is $%.2f%s", o->monthly_cost_usd, g->max_cost,
                 ok ? "" : " (max_monthly_cost)");
        json_array_append_new(out,
                              check(CP_GR_MAX_MONTHLY_COST, g->level[CP_GR_MAX_MONTHLY_COST], stage, !ok, NULL, m));
    }
    if (with_budget && g->has[CP_GR_BUDGET]) {
        double total = o->budget_used_usd + o->monthly_cost_usd;
        bool ok = !o->has_budget || total <= o->budget_usd + 1e-9;
        if (!o->has_budget)
            snprintf(m, sizeof m, "the project has no monthly budget");
        else
            snprintf(m, sizeof m, "the project's monthly cost would be $%.2f, its budget is $%.2f%s", total,
                     o->budget_usd, ok ? "" : " (budget)");
        json_array_append_new(out, check(CP_GR_BUDGET, g->level[CP_GR_BUDGET], stage, !ok, NULL, m));
    }
    if (g->has[CP_GR_NO_PUBLIC_BUCKETS]) {
        bool pub = !vm && json_is_true(json_object_get(cfg, "public"));
        snprintf(m, sizeof m,
                 pub ? "the bucket is ordered public (config.public), buckets may not be (no_public_buckets)"
                     : "not public");
        json_array_append_new(out,
                              check(CP_GR_NO_PUBLIC_BUCKETS, g->level[CP_GR_NO_PUBLIC_BUCKETS], stage, pub, NULL, m));
    }
}

json_t *cp_guardrails_eval_order(const cp_guardrails *g, const cp_gr_order *o)
{
    json_t *out = json_array();
    if (g) eval_order(g, o, "order", true, out);
    return out;
}

/* "module.x.sandbox_bucket.this[0]" -> "sandbox_bucket" in buf. */
static const char *type_of(json_t *rc, char *buf, size_t cap)
{
    const char *t = json_string_value(json_object_get(rc, "type"));
    if (t) return t;
    const char *addr = json_string_value(json_object_get(rc, "address"));
    if (!addr) return "";
    const char *p = addr;
    /* The type is the segment before the last: skip "module.<name>." pairs. */
    while (!strncmp(p, "module.", 7) || !strncmp(p, "data.", 5)) {
        const char *dot = strchr(p + (p[0] == 'm' ? 7 : 5), '.');
        if (!dot) break;
        p = dot + 1;
    }
    const char *seg = p, *dot = strchr(seg, '.');
    size_t n = dot ? (size_t)(dot - seg) : strlen(seg);
    if (n >= cap) n = cap - 1;
    memcpy(buf, seg, n);
    buf[n] = '\0';
    return buf;
}

/* The attribute of a planned resource that public_when names opens it. */
static const char *public_attr(json_t *rc, const char *type, json_t *when, json_t **value)
{
    size_t i, j;
    json_t *w, *a;
    json_array_foreach(when, i, w)
    {
        if (strcmp(json_string_value(json_object_get(w, "type")), type) != 0) continue;
        const char *path = json_string_value(json_object_get(w, "path"));
        json_array_foreach(json_object_get(rc, "attributes"), j, a)
        {
            const char *ap = json_string_value(json_object_get(a, "path"));
            json_t *after = json_object_get(a, "after");
            if (ap && path && !strcmp(ap, path) && after && json_equal(after, json_object_get(w, "value"))) {
                *value = after;
                return path;
            }
        }
    }
    return NULL;
}

json_t *cp_guardrails_eval_plan(const cp_guardrails *g, const cp_gr_plan *p)
{
    json_t *out = json_array();
    json_t *res = json_object_get(p->summary, "resources");
    char m[MSG_MAX];
    size_t i;
    json_t *rc;
    if (p->protected_) {
        bool any = false;
        json_array_foreach(res, i, rc)
        {
            const char *act = json_string_value(json_object_get(rc, "action"));
            const char *addr = json_string_value(json_object_get(rc, "address"));
            if (!act || (strcmp(act, "delete") != 0 && strcmp(act, "replace") != 0)) continue;
            any = true;
            snprintf(m, sizeof m, "the plan would %s %s of a protected resource (protected)",
                     !strcmp(act, "delete") ? "destroy" : "replace", addr ? addr : "a resource");
            json_array_append_new(out, check(CP_GR_PROTECTED, CP_GR_HARD, "plan", true, addr, m));
        }
        if (!any)
            json_array_append_new(out, check(CP_GR_PROTECTED, CP_GR_HARD, "plan", false, NULL,
                                             "the plan neither destroys nor replaces the protected resource"));
    }
    if (!g || !p->run) return out;
    eval_order(g, p->run, "plan", false, out);
    if (g->has[CP_GR_NO_PUBLIC_BUCKETS]) {
        json_t *when = cp_catalog_public_when(p->run->cloud, p->run->kind);
        json_array_foreach(res, i, rc)
        {
            const char *act = json_string_value(json_object_get(rc, "action"));
            if (!act || !strcmp(act, "delete")) continue;
            json_t *val = NULL;
            char tbuf[128];
            const char *type = type_of(rc, tbuf, sizeof tbuf);
            const char *path = public_attr(rc, type, when, &val);
            if (!path) continue;
            char *vs = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
            const char *addr = json_string_value(json_object_get(rc, "address"));
            snprintf(m, sizeof m, "%s would be public: %s = %s (no_public_buckets)", addr ? addr : type, path,
                     vs ? vs : "?");
            free(vs);
            json_array_append_new(
                out, check(CP_GR_NO_PUBLIC_BUCKETS, g->level[CP_GR_NO_PUBLIC_BUCKETS], "plan", true, addr, m));
        }
    }
    return out;
}

static cp_gr_outcome outcome_of(json_t *c)
{
    const char *o = json_string_value(json_object_get(c, "outcome"));
    for (int i = 0; o && i < CP_GR_OUTCOME_COUNT; i++)
        if (!strcmp(outcome_names[i], o)) return (cp_gr_outcome)i;
    return CP_GR_BLOCKED;
}

static bool is_hard(json_t *c)
{
    const char *l = json_string_value(json_object_get(c, "level"));
    return !l || !strcmp(l, "hard");
}

void cp_guardrails_verdict(json_t *checks, bool *hard_blocked, bool *soft_blocked)
{
    *hard_blocked = *soft_blocked = false;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        if (outcome_of(c) != CP_GR_BLOCKED) continue;
        if (is_hard(c))
            *hard_blocked = true;
        else
            *soft_blocked = true;
    }
}

_Static_assert(CP_GR_LEVEL_COUNT <= CP_METRICS_SLOTS && CP_GR_OUTCOME_COUNT <= CP_METRICS_SLOTS,
               "levels and outcomes fit the metric's slots");

void cp_guardrails_count(json_t *checks)
{
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        const char *l = json_string_value(json_object_get(c, "level"));
        cp_gr_level level = CP_GR_HARD;
        for (int k = 0; l && k < CP_GR_LEVEL_COUNT; k++)
            if (!strcmp(level_names[k], l)) level = (cp_gr_level)k;
        cp_metrics_inc(guardrail_checks[level][outcome_of(c)]);
    }
}

void cp_guardrails_override(json_t *checks, const char *reason, const char *by, const unsigned *only)
{
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        cp_gr_rule rule;
        if (outcome_of(c) != CP_GR_BLOCKED || is_hard(c)) continue;
        if (only &&
            (!cp_gr_rule_parse(json_string_value(json_object_get(c, "rule")), &rule) || !(*only & (1u << rule))))
            continue;
        json_object_set_new(c, "outcome", json_string(outcome_names[CP_GR_OVERRIDDEN]));
        json_object_set_new(c, "reason", reason ? json_string(reason) : json_null());
        json_object_set_new(c, "overridden_by", by ? json_string(by) : json_null());
    }
}

unsigned cp_guardrails_overridden_rules(json_t *checks)
{
    unsigned bits = 0;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c)
    {
        cp_gr_rule rule;
        if (outcome_of(c) == CP_GR_OVERRIDDEN && cp_gr_rule_parse(json_string_value(json_object_get(c, "rule")), &rule))
            bits |= 1u << rule;
    }
    return bits;
}
