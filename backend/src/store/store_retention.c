/* store_retention.c: the retention sweep's deletes (worker/retention.c):
 * finished runs' events, audit rows, notifications and superseded drift
 * reports past their age, a bounded batch per transaction. */
#include <stdio.h>

#include "store/store_int.h"
#include "store/store_ops.h"

static const char *const names[CP_PRUNE_COUNT] = {
    [CP_PRUNE_RUN_EVENTS] = "run_events",       [CP_PRUNE_AUDIT] = "audit_events",
    [CP_PRUNE_NOTIFICATIONS] = "notifications", [CP_PRUNE_DRIFT_REPORTS] = "drift_reports",
    [CP_PRUNE_SESSIONS] = "sessions",           [CP_PRUNE_OIDC_LOGINS] = "oidc_logins",
};

const char *cp_prune_name(cp_prune_what w)
{
    return w >= 0 && w < CP_PRUNE_COUNT ? names[w] : "unknown";
}

/* ---- run events ---- */

/* Runs whose log may go: finished before the cutoff and not yet pruned; the
 * terms are those of the partial index runs_events_prunable (0018), so the
 * sweep reads only the runs still holding events. PostgreSQL claims them
 * (SKIP LOCKED: a run another sweep holds is left to it); SQLite's write
 * transaction is the only writer. Oldest first, so a backlog drains in order. */
#define PRUNABLE_RUNS_WHERE                                                                                            \
    " WHERE events_pruned_at IS NULL AND status IN " CP_RUN_SQL_FINAL                                                  \
    " AND finished_at < ? ORDER BY finished_at LIMIT ?"
/* SQLite's planner prefers runs_status (every finished run, then a sort)
 * unless told; INDEXED BY also fails loudly should the index stop matching. */
static const char *const prunable_runs_sql[2] = {
    "SELECT id FROM runs INDEXED BY runs_events_prunable" PRUNABLE_RUNS_WHERE,
    "SELECT id FROM runs" PRUNABLE_RUNS_WHERE " FOR UPDATE SKIP LOCKED",
};
/* Runs claimed per transaction: each costs a DELETE and an UPDATE. */
#define RUNS_PER_TX 50

typedef struct {
    int64_t cutoff, now;
    int limit;
    int64_t deleted;
    bool more;
} events_ctx;

static cp_result tx_prune_events(cp_dbconn *c, void *ctx, cp_error *err)
{
    events_ctx *ec = ctx;
    bool pg = cp_dbconn_kind(c) == CP_DB_PG;
    cp_param p[] = {CP_PINT(ec->cutoff), CP_PINT(RUNS_PER_TX)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, prunable_runs_sql[pg], p, 2, &rows, err);
    if (r != CP_OK) return r;
    char ids[RUNS_PER_TX][CP_ID_LEN + 1];
    int n = 0;
    while (n < RUNS_PER_TX && cp_dbrows_next(rows)) {
        const char *id = cp_dbrows_text(rows, 0);
        snprintf(ids[n++], sizeof ids[0], "%s", id ? id : "");
    }
    cp_dbrows_free(rows);
    ec->more = n == RUNS_PER_TX;
    for (int i = 0; i < n && ec->deleted < ec->limit; i++) {
        int64_t want = ec->limit - ec->deleted, gone = 0;
        cp_param q[] = {CP_PTEXT(ids[i]), CP_PTEXT(ids[i]), CP_PINT(want)};
        r = cp_db_exec(c,
                       "DELETE FROM run_events WHERE run_id = ? AND seq IN"
                       " (SELECT seq FROM run_events WHERE run_id = ? ORDER BY seq LIMIT ?)",
                       q, 3, &gone, err);
        if (r != CP_OK) return r;
        ec->deleted += gone;
        if (gone == want) { /* the budget ran out: this run may hold more, the next batch sees */
            ec->more = true;
            break;
        }
        cp_param u[] = {CP_PINT(ec->now), CP_PTEXT(ids[i])};
        if ((r = cp_db_exec(c, "UPDATE runs SET events_pruned_at = ? WHERE id = ?", u, 2, NULL, err)) != CP_OK)
            return r;
    }
    return CP_OK;
}

/* ---- rows deleted by age alone ---- */

/* One statement each, per dialect: the ids of at most limit old rows, then
 * their delete. PostgreSQL skips rows another sweep is deleting; its ids go
 * through an array so the delete reads them by primary key (with IN (...)
 * the planner hash-joins against a scan of the whole table). */
#define BY_AGE(table, key, where)                                                                                      \
    "DELETE FROM " table " WHERE " key " IN (SELECT " key " FROM " table " " where " LIMIT ?)"
#define BY_AGE_PG(table, key, where, of)                                                                               \
    "DELETE FROM " table " WHERE " key " = ANY(ARRAY(SELECT " key " FROM " table " " where " LIMIT ? FOR UPDATE" of    \
    " SKIP LOCKED))"
/* A drift report goes only once a newer report of its resource exists: the
 * newest one is what GET /resources/{id}/drift shows, whatever its age. */
#define DRIFT_OLD                                                                                                      \
    "d WHERE d.checked_at < ? AND EXISTS (SELECT 1 FROM drift_reports n WHERE n.resource_id = d.resource_id"           \
    " AND n.run_id > d.run_id)"

/* A session ended at the earlier of its revoke and its expiry (a NULL
 * revoked_at compares as not less). */
#define SESSION_ENDED "WHERE CASE WHEN revoked_at < expires_at THEN revoked_at ELSE expires_at END < ?"

static const char *const by_age_sql[CP_PRUNE_COUNT][2] = {
    [CP_PRUNE_AUDIT] = {BY_AGE("audit_events", "id", "WHERE ts < ?"),
                        BY_AGE_PG("audit_events", "id", "WHERE ts < ?", "")},
    [CP_PRUNE_NOTIFICATIONS] = {BY_AGE("notifications", "id", "WHERE created_at < ?"),
                                BY_AGE_PG("notifications", "id", "WHERE created_at < ?", "")},
    [CP_PRUNE_DRIFT_REPORTS] = {BY_AGE("drift_reports", "run_id", DRIFT_OLD),
                                BY_AGE_PG("drift_reports", "run_id", DRIFT_OLD, " OF d")},
    /* A session's refresh tokens go with it (ON DELETE CASCADE). */
    [CP_PRUNE_SESSIONS] = {BY_AGE("sessions", "id", SESSION_ENDED), BY_AGE_PG("sessions", "id", SESSION_ENDED, "")},
    [CP_PRUNE_OIDC_LOGINS] = {BY_AGE("oidc_logins", "state_hash", "WHERE expires_at < ?"),
                              BY_AGE_PG("oidc_logins", "state_hash", "WHERE expires_at < ?", "")},
};

cp_result cp_store_retention_prune(cp_store *s, cp_prune_what w, int64_t cutoff_ms, int64_t now_ms, int limit,
                                   int64_t *deleted, bool *more, cp_error *err)
{
    *deleted = 0;
    *more = false;
    if (limit <= 0 || w < 0 || w >= CP_PRUNE_COUNT) return CP_OK;
    if (w == CP_PRUNE_RUN_EVENTS) {
        events_ctx ec = {cutoff_ms, now_ms, limit, 0, false};
        cp_result r = cp_store_tx(s, tx_prune_events, &ec, err);
        if (r == CP_OK) {
            *deleted = ec.deleted;
            *more = ec.more;
        }
        return r;
    }
    bool pg = cp_db_kind_of(cp_store_db(s)) == CP_DB_PG;
    cp_param p[] = {CP_PINT(cutoff_ms), CP_PINT(limit)};
    cp_result r = cp_store_exec(s, by_age_sql[w][pg], p, 2, deleted, err);
    *more = r == CP_OK && *deleted >= limit;
    return r;
}
