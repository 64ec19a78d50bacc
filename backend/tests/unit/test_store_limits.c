/* The per-project caps of the store (store_limits.c): unfinished runs,
 * resources, and runs executing at once (fair queueing at claim time), on
 * SQLite and, when CP_TEST_PG_URL is set, PostgreSQL, where concurrent claims
 * must not both take the last slot. */
#include <pthread.h>
#include <sodium.h>

#include "core/ids.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"

static cp_store *st;
static const char *backend_name;
static int fixtures;

typedef tsu_fixture fixture;

static void fixture_new(cp_arena *a, fixture *f)
{
    cp_error e;
    cp_user u;
    cp_project p;
    char *email = cp_arena_printf(a, "l%d-%s@example.com", ++fixtures, backend_name);
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, NULL, &p, &e), CP_OK);
    f->user_id = u.id;
    f->project_id = p.id;
    f->account_id = tsu_account_new(st, a, p.id);
}

static const cp_resource_spec small_spec = {"small", "{}", 1, NULL};

static void succeed(const cp_run *held)
{
    cp_error e;
    CHECK_EQ(cp_store_run_transition(st, held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_finish(st, held, CP_RUN_SUCCEEDED, NULL, "{}", &small_spec, &e), CP_OK);
}

static void set_limits(long runs, long resources, long active)
{
    cp_store_limits l = {.project_runs = runs, .project_resources = resources, .project_active_runs = active};
    cp_store_set_limits(st, &l);
}

TEST(quota_runs_and_resources)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f, g;
    fixture_new(a, &f);
    fixture_new(a, &g);
    set_limits(2, 3, 0);
    cp_resource r1, r2, r3, r4;
    cp_run c1, c2, c3, c4, held, upd, des;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r1, &c1, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r2, &c2, &e), CP_OK);
    /* Two unfinished runs: a third create is refused, and nothing was written. */
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r3, &c3, &e), CP_ERATE);
    CHECK_STR(e.code, "too_many_runs");
    CHECK_EQ(cp_store_run_enqueue(st, a, r1.id, CP_OP_UPDATE, "{}", 1, f.user_id, &upd, &e), CP_ERATE);
    /* A destroy always goes: it ends work. */
    CHECK_EQ(cp_store_run_enqueue(st, a, r2.id, CP_OP_DESTROY, "{}", 0, f.user_id, &des, &e), CP_OK);
    /* Another project is not affected. */
    CHECK_EQ(tsu_resource_new(st, a, &g, 1, &r4, &c4, &e), CP_OK);
    /* A finished run frees its place. */
    CHECK_EQ(cp_store_run_claim(st, a, c1.id, "w1", 60000, &held, &e), CP_OK);
    succeed(&held);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r3, &c3, &e), CP_OK);
    /* Three resources not destroyed: the quota. */
    CHECK_EQ(cp_store_run_claim(st, a, c3.id, "w1", 60000, &held, &e), CP_OK);
    succeed(&held);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r4, &c4, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "resource_quota");
    set_limits(0, 0, 0);
    cp_arena_free(a);
}

TEST(active_runs_per_project_at_claim)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f, g;
    fixture_new(a, &f);
    fixture_new(a, &g);
    set_limits(0, 0, 1);
    cp_resource ra, rb, rc;
    cp_run a1, a2, b1, held_a, held_b, tmp;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &ra, &a1, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &rb, &a2, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &g, 1, &rc, &b1, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, a1.id, "w1", 60000, &held_a, &e), CP_OK);
    /* The project's one slot is taken: its next run waits, another project's goes. */
    CHECK_EQ(cp_store_run_claim(st, a, a2.id, "w2", 60000, &tmp, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "project_busy");
    CHECK_EQ(cp_store_run_claim(st, a, b1.id, "w2", 60000, &held_b, &e), CP_OK);
    char **ids;
    size_t n;
    CHECK_EQ(cp_store_runs_claimable_in_project(st, a, f.project_id, 5, &ids, &n, &e), CP_OK);
    CHECK(n == 1 && !strcmp(ids[0], a2.id));
    succeed(&held_a);
    CHECK_EQ(cp_store_run_claim(st, a, a2.id, "w2", 60000, &tmp, &e), CP_OK);
    CHECK_EQ(cp_store_runs_claimable_in_project(st, a, f.project_id, 5, &ids, &n, &e), CP_OK);
    CHECK_EQ(n, 0);
    set_limits(0, 0, 0);
    cp_arena_free(a);
}

#define RACERS 8
#define ROUNDS 10

static void race_round(void);

static pthread_barrier_t start_line;

typedef struct {
    const char *run_id;
    char worker[16];
    cp_result r;
} racer;

static void *claim_one(void *arg)
{
    racer *x = arg;
    cp_arena *a = cp_arena_new(4096);
    pthread_barrier_wait(&start_line); /* all claim at once */
    cp_run out;
    cp_error e;
    x->r = cp_store_run_claim(st, a, x->run_id, x->worker, 60000, &out, &e);
    cp_arena_free(a);
    return NULL;
}

/* Concurrent claims of different runs of one project: one slot, one winner.
 * Several rounds, each from a start line, to give a missing lock its chance. */
TEST(concurrent_claims_take_one_slot)
{
    for (int round = 0; round < ROUNDS; round++) race_round();
}

static void race_round(void)
{
    cp_arena *a = cp_arena_new(16384);
    cp_error e;
    fixture f;
    fixture_new(a, &f);
    set_limits(0, 0, 1);
    pthread_barrier_init(&start_line, NULL, RACERS);
    racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        cp_resource res;
        cp_run run;
        CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &run, &e), CP_OK);
        rs[i].run_id = run.id;
        snprintf(rs[i].worker, sizeof rs[i].worker, "w%d", i);
    }
    for (int i = 0; i < RACERS; i++) CHECK_EQ(pthread_create(&th[i], NULL, claim_one, &rs[i]), 0);
    int won = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        won += rs[i].r == CP_OK;
        CHECK(rs[i].r == CP_OK || rs[i].r == CP_ECONFLICT);
    }
    CHECK_EQ(won, 1);
    pthread_barrier_destroy(&start_line);
    set_limits(0, 0, 0);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(quota_runs_and_resources),
        T_CASE(active_runs_per_project_at_claim),
        T_CASE(concurrent_claims_take_one_slot),
    };
    return tsu_main(&(tsu_suite){"store-limits", RACERS, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
