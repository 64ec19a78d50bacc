/* reconcile.c: the reconciler thread, and what keeps runs moving when a
 * worker or a queue message is lost: it reaps expired leases (re-queuing runs
 * whose tofu never started, failing the others and freeing the state lock
 * the platform itself took), takes over queue items of dead consumers, and
 * re-pushes claimable runs nobody picked up. */
#include <time.h>

#include "core/log.h"
#include "core/trace.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "queue/queue.h"
#include "worker/worker_int.h"

#define RECONCILE_MS 2000
#define REPUSH_AFTER_MS 15000
/* After the heartbeat interval a worker that could not renew has killed its
 * tofu (it gives up one interval before its lease ends, the watchdog ticks
 * every 200 ms, and SIGKILL leaves tofu no time to write); this margin covers
 * the kill itself and clock skew between workers. */
#define KILL_MARGIN_MS 3000

static void push(cp_workers *w, const char *run_id)
{
    cp_error e;
    /* A push that fails is retried by the re-push below, REPUSH_AFTER_MS on. */
    if (cp_queue_push(w->app->queue, run_id, &e) != CP_OK)
        cp_log_warn("run %s: could not queue it (the reconciler retries): %s", run_id, e.message);
}

/* After a run ends, the run of the same resource that waited behind it may
 * go: its own queue item was turned away by the claim while this one ran.
 * Only that one: pushing every claimable run after every run made the queue
 * traffic grow with the square of the backlog. Anything else that is
 * claimable already has an item, and the reconciler covers lost ones. */
void cp_worker__push_next_of(cp_workers *w, cp_arena *a, const char *resource_id)
{
    cp_run *runs;
    size_t n;
    char *next;
    cp_error e;
    if (cp_store_runs_list(w->app->store, a, resource_id, 50, NULL, &runs, &n, &next, &e) != CP_OK) {
        cp_log_warn("resource %s: could not look for its next run (the reconciler will): %s", resource_id, e.message);
        return;
    }
    for (size_t i = n; i-- > 0;) /* newest first: the oldest waiting run goes next */
        if (runs[i].status == CP_RUN_QUEUED || (runs[i].status == CP_RUN_AWAITING_APPROVAL && runs[i].approved_by)) {
            push(w, runs[i].id);
            return;
        }
}

/* After a run ends its project has a free slot (project_active_runs): the
 * oldest claimable run of the project may take it. Its queue item may have
 * been turned away while the project was busy. */
void cp_worker__push_next_in_project(cp_workers *w, cp_arena *a, const char *project_id)
{
    if (w->app->cfg->project_active_runs <= 0 || !project_id) return;
    char **ids;
    size_t n;
    cp_error e;
    if (cp_store_runs_claimable_in_project(w->app->store, a, project_id, 1, &ids, &n, &e) != CP_OK) {
        cp_log_warn("project %s: could not look for its next run (the reconciler will): %s", project_id, e.message);
        return;
    }
    if (n) push(w, ids[0]);
}

static void free_lost_lock(cp_workers *w, cp_arena *a, const cp_lost_run *l)
{
    cp_resource res;
    cp_error e;
    if (cp_store_resource_by_id(w->app->store, a, l->resource_id, &res, &e) != CP_OK) {
        cp_log_warn("run %s: state lock left in place, its resource is unreadable: %s", l->run_id, e.message);
        return;
    }
    /* A state backend that assumes its role with a run token needs one to unlock too. */
    job stand_in = {.w = w, .res = res};
    stand_in.run.id = (char *)l->run_id;
    cp_runner_identity identity = {.mint = cp_worker__mint, .ctx = &stand_in};
    cp_runner_spec spec = {.run_id = l->run_id,
                           .resource_id = l->resource_id,
                           .module = cp_catalog_module(res.cloud, res.kind),
                           .identity = &identity};
    cp_result r;
    bool freed = false;
    if (l->lock_id && *l->lock_id) {
        r = cp_runner_force_unlock(&w->rc, &spec, l->lock_id, &e);
        freed = r == CP_OK;
    } else {
        /* Died before its lock id was recorded: free the lock only if its
         * holder is provably that run's own sandbox. */
        r = cp_runner_free_lock_of(&w->rc, &spec, l->run_id, &freed, &e);
    }
    cp_log(r == CP_OK ? CP_LOG_INFO : CP_LOG_WARN, "state lock of a lost run",
           json_pack("{s:s, s:s, s:b, s:s}", "run_id", l->run_id, "lock_id", l->lock_id ? l->lock_id : "", "freed",
                     freed, "detail", r == CP_OK ? "" : e.message));
}

static void reap(cp_workers *w, cp_arena *a)
{
    char **requeued;
    cp_lost_run *lost;
    size_t nr, nl;
    cp_error e;
    /* A lease that just expired may still have its tofu running: wait until
     * its worker has certainly killed it before failing the run and freeing
     * its state lock. */
    int64_t grace_ms = w->app->cfg->heartbeat_seconds * 1000 + KILL_MARGIN_MS;
    if (cp_store_runs_reap(w->app->store, a, grace_ms, &requeued, &nr, &lost, &nl, &e) != CP_OK) {
        cp_log_warn("reconciler: could not reap expired leases (next pass retries): %s", e.message);
        return;
    }
    for (size_t i = 0; i < nr; i++) {
        cp_log_warn("run %s: lease expired before tofu started; queued again", requeued[i]);
        push(w, requeued[i]);
    }
    for (size_t i = 0; i < nl; i++) {
        cp_trace_set(lost[i].request_id); /* its lines and its last status event, under the run's id */
        cp_log_warn("run %s: worker lost during plan/apply; marked failed", lost[i].run_id);
        job tmp = {.w = w, .a = a};
        tmp.run.id = lost[i].run_id;
        tmp.run.resource_id = lost[i].resource_id;
        tmp.run.request_id = lost[i].request_id;
        cp_worker__log_line(&tmp, "system", "error", "worker lost: the run was marked failed and not retried");
        cp_worker__status_event(&tmp, CP_RUN_FAILED);
        cp_worker__flush_events(&tmp);
        free_lost_lock(w, a, &lost[i]);
        cp_worker__push_next_of(w, a, lost[i].resource_id);
        cp_trace_set(NULL);
    }
}

/* Re-enqueue runs that have waited a while: a lost queue message loses no run. */
static void repush(cp_workers *w, cp_arena *a)
{
    char **ids;
    size_t n;
    cp_error e;
    int64_t now = cp_now_ms();
    if (cp_store_runs_claimable(w->app->store, a, 200, &ids, &n, &e) != CP_OK) {
        cp_log_warn("reconciler: could not list claimable runs (next pass retries): %s", e.message);
        return;
    }
    /* Items nobody has been handed yet: a waiting run's own item may be one of
     * them (a backlog, not a loss), and a re-push would land behind them. */
    bool backlog = false;
    if (n > 0 && cp_queue_has_undelivered(w->app->queue, &backlog, &e) != CP_OK) backlog = false;
    json_t *seen = json_object();
    for (size_t i = 0; i < n; i++) {
        json_t *last = json_object_get(w->pushed, ids[i]);
        int64_t t = last ? json_integer_value(last) : 0;
        if (!last) t = now; /* first sighting: give the normal path time */
        if (last && !backlog && now - t >= REPUSH_AFTER_MS) {
            push(w, ids[i]);
            t = now;
        }
        json_object_set_new(seen, ids[i], json_integer(t));
    }
    json_decref(w->pushed);
    w->pushed = seen;
}

static void reconcile(cp_workers *w)
{
    cp_arena *a = cp_arena_new(16384);
    cp_error e;
    reap(w, a);
    /* Items delivered to consumers that died are taken over (Redis); our own
     * in-flight items are refreshed so nobody takes them from us. */
    if (cp_queue_reclaim(w->app->queue, w->app->cfg->lease_seconds * 2000, &e) != CP_OK)
        cp_log_warn("reconciler: could not reclaim queue items (next pass retries): %s", e.message);
    repush(w, a);
    cp_arena_free(a);
    cp_worker__schedule(w);
}

void *cp_worker__reconciler_main(void *arg)
{
    cp_workers *w = arg;
    while (!atomic_load(&w->stopping)) {
        reconcile(w);
        for (int i = 0; i < RECONCILE_MS / 100 && !atomic_load(&w->stopping); i++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}
