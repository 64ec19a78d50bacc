/* runner_phase.c: one tofu command of a run: its argv (inside bubblewrap
 * when sandboxed) and its environment built from nothing, the -json event
 * stream turned into redacted events, the ticks that probe for the lock id,
 * and the phase's outcome as an error with a reason. */
#include <stdlib.h>

#include "core/metrics.h"
#include "core/timeutil.h"
#include "engine/runner_int.h"
#include "engine/sandbox.h"

#define LINE_MAX_BYTES (256 * 1024)

void cp_runner__emit(cp_runner *r, cp_tfev *ev)
{
    if (!ev->phase) ev->phase = r->phase;
    if (!ev->stream) ev->stream = "system";
    if (!ev->level) ev->level = "info";
    if (!ev->message) ev->message = "";
    if (r->on_event) r->on_event(r->ctx, ev);
}

void cp_runner__emit_system(cp_runner *r, cp_tfev_type type, bool ok, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *red = cp_redact_str(r->redact, msg, strlen(msg), NULL);
    cp_tfev ev = {.type = type, .ok = ok, .message = red, .level = ok ? "info" : "error"};
    if (type == CP_TFEV_LOCK) ev.lock_id = r->lock_id;
    cp_runner__emit(r, &ev);
    free(red);
}

static void on_line(void *ctx, cp_proc_stream st, const char *line, size_t len, bool truncated)
{
    cp_runner *r = ctx;
    cp_tfev_parsed p;
    cp_tfev_parse(r->redact, line, len, st == CP_PROC_STDERR ? "stderr" : "stdout", &p);
    cp_tfev *ev = &p.ev;
    ev->phase = r->phase;
    if (p.version) copy_str(r->version, sizeof r->version, p.version);
    if (st == CP_PROC_STDERR && p.text[0]) {
        /* The first line says what failed; later ones are its details. */
        if (!r->last_stderr[0]) copy_str(r->last_stderr, sizeof r->last_stderr, p.text);
        if (cp_buf_adds(&r->stderr_text, p.text) == CP_OK) cp_buf_add(&r->stderr_text, "\n", 1);
    }
    if (ev->type == CP_TFEV_DIAGNOSTIC && strcmp(or_empty(ev->severity), "error") == 0) {
        r->errors++;
        if (!r->diag[0]) {
            const char *detail = or_empty(ev->detail);
            pathf(r->diag, sizeof r->diag, "%s%s%.*s", or_empty(ev->summary), *detail ? ": " : "",
                  (int)strcspn(detail, "\n"), detail);
        }
        cp_runner__lock_diag(r, ev);
    }
    if (ev->type == CP_TFEV_PLANNED_CHANGE && r->planned && !truncated)
        json_array_append_new(r->planned, json_pack("{s:s?,s:s?}", "address", ev->address, "action", ev->action));
    if (ev->type == CP_TFEV_OUTPUTS && r->json_outputs) {
        json_decref(r->stream_outputs);
        r->stream_outputs = json_deep_copy(ev->data);
    }
    if (r->lock_op && !r->saw_work && p.json && ev->tofu_type && strcmp(ev->tofu_type, "version") != 0 &&
        strcmp(ev->tofu_type, "state_lock_acquire") != 0)
        r->saw_work = true, r->next_probe = 0;
    if (truncated) {
        /* Never a parsed event from half a line; keep it as log text. */
        ev->type = CP_TFEV_LOG;
    }
    cp_runner__emit(r, ev);
    cp_tfev_parsed_free(&p);
}

static void on_tick(void *ctx)
{
    cp_runner *r = ctx;
    if (r->on_tick) r->on_tick(r->ctx);
    if (!r->lock_op || r->lock_id[0] || r->probes >= PROBE_MAX || !cp_runner__probe_needed(r)) return;
    int64_t now = cp_mono_ms();
    if (!r->saw_work && now - r->phase_mono < PROBE_FIRST_MS) return;
    if (now < r->next_probe) return;
    r->probes++;
    r->next_probe = now + PROBE_EVERY_MS;
    cp_runner__probe_lock(r);
}

static void on_start(void *ctx, pid_t pid)
{
    cp_runner *r = ctx;
    atomic_store(&r->pid, (int)pid);
}

void cp_runner__build_env(cp_runner *r, cp_strv *env, const char *data_dir, bool workspace)
{
    for (size_t i = 0; i < r->env.n; i++) cp_strv_add(env, r->env.v[i]);
    cp_strv_addf(env, "TF_DATA_DIR=%s", data_dir);
    /* Never for init: tofu refuses to init into a workspace that does not exist yet. */
    if (workspace) cp_strv_addf(env, "TF_WORKSPACE=%s", r->resource_id);
}

static bool under_usr(const char *p)
{
    return strncmp(p, "/usr/", 5) == 0;
}

/* fill_cache: this is an init under the provider-set lock, the one kind of
 * step that may write the shared plugin cache; every other process sees it
 * read-only. */
void cp_runner__build_argv(cp_runner *r, cp_strv *argv, const char *cwd, const char *cache_dir, bool fill_cache)
{
    if (r->sandboxed) {
        cp_sandbox_mount m[8];
        size_t n = 0;
        if (!under_usr(r->tofu_dir)) m[n++] = (cp_sandbox_mount){r->tofu_dir, false};
        /* The run dir holds HOME and TMPDIR even when tofu works elsewhere (the shared init). */
        m[n++] = (cp_sandbox_mount){r->dir, true};
        if (strcmp(cwd, r->dir) != 0) m[n++] = (cp_sandbox_mount){cwd, true};
        if (is_set(cache_dir)) m[n++] = (cp_sandbox_mount){cache_dir, false};
        if (r->state_dir[0]) m[n++] = (cp_sandbox_mount){r->state_dir, true};
        if (is_set(r->cfg.plugin_cache_dir)) m[n++] = (cp_sandbox_mount){r->cfg.plugin_cache_dir, fill_cache};
        if (is_set(r->cfg.provider_mirror) && !cp_runner__mirror_is_url(r->cfg.provider_mirror))
            m[n++] = (cp_sandbox_mount){r->cfg.provider_mirror, false};
        cp_sandbox_argv(argv, r->hostname, cwd, m, n);
    }
    cp_strv_add(argv, r->tofu);
}

/* The phase's outcome from its process's: CP_OK with the exit code in *code,
 * or the error naming the phase, with a reason where a caller branches on it. */
static cp_result phase_outcome(cp_runner *r, const phase_opts *o, cp_result rc, const cp_error *perr,
                               const cp_proc_result *res, int timeout_ms, int *code, cp_error *err)
{
    if (rc != CP_OK && perr->reason == CP_REASON_CANCELED) {
        rc = cp_error_set_reason(err, CP_ERR, CP_REASON_CANCELED, NULL, "%s canceled", o->phase);
    } else if (rc != CP_OK) {
        rc = cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "%s", perr->message);
    } else if (res->canceled) {
        rc = cp_error_set_reason(err, CP_ERR, CP_REASON_CANCELED, NULL, "%s canceled%s", o->phase,
                                 res->killed ? " (killed after the grace period)" : "");
    } else if (res->timed_out) {
        rc = cp_error_set_reason(err, CP_ERR, CP_REASON_TIMED_OUT, NULL, "%s timed out after %d s%s", o->phase,
                                 timeout_ms / 1000, res->killed ? " (killed after the grace period)" : "");
    } else if (res->capture_overflow) {
        rc = cp_error_set_reason(err, CP_ERR, CP_REASON_TOFU_FAILED, NULL, "%s output too large", o->phase);
    } else {
        bool ok = res->exit_code == 0;
        for (int i = 0; i < 3 && o->ok_codes[i] > 0 && !ok; i++) ok = res->exit_code == o->ok_codes[i];
        if (ok) {
            *code = res->exit_code;
        } else if (r->lock_holder[0]) {
            rc = cp_error_set_reason(err, CP_ECONFLICT, CP_REASON_STATE_LOCKED, NULL, "%s", r->lock_holder);
        } else if (res->term_signal) {
            rc = cp_error_set_reason(err, CP_ERR, CP_REASON_TOFU_FAILED, NULL, "%s ended by signal %d", o->phase,
                                     res->term_signal);
        } else {
            const char *why = r->diag[0] ? r->diag : r->last_stderr[0] ? r->last_stderr : "no error message";
            rc = cp_error_set_reason(err, CP_ERR, CP_REASON_TOFU_FAILED, NULL, "%s failed (exit %d): %s", o->phase,
                                     res->exit_code, why);
        }
    }
    return rc;
}

cp_result cp_runner__run_phase(cp_runner *r, const phase_opts *o, cp_strv *args, int *code, cp_error *errp)
{
    cp_error e;
    cp_error_clear(&e);
    /* A fresh token for each tofu process, before its env points at it. */
    cp_result mint_rc = cp_runner__identity_refresh(r, o->phase, &e);
    if (mint_rc != CP_OK) {
        cp_runner__emit_system(r, CP_TFEV_PHASE_END, false, "%s: %s", o->phase, e.message);
        if (errp) *errp = e;
        return mint_rc;
    }
    cp_strv argv, env;
    cp_strv_init(&argv);
    cp_strv_init(&env);
    const char *cwd = o->cwd ? o->cwd : r->dir;
    cp_runner__build_argv(r, &argv, cwd, o->staging_init ? NULL : r->cache_dir, o->fill_cache);
    for (size_t i = 0; i < args->n; i++) cp_strv_add(&argv, args->v[i]);
    cp_runner__build_env(r, &env, o->data_dir ? o->data_dir : r->data_dir, o->workspace);

    r->phase = o->phase;
    r->lock_op = o->lock_op;
    r->json_outputs = o->json_outputs;
    r->phase_wall = cp_now_ms();
    r->phase_mono = cp_mono_ms();
    r->saw_work = false;
    r->probes = 0;
    r->next_probe = 0;
    r->diag[0] = r->last_stderr[0] = r->lock_holder[0] = r->stray_id[0] = '\0';
    r->release_failed = false;
    r->errors = 0;
    cp_buf_reset(&r->stderr_text);
    cp_runner__emit_system(r, CP_TFEV_PHASE_START, true, "%s started%s", o->phase, r->sandboxed ? " (bubblewrap)" : "");

    int timeout_ms = (r->cfg.phase_timeout_s > 0 ? r->cfg.phase_timeout_s : 3600) * 1000;
    int grace_ms = r->cfg.cancel_grace_s < 0 ? 0 : (r->cfg.cancel_grace_s ? r->cfg.cancel_grace_s : 60) * 1000;
    cp_proc_spec spec = {.path = argv.v[0],
                         .argv = argv.v,
                         .envp = env.v,
                         .cwd = cwd,
                         .pass_fd = r->creds_fd,
                         .rlimit_cpu_s = r->cfg.rlimit_cpu_s,
                         .rlimit_as_bytes = r->cfg.rlimit_as_bytes,
                         .rlimit_nofile = r->cfg.rlimit_nofile,
                         .timeout_ms = timeout_ms,
                         .grace_ms = grace_ms,
                         .wrapper_ignores_sigint = r->sandboxed,
                         .max_line = LINE_MAX_BYTES,
                         .capture_stdout = o->capture,
                         .on_line = on_line,
                         .on_start = on_start,
                         .on_tick = on_tick,
                         .ctx = r,
                         .cancel = r->cancel};
    cp_proc_result res;
    cp_error perr;
    cp_error_clear(&perr);
    int64_t start_us = cp_metrics_mono_us();
    cp_result rc = cp_proc_run(&spec, &res, &perr);
    cp_metrics_phase_observe(r->destroy && !strcmp(o->phase, "apply") ? "destroy" : o->phase, r->cloud,
                             cp_metrics_mono_us() - start_us);
    atomic_store(&r->pid, 0);
    r->lock_op = NULL;
    cp_strv_free(&argv);
    cp_strv_free(&env);

    rc = phase_outcome(r, o, rc, &perr, &res, timeout_ms, code, &e);
    if (rc == CP_OK)
        cp_runner__emit_system(r, CP_TFEV_PHASE_END, true, "%s finished in %lld ms", o->phase,
                               (long long)res.duration_ms);
    else
        cp_runner__emit_system(r, CP_TFEV_PHASE_END, false, "%s", e.message);
    if (rc != CP_OK && errp) *errp = e;
    return rc;
}

void cp_runner__args(cp_strv *a, const char *const *list)
{
    cp_strv_init(a);
    for (; *list; list++) cp_strv_add(a, *list);
}
