/* Unit tests for store/status.c (the run and resource state machines) and
 * store/run_params.c (the run's wanted spec as JSON text). */
#include <jansson.h>

#include "store/run_params.h"
#include "store/status.h"
#include "test.h"

TEST(names_round_trip)
{
    for (int i = 0; i < CP_RUN_STATUS_COUNT; i++) {
        cp_run_status s = CP_RUN_STATUS_COUNT;
        CHECK(cp_run_status_parse(cp_run_status_name((cp_run_status)i), &s));
        CHECK_EQ((int)s, i);
    }
    for (int i = 0; i < CP_RES_STATUS_COUNT; i++) {
        cp_resource_status s = CP_RES_STATUS_COUNT;
        CHECK(cp_resource_status_parse(cp_resource_status_name((cp_resource_status)i), &s));
        CHECK_EQ((int)s, i);
    }
    for (int i = 0; i < CP_OP_COUNT; i++) {
        cp_run_operation op = CP_OP_COUNT;
        CHECK(cp_run_operation_parse(cp_run_operation_name((cp_run_operation)i), &op));
        CHECK_EQ((int)op, i);
    }
    /* the names the API, the database and the UI know */
    CHECK_STR(cp_run_status_name(CP_RUN_AWAITING_APPROVAL), "awaiting_approval");
    CHECK_STR(cp_run_status_name(CP_RUN_CANCELED), "canceled");
    CHECK_STR(cp_resource_status_name(CP_RES_PROVISIONING), "provisioning");
    CHECK_STR(cp_resource_status_name(CP_RES_DESTROYED), "destroyed");
    CHECK_STR(cp_run_operation_name(CP_OP_DESTROY), "destroy");
    cp_run_status s = CP_RUN_PLANNED;
    CHECK(!cp_run_status_parse("cancelled", &s));
    CHECK(!cp_run_status_parse(NULL, &s));
    CHECK(!cp_run_status_parse("", &s));
    CHECK_EQ(s, CP_RUN_PLANNED); /* untouched on failure */
    cp_run_operation op = CP_OP_UPDATE;
    CHECK(!cp_run_operation_parse("apply", &op));
    CHECK_EQ(op, CP_OP_UPDATE);
}

TEST(final_states)
{
    CHECK(cp_run_status_is_final(CP_RUN_SUCCEEDED));
    CHECK(cp_run_status_is_final(CP_RUN_FAILED));
    CHECK(cp_run_status_is_final(CP_RUN_CANCELED));
    CHECK(!cp_run_status_is_final(CP_RUN_QUEUED));
    CHECK(!cp_run_status_is_final(CP_RUN_PLANNING));
    CHECK(!cp_run_status_is_final(CP_RUN_PLANNED));
    CHECK(!cp_run_status_is_final(CP_RUN_AWAITING_APPROVAL));
    CHECK(!cp_run_status_is_final(CP_RUN_APPLYING));
}

TEST(transition_table)
{
    /* the forward path, with and without approval */
    CHECK(cp_run_transition_legal(CP_RUN_QUEUED, CP_RUN_PLANNING));
    CHECK(cp_run_transition_legal(CP_RUN_PLANNING, CP_RUN_PLANNED));
    CHECK(cp_run_transition_legal(CP_RUN_PLANNING, CP_RUN_APPLYING));
    CHECK(cp_run_transition_legal(CP_RUN_PLANNED, CP_RUN_APPLYING));
    CHECK(cp_run_transition_legal(CP_RUN_PLANNED, CP_RUN_SUCCEEDED));
    CHECK(cp_run_transition_legal(CP_RUN_PLANNED, CP_RUN_AWAITING_APPROVAL));
    CHECK(cp_run_transition_legal(CP_RUN_AWAITING_APPROVAL, CP_RUN_APPLYING));
    CHECK(cp_run_transition_legal(CP_RUN_APPLYING, CP_RUN_SUCCEEDED));
    /* any unfinished run may fail or be canceled; a finished one never moves */
    for (int i = 0; i < CP_RUN_STATUS_COUNT; i++) {
        cp_run_status from = (cp_run_status)i;
        bool fin = cp_run_status_is_final(from);
        CHECK_EQ(cp_run_transition_legal(from, CP_RUN_FAILED), !fin);
        CHECK_EQ(cp_run_transition_legal(from, CP_RUN_CANCELED), !fin);
        for (int k = 0; k < CP_RUN_STATUS_COUNT; k++)
            if (fin) CHECK(!cp_run_transition_legal(from, (cp_run_status)k));
    }
    /* no shortcuts and no way back */
    CHECK(!cp_run_transition_legal(CP_RUN_QUEUED, CP_RUN_APPLYING));
    CHECK(!cp_run_transition_legal(CP_RUN_QUEUED, CP_RUN_SUCCEEDED));
    CHECK(!cp_run_transition_legal(CP_RUN_PLANNING, CP_RUN_SUCCEEDED));
    CHECK(!cp_run_transition_legal(CP_RUN_AWAITING_APPROVAL, CP_RUN_SUCCEEDED));
    CHECK(!cp_run_transition_legal(CP_RUN_APPLYING, CP_RUN_PLANNED));
    CHECK(!cp_run_transition_legal(CP_RUN_PLANNED, CP_RUN_QUEUED));
    CHECK(!cp_run_transition_legal(CP_RUN_QUEUED, CP_RUN_QUEUED));
}

TEST(resource_states)
{
    CHECK_EQ(cp_resource_status_busy(CP_OP_CREATE, CP_RES_PENDING), CP_RES_PROVISIONING);
    CHECK_EQ(cp_resource_status_busy(CP_OP_UPDATE, CP_RES_ACTIVE), CP_RES_UPDATING);
    CHECK_EQ(cp_resource_status_busy(CP_OP_DESTROY, CP_RES_ACTIVE), CP_RES_DESTROYING);
    /* a drift check leaves the resource as it is */
    CHECK_EQ(cp_resource_status_busy(CP_OP_DRIFT_CHECK, CP_RES_ACTIVE), CP_RES_ACTIVE);
    CHECK_EQ(cp_resource_status_busy(CP_OP_DRIFT_CHECK, CP_RES_FAILED), CP_RES_FAILED);
    CHECK_STR(cp_run_operation_name(CP_OP_DRIFT_CHECK), "drift_check");
    for (int i = 0; i < CP_DRIFT_STATUS_COUNT; i++) {
        cp_drift_status d = CP_DRIFT_STATUS_COUNT;
        CHECK(cp_drift_status_parse(cp_drift_status_name((cp_drift_status)i), &d));
        CHECK_EQ((int)d, i);
    }
    CHECK_STR(cp_drift_status_name(CP_DRIFT_NEVER_CHECKED), "never_checked");
    CHECK_STR(cp_drift_status_name(CP_DRIFT_CHECK_FAILED), "check_failed");
    CHECK_EQ(cp_resource_status_after(CP_OP_CREATE, CP_RUN_SUCCEEDED, false, false), CP_RES_ACTIVE);
    CHECK_EQ(cp_resource_status_after(CP_OP_UPDATE, CP_RUN_SUCCEEDED, false, true), CP_RES_ACTIVE);
    CHECK_EQ(cp_resource_status_after(CP_OP_DESTROY, CP_RUN_SUCCEEDED, false, true), CP_RES_DESTROYED);
    CHECK_EQ(cp_resource_status_after(CP_OP_CREATE, CP_RUN_FAILED, true, false), CP_RES_FAILED);
    CHECK_EQ(cp_resource_status_after(CP_OP_UPDATE, CP_RUN_FAILED, false, true), CP_RES_FAILED);
    CHECK_EQ(cp_resource_status_after(CP_OP_DESTROY, CP_RUN_CANCELED, false, true), CP_RES_FAILED);
    /* canceled before anything changed: back to what it was */
    CHECK_EQ(cp_resource_status_after(CP_OP_CREATE, CP_RUN_CANCELED, true, false), CP_RES_FAILED);
    CHECK_EQ(cp_resource_status_after(CP_OP_CREATE, CP_RUN_CANCELED, true, true), CP_RES_ACTIVE);
    CHECK_EQ(cp_resource_status_after(CP_OP_UPDATE, CP_RUN_CANCELED, true, false), CP_RES_ACTIVE);
    CHECK_EQ(cp_resource_status_after(CP_OP_DESTROY, CP_RUN_CANCELED, true, true), CP_RES_ACTIVE);
}

/* The SQL fragments list the same sets as the table. */
static bool sql_lists(const char *sql, cp_run_status s)
{
    char quoted[40];
    snprintf(quoted, sizeof quoted, "'%s'", cp_run_status_name(s));
    return strstr(sql, quoted) != NULL;
}

TEST(sql_fragments_match_the_table)
{
    for (int i = 0; i < CP_RUN_STATUS_COUNT; i++) {
        cp_run_status s = (cp_run_status)i;
        CHECK_EQ(sql_lists(CP_RUN_SQL_IN_PROGRESS, s), !cp_run_status_is_final(s));
        CHECK_EQ(sql_lists(CP_RUN_SQL_LEASED, s), s == CP_RUN_PLANNING || s == CP_RUN_PLANNED || s == CP_RUN_APPLYING);
        CHECK_EQ(sql_lists(CP_RUN_SQL_FINAL, s), cp_run_status_is_final(s));
    }
}

TEST(run_params_round_trip)
{
    json_t *config = json_pack("{s:s, s:b}", "zone", "b", "public_ip", 1);
    cp_run_params in = {
        .name = "web-1", .region = "eu-west-1", .size = "t3.small", .config = config, .monthly_cost_usd = 15.18};
    char *text = cp_run_params_encode(&in);
    /* the stored text: compact, sorted keys (what the API always wrote) */
    CHECK_STR(text, "{\"config\":{\"public_ip\":true,\"zone\":\"b\"},\"monthly_cost_usd\":15.18,\"name\":\"web-1\","
                    "\"region\":\"eu-west-1\",\"size\":\"t3.small\"}");
    cp_run_params out;
    cp_run_params_decode(text, &out);
    CHECK_STR(out.name, "web-1");
    CHECK_STR(out.region, "eu-west-1");
    CHECK_STR(out.size, "t3.small");
    CHECK(json_equal(out.config, config));
    CHECK(fabs(out.monthly_cost_usd - 15.18) < 1e-9);
    cp_run_params_release(&out);
    CHECK(out.doc == NULL);
    free(text);
    json_decref(config);

    /* storage: no size; no config is written as {} */
    cp_run_params bucket = {.name = "logs", .region = "us-east-1", .monthly_cost_usd = 0};
    text = cp_run_params_encode(&bucket);
    CHECK_STR(text,
              "{\"config\":{},\"monthly_cost_usd\":0.0,\"name\":\"logs\",\"region\":\"us-east-1\",\"size\":null}");
    cp_run_params_decode(text, &out);
    CHECK(out.size == NULL);
    CHECK(json_is_object(out.config) && json_object_size(out.config) == 0);
    cp_run_params_release(&out);
    free(text);

    /* name and region are required */
    cp_run_params bad = {.region = "x"};
    CHECK(cp_run_params_encode(&bad) == NULL);
}

TEST(run_params_decode_is_lenient)
{
    cp_run_params out;
    const char *texts[] = {NULL, "", "not json", "[]", "{\"name\":1,\"size\":false,\"monthly_cost_usd\":\"9\"}"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cp_run_params_decode(texts[i], &out);
        CHECK(out.name == NULL && out.region == NULL && out.size == NULL && out.config == NULL);
        CHECK_EQ(out.monthly_cost_usd, 0.0);
        cp_run_params_release(&out);
    }
    cp_run_params_decode("{\"monthly_cost_usd\":7}", &out); /* an integer cost reads as a number */
    CHECK_EQ(out.monthly_cost_usd, 7.0);
    cp_run_params_release(&out);
}

int main(void)
{
    RUN(names_round_trip);
    RUN(final_states);
    RUN(transition_table);
    RUN(resource_states);
    RUN(sql_fragments_match_the_table);
    RUN(run_params_round_trip);
    RUN(run_params_decode_is_lenient);
    TEST_END();
}
