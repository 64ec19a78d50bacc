/* store_expiry.h (store.h declares the store itself and the types
 * these use): expiry, its reminders and the notification list. */
#ifndef CP_STORE_EXPIRY_H
#define CP_STORE_EXPIRY_H

#include "store/store.h"

/* ---- expiry and reminders (store_expiry.c) ---- */

/* Whether a person must approve run's plan: an expiry destroy unless its
 * project auto-approves them (whatever require_approval says), else the
 * project's require_approval. true when it cannot be read (fail safe). */
bool cp_store_run_requires_approval(cp_store *s, const cp_run *run);

/* A project's expiry settings as PATCH changes them: each *_set false =
 * unchanged; a NULL value with its *_set true = cleared. */
typedef struct {
    bool default_ttl_set, max_ttl_set;
    const int64_t *default_ttl_seconds, *max_ttl_seconds;
    const bool *auto_approve; /* NULL = unchanged */
} cp_expiry_settings;
cp_result cp_store_project_expiry_set(cp_store *s, const char *project_id, const cp_expiry_settings *x,
                                      cp_error *err) CP_MUST_CHECK;
/* Moves a resource's expires_at from old_ms to new_ms (ms), conditional on
 * it still being old_ms and the resource not destroyed: CP_ECONFLICT
 * (expiry_changed) when it moved meanwhile or the resource was destroyed. */
cp_result cp_store_resource_expiry_move(cp_store *s, const char *resource_id, int64_t old_ms, int64_t new_ms,
                                        cp_error *err) CP_MUST_CHECK;
/* The scheduler's expiry task (worker/scheduler.c). Queues a destroy (source
 * CP_SOURCE_EXPIRY) for each resource past its expires_at with no unfinished
 * run, at most limit, each once per expires_at, and notifies the project's
 * members (expired); then sends the 24 h and 1 h reminders that are due.
 * Rows are claimed with SKIP LOCKED on PostgreSQL and moved on in the same
 * transaction as the run, so concurrent sweeps queue each destroy once. The
 * new runs' ids go to *ids (in a). */
cp_result cp_store_expiry_sweep(cp_store *s, cp_arena *a, int64_t now_ms, int limit, char ***ids, size_t *n,
                                cp_error *err) CP_MUST_CHECK;

#define CP_NOTE_EXPIRING_24H "expiring_24h"
#define CP_NOTE_EXPIRING_1H "expiring_1h"
#define CP_NOTE_EXPIRED "expired"
#define CP_NOTE_RUN_NEEDS_APPROVAL "run_needs_approval"
#define CP_NOTE_RUN_SUCCEEDED "run_succeeded"
#define CP_NOTE_RUN_FAILED "run_failed"
#define CP_NOTE_RESOURCE_DRIFTED "resource_drifted"
#define CP_NOTE_GUARDRAIL_BLOCKED "guardrail_blocked"
typedef struct {
    char *id;
    char *kind;                        /* CP_NOTE_* */
    char *resource_id, *resource_name; /* NULL when about no resource */
    char *project_id;
    char *run_id;       /* NULL when about no run */
    char *message;      /* one line for people */
    int64_t expires_at; /* 0: not an expiry kind */
    int64_t created_at;
    bool read;
} cp_notification;
/* The user's notifications in projects they are still a member of, newest
 * first, at most limit, older than cursor (an id; NULL = from the newest);
 * *next is the cursor of the next page or NULL; *unread counts all their
 * unread ones, not only those listed. */
cp_result cp_store_notifications_list(cp_store *s, cp_arena *a, const char *user_id, int limit, const char *cursor,
                                      cp_notification **items, size_t *n, char **next, int64_t *unread,
                                      cp_error *err) CP_MUST_CHECK;
/* Marks one of user_id's notifications read (again is fine); CP_ENOTFOUND
 * when it is not theirs. */
cp_result cp_store_notification_read(cp_store *s, const char *user_id, const char *id, int64_t now,
                                     cp_error *err) CP_MUST_CHECK;

#endif
