/* scheduler.c: the scheduler, run from the reconciler thread of every worker
 * process: every scheduler-interval it asks each task to queue the runs that
 * are due (drift checks, expiry destroys, working-hours stops and starts).
 * Several API instances and workers may sweep at once: each task claims its
 * due rows in the store (SKIP LOCKED on PostgreSQL, the single writer on
 * SQLite) and moves them on in the same transaction as the run it queues, so
 * a due item is queued once whoever sweeps. A task that queues no runs
 * (retention) tends the store and this process's disk instead. */
#include <stdio.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/trace.h"
#include "queue/queue.h"
#include "store/db.h"
#include "worker/worker_int.h"
#include "store/store_drift.h"
#include "store/store_expiry.h"

/* Rows one task claims per sweep: a backlog drains over several sweeps
 * instead of one long transaction. */
#define SWEEP_BATCH 100

typedef struct {
    const char *name;
    /* Queues what is due at now_ms (at most limit runs), appending each new
     * run's id to *ids (allocated in a). */
    cp_result (*sweep)(cp_store *s, cp_arena *a, int64_t now_ms, int limit, char ***ids, size_t *n, cp_error *err);
    /* Or: does its own work (and logs it) at now_ms. */
    void (*tend)(cp_workers *w, int64_t now_ms);
} task;

static const task tasks[] = {
    {"schedule", cp_worker__schedule_sweep, NULL}, /* worker/schedules.c */
    {"expiry", cp_store_expiry_sweep, NULL},       /* store/store_expiry.c */
    {"drift", cp_store_drift_sweep, NULL},         /* store/store_drift.c */
    {"retention", NULL, cp_worker__retention},     /* worker/retention.c */
    {NULL, NULL, NULL},                            /* each concern adds its task above this end mark */
};

void cp_worker__schedule(cp_workers *w)
{
    int64_t now = cp_now_ms();
    if (now < w->next_sweep_ms) return;
    w->next_sweep_ms = now + w->app->cfg->scheduler_interval_seconds * 1000;
    for (const task *t = tasks; t->name; t++) {
        /* The sweep's own trace id: the runs it queues keep it (runs.request_id). */
        char trace[CP_TRACE_ID_MAX + 1], prefix[32];
        snprintf(prefix, sizeof prefix, "sched-%s-", t->name);
        cp_trace_id_new(prefix, trace);
        cp_trace_set(trace);
        if (t->tend) {
            t->tend(w, now);
            cp_trace_set(NULL);
            continue;
        }
        cp_arena *a = cp_arena_new(8192);
        char **ids = NULL;
        size_t n = 0;
        cp_error e;
        uint64_t stmts = cp_db_statements_thread();
        struct timespec cpu0, cpu1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
        int64_t wall0 = cp_mono_ms();
        if (t->sweep(w->app->store, a, now, SWEEP_BATCH, &ids, &n, &e) != CP_OK)
            cp_log_warn("scheduler: %s sweep failed (the next sweep retries): %s", t->name, e.message);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
        /* What the sweep cost this process (bench/drift_sweep.sh reads it). */
        double cpu_ms = (double)(cpu1.tv_sec - cpu0.tv_sec) * 1e3 + (double)(cpu1.tv_nsec - cpu0.tv_nsec) / 1e6;
        int64_t wall_ms = cp_mono_ms() - wall0;
        uint64_t spent = cp_db_statements_thread() - stmts;
        for (size_t i = 0; i < n; i++)
            if (cp_queue_push(w->app->queue, ids[i], &e) != CP_OK) /* the reconciler re-pushes it */
                cp_log_warn("scheduler: run %s queued but not pushed: %s", ids[i], e.message);
        if (n)
            cp_log(CP_LOG_INFO, "scheduler queued runs",
                   json_pack("{s:s, s:I, s:I, s:f, s:I}", "task", t->name, "runs", (json_int_t)n, "db_statements",
                             (json_int_t)spent, "cpu_ms", cpu_ms, "wall_ms", (json_int_t)wall_ms));
        cp_arena_free(a);
        cp_trace_set(NULL);
    }
}
