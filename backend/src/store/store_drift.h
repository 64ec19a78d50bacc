/* store_drift.h (store.h declares the store itself and the types
 * these use): drift detection. */
#ifndef CP_STORE_DRIFT_H
#define CP_STORE_DRIFT_H

#include "store/store.h"

/* ---- drift detection (store_drift.c) ---- */

/* What a drift check found. */
typedef struct {
    cp_drift_status status; /* in_sync | drifted | missing */
    const char *changes;    /* JSON array text: [{address, action, attributes:[{path, before, after}]}] */
} cp_drift_outcome;

/* A drift check run ended: its status, and (success) what it found on the
 * resource and in its report; a failure records check_failed. Fenced. */
cp_result cp_store_drift_check_finish(cp_store *s, const cp_run *run, cp_run_status final, const char *error,
                                      const cp_drift_outcome *drift, cp_error *err) CP_MUST_CHECK;

/* Queues a drift check of resource_id for source (user_id may be NULL):
 * CP_ECONFLICT run_in_progress while another run of it is unfinished,
 * not_active unless the resource is active. */
cp_result cp_store_drift_check_enqueue(cp_store *s, cp_arena *a, const char *resource_id, const char *user_id,
                                       const char *source, cp_run *out, cp_error *err) CP_MUST_CHECK;

typedef struct {
    char *resource_id;
    cp_drift_status status;
    int64_t checked_at; /* 0: never */
    char *run_id;       /* NULL: never checked */
    char *changes;      /* JSON array text */
} cp_drift_report;
/* The latest report of resource_id; a resource never checked reads as
 * never_checked with no changes. */
cp_result cp_store_drift_report(cp_store *s, cp_arena *a, const char *resource_id, cp_drift_report *out,
                                cp_error *err) CP_MUST_CHECK;

/* The fleet view's counts (resources not destroyed) of the projects user_id
 * is a member of (project_id: that one only). */
typedef struct {
    char *key;  /* project id, or cloud */
    char *name; /* project name (NULL for clouds) */
    int64_t counts[CP_DRIFT_STATUS_COUNT];
} cp_drift_group;
cp_result cp_store_drift_fleet(cp_store *s, cp_arena *a, const char *user_id, const char *project_id,
                               cp_drift_group **projects, size_t *nprojects, cp_drift_group **clouds, size_t *nclouds,
                               cp_error *err) CP_MUST_CHECK;

/* A project's drift-check interval in minutes (0 = off). */
cp_result cp_store_project_drift_interval(cp_store *s, const char *project_id, long *minutes,
                                          cp_error *err) CP_MUST_CHECK;
/* Sets it; the resources' next checks are due at once (NULL). */
cp_result cp_store_project_set_drift_interval(cp_store *s, const char *project_id, long minutes,
                                              cp_error *err) CP_MUST_CHECK;

/* The scheduler's drift task: active resources of projects with an interval
 * that are due (drift_next_at NULL or past) and have no unfinished run get a
 * drift check (source drift_schedule) and their next time, claimed row by
 * row (SKIP LOCKED on PostgreSQL) in one transaction with the runs' inserts.
 * The new runs' ids go to *ids (allocated in a). */
cp_result cp_store_drift_sweep(cp_store *s, cp_arena *a, int64_t now_ms, int limit, char ***ids, size_t *n,
                               cp_error *err) CP_MUST_CHECK;

#endif
