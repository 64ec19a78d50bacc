/* Concurrency tests of the store's check-then-write sequences: the budget
 * check, the last owner, the event sequence and one destroy per resource.
 * Each case starts several threads at one barrier; every thread calls the
 * store, which hands it its own pooled connection. They run against SQLite
 * and, when CP_TEST_PG_URL is set, PostgreSQL, where write transactions are
 * READ COMMITTED and only row locks keep these sequences apart. Threads only
 * record results; every CHECK runs on the main thread after the join. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>

#include "core/ids.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"

static cp_store *st;
static const char *backend_name;
static int fixtures;

typedef tsu_race race;
#define MAX_THREADS TSU_MAX_THREADS

/* ---- fixtures ---- */

typedef tsu_fixture fixture;

static cp_user user_new(cp_arena *a)
{
    cp_error e;
    cp_user u = {0};
    char *email = cp_arena_printf(a, "r%d-%s@example.com", ++fixtures, backend_name);
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "h", &u, &e), CP_OK);
    return u;
}

/* A user, a project (budget NULL = none) and a sandbox account. */
static void fixture_new(cp_arena *a, const double *budget, fixture *f)
{
    cp_error e;
    cp_project p;
    cp_user u = user_new(a);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, budget, &p, &e), CP_OK);
    char *acc_id = tsu_account_new(st, a, p.id);
    f->user_id = u.id;
    f->project_id = p.id;
    f->account_id = acc_id;
}

/* ---- budget ---- */

static cp_result create_one(race *r, int i, cp_arena *a)
{
    CP_UNUSED(i);
    cp_resource res;
    cp_error e;
    return tsu_resource_new(st, a, r->ctx, 10, &res, NULL, &e);
}

/* 20 creates of $10 against a $10 budget, 5 times: exactly one accepted each time. */
TEST(budget_admits_one_of_twenty_creates)
{
    cp_arena *a = cp_arena_new(8192);
    int rounds_wrong = 0, accepted_total = 0;
    for (int round = 0; round < 5; round++) {
        double budget = 10;
        fixture f;
        fixture_new(a, &budget, &f);
        race r;
        int ok;
        ok = tsu_race_run(&r, 20, create_one, &f);
        cp_resource *items;
        size_t n;
        char *next;
        cp_error e;
        cp_resource_filter filter = {.project_id = f.project_id};
        CHECK_EQ(cp_store_resources_list(st, a, f.user_id, &filter, 50, NULL, &items, &n, &next, &e), CP_OK);
        for (int i = 0; i < 20; i++) CHECK(r.res[i] == CP_OK || r.res[i] == CP_EUNPROC);
        CHECK_EQ((size_t)ok, n);
        accepted_total += ok;
        if (ok != 1) rounds_wrong++;
    }
    printf("# %s: budget: %d accepted over 5 rounds of 20 (want 5), %d round(s) wrong\n", backend_name, accepted_total,
           rounds_wrong);
    CHECK_EQ(rounds_wrong, 0);
    cp_arena_free(a);
}

/* ---- last owner ---- */

typedef struct {
    const char *project_id, *user[2];
    bool remove;
} owners_ctx;

/* Thread i demotes (or removes) the other owner. */
static cp_result demote_other(race *r, int i, cp_arena *a)
{
    CP_UNUSED(a);
    owners_ctx *oc = r->ctx;
    cp_error e;
    const char *other = oc->user[1 - i];
    if (oc->remove) return cp_store_member_remove(st, oc->project_id, other, &e);
    return cp_store_member_set_role(st, oc->project_id, other, CP_ROLE_MEMBER, &e);
}

/* Two owners demote (even rounds) or remove (odd rounds) each other at once, 50 times. */
TEST(two_owners_demoting_each_other_keep_one)
{
    cp_arena *a = cp_arena_new(8192);
    int ownerless = 0, both_ok = 0;
    for (int round = 0; round < 50; round++) {
        fixture f;
        fixture_new(a, NULL, &f);
        cp_user b = user_new(a);
        cp_member m;
        cp_error e;
        CHECK_EQ(cp_store_member_add(st, a, f.project_id, b.email, CP_ROLE_OWNER, &m, &e), CP_OK);
        owners_ctx oc = {f.project_id, {f.user_id, b.id}, round % 2 == 1};
        race r;
        int ok;
        ok = tsu_race_run(&r, 2, demote_other, &oc);
        for (int i = 0; i < 2; i++) CHECK(r.res[i] == CP_OK || r.res[i] == CP_ECONFLICT);
        cp_member *items;
        size_t n;
        CHECK_EQ(cp_store_members_list(st, a, f.project_id, &items, &n, &e), CP_OK);
        int owners = 0;
        for (size_t k = 0; k < n; k++) owners += items[k].role == CP_ROLE_OWNER;
        if (owners < 1) ownerless++;
        if (ok == 2) both_ok++;
    }
    printf("# %s: owners: %d of 50 projects left with no owner, %d with both changes accepted\n", backend_name,
           ownerless, both_ok);
    CHECK_EQ(ownerless, 0);
    CHECK_EQ(both_ok, 0);
    cp_arena_free(a);
}

/* ---- event sequence ---- */

#define EVENT_WRITERS 8
#define EVENTS_EACH 200
#define EVENT_BATCH 8 /* divides EVENTS_EACH */

typedef struct {
    const char *run_id;
    int64_t seq[EVENT_WRITERS][EVENTS_EACH];
    int failed[EVENT_WRITERS];
} events_ctx;

static cp_result append_many(race *r, int i, cp_arena *a)
{
    CP_UNUSED(a);
    events_ctx *ec = r->ctx;
    /* Odd writers append in batches of EVENT_BATCH (as a worker does), even ones one by one. */
    int step = i % 2 ? EVENT_BATCH : 1;
    for (int k = 0; k < EVENTS_EACH; k += step) {
        cp_error e;
        cp_event_new ev[EVENT_BATCH];
        for (int b = 0; b < step; b++) ev[b] = (cp_event_new){"log", "{}", 1};
        int64_t last = 0;
        if (cp_store_events_append(st, ec->run_id, ev, (size_t)step, 100000, &last, &e) != CP_OK) last = 0;
        for (int b = 0; b < step; b++) ec->seq[i][k + b] = last ? last - step + 1 + b : 0;
        ec->failed[i] += last == 0;
    }
    return ec->failed[i] ? CP_ERR : CP_OK;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* 8 writers append 200 events each to one run, half of them in batches: seqs
 * 1..1600, no gap, no duplicate. */
TEST(concurrent_event_appends_have_no_gap_or_duplicate)
{
    cp_arena *a = cp_arena_new(8192);
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_error e;
    CHECK_EQ(tsu_resource_new(st, a, &f, 0, &res, NULL, &e), CP_OK);
    events_ctx *ec = calloc(1, sizeof *ec);
    ec->run_id = res.run_id;
    race r;
    /* Each writer's failures are counted below, append by append. */
    (void)tsu_race_run(&r, EVENT_WRITERS, append_many, ec);
    int failed = 0, dups = 0, gaps = 0;
    for (int i = 0; i < EVENT_WRITERS; i++) failed += ec->failed[i];
    /* Seqs the writers were given: each of 1..N exactly once. */
    int64_t *all = &ec->seq[0][0];
    size_t total = EVENT_WRITERS * EVENTS_EACH;
    qsort(all, total, sizeof *all, cmp_i64);
    for (size_t k = 1; k < total; k++) dups += all[k] != 0 && all[k] == all[k - 1];
    /* What the store holds: 1..count with no hole. */
    int64_t stored = 0, want = 1;
    for (int64_t after = 0;;) {
        cp_event *items;
        size_t n;
        CHECK_EQ(cp_store_events_list(st, a, ec->run_id, after, 1000, &items, &n, &e), CP_OK);
        if (n == 0) break;
        for (size_t k = 0; k < n; k++, want++) gaps += items[k].seq != want;
        stored += (int64_t)n;
        after = items[n - 1].seq;
    }
    printf("# %s: events: %d of %zu appends failed, %d duplicate seq(s), %d gap(s), %lld stored\n", backend_name,
           failed, total, dups, gaps, (long long)stored);
    CHECK_EQ(failed, 0);
    CHECK_EQ(dups, 0);
    CHECK_EQ(gaps, 0);
    CHECK_EQ(stored, (int64_t)total);
    CHECK_EQ(all[0], 1);
    CHECK_EQ(all[total - 1], (int64_t)total);
    free(ec);
    cp_arena_free(a);
}

/* ---- one destroy per resource ---- */

typedef struct {
    const char *resource_id, *user_id;
} destroy_ctx;

static cp_result destroy_one(race *r, int i, cp_arena *a)
{
    CP_UNUSED(i);
    destroy_ctx *dc = r->ctx;
    cp_run run;
    cp_error e;
    return cp_store_run_enqueue(st, a, dc->resource_id, CP_OP_DESTROY, "{}", 0, dc->user_id, &run, &e);
}

/* 10 destroys of one resource at once, 20 times: exactly one queued each time. */
TEST(concurrent_destroys_queue_one)
{
    cp_arena *a = cp_arena_new(8192);
    fixture f;
    fixture_new(a, NULL, &f);
    int rounds_wrong = 0, queued_total = 0;
    for (int round = 0; round < 20; round++) {
        cp_resource res;
        cp_error e;
        CHECK_EQ(tsu_resource_new(st, a, &f, 0, &res, NULL, &e), CP_OK);
        destroy_ctx dc = {res.id, f.user_id};
        race r;
        int ok;
        ok = tsu_race_run(&r, 10, destroy_one, &dc);
        for (int i = 0; i < 10; i++) CHECK(r.res[i] == CP_OK || r.res[i] == CP_ECONFLICT);
        cp_run *runs;
        size_t n;
        char *next;
        CHECK_EQ(cp_store_runs_list(st, a, res.id, 50, NULL, &runs, &n, &next, &e), CP_OK);
        int destroys = 0;
        for (size_t k = 0; k < n; k++) destroys += runs[k].operation == CP_OP_DESTROY;
        CHECK_EQ(destroys, ok);
        queued_total += destroys;
        if (destroys != 1) rounds_wrong++;
    }
    printf("# %s: destroys: %d queued over 20 rounds of 10 (want 20), %d round(s) wrong\n", backend_name, queued_total,
           rounds_wrong);
    CHECK_EQ(rounds_wrong, 0);
    cp_arena_free(a);
}

/* Runs every case on one backend; with no url, records them as skipped. */
int main(void)
{
    static const t_case cases[] = {
        T_CASE(budget_admits_one_of_twenty_creates),
        T_CASE(two_owners_demoting_each_other_keep_one),
        T_CASE(concurrent_event_appends_have_no_gap_or_duplicate),
        T_CASE(concurrent_destroys_queue_one),
    };
    /* One connection per thread, so every thread really runs its own transaction. */
    return tsu_main(&(tsu_suite){"store-races", MAX_THREADS, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
