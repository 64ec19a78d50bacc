/* runner_int.h: what the runner's files share (runner.c, runner_phase.c,
 * runner_lock.c, runner_config.c, init_cache.c): the handle, the options of
 * one tofu phase, and the cross-file internals (cp_runner__ prefix). Not for
 * use outside engine/runner*.c and engine/init_cache.c. */
#ifndef CP_RUNNER_INT_H
#define CP_RUNNER_INT_H

#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "engine/proc.h"
#include "engine/redact.h"
#include "engine/runner.h"

#define DIAG_MAX 1024
#define PROBE_FIRST_MS 1500 /* probe for the lock id this long into a phase even without a sign */
#define PROBE_EVERY_MS 2000
#define PROBE_MAX 6
#define PROBE_TIMEOUT_MS 15000 /* the main phase's cancel/timeout wait for it */
#define DIR_MAX 2048           /* longest configured directory; what is appended stays below PATH_MAX - DIR_MAX */

struct cp_runner {
    cp_runner_config cfg; /* strings borrowed from the caller's config */
    char run_id[32];
    char resource_id[32];
    char module[64];
    const char *cloud; /* the module's, from the catalog (static); NULL if unknown */
    bool destroy;      /* spec->destroy */
    char tofu[PATH_MAX];
    char tofu_dir[PATH_MAX];
    char modules_dir[PATH_MAX];
    char dir[PATH_MAX];        /* the run dir */
    char tmp_dir[PATH_MAX];    /* TMPDIR outside bwrap when the run dir's is too long; "" otherwise */
    char data_dir[PATH_MAX];   /* TF_DATA_DIR */
    char cache_dir[PATH_MAX];  /* shared init in use, "" when init runs per run */
    char state_root[PATH_MAX]; /* local backend: workspace_dir */
    char state_dir[PATH_MAX];  /* local backend: this resource's state dir */
    char hostname[48];
    char *backend_json; /* backend_override.tf.json text (also hashed for the cache) */
    char *cli_json;     /* CLI config text */
    bool sandboxed, initialized, have_plan;
    cp_strv env;  /* base environment, without TF_DATA_DIR / TF_WORKSPACE */
    int creds_fd; /* state backend credentials file (memfd), -1 */
    cp_redact *redact;
    cp_proc_cancel *cancel;
    atomic_int pid;
    cp_tfev_fn on_event;
    void (*on_tick)(void *ctx);
    void *ctx;
    char lock_id[40];
    char version[32];
    /* workload identity (runner_identity.c) */
    cp_runner_identity identity;     /* mint == NULL: no tokens */
    char *identity_audience;         /* owned copy of identity.audience */
    json_t *identity_fields;         /* owned reference */
    char token_path[PATH_MAX];       /* the account's token file, "" if none */
    char state_token_path[PATH_MAX]; /* the state backend's, when its audience differs; "" if none */

    /* the phase running now */
    const char *phase;
    const char *lock_op; /* lock operation expected in this phase, NULL if it takes no lock */
    bool json_outputs;   /* keep the stream's outputs event */
    int64_t phase_wall, phase_mono;
    bool saw_work; /* an event after the lock was taken */
    int probes;
    int64_t next_probe;
    char diag[DIAG_MAX];   /* first error diagnostic */
    char last_stderr[256]; /* first non-empty stderr line of the phase */
    cp_buf stderr_text;    /* the phase's stderr, bounded */
    char lock_holder[512]; /* set when the phase failed on someone else's lock */
    char stray_id[40];     /* the lock in that error (or in a failed release) is this run's own */
    bool release_failed;   /* tofu could not release its lock (the work itself was done) */
    int errors;            /* error diagnostics in this phase */
    json_t *stream_outputs;
    json_t *planned; /* plan phase: [{address, action}] from its planned_change events, else NULL */
};

static inline const char *or_empty(const char *s)
{
    return s ? s : "";
}

static inline bool is_set(const char *s)
{
    return s && *s;
}

static inline void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strnlen(src, cap - 1) : 0;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* snprintf for paths and messages. Paths always fit: cp_runner_open bounds
 * every configured directory (DIR_MAX) well below PATH_MAX. */
static inline bool pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline bool pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

typedef struct {
    char id[64], op[64], who[256], created[80];
} lock_info;

typedef struct {
    const char *phase;
    const char *cwd;      /* default: run dir */
    const char *data_dir; /* default: r->data_dir */
    bool workspace;       /* set TF_WORKSPACE */
    bool staging_init;    /* making the shared init: its dir is not there yet, so not mounted */
    bool fill_cache;      /* init under the provider-set lock: the plugin cache is mounted writable */
    const char *lock_op;  /* lock this phase takes ("OperationTypePlan"/"...Apply"), NULL for none */
    bool json_outputs;
    cp_buf *capture; /* stdout captured whole */
    int ok_codes[3]; /* accepted exit codes besides 0, -1 terminated */
} phase_opts;

/* runner_phase.c: events, the child's argv and environment, one tofu command. */
void cp_runner__emit(cp_runner *r, cp_tfev *ev);
/* A system event whose text may hold user or tofu text: redacted too. */
void cp_runner__emit_system(cp_runner *r, cp_tfev_type type, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cp_runner__build_env(cp_runner *r, cp_strv *env, const char *data_dir, bool workspace);
/* cache_dir: the shared init to mount read-only, NULL/"" for none. fill_cache:
 * the plugin cache is mounted writable (an init under the provider-set lock). */
void cp_runner__build_argv(cp_runner *r, cp_strv *argv, const char *cwd, const char *cache_dir, bool fill_cache);
/* Runs one tofu command; CP_OK when it exited with an accepted code, which
 * goes to *code. Errors name the phase; lock conflicts are CP_ECONFLICT. */
cp_result cp_runner__run_phase(cp_runner *r, const phase_opts *o, cp_strv *args, int *code,
                               cp_error *errp) CP_MUST_CHECK;
/* a = the NULL-terminated list; the caller frees a. */
void cp_runner__args(cp_strv *a, const char *const *list);

/* runner_lock.c: the state lock. */
/* Value of "Name:" in tofu's "Lock Info:" block into out (truncated to cap);
 * false when text has no such line. */
bool cp_runner__lock_field(const char *text, const char *name, char *out, size_t cap);
/* "2026-11-25T21:08:18.038208688Z" (lock file) or "2026-11-25 21:08:18.038208688 +0000 UTC"
 * (tofu's text); both UTC. Milliseconds since the epoch, -1 if unreadable. */
int64_t cp_runner__parse_created(const char *s);
/* Notes what an error diagnostic says about the state lock (holder, stray). */
void cp_runner__lock_diag(cp_runner *r, const cp_tfev *ev);
/* Reads the lock now and records it if it is this phase's own. */
void cp_runner__probe_lock(cp_runner *r);
/* Whether a locked phase probes for its lock id at all (see runner_lock.c). */
bool cp_runner__probe_needed(const cp_runner *r);
/* cp_runner__run_phase for a phase that takes the state lock, healing a stray lock of this run's own. */
cp_result cp_runner__run_locked(cp_runner *r, const phase_opts *o, cp_strv *args, int *code,
                                cp_error *err) CP_MUST_CHECK;

/* runner_config.c: files tofu reads besides the module. */
/* The backend block; the caller owns the result. See runner_config.c for explicit_key. */
json_t *cp_runner__backend_json(const cp_runner *r, bool explicit_key);
/* True when the mirror setting is a network mirror URL (else a directory). */
bool cp_runner__mirror_is_url(const char *mirror);
/* The CLI config; the caller owns the result. */
json_t *cp_runner__cli_json(const cp_runner *r);
/* Writes r->backend_json and r->cli_json into dir. */
cp_result cp_runner__write_overrides(cp_runner *r, const char *dir, cp_error *err) CP_MUST_CHECK;
/* The s3 backend's own credentials as a memfd (r->creds_fd), when configured. */
cp_result cp_runner__creds_fd(cp_runner *r, cp_error *err) CP_MUST_CHECK;

/* runner_identity.c: run tokens. */
/* Takes spec->identity; adds the identity env to r->env and writes the
 * credentials file a cloud reads (GCP). After the run dir exists. */
cp_result cp_runner__identity_open(cp_runner *r, const cp_runner_spec *spec, cp_error *err) CP_MUST_CHECK;
/* Mints and writes fresh tokens for the tofu phase about to start (its name,
 * e.g. "init", "apply"); each token is redacted from everything. */
cp_result cp_runner__identity_refresh(cp_runner *r, const char *phase, cp_error *err) CP_MUST_CHECK;
/* Removes the token files and frees what identity_open took. */
void cp_runner__identity_close(cp_runner *r);
/* True when the s3 backend assumes a role with a run token. */
bool cp_runner__state_web_identity(const cp_runner *r);

/* init_cache.c: init, per run or shared. */
/* `init` in cwd with data_dir as TF_DATA_DIR. staging: cwd is the shared init being made. */
cp_result cp_runner__init_here(cp_runner *r, const char *cwd, const char *data_dir, bool staging,
                               cp_error *err) CP_MUST_CHECK;
/* Inits once per handle: the shared init when configured, else in the run dir. */
cp_result cp_runner__ensure_init(cp_runner *r, cp_error *err) CP_MUST_CHECK;

#endif
