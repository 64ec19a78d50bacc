/* Engine runner against real OpenTofu on the sandbox modules (local state):
 * lifecycle, fast path, validation before spawn, redaction, cancel, timeout,
 * locking, bubblewrap. Without tofu, only the validation case runs; the others
 * are reported as skipped (exit 77 from test.h when nothing ran). */
#include <dirent.h>
#include <signal.h>

#include "core/secretfile.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/proc.h"
#include "engine/sandbox.h"
#include "test.h"
#include "test_engine_util.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@cloudplane"

static json_t *vm_tfvars(const char *rid, const char *size, int simulate_seconds)
{
    json_t *cfg = json_pack("{s:s,s:[s],s:i}", "ssh_public_key", ED25519, "allowed_cidrs", "203.0.113.0/24",
                            "simulate_seconds", simulate_seconds);
    cp_error e;
    json_t *tv = cp_catalog_tfvars(rid, "sandbox", "vm", "web-1", "sandbox-east-1", size, cfg, NULL, &e);
    if (!tv) fprintf(stderr, "  tfvars: %s\n", e.message);
    json_decref(cfg);
    return tv;
}

static bool octet_ok(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return end != s && *end == '\0' && v >= 1 && v <= 254;
}

static cp_runner_spec spec_for(const char *run_id, const char *rid, const char *module, json_t *tfvars, eu_events *ev)
{
    cp_runner_spec s = {.run_id = run_id,
                        .resource_id = rid,
                        .module = module,
                        .tfvars = tfvars,
                        .env = eu_sandbox_env(),
                        .on_event = ev ? eu_on_event : NULL,
                        .ctx = ev};
    return s;
}

/* Resources in the resource's local state file (-1 if unreadable). */
static int state_resources(const char *rid)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/state/%s/terraform.tfstate", eu_tmp, rid);
    char *text = eu_read(path);
    if (!text) return -1;
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    int n = j ? (int)json_array_size(json_object_get(j, "resources")) : -1;
    json_decref(j);
    return n;
}

static bool runs_dir_empty(void)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/runs", eu_tmp);
    DIR *d = opendir(path);
    if (!d) return true;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    return n == 0;
}

static cp_result destroy(const cp_runner_config *cfg, const char *rid, json_t *tfvars, cp_error *e)
{
    char run_id[CP_ID_LEN + 1];
    eu_new_id(run_id);
    cp_runner_spec s = spec_for(run_id, rid, "sandbox_vm", tfvars, NULL);
    return cp_runner_run(cfg, &s, CP_RUN_DESTROY, NULL, NULL, NULL, e);
}

TEST(vm_lifecycle_saved_plan_path)
{
    cp_runner_config cfg = eu_config();
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    json_t *tv = vm_tfvars(rid, "sandbox.small", 0);
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = spec_for(run_id, rid, "sandbox_vm", tv, &ev);
    json_t *summary = NULL, *out = NULL;
    char lock_id[37];
    cp_error e;
    cp_result r = cp_runner_run(&cfg, &s, CP_RUN_APPLY, &summary, &out, lock_id, &e);
    if (r != CP_OK) fprintf(stderr, "  create: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    CHECK(summary && json_integer_value(json_object_get(summary, "add")) == 1);
    CHECK(summary && json_is_true(json_object_get(summary, "changes")));
    const char *id = json_string_value(json_object_get(out, "id"));
    const char *pub = json_string_value(json_object_get(out, "public_ip"));
    const char *priv = json_string_value(json_object_get(out, "private_ip"));
    CHECK(id && strncmp(id, "sbx-i-", 6) == 0);
    CHECK(pub && strncmp(pub, "203.0.113.", 10) == 0 && octet_ok(pub + 10));
    CHECK(priv && strncmp(priv, "10.", 3) == 0);
    CHECK(eu_count(&ev, "planned_change") >= 1);
    CHECK(eu_count(&ev, "apply_start") >= 1);
    CHECK(eu_count(&ev, "apply_complete") >= 1);
    CHECK(eu_count(&ev, "change_summary") >= 2);
    CHECK(eu_count(&ev, "phase_start") ==
          3); /* init, plan, apply: no show (the summary is the plan stream's); outputs came with the apply stream */
    CHECK(eu_count(&ev, "outputs") >= 1);
    CHECK(runs_dir_empty());
    CHECK_EQ(state_resources(rid), 1);
    char saved_id[64];
    snprintf(saved_id, sizeof saved_id, "%s", id ? id : "");
    json_decref(summary);
    json_decref(out);

    /* A second plan sees nothing to do. */
    cp_runner *h;
    eu_new_id(run_id);
    s = spec_for(run_id, rid, "sandbox_vm", tv, NULL);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_OK);
    cp_runner_plan_result plan;
    CHECK_EQ(cp_runner_plan(h, CP_RUN_APPLY, &plan, &e), CP_OK);
    CHECK(!plan.changes);
    CHECK_EQ(json_integer_value(json_object_get(plan.summary, "add")), 0);
    CHECK_EQ(json_array_size(json_object_get(plan.summary, "resources")), 0u);
    cp_runner_plan_result_free(&plan);
    cp_runner_close(h);

    /* Resize plans as an in-place update; it is applied from its bytes by another handle. */
    json_t *big = vm_tfvars(rid, "sandbox.large", 0);
    eu_new_id(run_id);
    s = spec_for(run_id, rid, "sandbox_vm", big, NULL);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_OK);
    CHECK_EQ(cp_runner_plan(h, CP_RUN_APPLY, &plan, &e), CP_OK);
    CHECK(plan.changes);
    CHECK(plan.plan && plan.plan_len > 100);
    CHECK_EQ(json_integer_value(json_object_get(plan.summary, "change")), 1);
    CHECK_EQ(json_integer_value(json_object_get(plan.summary, "add")), 0);
    CHECK_EQ(json_integer_value(json_object_get(plan.summary, "destroy")), 0);
    json_t *res0 = json_array_get(json_object_get(plan.summary, "resources"), 0);
    CHECK_STR(json_string_value(json_object_get(res0, "address")), "sandbox_instance.this");
    CHECK_STR(json_string_value(json_object_get(res0, "action")), "update");
    CHECK(json_object_get(res0, "attributes") == NULL); /* the stream alone: no show */
    /* show -json adds what the resize does: size small -> large, nothing else. */
    CHECK_EQ(cp_runner_plan_detail(h, &plan, &e), CP_OK);
    json_t *attrs = json_object_get(res0, "attributes");
    CHECK_STR(json_string_value(json_object_get(res0, "type")), "sandbox_instance");
    CHECK_EQ(json_array_size(attrs), 1u);
    CHECK_STR(json_string_value(json_object_get(json_array_get(attrs, 0), "path")), "size");
    CHECK_STR(json_string_value(json_object_get(json_array_get(attrs, 0), "before")), "sandbox.small");
    CHECK_STR(json_string_value(json_object_get(json_array_get(attrs, 0), "after")), "sandbox.large");
    CHECK_EQ(json_integer_value(json_object_get(plan.summary, "change")), 1);
    cp_runner_close(h);

    cp_runner *h2;
    eu_new_id(run_id);
    s = spec_for(run_id, rid, "sandbox_vm", big, NULL);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h2, &e), CP_OK);
    r = cp_runner_apply(h2, plan.plan, plan.plan_len, &out, &e);
    if (r != CP_OK) fprintf(stderr, "  apply saved plan: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    CHECK_STR(json_string_value(json_object_get(out, "id")), saved_id); /* updated, not replaced */
    json_decref(out);
    cp_runner_close(h2);
    cp_runner_plan_result_free(&plan);

    /* Destroy leaves an empty state. */
    r = destroy(&cfg, rid, big, &e);
    if (r != CP_OK) fprintf(stderr, "  destroy: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    CHECK_EQ(state_resources(rid), 0);
    CHECK(runs_dir_empty());
    json_decref(big);
    json_decref(tv);
    eu_events_free(&ev);
}

TEST(storage_fast_path_with_shared_init)
{
    cp_runner_config cfg = eu_config();
    char cache[PATH_MAX];
    snprintf(cache, sizeof cache, "%s/initcache", eu_tmp);
    cfg.init_cache_dir = cache;
    cfg.fast_apply = true;
    json_t *cfgj = json_pack("{s:i}", "expected_gb", 10);
    for (int round = 0; round < 2; round++) {
        char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
        eu_new_id(rid);
        eu_new_id(run_id);
        cp_error e;
        json_t *tv = cp_catalog_tfvars(rid, "sandbox", "storage", "my-bucket", "sandbox-west-1", NULL, cfgj, NULL, &e);
        eu_events ev;
        eu_events_init(&ev);
        cp_runner_spec s = spec_for(run_id, rid, "sandbox_storage", tv, &ev);
        json_t *out = NULL;
        cp_result r = cp_runner_run(&cfg, &s, CP_RUN_APPLY, NULL, &out, NULL, &e);
        if (r != CP_OK) fprintf(stderr, "  create: %s\n", e.message);
        CHECK_EQ(r, CP_OK);
        CHECK_STR(json_string_value(json_object_get(out, "url")), "sandbox://my-bucket");
        CHECK_STR(json_string_value(json_object_get(out, "name")), "my-bucket");
        /* One tofu process for the whole create once the init is shared. */
        CHECK_EQ(eu_count(&ev, "phase_start"), round == 0 ? 2u : 1u);
        CHECK(eu_count(&ev, "planned_change") >= 1 && eu_count(&ev, "apply_complete") >= 1);
        CHECK(eu_contains(&ev, "using the shared init"));
        CHECK_EQ(state_resources(rid), 1);
        json_decref(out);
        eu_new_id(run_id);
        s = spec_for(run_id, rid, "sandbox_storage", tv, NULL);
        r = cp_runner_run(&cfg, &s, CP_RUN_DESTROY, NULL, &out, NULL, &e);
        if (r != CP_OK) fprintf(stderr, "  destroy: %s\n", e.message);
        CHECK_EQ(r, CP_OK);
        CHECK(out && json_object_size(out) == 0);
        CHECK_EQ(state_resources(rid), 0);
        json_decref(out);
        json_decref(tv);
        eu_events_free(&ev);
    }
    json_decref(cfgj);
    CHECK(runs_dir_empty());
}

static bool have_tofu;

TEST(validation_rejects_before_any_process)
{
    uint64_t before = cp_proc_spawned();
    cp_error e;
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    json_t *cfgj = json_pack("{s:s}", "ssh_public_key", ED25519);
    CHECK(cp_catalog_tfvars(rid, "sandbox", "vm", "Bad_Name", "sandbox-east-1", "sandbox.small", cfgj, NULL, &e) ==
          NULL);
    CHECK_STR(e.field, "name");
    CHECK(cp_catalog_tfvars(rid, "sandbox", "vm", "web-1", "mars-1", "sandbox.small", cfgj, NULL, &e) == NULL);
    CHECK_STR(e.field, "region");
    CHECK(cp_catalog_tfvars(rid, "sandbox", "vm", "web-1", "sandbox-east-1", "huge", cfgj, NULL, &e) == NULL);
    CHECK_STR(e.field, "size");

    /* The runner itself refuses what is not a catalog module, platform ids or credential names. */
    cp_runner_config cfg = eu_config();
    /* Nothing is spawned here, so without tofu any executable stands in for it. */
    if (!have_tofu) cfg.tofu = "/bin/true";
    json_t *tv = vm_tfvars(rid, "sandbox.small", 0);
    cp_runner *h = NULL;
    cp_runner_spec s = spec_for(run_id, rid, "../../etc", tv, NULL);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_EINVAL);
    s = spec_for("../x", rid, "sandbox_vm", tv, NULL);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_EINVAL);
    const char *bad_env[] = {"TF_LOG=trace", NULL};
    s = spec_for(run_id, rid, "sandbox_vm", tv, NULL);
    s.env = bad_env;
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_EINVAL);
    CHECK(strstr(e.message, "TF_LOG") != NULL);
    const char *bad_env2[] = {"LD_PRELOAD=/tmp/x.so", NULL};
    s.env = bad_env2;
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_EINVAL);
    /* A missing binary is reported as such, before anything runs. */
    s.env = NULL;
    cfg.tofu = "/nonexistent/tofu";
    CHECK(cp_runner_open(&cfg, &s, &h, &e) != CP_OK);
    CHECK(h == NULL);
    CHECK_EQ(cp_proc_spawned(), before);
    CHECK(runs_dir_empty());
    json_decref(tv);
    json_decref(cfgj);
}

/* Without bubblewrap a real cloud's run refuses to start, unless the operator
 * opted out by the setting that says it is insecure; the sandbox cloud may go. */
TEST(real_cloud_runs_need_the_sandbox)
{
    uint64_t before = cp_proc_spawned();
    cp_error e;
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    cp_runner_config cfg = eu_config();
    if (!have_tofu) cfg.tofu = "/bin/true"; /* nothing is spawned */
    cfg.use_bwrap = false;
    cp_runner *h = NULL;
    cp_runner_spec s = spec_for(run_id, rid, "aws_vm", NULL, NULL);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "sandbox_required");
    CHECK(strstr(e.message, "CLOUDPLANE_INSECURE_NO_SANDBOX") != NULL);
    CHECK(h == NULL);
    cfg.insecure_no_sandbox = true;
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_OK);
    cp_runner_close(h);
    cfg.insecure_no_sandbox = false;
    s = spec_for(run_id, rid, "sandbox_vm", NULL, NULL);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_OK);
    cp_runner_close(h);
    CHECK_EQ(cp_proc_spawned(), before);
    CHECK(runs_dir_empty());
}

/* A module that echoes its credentials: only the env carries them. */
static const char LEAKY_MODULE[] =
    "variable \"resource_id\" {\n  type = string\n}\n"
    "resource \"terraform_data\" \"leak\" {\n"
    "  input = var.resource_id\n"
    "  provisioner \"local-exec\" {\n"
    "    command = \"echo raw=$ARM_CLIENT_SECRET; printf %s \\\"$ARM_CLIENT_SECRET\\\" | base64; "
    "echo \\\"$GOOGLE_CREDENTIALS\\\"; echo host=$(cat /proc/sys/kernel/hostname); "
    "echo trace=$CLOUDPLANE_REQUEST_ID\"\n"
    "  }\n"
    "}\n"
    "output \"greeting\" {\n  value = \"hello\"\n}\n"
    "output \"hidden\" {\n  value     = \"not-for-users\"\n  sensitive = true\n}\n";

#define SECRET "Zx9-very-secret-client-value-42"
#define SA_JSON                                                                                                        \
    "{\n  \"type\": \"service_account\",\n  \"private_key\": \"-----BEGIN PRIVATE "                                    \
    "KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEF\\n"                                                                       \
    "-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"deployer@cloudplane-test.iam.gserviceaccount.com\"\n}"

TEST(credentials_never_leave_the_child_env)
{
    char modules[PATH_MAX], dir[PATH_MAX + 16];
    snprintf(modules, sizeof modules, "%s/leaky-modules", eu_tmp);
    snprintf(dir, sizeof dir, "%s/sandbox_vm", modules);
    CHECK_EQ(cp_mkdirs(dir, 0700, NULL), CP_OK);
    CHECK_EQ(cp_workspace_write(dir, "main.tf", LEAKY_MODULE, strlen(LEAKY_MODULE), NULL), CP_OK);
    cp_runner_config cfg = eu_config();
    cfg.modules_dir = modules;
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    json_t *tv = json_pack("{s:s}", "resource_id", rid);
    const char *env[] = {"ARM_CLIENT_SECRET=" SECRET, "GOOGLE_CREDENTIALS=" SA_JSON, NULL};
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = spec_for(run_id, rid, "sandbox_vm", tv, &ev);
    s.env = env;
    s.request_id = "ui-7f3a:order.1";
    json_t *out = NULL;
    cp_error e;
    cp_result r = cp_runner_run(&cfg, &s, CP_RUN_APPLY, NULL, &out, NULL, &e);
    if (r != CP_OK) fprintf(stderr, "  run: %s\n", e.message);
    CHECK_EQ(r, CP_OK);

    /* The module did print them (the mask shows where), and none survived. */
    CHECK(eu_contains(&ev, "raw=***"));
    /* The order's trace id reaches what tofu runs. */
    CHECK(eu_contains(&ev, "trace=ui-7f3a:order.1"));
    char b64[128];
    /* base64("Zx9-very-secret-client-value-42"), computed independently. */
    snprintf(b64, sizeof b64, "%s", "Wng5LXZlcnktc2VjcmV0LWNsaWVudC12YWx1ZS00Mg");
    char *all = eu_dump(&ev);
    CHECK(strstr(all, SECRET) == NULL);
    CHECK(strstr(all, b64) == NULL);
    CHECK(strstr(all, "MIIEvQIBADANBgkqhkiG9w0BAQEF") == NULL);
    CHECK(strstr(all, "deployer@cloudplane-test") == NULL);
    free(all);
    /* Outputs: plain ones as they are, sensitive ones masked. */
    CHECK_STR(json_string_value(json_object_get(out, "greeting")), "hello");
    CHECK_STR(json_string_value(json_object_get(out, "hidden")), "***");
    json_decref(out);
    /* bubblewrap: the provisioner ran in a sandbox named after the run. */
    if (cp_sandbox_available()) {
        char host[64];
        snprintf(host, sizeof host, "host=cp-%s", run_id);
        CHECK(eu_contains(&ev, host));
        CHECK(eu_contains(&ev, "(bubblewrap)"));
    }
    /* Nothing left on disk: the run dir is gone and the state holds no credential. */
    CHECK(runs_dir_empty());
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/state/%s/terraform.tfstate", eu_tmp, rid);
    CHECK(eu_exists(path));
    char *state = eu_read(path);
    CHECK(state != NULL);
    CHECK(state && strstr(state, SECRET) == NULL && strstr(state, b64) == NULL && strstr(state, "MIIEvQ") == NULL);
    free(state);
    json_decref(tv);
    eu_events_free(&ev);
}

TEST(bwrap_is_used_when_present)
{
    fprintf(stderr, "  %s\n", cp_sandbox_describe());
    cp_runner_config cfg = eu_config();
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    json_t *tv = vm_tfvars(rid, "sandbox.small", 0);
    cp_runner_spec s = spec_for(run_id, rid, "sandbox_vm", tv, NULL);
    cp_runner *h;
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_OK);
    CHECK_EQ(cp_runner_sandboxed(h), cp_sandbox_available());
    cp_runner_close(h);
    /* And a run with it switched off still works. */
    cfg.use_bwrap = false;
    eu_new_id(run_id);
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_OK);
    CHECK(!cp_runner_sandboxed(h));
    json_t *out = NULL;
    CHECK_EQ(cp_runner_apply_auto(h, CP_RUN_APPLY, &out, &e), CP_OK);
    CHECK_STR(cp_runner_tofu_version(h), CP_TOFU_VERSION);
    cp_runner_close(h);
    json_decref(out);
    CHECK_EQ(destroy(&cfg, rid, tv, &e), CP_OK);
    json_decref(tv);
}

/* ---- a run on another thread, for cancel and lock tests */
typedef struct {
    const cp_runner_config *cfg;
    cp_runner *h;
    cp_result rc;
    cp_error err;
    int64_t ms;
} bg_apply;

static void *bg_apply_main(void *p)
{
    bg_apply *b = p;
    int64_t t0 = cp_mono_ms();
    json_t *out = NULL;
    b->rc = cp_runner_apply_auto(b->h, CP_RUN_APPLY, &out, &b->err);
    json_decref(out);
    b->ms = cp_mono_ms() - t0;
    return NULL;
}

/* Waits until the run holds its lock (its lock event) or ms pass. */
static bool wait_lock(eu_events *ev, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        pthread_mutex_lock(&ev->mu);
        bool ok = ev->locked;
        pthread_mutex_unlock(&ev->mu);
        if (ok) return true;
        eu_sleep_ms(50);
    }
    return false;
}

TEST(cancel_during_apply)
{
    cp_runner_config cfg = eu_config();
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    json_t *slow = vm_tfvars(rid, "sandbox.small", 30);
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = spec_for(run_id, rid, "sandbox_vm", slow, &ev);
    bg_apply b = {.cfg = &cfg};
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &s, &b.h, &e), CP_OK);
    pthread_t t;
    pthread_create(&t, NULL, bg_apply_main, &b);
    CHECK(wait_lock(&ev, 15000));
    eu_sleep_ms(2000);
    int64_t t0 = cp_mono_ms();
    cp_runner_cancel(b.h);
    pthread_join(t, NULL);
    int64_t stop_ms = cp_mono_ms() - t0;
    fprintf(stderr, "  cancel took %lld ms\n", (long long)stop_ms);
    CHECK(b.rc != CP_OK);
    CHECK_STR(b.err.code, "canceled");
    CHECK_EQ(b.err.reason, CP_REASON_CANCELED);
    CHECK(stop_ms < 10000);
    CHECK(cp_runner_pid(b.h) == 0);
    /* Later phases of a canceled run do not start. */
    json_t *out = NULL;
    CHECK(cp_runner_outputs(b.h, &out, &e) != CP_OK);
    CHECK_STR(e.code, "canceled");
    CHECK_EQ(e.reason, CP_REASON_CANCELED);
    cp_runner_close(b.h);

    /* The lock is free and the state consistent: plan and destroy work. */
    json_t *fast = vm_tfvars(rid, "sandbox.small", 0);
    eu_new_id(run_id);
    s = spec_for(run_id, rid, "sandbox_vm", fast, NULL);
    cp_runner *h;
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_OK);
    cp_runner_plan_result plan;
    cp_result r = cp_runner_plan(h, CP_RUN_APPLY, &plan, &e);
    if (r != CP_OK) fprintf(stderr, "  plan after cancel: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    cp_runner_plan_result_free(&plan);
    cp_runner_close(h);
    r = destroy(&cfg, rid, fast, &e);
    if (r != CP_OK) fprintf(stderr, "  destroy after cancel: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    CHECK(state_resources(rid) <= 0); /* empty, or never written when nothing was created */
    json_decref(slow);
    json_decref(fast);
    eu_events_free(&ev);
    CHECK(runs_dir_empty());
}

TEST(timeout_fires)
{
    cp_runner_config cfg = eu_config();
    cfg.phase_timeout_s = 2;
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    json_t *slow = vm_tfvars(rid, "sandbox.small", 30);
    cp_runner_spec s = spec_for(run_id, rid, "sandbox_vm", slow, NULL);
    cp_error e;
    int64_t t0 = cp_mono_ms();
    cp_result r = cp_runner_run(&cfg, &s, CP_RUN_APPLY, NULL, NULL, NULL, &e);
    int64_t ms = cp_mono_ms() - t0;
    fprintf(stderr, "  timed out after %lld ms: %s\n", (long long)ms, e.message);
    CHECK(r != CP_OK);
    CHECK_STR(e.code, "timed_out");
    CHECK_EQ(e.reason, CP_REASON_TIMED_OUT);
    CHECK(strstr(e.message, "timed out after 2 s") != NULL);
    CHECK(ms < 15000);
    cfg.phase_timeout_s = 120;
    json_t *fast = vm_tfvars(rid, "sandbox.small", 0);
    CHECK_EQ(destroy(&cfg, rid, fast, &e), CP_OK);
    json_decref(slow);
    json_decref(fast);
}

TEST(failure_reports_the_module_error)
{
    cp_runner_config cfg = eu_config();
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    json_t *c = json_pack("{s:s,s:b}", "ssh_public_key", ED25519, "simulate_failure", 1);
    cp_error e;
    json_t *tv = cp_catalog_tfvars(rid, "sandbox", "vm", "web-1", "sandbox-east-1", "sandbox.small", c, NULL, &e);
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = spec_for(run_id, rid, "sandbox_vm", tv, &ev);
    cp_result r = cp_runner_run(&cfg, &s, CP_RUN_APPLY, NULL, NULL, NULL, &e);
    CHECK(r != CP_OK);
    CHECK_STR(e.code, "tofu_failed");
    CHECK_EQ(e.reason, CP_REASON_TOFU_FAILED);
    CHECK(strstr(e.message, "apply failed") != NULL);
    CHECK(eu_count(&ev, "apply_errored") >= 1);
    CHECK(eu_count(&ev, "diagnostic") >= 1);
    CHECK(eu_contains(&ev, "simulated failure (simulate_failure = true)"));
    json_t *ok = vm_tfvars(rid, "sandbox.small", 0);
    CHECK_EQ(destroy(&cfg, rid, ok, &e), CP_OK);
    json_decref(ok);
    json_decref(tv);
    json_decref(c);
    eu_events_free(&ev);
}

TEST(local_lock_is_recorded_and_a_second_run_is_refused)
{
    cp_runner_config cfg = eu_config();
    char rid[CP_ID_LEN + 1], run_a[CP_ID_LEN + 1], run_b[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_a);
    json_t *slow = vm_tfvars(rid, "sandbox.small", 20);
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = spec_for(run_a, rid, "sandbox_vm", slow, &ev);
    bg_apply b = {.cfg = &cfg};
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &s, &b.h, &e), CP_OK);
    pthread_t t;
    pthread_create(&t, NULL, bg_apply_main, &b);
    CHECK(wait_lock(&ev, 15000));

    /* The recorded id is the one in tofu's lock file. */
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/state/%s/.terraform.tfstate.lock.info", eu_tmp, rid);
    char *info = eu_read(path);
    json_t *j = info ? json_loads(info, 0, NULL) : NULL;
    CHECK_STR(json_string_value(json_object_get(j, "ID")), ev.lock_id);
    CHECK_STR(cp_runner_lock_id(b.h), ev.lock_id);
    json_decref(j);
    free(info);

    /* A second run on the same state is refused, naming the holder. */
    eu_new_id(run_b);
    json_t *fast = vm_tfvars(rid, "sandbox.small", 0);
    cp_runner_spec s2 = spec_for(run_b, rid, "sandbox_vm", fast, NULL);
    cp_result r = cp_runner_run(&cfg, &s2, CP_RUN_APPLY, NULL, NULL, NULL, &e);
    fprintf(stderr, "  second run: %s\n", e.message);
    CHECK_EQ(r, CP_ECONFLICT);
    CHECK_STR(e.code, "state_locked");
    CHECK_EQ(e.reason, CP_REASON_STATE_LOCKED);
    CHECK(strstr(e.message, ev.lock_id) != NULL);
    if (cp_sandbox_available()) {
        char holder[64];
        snprintf(holder, sizeof holder, "@cp-%s", run_a);
        CHECK(strstr(e.message, holder) != NULL);
    }
    cp_runner_cancel(b.h);
    pthread_join(t, NULL);
    cp_runner_close(b.h);
    /* A local lock dies with its process: force-unlock has nothing to do. */
    cp_runner_spec us = spec_for(run_b, rid, "sandbox_vm", NULL, NULL);
    cp_result ur = cp_runner_force_unlock(&cfg, &us, ev.lock_id, &e);
    if (ur != CP_OK) fprintf(stderr, "  force-unlock: %s\n", e.message);
    CHECK_EQ(ur, CP_OK);
    CHECK_EQ(destroy(&cfg, rid, fast, &e), CP_OK);
    json_decref(slow);
    json_decref(fast);
    eu_events_free(&ev);
}

/* Needs no tofu: the one place that picks a run's path. */
TEST(run_path_is_chosen_in_one_place)
{
    cp_runner_config cfg = {.fast_apply = true};
    CHECK_EQ(cp_runner_choose_path(&cfg, false, false), CP_PATH_FAST_APPLY);
    CHECK_EQ(cp_runner_choose_path(&cfg, true, false), CP_PATH_SAVED_PLAN);
    CHECK_EQ(cp_runner_choose_path(&cfg, true, true), CP_PATH_APPLY_APPROVED);
    CHECK_EQ(cp_runner_choose_path(&cfg, false, true), CP_PATH_APPLY_APPROVED);
    cfg.fast_apply = false;
    CHECK_EQ(cp_runner_choose_path(&cfg, false, false), CP_PATH_SAVED_PLAN);
    CHECK_EQ(cp_runner_choose_path(&cfg, true, false), CP_PATH_SAVED_PLAN);
    CHECK_EQ(cp_runner_choose_path(&cfg, false, true), CP_PATH_APPLY_APPROVED);
}

int main(void)
{
    RUN(run_path_is_chosen_in_one_place);
    const char *why = "OpenTofu not found (set CP_TOFU or run scripts/install-tofu.sh)";
    have_tofu = eu_find_tofu();
    signal(SIGPIPE, SIG_IGN); /* the child must still get default SIGPIPE: proc resets it */
    eu_setup("engine-runner");
    have_tofu = have_tofu && eu_sandbox_start();
    why = "OpenTofu or the sandbox cloud not available (CP_TOFU, CP_BINARY)";
    RUN_IF(have_tofu, why, vm_lifecycle_saved_plan_path);
    RUN_IF(have_tofu, why, storage_fast_path_with_shared_init);
    RUN(validation_rejects_before_any_process);
    RUN(real_cloud_runs_need_the_sandbox);
    RUN_IF(have_tofu, why, credentials_never_leave_the_child_env);
    RUN_IF(have_tofu, why, bwrap_is_used_when_present);
    RUN_IF(have_tofu, why, cancel_during_apply);
    RUN_IF(have_tofu, why, timeout_fires);
    RUN_IF(have_tofu, why, failure_reports_the_module_error);
    RUN_IF(have_tofu, why, local_lock_is_recorded_and_a_second_run_is_refused);
    eu_sandbox_stop();
    eu_teardown();
    TEST_END();
}
