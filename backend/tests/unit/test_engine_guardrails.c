/* Unit tests for engine/guardrails: every rule at every level, passing and
 * breaking, on the order and the plan stage; overrides; parse errors. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/cp.h"
#include "engine/guardrails.h"
#include "engine/guardrails_cache.h"
#include "test.h"

/* An order as the table writes it: NULL / 0 fields take the base's. */
typedef struct {
    const char *cloud, *kind, *region, *size, *config;
    double cost, budget, used;
    long project_vcpu;
} order_spec;

static const order_spec base = {"sandbox", "vm", "sandbox-east-1", "sandbox.small", "{}", 7.3, 0, 0, 0};

static cp_gr_order make_order(const order_spec *s, json_t **cfg)
{
    *cfg = json_loads(s->config ? s->config : base.config, 0, NULL);
    return (cp_gr_order){.cloud = s->cloud ? s->cloud : base.cloud,
                         .kind = s->kind ? s->kind : base.kind,
                         .name = "x1",
                         .region = s->region ? s->region : base.region,
                         .size = s->kind && !strcmp(s->kind, "storage") ? NULL
                                 : s->size                              ? s->size
                                                                        : base.size,
                         .config = *cfg,
                         .monthly_cost_usd = s->cost ? s->cost : base.cost,
                         .has_budget = s->budget > 0,
                         .budget_usd = s->budget,
                         .budget_used_usd = s->used,
                         .project_vcpu = s->project_vcpu};
}

/* One rule: its document (the level is put in), an order it lets through,
 * and one it refuses. */
typedef struct {
    const char *rule;
    const char *doc; /* "{... \"level\": \"LEVEL\" ...}" */
    order_spec pass, breaks;
    const char *message_has; /* the breaking check's message names this */
} rule_case;

static const rule_case cases[] = {
    {"allowed_clouds",
     "{\"allowed_clouds\": {\"level\": \"LEVEL\", \"clouds\": [\"sandbox\", \"aws\"]}}",
     {0},
     {.cloud = "gcp", .region = "us-central1", .size = "e2-micro"},
     "gcp"},
    {"allowed_regions",
     "{\"allowed_regions\": {\"level\": \"LEVEL\", \"regions\": {\"sandbox\": [\"sandbox-east-1\"]}}}",
     {0},
     {.region = "sandbox-eu-1"},
     "sandbox-eu-1"},
    {"allowed_sizes",
     "{\"allowed_sizes\": {\"level\": \"LEVEL\", \"sizes\": {\"sandbox\": [\"sandbox.small\"]}}}",
     {0},
     {.size = "sandbox.large"},
     "sandbox.large"},
    {"max_vcpu_per_resource",
     "{\"max_vcpu_per_resource\": {\"level\": \"LEVEL\", \"vcpu\": 2}}",
     {0},
     {.size = "sandbox.large"},
     "vCPUs"},
    {"max_vcpu_per_project",
     "{\"max_vcpu_per_project\": {\"level\": \"LEVEL\", \"vcpu\": 4}}",
     {.project_vcpu = 3},
     {.project_vcpu = 4},
     "5 vCPUs"},
    {"required_tags",
     "{\"required_tags\": {\"level\": \"LEVEL\", \"tags\": [{\"key\": \"owner\"}, {\"key\": \"cost-center\", "
     "\"pattern\": \"cc-[0-9]{4}\"}]}}",
     {.config = "{\"tags\": {\"owner\": \"ana\", \"cost-center\": \"cc-1234\"}}"},
     {.config = "{\"tags\": {\"owner\": \"ana\", \"cost-center\": \"cc-12345\"}}"},
     "cc-12345"},
    {"max_monthly_cost",
     "{\"max_monthly_cost\": {\"level\": \"LEVEL\", \"usd\": 10}}",
     {.cost = 9.99},
     {.cost = 10.01},
     "$10.01"},
    {"budget",
     "{\"budget\": {\"level\": \"LEVEL\"}}",
     {.budget = 100, .used = 90, .cost = 10},
     {.budget = 100, .used = 95, .cost = 10},
     "$105.00"},
    {"no_public_buckets",
     "{\"no_public_buckets\": {\"level\": \"LEVEL\"}}",
     {.kind = "storage", .config = "{\"public\": false}"},
     {.kind = "storage", .config = "{\"public\": true}"},
     "config.public"},
};

/* doc with its LEVEL put in. */
static void with_level(char *out, size_t cap, const char *doc, const char *level)
{
    const char *at = strstr(doc, "LEVEL");
    snprintf(out, cap, "%.*s%s%s", (int)(at - doc), doc, level, at + 5);
}

static const char *const levels[] = {"advisory", "soft", "hard"};
static const char *const broken_outcome[] = {"warned", "blocked", "blocked"};

static cp_guardrails *parse_text(const char *text, cp_error *err)
{
    json_t *doc = json_loads(text, 0, NULL);
    cp_guardrails *g = NULL;
    cp_error_clear(err);
    if (cp_guardrails_parse(doc, &g, err) != CP_OK) g = NULL;
    json_decref(doc);
    return g;
}

/* The single check of the table's rule in checks; NULL if none. */
static json_t *find_rule(json_t *checks, const char *rule)
{
    size_t i;
    json_t *c, *found = NULL;
    json_array_foreach(checks, i, c) if (!strcmp(json_string_value(json_object_get(c, "rule")), rule))
    {
        if (found) return NULL; /* more than one: the table expects one */
        found = c;
    }
    return found;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

TEST(every_rule_at_every_level_on_the_order)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        for (int l = 0; l < 3; l++) {
            char doc[1024];
            with_level(doc, sizeof doc, cases[i].doc, levels[l]);
            cp_error err;
            cp_guardrails *g = parse_text(doc, &err);
            CHECK(g != NULL);
            if (!g) {
                fprintf(stderr, "  %s: %s\n", cases[i].rule, err.message);
                continue;
            }
            CHECK(!cp_guardrails_empty(g));
            for (int broken = 0; broken < 2; broken++) {
                json_t *cfg;
                cp_gr_order o = make_order(broken ? &cases[i].breaks : &cases[i].pass, &cfg);
                json_t *checks = cp_guardrails_eval_order(g, &o);
                CHECK_EQ(json_array_size(checks), 1);
                json_t *c = find_rule(checks, cases[i].rule);
                CHECK(c != NULL);
                if (c) {
                    CHECK_STR(str(c, "level"), levels[l]);
                    CHECK_STR(str(c, "stage"), "order");
                    CHECK_STR(str(c, "outcome"), broken ? broken_outcome[l] : "passed");
                    CHECK(json_is_null(json_object_get(c, "address")));
                    if (broken && !strstr(str(c, "message"), cases[i].message_has)) {
                        fprintf(stderr, "  %s: message \"%s\" lacks \"%s\"\n", cases[i].rule, str(c, "message"),
                                cases[i].message_has);
                        CHECK(false);
                    }
                    if (broken) CHECK(strstr(str(c, "message"), cases[i].rule) != NULL); /* names the rule */
                }
                bool hard, soft;
                cp_guardrails_verdict(checks, &hard, &soft);
                CHECK_EQ(hard, broken && l == 2);
                CHECK_EQ(soft, broken && l == 1);
                /* An override lets soft rules through, never hard ones. */
                cp_guardrails_override(checks, "needed for the demo", "u1", NULL);
                cp_guardrails_verdict(checks, &hard, &soft);
                CHECK_EQ(hard, broken && l == 2);
                CHECK(!soft);
                if (c && broken && l == 1) {
                    CHECK_STR(str(c, "outcome"), "overridden");
                    CHECK_STR(str(c, "reason"), "needed for the demo");
                    CHECK_STR(str(c, "overridden_by"), "u1");
                    CHECK_EQ(cp_guardrails_overridden_rules(checks), 1u << i);
                }
                json_decref(checks);
                json_decref(cfg);
            }
            cp_guardrails_free(g);
        }
    }
}

/* The plan stage re-checks the params' rules (not the budget) the same way. */
TEST(every_rule_but_budget_at_every_level_on_the_plan)
{
    json_t *summary = json_loads("{\"add\":0,\"change\":1,\"destroy\":0,\"resources\":[{\"address\":"
                                 "\"sandbox_instance.this\",\"action\":\"update\"}]}",
                                 0, NULL);
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        for (int l = 0; l < 3; l++) {
            char doc[1024];
            with_level(doc, sizeof doc, cases[i].doc, levels[l]);
            cp_error err;
            cp_guardrails *g = parse_text(doc, &err);
            CHECK(g != NULL);
            for (int broken = 0; g && broken < 2; broken++) {
                json_t *cfg;
                cp_gr_order o = make_order(broken ? &cases[i].breaks : &cases[i].pass, &cfg);
                cp_gr_plan p = {summary, &o, false};
                json_t *checks = cp_guardrails_eval_plan(g, &p);
                json_t *c = find_rule(checks, cases[i].rule);
                if (!strcmp(cases[i].rule, "budget")) {
                    CHECK(c == NULL);
                } else {
                    CHECK(c != NULL);
                    if (c) {
                        CHECK_STR(str(c, "stage"), "plan");
                        CHECK_STR(str(c, "outcome"), broken ? broken_outcome[l] : "passed");
                    }
                }
                json_decref(checks);
                json_decref(cfg);
            }
            cp_guardrails_free(g);
        }
    }
    json_decref(summary);
}

TEST(protected_blocks_delete_and_replace_always_hard)
{
    const char *actions[] = {"update", "create", "delete", "replace"};
    for (size_t i = 0; i < CP_ARRAY_LEN(actions); i++) {
        json_t *summary = json_pack("{s:i, s:i, s:i, s:[{s:s, s:s}]}", "add", 0, "change", 0, "destroy", 0, "resources",
                                    "address", "sandbox_bucket.this", "action", actions[i]);
        bool breaks = i >= 2;
        /* No rules at all: protection alone. */
        cp_gr_plan p = {summary, NULL, true};
        json_t *checks = cp_guardrails_eval_plan(NULL, &p);
        json_t *c = find_rule(checks, "protected");
        CHECK(c != NULL);
        if (c) {
            CHECK_STR(str(c, "level"), "hard");
            CHECK_STR(str(c, "outcome"), breaks ? "blocked" : "passed");
            if (breaks) CHECK_STR(str(c, "address"), "sandbox_bucket.this");
        }
        bool hard, soft;
        cp_guardrails_verdict(checks, &hard, &soft);
        CHECK_EQ(hard, breaks);
        json_decref(checks);
        /* Not protected: no check. */
        p.protected_ = false;
        checks = cp_guardrails_eval_plan(NULL, &p);
        CHECK_EQ(json_array_size(checks), 0);
        json_decref(checks);
        json_decref(summary);
    }
}

/* no_public_buckets on the planned attributes, per cloud (catalog public_when). */
TEST(no_public_buckets_reads_planned_attributes_per_cloud)
{
    static const struct {
        const char *cloud, *region, *type, *path, *after;
        bool is_public;
    } t[] = {
        {"sandbox", "sandbox-east-1", "sandbox_bucket", "public", "true", true},
        {"sandbox", "sandbox-east-1", "sandbox_bucket", "public", "false", false},
        {"aws", "us-east-1", "aws_s3_bucket_public_access_block", "block_public_policy", "false", true},
        {"aws", "us-east-1", "aws_s3_bucket_public_access_block", "block_public_policy", "true", false},
        {"azure", "eastus", "azurerm_storage_account", "allow_nested_items_to_be_public", "true", true},
        {"azure", "eastus", "azurerm_storage_account", "allow_nested_items_to_be_public", "false", false},
        {"gcp", "us-central1", "google_storage_bucket", "public_access_prevention", "\"inherited\"", true},
        {"gcp", "us-central1", "google_storage_bucket", "public_access_prevention", "\"enforced\"", false},
    };
    for (int l = 0; l < 3; l++) {
        char doc[256];
        with_level(doc, sizeof doc, "{\"no_public_buckets\": {\"level\": \"LEVEL\"}}", levels[l]);
        cp_error err;
        cp_guardrails *g = parse_text(doc, &err);
        CHECK(g != NULL);
        for (size_t i = 0; g && i < CP_ARRAY_LEN(t); i++) {
            char addr[128], sum[1024];
            snprintf(addr, sizeof addr, "%s.this", t[i].type);
            /* Without "type": the evaluator reads it from the address. */
            snprintf(sum, sizeof sum,
                     "{\"add\":1,\"change\":0,\"destroy\":0,\"resources\":[{\"address\":\"%s\",\"action\":"
                     "\"create\",\"attributes\":[{\"path\":\"%s\",\"before\":null,\"after\":%s,\"sensitive\":false,"
                     "\"known\":true}]}]}",
                     addr, t[i].path, t[i].after);
            json_t *summary = json_loads(sum, 0, NULL), *cfg;
            order_spec os = {.cloud = t[i].cloud, .kind = "storage", .region = t[i].region};
            cp_gr_order o = make_order(&os, &cfg);
            cp_gr_plan p = {summary, &o, false};
            json_t *checks = cp_guardrails_eval_plan(g, &p);
            /* One check on the params (not public), one per public resource. */
            size_t n = 0;
            size_t k;
            json_t *c;
            json_array_foreach(checks, k, c)
            {
                if (strcmp(str(c, "rule"), "no_public_buckets") != 0 || !str(c, "address")) continue;
                n++;
                CHECK_STR(str(c, "address"), addr);
                CHECK_STR(str(c, "outcome"), broken_outcome[l]);
                CHECK(strstr(str(c, "message"), t[i].path) != NULL);
            }
            CHECK_EQ(n, t[i].is_public ? 1u : 0u);
            json_decref(checks);
            json_decref(summary);
            json_decref(cfg);
        }
        cp_guardrails_free(g);
    }
}

/* Only the rules overridden at order time are let through at plan time. */
TEST(override_only_named_rules)
{
    cp_error err;
    cp_guardrails *g = parse_text("{\"max_monthly_cost\": {\"level\": \"soft\", \"usd\": 1}, \"allowed_sizes\": "
                                  "{\"level\": \"soft\", \"sizes\": {\"sandbox\": [\"sandbox.medium\"]}}}",
                                  &err);
    CHECK(g != NULL);
    if (!g) return;
    json_t *cfg;
    cp_gr_order o = make_order(&base, &cfg);
    json_t *checks = cp_guardrails_eval_order(g, &o);
    CHECK_EQ(json_array_size(checks), 2);
    unsigned only = 1u << CP_GR_MAX_MONTHLY_COST;
    cp_guardrails_override(checks, "r", "u", &only);
    bool hard, soft;
    cp_guardrails_verdict(checks, &hard, &soft);
    CHECK(!hard);
    CHECK(soft); /* allowed_sizes still blocked */
    CHECK_STR(str(find_rule(checks, "max_monthly_cost"), "outcome"), "overridden");
    CHECK_STR(str(find_rule(checks, "allowed_sizes"), "outcome"), "blocked");
    json_decref(checks);
    json_decref(cfg);
    cp_guardrails_free(g);
}

TEST(no_rules_no_checks)
{
    cp_error err;
    cp_guardrails *g = parse_text("{}", &err);
    CHECK(g != NULL);
    CHECK(cp_guardrails_empty(g));
    json_t *cfg;
    cp_gr_order o = make_order(&base, &cfg);
    json_t *checks = cp_guardrails_eval_order(g, &o);
    CHECK_EQ(json_array_size(checks), 0);
    json_decref(checks);
    json_decref(cfg);
    cp_guardrails_free(g);
    cp_guardrails *none = NULL;
    CHECK_EQ(cp_guardrails_parse(NULL, &none, &err), CP_OK);
    CHECK(cp_guardrails_empty(none));
    cp_guardrails_free(none);
}

TEST(parse_errors)
{
    static const struct {
        const char *doc;
        cp_result result;
        const char *code;
    } t[] = {
        {"[]", CP_EINVAL, NULL},
        {"{\"nope\": {\"level\": \"soft\"}}", CP_EINVAL, "unknown_field"},
        {"{\"protected\": {\"level\": \"hard\"}}", CP_EINVAL, "unknown_field"},
        {"{\"budget\": {\"level\": \"medium\"}}", CP_EINVAL, NULL},
        {"{\"budget\": {}}", CP_EINVAL, "missing_field"},
        {"{\"budget\": {\"level\": \"soft\", \"x\": 1}}", CP_EINVAL, "unknown_field"},
        {"{\"allowed_clouds\": {\"level\": \"soft\", \"clouds\": [\"mars\"]}}", CP_EINVAL, NULL},
        {"{\"allowed_clouds\": {\"level\": \"soft\", \"clouds\": [\"aws\", \"aws\"]}}", CP_EINVAL, NULL},
        {"{\"allowed_regions\": {\"level\": \"soft\", \"regions\": {\"aws\": [\"mars-1\"]}}}", CP_EUNPROC,
         "unknown_region"},
        {"{\"allowed_regions\": {\"level\": \"soft\", \"regions\": {\"moon\": [\"us-east-1\"]}}}", CP_EINVAL,
         "unknown_field"},
        {"{\"allowed_sizes\": {\"level\": \"soft\", \"sizes\": {\"sandbox\": [\"t3.micro\"]}}}", CP_EUNPROC,
         "unknown_size"},
        {"{\"max_vcpu_per_resource\": {\"level\": \"soft\", \"vcpu\": 0}}", CP_EUNPROC, "invalid_value"},
        {"{\"max_vcpu_per_project\": {\"level\": \"soft\", \"vcpu\": \"4\"}}", CP_EINVAL, NULL},
        {"{\"required_tags\": {\"level\": \"soft\", \"tags\": []}}", CP_EINVAL, NULL},
        {"{\"required_tags\": {\"level\": \"soft\", \"tags\": [{\"key\": \"a\", \"pattern\": \"([\"}]}}", CP_EUNPROC,
         "invalid_pattern"},
        {"{\"required_tags\": {\"level\": \"soft\", \"tags\": [{\"key\": \"\"}]}}", CP_EINVAL, NULL},
        {"{\"max_monthly_cost\": {\"level\": \"soft\", \"usd\": -1}}", CP_EUNPROC, "invalid_value"},
        {"{\"max_monthly_cost\": {\"level\": \"soft\", \"usd\": true}}", CP_EINVAL, NULL},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(t); i++) {
        json_t *doc = json_loads(t[i].doc, JSON_DECODE_ANY, NULL);
        cp_guardrails *g = NULL;
        cp_error err;
        cp_error_clear(&err);
        cp_result r = cp_guardrails_parse(doc, &g, &err);
        if (r != t[i].result) fprintf(stderr, "  case %zu (%s): got %d\n", i, t[i].doc, (int)r);
        CHECK_EQ(r, t[i].result);
        CHECK(g == NULL);
        if (t[i].code) CHECK_STR(err.code, t[i].code);
        json_decref(doc);
    }
}

/* Parsed once per stored row: the same row hits; a new updated_at or text
 * (a PUT here or on another instance) parses again; a bad row is not kept. */
TEST(cache_keyed_by_the_stored_row)
{
    cp_gr_cache *c = cp_gr_cache_new();
    const char *soft = "{\"max_monthly_cost\": {\"level\": \"soft\", \"usd\": 5}}";
    const char *hard = "{\"max_monthly_cost\": {\"level\": \"hard\", \"usd\": 5}}";
    cp_guardrails *a, *b, *d;
    cp_error e;
    uint64_t hits, misses;
    cp_gr_level lv;
    CHECK_EQ(cp_gr_cache_get(c, "p1", 10, soft, &a, &e), CP_OK);
    CHECK_EQ(cp_gr_cache_get(c, "p1", 10, soft, &b, &e), CP_OK);
    CHECK(a == b);
    cp_gr_cache_stats(c, &hits, &misses);
    CHECK_EQ(hits, 1);
    CHECK_EQ(misses, 1);
    CHECK_EQ(cp_gr_cache_get(c, "p1", 11, hard, &d, &e), CP_OK);
    CHECK(d != a && cp_guardrails_level(d, CP_GR_MAX_MONTHLY_COST, &lv) && lv == CP_GR_HARD);
    cp_guardrails_free(d);
    CHECK_EQ(cp_gr_cache_get(c, "p1", 11, soft, &d, &e), CP_OK); /* same ms, other text */
    CHECK(cp_guardrails_level(d, CP_GR_MAX_MONTHLY_COST, &lv) && lv == CP_GR_SOFT);
    cp_guardrails_free(d);
    /* The replaced entry is still good for the readers that hold it. */
    CHECK(cp_guardrails_level(a, CP_GR_MAX_MONTHLY_COST, &lv) && lv == CP_GR_SOFT);
    cp_guardrails_free(a);
    cp_guardrails_free(b);
    cp_gr_cache_forget(c, "p1");
    CHECK_EQ(cp_gr_cache_get(c, "p1", 11, soft, &d, &e), CP_OK);
    cp_gr_cache_stats(c, &hits, &misses);
    CHECK_EQ(hits, 1);
    cp_guardrails_free(d);
    CHECK_EQ(cp_gr_cache_get(c, "p2", 1, "{\"budget\": {\"level\": \"loud\"}}", &d, &e), CP_EINVAL);
    CHECK(d == NULL);
    cp_gr_cache_free(c);
}

/* Readers on several threads while the row changes and entries are dropped:
 * each gets the rules of the row it asked for (run under ASan/TSan to see more). */
typedef struct {
    cp_gr_cache *c;
    int id, wrong;
} race_arg;

static void *cache_reader(void *p)
{
    race_arg *ra = p;
    static const char *const docs[] = {"{\"max_monthly_cost\": {\"level\": \"soft\", \"usd\": 5}}",
                                       "{\"max_monthly_cost\": {\"level\": \"hard\", \"usd\": 5}}"};
    for (int i = 0; i < 3000; i++) {
        int v = (i / 7 + ra->id) % 2;
        cp_guardrails *g;
        cp_error e;
        cp_gr_level lv;
        if (cp_gr_cache_get(ra->c, i % 3 ? "p1" : "p2", v, docs[v], &g, &e) != CP_OK) {
            ra->wrong++;
            continue;
        }
        if (!cp_guardrails_level(g, CP_GR_MAX_MONTHLY_COST, &lv) || lv != (v ? CP_GR_HARD : CP_GR_SOFT)) ra->wrong++;
        cp_guardrails_free(g);
        if (ra->id == 0 && i % 50 == 0) cp_gr_cache_forget(ra->c, "p1");
    }
    return NULL;
}

TEST(cache_readers_on_threads)
{
    cp_gr_cache *c = cp_gr_cache_new();
    pthread_t th[4];
    race_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (race_arg){c, i, 0};
        CHECK_EQ(pthread_create(&th[i], NULL, cache_reader, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(args[i].wrong, 0);
    }
    cp_gr_cache_free(c);
}

int main(void)
{
    RUN(every_rule_at_every_level_on_the_order);
    RUN(every_rule_but_budget_at_every_level_on_the_plan);
    RUN(protected_blocks_delete_and_replace_always_hard);
    RUN(no_public_buckets_reads_planned_attributes_per_cloud);
    RUN(override_only_named_rules);
    RUN(no_rules_no_checks);
    RUN(parse_errors);
    RUN(cache_keyed_by_the_stored_row);
    RUN(cache_readers_on_threads);
    TEST_END();
}
