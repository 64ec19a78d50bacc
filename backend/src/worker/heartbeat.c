/* heartbeat.c: what stops a job from outside its own thread. The heartbeat
 * renews the job's lease and polls for cancel requests stored in the
 * database; event-hub notices bring cancels sooner; fence and abort stop the
 * job's tofu when its lease is lost or a write it depends on failed; the
 * watchdog kills the tofu of a job that could not renew its lease in time. */
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/trace.h"
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

void cp_worker__lease_taken(job *j, int64_t mono_ms)
{
    const cp_config *cfg = j->w->app->cfg;
    atomic_store(&j->stop_by_ms, mono_ms + (cfg->lease_seconds - cfg->heartbeat_seconds) * 1000);
}

cp_result cp_worker__renew(job *j, bool *cancel_requested, cp_error *err)
{
    cp_workers *w = j->w;
    int64_t start = cp_mono_ms();
    cp_result r;
    int64_t applying = atomic_load(&j->applying_ms);
    if (w->test_fail_hb_ms > 0 && applying > 0 && start - applying >= w->test_fail_hb_ms)
        r = cp_error_set(err, CP_ERR, "test_hook", NULL,
                         "test hook CLOUDPLANE_TEST_FAIL_HEARTBEAT_AFTER_MS: renewal fails as if the database were"
                         " unreachable");
    else
        r = cp_store_run_heartbeat(w->app->store, &j->run, w->app->cfg->lease_seconds * 1000, cancel_requested, err);
    /* The store computes the new expiry after start: counting from start errs early. */
    if (r == CP_OK) cp_worker__lease_taken(j, start);
    return r;
}

/* One beat: renew the lease when due, else look for a cancel request. */
static void beat(job *j, bool renew)
{
    cp_workers *w = j->w;
    bool cancel = false;
    cp_error e;
    cp_error_clear(&e);
    pthread_mutex_lock(&w->mu);
    bool lost = j->lost;
    pthread_mutex_unlock(&w->mu);
    if (lost) return; /* fenced: no more writes, renewals included */
    if (renew) {
        /* A renewal that fails for any other reason than a lost lease is
         * retried at the next beat: the lease outlasts several beats. */
        /* The watchdog kills tofu if no renewal works before the lease runs out. */
        if (cp_worker__renew(j, &cancel, &e) != CP_OK && e.reason != CP_REASON_LEASE_LOST)
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
    cp_trace_set(j->run.request_id); /* the job's own thread's id: its lines are about the same run */
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

/* A job whose lease could not be renewed: its tofu dies at once, without
 * the cancel grace, and the job writes nothing more. The reaper frees the
 * state only a grace after the lease expired (reconcile.c), so by then this
 * tofu is gone: two applies never touch one state. Caller holds w->mu. */
static void overdue(job *j)
{
    j->lost = true;
    if (j->runner) cp_runner_kill(j->runner);
    json_t *f =
        json_pack("{s:s, s:s, s:I}", "run_id", j->run.id, "worker", j->w->id, "attempt", (json_int_t)j->run.attempt);
    /* The watchdog watches every job: the run's id goes by name, not by the thread's. */
    if (j->run.request_id) json_object_set_new(f, "request_id", json_string(j->run.request_id));
    cp_log(CP_LOG_ERROR, "lease not renewed in time: tofu killed, run left to the reaper", f);
}

#define WATCHDOG_TICK_MS 200

/* Its own thread, with no database call in it: a renewal that hangs on an
 * unreachable database cannot delay the kill. Runs until the pool stops and
 * its last job has ended. */
void *cp_worker__watchdog_main(void *arg)
{
    cp_workers *w = arg;
    for (;;) {
        int64_t now = cp_mono_ms();
        pthread_mutex_lock(&w->mu);
        for (job *j = w->running; j; j = j->next)
            if (!j->lost && now >= atomic_load(&j->stop_by_ms)) overdue(j);
        bool idle = w->running == NULL;
        pthread_mutex_unlock(&w->mu);
        if (idle && atomic_load(&w->stopping)) break;
        struct timespec ts = {0, WATCHDOG_TICK_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}
