/* Tests of store_drift.c: queuing drift checks (by a person and by the
 * scheduler's sweep), what a check records, a change canceling checks, the
 * list filter and the fleet counts. Every case runs on SQLite and, when
 * CP_TEST_PG_URL is set, PostgreSQL. */
#include <sodium.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_drift.h"

static cp_store *st;
static const char *backend_name;
static int fixtures;

static const cp_resource_spec small_spec = {"small", "{}", 1, NULL};

static void fixture_new(cp_arena *a, tsu_fixture *f)
{
    cp_error e;
    cp_user u;
    cp_project p;
    char *email = cp_arena_printf(a, "d%d-%s@example.com", ++fixtures, backend_name);
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, NULL, &p, &e), CP_OK);
    f->user_id = u.id;
    f->project_id = p.id;
    f->account_id = tsu_account_new(st, a, p.id);
}

/* An active resource: created, its create run claimed and succeeded. */
static void active_resource(cp_arena *a, const tsu_fixture *f, cp_resource *res)
{
    cp_error e;
    cp_run run, held;
    CHECK_EQ(tsu_resource_new(st, a, f, 1, res, &run, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, run.id, "w1", 60000, &held, &e), CP_OK);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_finish(st, &held, CP_RUN_SUCCEEDED, NULL, "{}", &small_spec, &e), CP_OK);
}

static cp_resource get(cp_arena *a, const char *id)
{
    cp_resource r = {0};
    cp_error e;
    CHECK_EQ(cp_store_resource_by_id(st, a, id, &r, &e), CP_OK);
    return r;
}

static cp_run run_of(cp_arena *a, const char *id)
{
    cp_run r = {0};
    cp_error e;
    CHECK_EQ(cp_store_run_get(st, a, id, &r, &e), CP_OK);
    return r;
}

/* Claims a check and ends it with found (NULL: failed). */
static void run_check(cp_arena *a, const char *run_id, const cp_drift_outcome *found)
{
    cp_error e;
    cp_run held;
    CHECK_EQ(cp_store_run_claim(st, a, run_id, "w1", 60000, &held, &e), CP_OK);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_drift_check_finish(st, &held, found ? CP_RUN_SUCCEEDED : CP_RUN_FAILED, found ? NULL : "boom",
                                         found, &e),
             CP_OK);
}

TEST(check_records_what_it_found)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f);
    cp_error e;
    cp_resource res;
    cp_run create, check;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &create, &e), CP_OK);
    CHECK_EQ(res.drift_status, CP_DRIFT_NEVER_CHECKED);
    CHECK_EQ(res.drift_checked_at, 0);
    /* The create is unfinished: no check. */
    CHECK_EQ(cp_store_drift_check_enqueue(st, a, res.id, f.user_id, CP_SOURCE_USER, &check, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "run_in_progress");
    cp_run held;
    CHECK_EQ(cp_store_run_claim(st, a, create.id, "w1", 60000, &held, &e), CP_OK);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_finish(st, &held, CP_RUN_SUCCEEDED, NULL, "{}", &small_spec, &e), CP_OK);

    cp_drift_report rep;
    CHECK_EQ(cp_store_drift_report(st, a, res.id, &rep, &e), CP_OK);
    CHECK_EQ(rep.status, CP_DRIFT_NEVER_CHECKED);
    CHECK(rep.run_id == NULL);
    CHECK_STR(rep.changes, "[]");

    CHECK_EQ(cp_store_drift_check_enqueue(st, a, res.id, f.user_id, CP_SOURCE_USER, &check, &e), CP_OK);
    CHECK_EQ(check.operation, CP_OP_DRIFT_CHECK);
    CHECK_STR(check.source, CP_SOURCE_USER);
    /* One check at a time. */
    cp_run again;
    CHECK_EQ(cp_store_drift_check_enqueue(st, a, res.id, f.user_id, CP_SOURCE_USER, &again, &e), CP_ECONFLICT);
    /* The claim leaves the resource active. */
    CHECK_EQ(cp_store_run_claim(st, a, check.id, "w1", 60000, &held, &e), CP_OK);
    CHECK_EQ(get(a, res.id).status, CP_RES_ACTIVE);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
    const char *changes = "[{\"address\":\"x\",\"action\":\"update\",\"attributes\":[]}]";
    cp_drift_outcome found = {CP_DRIFT_DRIFTED, changes};
    CHECK_EQ(cp_store_drift_check_finish(st, &held, CP_RUN_SUCCEEDED, NULL, &found, &e), CP_OK);
    cp_resource now = get(a, res.id);
    CHECK_EQ(now.status, CP_RES_ACTIVE);
    CHECK_EQ(now.drift_status, CP_DRIFT_DRIFTED);
    CHECK(now.drift_checked_at > 0);
    CHECK_STR(now.config, res.config); /* a check changes nothing of the order */
    CHECK_EQ(run_of(a, check.id).status, CP_RUN_SUCCEEDED);
    CHECK_EQ(cp_store_drift_report(st, a, res.id, &rep, &e), CP_OK);
    CHECK_EQ(rep.status, CP_DRIFT_DRIFTED);
    CHECK_STR(rep.run_id, check.id);
    CHECK_STR(rep.changes, changes);

    /* A failed check says so, and its report is the latest. */
    CHECK_EQ(cp_store_drift_check_enqueue(st, a, res.id, NULL, CP_SOURCE_DRIFT_SCHEDULE, &check, &e), CP_OK);
    run_check(a, check.id, NULL);
    CHECK_EQ(get(a, res.id).drift_status, CP_DRIFT_CHECK_FAILED);
    CHECK_EQ(get(a, res.id).status, CP_RES_ACTIVE);
    CHECK_EQ(cp_store_drift_report(st, a, res.id, &rep, &e), CP_OK);
    CHECK_EQ(rep.status, CP_DRIFT_CHECK_FAILED);
    CHECK_STR(rep.run_id, check.id);
    cp_arena_free(a);
}

TEST(a_change_cancels_checks)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f);
    cp_error e;
    cp_resource res;
    active_resource(a, &f, &res);
    cp_run check, upd;
    /* Queued: canceled at once by the update's enqueue. */
    CHECK_EQ(cp_store_drift_check_enqueue(st, a, res.id, f.user_id, CP_SOURCE_USER, &check, &e), CP_OK);
    CHECK_EQ(cp_store_run_enqueue(st, a, res.id, CP_OP_UPDATE, "{}", 1, f.user_id, &upd, &e), CP_OK);
    cp_run c = run_of(a, check.id);
    CHECK_EQ(c.status, CP_RUN_CANCELED);
    CHECK(c.error && strstr(c.error, "change of the resource"));
    CHECK_EQ(get(a, res.id).drift_status, CP_DRIFT_NEVER_CHECKED); /* a canceled check records nothing */
    cp_run held;
    CHECK_EQ(cp_store_run_claim(st, a, upd.id, "w1", 60000, &held, &e), CP_OK);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_finish(st, &held, CP_RUN_SUCCEEDED, NULL, "{}", &small_spec, &e), CP_OK);

    /* Running: its worker is asked to cancel. */
    CHECK_EQ(cp_store_drift_check_enqueue(st, a, res.id, f.user_id, CP_SOURCE_USER, &check, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, check.id, "w1", 60000, &held, &e), CP_OK);
    CHECK_EQ(cp_store_run_enqueue(st, a, res.id, CP_OP_DESTROY, "{}", 1, f.user_id, &upd, &e), CP_OK);
    c = run_of(a, check.id);
    CHECK_EQ(c.status, CP_RUN_PLANNING);
    CHECK(c.cancel_requested);
    /* The destroy waits for it, as for any earlier run. */
    cp_run other;
    CHECK_EQ(cp_store_run_claim(st, a, upd.id, "w2", 60000, &other, &e), CP_ECONFLICT);
    CHECK_EQ(cp_store_drift_check_finish(st, &held, CP_RUN_CANCELED, "canceled", NULL, &e), CP_OK);
    CHECK_EQ(get(a, res.id).status, CP_RES_ACTIVE);
    CHECK_EQ(cp_store_run_claim(st, a, upd.id, "w2", 60000, &other, &e), CP_OK);
    cp_arena_free(a);
}

static size_t sweep(cp_arena *a, int64_t now, char ***ids)
{
    size_t n = 0;
    cp_error e;
    CHECK_EQ(cp_store_drift_sweep(st, a, now, 100, ids, &n, &e), CP_OK);
    return n;
}

TEST(sweep_queues_each_due_check_once)
{
    cp_arena *a = cp_arena_new(16384);
    tsu_fixture f, off;
    fixture_new(a, &f);
    fixture_new(a, &off);
    cp_error e;
    cp_resource r1, r2, r3, other, busy;
    active_resource(a, &f, &r1);
    active_resource(a, &f, &r2);
    active_resource(a, &f, &r3);
    active_resource(a, &off, &other); /* its project has no interval */
    cp_run pending;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &busy, &pending, &e), CP_OK); /* being created */
    char **ids;
    int64_t now = cp_now_ms();
    /* Other cases' projects may be due too: count this project's runs only. */
    CHECK_EQ(cp_store_project_set_drift_interval(st, f.project_id, 60, &e), CP_OK);
    size_t n = sweep(a, now, &ids);
    CHECK(n >= 3);
    int mine = 0;
    for (size_t i = 0; i < n; i++) {
        cp_run r = run_of(a, ids[i]);
        CHECK_EQ(r.operation, CP_OP_DRIFT_CHECK);
        CHECK_STR(r.source, CP_SOURCE_DRIFT_SCHEDULE);
        CHECK(strcmp(r.resource_id, other.id) != 0 && strcmp(r.resource_id, busy.id) != 0);
        if (!strcmp(r.project_id, f.project_id)) mine++;
    }
    CHECK_EQ(mine, 3);
    /* Queued already, and next due in an hour: nothing more. */
    CHECK_EQ(sweep(a, now + 1000, &ids), 0);
    /* Each check ends; an hour later each resource is due once more. */
    cp_resource rs[] = {r1, r2, r3};
    for (size_t i = 0; i < 3; i++) {
        cp_run *items;
        size_t k;
        char *next;
        CHECK_EQ(cp_store_runs_list(st, a, rs[i].id, 10, NULL, &items, &k, &next, &e), CP_OK);
        CHECK(k >= 1 && items[0].operation == CP_OP_DRIFT_CHECK);
        cp_drift_outcome found = {CP_DRIFT_IN_SYNC, "[]"};
        if (k >= 1) run_check(a, items[0].id, &found);
    }
    CHECK_EQ(sweep(a, now + 30 * 60000, &ids), 0);
    n = sweep(a, now + 60 * 60000 + 1, &ids);
    CHECK_EQ(n, 3);
    CHECK_EQ(get(a, r1.id).drift_status, CP_DRIFT_IN_SYNC);
    /* Off: nothing is due. */
    CHECK_EQ(cp_store_project_set_drift_interval(st, f.project_id, 0, &e), CP_OK);
    CHECK_EQ(sweep(a, now + 1000 * 60000, &ids), 0);
    long minutes = -1;
    CHECK_EQ(cp_store_project_drift_interval(st, f.project_id, &minutes, &e), CP_OK);
    CHECK_EQ(minutes, 0);
    cp_arena_free(a);
}

TEST(list_filter_and_fleet_counts)
{
    cp_arena *a = cp_arena_new(16384);
    tsu_fixture f;
    fixture_new(a, &f);
    cp_error e;
    cp_resource r1, r2, r3;
    active_resource(a, &f, &r1);
    active_resource(a, &f, &r2);
    active_resource(a, &f, &r3);
    cp_run check;
    CHECK_EQ(cp_store_drift_check_enqueue(st, a, r1.id, NULL, CP_SOURCE_USER, &check, &e), CP_OK);
    cp_drift_outcome drifted = {CP_DRIFT_DRIFTED, "[]"}, gone = {CP_DRIFT_MISSING, "[]"};
    run_check(a, check.id, &drifted);
    CHECK_EQ(cp_store_drift_check_enqueue(st, a, r2.id, NULL, CP_SOURCE_USER, &check, &e), CP_OK);
    run_check(a, check.id, &gone);
    const char *ways[] = {NULL, f.project_id};
    for (size_t w = 0; w < 2; w++) {
        cp_resource_filter fl = {.project_id = ways[w], .drift_status = "drifted"};
        cp_resource *items;
        size_t n;
        char *next;
        CHECK_EQ(cp_store_resources_list(st, a, f.user_id, &fl, 50, NULL, &items, &n, &next, &e), CP_OK);
        CHECK(n == 1 && !strcmp(items[0].id, r1.id));
        fl.drift_status = "never_checked";
        fl.kind = "vm";
        CHECK_EQ(cp_store_resources_list(st, a, f.user_id, &fl, 50, NULL, &items, &n, &next, &e), CP_OK);
        CHECK(n == 1 && !strcmp(items[0].id, r3.id));
    }
    cp_drift_group *projects, *clouds;
    size_t np, nc;
    CHECK_EQ(cp_store_drift_fleet(st, a, f.user_id, NULL, &projects, &np, &clouds, &nc, &e), CP_OK);
    CHECK_EQ(np, 1);
    CHECK_EQ(nc, 1);
    if (np == 1 && nc == 1) {
        CHECK_STR(projects[0].key, f.project_id);
        CHECK_STR(projects[0].name, "p");
        CHECK_EQ(projects[0].counts[CP_DRIFT_DRIFTED], 1);
        CHECK_EQ(projects[0].counts[CP_DRIFT_MISSING], 1);
        CHECK_EQ(projects[0].counts[CP_DRIFT_NEVER_CHECKED], 1);
        CHECK_EQ(projects[0].counts[CP_DRIFT_IN_SYNC], 0);
        CHECK_STR(clouds[0].key, "sandbox");
        CHECK(clouds[0].name == NULL);
        CHECK_EQ(clouds[0].counts[CP_DRIFT_DRIFTED], 1);
    }
    CHECK_EQ(cp_store_drift_fleet(st, a, f.user_id, f.project_id, &projects, &np, &clouds, &nc, &e), CP_OK);
    CHECK_EQ(np, 1);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(check_records_what_it_found),
        T_CASE(a_change_cancels_checks),
        T_CASE(sweep_queues_each_due_check_once),
        T_CASE(list_filter_and_fleet_counts),
    };
    return tsu_main(&(tsu_suite){"store-drift", 4, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
