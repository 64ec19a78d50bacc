/* worker_int.h: what the files of worker/ share and nothing outside reads:
 * the pool (cp_workers), one run in progress (job), and the calls between
 * pool.c, job.c, heartbeat.c, run_events.c and reconcile.c. */
#ifndef CP_WORKER_INT_H
#define CP_WORKER_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/arena.h"
#include "engine/proc.h"
#include "engine/runner.h"
#include "queue/events.h"
#include "worker/worker.h"

typedef struct job job;

/* Events of one job not written yet (run_events.c). They go out as one batch
 * (one transaction, one hub notice) when EVENT_BATCH_MAX or EVENT_BATCH_BYTES
 * of them wait, when the oldest is EVENT_BATCH_MS old (looked at on each event
 * and on the runner's tick), at the end of each tofu phase, before any change
 * of the run's status, and when the job ends. A worker killed mid-phase loses
 * at most this batch. */
#define EVENT_BATCH_MAX 64
#define EVENT_BATCH_BYTES (256 * 1024)
#define EVENT_BATCH_MS 100
typedef struct {
    cp_event_new ev[EVENT_BATCH_MAX]; /* type: a string literal; data: owned (json_dumps) */
    size_t n, bytes;
    int64_t since_ms; /* monotonic: when the oldest came */
} event_batch;

struct cp_workers {
    cp_app *app;
    char id[128];
    char tofu[PATH_MAX];
    char modules[PATH_MAX];
    char runs_dir[PATH_MAX + 16];
    char init_cache[PATH_MAX + 16];
    char state_dir[PATH_MAX + 16];
    char mirror[PATH_MAX];       /* provider mirror dir or URL, "" for none */
    char plugin_cache[PATH_MAX]; /* absolute */
    char sandbox_endpoint[1024]; /* guarded by mu: serve learns its port after the workers start */
    cp_runner_config rc;
    int n; /* worker threads started */
    pthread_t *threads;
    pthread_t reconciler;
    bool reconciler_started;
    atomic_bool stopping;
    pthread_mutex_t mu;
    job *running;          /* guarded by mu */
    json_t *pushed;        /* reconciler: run id -> last push ms */
    int64_t next_sweep_ms; /* reconciler: the scheduler's next sweep (wall clock) */
    pthread_t watchdog;
    bool watchdog_started;
    int64_t test_pause_ms;     /* test only: CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS */
    int64_t test_fail_hb_ms;   /* test only: CLOUDPLANE_TEST_FAIL_HEARTBEAT_AFTER_MS */
    struct cp_webhooks *hooks; /* the webhook delivery loop (webhooks.h) */
};

/* One run in progress on one worker thread. */
struct job {
    cp_workers *w;
    cp_arena *a;
    cp_run run;
    cp_resource res;
    cp_runner *runner; /* guarded by w->mu while set */
    json_t *planned;   /* [{address, action}] from planned_change events */
    bool approval;
    bool lost; /* fenced out: never write again */
    bool canceled;
    bool failed; /* a write the run depends on failed mid-phase: fail holds why */
    cp_error fail;
    bool event_warned;  /* one warning per job for dropped events */
    event_batch events; /* the job thread's only (the reconciler's stand-in job has its own) */
    atomic_bool done;
    int64_t claimed_ms;          /* monotonic, just before the claim */
    _Atomic int64_t applying_ms; /* monotonic, when the run became applying; 0 before */
    _Atomic int64_t stop_by_ms;  /* monotonic: kill tofu unless renewed by then (cp_worker__renewed) */
    pthread_mutex_t hb_mu;
    pthread_cond_t hb_cv; /* on CLOCK_MONOTONIC (cp_deadline_ts) */
    cp_events_sub *sub;
    job *next;
    struct cp_guardrails *rules; /* the project's guardrails (worker/guardrails.c); NULL: none */
    bool guarded;                /* rules, or a protected resource: the plan is checked before apply */
    cp_runner_identity identity; /* run tokens (worker/identity.c); identity.fields owned, freed by execute */
};

/* scheduler.c: queues the runs that are due, once per scheduler interval
 * (called from the reconciler thread). */
void cp_worker__schedule(cp_workers *w);
/* The scheduler's retention task (retention.c): prunes what is older than
 * the retention settings, in bounded batches, and logs what went. */
void cp_worker__retention(cp_workers *w, int64_t now_ms);
/* Removes the run dirs (runs/<run_id>.<rnd>) a crash left of runs that ended
 * before cutoff (unix ms; INT64_MAX: whenever), or of runs the store does not
 * know last written before it; how many. A run removes its own dir when it
 * ends; an unfinished run, or one the store cannot tell about now, keeps its
 * dir. At most 1000 store lookups a call (retention.c). */
int64_t cp_worker__prune_run_dirs(cp_workers *w, int64_t cutoff);
/* The scheduler's working-hours task (schedules.c): queues due stops and starts. */
cp_result cp_worker__schedule_sweep(cp_store *s, cp_arena *a, int64_t now_ms, int limit, char ***ids, size_t *n,
                                    cp_error *err);

/* identity.c: run tokens. Sets up j->identity for the run's account (a
 * workload identity account's cloud, fields and audience, tfvars extras into
 * extra); the mint is always set, for an s3 state backend that assumes a role
 * with a run token. */
void cp_worker__identity_setup(job *j, const cp_account *acc, json_t *extra);
/* The mint of cp_runner_identity: a token of the run's phase (issuer.h). */
char *cp_worker__mint(void *ctx, const char *phase, const char *audience, cp_error *err);

/* job.c: claims run_id and, when it is ours, runs it to its end. */
void cp_worker__process(cp_workers *w, const char *run_id);

/* heartbeat.c: the lease renewal thread of one job (arg: the job). */
void *cp_worker__heartbeat(void *arg);
/* Renews the job's lease (cp_store_run_heartbeat) and, when that worked,
 * moves the job's stop-by time on. */
cp_result cp_worker__renew(job *j, bool *cancel_requested, cp_error *err) CP_MUST_CHECK;
/* A lease taken or renewed by a call that started at mono_ms runs until
 * mono_ms + lease; the job must have stopped its tofu one heartbeat before. */
void cp_worker__lease_taken(job *j, int64_t mono_ms);
/* The watchdog thread (arg: the pool): kills the tofu of any job past its
 * stop-by time and fences the job. */
void *cp_worker__watchdog_main(void *arg);
/* Event-hub notice (cp_events_subscribe): a cancel stops the job's tofu. */
void cp_worker__on_notice(void *ctx, const char *run_id, cp_notice_kind kind, int64_t seq);
/* Lease lost: another owner may run it now. Stop tofu, write nothing more. */
void cp_worker__fence(job *j);
/* A write the run depends on failed: stop tofu; the run fails with *why
 * (the first one kept). */
void cp_worker__abort(job *j, const cp_error *why);

/* run_events.c: what a job records about its run. */
/* Queues an event (type: a string literal; data: taken) for the job's next batch. */
void cp_worker__store_event(job *j, const char *type, json_t *data);
/* Writes the waiting events now, in one batch (dropped when the job is fenced). */
void cp_worker__flush_events(job *j);
/* The runner's tick (cp_runner_spec.on_tick; ctx: the job): flushes a batch that is due. */
void cp_worker__events_tick(void *ctx);
void cp_worker__log_line(job *j, const char *stream, const char *level, const char *line);
/* A status event; it names the run's request_id (the trace id) when it has one. */
void cp_worker__status_event(job *j, cp_run_status run_status);
/* The first log line of each attempt: the run, the attempt and the request id
 * its server and worker log lines carry. */
void cp_worker__log_header(job *j);
/* Moves the run on (fenced). A lost lease fences the job; any failure is
 * logged and returned. */
cp_result cp_worker__transition(job *j, cp_run_status to, cp_error *err) CP_MUST_CHECK;
/* The runner's event callback (cp_runner_spec.on_event; ctx: the job). */
void cp_worker__on_event(void *ctx, const cp_tfev *ev);

/* guardrails.c: the plan stage of the project's guardrails. */
/* Reads the project's rules and the resource's protection (j->res) into
 * j->rules and j->guarded. */
cp_result cp_worker__guardrails_load(job *j, cp_error *err) CP_MUST_CHECK;
/* Checks a saved plan (summary) of a guarded job against the rules and the
 * protection and stores the checks on the run. CP_OK with *park: a soft rule
 * broke that the order did not override, so a person must approve (with a
 * reason) even where the project asks for no approval. A hard rule broken:
 * CP_EUNPROC (code guardrail_blocked) with e naming the rule; nothing is to
 * be applied. */
cp_result cp_worker__guardrails_plan(job *j, json_t *summary, bool *park, cp_error *e) CP_MUST_CHECK;
/* The apply of an approved plan: the plan's stored summary checked again
 * against what may have changed since the plan (protection, the project's
 * current hard rules). A hard check broken: the checks that broke are
 * stored, and CP_EUNPROC guardrail_blocked as on the plan. */
cp_result cp_worker__guardrails_apply(job *j, cp_error *e) CP_MUST_CHECK;
/* After a run the guardrails failed: an update or destroy leaves its resource as it was. */
void cp_worker__guardrails_failed(job *j);
void cp_worker__guardrails_free(job *j);

/* reconcile.c: the reconciler thread (arg: the pool). */
void *cp_worker__reconciler_main(void *arg);
/* Queues the run of resource_id that waited behind the one that ended. */
void cp_worker__push_next_of(cp_workers *w, cp_arena *a, const char *resource_id);
void cp_worker__push_next_in_project(cp_workers *w, cp_arena *a, const char *project_id);

#endif
