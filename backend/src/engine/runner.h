/* runner.h: one OpenTofu run of one resource (ARCHITECTURE "Engine contract").
 * Owns the run directory (module copy, terraform.tfvars.json,
 * backend_override.tf.json, CLI config, TF_DATA_DIR) and its removal; the
 * child environment built from nothing (credentials live only there); the
 * command sequence init -> plan -out -> apply plan -> output, split so
 * a caller can stop between plan and apply; the fast path (init once per
 * module+backend, state selected by TF_WORKSPACE, single apply -auto-approve);
 * events parsed from -json and redacted; cancel, timeouts and rlimits (via
 * proc), bubblewrap (via sandbox); the state backend (local or s3), lock
 * errors that name the holder, and recording the run's own lock id so that a
 * dead run's lock can be freed with cp_runner_force_unlock. In bubblewrap each
 * handle's host name is cp-<run_id>-<random>, so a lock's "Who" names the run;
 * a lock that names this very handle (a stray left by a retried backend
 * request) is freed and the phase retried once.
 *
 * State location, whatever the path: local <state_dir>/<resource_id>/terraform.tfstate,
 * s3 <key_prefix>/<resource_id>/terraform.tfstate (tofu workspace = resource id). */
#ifndef CP_RUNNER_H
#define CP_RUNNER_H

#include <jansson.h>
#include <sys/types.h>

#include "core/error.h"
#include "engine/tfevent.h"

typedef enum { CP_STATE_LOCAL = 0, CP_STATE_S3 } cp_state_kind;

typedef struct {
    cp_state_kind kind;
    const char *local_dir; /* local: root of the per-resource state dirs */
    const char *s3_bucket;
    const char *s3_region;
    const char *s3_key_prefix;        /* "" -> "cloudplane" */
    const char *s3_endpoint;          /* S3-compatible endpoint; NULL/"" = AWS */
    const char *s3_dynamodb_endpoint; /* NULL/"" = AWS (or s3_endpoint when that is set) */
    const char *s3_dynamodb_table;    /* lock table (hash key LockID); NULL/"" = none */
    bool s3_use_lockfile;             /* S3-native lock object */
    bool s3_path_style;
    bool s3_skip_checks;          /* emulators: skip credential/region/account/metadata checks, checksums */
    const char *s3_access_key_id; /* the backend's own credentials; NULL/"" = default chain */
    const char *s3_secret_access_key;
    /* The backend assumes this role with a run token the platform mints
     * (assume_role_with_web_identity); NULL/"" = off. Needs spec->identity's mint. */
    const char *s3_web_identity_role_arn;
    const char *s3_web_identity_audience; /* its token's aud; NULL/"" -> sts.amazonaws.com */
    const char *s3_sts_endpoint;          /* NULL/"" = AWS (or s3_endpoint when that is set) */
} cp_state_config;

typedef struct {
    const char *tofu;             /* absolute path of the tofu (or terraform) binary */
    const char *modules_dir;      /* terraform/modules */
    const char *runs_dir;         /* run dirs are created below it */
    const char *init_cache_dir;   /* fast path: initialized data dirs live here; NULL/"" = init every run */
    const char *plugin_cache_dir; /* shared TF_PLUGIN_CACHE_DIR; NULL/"" = none. Read-only to runs (in
                                   * bwrap); only init writes it, under a lock per provider set */
    const char *provider_mirror;  /* absolute filesystem mirror dir, or an http(s):// network mirror
                                   * URL; NULL/"" = none */
    bool provider_direct;         /* also allow `direct` installation from the registries */
    const char *const *extra_env; /* operator settings for tofu and providers, "NAME=value",
                                   * NULL-terminated; NOT secret (never redacted): no credential names */
    cp_state_config state;
    bool use_bwrap;           /* run tofu inside bubblewrap when it works here */
    bool insecure_no_sandbox; /* let real-cloud runs go without bubblewrap (operator opt-out) */
    bool fast_apply;          /* cp_runner_run: one apply -auto-approve when no approval is needed */
    int phase_timeout_s;      /* per tofu process; 0 -> 3600 */
    int cancel_grace_s;       /* SIGINT -> SIGKILL; 0 -> 60, < 0 -> none */
    int lock_timeout_s;       /* -lock-timeout; 0 -> 0s (fail at once), < 0 -> 0 */
    long rlimit_as_bytes;     /* 0 -> 8 GiB (Go reserves address space freely) */
    long rlimit_cpu_s;        /* 0 -> 4 h */
    long rlimit_nofile;       /* 0 -> 4096 */
    bool keep_workdir;        /* debugging: leave the run dir in place */
} cp_runner_config;

/* Workload identity: the platform mints a token per tofu process (phase
 * "plan", "apply" or "destroy", for an audience); the runner writes it to a
 * file in the run dir (0600, removed with the run) and points the provider
 * (and an s3 state backend with a web identity role) at it. mint returns a
 * malloc'd token the runner wipes and frees, or NULL with err set. */
typedef char *(*cp_runner_mint_fn)(void *ctx, const char *phase, const char *audience, cp_error *err);

typedef struct {
    cp_runner_mint_fn mint;
    void *ctx;
    const char *cloud;    /* the account's cloud when it is a workload identity account; NULL when only
                           * the state backend takes tokens */
    json_t *fields;       /* the account's identity fields (role ARN, tenant, ...); borrowed */
    const char *audience; /* the account token's aud (cp_identity_audience) */
} cp_runner_identity;

typedef struct {
    const char *run_id;         /* platform id: names the run dir */
    const char *resource_id;    /* platform id: names the state */
    const char *module;         /* catalog module, e.g. "sandbox_vm" */
    json_t *tfvars;             /* terraform.tfvars.json (cp_catalog_tfvars); borrowed; NULL for force-unlock */
    const char *request_id;     /* the run's trace id (core/trace.h), tofu's CLOUDPLANE_REQUEST_ID; NULL: none */
    const char *const *env;     /* credentials "NAME=value", NULL-terminated; NAME must be a catalog
                                 * credential env name; values are redacted from everything */
    cp_tfev_fn on_event;        /* may be NULL */
    void (*on_tick)(void *ctx); /* may be NULL: while a tofu phase runs, at least every 100 ms (on_event's
                                 * thread), so events held for a batch can be written */
    void *ctx;
    bool destroy;                       /* a destroy run: its apply counts as "destroy" in the phase metrics */
    const cp_runner_identity *identity; /* NULL: no tokens; copied */
} cp_runner_spec;

typedef enum { CP_RUN_APPLY = 0, CP_RUN_DESTROY = 1 } cp_run_op;

typedef struct cp_runner cp_runner;

typedef struct {
    bool changes;        /* plan exit code 2 */
    json_t *summary;     /* {add, change, destroy, resources:[{address, action}]} (no-ops left out);
                          * cp_runner_plan_detail adds type, attributes, replace_paths */
    unsigned char *plan; /* plan.bin, for applying later, maybe in another process */
    size_t plan_len;
} cp_runner_plan_result;

void cp_runner_plan_result_free(cp_runner_plan_result *p);

/* Prepares a run: checks the ids, the module, the binary and the env names,
 * creates the run dir (<runs_dir>/<run_id>.<random>, one per attempt) and
 * writes the files. No tofu process is started. cfg's strings are borrowed and
 * must outlive the handle; spec is copied. */
cp_result cp_runner_open(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_runner **out,
                         cp_error *err) CP_MUST_CHECK;
/* Removes the run dir (unless keep_workdir) and frees the handle. */
void cp_runner_close(cp_runner *r);

/* init (or the shared init) + plan [-destroy] -out=plan.bin; the summary comes
 * from the plan's -json stream (its planned_change events), not from show. */
cp_result cp_runner_plan(cp_runner *r, cp_run_op op, cp_runner_plan_result *out, cp_error *err) CP_MUST_CHECK;
/* After cp_runner_plan on this handle: `show -json plan.bin` adds to each
 * entry of p->summary its type, attributes and replace_paths
 * (cp_plan_json_merge), redacted; entries and counts stay the stream's. One
 * more tofu process (on a sandbox VM plan ~0.15 s wall and CPU, about half
 * of the plan's own), so only for a plan a person reads. No-op without changes. */
cp_result cp_runner_plan_detail(cp_runner *r, cp_runner_plan_result *p, cp_error *err) CP_MUST_CHECK;
/* A drift check: init (or the shared init) + `plan -refresh-only
 * -detailed-exitcode -out`, then `show -json` of that plan when it found
 * anything (exit 2). *changes (caller owns) receives what drifted
 * (cp_drift_changes, redacted, sensitive values masked); *missing says an
 * object is gone from the cloud. Never applies: state is not written. */
cp_result cp_runner_drift_check(cp_runner *r, json_t **changes, bool *missing, cp_error *err) CP_MUST_CHECK;
/* Applies a saved plan: plan bytes from an earlier cp_runner_plan (possibly
 * another handle or process), or NULL/0 for the plan this handle made.
 * *outputs (may be NULL) receives {name: value}; sensitive values are "***". */
cp_result cp_runner_apply(cp_runner *r, const void *plan, size_t plan_len, json_t **outputs,
                          cp_error *err) CP_MUST_CHECK;
/* Fast path: init (shared) + one `apply [-destroy] -auto-approve -json`. */
cp_result cp_runner_apply_auto(cp_runner *r, cp_run_op op, json_t **outputs, cp_error *err) CP_MUST_CHECK;
/* `output -json` for the resource's current state. */
cp_result cp_runner_outputs(cp_runner *r, json_t **outputs, cp_error *err) CP_MUST_CHECK;

/* Stops the running tofu process (SIGINT, grace, SIGKILL) and every later
 * phase of this handle. Any thread. The phase fails with code "canceled"
 * (reason CP_REASON_CANCELED). */
void cp_runner_cancel(cp_runner *r);
/* As cp_runner_cancel, without the grace period: SIGKILL to tofu's whole
 * process group at once (a worker whose lease is running out). */
void cp_runner_kill(cp_runner *r);
/* The state lock id this run held ("" when none was seen). The platform
 * stores it (the CP_TFEV_LOCK event says when) to free a dead run's lock. */
const char *cp_runner_lock_id(const cp_runner *r);
/* Process group of the tofu process running now, 0 if none. */
pid_t cp_runner_pid(const cp_runner *r);
/* True when this run's tofu processes run inside bubblewrap. */
bool cp_runner_sandboxed(const cp_runner *r);
/* Version reported by tofu's -json stream ("" until seen). */
const char *cp_runner_tofu_version(const cp_runner *r);

/* How a run goes; decided only by cp_runner_choose_path. */
typedef enum {
    CP_PATH_FAST_APPLY = 0, /* one `apply -auto-approve` (cp_runner_apply_auto) */
    CP_PATH_SAVED_PLAN,     /* plan -out (cp_runner_plan), then the apply or an approval */
    CP_PATH_APPLY_APPROVED, /* apply the plan a person approved (cp_runner_apply) */
} cp_run_path;

/* The path of a run: an approved plan is applied as it is; a run that needs
 * approval, or a config without fast_apply, takes the saved-plan path; any
 * other run is one apply -auto-approve. */
cp_run_path cp_runner_choose_path(const cp_runner_config *cfg, bool needs_approval, bool plan_approved);

/* Everything in one go: open, plan, (apply), close. The path is
 * cp_runner_choose_path's for a run that needs no approval: with
 * cfg->fast_apply a single apply -auto-approve, else the saved-plan path.
 * plan (may be NULL) receives the plan summary; outputs the outputs. The
 * lock id is copied to lock_id (37 bytes) when not NULL. */
cp_result cp_runner_run(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_run_op op, json_t **plan_summary,
                        json_t **outputs, char lock_id[37], cp_error *err) CP_MUST_CHECK;

/* Frees the state lock of a dead run: `tofu force-unlock -force <lock_id>`.
 * Only ever call it with a lock id the platform recorded for its own run that
 * is known dead (lease expired): tofu refuses an id that does not match the
 * current lock, so another run's lock is never freed (CP_ECONFLICT). An
 * already free state is CP_OK. spec->tfvars may be NULL. */
cp_result cp_runner_force_unlock(const cp_runner_config *cfg, const cp_runner_spec *spec, const char *lock_id,
                                 cp_error *err) CP_MUST_CHECK;

/* For a dead run whose lock id was never recorded: frees the state lock only
 * if its holder is that run's own sandbox host ("…@cp-<run_id>-…"), which
 * proves the lock is the dead run's. *freed says whether a lock was freed. */
cp_result cp_runner_free_lock_of(const cp_runner_config *cfg, const cp_runner_spec *spec, const char *dead_run_id,
                                 bool *freed, cp_error *err) CP_MUST_CHECK;

/* Checks that the binary runs and returns its version ("X.Y.Z") in out. */
cp_result cp_runner_probe_tofu(const char *tofu, char *out, size_t cap, cp_error *err) CP_MUST_CHECK;

#endif
