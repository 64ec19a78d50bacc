#include "engine/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ids.h"
#include "core/secretfile.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/proc.h"
#include "engine/sandbox.h"
#include "engine/workspace.h"

#define PLAN_MAX ((size_t)64 << 20)
#define SHOW_MAX ((size_t)64 << 20)
#define OUTPUT_MAX ((size_t)16 << 20)
#define LINE_MAX_BYTES (256 * 1024)
#define DIAG_MAX 1024
#define PROBE_FIRST_MS 1500   /* probe for the lock id this long into a phase even without a sign */
#define PROBE_EVERY_MS 2000
#define PROBE_MAX 6
#define PROBE_TIMEOUT_MS 15000  /* the main phase's cancel/timeout wait for it */
#define STATE_PROFILE "cloudplane-state"
#define NIL_LOCK_ID "00000000-0000-0000-0000-000000000000"
#define DIR_MAX 2048  /* longest configured directory; what is appended stays below PATH_MAX - DIR_MAX */

struct cp_runner {
    cp_runner_config cfg;       /* strings borrowed from the caller's config */
    char run_id[32];
    char resource_id[32];
    char module[64];
    char tofu[PATH_MAX];
    char tofu_dir[PATH_MAX];
    char modules_dir[PATH_MAX];
    char dir[PATH_MAX];         /* the run dir */
    char data_dir[PATH_MAX];    /* TF_DATA_DIR */
    char cache_dir[PATH_MAX];   /* shared init, "" when init runs per run */
    char state_root[PATH_MAX];  /* local backend: workspace_dir */
    char state_dir[PATH_MAX];   /* local backend: this resource's state dir */
    char hostname[48];
    char *backend_json;         /* backend_override.tf.json text (also hashed for the cache) */
    char *cli_json;             /* CLI config text */
    bool sandboxed, initialized, have_plan;
    cp_strv env;                /* base environment, without TF_DATA_DIR / TF_WORKSPACE */
    int creds_fd;               /* state backend credentials file (memfd), -1 */
    cp_redact *redact;
    cp_proc_cancel *cancel;
    atomic_int pid;
    cp_tfev_fn on_event;
    void *ctx;
    char lock_id[40];
    char version[32];

    /* the phase running now */
    const char *phase;
    const char *lock_op;        /* lock operation expected in this phase, NULL if it takes no lock */
    bool json_outputs;          /* keep the stream's outputs event */
    int64_t phase_wall, phase_mono;
    bool saw_work;              /* an event after the lock was taken */
    int probes;
    int64_t next_probe;
    char diag[DIAG_MAX];        /* first error diagnostic */
    char last_stderr[256];      /* first non-empty stderr line of the phase */
    cp_buf stderr_text;         /* the phase's stderr, bounded */
    char lock_holder[512];      /* set when the phase failed on someone else's lock */
    char stray_id[40];          /* the lock in that error (or in a failed release) is this run's own */
    bool release_failed;        /* tofu could not release its lock (the work itself was done) */
    int errors;                 /* error diagnostics in this phase */
    json_t *stream_outputs;
};

static const char *or_empty(const char *s) { return s ? s : ""; }
static bool set(const char *s) { return s && *s; }

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* snprintf for paths and messages. Paths always fit: cp_runner_open bounds
 * every configured directory (DIR_MAX) well below PATH_MAX. */
static bool pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

static bool plain_id(const char *s)
{
    if (!s || strlen(s) != 26) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z'))) return false;
    return true;
}

static void emit(cp_runner *r, cp_tfev *ev)
{
    if (!ev->phase) ev->phase = r->phase;
    if (!ev->stream) ev->stream = "system";
    if (!ev->level) ev->level = "info";
    if (!ev->message) ev->message = "";
    if (r->on_event) r->on_event(r->ctx, ev);
}

/* A system event whose text may hold user or tofu text: redacted too. */
static void emit_system(cp_runner *r, cp_tfev_type type, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void emit_system(cp_runner *r, cp_tfev_type type, bool ok, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *red = cp_redact_str(r->redact, msg, strlen(msg), NULL);
    cp_tfev ev = {.type = type, .ok = ok, .message = red, .level = ok ? "info" : "error"};
    if (type == CP_TFEV_LOCK) ev.lock_id = r->lock_id;
    emit(r, &ev);
    free(red);
}

/* ---------------------------------------------------------------- lock info */

/* Value of "Name:" in tofu's "Lock Info:" block. */
static bool lock_field(const char *text, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ' || *p == '\t') p++;
            size_t n = strcspn(p, "\r\n");
            while (n && p[n - 1] == ' ') n--;
            snprintf(out, cap, "%.*s", (int)n, p);
            return true;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return false;
}

/* "2026-11-25T21:08:18.038208688Z" (lock file) or "2026-11-25 21:08:18.038208688 +0000 UTC"
 * (tofu's text); both UTC. Milliseconds since the epoch, -1 if unreadable. */
static int64_t parse_created(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    const char *p = s + n;
    if (*p == '.') {
        int64_t frac = 0, scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
        ms += frac;
    }
    return ms;
}

/* Accepts a lock as this phase's own: taken after the phase started, for the
 * operation the phase performs, and (in bwrap) by our host name. */
static void consider_lock(cp_runner *r, const char *id, const char *op, const char *who, const char *created)
{
    if (r->lock_id[0] || !r->lock_op || !id || strlen(id) != 36) return;
    if (!op || strcmp(op, r->lock_op) != 0) return;
    int64_t c = parse_created(or_empty(created));
    if (c < 0 || c + 1 < r->phase_wall) return;
    if (r->sandboxed) {
        size_t hl = strlen(r->hostname), wl = strlen(or_empty(who));
        if (wl <= hl || who[wl - hl - 1] != '@' || strcmp(who + wl - hl, r->hostname) != 0) return;
    }
    copy_str(r->lock_id, sizeof r->lock_id, id);
    emit_system(r, CP_TFEV_LOCK, true, "state lock %s taken by %s (%s)", id, or_empty(who), op);
}

static void probe_line(void *ctx, cp_proc_stream st, const char *line, size_t len, bool truncated)
{
    CP_UNUSED(st);
    CP_UNUSED(truncated);
    cp_buf *b = ctx;
    cp_buf_add(b, line, len);
    cp_buf_add(b, "\n", 1);
}

static void build_env(cp_runner *r, cp_strv *env, const char *data_dir, bool workspace);
static void build_argv(cp_runner *r, cp_strv *argv, const char *cwd);

typedef struct {
    char id[64], op[64], who[256], created[80];
} lock_info;

/* Reads the lock on this resource's state right now without touching it: the
 * local lock file, or for s3 a force-unlock with a nil id, which tofu refuses
 * while printing the current lock's info. False when there is none (or it
 * cannot be read). */
static bool read_lock_at(cp_runner *r, const char *cwd, const char *data_dir, bool workspace, lock_info *li)
{
    memset(li, 0, sizeof *li);
    if (r->cfg.state.kind == CP_STATE_LOCAL) {
        char path[PATH_MAX], *data = NULL;
        pathf(path, sizeof path, "%s/.terraform.tfstate.lock.info", r->state_dir);
        if (cp_workspace_read(path, 65536, &data, NULL, NULL) != CP_OK) return false;
        json_t *j = json_loads(data, 0, NULL);
        free(data);
        copy_str(li->id, sizeof li->id, or_empty(json_string_value(json_object_get(j, "ID"))));
        copy_str(li->op, sizeof li->op, or_empty(json_string_value(json_object_get(j, "Operation"))));
        copy_str(li->who, sizeof li->who, or_empty(json_string_value(json_object_get(j, "Who"))));
        copy_str(li->created, sizeof li->created, or_empty(json_string_value(json_object_get(j, "Created"))));
        json_decref(j);
        return li->id[0] != '\0';
    }
    cp_strv argv, env;
    cp_strv_init(&argv);
    cp_strv_init(&env);
    build_argv(r, &argv, cwd);
    cp_strv_add(&argv, "force-unlock");
    cp_strv_add(&argv, "-force");
    cp_strv_add(&argv, "-no-color");
    cp_strv_add(&argv, NIL_LOCK_ID);
    build_env(r, &env, data_dir, workspace);
    cp_buf out;
    cp_buf_init(&out, 65536);
    cp_proc_spec spec = {.path = argv.v[0], .argv = argv.v, .envp = env.v, .cwd = cwd, .pass_fd = r->creds_fd,
                         .rlimit_as_bytes = r->cfg.rlimit_as_bytes, .rlimit_nofile = r->cfg.rlimit_nofile,
                         .timeout_ms = PROBE_TIMEOUT_MS, .grace_ms = 1000, .on_line = probe_line, .ctx = &out,
                         .cancel = r->cancel};
    cp_proc_result res;
    bool found = false;
    if (cp_proc_run(&spec, &res, NULL) == CP_OK && strstr(cp_buf_cstr(&out), "Lock Info:")) {
        const char *t = strstr(cp_buf_cstr(&out), "Lock Info:");
        found = lock_field(t, "ID", li->id, sizeof li->id) && lock_field(t, "Operation", li->op, sizeof li->op) &&
                lock_field(t, "Who", li->who, sizeof li->who) &&
                lock_field(t, "Created", li->created, sizeof li->created);
    }
    cp_buf_free(&out);
    cp_strv_free(&argv);
    cp_strv_free(&env);
    return found;
}

static void probe_lock(cp_runner *r)
{
    lock_info li;
    if (read_lock_at(r, r->dir, r->data_dir, true, &li)) consider_lock(r, li.id, li.op, li.who, li.created);
}

/* ---------------------------------------------------------------- phases */

/* A lock whose holder is this very run. Only provable in bubblewrap, where the
 * host name is the run: such a lock is a stray left by a request the AWS SDK
 * retried after it had succeeded (seen with emulators under load). */
static bool own_lock(const cp_runner *r, const char *who)
{
    if (!r->sandboxed || r->cfg.state.kind != CP_STATE_S3 || !who) return false;
    size_t hl = strlen(r->hostname), wl = strlen(who);
    return wl > hl && who[wl - hl - 1] == '@' && strcmp(who + wl - hl, r->hostname) == 0;
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
        /* Taking the lock failed: for the run ("Error acquiring the state lock")
         * or for tofu's step that creates a new workspace ("failed to lock"). */
        if (strstr(or_empty(ev->summary), "Error acquiring the state lock") ||
            (strstr(or_empty(ev->summary), "failed to lock") && strstr(or_empty(ev->summary), "Lock Info:"))) {
            char id[64] = "?", who[256] = "?", op[64] = "?", created[80] = "?";
            const char *d = strstr(or_empty(ev->detail), "Lock Info:") ? ev->detail : or_empty(ev->summary);
            lock_field(d, "ID", id, sizeof id);
            lock_field(d, "Who", who, sizeof who);
            lock_field(d, "Operation", op, sizeof op);
            lock_field(d, "Created", created, sizeof created);
            snprintf(r->lock_holder, sizeof r->lock_holder, "state is locked by %s since %s (lock id %s, %s)", who,
                     created, id, op);
        }
        /* Any lock error names the lock it met; is it our own? */
        const char *li = strstr(or_empty(ev->detail), "Lock Info:");
        if (!li) li = strstr(or_empty(ev->summary), "Lock Info:");
        if (li) {
            char id[64] = "", who[256] = "";
            lock_field(li, "ID", id, sizeof id);
            lock_field(li, "Who", who, sizeof who);
            bool release = strstr(or_empty(ev->summary), "Error releasing the state lock") != NULL;
            r->release_failed |= release;
            if (own_lock(r, who) || (release && r->lock_id[0] && strcmp(id, r->lock_id) == 0))
                copy_str(r->stray_id, sizeof r->stray_id, id);
        }
    }
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
    emit(r, ev);
    cp_tfev_parsed_free(&p);
}

static void on_tick(void *ctx)
{
    cp_runner *r = ctx;
    if (!r->lock_op || r->lock_id[0] || r->probes >= PROBE_MAX) return;
    int64_t now = cp_mono_ms();
    if (!r->saw_work && now - r->phase_mono < PROBE_FIRST_MS) return;
    if (now < r->next_probe) return;
    r->probes++;
    r->next_probe = now + PROBE_EVERY_MS;
    probe_lock(r);
}

static void on_start(void *ctx, pid_t pid)
{
    cp_runner *r = ctx;
    atomic_store(&r->pid, (int)pid);
}

static void build_env(cp_runner *r, cp_strv *env, const char *data_dir, bool workspace)
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

static void build_argv(cp_runner *r, cp_strv *argv, const char *cwd)
{
    if (r->sandboxed) {
        cp_sandbox_mount m[8];
        size_t n = 0;
        if (!under_usr(r->tofu_dir)) m[n++] = (cp_sandbox_mount){r->tofu_dir, false};
        /* The run dir holds HOME and TMPDIR even when tofu works elsewhere (the shared init). */
        m[n++] = (cp_sandbox_mount){r->dir, true};
        if (strcmp(cwd, r->dir) != 0) m[n++] = (cp_sandbox_mount){cwd, true};
        if (r->cache_dir[0]) m[n++] = (cp_sandbox_mount){r->cache_dir, false};
        if (r->state_dir[0]) m[n++] = (cp_sandbox_mount){r->state_dir, true};
        if (set(r->cfg.plugin_cache_dir)) m[n++] = (cp_sandbox_mount){r->cfg.plugin_cache_dir, true};
        if (set(r->cfg.plugin_mirror_dir)) m[n++] = (cp_sandbox_mount){r->cfg.plugin_mirror_dir, false};
        cp_sandbox_argv(argv, r->hostname, cwd, m, n);
    }
    cp_strv_add(argv, r->tofu);
}

typedef struct {
    const char *phase;
    const char *cwd;            /* default: run dir */
    const char *data_dir;       /* default: r->data_dir */
    bool workspace;             /* set TF_WORKSPACE */
    const char *lock_op;        /* lock this phase takes ("OperationTypePlan"/"...Apply"), NULL for none */
    bool json_outputs;
    cp_buf *capture;            /* stdout captured whole */
    int ok_codes[3];            /* accepted exit codes besides 0, -1 terminated */
} phase_opts;

/* Runs one tofu command; CP_OK when it exited with an accepted code, which
 * goes to *code. Errors name the phase; lock conflicts are CP_ECONFLICT. */
static cp_result run_phase(cp_runner *r, const phase_opts *o, cp_strv *args, int *code, cp_error *errp)
{
    cp_error e, *err = &e;
    cp_error_clear(&e);
    cp_strv argv, env;
    cp_strv_init(&argv);
    cp_strv_init(&env);
    const char *cwd = o->cwd ? o->cwd : r->dir;
    build_argv(r, &argv, cwd);
    for (size_t i = 0; i < args->n; i++) cp_strv_add(&argv, args->v[i]);
    build_env(r, &env, o->data_dir ? o->data_dir : r->data_dir, o->workspace);

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
    emit_system(r, CP_TFEV_PHASE_START, true, "%s started%s", o->phase, r->sandboxed ? " (bubblewrap)" : "");

    int timeout_ms = (r->cfg.phase_timeout_s > 0 ? r->cfg.phase_timeout_s : 3600) * 1000;
    int grace_ms = r->cfg.cancel_grace_s < 0 ? 0 : (r->cfg.cancel_grace_s ? r->cfg.cancel_grace_s : 60) * 1000;
    cp_proc_spec spec = {.path = argv.v[0], .argv = argv.v, .envp = env.v, .cwd = cwd, .pass_fd = r->creds_fd,
                         .rlimit_cpu_s = r->cfg.rlimit_cpu_s, .rlimit_as_bytes = r->cfg.rlimit_as_bytes,
                         .rlimit_nofile = r->cfg.rlimit_nofile, .timeout_ms = timeout_ms, .grace_ms = grace_ms,
                         .wrapper_ignores_sigint = r->sandboxed,
                         .max_line = LINE_MAX_BYTES, .capture_stdout = o->capture, .on_line = on_line,
                         .on_start = on_start, .on_tick = on_tick, .ctx = r, .cancel = r->cancel};
    cp_proc_result res;
    cp_error perr;
    cp_result rc = cp_proc_run(&spec, &res, &perr);
    atomic_store(&r->pid, 0);
    r->lock_op = NULL;
    cp_strv_free(&argv);
    cp_strv_free(&env);

    if (rc == CP_EAGAIN) {
        rc = cp_error_set(err, CP_ERR, "canceled", NULL, "%s canceled", o->phase);
    } else if (rc != CP_OK) {
        rc = cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "%s", perr.message);
    } else if (res.canceled) {
        rc = cp_error_set(err, CP_ERR, "canceled", NULL, "%s canceled%s", o->phase,
                          res.killed ? " (killed after the grace period)" : "");
    } else if (res.timed_out) {
        rc = cp_error_set(err, CP_ERR, "timed_out", NULL, "%s timed out after %d s%s", o->phase, timeout_ms / 1000,
                          res.killed ? " (killed after the grace period)" : "");
    } else if (res.capture_overflow) {
        rc = cp_error_set(err, CP_ERR, "tofu_failed", NULL, "%s output too large", o->phase);
    } else {
        bool ok = res.exit_code == 0;
        for (int i = 0; i < 3 && o->ok_codes[i] > 0 && !ok; i++) ok = res.exit_code == o->ok_codes[i];
        if (ok) {
            *code = res.exit_code;
        } else if (r->lock_holder[0]) {
            rc = cp_error_set(err, CP_ECONFLICT, "state_locked", NULL, "%s", r->lock_holder);
        } else if (res.term_signal) {
            rc = cp_error_set(err, CP_ERR, "tofu_failed", NULL, "%s ended by signal %d", o->phase, res.term_signal);
        } else {
            const char *why = r->diag[0] ? r->diag : r->last_stderr[0] ? r->last_stderr : "no error message";
            rc = cp_error_set(err, CP_ERR, "tofu_failed", NULL, "%s failed (exit %d): %s", o->phase, res.exit_code,
                              why);
        }
    }
    if (rc == CP_OK) emit_system(r, CP_TFEV_PHASE_END, true, "%s finished in %lld ms", o->phase,
                                 (long long)res.duration_ms);
    else emit_system(r, CP_TFEV_PHASE_END, false, "%s", e.message);
    if (rc != CP_OK && errp) *errp = e;
    return rc;
}

static cp_result unlock_stray(cp_runner *r, const char *id);

/* run_phase for a phase that takes the state lock, healing the one case where
 * the lock in the way is this run's own (see own_lock; tofu's "init" lock for
 * a new workspace or its operation lock): it is freed by its id and the phase
 * retried once. An apply whose only error is that its own lock could not be
 * released did its work (the state was written first): the stray lock is
 * freed and the apply counts as done. A plan in that case is retried. */
static cp_result run_locked(cp_runner *r, const phase_opts *o, cp_strv *args, int *code, cp_error *err)
{
    cp_error e;
    cp_error_clear(&e);
    cp_result rc = run_phase(r, o, args, code, &e);
    bool only_release = rc != CP_OK && r->release_failed && r->errors == 1 && strcmp(e.code, "tofu_failed") == 0;
    if (rc != CP_OK && r->stray_id[0] && (!r->release_failed || only_release)) {
        char id[40];
        copy_str(id, sizeof id, r->stray_id);
        bool applied = only_release && strcmp(or_empty(o->lock_op), "OperationTypeApply") == 0;
        emit_system(r, CP_TFEV_LOG, true, "state lock %s is this run's own stray lock: freeing it%s", id,
                    applied ? " (the apply itself finished)" : " and retrying");
        if (unlock_stray(r, id) == CP_OK) {
            if (applied) {
                *code = 0;
                rc = CP_OK;
            } else {
                cp_error_clear(&e);
                rc = run_phase(r, o, args, code, &e);
            }
        }
    }
    if (rc != CP_OK && err) *err = e;
    return rc;
}

static void args_init(cp_strv *a, const char *const *list)
{
    cp_strv_init(a);
    for (; *list; list++) cp_strv_add(a, *list);
}

/* ---------------------------------------------------------------- init */

static cp_result init_here(cp_runner *r, const char *cwd, const char *data_dir, cp_error *err)
{
    static const char *const init_args[] = {"init", "-input=false", "-no-color", NULL};
    cp_strv a;
    args_init(&a, init_args);
    phase_opts o = {.phase = "init", .cwd = cwd, .data_dir = data_dir, .ok_codes = {-1}};
    int code;
    cp_result rc = run_phase(r, &o, &a, &code, err);
    cp_strv_free(&a);
    return rc;
}

/* Writes what tofu reads besides the module into dir. */
static cp_result write_overrides(cp_runner *r, const char *dir, cp_error *err)
{
    cp_result rc = cp_workspace_write(dir, "backend_override.tf.json", r->backend_json, strlen(r->backend_json), err);
    if (rc == CP_OK) rc = cp_workspace_write(dir, "cli.tfrc.json", r->cli_json, strlen(r->cli_json), err);
    return rc;
}

/* The shared init: one data dir per module content + backend + binary, made
 * once under a file lock (several workers may start at once) and renamed into
 * place, so a half-made one is never used. */
static cp_result init_shared(cp_runner *r, cp_error *err)
{
    struct stat st;
    char hash[65], lockpath[PATH_MAX + 8], data[PATH_MAX + 8];
    if (stat(r->tofu, &st) != 0) return cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "tofu not found");
    cp_buf extra;
    cp_buf_init(&extra, 1 << 20);
    cp_buf_printf(&extra, "%s\n%lld\n%lld\n%s\n%s", r->tofu, (long long)st.st_size, (long long)st.st_mtime,
                  r->backend_json, r->cli_json);
    char mod[PATH_MAX];
    pathf(mod, sizeof mod, "%s/%s", r->modules_dir, r->module);
    cp_result rc = cp_workspace_hash(mod, cp_buf_cstr(&extra), hash, err);
    cp_buf_free(&extra);
    if (rc != CP_OK) return rc;
    hash[16] = '\0';
    pathf(r->cache_dir, sizeof r->cache_dir, "%s/%s-%s", r->cfg.init_cache_dir, r->module, hash);
    pathf(data, sizeof data, "%s/data", r->cache_dir);
    if (stat(data, &st) == 0) goto use;

    pathf(lockpath, sizeof lockpath, "%s.lock", r->cache_dir);
    int lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0) return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot open %s: %s", lockpath, strerror(errno));
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {}
    if (stat(data, &st) != 0) {
        char staging[PATH_MAX], name[64], rnd[9];
        cp_rand_hex(rnd, 4);
        snprintf(name, sizeof name, "staging-%s.%s", r->run_id, rnd);
        rc = cp_workspace_mkdir(r->cfg.init_cache_dir, name, staging, sizeof staging, err);
        if (rc == CP_OK) rc = cp_workspace_copy_module(mod, staging, err);
        if (rc == CP_OK) rc = write_overrides(r, staging, err);
        if (rc == CP_OK) {
            char sdata[PATH_MAX + 8];
            pathf(sdata, sizeof sdata, "%s/data", staging);
            /* The staging dir is what the sandbox must see writable. */
            char keep[PATH_MAX];
            copy_str(keep, sizeof keep, r->cache_dir);
            r->cache_dir[0] = '\0';
            rc = init_here(r, staging, sdata, err);
            copy_str(r->cache_dir, sizeof r->cache_dir, keep);
        }
        if (rc == CP_OK && rename(staging, r->cache_dir) != 0)
            rc = cp_error_set(err, CP_ERR, "workspace", NULL, "cannot rename init cache: %s", strerror(errno));
        if (rc != CP_OK) cp_workspace_remove(staging);
    }
    flock(lfd, LOCK_UN);
    close(lfd);
    if (rc != CP_OK) {
        r->cache_dir[0] = '\0';
        return rc;
    }
use:
    pathf(r->data_dir, sizeof r->data_dir, "%s", data);
    /* Providers are pinned by the lock file init wrote next to the config. */
    char src[PATH_MAX + 32], dst[PATH_MAX + 32];
    pathf(src, sizeof src, "%s/.terraform.lock.hcl", r->cache_dir);
    pathf(dst, sizeof dst, "%s/.terraform.lock.hcl", r->dir);
    if (access(src, F_OK) == 0 && access(dst, F_OK) != 0) rc = cp_workspace_copy_file(src, dst, err);
    emit_system(r, CP_TFEV_LOG, true, "using the shared init for %s", r->module);
    return rc;
}

static cp_result ensure_init(cp_runner *r, cp_error *err)
{
    if (r->initialized) return CP_OK;
    cp_result rc = set(r->cfg.init_cache_dir) ? init_shared(r, err) : init_here(r, r->dir, r->data_dir, err);
    if (rc == CP_OK) r->initialized = true;
    return rc;
}

/* ---------------------------------------------------------------- open */

/* The backend configuration. explicit_key: the resource's state object named
 * directly in the default workspace (for force-unlock, which must not go
 * through tofu's "create the workspace" step); otherwise the workspace form
 * the runs use. Both address the same object and the same lock. */
static json_t *backend_json(const cp_runner *r, bool explicit_key)
{
    const cp_state_config *s = &r->cfg.state;
    json_t *b = json_object();
    if (s->kind == CP_STATE_LOCAL) {
        json_object_set_new(b, "workspace_dir", json_string(r->state_root));
        return json_pack("{s:{s:{s:o}}}", "terraform", "backend", "local", b);
    }
    json_object_set_new(b, "bucket", json_string(s->s3_bucket));
    const char *prefix = set(s->s3_key_prefix) ? s->s3_key_prefix : "cloudplane";
    if (explicit_key) {
        char key[512];
        snprintf(key, sizeof key, "%.400s/%s/terraform.tfstate", prefix, r->resource_id);
        json_object_set_new(b, "key", json_string(key));
    } else {
        json_object_set_new(b, "key", json_string("terraform.tfstate"));
        json_object_set_new(b, "workspace_key_prefix", json_string(prefix));
    }
    json_object_set_new(b, "region", json_string(set(s->s3_region) ? s->s3_region : "us-east-1"));
    json_t *ep = json_object();
    if (set(s->s3_endpoint)) json_object_set_new(ep, "s3", json_string(s->s3_endpoint));
    const char *ddb = set(s->s3_dynamodb_endpoint) ? s->s3_dynamodb_endpoint : s->s3_endpoint;
    if (set(s->s3_dynamodb_table) && set(ddb)) json_object_set_new(ep, "dynamodb", json_string(ddb));
    if (json_object_size(ep)) json_object_set_new(b, "endpoints", ep);
    else json_decref(ep);
    if (set(s->s3_dynamodb_table)) json_object_set_new(b, "dynamodb_table", json_string(s->s3_dynamodb_table));
    if (s->s3_use_lockfile) json_object_set_new(b, "use_lockfile", json_true());
    if (s->s3_path_style) json_object_set_new(b, "use_path_style", json_true());
    if (s->s3_skip_checks) {
        static const char *const skips[] = {"skip_credentials_validation", "skip_region_validation",
                                            "skip_requesting_account_id", "skip_metadata_api_check",
                                            "skip_s3_checksum"};
        for (size_t i = 0; i < CP_ARRAY_LEN(skips); i++) json_object_set_new(b, skips[i], json_true());
    }
    if (r->creds_fd >= 0) {
        /* The credentials never touch the disk: fd 3 is a memfd the child inherits. */
        json_object_set_new(b, "shared_credentials_files", json_pack("[s]", "/proc/self/fd/3"));
        json_object_set_new(b, "profile", json_string(STATE_PROFILE));
    }
    return json_pack("{s:{s:{s:o}}}", "terraform", "backend", "s3", b);
}

static json_t *cli_json(const cp_runner *r)
{
    json_t *c = json_object();
    json_object_set_new(c, "disable_checkpoint", json_true());
    if (set(r->cfg.plugin_cache_dir)) json_object_set_new(c, "plugin_cache_dir", json_string(r->cfg.plugin_cache_dir));
    if (set(r->cfg.plugin_mirror_dir))
        json_object_set_new(c, "provider_installation",
                            json_pack("[{s:[{s:s}]}]", "filesystem_mirror", "path", r->cfg.plugin_mirror_dir));
    return c;
}

static bool s3_value_ok(const char *s)
{
    return s && *s && strlen(s) < 512 && !strpbrk(s, "\r\n[]");
}

static cp_result make_creds_fd(cp_runner *r, cp_error *err)
{
    const cp_state_config *s = &r->cfg.state;
    if (s->kind != CP_STATE_S3 || !set(s->s3_access_key_id)) return CP_OK;
    if (!s3_value_ok(s->s3_access_key_id) || !s3_value_ok(s->s3_secret_access_key))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "state backend credentials are malformed");
    r->creds_fd = memfd_create("cloudplane-state-credentials", MFD_CLOEXEC);
    if (r->creds_fd < 0) return cp_error_set(err, CP_ERR, "workspace", NULL, "memfd_create: %s", strerror(errno));
    cp_buf b;
    cp_buf_init(&b, 4096);
    cp_buf_printf(&b, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", STATE_PROFILE, s->s3_access_key_id,
                  s->s3_secret_access_key);
    bool ok = write(r->creds_fd, b.data, b.len) == (ssize_t)b.len;
    explicit_bzero(b.data, b.len);
    cp_buf_free(&b);
    return ok ? CP_OK : cp_error_set(err, CP_ERR, "workspace", NULL, "cannot write the credentials memfd");
}

/* Credential names a cloud account may put in the child's environment. */
static bool credential_name_ok(const char *name, size_t len)
{
    static const char *const clouds[] = {"aws", "azure", "gcp", "sandbox"};
    for (size_t c = 0; c < CP_ARRAY_LEN(clouds); c++) {
        size_t n;
        const char *const *names = cp_catalog_credential_env(clouds[c], &n);
        for (size_t i = 0; i < n; i++)
            if (strlen(names[i]) == len && strncmp(names[i], name, len) == 0) return true;
    }
    return false;
}

static cp_result absolute(const char *in, char *out, size_t cap, const char *what, cp_error *err)
{
    char tmp[PATH_MAX];
    if (!set(in)) return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "%s is not set", what);
    if (!realpath(in, tmp)) return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "%s %s: %s", what, in, strerror(errno));
    copy_str(out, cap, tmp);
    return CP_OK;
}

cp_result cp_runner_open(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_runner **out, cp_error *err)
{
    *out = NULL;
    if (!plain_id(spec->run_id) || !plain_id(spec->resource_id))
        return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "run and resource ids must be platform ids");
    bool known = false;
    static const char *const clouds[] = {"aws", "azure", "gcp", "sandbox"}, *const kinds[] = {"vm", "storage"};
    for (size_t c = 0; c < 4; c++)
        for (size_t k = 0; k < 2; k++) known |= strcmp(or_empty(cp_catalog_module(clouds[c], kinds[k])), or_empty(spec->module)) == 0;
    if (!known) return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "unknown module '%.64s'", or_empty(spec->module));
    const cp_state_config *st = &cfg->state;
    const char *dirs[] = {cfg->tofu, cfg->modules_dir, cfg->runs_dir, cfg->init_cache_dir, cfg->plugin_cache_dir,
                          cfg->plugin_mirror_dir, st->local_dir};
    for (size_t i = 0; i < CP_ARRAY_LEN(dirs); i++)
        if (dirs[i] && strlen(dirs[i]) >= DIR_MAX)
            return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "path too long: %.64s...", dirs[i]);
    if (st->kind == CP_STATE_S3 && !set(st->s3_bucket))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "the s3 state backend needs a bucket");

    cp_runner *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->cfg = *cfg;
    r->creds_fd = -1;
    atomic_init(&r->pid, 0);
    cp_strv_init(&r->env);
    cp_buf_init(&r->stderr_text, 16384);
    r->redact = cp_redact_new();
    r->cancel = cp_proc_cancel_new();
    r->on_event = spec->on_event;
    r->ctx = spec->ctx;
    copy_str(r->run_id, sizeof r->run_id, spec->run_id);
    copy_str(r->resource_id, sizeof r->resource_id, spec->resource_id);
    copy_str(r->module, sizeof r->module, spec->module);
    /* One suffix per handle: its run dir, and in bwrap its host name, so that
     * tofu's lock info ("Who") names the run and this very attempt of it. */
    char rnd[9];
    cp_rand_hex(rnd, 4);
    snprintf(r->hostname, sizeof r->hostname, "cp-%s-%s", r->run_id, rnd);
    cp_result rc = CP_OK;
    json_t *bj = NULL, *cj = NULL;

    if ((rc = absolute(cfg->tofu, r->tofu, sizeof r->tofu, "tofu binary", err)) != CP_OK) goto fail;
    if (access(r->tofu, X_OK) != 0) {
        rc = cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "tofu binary %s is not executable", r->tofu);
        goto fail;
    }
    copy_str(r->tofu_dir, sizeof r->tofu_dir, r->tofu);
    *strrchr(r->tofu_dir, '/') = '\0';
    if ((rc = absolute(cfg->modules_dir, r->modules_dir, sizeof r->modules_dir, "modules dir", err)) != CP_OK) goto fail;
    if ((rc = cp_mkdirs(or_empty(cfg->runs_dir), 0700, err)) != CP_OK) goto fail;
    if (set(cfg->init_cache_dir) && (rc = cp_mkdirs(cfg->init_cache_dir, 0700, err)) != CP_OK) goto fail;
    if (st->kind == CP_STATE_LOCAL) {
        if ((rc = cp_mkdirs(or_empty(st->local_dir), 0700, err)) != CP_OK) goto fail;
        if ((rc = absolute(st->local_dir, r->state_root, sizeof r->state_root, "state dir", err)) != CP_OK) goto fail;
        pathf(r->state_dir, sizeof r->state_dir, "%s/%s", r->state_root, r->resource_id);
        if ((rc = cp_mkdirs(r->state_dir, 0700, err)) != CP_OK) goto fail;
    }

    /* Environment from nothing: only what tofu needs and the credentials. */
    for (const char *const *e = spec->env; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || !credential_name_ok(*e, (size_t)(eq - *e))) {
            rc = cp_error_set(err, CP_EINVAL, "bad_request", NULL, "'%.*s' is not a credential variable",
                              eq ? (int)(eq - *e) : 32, *e);
            goto fail;
        }
        const char *v = eq + 1;
        cp_redact_add(r->redact, v, strlen(v));
        if (v[strspn(v, " \t\r\n")] == '{') cp_redact_add_json_values(r->redact, v);
    }
    if (st->kind == CP_STATE_S3) {
        cp_redact_add(r->redact, or_empty(st->s3_access_key_id), strlen(or_empty(st->s3_access_key_id)));
        cp_redact_add(r->redact, or_empty(st->s3_secret_access_key), strlen(or_empty(st->s3_secret_access_key)));
    }
    if ((rc = make_creds_fd(r, err)) != CP_OK) goto fail;

    r->sandboxed = cfg->use_bwrap && cp_sandbox_available();
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

    cp_strv_add(&r->env, "PATH=/usr/local/bin:/usr/bin:/bin");
    cp_strv_addf(&r->env, "HOME=%s", r->dir);
    cp_strv_addf(&r->env, "TMPDIR=%s/tmp", r->dir);
    cp_strv_add(&r->env, "TF_IN_AUTOMATION=1");
    cp_strv_add(&r->env, "TF_INPUT=0");
    cp_strv_add(&r->env, "CHECKPOINT_DISABLE=1");
    cp_strv_addf(&r->env, "TF_CLI_CONFIG_FILE=%s/cli.tfrc.json", r->dir);
    if (set(cfg->plugin_cache_dir)) cp_strv_addf(&r->env, "TF_PLUGIN_CACHE_DIR=%s", cfg->plugin_cache_dir);
    for (const char *const *e = spec->env; e && *e; e++) cp_strv_add(&r->env, *e);

    bj = backend_json(r, false);
    cj = cli_json(r);
    r->backend_json = json_dumps(bj, JSON_COMPACT | JSON_SORT_KEYS);
    r->cli_json = json_dumps(cj, JSON_COMPACT | JSON_SORT_KEYS);
    char mod[PATH_MAX + 64], tmp[PATH_MAX + 8];
    pathf(mod, sizeof mod, "%s/%s", r->modules_dir, r->module);
    pathf(tmp, sizeof tmp, "%s/tmp", r->dir);
    if (mkdir(tmp, 0700) != 0) rc = cp_error_set(err, CP_ERR, "workspace", NULL, "cannot create %s", tmp);
    if (rc == CP_OK) rc = cp_workspace_copy_module(mod, r->dir, err);
    if (rc == CP_OK) rc = write_overrides(r, r->dir, err);
    if (rc == CP_OK && spec->tfvars) rc = cp_workspace_write_json(r->dir, "terraform.tfvars.json", spec->tfvars, err);
    json_decref(bj);
    json_decref(cj);
    if (rc != CP_OK) goto fail;
    if (cfg->use_bwrap && !r->sandboxed) {
        cp_tfev ev = {.type = CP_TFEV_LOG, .phase = "setup", .level = "warn", .message = cp_sandbox_describe()};
        emit(r, &ev);
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
    if (r->dir[0] && !r->cfg.keep_workdir) cp_workspace_remove(r->dir);
    if (r->creds_fd >= 0) close(r->creds_fd);
    cp_strv_free(&r->env);
    cp_redact_free(r->redact);
    cp_proc_cancel_free(r->cancel);
    json_decref(r->stream_outputs);
    cp_buf_free(&r->stderr_text);
    free(r->backend_json);
    free(r->cli_json);
    free(r);
}

void cp_runner_cancel(cp_runner *r)
{
    cp_proc_cancel_request(r->cancel);
}

const char *cp_runner_lock_id(const cp_runner *r) { return r->lock_id; }
pid_t cp_runner_pid(const cp_runner *r) { return (pid_t)atomic_load(&((cp_runner *)r)->pid); }
bool cp_runner_sandboxed(const cp_runner *r) { return r->sandboxed; }
const char *cp_runner_tofu_version(const cp_runner *r) { return r->version; }
const char *cp_runner_dir(const cp_runner *r) { return r->dir; }

/* ---------------------------------------------------------------- plan / apply */

void cp_runner_plan_result_free(cp_runner_plan_result *p)
{
    json_decref(p->summary);
    free(p->plan);
    memset(p, 0, sizeof *p);
}

static const char *action_of(json_t *actions)
{
    size_t n = json_array_size(actions);
    const char *a0 = json_string_value(json_array_get(actions, 0));
    if (n == 2) return "replace";
    return a0 ? a0 : "no-op";
}

/* {add, change, destroy, resources:[{address, action}]} from `show -json`. */
static json_t *plan_summary(const cp_runner *r, const char *show, size_t len)
{
    json_t *j = json_loadb(show, len, 0, NULL);
    if (!j) return NULL;
    json_t *res = json_array();
    long add = 0, change = 0, destroy = 0;
    size_t i;
    json_t *rc;
    json_array_foreach(json_object_get(j, "resource_changes"), i, rc) {
        const char *action = action_of(json_object_get(json_object_get(rc, "change"), "actions"));
        if (strcmp(action, "no-op") == 0 || strcmp(action, "read") == 0) continue;
        if (strcmp(action, "create") == 0) add++;
        else if (strcmp(action, "update") == 0) change++;
        else if (strcmp(action, "delete") == 0) destroy++;
        else if (strcmp(action, "replace") == 0) add++, destroy++;
        json_array_append_new(res, json_pack("{s:s?,s:s}", "address", json_string_value(json_object_get(rc, "address")),
                                             "action", action));
    }
    json_decref(j);
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

cp_result cp_runner_plan(cp_runner *r, cp_run_op op, cp_runner_plan_result *out, cp_error *err)
{
    memset(out, 0, sizeof *out);
    cp_result rc = ensure_init(r, err);
    if (rc != CP_OK) return rc;
    char path[PATH_MAX + 16];
    pathf(path, sizeof path, "%s/plan.bin", r->dir);
    unlink(path);
    r->have_plan = false;

    cp_strv a;
    state_cmd(r, &a, "plan");
    cp_strv_add(&a, "-detailed-exitcode");
    cp_strv_add(&a, "-out=plan.bin");
    if (op == CP_RUN_DESTROY) cp_strv_add(&a, "-destroy");
    phase_opts po = {.phase = "plan", .workspace = true, .lock_op = "OperationTypePlan", .ok_codes = {2, -1}};
    int code = 1;
    rc = run_locked(r, &po, &a, &code, err);
    cp_strv_free(&a);
    if (rc != CP_OK) return rc;
    out->changes = code == 2;

    static const char *const show_args[] = {"show", "-json", "-no-color", "plan.bin", NULL};
    cp_buf show;
    cp_buf_init(&show, SHOW_MAX);
    cp_strv_init(&a);
    args_init(&a, show_args);
    phase_opts so = {.phase = "show", .workspace = true, .capture = &show, .ok_codes = {-1}};
    rc = run_phase(r, &so, &a, &code, err);
    cp_strv_free(&a);
    if (rc == CP_OK) {
        out->summary = plan_summary(r, cp_buf_cstr(&show), show.len);
        if (!out->summary) rc = cp_error_set(err, CP_ERR, "tofu_failed", NULL, "show -json gave no plan");
    }
    cp_buf_free(&show);
    char *plan = NULL;
    if (rc == CP_OK) rc = cp_workspace_read(path, PLAN_MAX, &plan, &out->plan_len, err);
    if (rc != CP_OK) {
        free(plan);
        cp_runner_plan_result_free(out);
        return rc;
    }
    json_object_set_new(out->summary, "changes", json_boolean(out->changes));
    out->plan = (unsigned char *)plan;
    r->have_plan = true;
    return CP_OK;
}

/* {name: value} from tofu's outputs object; sensitive values are masked. */
static json_t *outputs_map(const cp_runner *r, json_t *raw)
{
    json_t *m = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(raw, k, v) {
        json_t *val = json_object_get(v, "value");
        if (json_is_true(json_object_get(v, "sensitive"))) json_object_set_new(m, k, json_string(CP_REDACT_MASK));
        else if (val) json_object_set(m, k, val);
    }
    cp_redact_json(r->redact, m);
    return m;
}

cp_result cp_runner_outputs(cp_runner *r, json_t **outputs, cp_error *err)
{
    *outputs = NULL;
    cp_result rc = ensure_init(r, err);
    if (rc != CP_OK) return rc;
    static const char *const out_args[] = {"output", "-json", "-no-color", NULL};
    cp_strv a;
    args_init(&a, out_args);
    cp_buf buf;
    cp_buf_init(&buf, OUTPUT_MAX);
    phase_opts o = {.phase = "output", .workspace = true, .capture = &buf, .ok_codes = {-1}};
    int code;
    rc = run_phase(r, &o, &a, &code, err);
    cp_strv_free(&a);
    if (rc == CP_OK) {
        json_t *raw = json_loadb(cp_buf_cstr(&buf), buf.len, 0, NULL);
        if (json_is_object(raw)) *outputs = outputs_map(r, raw);
        else rc = cp_error_set(err, CP_ERR, "tofu_failed", NULL, "output -json gave no JSON object");
        json_decref(raw);
    }
    cp_buf_free(&buf);
    return rc;
}

static cp_result apply_args(cp_runner *r, cp_strv *a, const char *phase_name, bool json_out, int *code, cp_error *err)
{
    json_decref(r->stream_outputs);
    r->stream_outputs = NULL;
    phase_opts o = {.phase = phase_name, .workspace = true, .lock_op = "OperationTypeApply", .json_outputs = json_out,
                    .ok_codes = {-1}};
    return run_locked(r, &o, a, code, err);
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
        json_object_foreach(r->stream_outputs, k, v)
            if (!json_object_get(v, "value") && !json_is_true(json_object_get(v, "sensitive"))) complete = false;
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
    cp_result rc = ensure_init(r, err);
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
    cp_result rc = ensure_init(r, err);
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

cp_result cp_runner_run(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_run_op op, json_t **plan_summary_out,
                        json_t **outputs, char lock_id[37], cp_error *err)
{
    if (plan_summary_out) *plan_summary_out = NULL;
    if (outputs) *outputs = NULL;
    if (lock_id) lock_id[0] = '\0';
    cp_runner *r;
    cp_result rc = cp_runner_open(cfg, spec, &r, err);
    if (rc != CP_OK) return rc;
    if (cfg->fast_apply) {
        rc = cp_runner_apply_auto(r, op, outputs, err);
    } else {
        cp_runner_plan_result plan;
        rc = cp_runner_plan(r, op, &plan, err);
        if (rc == CP_OK && plan_summary_out) *plan_summary_out = json_incref(plan.summary);
        if (rc == CP_OK) {
            if (plan.changes) rc = cp_runner_apply(r, NULL, 0, op == CP_RUN_DESTROY ? NULL : outputs, err);
            else if (op == CP_RUN_APPLY) rc = outputs ? cp_runner_outputs(r, outputs, err) : CP_OK;
            if (rc == CP_OK && op == CP_RUN_DESTROY && outputs) *outputs = json_object();
        }
        cp_runner_plan_result_free(&plan);
    }
    if (lock_id) copy_str(lock_id, 37, r->lock_id);
    cp_runner_close(r);
    return rc;
}

/* ---------------------------------------------------------------- force-unlock */

/* Where force-unlock (and reading the lock) runs: for s3 a side dir whose
 * backend names the state object directly, with no workspace (see unlock_id). */
static cp_result unlock_place(cp_runner *r, const char **cwd, const char **data_dir, bool *workspace, char *dir,
                              char *data, cp_error *err)
{
    cp_result rc = CP_OK;
    *cwd = r->dir;
    *data_dir = r->data_dir;
    *workspace = true;
    if (r->cfg.state.kind != CP_STATE_S3) return ensure_init(r, err);
    pathf(dir, PATH_MAX, "%s/unlock", r->dir);
    pathf(data, PATH_MAX + 16, "%s/.tfdata", dir);
    if (access(data, F_OK) != 0) {
        json_t *bj = backend_json(r, true);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = cp_error_set(err, CP_ERR, "workspace", NULL, "cannot create %s", dir);
        if (rc == CP_OK) rc = cp_workspace_write_json(dir, "backend.tf.json", bj, err);
        json_decref(bj);
        if (rc == CP_OK) rc = init_here(r, dir, data, err);
        if (rc != CP_OK) return rc;
    }
    *cwd = dir;
    *data_dir = data;
    *workspace = false;
    return CP_OK;
}

/* `force-unlock -force <id>` on this resource's state: CP_OK when freed or
 * already free, CP_ECONFLICT when another lock holds the state now. For s3 it
 * runs in a side dir with the state object named directly: tofu's workspace
 * path would first try to create a workspace that is not there yet, under a
 * lock of its own, which is exactly what a stray "init" lock blocks. */
static cp_result unlock_id(cp_runner *r, const char *id, cp_error *err)
{
    char dir[PATH_MAX], data[PATH_MAX + 16];
    const char *cwd, *data_dir;
    bool workspace;
    cp_result rc = unlock_place(r, &cwd, &data_dir, &workspace, dir, data, err);
    if (rc != CP_OK) return rc;
    cp_strv a;
    cp_strv_init(&a);
    cp_strv_add(&a, "force-unlock");
    cp_strv_add(&a, "-force");
    cp_strv_add(&a, "-no-color");
    cp_strv_add(&a, id);
    phase_opts o = {.phase = "force-unlock", .cwd = cwd, .data_dir = data_dir, .workspace = workspace,
                    .ok_codes = {-1}};
    int code;
    cp_error e2;
    rc = run_phase(r, &o, &a, &code, &e2);
    cp_strv_free(&a);
    if (rc != CP_OK) {
        /* tofu prints these as plain text on stderr. */
        const char *why = cp_buf_cstr(&r->stderr_text);
        if (strstr(why, "does not match existing lock"))
            rc = cp_error_set(err, CP_ECONFLICT, "lock_mismatch", "lock_id",
                              "the state is locked by someone else now; lock %s is gone", id);
        else if (strstr(why, "no lock info found") || strstr(why, "not locked") ||
                 (strstr(why, "lock info") && strstr(why, "NoSuchKey")) /* S3 lock file gone */)
            rc = CP_OK; /* already free; a local lock dies with its process ("not locked") */
        else if (err) *err = e2;
    }
    return rc;
}

static cp_result unlock_stray(cp_runner *r, const char *id)
{
    return unlock_id(r, id, NULL);
}

static bool lock_id_ok(const char *id)
{
    if (!id || strlen(id) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = id[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return strcmp(id, NIL_LOCK_ID) != 0;
}

cp_result cp_runner_force_unlock(const cp_runner_config *cfg, const cp_runner_spec *spec, const char *lock_id,
                                 cp_error *err)
{
    if (!lock_id_ok(lock_id)) return cp_error_set(err, CP_EINVAL, "bad_request", "lock_id", "not a lock id");
    /* Its own run id: the dead run's may still name a leftover dir or staging area. */
    char own_id[CP_ID_LEN + 1];
    cp_id_new(own_id);
    cp_runner_spec s = *spec;
    s.run_id = own_id;
    s.tfvars = NULL;
    cp_runner *r;
    cp_result rc = cp_runner_open(cfg, &s, &r, err);
    if (rc != CP_OK) return rc;
    rc = unlock_id(r, lock_id, err);
    cp_runner_close(r);
    return rc;
}

cp_result cp_runner_free_lock_of(const cp_runner_config *cfg, const cp_runner_spec *spec, const char *dead_run_id,
                                 bool *freed, cp_error *err)
{
    *freed = false;
    char own_id[CP_ID_LEN + 1];
    cp_id_new(own_id);
    cp_runner_spec s = *spec;
    s.run_id = own_id;
    s.tfvars = NULL;
    cp_runner *r;
    cp_result rc = cp_runner_open(cfg, &s, &r, err);
    if (rc != CP_OK) return rc;
    lock_info li;
    char mark[64];
    /* Only a lock whose holder is the dead run's own sandbox host. */
    snprintf(mark, sizeof mark, "@cp-%s-", dead_run_id);
    char dir[PATH_MAX], data[PATH_MAX + 16];
    const char *cwd, *data_dir;
    bool workspace;
    rc = unlock_place(r, &cwd, &data_dir, &workspace, dir, data, err);
    if (rc == CP_OK && read_lock_at(r, cwd, data_dir, workspace, &li) && strstr(li.who, mark) && lock_id_ok(li.id)) {
        rc = unlock_id(r, li.id, err);
        *freed = rc == CP_OK;
    }
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
    cp_proc_spec spec = {.path = tofu, .argv = argv, .envp = envp, .pass_fd = -1, .timeout_ms = 30000,
                         .grace_ms = 1000, .on_line = version_line, .ctx = &b};
    cp_proc_result res;
    cp_result rc = cp_proc_run(&spec, &res, err);
    if (rc == CP_OK) {
        json_t *j = json_loads(cp_buf_cstr(&b), 0, NULL);
        const char *v = json_string_value(json_object_get(j, "terraform_version"));
        if (res.exit_code != 0 || !v) rc = cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "%s version failed", tofu);
        else snprintf(out, cap, "%s", v);
        json_decref(j);
    }
    cp_buf_free(&b);
    return rc;
}
