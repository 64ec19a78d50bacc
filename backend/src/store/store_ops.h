/* store_ops.h (store.h declares the store itself and the types
 * these use): the metrics gauges and retention. */
#ifndef CP_STORE_OPS_H
#define CP_STORE_OPS_H

#include "store/store.h"

/* ---- metrics gauges (store_metrics.c) ---- */

/* Runs by status (counts[CP_RUN_STATUS_COUNT]) and resources not destroyed
 * by drift status (drift[CP_DRIFT_STATUS_COUNT]): one GROUP BY each, for a
 * scrape. Unknown status text is left out. */
cp_result cp_store_metrics_counts(cp_store *s, int64_t *runs, int64_t *drift, cp_error *err) CP_MUST_CHECK;

/* ---- retention (store_retention.c) ---- */

/* What the retention sweep prunes, each by its own rule. */
typedef enum {
    CP_PRUNE_RUN_EVENTS,    /* the events of runs that finished before the cutoff */
    CP_PRUNE_AUDIT,         /* audit rows older than the cutoff */
    CP_PRUNE_NOTIFICATIONS, /* notifications created before the cutoff */
    CP_PRUNE_DRIFT_REPORTS, /* drift reports older than the cutoff that a newer one of their resource replaced */
    /* Kept by a fixed rule, whatever the retention settings: */
    CP_PRUNE_SESSIONS,    /* sign-in sessions that ended (revoked or expired) before the cutoff */
    CP_PRUNE_OIDC_LOGINS, /* single sign-on sign-ins never finished, expired before the cutoff */
    CP_PRUNE_COUNT
} cp_prune_what;
/* How long an ended session stays for an operator to look at after an
 * incident (the sweep's cutoff for CP_PRUNE_SESSIONS, and what a user's next
 * sign-in drops). */
#define CP_SESSION_ENDED_KEEP_MS (7LL * 24 * 3600 * 1000)
/* "run_events", "audit_events", ...: the table, for logs. */
const char *cp_prune_name(cp_prune_what w);
/* Deletes at most limit rows of w older than cutoff_ms in one short
 * transaction; *deleted gets how many, *more whether the batch was full (so
 * another call may find more due). A run whose events are all gone gets
 * events_pruned_at = now_ms; an unfinished run is never touched. On
 * PostgreSQL rows another sweep holds are skipped (SKIP LOCKED), so sweeps
 * of several processes at once delete different rows. */
cp_result cp_store_retention_prune(cp_store *s, cp_prune_what w, int64_t cutoff_ms, int64_t now_ms, int limit,
                                   int64_t *deleted, bool *more, cp_error *err) CP_MUST_CHECK;

#endif
