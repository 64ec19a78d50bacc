/* Retention in the store (store/store_retention.c), on SQLite and PostgreSQL:
 * a finished run's events go in bounded batches and the run then says when;
 * an unfinished run and a recently finished one keep theirs; audit rows go
 * by age in batches; a drift report goes only once a newer one replaced it;
 * ended sessions and expired sign-ins go by their fixed rules;
 * sweeps racing on one database delete each row once. */
#include <sodium.h>
#include <stdlib.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_ops.h"
#include "store/store_drift.h"

#define SWEEPERS 3
#define OLD_EVENTS 2500

static cp_store *st;
static const char *backend_name;
static int fixtures;

static void fixture_new(cp_arena *a, tsu_fixture *f)
{
    cp_error e;
    cp_user u;
    cp_project p;
    CHECK_EQ(cp_store_user_create(st, a, cp_arena_printf(a, "r%d-%s@example.com", ++fixtures, backend_name), "U", "h",
                                  &u, &e),
             CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, NULL, &p, &e), CP_OK);
    *f = (tsu_fixture){u.id, p.id, tsu_account_new(st, a, p.id)};
}

static void exec2(const char *text, const char *id, int64_t v)
{
    cp_error e;
    cp_param p[] = {CP_PINT(v), CP_PTEXT(id)};
    cp_dbconn *c = cp_db_acquire(cp_store_db(st));
    CHECK_EQ(cp_db_exec(c, text, p, 2, NULL, &e), CP_OK);
    cp_db_release(cp_store_db(st), c);
}

static int64_t count(const char *text, const char *id)
{
    cp_error e;
    cp_param p[] = {CP_PTEXT(id)};
    double n = -1;
    cp_dbconn *c = cp_db_acquire(cp_store_db(st));
    CHECK_EQ(cp_conn_scalar(c, text, p, id ? 1 : 0, &n, &e), CP_OK);
    cp_db_release(cp_store_db(st), c);
    return (int64_t)n;
}

/* A run of a new resource in status with finished_at (0: NULL) and n events; its id in a. */
static char *run_with_events(cp_arena *a, const tsu_fixture *f, const char *status, int64_t finished_at, int n)
{
    cp_error e;
    cp_resource res;
    cp_run run;
    CHECK_EQ(tsu_resource_new(st, a, f, 1, &res, &run, &e), CP_OK);
    cp_param p[] = {CP_PTEXT(status), finished_at ? CP_PINT(finished_at) : CP_PNULL, CP_PTEXT(run.id)};
    cp_dbconn *c = cp_db_acquire(cp_store_db(st));
    CHECK_EQ(cp_db_exec(c, "UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", p, 3, NULL, &e), CP_OK);
    cp_param q[] = {CP_PINT(n), CP_PTEXT(run.id)};
    CHECK_EQ(cp_db_exec(c,
                        "INSERT INTO run_events (run_id, seq, ts, type, data)"
                        " WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)"
                        " SELECT CAST(? AS TEXT), i, 1, 'log', '{}' FROM k",
                        q, 2, NULL, &e),
             CP_OK);
    cp_db_release(cp_store_db(st), c);
    return run.id;
}

static int64_t events_of(const char *run_id)
{
    return count("SELECT COUNT(*) FROM run_events WHERE run_id = ?", run_id);
}

static int64_t pruned_at(cp_arena *a, const char *run_id)
{
    cp_run r;
    cp_error e;
    CHECK_EQ(cp_store_run_get(st, a, run_id, &r, &e), CP_OK);
    return r.events_pruned_at;
}

TEST(finished_runs_lose_their_events_in_batches)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f);
    int64_t now = cp_now_ms(), cutoff = now - 3600 * 1000;
    char *old = run_with_events(a, &f, "failed", 1000, OLD_EVENTS);
    char *recent = run_with_events(a, &f, "succeeded", now, 10);
    /* Unfinished, whatever its times say. */
    char *waiting = run_with_events(a, &f, "awaiting_approval", 1000, 10);
    char *queued = run_with_events(a, &f, "queued", 0, 3);

    int64_t total = 0, n = 0;
    bool more = true;
    cp_error e;
    int calls = 0;
    while (more) {
        CHECK_EQ(cp_store_retention_prune(st, CP_PRUNE_RUN_EVENTS, cutoff, now, 1000, &n, &more, &e), CP_OK);
        CHECK(n <= 1000);
        if (more) CHECK_EQ(pruned_at(a, old), 0); /* marked only once all are gone */
        total += n;
        if (++calls > 10) break;
    }
    CHECK_EQ(total, OLD_EVENTS);
    CHECK_EQ(events_of(old), 0);
    CHECK_EQ(pruned_at(a, old), now);
    CHECK_EQ(events_of(recent), 10);
    CHECK_EQ(pruned_at(a, recent), 0);
    CHECK_EQ(events_of(waiting), 10);
    CHECK_EQ(pruned_at(a, waiting), 0);
    CHECK_EQ(events_of(queued), 3);
    /* Nothing more is due: a sweep deletes nothing and marks nothing again. */
    CHECK_EQ(cp_store_retention_prune(st, CP_PRUNE_RUN_EVENTS, cutoff, now + 5, 1000, &n, &more, &e), CP_OK);
    CHECK_EQ(n, 0);
    CHECK(!more);
    CHECK_EQ(pruned_at(a, old), now);
    cp_arena_free(a);
}

TEST(audit_rows_go_by_age)
{
    cp_arena *a = cp_arena_new(4096);
    tsu_fixture f;
    fixture_new(a, &f);
    cp_error e;
    for (int i = 0; i < 5; i++) CHECK_EQ(cp_store_audit_add(st, f.user_id, f.project_id, "t.x", "t", NULL, &e), CP_OK);
    exec2("UPDATE audit_events SET ts = ? WHERE id IN (SELECT id FROM audit_events WHERE project_id = ?"
          " ORDER BY id LIMIT 3)",
          f.project_id, 1000);
    int64_t n, before = count("SELECT COUNT(*) FROM audit_events", NULL);
    bool more;
    CHECK_EQ(cp_store_retention_prune(st, CP_PRUNE_AUDIT, 2000, cp_now_ms(), 2, &n, &more, &e), CP_OK);
    CHECK_EQ(n, 2);
    CHECK(more);
    CHECK_EQ(cp_store_retention_prune(st, CP_PRUNE_AUDIT, 2000, cp_now_ms(), 2, &n, &more, &e), CP_OK);
    CHECK_EQ(n, 1);
    CHECK(!more);
    CHECK_EQ(count("SELECT COUNT(*) FROM audit_events WHERE project_id = ?", f.project_id), 2);
    CHECK_EQ(count("SELECT COUNT(*) FROM audit_events", NULL), before - 3);
    cp_arena_free(a);
}

TEST(the_newest_drift_report_stays)
{
    cp_arena *a = cp_arena_new(4096);
    tsu_fixture f;
    fixture_new(a, &f);
    cp_error e;
    cp_resource res;
    cp_run first;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &first, &e), CP_OK);
    /* Three checks, all old; ids sort in the order they were made. */
    char ids[3][CP_ID_LEN + 1];
    cp_dbconn *c = cp_db_acquire(cp_store_db(st));
    for (int i = 0; i < 3; i++) {
        CHECK(cp_id_new_after(i ? ids[i - 1] : first.id, ids[i]));
        cp_param p[] = {CP_PTEXT(ids[i]), CP_PTEXT(res.id), CP_PTEXT(f.project_id)};
        CHECK_EQ(cp_db_exec(c,
                            "INSERT INTO runs (id, resource_id, project_id, operation, status, queued_at, finished_at)"
                            " VALUES (?, ?, ?, 'drift_check', 'succeeded', 1, 1)",
                            p, 3, NULL, &e),
                 CP_OK);
        cp_param q[] = {CP_PTEXT(ids[i]), CP_PTEXT(res.id)};
        CHECK_EQ(cp_db_exec(c,
                            "INSERT INTO drift_reports (run_id, resource_id, status, changes, checked_at)"
                            " VALUES (?, ?, 'in_sync', '[]', 1000)",
                            q, 2, NULL, &e),
                 CP_OK);
    }
    cp_db_release(cp_store_db(st), c);
    int64_t n;
    bool more;
    CHECK_EQ(cp_store_retention_prune(st, CP_PRUNE_DRIFT_REPORTS, 2000, cp_now_ms(), 100, &n, &more, &e), CP_OK);
    CHECK_EQ(n, 2);
    CHECK_EQ(count("SELECT COUNT(*) FROM drift_reports WHERE resource_id = ?", res.id), 1);
    CHECK_EQ(count("SELECT COUNT(*) FROM drift_reports WHERE run_id = ?", ids[2]), 1);
    cp_drift_report rep;
    CHECK_EQ(cp_store_drift_report(st, a, res.id, &rep, &e), CP_OK);
    CHECK_STR(rep.run_id, ids[2]);
    cp_arena_free(a);
}

/* Sessions ended before the cutoff go (by revoke or by expiry, whichever came
 * first), live ones and recently ended ones stay; their refresh tokens go
 * with them. Expired sign-ins through a provider go, pending ones stay. */
TEST(ended_sessions_and_expired_sign_ins_go)
{
    cp_arena *a = cp_arena_new(4096);
    tsu_fixture f;
    fixture_new(a, &f);
    cp_error e;
    /* id, revoked_at (0: NULL), expires_at; cutoff 5000. */
    static const struct {
        const char *id;
        int64_t revoked_at, expires_at;
        bool gone;
    } rows[] = {
        {"live", 0, 9000000000000, false},
        {"expired-long-ago", 0, 1000, true},
        {"expired-lately", 0, 6000, false},
        {"revoked-long-ago", 2000, 9000000000000, true},
        {"revoked-lately", 7000, 9000000000000, false},
        {"revoked-after-expiry", 8000, 1000, true},
    };
    cp_dbconn *c = cp_db_acquire(cp_store_db(st));
    for (size_t i = 0; i < CP_ARRAY_LEN(rows); i++) {
        const char *sid = cp_arena_printf(a, "%s-%s", rows[i].id, backend_name);
        cp_param p[] = {CP_PTEXT(sid), CP_PTEXT(f.user_id), CP_PINT(rows[i].expires_at),
                        rows[i].revoked_at ? CP_PINT(rows[i].revoked_at) : CP_PNULL};
        CHECK_EQ(cp_db_exec(c,
                            "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, revoked_at)"
                            " VALUES (?, ?, 1, 1, ?, ?)",
                            p, 4, NULL, &e),
                 CP_OK);
        cp_param t[] = {CP_PTEXT(cp_arena_printf(a, "h-%s", sid)), CP_PTEXT(sid)};
        CHECK_EQ(cp_db_exec(c,
                            "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at)"
                            " VALUES (?, ?, 1, 9000000000000)",
                            t, 2, NULL, &e),
                 CP_OK);
    }
    for (int i = 0; i < 2; i++) {
        cp_param p[] = {CP_PTEXT(cp_arena_printf(a, "state-%d-%s", i, backend_name)),
                        CP_PINT(i ? 9000000000000 : 1000)};
        CHECK_EQ(cp_db_exec(c,
                            "INSERT INTO oidc_logins (state_hash, provider_id, nonce, verifier, return_to, created_at,"
                            " expires_at) VALUES (?, 'p', 'n', 'v', '/', 1, ?)",
                            p, 2, NULL, &e),
                 CP_OK);
    }
    cp_db_release(cp_store_db(st), c);
    int64_t n;
    bool more;
    CHECK_EQ(cp_store_retention_prune(st, CP_PRUNE_SESSIONS, 5000, cp_now_ms(), 100, &n, &more, &e), CP_OK);
    CHECK_EQ(n, 3);
    CHECK(!more);
    for (size_t i = 0; i < CP_ARRAY_LEN(rows); i++) {
        const char *sid = cp_arena_printf(a, "%s-%s", rows[i].id, backend_name);
        CHECK_EQ(count("SELECT COUNT(*) FROM sessions WHERE id = ?", sid), rows[i].gone ? 0 : 1);
        CHECK_EQ(count("SELECT COUNT(*) FROM refresh_tokens WHERE session_id = ?", sid), rows[i].gone ? 0 : 1);
    }
    CHECK_EQ(cp_store_retention_prune(st, CP_PRUNE_OIDC_LOGINS, 5000, cp_now_ms(), 100, &n, &more, &e), CP_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(
        count("SELECT COUNT(*) FROM oidc_logins WHERE state_hash = ?", cp_arena_printf(a, "state-1-%s", backend_name)),
        1);
    cp_arena_free(a);
}

/* ---- sweeps racing ---- */

typedef struct {
    int64_t cutoff, now, deleted[SWEEPERS];
} race_ctx;

static cp_result race_prune(tsu_race *r, int i, cp_arena *a)
{
    CP_UNUSED(a);
    race_ctx *rc = r->ctx;
    bool more = true;
    cp_result res = CP_OK;
    for (int k = 0; more && k < 100 && res == CP_OK; k++) {
        int64_t n = 0;
        cp_error e;
        res = cp_store_retention_prune(st, CP_PRUNE_RUN_EVENTS, rc->cutoff, rc->now, 300, &n, &more, &e);
        rc->deleted[i] += n;
    }
    return res;
}

TEST(racing_sweeps_delete_each_event_once)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f);
    char *runs[4];
    for (int i = 0; i < 4; i++) runs[i] = run_with_events(a, &f, "succeeded", 1000, 500);
    race_ctx rc = {.cutoff = 2000, .now = cp_now_ms()};
    tsu_race race;
    CHECK_EQ(tsu_race_run(&race, SWEEPERS, race_prune, &rc), SWEEPERS);
    /* A sweep that skipped rows another held may stop early: one more pass finishes. */
    tsu_race_run(&race, 1, race_prune, &rc);
    int64_t total = 0;
    for (int i = 0; i < SWEEPERS; i++) total += rc.deleted[i];
    CHECK_EQ(total, 4 * 500);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(events_of(runs[i]), 0);
        CHECK_EQ(pruned_at(a, runs[i]), rc.now);
    }
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(finished_runs_lose_their_events_in_batches),
        T_CASE(audit_rows_go_by_age),
        T_CASE(the_newest_drift_report_stays),
        T_CASE(ended_sessions_and_expired_sign_ins_go),
        T_CASE(racing_sweeps_delete_each_event_once),
    };
    return tsu_main(&(tsu_suite){"store-retention", SWEEPERS + 2, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
