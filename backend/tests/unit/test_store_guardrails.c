/* Tests of store_guardrails.c: a project's rules, the checks stored with an
 * order in its transaction (and the budget the guard may leave out), the
 * worker's fenced plan checks, the approval that overrides the soft ones,
 * the project's VMs by size, and protection. Every case runs on SQLite and,
 * when CP_TEST_PG_URL is set, PostgreSQL. */
#include <sodium.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_guardrails.h"

static cp_store *st;
static const char *backend_name;
static int fixtures;

static void fixture_new(cp_arena *a, tsu_fixture *f, const double *budget)
{
    cp_error e;
    cp_user u;
    cp_project p;
    char *email = cp_arena_printf(a, "g%d-%s@example.com", ++fixtures, backend_name);
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, budget, &p, &e), CP_OK);
    f->user_id = u.id;
    f->project_id = p.id;
    f->account_id = tsu_account_new(st, a, p.id);
}

static cp_resource vm_in(cp_arena *a, const tsu_fixture *f, const char *size, double cost)
{
    char *id = cp_arena_alloc(a, CP_ID_LEN + 1);
    cp_id_new(id);
    return (cp_resource){.id = id,
                         .project_id = f->project_id,
                         .account_id = f->account_id,
                         .cloud = "sandbox",
                         .kind = "vm",
                         .name = "vm",
                         .region = "local",
                         .size = (char *)size,
                         .config = "{}",
                         .monthly_cost_usd = cost,
                         .created_by = f->user_id};
}

static const char *const CHECKS =
    "[{\"rule\":\"max_monthly_cost\",\"level\":\"soft\",\"stage\":\"order\",\"outcome\":\"overridden\","
    "\"message\":\"$20.00\",\"address\":null,\"reason\":\"needed\",\"overridden_by\":\"u1\",\"created_at\":null},"
    "{\"rule\":\"budget\",\"level\":\"advisory\",\"stage\":\"order\",\"outcome\":\"warned\",\"message\":\"over\","
    "\"address\":null,\"reason\":null,\"overridden_by\":null,\"created_at\":null}]";

TEST(rules_round_trip)
{
    cp_arena *a = cp_arena_new(4096);
    tsu_fixture f;
    fixture_new(a, &f, NULL);
    cp_error e;
    cp_guardrails_row row;
    CHECK_EQ(cp_store_guardrails_get(st, a, f.project_id, &row, &e), CP_OK);
    CHECK_STR(row.rules, "{}");
    CHECK_EQ(row.updated_at, 0);
    CHECK(row.updated_by == NULL);
    CHECK_EQ(cp_store_guardrails_put(st, f.project_id, "{\"budget\":{\"level\":\"soft\"}}", f.user_id, 5, &e), CP_OK);
    CHECK_EQ(cp_store_guardrails_put(st, f.project_id, "{\"budget\":{\"level\":\"hard\"}}", f.user_id, 7, &e), CP_OK);
    CHECK_EQ(cp_store_guardrails_get(st, a, f.project_id, &row, &e), CP_OK);
    CHECK_STR(row.rules, "{\"budget\":{\"level\":\"hard\"}}");
    CHECK_EQ(row.updated_at, 7);
    CHECK_STR(row.updated_by, f.user_id);
    cp_arena_free(a);
}

/* The order's checks go with its run; skip_budget lets a create past the budget. */
TEST(guarded_order_stores_checks_and_may_skip_the_budget)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    double budget = 10;
    fixture_new(a, &f, &budget);
    cp_error e;
    cp_resource res;
    cp_run run;
    cp_resource in = vm_in(a, &f, "sandbox.medium", 20);
    CHECK_EQ(cp_store_resource_create(st, a, &in, "{}", &res, &run, &e), CP_EUNPROC);
    CHECK_STR(e.code, "budget_exceeded");
    cp_order_guard keep = {CHECKS, false}, skip = {CHECKS, true};
    CHECK_EQ(cp_store_resource_create_guarded(st, a, &in, "{}", &keep, &res, &run, &e), CP_EUNPROC);
    CHECK_EQ(cp_store_resource_create_guarded(st, a, &in, "{}", &skip, &res, &run, &e), CP_OK);
    cp_run_check *items;
    size_t n;
    CHECK_EQ(cp_store_run_checks_list(st, a, run.id, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK_EQ(items[0].seq, 1);
        CHECK_STR(items[0].rule, "max_monthly_cost");
        CHECK_STR(items[0].outcome, "overridden");
        CHECK_STR(items[0].reason, "needed");
        CHECK_STR(items[0].overridden_by, "u1");
        CHECK(items[0].address == NULL);
        CHECK(items[0].created_at > 0);
        CHECK_EQ(items[1].seq, 2);
        CHECK_STR(items[1].outcome, "warned");
    }
    /* An update past the budget: the same. */
    cp_run upd;
    CHECK_EQ(cp_store_run_enqueue_guarded(st, a, res.id, CP_OP_UPDATE, "{}", 30, f.user_id, &keep, &upd, &e),
             CP_EUNPROC);
    CHECK_EQ(cp_store_run_enqueue_guarded(st, a, res.id, CP_OP_UPDATE, "{}", 30, f.user_id, &skip, &upd, &e), CP_OK);
    CHECK_EQ(cp_store_run_checks_list(st, a, upd.id, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 2);
    cp_arena_free(a);
}

/* Plan checks are fenced by the lease; the approval overrides the soft blocked ones only. */
TEST(plan_checks_and_the_approval_that_overrides_them)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f, NULL);
    cp_error e;
    cp_resource res;
    cp_run run, held;
    CHECK_EQ(tsu_resource_new(st, a, &f, 1, &res, &run, &e), CP_OK);
    CHECK_EQ(cp_store_run_checks_add(st, run.id, CHECKS, &e), CP_OK);
    CHECK_EQ(cp_store_run_claim(st, a, run.id, "w1", 60000, &held, &e), CP_OK);
    const char *plan =
        "[{\"rule\":\"max_monthly_cost\",\"level\":\"soft\",\"stage\":\"plan\",\"outcome\":\"blocked\",\"message\":"
        "\"m\",\"address\":null},{\"rule\":\"allowed_sizes\",\"level\":\"hard\",\"stage\":\"plan\",\"outcome\":"
        "\"passed\",\"message\":\"ok\",\"address\":\"sandbox_instance.this\"}]";
    cp_run stale = held;
    stale.attempt++;
    CHECK_EQ(cp_store_run_plan_checks(st, &stale, plan, true, &e), CP_ECONFLICT);
    CHECK_EQ(e.reason, CP_REASON_LEASE_LOST);
    CHECK_EQ(cp_store_run_plan_checks(st, &held, plan, true, &e), CP_OK);
    cp_run got;
    CHECK_EQ(cp_store_run_get(st, a, run.id, &got, &e), CP_OK);
    CHECK(got.override_required);
    /* Not awaiting approval yet: refused, nothing overridden. */
    CHECK_EQ(cp_store_run_approve_override(st, run.id, f.user_id, "why", &e), CP_ECONFLICT);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_PLANNED, &e), CP_OK);
    CHECK_EQ(cp_store_run_transition(st, &held, CP_RUN_AWAITING_APPROVAL, &e), CP_OK);
    CHECK_EQ(cp_store_run_approve_override(st, run.id, f.user_id, "tags only", &e), CP_OK);
    cp_run_check *items;
    size_t n;
    CHECK_EQ(cp_store_run_checks_list(st, a, run.id, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 4);
    if (n == 4) {
        CHECK_STR(items[0].outcome, "overridden"); /* the order's own, untouched */
        CHECK_STR(items[0].reason, "needed");
        CHECK_STR(items[1].outcome, "warned");
        CHECK_STR(items[2].stage, "plan");
        CHECK_STR(items[2].outcome, "overridden");
        CHECK_STR(items[2].reason, "tags only");
        CHECK_STR(items[2].overridden_by, f.user_id);
        CHECK_STR(items[3].outcome, "passed");
        CHECK_STR(items[3].address, "sandbox_instance.this");
    }
    CHECK_EQ(cp_store_run_get(st, a, run.id, &got, &e), CP_OK);
    CHECK_STR(got.approved_by, f.user_id);
    /* Once only. */
    CHECK_EQ(cp_store_run_approve_override(st, run.id, f.user_id, "again", &e), CP_ECONFLICT);
    cp_arena_free(a);
}

TEST(project_vms_by_size_and_protection)
{
    cp_arena *a = cp_arena_new(8192);
    tsu_fixture f;
    fixture_new(a, &f, NULL);
    cp_error e;
    cp_resource r1, r2, r3;
    cp_run run;
    cp_resource in1 = vm_in(a, &f, "sandbox.medium", 1), in2 = vm_in(a, &f, "sandbox.medium", 1),
                in3 = vm_in(a, &f, "sandbox.small", 1);
    CHECK_EQ(cp_store_resource_create(st, a, &in1, "{}", &r1, &run, &e), CP_OK);
    CHECK_EQ(cp_store_resource_create(st, a, &in2, "{}", &r2, &run, &e), CP_OK);
    CHECK_EQ(cp_store_resource_create(st, a, &in3, "{}", &r3, &run, &e), CP_OK);
    cp_vm_size_count *rows;
    size_t n;
    CHECK_EQ(cp_store_project_vm_sizes(st, a, f.project_id, r1.id, &rows, &n, &e), CP_OK);
    int64_t medium = 0, small = 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(rows[i].size, "sandbox.medium")) medium = rows[i].count;
        if (!strcmp(rows[i].size, "sandbox.small")) small = rows[i].count;
        CHECK_STR(rows[i].cloud, "sandbox");
    }
    CHECK_EQ(medium, 1);
    CHECK_EQ(small, 1);
    CHECK(!r1.is_protected);
    CHECK_EQ(cp_store_resource_set_protected(st, r1.id, true, &e), CP_OK);
    cp_resource got;
    CHECK_EQ(cp_store_resource_by_id(st, a, r1.id, &got, &e), CP_OK);
    CHECK(got.is_protected);
    CHECK_EQ(cp_store_resource_set_protected(st, r1.id, false, &e), CP_OK);
    CHECK_EQ(cp_store_resource_by_id(st, a, r1.id, &got, &e), CP_OK);
    CHECK(!got.is_protected);
    CHECK_EQ(cp_store_resource_set_protected(st, "01aaaaaaaaaaaaaaaaaaaaaaaa", true, &e), CP_ECONFLICT);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(rules_round_trip),
        T_CASE(guarded_order_stores_checks_and_may_skip_the_budget),
        T_CASE(plan_checks_and_the_approval_that_overrides_them),
        T_CASE(project_vms_by_size_and_protection),
    };
    return tsu_main(&(tsu_suite){"store-guardrails", 4, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
