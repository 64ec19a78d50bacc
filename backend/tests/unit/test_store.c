/* Store tests. Every test runs against SQLite and, when CP_TEST_PG_URL is set,
 * PostgreSQL: the same calls must behave the same on both. */
#include <sodium.h>
#include <unistd.h>

#include "core/ids.h"
#include "store/store.h"
#include "test.h"
#include "test_store_util.h"

static cp_store *st;
static const char *backend_name;

TEST(migrations_apply_once)
{
    int applied = -1;
    cp_error e;
    CHECK_EQ(cp_store_migrate(st, &applied, &e), CP_OK);
    CHECK_EQ(applied, 0); /* opening already migrated */
    CHECK_EQ(cp_store_ping(st, &e), CP_OK);
}

TEST(users_create_and_lookup)
{
    cp_arena *a = cp_arena_new(1024);
    cp_error e;
    cp_user u, v;
    CHECK_EQ(cp_store_user_create(st, a, "x@example.com", "X", "$argon2id$fake", &u, &e), CP_OK);
    CHECK(cp_id_valid(u.id));
    CHECK_EQ(cp_store_user_by_email(st, a, "x@example.com", &v, &e), CP_OK);
    CHECK_STR(v.id, u.id);
    CHECK_STR(v.name, "X");
    CHECK_STR(v.password_hash, "$argon2id$fake");
    CHECK_EQ(v.created_at, u.created_at);
    CHECK_EQ(cp_store_user_by_id(st, a, u.id, &v, &e), CP_OK);
    CHECK_STR(v.email, "x@example.com");
    CHECK_EQ(cp_store_user_create(st, a, "x@example.com", "Y", "h", &v, &e), CP_ECONFLICT);
    CHECK_STR(e.field, "email");
    CHECK_EQ(cp_store_user_by_email(st, a, "nobody@example.com", &v, &e), CP_ENOTFOUND);
    /* quotes and question marks in values are data, not SQL */
    CHECK_EQ(cp_store_user_create(st, a, "q'?\"@example.com", "O'Brien ? $1", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_user_by_id(st, a, u.id, &v, &e), CP_OK);
    CHECK_STR(v.name, "O'Brien ? $1");
    cp_arena_free(a);
}

/* A run from queued to succeeded, then a destroy canceled before it ran. The
 * states are enums; lease loss is CP_ECONFLICT, an illegal move CP_ERR. */
TEST(run_lifecycle_is_fenced)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    cp_user u;
    cp_project p;
    CHECK_EQ(cp_store_user_create(st, a, "owner@example.com", "O", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, NULL, &p, &e), CP_OK);
    char acc_id[CP_ID_LEN + 1], res_id[CP_ID_LEN + 1];
    cp_id_new(acc_id);
    cp_id_new(res_id);
    cp_account acc = {.id = acc_id,
                      .project_id = p.id,
                      .cloud = "sandbox",
                      .name = "sb",
                      .hint = "",
                      .key_id = "k1",
                      .nonce = "n",
                      .ciphertext = "c",
                      .created_at = 1};
    CHECK_EQ(cp_store_account_create(st, &acc, &e), CP_OK);
    cp_resource in = {.id = res_id,
                      .project_id = p.id,
                      .account_id = acc_id,
                      .cloud = "sandbox",
                      .kind = "vm",
                      .name = "vm1",
                      .region = "local",
                      .size = "small",
                      .config = "{}",
                      .monthly_cost_usd = 5,
                      .created_by = u.id};
    cp_resource res;
    cp_run run, cur;
    CHECK_EQ(cp_store_resource_create(st, a, &in, "{\"name\":\"vm1\"}", &res, &run, &e), CP_OK);
    CHECK_EQ(res.status, CP_RES_PENDING);
    CHECK_EQ(run.status, CP_RUN_QUEUED);
    CHECK_EQ(run.operation, CP_OP_CREATE);
    CHECK_STR(run.params, "{\"name\":\"vm1\"}");
    CHECK_STR(res.run_id, run.id);
    CHECK_EQ(res.run_status, CP_RUN_QUEUED);

    cp_run held;
    CHECK_EQ(cp_store_run_claim(st, a, run.id, "w1", 60000, &held, &e), CP_OK);
    CHECK_EQ(held.status, CP_RUN_PLANNING);
    CHECK_EQ(cp_store_resource_by_id(st, a, res_id, &res, &e), CP_OK);
    CHECK_EQ(res.status, CP_RES_PROVISIONING);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_SUCCEEDED, &e), CP_ERR);
    CHECK_STR(e.code, "illegal_transition");
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);

    /* Another owner (or a later attempt) is fenced out of every write. */
    cp_run stale = held;
    stale.lease_owner = "w2";
    bool cancel;
    CHECK_EQ(cp_store_run_transition(st, &stale, CP_RUN_APPLYING, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(e.reason, CP_REASON_LEASE_LOST);
    CHECK_EQ(cp_store_run_heartbeat(st, &stale, 60000, &cancel, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(e.reason, CP_REASON_LEASE_LOST);
    CHECK_EQ(cp_store_run_mark_tofu_started(st, &stale, NULL, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(e.reason, CP_REASON_LEASE_LOST);
    CHECK_EQ(cp_store_run_finish(st, &stale, CP_RUN_FAILED, "x", NULL, NULL, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "lease_lost");
    CHECK_EQ(e.reason, CP_REASON_LEASE_LOST);

    /* A create that succeeds writes the spec its caller read from the run. */
    CHECK_EQ(cp_store_run_finish(st, &held, CP_RUN_SUCCEEDED, NULL, "{}", NULL, &e), CP_ERR);
    cp_resource_spec spec = {"large", "{\"a\":1}", 9.5, NULL};
    CHECK_EQ(cp_store_run_finish(st, &held, CP_RUN_SUCCEEDED, NULL, "{\"ip\":\"10.0.0.1\"}", &spec, &e), CP_OK);
    CHECK_EQ(cp_store_run_get(st, a, run.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_SUCCEEDED);
    CHECK(cur.finished_at > 0);
    CHECK_EQ(cp_store_resource_by_id(st, a, res_id, &res, &e), CP_OK);
    CHECK_EQ(res.status, CP_RES_ACTIVE);
    CHECK_STR(res.size, "large");
    CHECK_STR(res.config, "{\"a\":1}");
    CHECK_STR(res.outputs, "{\"ip\":\"10.0.0.1\"}");
    CHECK(fabs(res.monthly_cost_usd - 9.5) < 1e-9);
    CHECK_EQ(res.run_status, CP_RUN_SUCCEEDED);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_APPLYING, &e), CP_ERR); /* finished: nothing moves it */

    /* A destroy canceled while queued leaves the (existing) resource active. */
    cp_run d;
    bool immediate = false;
    CHECK_EQ(cp_store_run_enqueue(st, a, res_id, CP_OP_DESTROY, "{}", 9.5, u.id, &d, &e), CP_OK);
    CHECK_EQ(d.operation, CP_OP_DESTROY);
    CHECK_EQ(d.status, CP_RUN_QUEUED);
    CHECK_EQ(cp_store_run_enqueue(st, a, res_id, CP_OP_DESTROY, "{}", 9.5, u.id, &cur, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "destroy_pending");
    CHECK_EQ(cp_store_run_cancel(st, d.id, &immediate, &e), CP_OK);
    CHECK(immediate);
    CHECK_EQ(cp_store_run_get(st, a, d.id, &cur, &e), CP_OK);
    CHECK_EQ(cur.status, CP_RUN_CANCELED);
    CHECK_STR(cur.error, "canceled by user");
    CHECK_EQ(cp_store_resource_by_id(st, a, res_id, &res, &e), CP_OK);
    CHECK_EQ(res.status, CP_RES_ACTIVE);
    CHECK_EQ(res.run_operation, CP_OP_DESTROY);
    CHECK_EQ(res.run_status, CP_RUN_CANCELED);
    CHECK_EQ(cp_store_run_cancel(st, d.id, &immediate, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "run_finished");
    cp_arena_free(a);
}

/* Runs every case on one backend; with no url, records them as skipped. */
int main(void)
{
    static const t_case cases[] = {
        T_CASE(migrations_apply_once),
        T_CASE(users_create_and_lookup),
        T_CASE(run_lifecycle_is_fenced),
    };
    return tsu_main(&(tsu_suite){"store", 4, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
