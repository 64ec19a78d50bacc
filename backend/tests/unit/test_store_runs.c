/* Run tests of the store: claim order, one unfinished run per resource,
 * fencing of every worker-side write, reaping of expired leases, the event
 * sequence and the budget check. Every case runs against SQLite and, when
 * CP_TEST_PG_URL is set, PostgreSQL. Leases expire by claiming with a 1 ms
 * lease and sleeping a few ms. */
#include <sodium.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "core/trace.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"

static cp_store *st;
static const char *backend_name;
static int fixtures;

static void fill_count(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(int64_t *)out = cp_dbrows_int(r, 0);
}

/* Whether the runs row holds a saved plan (cp_run never carries it). */
static bool plan_stored(const char *run_id)
{
    cp_param p[] = {CP_PTEXT(run_id)};
    int64_t n = -1;
    cp_error e;
    CHECK_EQ(cp_store_one(st, NULL,
                          "SELECT COUNT(*) FROM runs WHERE id = ? AND (plan_blob IS NOT NULL"
                          " OR plan_nonce IS NOT NULL OR plan_key_id IS NOT NULL)",
                          p, 1, fill_count, &n, "run", &e),
             CP_OK);
    return n != 0;
}

/* ---- fixtures ---- */

typedef tsu_fixture fixture;

/* A user, a project (budget NULL = none) and a sandbox account, new per case. */
static void fixture_new(cp_arena *a, const double *budget, fixture *f)
{
    cp_error e;
    cp_user u;
    cp_project p;
    char *email = cp_arena_printf(a, "u%d-%s@example.com", ++fixtures, backend_name);
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, budget, &p, &e), CP_OK);
    char *acc_id = tsu_account_new(st, a, p.id);
    f->user_id = u.id;
    f->project_id = p.id;
    f->account_id = acc_id;
}

static const cp_resource_spec small_spec = {"small", "{}", 1, NULL};

/* Takes a claimed run through planned to succeeded. */
static void succeed(const cp_run *held)
{
    cp_error e;
    CHECK_EQ(cp_store_run_transition(st, held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_finish(st, held, CP_RUN_SUCCEEDED, NULL, "{}", &small_spec, &e), CP_OK);
}

static cp_run_status run_status(cp_arena *a, const char *run_id)
{
    cp_run r;
    cp_error e;
    CHECK_EQ(cp_store_run_get(st, a, run_id, &r, &e), CP_OK);
    return r.status;
}

static cp_resource_status resource_status(cp_arena *a, const char *resource_id)
{
    cp_resource r;
    cp_error e;
    CHECK_EQ(cp_store_resource_by_id(st, a, resource_id, &r, &e), CP_OK);
    return r.status;
}

/* Claims with a 1 ms lease and waits until it has expired. */
static cp_result claim_expired(cp_arena *a, const char *run_id, const char *worker, cp_run *out, cp_error *e)
{
    cp_result r = cp_store_run_claim(st, a, run_id, worker, 1, out, e);
    usleep(20 * 1000);
    return r;
}

static bool has_id(char **ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], id)) return true;
    return false;
}

static const cp_lost_run *lost_of(const cp_lost_run *lost, size_t n, const char *run_id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(lost[i].run_id, run_id)) return &lost[i];
    return NULL;
}

typedef struct {
    char **requeued;
    size_t nrequeued;
    cp_lost_run *lost;
    size_t nlost;
} reaped;

static void reap(cp_arena *a, reaped *out)
{
    cp_error e;
    CHECK_EQ(cp_store_runs_reap(st, a, 0, &out->requeued, &out->nrequeued, &out->lost, &out->nlost, &e), CP_OK);
}

/* ---- claim order ---- */

/* Runs of one resource claim in order; runs of different resources do not wait for each other. */
TEST(claim_order_per_resource)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource ra, rb;
    cp_run create_a, create_b, update_a, held_a, held_b, held_u, tmp;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &ra, &create_a, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &rb, &create_b, &e), CP_OK);
    CHECK_EQ(cp_store_run_enqueue(st, a, ra.id, CP_OP_UPDATE, "{}", 1, f.user_id, &update_a, &e), CP_OK);
    /* Made within the same millisecond, and still in order. */
    CHECK(strcmp(create_a.id, update_a.id) < 0);
    CHECK(cp_id_valid(update_a.id));

    /* The later run of A waits for the earlier one, which is not even claimed yet. */
    CHECK_EQ(cp_store_run_claim(st, a, update_a.id, "w1", 60000, &tmp, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "not_claimable");
    char **ids;
    size_t n;
    CHECK_EQ(cp_store_runs_claimable(st, a, 1000, &ids, &n, &e), CP_OK);
    CHECK(has_id(ids, n, create_a.id));
    CHECK(has_id(ids, n, create_b.id));
    CHECK(!has_id(ids, n, update_a.id));

    /* B does not wait for A's older run. */
    CHECK_EQ(cp_store_run_claim(st, a, create_b.id, "w2", 60000, &held_b, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, create_a.id, "w1", 60000, &held_a, &e), CP_OK);
    CHECK_EQ(held_a.attempt, 1);
    CHECK_EQ(cp_store_run_claim(st, a, create_a.id, "w3", 60000, &tmp, &e), CP_ECONFLICT); /* live lease */
    CHECK_EQ(cp_store_run_claim(st, a, update_a.id, "w3", 60000, &tmp, &e), CP_ECONFLICT);
    CHECK_EQ(cp_store_runs_claimable(st, a, 1000, &ids, &n, &e), CP_OK);
    CHECK(!has_id(ids, n, update_a.id));

    /* Once the earlier run finishes, the later one claims. */
    succeed(&held_a);
    CHECK_EQ(cp_store_runs_claimable(st, a, 1000, &ids, &n, &e), CP_OK);
    CHECK(has_id(ids, n, update_a.id));
    CHECK_EQ(cp_store_run_claim(st, a, update_a.id, "w3", 60000, &held_u, &e), CP_OK);
    CHECK_EQ(held_u.status, CP_RUN_PLANNING);
    CHECK_EQ(held_u.attempt, 1);
    CHECK_EQ(resource_status(a, ra.id), CP_RES_UPDATING);
    succeed(&held_u);
    succeed(&held_b);
    CHECK_EQ(resource_status(a, ra.id), CP_RES_ACTIVE);
    CHECK_EQ(resource_status(a, rb.id), CP_RES_ACTIVE);
    cp_arena_free(a);
}

/* A destroy waits for a running create; while it is unfinished a second destroy is refused. */
TEST(one_unfinished_run_holds_the_floor)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_run create, held, destroy, held_d, tmp;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &create, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, create.id, "w1", 60000, &held, &e), CP_OK);

    CHECK_EQ(cp_store_run_enqueue(st, a, res.id, CP_OP_DESTROY, "{}", 0, f.user_id, &destroy, &e), CP_OK);
    CHECK_EQ(destroy.status, CP_RUN_QUEUED);
    CHECK_EQ(cp_store_run_claim(st, a, destroy.id, "w2", 60000, &tmp, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "not_claimable");
    CHECK_EQ(cp_store_run_enqueue(st, a, res.id, CP_OP_DESTROY, "{}", 0, f.user_id, &tmp, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "destroy_pending");
    CHECK_EQ(resource_status(a, res.id), CP_RES_PROVISIONING);

    succeed(&held);
    CHECK_EQ(cp_store_run_claim(st, a, destroy.id, "w2", 60000, &held_d, &e), CP_OK);
    CHECK_EQ(resource_status(a, res.id), CP_RES_DESTROYING);
    CHECK_EQ(cp_store_run_enqueue(st, a, res.id, CP_OP_DESTROY, "{}", 0, f.user_id, &tmp, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "destroy_pending");
    CHECK_EQ(cp_store_run_transition(st, &held_d, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_finish(st, &held_d, CP_RUN_SUCCEEDED, NULL, NULL, NULL, &e), CP_OK);
    CHECK_EQ(resource_status(a, res.id), CP_RES_DESTROYED);
    CHECK_EQ(cp_store_run_enqueue(st, a, res.id, CP_OP_DESTROY, "{}", 0, f.user_id, &tmp, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "resource_destroyed");
    cp_arena_free(a);
}

/* ---- fencing ---- */

/* Every worker-side write from stale, refused and without effect. */
static void check_all_writes_fenced(cp_arena *a, const cp_run *stale)
{
    cp_error e;
    cp_run before, after;
    cp_resource res_before, res_after;
    bool cancel = false;
    CHECK_EQ(cp_store_run_get(st, a, stale->id, &before, &e), CP_OK);
    CHECK_EQ(cp_store_resource_by_id(st, a, stale->resource_id, &res_before, &e), CP_OK);

    CHECK_EQ(cp_store_run_transition(st, stale, CP_RUN_PLANNED, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(cp_store_run_heartbeat(st, stale, 60000, &cancel, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(cp_store_run_mark_tofu_started(st, stale, "stale-lock", &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    cp_sealed_plan stale_plan = {"k1", "bm9uY2U=", "c3RhbGU="};
    CHECK_EQ(cp_store_run_set_plan(st, stale, "{\"add\":1}", &stale_plan, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(cp_store_run_finish(st, stale, CP_RUN_FAILED, "stale", NULL, NULL, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(cp_store_run_finish(st, stale, CP_RUN_CANCELED, "stale", NULL, NULL, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");

    CHECK_EQ(cp_store_run_get(st, a, stale->id, &after, &e), CP_OK);
    CHECK_EQ(after.status, before.status);
    CHECK_STR(after.lease_owner, before.lease_owner);
    CHECK_EQ(after.lease_expires_at, before.lease_expires_at);
    CHECK_EQ(after.attempt, before.attempt);
    CHECK_EQ(after.tofu_started, before.tofu_started);
    CHECK(!after.lock_id && !after.plan_summary && !plan_stored(stale->id) && !after.error);
    CHECK_EQ(after.finished_at, 0);
    CHECK_EQ(cp_store_resource_by_id(st, a, stale->resource_id, &res_after, &e), CP_OK);
    CHECK_EQ(res_after.status, res_before.status);
    CHECK_EQ(res_after.updated_at, res_before.updated_at);
}

TEST(fenced_writes_refuse_stale_owner_and_attempt)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_run create, old, held;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &create, &e), CP_OK);

    /* A real stale lease: w1's attempt 1 expires and is requeued; w2 holds attempt 2. */
    CHECK_EQ(claim_expired(a, create.id, "w1", &old, &e), CP_OK);
    reaped rp;
    reap(a, &rp);
    CHECK(has_id(rp.requeued, rp.nrequeued, create.id));
    CHECK_EQ(cp_store_run_claim(st, a, create.id, "w2", 60000, &held, &e), CP_OK);
    CHECK_EQ(held.attempt, 2);
    check_all_writes_fenced(a, &old);

    cp_run other_owner = held, other_attempt = held;
    other_owner.lease_owner = "w9";
    other_attempt.attempt = 1; /* w2's name with the attempt before its own */
    check_all_writes_fenced(a, &other_owner);
    check_all_writes_fenced(a, &other_attempt);

    /* The holder itself is unaffected. */
    bool cancel = true;
    CHECK_EQ(cp_store_run_heartbeat(st, &held, 60000, &cancel, &e), CP_OK);
    CHECK(!cancel);
    succeed(&held);
    cp_arena_free(a);
}

/* ---- reaping ---- */

TEST(reap_before_tofu_requeues)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_run create, old, held, cur;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &create, &e), CP_OK);
    CHECK(create.request_id == NULL); /* queued with no trace id on the thread */
    CHECK_EQ(claim_expired(a, create.id, "w1", &old, &e), CP_OK);
    CHECK_EQ(old.attempt, 1);
    CHECK_EQ(cp_store_run_transition(st, &old, CP_RUN_PLANNED, &e), CP_OK); /* still before tofu */

    reaped rp;
    reap(a, &rp);
    CHECK(has_id(rp.requeued, rp.nrequeued, create.id));
    CHECK(!lost_of(rp.lost, rp.nlost, create.id));
    CHECK_EQ(cp_store_run_get(st, a, create.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_QUEUED);
    CHECK(!cur.lease_owner);
    CHECK_EQ(cur.attempt, 1);
    CHECK_EQ(cur.finished_at, 0);
    reap(a, &rp);
    CHECK(!has_id(rp.requeued, rp.nrequeued, create.id)); /* queued runs hold no lease */

    CHECK_EQ(cp_store_run_claim(st, a, create.id, "w2", 60000, &held, &e), CP_OK);
    CHECK_EQ(held.attempt, 2);
    CHECK_EQ(held.status, CP_RUN_PLANNING);
    CHECK_EQ(resource_status(a, res.id), CP_RES_PROVISIONING);
    succeed(&held);
    CHECK_EQ(resource_status(a, res.id), CP_RES_ACTIVE);
    cp_arena_free(a);
}

TEST(reap_during_apply_fails_and_returns_lock)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_run create, held, cur;
    /* The run keeps the trace id of the thread that queued it (a request's). */
    cp_trace_set("order-42");
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &create, &e), CP_OK);
    cp_trace_set(NULL);
    CHECK_STR(create.request_id, "order-42");
    CHECK_EQ(cp_store_run_claim(st, a, create.id, "w1", 1, &held, &e), CP_OK);
    CHECK_STR(held.request_id, "order-42");
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_mark_tofu_started(st, &held, "lock-42", &e), CP_OK);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_APPLYING, &e), CP_OK);
    usleep(20 * 1000);

    reaped rp;
    reap(a, &rp);
    CHECK(!has_id(rp.requeued, rp.nrequeued, create.id));
    const cp_lost_run *l = lost_of(rp.lost, rp.nlost, create.id);
    CHECK(l != NULL);
    if (l) {
        CHECK_STR(l->lock_id, "lock-42");
        CHECK_STR(l->resource_id, res.id);
        CHECK_STR(l->request_id, "order-42"); /* the reaper's lines about it carry it */
    }
    CHECK_EQ(cp_store_run_get(st, a, create.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_FAILED);
    CHECK(cur.error && !strncmp(cur.error, "worker lost", 11));
    CHECK(!cur.lease_owner);
    CHECK(cur.finished_at > 0);
    CHECK_EQ(cur.attempt, 1); /* never re-applied */
    CHECK_EQ(resource_status(a, res.id), CP_RES_FAILED);

    /* The lost worker, were it alive, can write nothing; a second pass finds nothing. */
    CHECK_EQ(cp_store_run_finish(st, &held, CP_RUN_SUCCEEDED, NULL, "{}", &small_spec, &e), CP_ERR);
    CHECK_EQ(cp_store_run_mark_tofu_started(st, &held, NULL, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    reap(a, &rp);
    CHECK(!lost_of(rp.lost, rp.nlost, create.id));
    CHECK_EQ(run_status(a, create.id), CP_RUN_FAILED);
    cp_arena_free(a);
}

/* The saved plan: stored sealed by the planning worker, never read with the
 * run, loaded only by the owner of the apply claim, cleared when the run ends
 * (finish, immediate cancel, reap). */
TEST(saved_plan_loaded_by_its_claim_and_cleared_at_end)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_sealed_plan in = {"k1", "bm9uY2U=", "Y2lwaGVydGV4dA=="}, out;
    bool immediate = false;
    /* three runs: one finishes, one is canceled while waiting, one is reaped */
    for (int i = 0; i < 3; i++) {
        cp_resource res;
        cp_run create, held, applying, cur;
        CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &create, &e), CP_OK);
        CHECK_EQ(cp_store_run_claim(st, a, create.id, "w1", 60000, &held, &e), CP_OK);
        CHECK_EQ(cp_store_run_mark_tofu_started(st, &held, NULL, &e), CP_OK);
        CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
        CHECK_EQ(cp_store_run_set_plan(st, &held, "{\"add\":1}", &in, &e), CP_OK);
        CHECK(plan_stored(create.id));
        CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_AWAITING_APPROVAL, &e), CP_OK);
        CHECK_EQ(cp_store_run_get(st, a, create.id, &cur, &e), CP_OK);
        CHECK_STR(cur.plan_summary, "{\"add\":1}");
        if (i == 1) {
            CHECK_EQ(cp_store_run_cancel(st, create.id, &immediate, &e), CP_OK);
            CHECK(immediate);
            CHECK(!plan_stored(create.id));
            continue;
        }
        CHECK_EQ(cp_store_run_approve(st, create.id, f.user_id, &e), CP_OK);
        CHECK_EQ(cp_store_run_claim(st, a, create.id, "w2", i == 2 ? 1 : 60000, &applying, &e), CP_OK);
        CHECK_EQ(applying.status, CP_RUN_APPLYING);
        /* The planning claim's owner cannot read it any more. */
        CHECK_EQ(cp_store_run_plan_load(st, a, &held, &out, &e), CP_ECONFLICT);
        CHECK_STR(e.code, "lease_lost");
        CHECK_EQ(cp_store_run_plan_load(st, a, &applying, &out, &e), CP_OK);
        CHECK_STR(out.key_id, "k1");
        CHECK_STR(out.nonce, "bm9uY2U=");
        CHECK_STR(out.ciphertext, "Y2lwaGVydGV4dA==");
        if (i == 0) {
            CHECK_EQ(cp_store_run_finish(st, &applying, CP_RUN_SUCCEEDED, NULL, "{}", &small_spec, &e), CP_OK);
        } else {
            usleep(20 * 1000);
            reaped rp;
            reap(a, &rp);
            CHECK(lost_of(rp.lost, rp.nlost, create.id) != NULL);
        }
        CHECK(!plan_stored(create.id));
        CHECK_EQ(cp_store_run_plan_load(st, a, &applying, &out, &e), CP_ECONFLICT);
    }
    cp_arena_free(a);
}

/* A lease that expired less than the grace ago is not reaped yet: its worker
 * may still be killing its tofu. */
TEST(reap_waits_out_the_grace)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_run create, held;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &create, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, create.id, "w1", 1, &held, &e), CP_OK);
    CHECK_EQ(cp_store_run_mark_tofu_started(st, &held, "lock-7", &e), CP_OK);
    usleep(20 * 1000);
    char **rq;
    cp_lost_run *lost;
    size_t nrq, nlost;
    CHECK_EQ(cp_store_runs_reap(st, a, 60000, &rq, &nrq, &lost, &nlost, &e), CP_OK);
    CHECK(!lost_of(lost, nlost, create.id));
    CHECK_EQ(run_status(a, create.id), CP_RUN_PLANNING);
    CHECK_EQ(cp_store_runs_reap(st, a, 10, &rq, &nrq, &lost, &nlost, &e), CP_OK);
    CHECK(lost_of(lost, nlost, create.id) != NULL);
    CHECK_EQ(run_status(a, create.id), CP_RUN_FAILED);
    cp_arena_free(a);
}

TEST(live_lease_is_never_reaped)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource r1, r2;
    cp_run c1, c2, h1, h2, cur;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r1, &c1, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r2, &c2, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, c1.id, "w1", 60000, &h1, &e), CP_OK);
    /* Expired, then renewed by its heartbeat before anyone reaped it. */
    CHECK_EQ(claim_expired(a, c2.id, "w2", &h2, &e), CP_OK);
    bool cancel;
    CHECK_EQ(cp_store_run_heartbeat(st, &h2, 60000, &cancel, &e), CP_OK);

    reaped rp;
    reap(a, &rp);
    CHECK(!has_id(rp.requeued, rp.nrequeued, c1.id) && !lost_of(rp.lost, rp.nlost, c1.id));
    CHECK(!has_id(rp.requeued, rp.nrequeued, c2.id) && !lost_of(rp.lost, rp.nlost, c2.id));
    CHECK_EQ(cp_store_run_get(st, a, c1.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_PLANNING);
    CHECK_STR(cur.lease_owner, "w1");
    CHECK_EQ(cp_store_run_get(st, a, c2.id, &cur, &e), CP_OK);
    CHECK_STR(cur.lease_owner, "w2");
    succeed(&h1);
    succeed(&h2);
    cp_arena_free(a);
}

/* What the scan saw is only a candidate: the reap's own transaction decides
 * on the row as it is, so a heartbeat, a finish or a mark_tofu_started that
 * got in between wins or changes the outcome. */
TEST(reap_is_decided_inside_its_transaction)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource r1, r2, r3;
    cp_run c1, c2, c3, h1, h2, h3, seen, out, cur;
    cp_reap_outcome outcome;
    bool cancel;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r1, &c1, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r2, &c2, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r3, &c3, &e), CP_OK);

    /* Renewed after the scan: left alone. */
    CHECK_EQ(claim_expired(a, c1.id, "w1", &h1, &e), CP_OK);
    CHECK_EQ(cp_store_run_get(st, a, c1.id, &seen, &e), CP_OK);
    CHECK_EQ(cp_store_run_heartbeat(st, &h1, 60000, &cancel, &e), CP_OK);
    CHECK_EQ(cp_store_run_reap_one(st, a, &seen, cp_now_ms(), &outcome, &out, &e), CP_OK);
    CHECK_EQ(outcome, CP_REAP_NONE);
    CHECK_EQ(cp_store_run_get(st, a, c1.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_PLANNING);
    CHECK_STR(cur.lease_owner, "w1");
    succeed(&h1);

    /* Tofu started after the scan saw it not started: failed, not requeued. */
    CHECK_EQ(claim_expired(a, c2.id, "w2", &h2, &e), CP_OK);
    CHECK_EQ(cp_store_run_get(st, a, c2.id, &seen, &e), CP_OK);
    CHECK_EQ(cp_store_run_mark_tofu_started(st, &h2, "lock-7", &e), CP_OK);
    CHECK_EQ(cp_store_run_reap_one(st, a, &seen, cp_now_ms(), &outcome, &out, &e), CP_OK);
    CHECK_EQ(outcome, CP_REAP_LOST);
    CHECK_STR(out.lock_id, "lock-7");
    CHECK_EQ(run_status(a, c2.id), CP_RUN_FAILED);
    CHECK_EQ(resource_status(a, r2.id), CP_RES_FAILED);

    /* Finished by its worker after the scan: the worker's outcome stands. */
    CHECK_EQ(claim_expired(a, c3.id, "w3", &h3, &e), CP_OK);
    CHECK_EQ(cp_store_run_get(st, a, c3.id, &seen, &e), CP_OK);
    CHECK_EQ(cp_store_run_finish(st, &h3, CP_RUN_FAILED, "tofu failed", NULL, NULL, &e), CP_OK);
    CHECK_EQ(cp_store_run_reap_one(st, a, &seen, cp_now_ms(), &outcome, &out, &e), CP_OK);
    CHECK_EQ(outcome, CP_REAP_NONE);
    CHECK_EQ(cp_store_run_get(st, a, c3.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_FAILED);
    CHECK_STR(cur.error, "tofu failed");
    cp_arena_free(a);
}

/* A row that cannot be reaped (here a trigger refuses any update of it) is
 * left for the next pass and does not hold back or roll back the others. */
TEST(reap_one_bad_row_spares_the_others)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource r1, r2;
    cp_run bad, good, h1, h2, cur;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r1, &bad, &e), CP_OK);
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &r2, &good, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, bad.id, "w1", 1, &h1, &e), CP_OK);
    CHECK_EQ(claim_expired(a, good.id, "w2", &h2, &e), CP_OK);

    bool pg = cp_db_kind_of(cp_store_db(st)) == CP_DB_PG;
    char *sql = pg ? cp_arena_printf(a,
                                     "CREATE FUNCTION cp_test_refuse() RETURNS trigger AS $$ BEGIN"
                                     " RAISE EXCEPTION 'refused by test'; END $$ LANGUAGE plpgsql;"
                                     " CREATE TRIGGER cp_test_refuse BEFORE UPDATE ON runs FOR EACH ROW"
                                     " WHEN (OLD.id = '%s') EXECUTE FUNCTION cp_test_refuse();",
                                     bad.id)
                   : cp_arena_printf(a,
                                     "CREATE TRIGGER cp_test_refuse BEFORE UPDATE ON runs WHEN OLD.id = '%s'"
                                     " BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
                                     bad.id);
    cp_dbconn *c = cp_db_acquire(cp_store_db(st));
    CHECK_EQ(cp_db_exec_script(c, sql, &e), CP_OK);
    cp_db_release(cp_store_db(st), c);

    reaped rp;
    reap(a, &rp);
    CHECK(has_id(rp.requeued, rp.nrequeued, good.id));
    CHECK(!has_id(rp.requeued, rp.nrequeued, bad.id));
    CHECK_EQ(cp_store_run_get(st, a, bad.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_PLANNING);
    CHECK_STR(cur.lease_owner, "w1");
    CHECK_EQ(run_status(a, good.id), CP_RUN_QUEUED);

    c = cp_db_acquire(cp_store_db(st));
    CHECK_EQ(cp_db_exec_script(c,
                               pg ? "DROP TRIGGER cp_test_refuse ON runs; DROP FUNCTION cp_test_refuse();"
                                  : "DROP TRIGGER cp_test_refuse;",
                               &e),
             CP_OK);
    cp_db_release(cp_store_db(st), c);
    reap(a, &rp);
    CHECK(has_id(rp.requeued, rp.nrequeued, bad.id));
    CHECK_EQ(run_status(a, bad.id), CP_RUN_QUEUED);
    cp_arena_free(a);
}

/* ---- events ---- */

TEST(event_sequence_and_cap)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_run run, cur;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &run, &e), CP_OK);
    static const char *const types[] = {"log", "status", "log", "progress", "log", "log", "log"};
    for (int i = 0; i < 7; i++) {
        int64_t seq = -1;
        char *data = cp_arena_printf(a, "{\"i\":%d}", i);
        CHECK_EQ(cp_store_event_append(st, run.id, types[i], data, 5, &seq, &e), CP_OK);
        CHECK_EQ(seq, i < 5 ? i + 1 : 0); /* past the cap of 5: dropped */
    }
    cp_event *ev;
    size_t n;
    CHECK_EQ(cp_store_events_list(st, a, run.id, 0, 100, &ev, &n, &e), CP_OK);
    CHECK_EQ(n, 5);
    for (size_t i = 0; i < n && i < 5; i++) {
        CHECK_EQ(ev[i].seq, (int64_t)i + 1);
        CHECK_STR(ev[i].type, types[i]);
        CHECK_STR(ev[i].data, cp_arena_printf(a, "{\"i\":%zu}", i));
        CHECK(ev[i].ts > 0);
    }
    CHECK_EQ(cp_store_events_list(st, a, run.id, 2, 100, &ev, &n, &e), CP_OK);
    CHECK_EQ(n, 3);
    if (n == 3) CHECK(ev[0].seq == 3 && ev[1].seq == 4 && ev[2].seq == 5);
    CHECK_EQ(cp_store_events_list(st, a, run.id, 0, 2, &ev, &n, &e), CP_OK);
    CHECK_EQ(n, 2);
    if (n == 2) CHECK(ev[0].seq == 1 && ev[1].seq == 2);
    CHECK_EQ(cp_store_events_list(st, a, run.id, 5, 100, &ev, &n, &e), CP_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(cp_store_run_get(st, a, run.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.event_count, 5);
    CHECK_EQ(cur.events_dropped, 2);
    cp_arena_free(a);
}

/* ---- budget ---- */

/* A batch keeps its order, its types, times and text byte for byte; one
 * that crosses the cap stores what fits and counts the rest. */
TEST(event_batch_order_text_and_cap)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    fixture_new(a, NULL, &f);
    cp_resource res;
    cp_run run, cur;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &run, &e), CP_OK);
    static const char *const data[] = {"{\"line\":\"a \\\"quoted\\\" \\\\ back\"}",
                                       "{\"line\":\"\u00e9t\u00e9 \u2603\"}",
                                       "{}",
                                       "{\"n\":1}",
                                       "{\"line\":\"\\n\\t\"}",
                                       "[1,2]",
                                       "{\"x\":null}"};
    cp_event_new ev[7];
    for (int i = 0; i < 7; i++) ev[i] = (cp_event_new){i % 2 ? "progress" : "log", data[i], 1000 + i};
    int64_t last = -1;
    CHECK_EQ(cp_store_events_append(st, run.id, ev, 4, 6, &last, &e), CP_OK);
    CHECK_EQ(last, 4);
    CHECK_EQ(cp_store_events_append(st, run.id, ev + 4, 3, 6, &last, &e), CP_OK);
    CHECK_EQ(last, 6); /* 2 of 3 fit under the cap of 6 */
    CHECK_EQ(cp_store_events_append(st, run.id, ev, 2, 6, &last, &e), CP_OK);
    CHECK_EQ(last, 0); /* all dropped */
    CHECK_EQ(cp_store_events_append(st, run.id, ev, 0, 6, &last, &e), CP_OK);
    CHECK_EQ(last, 0);
    cp_event *got;
    size_t n;
    CHECK_EQ(cp_store_events_list(st, a, run.id, 0, 100, &got, &n, &e), CP_OK);
    CHECK_EQ(n, 6);
    for (size_t i = 0; i < n && i < 6; i++) {
        CHECK_EQ(got[i].seq, (int64_t)i + 1);
        CHECK_EQ(got[i].ts, 1000 + (int64_t)i);
        CHECK_STR(got[i].type, ev[i].type);
        CHECK_STR(got[i].data, data[i]);
    }
    CHECK_EQ(cp_store_run_get(st, a, run.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.event_count, 6);
    CHECK_EQ(cur.events_dropped, 3);
    cp_arena_free(a);
}

TEST(budget_check_on_create_and_update)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    double budget = 10;
    fixture_new(a, &budget, &f);
    cp_resource r1, r2, tmp;
    cp_run c1, c2, run;
    CHECK_EQ(tsu_resource_new(st, a, &f, 6, &r1, &c1, &e), CP_OK);

    /* 6 + 5 > 10: refused, and nothing was written. */
    CHECK_EQ(tsu_resource_new(st, a, &f, 5, &tmp, &run, &e), CP_EUNPROC);
    CHECK_STR(e.code, "budget_exceeded");
    cp_resource *items;
    size_t n;
    char *next;
    cp_resource_filter filter = {.project_id = f.project_id};
    CHECK_EQ(cp_store_resources_list(st, a, f.user_id, &filter, 50, NULL, &items, &n, &next, &e), CP_OK);
    CHECK_EQ(n, 1);

    /* 6 + 4 = 10: within. */
    CHECK_EQ(tsu_resource_new(st, a, &f, 4, &r2, &c2, &e), CP_OK);

    /* Updating r1 to 7 would make 4 + 7 > 10; to 6 it stays at 10. */
    CHECK_EQ(cp_store_run_enqueue(st, a, r1.id, CP_OP_UPDATE, "{}", 7, f.user_id, &run, &e), CP_EUNPROC);
    CHECK_STR(e.code, "budget_exceeded");
    cp_run *runs;
    CHECK_EQ(cp_store_runs_list(st, a, r1.id, 50, NULL, &runs, &n, &next, &e), CP_OK);
    CHECK_EQ(n, 1); /* only the create */
    CHECK_EQ(cp_store_run_enqueue(st, a, r1.id, CP_OP_UPDATE, "{}", 6, f.user_id, &run, &e), CP_OK);
    CHECK_EQ(run.operation, CP_OP_UPDATE);
    CHECK_EQ(run.status, CP_RUN_QUEUED);
    /* A destroy frees budget and is never checked against it. */
    CHECK_EQ(cp_store_run_enqueue(st, a, r2.id, CP_OP_DESTROY, "{}", 0, f.user_id, &run, &e), CP_OK);
    cp_arena_free(a);
}

/* Runs every case on one backend; with no url, records them as skipped. */
int main(void)
{
    static const t_case cases[] = {
        T_CASE(claim_order_per_resource),
        T_CASE(one_unfinished_run_holds_the_floor),
        T_CASE(fenced_writes_refuse_stale_owner_and_attempt),
        T_CASE(reap_before_tofu_requeues),
        T_CASE(reap_during_apply_fails_and_returns_lock),
        T_CASE(live_lease_is_never_reaped),
        T_CASE(saved_plan_loaded_by_its_claim_and_cleared_at_end),
        T_CASE(reap_waits_out_the_grace),
        T_CASE(reap_is_decided_inside_its_transaction),
        T_CASE(reap_one_bad_row_spares_the_others),
        T_CASE(event_sequence_and_cap),
        T_CASE(event_batch_order_text_and_cap),
        T_CASE(budget_check_on_create_and_update),
    };
    return tsu_main(&(tsu_suite){"store-runs", 4, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
