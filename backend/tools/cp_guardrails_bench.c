/* cp-guardrails-bench: the time to evaluate a project's guardrails, every
 * rule on, per order and per plan, over N distinct inputs (for
 * bench/guardrails_eval.sh). Each order does what the API does for one:
 * parse the stored rules (patterns compiled), evaluate, serialise the checks.
 * Each plan does what the worker does: evaluate a plan summary with
 * attributes and serialise. Prints one line per stage: p50, p99, mean. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/cp.h"
#include "engine/guardrails.h"
#include "engine/guardrails_cache.h"

static const char *const RULES =
    "{\"allowed_clouds\": {\"level\": \"hard\", \"clouds\": [\"aws\", \"gcp\", \"sandbox\"]},"
    " \"allowed_regions\": {\"level\": \"soft\", \"regions\": {\"aws\": [\"us-east-1\", \"eu-west-1\"],"
    " \"sandbox\": [\"sandbox-east-1\", \"sandbox-eu-1\"]}},"
    " \"allowed_sizes\": {\"level\": \"hard\", \"sizes\": {\"aws\": [\"t3.micro\", \"t3.small\"],"
    " \"sandbox\": [\"sandbox.small\", \"sandbox.medium\"]}},"
    " \"max_vcpu_per_resource\": {\"level\": \"advisory\", \"vcpu\": 2},"
    " \"max_vcpu_per_project\": {\"level\": \"soft\", \"vcpu\": 64},"
    " \"required_tags\": {\"level\": \"hard\", \"tags\": [{\"key\": \"owner\", \"pattern\": \"[a-z]+\"},"
    " {\"key\": \"cost-center\", \"pattern\": \"cc-[0-9]{4}\"}, {\"key\": \"env\", \"pattern\": \"dev|test|prod\"}]},"
    " \"max_monthly_cost\": {\"level\": \"soft\", \"usd\": 50},"
    " \"budget\": {\"level\": \"soft\"},"
    " \"no_public_buckets\": {\"level\": \"hard\"}}";

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++) sum += t[i];
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%s: n=%d p50=%.1f us p99=%.1f us mean=%.1f us\n", what, n, t[n / 2] / 1e3, t[(int)(n * 0.99)] / 1e3,
           sum / n / 1e3);
}

/* Over 80 lines: the inputs, then the two timed loops, read in order. */
int main(int argc, char **argv)
{
    long arg = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    int n = arg < 100 ? 100 : arg > 10000000 ? 10000000 : (int)arg;
    static const char *const clouds[] = {"aws", "sandbox", "gcp"};
    static const char *const regions[][2] = {
        {"us-east-1", "eu-central-1"}, {"sandbox-east-1", "sandbox-west-1"}, {"us-central1", "europe-west1"}};
    static const char *const sizes[][3] = {{"t3.micro", "t3.small", "t3.large"},
                                           {"sandbox.small", "sandbox.medium", "sandbox.large"},
                                           {"e2-micro", "e2-small", "e2-medium"}};
    json_t **orders = malloc(sizeof *orders * (size_t)n);
    json_t **plans = malloc(sizeof *plans * (size_t)n);
    double *t = malloc(sizeof *t * (size_t)n);
    /* Distinct inputs, made before timing. */
    for (int i = 0; i < n; i++) {
        int c = i % 3;
        bool storage = i % 5 == 0;
        char owner[32], cc[32];
        snprintf(owner, sizeof owner, i % 7 ? "team%c" : "Team%d", 'a' + i % 26);
        snprintf(cc, sizeof cc, "cc-%04d", i % 13 ? i % 10000 : i % 100);
        json_t *tags = json_pack("{s:s, s:s, s:s}", "owner", owner, "cost-center", cc, "env",
                                 i % 3 == 0   ? "prod"
                                 : i % 3 == 1 ? "dev"
                                              : "stage");
        json_t *cfg = json_pack("{s:o, s:b}", "tags", tags, "public", storage && i % 2);
        orders[i] = json_pack("{s:s, s:s, s:s, s:s, s:o, s:f, s:i}", "cloud", clouds[c], "kind",
                              storage ? "storage" : "vm", "region", regions[c][i % 2], "size", sizes[c][i % 3],
                              "config", cfg, "cost", 5.0 + (i % 97), "vcpu", i % 70);
        char addr[64];
        snprintf(addr, sizeof addr, "sandbox_bucket.b%d", i);
        plans[i] = json_pack("{s:i, s:i, s:i, s:[{s:s, s:s, s:s, s:[{s:s, s:n, s:b, s:b, s:b}, {s:s, s:n, s:s, "
                             "s:b, s:b}]}]}",
                             "add", 1, "change", 0, "destroy", 1, "resources", "address", addr, "action",
                             i % 4 ? "update" : "replace", "type", "sandbox_bucket", "attributes", "path", "public",
                             "before", "after", i % 2, "sensitive", 0, "known", 1, "path", "tags.owner", "before",
                             "after", owner, "sensitive", 0, "known", 1);
    }
    json_t *doc = json_loads(RULES, 0, NULL);
    char *stored = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    size_t blocked = 0;
    for (int i = 0; i < n; i++) {
        json_t *o = orders[i];
        double t0 = now_ns();
        /* What the API does per order: the stored rules are parsed again. */
        json_t *d = json_loads(stored, 0, NULL);
        cp_guardrails *g;
        cp_error err;
        if (cp_guardrails_parse(d, &g, &err) != CP_OK) {
            fprintf(stderr, "rules: %s\n", err.message);
            return 1;
        }
        json_decref(d);
        cp_gr_order go = {.cloud = json_string_value(json_object_get(o, "cloud")),
                          .kind = json_string_value(json_object_get(o, "kind")),
                          .name = "x",
                          .region = json_string_value(json_object_get(o, "region")),
                          .size = json_string_value(json_object_get(o, "size")),
                          .config = json_object_get(o, "config"),
                          .monthly_cost_usd = json_real_value(json_object_get(o, "cost")),
                          .has_budget = true,
                          .budget_usd = 1000,
                          .budget_used_usd = 900,
                          .project_vcpu = (long)json_integer_value(json_object_get(o, "vcpu"))};
        json_t *checks = cp_guardrails_eval_order(g, &go);
        bool hard, soft;
        cp_guardrails_verdict(checks, &hard, &soft);
        char *text = json_dumps(checks, JSON_COMPACT);
        t[i] = now_ns() - t0;
        blocked += hard || soft;
        free(text);
        json_decref(checks);
        cp_guardrails_free(g);
    }
    printf("orders blocked: %zu of %d\n", blocked, n);
    report("order (parse rules + evaluate + serialise)", t, n);

    /* What the API does now: the rules parsed once per stored row (the cache). */
    cp_gr_cache *cache = cp_gr_cache_new();
    for (int i = 0; i < n; i++) {
        json_t *o = orders[i];
        double t0 = now_ns();
        cp_guardrails *g;
        cp_error err;
        if (cp_gr_cache_get(cache, "01hzproject0000000000000000", 1700000000000, stored, &g, &err) != CP_OK) return 1;
        cp_gr_order go = {.cloud = json_string_value(json_object_get(o, "cloud")),
                          .kind = json_string_value(json_object_get(o, "kind")),
                          .name = "x",
                          .region = json_string_value(json_object_get(o, "region")),
                          .size = json_string_value(json_object_get(o, "size")),
                          .config = json_object_get(o, "config"),
                          .monthly_cost_usd = json_real_value(json_object_get(o, "cost")),
                          .has_budget = true,
                          .budget_usd = 1000,
                          .budget_used_usd = 900,
                          .project_vcpu = (long)json_integer_value(json_object_get(o, "vcpu"))};
        json_t *checks = cp_guardrails_eval_order(g, &go);
        char *text = json_dumps(checks, JSON_COMPACT);
        t[i] = now_ns() - t0;
        free(text);
        json_decref(checks);
        cp_guardrails_free(g);
    }
    cp_gr_cache_free(cache);
    report("order cached (rules from the cache + evaluate + serialise)", t, n);

    json_t *d = json_loads(stored, 0, NULL);
    cp_guardrails *g;
    cp_error err;
    if (cp_guardrails_parse(d, &g, &err) != CP_OK) return 1;
    json_decref(d);
    for (int i = 0; i < n; i++) {
        json_t *o = orders[i];
        cp_gr_order go = {.cloud = "sandbox",
                          .kind = "storage",
                          .name = "x",
                          .region = json_string_value(json_object_get(o, "region")),
                          .size = NULL,
                          .config = json_object_get(o, "config"),
                          .monthly_cost_usd = json_real_value(json_object_get(o, "cost")),
                          .project_vcpu = (long)json_integer_value(json_object_get(o, "vcpu"))};
        double t0 = now_ns();
        cp_gr_plan p = {plans[i], &go, i % 2 == 0};
        json_t *checks = cp_guardrails_eval_plan(g, &p);
        char *text = json_dumps(checks, JSON_COMPACT);
        t[i] = now_ns() - t0;
        free(text);
        json_decref(checks);
    }
    report("plan (evaluate + serialise; rules parsed once per run)", t, n);
    cp_guardrails_free(g);
    for (int i = 0; i < n; i++) json_decref(orders[i]), json_decref(plans[i]);
    free(orders);
    free(plans);
    free(t);
    free(stored);
    return 0;
}
