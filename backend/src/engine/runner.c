/* runner.c: the runner proper: opening a run (checks, run dir, environment),
 * its accessors and cancel, and the tofu sequence on top of the phases:
 * plan (its summary from the plan's own stream; its attribute changes from show -json on request), apply of a saved
 * plan, the fast apply -auto-approve, outputs, the choice between those paths (cp_runner_choose_path), and
 * cp_runner_run. The state lock lives in runner_lock.c, the files tofu reads in runner_config.c, init in init_cache.c,
 * one tofu command in runner_phase.c. */
#include "engine/runner.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/secretfile.h"
#include "core/trace.h"
#include "core/xalloc.h"
#include "engine/catalog.h"
#include "engine/drift.h"
#include "engine/plan_json.h"
#include "engine/runner_int.h"
#include "engine/sandbox.h"
#include "engine/workspace.h"

#define PLAN_MAX ((size_t)64 << 20)
#define OUTPUT_MAX ((size_t)16 << 20)

static bool plain_id(const char *s)
{
    if (!s || strlen(s) != 26) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'))) return false;
    return true;
}

/* ---------------------------------------------------------------- open */

/* Names a cloud account (credentials or workload identity) may put in the child's environment. */
static bool credential_name_ok(const char *name, size_t len)
{
    static const char *const clouds[] = {"aws", "azure", "gcp", "sandbox"};
    for (size_t c = 0; c < CP_ARRAY_LEN(clouds); c++) {
        size_t n;
        const char *const *names = cp_catalog_credential_env(clouds[c], &n);
        for (size_t i = 0; i < n; i++)
            if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) return true;
        names = cp_catalog_identity_env_names(clouds[c], &n);
        for (size_t i = 0; i < n; i++)
            if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) return true;
    }
    return false;
}

static cp_result absolute(const char *in, char *out, size_t cap, const char *what, cp_error *err)
{
    char tmp[PATH_MAX];
    if (!is_set(in)) return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "%s is not set", what);
    if (!realpath(in, tmp))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "%s %s: %s", what, in, strerror(errno));
    copy_str(out, cap, tmp);
    return CP_OK;
}

/* The operator's non-secret variables: NAME=value with a plain name that
 * neither shadows what the runner sets itself (PATH, HOME, TMPDIR, TF_*)
 * nor names a credential, whose value would then escape redaction. */
static cp_result check_extra_env(const char *const *env, cp_error *err)
{
    static const char *const reserved[] = {"PATH", "HOME", "TMPDIR", "CHECKPOINT_DISABLE", "CLOUDPLANE_REQUEST_ID"};
    for (; env && *env; env++) {
        const char *e = *env, *eq = strchr(e, '=');
        size_t n = eq ? (size_t)(eq - e) : 0;
        bool ok = n > 0 && n < 128 && strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == n &&
                  !(e[0] >= '0' && e[0] <= '9') && strncmp(e, "TF_", 3) != 0 && !credential_name_ok(e, n) &&
                  !strpbrk(eq, "\n");
        for (size_t i = 0; ok && i < CP_ARRAY_LEN(reserved); i++)
            ok = !(strlen(reserved[i]) == n && strncmp(reserved[i], e, n) == 0);
        if (!ok)
            return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "'%.*s' cannot be set for tofu by the operator",
                                eq ? (int)(n < 64 ? n : 64) : 32, e);
    }
    return CP_OK;
}

/* What cp_runner_open checks before it allocates anything. */
static cp_result check_open(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_error *err)
{
    if (!plain_id(spec->run_id) || !plain_id(spec->resource_id))
        return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "run and resource ids must be platform ids");
    bool known = false;
    static const char *const clouds[] = {"aws", "azure", "gcp", "sandbox"}, *const kinds[] = {"vm", "storage"};
    for (size_t c = 0; c < 4; c++)
        for (size_t k = 0; k < 2; k++)
            known |= strcmp(or_empty(cp_catalog_module(clouds[c], kinds[k])), or_empty(spec->module)) == 0;
    if (!known)
        return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "unknown module '%.64s'", or_empty(spec->module));
    const cp_state_config *st = &cfg->state;
    const char *dirs[] = {cfg->tofu,           cfg->modules_dir,      cfg->runs_dir,
                          cfg->init_cache_dir, cfg->plugin_cache_dir, cfg->provider_mirror,
                          st->local_dir};
    for (size_t i = 0; i < CP_ARRAY_LEN(dirs); i++)
        if (dirs[i] && strlen(dirs[i]) >= DIR_MAX)
            return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "path too long: %.64s...", dirs[i]);
    if (st->kind == CP_STATE_S3 && !is_set(st->s3_bucket))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "the s3 state backend needs a bucket");
    const char *m = cfg->provider_mirror;
    if (is_set(m) && !cp_runner__mirror_is_url(m) && m[0] != '/')
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "the provider mirror must be an absolute dir or a URL");
    if (is_set(cfg->plugin_cache_dir) && cfg->plugin_cache_dir[0] != '/')
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "the plugin cache dir must be absolute");
    return check_extra_env(cfg->extra_env, err);
}

/* The binary, the modules, and the dirs the run needs (runs, shared init, local state). */
static cp_result resolve_dirs(cp_runner *r, cp_error *err)
{
    const cp_runner_config *cfg = &r->cfg;
    const cp_state_config *st = &cfg->state;
    cp_result rc;
    if ((rc = absolute(cfg->tofu, r->tofu, sizeof r->tofu, "tofu binary", err)) != CP_OK) return rc;
    if (access(r->tofu, X_OK) != 0)
        return cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "tofu binary %s is not executable", r->tofu);
    copy_str(r->tofu_dir, sizeof r->tofu_dir, r->tofu);
    *strrchr(r->tofu_dir, '/') = '\0';
    if ((rc = absolute(cfg->modules_dir, r->modules_dir, sizeof r->modules_dir, "modules dir", err)) != CP_OK)
        return rc;
    if ((rc = cp_mkdirs(or_empty(cfg->runs_dir), 0700, err)) != CP_OK) return rc;
    if (is_set(cfg->init_cache_dir) && (rc = cp_mkdirs(cfg->init_cache_dir, 0700, err)) != CP_OK) return rc;
    if (is_set(cfg->plugin_cache_dir) && (rc = cp_mkdirs(cfg->plugin_cache_dir, 0700, err)) != CP_OK) return rc;
    /* bwrap cannot bind a missing dir; say which setting is wrong instead. */
    const char *m = cfg->provider_mirror;
    if (is_set(m) && !cp_runner__mirror_is_url(m) && access(m, R_OK | X_OK) != 0)
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "provider mirror %s: %s", m, strerror(errno));
    if (st->kind == CP_STATE_LOCAL) {
        if ((rc = cp_mkdirs(or_empty(st->local_dir), 0700, err)) != CP_OK) return rc;
        if ((rc = absolute(st->local_dir, r->state_root, sizeof r->state_root, "state dir", err)) != CP_OK) return rc;
        pathf(r->state_dir, sizeof r->state_dir, "%s/%s", r->state_root, r->resource_id);
        if ((rc = cp_mkdirs(r->state_dir, 0700, err)) != CP_OK) return rc;
    }
    return CP_OK;
}

/* Checks the credential names and registers every secret value for redaction. */
static cp_result take_secrets(cp_runner *r, const cp_runner_spec *spec, cp_error *err)
{
    const cp_state_config *st = &r->cfg.state;
    for (const char *const *e = spec->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !credential_name_ok(*e, (size_t)(eq - *e)))
            return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "'%.*s' is not a credential variable",
                                eq ? (int)(eq - *e) : 32, *e);
        const char *v = eq + 1;
        cp_redact_add(r->redact, v, strlen(v));
        /* Not JSON after all: the whole value is already redacted above. */
        if (v[strspn(v, " \t\r\n")] == '{') CP_IGNORE(cp_redact_add_json_values(r->redact, v));
    }
    if (st->kind == CP_STATE_S3) {
        cp_redact_add(r->redact, or_empty(st->s3_access_key_id), strlen(or_empty(st->s3_access_key_id)));
        cp_redact_add(r->redact, or_empty(st->s3_secret_access_key), strlen(or_empty(st->s3_secret_access_key)));
    }
    return CP_OK;
}

static bool extra_env_has(const cp_runner *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *e = r->cfg.extra_env; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return true;
    return false;
}

/* Go runtime setting for tofu and the providers it starts (they inherit its
 * environment), unless the operator set it: each process is short-lived and
 * one of several side by side, one per worker slot, so one P each instead of
 * one per core. A plan of the sandbox VM then costs ~15-30 % less CPU
 * (median of rusage over 5 plans: 198 ms vs 233 ms; perf stat task-clock 239
 * vs 300-340 ms), mostly GC and scheduler threads spinning on the other core;
 * goroutines blocked on the network or on a provider still overlap. GOGC=off
 * with a GOMEMLIMIT measured no better than this alone. */
static void go_runtime_env(cp_runner *r)
{
    if (!extra_env_has(r, "GOMAXPROCS")) cp_strv_add(&r->env, "GOMAXPROCS=1");
}

/* Environment from nothing: only what tofu needs and the credentials. */
static void base_env(cp_runner *r, const cp_runner_spec *spec)
{
    cp_strv_add(&r->env, "PATH=/usr/local/bin:/usr/bin:/bin");
    cp_strv_addf(&r->env, "HOME=%s", r->dir);
    /* Providers put their plugin socket in TMPDIR ($TMPDIR/pluginNNNNNNNNNN), and a
     * unix socket path has at most 107 bytes: a deep data dir made every provider
     * fail its handshake ("Unrecognized remote plugin message"). In bwrap /tmp is a
     * private tmpfs per run; outside it, a short private dir when the run dir's is too long. */
    if (r->sandboxed)
        cp_strv_add(&r->env, "TMPDIR=/tmp");
    else if (r->tmp_dir[0])
        cp_strv_addf(&r->env, "TMPDIR=%s", r->tmp_dir);
    else
        cp_strv_addf(&r->env, "TMPDIR=%s/tmp", r->dir);
    cp_strv_add(&r->env, "TF_IN_AUTOMATION=1");
    cp_strv_add(&r->env, "TF_INPUT=0");
    cp_strv_add(&r->env, "CHECKPOINT_DISABLE=1");
    cp_strv_addf(&r->env, "TF_CLI_CONFIG_FILE=%s/cli.tfrc.json", r->dir);
    if (is_set(r->cfg.plugin_cache_dir)) cp_strv_addf(&r->env, "TF_PLUGIN_CACHE_DIR=%s", r->cfg.plugin_cache_dir);
    /* What tofu and its providers do is tied to the order's trace id. */
    if (cp_trace_id_valid(spec->request_id)) cp_strv_addf(&r->env, "CLOUDPLANE_REQUEST_ID=%s", spec->request_id);
    /* Not secret, so not redacted: an endpoint URL must read as itself in the logs. */
    for (const char *const *e = r->cfg.extra_env; e && *e; e++) cp_strv_add(&r->env, *e);
    go_runtime_env(r);
    for (const char *const *e = spec->env; e && *e; e++) cp_strv_add(&r->env, *e);
}

/* The run dir's contents: tmp/, the module, the override files, the tfvars. */
static cp_result fill_run_dir(cp_runner *r, const cp_runner_spec *spec, cp_error *err)
{
    cp_result rc = CP_OK;
    json_t *bj = cp_runner__backend_json(r, false), *cj = cp_runner__cli_json(r);
    r->backend_json = json_dumps(bj, JSON_COMPACT | JSON_SORT_KEYS);
    r->cli_json = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
    char mod[PATH_MAX + 64], tmp[PATH_MAX + 8];
    pathf(mod, sizeof mod, "%s/%s", r->modules_dir, r->module);
    pathf(tmp, sizeof tmp, "%s/tmp", r->dir);
    if (mkdir(tmp, 0700) != 0) rc = cp_error_set(err, CP_ERR, "workspace", NULL, "cannot create %s", tmp);
    if (rc == CP_OK) rc = cp_workspace_copy_module(mod, r->dir, err);
    if (rc == CP_OK) rc = cp_runner__write_overrides(r, r->dir, err);
    if (rc == CP_OK && spec->tfvars) rc = cp_workspace_write_json(r->dir, "terraform.tfvars.json", spec->tfvars, err);
    json_decref(bj);
    json_decref(cj);
    return rc;
}

cp_result cp_runner_open(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_runner **out, cp_error *err)
{
    *out = NULL;
    cp_result rc = check_open(cfg, spec, err);
    if (rc != CP_OK) return rc;

    cp_runner *r = cp_xcalloc(1, sizeof *r);

    r->cfg = *cfg;
    r->creds_fd = -1;
    atomic_init(&r->pid, 0);
    cp_strv_init(&r->env);
    cp_buf_init(&r->stderr_text, 16384);
    r->redact = cp_redact_new();
    r->cancel = cp_proc_cancel_new();
    r->on_event = spec->on_event;
    r->on_tick = spec->on_tick;
    r->ctx = spec->ctx;
    copy_str(r->run_id, sizeof r->run_id, spec->run_id);
    copy_str(r->resource_id, sizeof r->resource_id, spec->resource_id);
    copy_str(r->module, sizeof r->module, spec->module);
    r->cloud = cp_catalog_module_cloud(r->module);
    r->destroy = spec->destroy;
    /* One suffix per handle: its run dir, and in bwrap its host name, so that
     * tofu's lock info ("Who") names the run and this very attempt of it. */
    char rnd[9];
    cp_rand_hex(rnd, 4);
    snprintf(r->hostname, sizeof r->hostname, "cp-%s-%s", r->run_id, rnd);

    if ((rc = resolve_dirs(r, err)) != CP_OK) goto fail;
    if ((rc = take_secrets(r, spec, err)) != CP_OK) goto fail;
    if ((rc = cp_runner__creds_fd(r, err)) != CP_OK) goto fail;

    r->sandboxed = cfg->use_bwrap && cp_sandbox_available();
    /* A real cloud's credentials and provider never run unconfined unless the operator says so by name. */
    if (!r->sandboxed && !cfg->insecure_no_sandbox && !cp_catalog_module_simulated(r->module)) {
        rc = cp_error_set(err, CP_ECONFLICT, "sandbox_required", NULL,
                          "runs on real clouds need bubblewrap (%s); an operator may set "
                          "CLOUDPLANE_INSECURE_NO_SANDBOX=true to run them without it",
                          cfg->use_bwrap ? "not usable on this host" : "disabled by CLOUDPLANE_SANDBOX_BWRAP=false");
        goto fail;
    }
    /* Go reserves address space freely (tofu needs ~1 GiB of it to start, providers more). */
    if (r->cfg.rlimit_as_bytes == 0) r->cfg.rlimit_as_bytes = 8L << 30;
    if (r->cfg.rlimit_cpu_s == 0) r->cfg.rlimit_cpu_s = 4 * 3600;
    if (r->cfg.rlimit_nofile == 0) r->cfg.rlimit_nofile = 4096;
    /* One dir per attempt: a crashed attempt's leftovers never block a retry of the run. */
    char dir[PATH_MAX], name[48];
    snprintf(name, sizeof name, "%s.%s", r->run_id, rnd);
    if ((rc = cp_workspace_mkdir(cfg->runs_dir, name, dir, sizeof dir, err)) != CP_OK) goto fail;
    if (!realpath(dir, r->dir)) copy_str(r->dir, sizeof r->dir, dir);
    pathf(r->data_dir, sizeof r->data_dir, "%s/.tfdata", r->dir);
    if (!r->sandboxed && strlen(r->dir) + sizeof "/tmp/plugin0123456789" > 100) {
        copy_str(r->tmp_dir, sizeof r->tmp_dir, "/tmp/cp-run-XXXXXX");
        if (!mkdtemp(r->tmp_dir)) {
            r->tmp_dir[0] = '\0';
            rc = cp_error_set(err, CP_ERR, "workspace", NULL, "cannot create a temp dir in /tmp: %s", strerror(errno));
            goto fail;
        }
    }
    base_env(r, spec);
    if ((rc = fill_run_dir(r, spec, err)) != CP_OK) goto fail;
    if ((rc = cp_runner__identity_open(r, spec, err)) != CP_OK) goto fail;
    if (cfg->use_bwrap && !r->sandboxed) {
        cp_tfev ev = {.type = CP_TFEV_LOG, .phase = "setup", .level = "warn", .message = cp_sandbox_describe()};
        cp_runner__emit(r, &ev);
    }
    *out = r;
    return CP_OK;

fail:
    cp_runner_close(r);
    return rc;
}

void cp_runner_close(cp_runner *r)
{
    if (!r) return;
    cp_runner__identity_close(r); /* tokens go even when the run dir is kept */
    if (r->dir[0] && !r->cfg.keep_workdir && cp_workspace_remove(r->dir) != CP_OK)
        cp_log_warn("could not remove the run dir %s", r->dir); /* the worker's start-up sweep retries */
    if (r->tmp_dir[0] && cp_workspace_remove(r->tmp_dir) != CP_OK) cp_log_warn("could not remove %s", r->tmp_dir);
    if (r->creds_fd >= 0) close(r->creds_fd);
    cp_strv_free(&r->env);
    cp_redact_free(r->redact);
    cp_proc_cancel_free(r->cancel);
    json_decref(r->stream_outputs);
    json_decref(r->planned);
    cp_buf_free(&r->stderr_text);
    free(r->backend_json);
    free(r->cli_json);
    free(r);
}

void cp_runner_cancel(cp_runner *r)
{
    cp_proc_cancel_request(r->cancel);
}

void cp_runner_kill(cp_runner *r)
{
    cp_proc_cancel_kill(r->cancel);
}

const char *cp_runner_lock_id(const cp_runner *r)
{
    return r->lock_id;
}
pid_t cp_runner_pid(const cp_runner *r)
{
    return (pid_t)atomic_load(&((cp_runner *)r)->pid);
}
bool cp_runner_sandboxed(const cp_runner *r)
{
    return r->sandboxed;
}
const char *cp_runner_tofu_version(const cp_runner *r)
{
    return r->version;
}

/* ---------------------------------------------------------------- plan / apply */

void cp_runner_plan_result_free(cp_runner_plan_result *p)
{
    json_decref(p->summary);
    free(p->plan);
    memset(p, 0, sizeof *p);
}

/* {add, change, destroy, resources:[{address, action}]} from the plan's own
 * -json stream: one planned_change per resource that changes (tofu's
 * actions: create, update, delete, replace, read, noop, move, import,
 * forget). Reads, and moves or imports without a change, change nothing and
 * are left out, as `show -json` summaries left out its no-op and read
 * actions. The stream stays the source of the entries and counts; show -json
 * (cp_runner_plan_detail) only adds what each entry does to its attributes. */
static json_t *plan_summary(const cp_runner *r, json_t *planned)
{
    json_t *res = json_array();
    long add = 0, change = 0, destroy = 0;
    size_t i;
    json_t *pc;
    json_array_foreach(planned, i, pc)
    {
        const char *action = json_string_value(json_object_get(pc, "action"));
        const char *address = json_string_value(json_object_get(pc, "address"));
        if (!action || !strcmp(action, "noop") || !strcmp(action, "read") || !strcmp(action, "move") ||
            !strcmp(action, "import"))
            continue;
        if (strcmp(action, "create") == 0)
            add++;
        else if (strcmp(action, "update") == 0)
            change++;
        else if (strcmp(action, "delete") == 0)
            destroy++;
        else if (strcmp(action, "replace") == 0)
            add++, destroy++;
        json_array_append_new(res, json_pack("{s:s?,s:s}", "address", address, "action", action));
    }
    json_t *s = json_pack("{s:I,s:I,s:I,s:o}", "add", (json_int_t)add, "change", (json_int_t)change, "destroy",
                          (json_int_t)destroy, "resources", res);
    cp_redact_json(r->redact, s);
    return s;
}

/* argv for a state-touching tofu command: non-interactive, machine-readable,
 * waiting at most the configured time for the state lock. */
static void state_cmd(const cp_runner *r, cp_strv *a, const char *verb)
{
    cp_strv_init(a);
    cp_strv_add(a, verb);
    cp_strv_add(a, "-input=false");
    cp_strv_add(a, "-no-color");
    cp_strv_add(a, "-json");
    cp_strv_addf(a, "-lock-timeout=%ds", r->cfg.lock_timeout_s > 0 ? r->cfg.lock_timeout_s : 0);
}

/* `show -json` of a plan file in the run dir, parsed into *doc (caller owns). */
static cp_result show_json(cp_runner *r, const char *file, json_t **doc, cp_error *err)
{
    *doc = NULL;
    const char *show_args[] = {"show", "-json", "-no-color", file, NULL};
    cp_strv a;
    cp_runner__args(&a, show_args);
    cp_buf buf;
    cp_buf_init(&buf, PLAN_MAX);
    phase_opts so = {.phase = "show", .workspace = true, .capture = &buf, .ok_codes = {-1}};
    int code = 1;
    cp_result rc = cp_runner__run_phase(r, &so, &a, &code, err);
    cp_strv_free(&a);
    if (rc == CP_OK) {
        *doc = json_loadb(cp_buf_cstr(&buf), buf.len, 0, NULL);
        if (!json_is_object(*doc)) {
            json_decref(*doc);
            *doc = NULL;
            rc = cp_error_set_reason(err, CP_ERR, CP_REASON_TOFU_FAILED, NULL, "show -json gave no JSON object");
        }
    }
    cp_buf_free(&buf);
    return rc;
}

cp_result cp_runner_plan(cp_runner *r, cp_run_op op, cp_runner_plan_result *out, cp_error *err)
{
    memset(out, 0, sizeof *out);
    cp_result rc = cp_runner__ensure_init(r, err);
    if (rc != CP_OK) return rc;
    char path[PATH_MAX + 16];
    pathf(path, sizeof path, "%s/plan.bin", r->dir);
    unlink(path);
    r->have_plan = false;

    cp_strv a;
    char *plan = NULL;
    state_cmd(r, &a, "plan");
    cp_strv_add(&a, "-detailed-exitcode");
    cp_strv_add(&a, "-out=plan.bin");
    if (op == CP_RUN_DESTROY) cp_strv_add(&a, "-destroy");
    phase_opts po = {.phase = "plan", .workspace = true, .lock_op = "OperationTypePlan", .ok_codes = {2, -1}};
    int code = 1;
    json_decref(r->planned);
    r->planned = json_array();
    rc = cp_runner__run_locked(r, &po, &a, &code, err);
    if (rc != CP_OK) goto out;
    out->changes = code == 2;
    out->summary = plan_summary(r, r->planned);
    rc = cp_workspace_read(path, PLAN_MAX, &plan, &out->plan_len, err);
    if (rc != CP_OK) goto out;
    json_object_set_new(out->summary, "changes", json_boolean(out->changes));
    out->plan = (unsigned char *)plan;
    plan = NULL; /* out's now */
    r->have_plan = true;
out:
    json_decref(r->planned);
    r->planned = NULL;
    if (rc != CP_OK) cp_runner_plan_result_free(out);
    free(plan);
    cp_strv_free(&a);
    return rc;
}

cp_result cp_runner_plan_detail(cp_runner *r, cp_runner_plan_result *p, cp_error *err)
{
    if (!p->changes || !r->have_plan) return CP_OK;
    json_t *doc = NULL;
    cp_result rc = show_json(r, "plan.bin", &doc, err);
    if (rc == CP_OK) {
        cp_plan_json_merge(p->summary, doc);
        cp_redact_json(r->redact, p->summary);
    }
    json_decref(doc);
    return rc;
}

cp_result cp_runner_drift_check(cp_runner *r, json_t **changes, bool *missing, cp_error *err)
{
    *changes = NULL;
    *missing = false;
    cp_result rc = cp_runner__ensure_init(r, err);
    if (rc != CP_OK) return rc;
    char path[PATH_MAX + 16];
    pathf(path, sizeof path, "%s/drift.bin", r->dir);
    unlink(path);
    cp_strv a;
    state_cmd(r, &a, "plan");
    cp_strv_add(&a, "-refresh-only");
    cp_strv_add(&a, "-detailed-exitcode");
    cp_strv_add(&a, "-out=drift.bin");
    phase_opts po = {.phase = "plan", .workspace = true, .lock_op = "OperationTypePlan", .ok_codes = {2, -1}};
    int code = 1;
    json_decref(r->planned);
    r->planned = json_array();
    rc = cp_runner__run_locked(r, &po, &a, &code, err);
    json_decref(r->planned);
    r->planned = NULL;
    cp_strv_free(&a);
    if (rc != CP_OK) return rc;
    if (code != 2) { /* nothing changed outside: no need to read the plan */
        *changes = json_array();
        return CP_OK;
    }
    json_t *plan = NULL;
    rc = show_json(r, "drift.bin", &plan, err);
    if (rc == CP_OK) {
        *changes = cp_drift_changes(plan, missing);
        cp_redact_json(r->redact, *changes);
    }
    json_decref(plan);
    unlink(path);
    return rc;
}

/* {name: value} from tofu's outputs object; sensitive values are masked. */
static json_t *outputs_map(const cp_runner *r, json_t *raw)
{
    json_t *m = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(raw, k, v)
    {
        json_t *val = json_object_get(v, "value");
        if (json_is_true(json_object_get(v, "sensitive")))
            json_object_set_new(m, k, json_string(CP_REDACT_MASK));
        else if (val)
            json_object_set(m, k, val);
    }
    cp_redact_json(r->redact, m);
    return m;
}

cp_result cp_runner_outputs(cp_runner *r, json_t **outputs, cp_error *err)
{
    *outputs = NULL;
    cp_result rc = cp_runner__ensure_init(r, err);
    if (rc != CP_OK) return rc;
    static const char *const out_args[] = {"output", "-json", "-no-color", NULL};
    cp_strv a;
    cp_runner__args(&a, out_args);
    cp_buf buf;
    cp_buf_init(&buf, OUTPUT_MAX);
    phase_opts o = {.phase = "output", .workspace = true, .capture = &buf, .ok_codes = {-1}};
    int code;
    rc = cp_runner__run_phase(r, &o, &a, &code, err);
    cp_strv_free(&a);
    if (rc == CP_OK) {
        json_t *raw = json_loadb(cp_buf_cstr(&buf), buf.len, 0, NULL);
        if (json_is_object(raw))
            *outputs = outputs_map(r, raw);
        else
            rc = cp_error_set_reason(err, CP_ERR, CP_REASON_TOFU_FAILED, NULL, "output -json gave no JSON object");
        json_decref(raw);
    }
    cp_buf_free(&buf);
    return rc;
}

static cp_result apply_args(cp_runner *r, cp_strv *a, const char *phase_name, bool json_out, int *code, cp_error *err)
{
    json_decref(r->stream_outputs);
    r->stream_outputs = NULL;
    phase_opts o = {.phase = phase_name,
                    .workspace = true,
                    .lock_op = "OperationTypeApply",
                    .json_outputs = json_out,
                    .ok_codes = {-1}};
    return cp_runner__run_locked(r, &o, a, code, err);
}

/* Outputs from the apply stream when it carried them, else `output -json`. */
static cp_result finish_outputs(cp_runner *r, cp_run_op op, json_t **outputs, cp_error *err)
{
    if (!outputs) return CP_OK;
    *outputs = NULL;
    if (op == CP_RUN_DESTROY) {
        *outputs = json_object();
        return CP_OK;
    }
    if (r->stream_outputs) {
        bool complete = true;
        const char *k;
        json_t *v;
        json_object_foreach(r->stream_outputs, k,
                            v) if (!json_object_get(v, "value") && !json_is_true(json_object_get(v, "sensitive")))
            complete = false;
        if (complete) {
            *outputs = outputs_map(r, r->stream_outputs);
            return CP_OK;
        }
    }
    return cp_runner_outputs(r, outputs, err);
}

cp_result cp_runner_apply(cp_runner *r, const void *plan, size_t plan_len, json_t **outputs, cp_error *err)
{
    if (outputs) *outputs = NULL;
    cp_result rc = cp_runner__ensure_init(r, err);
    if (rc != CP_OK) return rc;
    if (plan && plan_len) {
        char path[PATH_MAX + 16];
        pathf(path, sizeof path, "%s/plan.bin", r->dir);
        unlink(path);
        if ((rc = cp_workspace_write(r->dir, "plan.bin", plan, plan_len, err)) != CP_OK) return rc;
        r->have_plan = true;
    }
    if (!r->have_plan) return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "no plan to apply");
    cp_strv a;
    state_cmd(r, &a, "apply");
    cp_strv_add(&a, "plan.bin");
    int code;
    rc = apply_args(r, &a, "apply", true, &code, err);
    cp_strv_free(&a);
    if (rc != CP_OK) return rc;
    /* Whether it was a destroy plan only the plan knows; the stream's outputs
     * event tells (empty after a destroy). */
    return finish_outputs(r, CP_RUN_APPLY, outputs, err);
}

cp_result cp_runner_apply_auto(cp_runner *r, cp_run_op op, json_t **outputs, cp_error *err)
{
    if (outputs) *outputs = NULL;
    cp_result rc = cp_runner__ensure_init(r, err);
    if (rc != CP_OK) return rc;
    cp_strv a;
    state_cmd(r, &a, "apply");
    cp_strv_add(&a, "-auto-approve");
    if (op == CP_RUN_DESTROY) cp_strv_add(&a, "-destroy");
    int code;
    rc = apply_args(r, &a, "apply", true, &code, err);
    cp_strv_free(&a);
    if (rc != CP_OK) return rc;
    return finish_outputs(r, op, outputs, err);
}

cp_run_path cp_runner_choose_path(const cp_runner_config *cfg, bool needs_approval, bool plan_approved)
{
    if (plan_approved) return CP_PATH_APPLY_APPROVED;
    if (needs_approval || !cfg->fast_apply) return CP_PATH_SAVED_PLAN;
    return CP_PATH_FAST_APPLY;
}

cp_result cp_runner_run(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_run_op op,
                        json_t **plan_summary_out, json_t **outputs, char lock_id[37], cp_error *err)
{
    if (plan_summary_out) *plan_summary_out = NULL;
    if (outputs) *outputs = NULL;
    if (lock_id) lock_id[0] = '\0';
    cp_runner *r;
    cp_result rc = cp_runner_open(cfg, spec, &r, err);
    if (rc != CP_OK) return rc;
    /* Nothing here waits for approval, and there is no approved plan to apply. */
    if (cp_runner_choose_path(cfg, false, false) == CP_PATH_FAST_APPLY) {
        rc = cp_runner_apply_auto(r, op, outputs, err);
    } else {
        cp_runner_plan_result plan;
        rc = cp_runner_plan(r, op, &plan, err);
        if (rc == CP_OK && plan_summary_out) *plan_summary_out = json_incref(plan.summary);
        if (rc == CP_OK) {
            if (plan.changes)
                rc = cp_runner_apply(r, NULL, 0, op == CP_RUN_DESTROY ? NULL : outputs, err);
            else if (op == CP_RUN_APPLY)
                rc = outputs ? cp_runner_outputs(r, outputs, err) : CP_OK;
            if (rc == CP_OK && op == CP_RUN_DESTROY && outputs) *outputs = json_object();
        }
        cp_runner_plan_result_free(&plan);
    }
    if (lock_id) copy_str(lock_id, 37, r->lock_id);
    cp_runner_close(r);
    return rc;
}

/* ---------------------------------------------------------------- probe */

static void version_line(void *ctx, cp_proc_stream st, const char *line, size_t len, bool truncated)
{
    CP_UNUSED(st);
    CP_UNUSED(truncated);
    cp_buf *b = ctx;
    cp_buf_add(b, line, len);
}

cp_result cp_runner_probe_tofu(const char *tofu, char *out, size_t cap, cp_error *err)
{
    char *argv[] = {(char *)tofu, "version", "-json", NULL};
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null", NULL};
    cp_buf b;
    cp_buf_init(&b, 65536);
    cp_proc_spec spec = {.path = tofu,
                         .argv = argv,
                         .envp = envp,
                         .pass_fd = -1,
                         .timeout_ms = 30000,
                         .grace_ms = 1000,
                         .on_line = version_line,
                         .ctx = &b};
    cp_proc_result res;
    cp_result rc = cp_proc_run(&spec, &res, err);
    if (rc == CP_OK) {
        json_t *j = json_loads(cp_buf_cstr(&b), 0, NULL);
        const char *v = json_string_value(json_object_get(j, "terraform_version"));
        if (res.exit_code != 0 || !v)
            rc = cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "%s version failed", tofu);
        else
            snprintf(out, cap, "%s", v);
        json_decref(j);
    }
    cp_buf_free(&b);
    return rc;
}
