/* store_schedules.h (store.h declares the store itself and the types
 * these use): working-hours schedules. */
#ifndef CP_STORE_SCHEDULES_H
#define CP_STORE_SCHEDULES_H

#include "store/store.h"

/* ---- working-hours schedules (store_schedules.c) ---- */

/* The change a schedule makes next. */
typedef enum { CP_SCHED_STOP, CP_SCHED_START } cp_sched_action;
const char *cp_sched_action_name(cp_sched_action a);

/* Sets (schedule_json not NULL) or clears a resource's schedule and its next
 * change (next_at 0: none). CP_ENOTFOUND when the resource is gone. */
cp_result cp_store_schedule_set(cp_store *s, const char *resource_id, const char *schedule_json, int64_t next_at,
                                cp_sched_action next_action, cp_error *err) CP_MUST_CHECK;

/* A resource whose scheduled change is due, as the sweep read it. */
typedef struct {
    const char *resource_id, *cloud, *kind, *name, *region, *size, *config, *schedule, *power_state;
    cp_resource_status status;
    int64_t next_at;
    cp_sched_action next_action;
} cp_sched_due;

/* What the sweep does with a due resource. */
typedef struct {
    char *run_params; /* malloc'd run_params text of the update run to queue; NULL: none */
    int64_t next_at;  /* the change after this one; 0: the schedule never fires again */
    cp_sched_action next_action;
} cp_sched_step;

/* Decides a due resource's step at now (the worker's side: cron and catalog). */
typedef cp_result (*cp_sched_plan_fn)(const cp_sched_due *due, int64_t now, cp_sched_step *out, cp_error *err);

/* The scheduler's task: claims up to limit resources whose change is due at
 * now and has no unfinished run (an unfinished run postpones it), and in
 * one transaction per sweep queues each one's update run (source schedule)
 * and moves its next change on, so a due change is queued once whoever
 * sweeps (FOR NO KEY UPDATE SKIP LOCKED on PostgreSQL). New run ids go to
 * *ids (in a). */
cp_result cp_store_schedule_sweep(cp_store *s, cp_arena *a, int64_t now, int limit, cp_sched_plan_fn plan, char ***ids,
                                  size_t *n, cp_error *err) CP_MUST_CHECK;

#endif
