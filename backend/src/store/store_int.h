/* store_int.h: helpers shared by the store's implementation files. */
#ifndef CP_STORE_INT_H
#define CP_STORE_INT_H

#include "core/ids.h"
#include "store/store.h"
#include "store/store_drift.h"

struct cp_store {
    cp_db *db;
    cp_store_limits limits;
};

typedef void (*cp_row_fn)(cp_dbrows *r, cp_arena *a, void *out);

/* One statement on a pooled connection. */
cp_result cp_store_exec(cp_store *s, const char *sql, const cp_param *p, int n, int64_t *changes,
                        cp_error *err) CP_MUST_CHECK;
/* First row through fill; CP_ENOTFOUND (with err set to what) when there is none. */
cp_result cp_store_one(cp_store *s, cp_arena *a, const char *sql, const cp_param *p, int n, cp_row_fn fill, void *out,
                       const char *what, cp_error *err) CP_MUST_CHECK;

/* Every row through fill into an arena array of elem_size items (at most max). */
cp_result cp_store_many(cp_store *s, cp_arena *a, const char *sql, const cp_param *p, int n, cp_row_fn fill,
                        size_t elem_size, size_t max, void **items, size_t *count, cp_error *err) CP_MUST_CHECK;
/* Runs fn inside a write transaction on one connection; commits on CP_OK,
 * rolls back otherwise. */
typedef cp_result (*cp_tx_fn)(cp_dbconn *c, void *ctx, cp_error *err);
cp_result cp_store_tx(cp_store *s, cp_tx_fn fn, void *ctx, cp_error *err) CP_MUST_CHECK;
/* Single-row query on a connection already held (inside a transaction). */
cp_result cp_conn_one(cp_dbconn *c, cp_arena *a, const char *sql, const cp_param *p, int n, cp_row_fn fill, void *out,
                      cp_error *err) CP_MUST_CHECK;
/* First column of the first row as a number (0 when no row). */
cp_result cp_conn_scalar(cp_dbconn *c, const char *sql, const cp_param *p, int n, double *out,
                         cp_error *err) CP_MUST_CHECK;
/* Parent rows a write transaction can lock before its check-then-write. */
typedef enum {
    CP_LOCK_PROJECT,             /* id: a project id */
    CP_LOCK_PROJECT_OF_RESOURCE, /* id: a resource id; locks the project it belongs to */
    CP_LOCK_RESOURCE,
    CP_LOCK_RUN,
} cp_lock_row;
/* Locks one row until the transaction ends, so a check (budget, last owner,
 * next event seq, pending destroy) and the write it allows cannot interleave
 * with another transaction's. Only PostgreSQL needs it: its transactions are
 * READ COMMITTED, while SQLite's BEGIN IMMEDIATE already serialises writers
 * (a no-op there). A missing row locks nothing; the caller's own read reports
 * it. Always take locks in the order project, resource, run. */
cp_result cp_conn_lock(cp_dbconn *c, cp_lock_row what, const char *id, cp_error *err) CP_MUST_CHECK;
/* The per-project caps (store_limits.c) for a write of a new resource
 * (new_resource) and/or a new non-destroy run (new_run) in project_id. Call
 * after locking the project. CP_ERATE too_many_runs, CP_ECONFLICT resource_quota. */
cp_result cp_conn_check_quotas(cp_dbconn *c, const cp_store_limits *l, const char *project_id, bool new_resource,
                               bool new_run, cp_error *err) CP_MUST_CHECK;
/* CP_ECONFLICT project_busy when run_id's project already executes
 * l->project_active_runs runs. Locks the project (call first in the claim). */
cp_result cp_conn_check_active(cp_dbconn *c, const cp_store_limits *l, const char *run_id, cp_error *err) CP_MUST_CHECK;
/* Inserts a queued run of resource_id (its id sorts after the resource's
 * runs) and reads it into out (may be NULL). store_resources.c. */
cp_result cp_conn_run_insert(cp_dbconn *c, cp_arena *a, const char *resource_id, const char *project_id,
                             cp_run_operation operation, const char *params, const char *user_id, const char *source,
                             cp_run *out, cp_error *err) CP_MUST_CHECK;
/* The same without reading the run back: its id into id. */
cp_result cp_conn_run_insert_id(cp_dbconn *c, const char *resource_id, const char *project_id,
                                cp_run_operation operation, const char *params, const char *user_id, const char *source,
                                char id[CP_ID_LEN + 1], cp_error *err) CP_MUST_CHECK;
/* store_drift.c: what a drift check run that ended in final found (drift:
 * success only) goes on its resource and into its report; canceled checks
 * record nothing. Inside the run's finish transaction. */
cp_result cp_conn_drift_record(cp_dbconn *c, const cp_run *run, cp_run_status final, const cp_drift_outcome *drift,
                               cp_error *err) CP_MUST_CHECK;
/* store_drift.c: ends the drift checks of resource_id still to finish:
 * queued ones at once, running ones by asking their worker to cancel. */
cp_result cp_conn_drift_cancel_checks(cp_dbconn *c, const char *resource_id, cp_error *err) CP_MUST_CHECK;
/* Keyset pages: rows are fetched limit+1; the extra one only signals a next page. */
int cp_store_page_limit(int limit);
/* Trims a limit+1 page to limit items and sets *next to the last id shown. */
#define FINISH_PAGE(items, n, next, limit, idfield)                                                                    \
    do {                                                                                                               \
        *(next) = NULL;                                                                                                \
        if (*(n) > (size_t)(limit)) {                                                                                  \
            *(n) = (size_t)(limit);                                                                                    \
            *(next) = (*(items))[*(n)-1].idfield;                                                                      \
        }                                                                                                              \
    } while (0)

/* Queues a destroy of resource_id that source (CP_SOURCE_*) asked for, by
 * no person, on a connection inside a transaction (store_resources.c): the
 * same checks as cp_store_run_enqueue (CP_ECONFLICT resource_destroyed or
 * destroy_pending), taking the project and resource locks. */
cp_result cp_conn_destroy_enqueue(cp_dbconn *c, cp_arena *a, const char *resource_id, const char *run_params,
                                  const char *source, cp_run *out, cp_error *err) CP_MUST_CHECK;

/* Inserts a user row (store.c); inside a transaction or not. CP_ECONFLICT
 * (email_taken) when the email has an account. */
cp_result cp_conn_user_insert(cp_dbconn *c, cp_arena *a, const char *email, const char *name, const char *password_hash,
                              int64_t now, cp_user *out, cp_error *err) CP_MUST_CHECK;

/* Inserts a cloud account row (store_projects.c); inside a transaction or not. */
cp_result cp_conn_account_insert(cp_dbconn *c, const cp_account *acc, cp_error *err) CP_MUST_CHECK;

/* Ends the resource's open cost period at now and, when rate > 0, opens one
 * at that monthly rate (store_costs.c). Inside a transaction. */
cp_result cp_conn_rate_change(cp_dbconn *c, const char *resource_id, double rate, int64_t now,
                              cp_error *err) CP_MUST_CHECK;

/* One run the reap scan saw with an expired lease (seen), in its own
 * transaction: taken over only if seen's owner still holds seen's attempt
 * and the lease is still expired at now; then requeued if tofu has not
 * started, else failed "worker lost". *out gets the row as read under the
 * takeover (before the requeue or fail: lock_id, resource_id), valid unless
 * *outcome is CP_REAP_NONE (someone else decided the run first).
 * Exposed for cp_store_runs_reap and its tests. */
typedef enum { CP_REAP_NONE, CP_REAP_REQUEUED, CP_REAP_LOST } cp_reap_outcome;
cp_result cp_store_run_reap_one(cp_store *s, cp_arena *a, const cp_run *seen, int64_t now, cp_reap_outcome *outcome,
                                cp_run *out, cp_error *err) CP_MUST_CHECK;

/* After a create or update run succeeded with config (JSON text): records
 * the power state it left a VM in (store_schedules.c). Inside the finish
 * transaction. */
cp_result cp_conn_power_state_after_run(cp_dbconn *c, const char *resource_id, const char *config,
                                        cp_error *err) CP_MUST_CHECK;

/* Appends checks (JSON array text) to run_id on a connection already held
 * (store_guardrails.c). */
cp_result cp_conn_run_checks_add(cp_dbconn *c, const char *run_id, const char *checks_json,
                                 cp_error *err) CP_MUST_CHECK;
/* ---- events into the outbox (store_notify.c), inside the caller's transaction ---- */

/* One event: a delivery to each enabled webhook of the project subscribed
 * to it, and a notification (note_kind, or the event's own kind) to each of
 * its people (openapi.yaml Notification). */
typedef struct {
    const char *event; /* CP_EVENT_* */
    const char *project_id;
    const char *resource_id, *resource_name; /* NULL when about no resource */
    const char *run_id;                      /* or NULL */
    const char *actor_id;                    /* who asked; NULL: no person (the scheduler) */
    int64_t expires_at;                      /* expiry events; 0 otherwise */
    const char *note_kind;                   /* NULL: the event's own */
    const char *message;                     /* one line for people */
    json_t *data;                            /* the payload's data (borrowed) */
} cp_outbox_event;
cp_result cp_conn_event_emit(cp_dbconn *c, cp_arena *a, const cp_outbox_event *ev, cp_error *err) CP_MUST_CHECK;
/* run.needs_approval, run.succeeded or run.failed of run_id as its row now stands. */
cp_result cp_conn_run_event(cp_dbconn *c, const char *run_id, const char *event, cp_error *err) CP_MUST_CHECK;
/* resource.drifted (drift_status), resource.expiring (note_kind
 * expiring_24h or expiring_1h, expires_at) or resource.expired (expires_at,
 * run_id: its destroy) of resource_id. */
cp_result cp_conn_resource_event(cp_dbconn *c, const char *resource_id, const char *event, const char *note_kind,
                                 const char *drift_status, int64_t expires_at, const char *run_id,
                                 cp_error *err) CP_MUST_CHECK;
/* The deliveries of one event to each enabled webhook of its project that
 * subscribes to it (store_webhooks.c), inside the caller's transaction. */
cp_result cp_conn__webhook_fanout(cp_dbconn *c, cp_arena *a, const cp_outbox_event *ev, int64_t now,
                                  cp_error *err) CP_MUST_CHECK;
/* A write to the outbox in this thread's transaction: cp_store_tx wakes the
 * delivery loop after it commits (store.c). */
void cp_store__outbox_written(void);

#endif
