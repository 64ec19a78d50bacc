/* worker.h: the claim -> run -> report loop. A pool of worker threads pops run
 * ids from the queue, claims each run in the store (the store decides who runs
 * what), runs OpenTofu through the engine while renewing the lease by
 * heartbeat, records every event, and reports the outcome. A reconciler
 * thread re-queues runs whose lease expired before tofu started, fails runs
 * whose worker died mid plan/apply (freeing the state lock the platform itself
 * took), and re-enqueues queued runs nobody holds. */
#ifndef CP_WORKER_H
#define CP_WORKER_H

#include "app/app.h"

typedef struct cp_workers cp_workers;

/* Starts n worker threads and the reconciler. */
cp_result cp_workers_start(cp_app *app, int n, cp_workers **out, cp_error *err) CP_MUST_CHECK;
/* Stops taking runs, lets running ones finish for up to grace_ms, cancels
 * the rest, and joins every thread. */
void cp_workers_stop(cp_workers *w, int64_t grace_ms);
/* The sandbox cloud's URL for runs from now on (serve: once its port is known). NULL w: nothing. */
void cp_workers_set_sandbox_endpoint(cp_workers *w, const char *url);
/* The tofu binary and the modules dir the config selects (also for admin commands). */
void cp_workers_engine_paths(const cp_config *cfg, char *tofu, size_t tcap, char *modules, size_t mcap);

#endif
