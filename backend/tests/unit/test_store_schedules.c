/* Store tests of working-hours schedules (store_schedules.c) on SQLite and,
 * with CP_TEST_PG_URL, PostgreSQL: sweeps racing on several threads queue
 * each due change exactly once, an unfinished run postpones a change, a
 * destroyed resource's schedule ends, and a finished run records the power
 * state it left a VM in. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_schedules.h"

#define THREADS 8
#define DUE 30
#define HOUR_MS 3600000

static cp_store *st;
static const char *backend_name;
static int fixtures;
static int64_t plan_now;

static void fixture_new(cp_arena *a, tsu_fixture *f)
{
    cp_error e;
    cp_user u = {0};
    cp_project p;
    char *email = cp_arena_printf(a, "s%d-%s@example.com", ++fixtures, backend_name);
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, NULL, &p, &e), CP_OK);
    f->user_id = u.id;
    f->project_id = p.id;
    f->account_id = tsu_account_new(st, a, p.id);
}

/* An active VM (its create run succeeded) with a stop due an hour ago. */
static char *due_vm(cp_arena *a, const tsu_fixture *f, bool finish_create)
{
    cp_resource res;
    cp_error e;
    CHECK_EQ(tsu_resource_new(st, a, f, 7.3, &res, NULL, &e), CP_OK);
    cp_param p[] = {CP_PTEXT(res.id)};
    if (finish_create)
        CHECK_EQ(cp_store_exec(st, "UPDATE runs SET status = 'succeeded' WHERE resource_id = ?", p, 1, NULL, &e),
                 CP_OK);
    CHECK_EQ(cp_store_exec(st, "UPDATE resources SET status = 'active' WHERE id = ?", p, 1, NULL, &e), CP_OK);
    CHECK_EQ(cp_store_schedule_set(st, res.id, "{\"start\":null,\"stop\":\"0 19 * * *\",\"timezone\":\"UTC\"}",
                                   cp_now_ms() - HOUR_MS, CP_SCHED_STOP, &e),
             CP_OK);
    return res.id;
}

/* Every due change becomes a stop run; the next change is a start in an hour. */
static cp_result plan_stop(const cp_sched_due *due, int64_t now, cp_sched_step *out, cp_error *err)
{
    CP_UNUSED(err);
    CP_UNUSED(due);
    out->run_params = strdup("{\"config\":{\"power_state\":\"stopped\"},\"name\":\"vm\",\"region\":\"local\"}");
    out->next_at = now + HOUR_MS;
    out->next_action = CP_SCHED_START;
    return CP_OK;
}

static int schedule_runs(cp_arena *a, const char *resource_id)
{
    cp_run *runs;
    size_t n;
    char *next;
    cp_error e;
    CHECK_EQ(cp_store_runs_list(st, a, resource_id, 50, NULL, &runs, &n, &next, &e), CP_OK);
    int k = 0;
    for (size_t i = 0; i < n; i++) k += strcmp(runs[i].source, CP_SOURCE_SCHEDULE) == 0;
    return k;
}

/* Small batches, several sweeps each: claims interleave. ctx: the number
 * queued by each thread. */
static cp_result sweep_some(tsu_race *r, int i, cp_arena *a)
{
    size_t *queued = r->ctx;
    cp_error e;
    for (int k = 0; k < 6; k++) {
        char **ids;
        size_t n;
        cp_result res = cp_store_schedule_sweep(st, a, plan_now, 4, plan_stop, &ids, &n, &e);
        if (res != CP_OK) return res;
        queued[i] += n;
    }
    return CP_OK;
}

TEST(racing_sweeps_queue_each_due_change_once)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f);
    char *ids[DUE];
    for (int i = 0; i < DUE; i++) ids[i] = due_vm(a, &f, true);
    plan_now = cp_now_ms();
    tsu_race race;
    size_t each[THREADS] = {0};
    CHECK_EQ(tsu_race_run(&race, THREADS, sweep_some, each), THREADS);
    size_t total = 0;
    for (int i = 0; i < THREADS; i++) total += each[i];
    int wrong = 0;
    for (int i = 0; i < DUE; i++) wrong += schedule_runs(a, ids[i]) != 1;
    printf("# %s: %zu runs queued by %d racing sweepers for %d due changes, %d resource(s) wrong\n", backend_name,
           total, THREADS, DUE, wrong);
    CHECK_EQ(total, (size_t)DUE);
    CHECK_EQ(wrong, 0);
    /* Moved on: the next change is the start, and nothing is due now. */
    cp_resource res;
    cp_error e;
    CHECK_EQ(cp_store_resource_by_id(st, a, ids[0], &res, &e), CP_OK);
    CHECK_EQ(res.schedule_next_at, plan_now + HOUR_MS);
    char **more;
    size_t n;
    CHECK_EQ(cp_store_schedule_sweep(st, a, plan_now, 100, plan_stop, &more, &n, &e), CP_OK);
    CHECK_EQ(n, 0u);
    cp_arena_free(a);
}

TEST(unfinished_run_postpones_and_destroyed_ends)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f);
    char *busy = due_vm(a, &f, false); /* its create run is still queued */
    char *gone = due_vm(a, &f, true);
    cp_error e;
    cp_param p[] = {CP_PTEXT(gone)};
    CHECK_EQ(cp_store_exec(st, "UPDATE resources SET status = 'destroyed' WHERE id = ?", p, 1, NULL, &e), CP_OK);
    char **ids;
    size_t n;
    int64_t now = cp_now_ms();
    CHECK_EQ(cp_store_schedule_sweep(st, a, now, 100, plan_stop, &ids, &n, &e), CP_OK);
    CHECK_EQ(n, 0u);
    cp_resource res;
    CHECK_EQ(cp_store_resource_by_id(st, a, busy, &res, &e), CP_OK);
    CHECK(res.schedule_next_at > 0 && res.schedule_next_at < now); /* still due */
    CHECK_EQ(cp_store_resource_by_id(st, a, gone, &res, &e), CP_OK);
    CHECK_EQ(res.schedule_next_at, 0); /* nothing left to stop */
    CHECK_EQ(schedule_runs(a, gone), 0);

    cp_param q[] = {CP_PTEXT(busy)};
    CHECK_EQ(cp_store_exec(st, "UPDATE runs SET status = 'succeeded' WHERE resource_id = ?", q, 1, NULL, &e), CP_OK);
    CHECK_EQ(cp_store_schedule_sweep(st, a, now, 100, plan_stop, &ids, &n, &e), CP_OK);
    CHECK_EQ(n, 1u);
    CHECK_EQ(schedule_runs(a, busy), 1);
    cp_arena_free(a);
}

typedef struct {
    const char *id, *config;
} ps_ctx;

static cp_result tx_power(cp_dbconn *c, void *ctx, cp_error *err)
{
    ps_ctx *pc = ctx;
    return cp_conn_power_state_after_run(c, pc->id, pc->config, err);
}

TEST(finished_run_records_power_state)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f);
    char *id = due_vm(a, &f, true);
    cp_error e;
    cp_resource res;
    ps_ctx stop = {id, "{\"power_state\":\"stopped\",\"ssh_public_key\":\"k\"}"}, start = {id, "{}"};
    CHECK_EQ(cp_store_tx(st, tx_power, &stop, &e), CP_OK);
    CHECK_EQ(cp_store_resource_by_id(st, a, id, &res, &e), CP_OK);
    CHECK_STR(res.power_state, "stopped");
    CHECK_STR(res.schedule, "{\"start\":null,\"stop\":\"0 19 * * *\",\"timezone\":\"UTC\"}");
    CHECK_EQ(cp_store_tx(st, tx_power, &start, &e), CP_OK);
    CHECK_EQ(cp_store_resource_by_id(st, a, id, &res, &e), CP_OK);
    CHECK_STR(res.power_state, "running");
    CHECK_EQ(cp_store_schedule_set(st, id, NULL, 0, CP_SCHED_STOP, &e), CP_OK);
    CHECK_EQ(cp_store_resource_by_id(st, a, id, &res, &e), CP_OK);
    CHECK(res.schedule == NULL && res.schedule_next_at == 0);
    CHECK_EQ(cp_store_schedule_set(st, "01jzzzzzzzzzzzzzzzzzzzzzzz", NULL, 0, CP_SCHED_STOP, &e), CP_ENOTFOUND);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(racing_sweeps_queue_each_due_change_once),
        T_CASE(unfinished_run_postpones_and_destroyed_ends),
        T_CASE(finished_run_records_power_state),
    };
    return tsu_main(&(tsu_suite){"store-schedules", THREADS + 2, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
