/* heartbeat.c: what stops a job from outside its own thread. The heartbeat
 * renews the job's lease and polls for cancel requests stored in the
 * database; event-hub notices bring cancels sooner; fence and abort stop the
 * job's tofu when its lease is lost or a write it depends on failed. */
#include <string.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "worker/worker_int.h"

/* Caller holds j->w->mu. */
static void stop_runner(job *j)
{
    if (j->runner) cp_runner_cancel(j->runner);
}

void cp_worker__fence(job *j)
{
    pthread_mutex_lock(&j->w->mu);
    j->lost = true;
    stop_runner(j);
    pthread_mutex_unlock(&j->w->mu);
}

void cp_worker__abort(job *j, const cp_error *why)
{
    pthread_mutex_lock(&j->w->mu);
    if (!j->failed) {
        j->failed = true;
        j->fail = *why;
    }
    stop_runner(j);
    pthread_mutex_unlock(&j->w->mu);
}

void cp_worker__on_notice(void *ctx, const char *run_id, cp_notice_kind kind, int64_t seq)
{
    CP_UNUSED(run_id);
    CP_UNUSED(seq);
    job *j = ctx;
    if (kind != CP_NOTICE_CANCEL) return;
    pthread_mutex_lock(&j->w->mu);
    j->canceled = true;
    stop_runner(j);
    pthread_mutex_unlock(&j->w->mu);
}

/* One beat: renew the lease when due, else look for a cancel request. */
static void beat(job *j, bool renew)
{
    cp_workers *w = j->w;
    bool cancel = false;
    cp_error e;
    cp_error_clear(&e);
    if (renew) {
        /* A renewal that fails for any other reason than a lost lease is
         * retried at the next beat: the lease outlasts several beats. */
        if (cp_store_run_heartbeat(w->app->store, &j->run, w->app->cfg->lease_seconds * 1000, &cancel, &e) != CP_OK &&
            e.reason != CP_REASON_LEASE_LOST)
            cp_log_warn("run %s: lease renewal failed (retrying): %s", j->run.id, e.message);
    } else {
        cp_run cur;
        cp_arena *a = cp_arena_new(2048);
        /* A failed poll only delays noticing a cancel until the next one. */
        if (cp_store_run_get(w->app->store, a, j->run.id, &cur, &e) == CP_OK) cancel = cur.cancel_requested;
        cp_arena_free(a);
    }
    if (e.reason == CP_REASON_LEASE_LOST) {
        cp_worker__fence(j);
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (cancel && !j->canceled) {
        j->canceled = true;
        stop_runner(j);
    }
    pthread_mutex_unlock(&w->mu);
}

void *cp_worker__heartbeat(void *arg)
{
    job *j = arg;
    int64_t every = j->w->app->cfg->heartbeat_seconds * 1000;
    int64_t next = cp_mono_ms() + every;
    pthread_mutex_lock(&j->hb_mu);
    while (!atomic_load(&j->done)) {
        /* Wake at least every second to notice cancel requests stored in the database. */
        int64_t wait = next - cp_mono_ms();
        if (wait > 1000) wait = 1000;
        if (wait > 0) {
            struct timespec until = cp_deadline_ts(wait);
            pthread_cond_timedwait(&j->hb_cv, &j->hb_mu, &until);
        }
        if (atomic_load(&j->done)) break;
        pthread_mutex_unlock(&j->hb_mu);
        bool renew = cp_mono_ms() >= next;
        beat(j, renew);
        if (renew) next = cp_mono_ms() + every;
        pthread_mutex_lock(&j->hb_mu);
    }
    pthread_mutex_unlock(&j->hb_mu);
    return NULL;
}
