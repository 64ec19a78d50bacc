/* Unit tests for worker/schedules.c's plan(), included so the static
 * function is reachable (as h2o's unit tests do): which change a due
 * schedule makes, after a late sweep too, what the run asks for and costs,
 * and when nothing runs. */
#include "worker/schedules.c"

#include "core/timeutil.h"
#include "test.h"
#include "store/store_schedules.h"

static int64_t iso(const char *s)
{
    int64_t ms = -1;
    cp_time_parse_iso(s, &ms);
    return ms;
}

#define OFFICE "{\"stop\":\"0 19 * * *\",\"start\":\"0 7 * * *\",\"timezone\":\"UTC\"}"

static cp_sched_due vm(const char *power_state, int64_t next_at, cp_sched_action action)
{
    return (cp_sched_due){.resource_id = "r",
                          .cloud = "sandbox",
                          .kind = "vm",
                          .name = "web-1",
                          .region = "sandbox-east-1",
                          .size = "sandbox.small",
                          .config = "{\"ssh_public_key\":\"k\"}",
                          .schedule = OFFICE,
                          .power_state = power_state,
                          .status = CP_RES_ACTIVE,
                          .next_at = next_at,
                          .next_action = action};
}

TEST(due_stop_queues_a_stop_at_the_stopped_price)
{
    cp_sched_due d = vm("running", iso("2026-06-01T19:00:00Z"), CP_SCHED_STOP);
    cp_sched_step st = {0};
    cp_error e;
    CHECK_EQ(plan(&d, iso("2026-06-01T19:00:01Z"), &st, &e), CP_OK);
    CHECK(st.run_params != NULL);
    cp_run_params p;
    cp_run_params_decode(st.run_params, &p);
    CHECK_STR(json_string_value(json_object_get(p.config, "power_state")), "stopped");
    CHECK_STR(json_string_value(json_object_get(p.config, "ssh_public_key")), "k");
    CHECK(fabs(p.monthly_cost_usd - 1.60) < 1e-9);
    CHECK_STR(p.size, "sandbox.small");
    cp_run_params_release(&p);
    free(st.run_params);
    CHECK_EQ(st.next_at, iso("2026-06-02T07:00:00Z"));
    CHECK_EQ(st.next_action, CP_SCHED_START);
}

TEST(due_start_queues_a_start_at_the_running_price)
{
    cp_sched_due d = vm("stopped", iso("2026-06-02T07:00:00Z"), CP_SCHED_START);
    cp_sched_step st = {0};
    cp_error e;
    CHECK_EQ(plan(&d, iso("2026-06-02T07:00:30Z"), &st, &e), CP_OK);
    cp_run_params p;
    cp_run_params_decode(st.run_params, &p);
    CHECK_STR(json_string_value(json_object_get(p.config, "power_state")), "running");
    CHECK(fabs(p.monthly_cost_usd - 0.01 * 730) < 1e-9);
    cp_run_params_release(&p);
    free(st.run_params);
    CHECK_EQ(st.next_at, iso("2026-06-02T19:00:00Z"));
    CHECK_EQ(st.next_action, CP_SCHED_STOP);
}

/* A sweep that comes after the stop and the start both passed (a postponed
 * change, a worker that was down) does only the latest: the VM runs. */
TEST(late_sweep_does_only_the_latest_change)
{
    cp_sched_due d = vm("running", iso("2026-06-01T19:00:00Z"), CP_SCHED_STOP);
    cp_sched_step st = {0};
    cp_error e;
    CHECK_EQ(plan(&d, iso("2026-06-02T08:00:00Z"), &st, &e), CP_OK);
    CHECK(st.run_params == NULL);
    CHECK_EQ(st.next_at, iso("2026-06-02T19:00:00Z"));
    /* Three days late, last seen stopped: it starts. */
    d = vm("stopped", iso("2026-06-01T19:00:00Z"), CP_SCHED_STOP);
    CHECK_EQ(plan(&d, iso("2026-06-04T12:00:00Z"), &st, &e), CP_OK);
    CHECK(st.run_params != NULL && strstr(st.run_params, "\"running\""));
    free(st.run_params);
}

TEST(nothing_runs_when_already_there_or_not_active)
{
    cp_sched_due d = vm("stopped", iso("2026-06-01T19:00:00Z"), CP_SCHED_STOP);
    cp_sched_step st = {0};
    cp_error e;
    CHECK_EQ(plan(&d, iso("2026-06-01T19:00:05Z"), &st, &e), CP_OK);
    CHECK(st.run_params == NULL);
    CHECK_EQ(st.next_at, iso("2026-06-02T07:00:00Z"));
    d = vm("running", iso("2026-06-01T19:00:00Z"), CP_SCHED_STOP);
    d.status = CP_RES_FAILED;
    CHECK_EQ(plan(&d, iso("2026-06-01T19:00:05Z"), &st, &e), CP_OK);
    CHECK(st.run_params == NULL);
    CHECK_EQ(st.next_at, iso("2026-06-02T07:00:00Z")); /* moved on all the same */
    d.schedule = "{\"stop\":\"0 19 * *\",\"timezone\":\"UTC\"}";
    CHECK_EQ(plan(&d, iso("2026-06-01T19:00:05Z"), &st, &e), CP_EUNPROC);
}

TEST(stop_only_schedule_and_ties)
{
    cp_sched_due d = vm("running", iso("2026-06-01T19:00:00Z"), CP_SCHED_STOP);
    d.schedule = "{\"stop\":\"0 19 * * *\",\"start\":null,\"timezone\":\"Europe/Berlin\"}";
    cp_sched_step st = {0};
    cp_error e;
    CHECK_EQ(plan(&d, iso("2026-06-01T19:00:05Z"), &st, &e), CP_OK);
    free(st.run_params);
    CHECK_EQ(st.next_at, iso("2026-06-02T17:00:00Z")); /* 19:00 CEST */
    CHECK_EQ(st.next_action, CP_SCHED_STOP);
    /* A stop and a start in the same minute: the start wins. */
    d.schedule = "{\"stop\":\"0 7 * * *\",\"start\":\"0 7 * * *\",\"timezone\":\"UTC\"}";
    CHECK_EQ(plan(&d, iso("2026-06-01T19:00:05Z"), &st, &e), CP_OK);
    free(st.run_params);
    CHECK_EQ(st.next_at, iso("2026-06-02T07:00:00Z"));
    CHECK_EQ(st.next_action, CP_SCHED_START);
}

int main(void)
{
    RUN(due_stop_queues_a_stop_at_the_stopped_price);
    RUN(due_start_queues_a_start_at_the_running_price);
    RUN(late_sweep_does_only_the_latest_change);
    RUN(nothing_runs_when_already_there_or_not_active);
    RUN(stop_only_schedule_and_ties);
    TEST_END();
}
