/* cp-engine-run: drives the engine runner outside the server, for the
 * benchmark (bench/run_overhead.sh) and for trying a module by hand.
 *
 *   cp-engine-run [options] cycles N          N x (create + destroy) of a fresh sandbox_vm;
 *                                             prints "cycle I CREATE_MS DESTROY_MS TOTAL_MS"
 *   cp-engine-run [options] apply|destroy RID one run of sandbox_vm resource RID; prints outputs
 *
 * Options: --tofu PATH, --modules DIR (terraform/modules), --data DIR (runs and
 * local state below it), --fast (single apply -auto-approve), --approval
 * (the approval path: plan -out on one handle, then the saved plan's bytes
 * applied by a fresh handle, as a worker does after a person approved),
 * --init-cache (share init under DATA/initcache), --no-bwrap, --size SIZE, -v (events),
 * --s3 (state in the moto S3/DynamoDB of CP_TEST_MOTO_URL, CP_TEST_S3_BUCKET,
 * CP_TEST_DDB_TABLE as scripts/services.sh sets them).
 *
 * The sandbox cloud: SANDBOX_ENDPOINT and SANDBOX_API_KEY from the environment
 * reach the provider (the endpoint as operator env, the key as the run's
 * credential); providers come from CLOUDPLANE_PROVIDER_MIRROR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/json.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/runner.h"
#include "engine/sandbox.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@cloudplane"

static bool verbose, approval;

static void on_event(void *ctx, const cp_tfev *ev)
{
    CP_UNUSED(ctx);
    if (!verbose) return;
    json_t *j = cp_tfev_to_json(ev);
    char *s = json_dumps(j, JSON_COMPACT);
    fprintf(stderr, "%s\n", s);
    free(s);
    json_decref(j);
}

static int usage(void)
{
    fprintf(stderr, "usage: cp-engine-run [--tofu PATH] [--modules DIR] [--data DIR] [--fast] [--init-cache] "
                    "[--approval] [--no-bwrap] [--s3] [--size SIZE] [-v] cycles N | apply RID | destroy RID\n");
    return 2;
}

static char sbx_key[256];
static const char *sbx_env[2];

/* The approval path: plan on one handle; the plan's bytes (kept in the vault
 * by the platform) applied later by another handle, in its own run dir. */
static cp_result approved(const cp_runner_config *cfg, cp_runner_spec *spec, cp_run_op op, json_t **out, cp_error *err)
{
    cp_runner *h = NULL;
    cp_runner_plan_result plan = {0};
    cp_result r = cp_runner_open(cfg, spec, &h, err);
    if (r == CP_OK) r = cp_runner_plan(h, op, &plan, err);
    cp_runner_close(h);
    h = NULL;
    char run_id[CP_ID_LEN + 1];
    cp_id_new(run_id);
    spec->run_id = run_id;
    if (r == CP_OK && plan.changes) r = cp_runner_open(cfg, spec, &h, err);
    if (r == CP_OK && h) r = cp_runner_apply(h, plan.plan, plan.plan_len, op == CP_RUN_DESTROY ? NULL : out, err);
    cp_runner_close(h);
    cp_runner_plan_result_free(&plan);
    return r;
}

static cp_result one(const cp_runner_config *cfg, const char *rid, const char *size, cp_run_op op, json_t **out,
                     cp_error *err)
{
    char run_id[CP_ID_LEN + 1];
    cp_id_new(run_id);
    json_t *c = json_pack("{s:s}", "ssh_public_key", ED25519);
    json_t *tv = cp_catalog_tfvars(rid, "sandbox", "vm", "bench-vm", "sandbox-east-1", size, c, NULL, err);
    json_decref(c);
    if (!tv) return err->result;
    cp_runner_spec spec = {.run_id = run_id,
                           .resource_id = rid,
                           .module = "sandbox_vm",
                           .tfvars = tv,
                           .env = sbx_env,
                           .on_event = on_event};
    cp_result r = approval ? approved(cfg, &spec, op, out, err) : cp_runner_run(cfg, &spec, op, NULL, out, NULL, err);
    json_decref(tv);
    return r;
}

/* Over 80 lines: flag parsing, then each command, read top to bottom. */
int main(int argc, char **argv)
{
    cp_json_init();
    const char *tofu = getenv("CP_TOFU"), *modules = "terraform/modules", *data = "./var/engine-run";
    const char *size = "sandbox.small";
    bool fast = false, cache = false, bwrap = true, s3 = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--fast") == 0)
            fast = true;
        else if (strcmp(argv[i], "--approval") == 0)
            approval = true;
        else if (strcmp(argv[i], "--init-cache") == 0)
            cache = true;
        else if (strcmp(argv[i], "--no-bwrap") == 0)
            bwrap = false;
        else if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (strcmp(argv[i], "--s3") == 0)
            s3 = true;
        else if (i + 1 < argc && strcmp(argv[i], "--tofu") == 0)
            tofu = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--modules") == 0)
            modules = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--data") == 0)
            data = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--size") == 0)
            size = argv[++i];
        else
            return usage();
    }
    if (i + 2 != argc || !tofu) return usage();
    const char *cmd = argv[i], *arg = argv[i + 1];

    char runs[4096], state[4096], initcache[4096];
    snprintf(runs, sizeof runs, "%.4000s/runs", data);
    snprintf(state, sizeof state, "%.4000s/state", data);
    snprintf(initcache, sizeof initcache, "%.4000s/initcache", data);
    cp_runner_config cfg = {.tofu = tofu,
                            .modules_dir = modules,
                            .runs_dir = runs,
                            .use_bwrap = bwrap,
                            .fast_apply = fast,
                            .init_cache_dir = cache ? initcache : NULL,
                            .phase_timeout_s = 600};
    cfg.state.kind = CP_STATE_LOCAL;
    cfg.state.local_dir = state;
    static char sbx_endpoint[4096];
    static const char *extra[2];
    const char *ep = getenv("SANDBOX_ENDPOINT"), *key = getenv("SANDBOX_API_KEY");
    if (ep && *ep) {
        snprintf(sbx_endpoint, sizeof sbx_endpoint, "SANDBOX_ENDPOINT=%.4000s", ep);
        extra[0] = sbx_endpoint;
        cfg.extra_env = extra;
    }
    if (key && *key) {
        snprintf(sbx_key, sizeof sbx_key, "SANDBOX_API_KEY=%.200s", key);
        sbx_env[0] = sbx_key;
    }
    cfg.provider_mirror = getenv("CLOUDPLANE_PROVIDER_MIRROR");
    if (s3) {
        const char *url = getenv("CP_TEST_MOTO_URL");
        if (!url) return usage();
        cfg.state.kind = CP_STATE_S3;
        cfg.state.s3_bucket = getenv("CP_TEST_S3_BUCKET") ? getenv("CP_TEST_S3_BUCKET") : "cloudplane-state";
        cfg.state.s3_dynamodb_table = getenv("CP_TEST_DDB_TABLE") ? getenv("CP_TEST_DDB_TABLE") : "cloudplane-locks";
        cfg.state.s3_key_prefix = "cp-engine-run";
        cfg.state.s3_endpoint = url;
        cfg.state.s3_path_style = true;
        cfg.state.s3_skip_checks = true;
        cfg.state.s3_access_key_id = "test";
        cfg.state.s3_secret_access_key = "test";
    }
    if (fast && approval) return usage();
    fprintf(stderr, "cp-engine-run: %s; fast=%d approval=%d init-cache=%d\n",
            bwrap ? cp_sandbox_describe() : "bwrap off", fast, approval, cache);

    cp_error err;
    if (strcmp(cmd, "cycles") == 0) {
        char *end;
        errno = 0;
        long n = strtol(arg, &end, 10);
        if (errno || *end || n < 1 || n > 1000) return usage();
        for (long c = 1; c <= n; c++) {
            char rid[CP_ID_LEN + 1];
            cp_id_new(rid);
            int64_t t0 = cp_mono_ms();
            if (one(&cfg, rid, size, CP_RUN_APPLY, NULL, &err) != CP_OK) {
                fprintf(stderr, "create failed: %s\n", err.message);
                return 1;
            }
            int64_t t1 = cp_mono_ms();
            if (one(&cfg, rid, size, CP_RUN_DESTROY, NULL, &err) != CP_OK) {
                fprintf(stderr, "destroy failed: %s\n", err.message);
                return 1;
            }
            int64_t t2 = cp_mono_ms();
            printf("cycle %ld %lld %lld %lld\n", c, (long long)(t1 - t0), (long long)(t2 - t1), (long long)(t2 - t0));
            fflush(stdout);
        }
        return 0;
    }
    cp_run_op op;
    if (strcmp(cmd, "apply") == 0)
        op = CP_RUN_APPLY;
    else if (strcmp(cmd, "destroy") == 0)
        op = CP_RUN_DESTROY;
    else
        return usage();
    json_t *out = NULL;
    if (one(&cfg, arg, size, op, &out, &err) != CP_OK) {
        fprintf(stderr, "%s failed: %s\n", cmd, err.message);
        return 1;
    }
    char *s = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("%s\n", s);
    free(s);
    json_decref(out);
    return 0;
}
