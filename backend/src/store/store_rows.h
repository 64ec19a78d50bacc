/* store_rows.h: the resource and run rows, shared by store_resources.c and
 * store_runs.c: their column lists, the functions that fill records from
 * them, and the readers of status and operation columns. */
#ifndef CP_STORE_ROWS_H
#define CP_STORE_ROWS_H

#include "store/store_int.h"

/* A resource with its current run (the latest one, kept on the row by
 * migration 0009's triggers), as cp_resource. */
#define RESOURCE_COLS                                                                                                  \
    "r.id, r.project_id, r.account_id, a.name, r.cloud, r.kind, r.name, r.region, r.size, r.config, r.status,"         \
    " r.outputs, r.monthly_cost_usd, r.created_by, r.created_at, r.updated_at, r.current_run_id,"                      \
    " r.current_run_operation, r.current_run_status, r.schedule, r.power_state, r.schedule_next_at, r.expires_at,"     \
    " r.drift_status, r.drift_checked_at, r.protected"
/* How many: a query that selects more after RESOURCE_COLS reads them from here. */
#define RESOURCE_NCOLS 26
#define RESOURCE_FROM " FROM resources r JOIN cloud_accounts a ON a.id = r.account_id"
/* One text column into a char * (arena copy; NULL for SQL NULL). */
void cp_fill_text(cp_dbrows *r, cp_arena *a, void *out);

/* Fills a cp_resource from RESOURCE_COLS (RESOURCE_NCOLS columns). */
void cp_fill_resource(cp_dbrows *r, cp_arena *a, void *out);
/* The same without copying: the strings are the row's own, valid until the
 * next cp_dbrows_next or cp_dbrows_free. */
void cp_fill_resource_view(cp_dbrows *r, cp_resource *out);

/* A run with its resource's name, as cp_run. Never the sealed plan: only
 * cp_store_run_plan_load reads it. */
#define RUN_COLS                                                                                                       \
    "u.id, u.resource_id, rs.name, u.project_id, u.operation, u.status, u.attempt, u.params, u.lease_owner,"           \
    " u.lease_expires_at, u.lock_id, u.tofu_started, u.cancel_requested, u.plan_summary, u.approved_by,"               \
    " u.error, u.event_count, u.events_dropped, u.created_by, u.queued_at, u.started_at,"                              \
    " u.finished_at, u.source, u.override_required, u.request_id, u.events_pruned_at"
#define RUN_FROM " FROM runs u JOIN resources rs ON rs.id = u.resource_id"
/* Fills a cp_run from RUN_COLS (26 columns). */
void cp_fill_run(cp_dbrows *r, cp_arena *a, void *out);
/* The run on a connection already held; CP_ENOTFOUND (not_found) when there is none. */
cp_result cp_conn_run_by_id(cp_dbconn *c, cp_arena *a, const char *id, cp_run *out, cp_error *err);

/* Status and operation columns hold names from status.c; anything else (a
 * hand-edited row) is logged and read as failed (or create). NULL (no
 * current run) reads as the same default and means nothing. */
cp_run_status cp_run_status_col(cp_dbrows *r, int col);
cp_resource_status cp_resource_status_col(cp_dbrows *r, int col);
cp_run_operation cp_run_operation_col(cp_dbrows *r, int col);

#endif
