/* The runner's run tokens (engine/runner_identity.c), with a stand-in for
 * tofu that records, per process, the env it got and the token file it found:
 * the provider env of a workload identity account, a fresh token per phase
 * (plan for init and plan, apply for the apply) in a 0600 file, the token
 * redacted from events, and the file gone when the run is closed. */
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>

#include "auth/issuer.h"
#include "test.h"
#include "test_engine_util.h"

#define ISS "https://cp.test"
#define ROLE "arn:aws:iam::123456789012:role/runs"

static cp_issuer *iss;
static int mints;

static char *mint(void *ctx, const char *phase, const char *aud, cp_error *err)
{
    (void)ctx;
    mints++;
    cp_issuer_claims c = {.issuer = ISS,
                          .audience = aud,
                          .project_id = "01hproject0000000000000000",
                          .account_id = "01haccount0000000000000000",
                          .run_id = "01hrun00000000000000000000",
                          .resource_id = "01hresource000000000000000",
                          .phase = phase,
                          .now = (int64_t)time(NULL),
                          .lifetime = 600};
    return cp_issuer_mint(iss, &c, err);
}

/* A tofu that writes what it sees to <tmp>/calls and prints the token (as a
 * misbehaving provider might) to stderr. */
static bool write_fake_tofu(char *path, size_t cap)
{
    snprintf(path, cap, "%s/bin/tofu", eu_tmp);
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/bin", eu_tmp);
    if (mkdir(dir, 0700) != 0) return false;
    FILE *f = fopen(path, "w");
    if (!f) return false;
    fprintf(f,
            "#!/bin/sh\n"
            "t=\"$AWS_WEB_IDENTITY_TOKEN_FILE\"\n"
            "{ echo \"cmd=$1 role=$AWS_ROLE_ARN session=$AWS_ROLE_SESSION_NAME mode=$(stat -c %%a \"$t\") "
            "file=$t\"; echo \"token=$(cat \"$t\")\"; } >> %s/calls\n"
            "[ \"$1\" = plan ] && echo \"leaked $(cat \"$t\")\" >&2 && : > plan.bin\n"
            "[ \"$1\" = output ] && echo '{}'\n"
            "exit 0\n",
            eu_tmp);
    fclose(f);
    return chmod(path, 0700) == 0;
}

TEST(tokens_per_phase)
{
    char tofu[PATH_MAX], rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    CHECK(write_fake_tofu(tofu, sizeof tofu));
    eu_new_id(rid);
    eu_new_id(run_id);
    cp_runner_config cfg = eu_config();
    cfg.tofu = tofu;
    cfg.use_bwrap = false; /* the stand-in writes outside the run dir */
    cfg.provider_mirror = NULL;
    json_t *fields = json_pack("{s:s, s:s}", "role_arn", ROLE, "session_name", "cp");
    cp_runner_identity id = {.mint = mint, .cloud = "aws", .fields = fields, .audience = "sts.amazonaws.com"};
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec spec = {.run_id = run_id,
                           .resource_id = rid,
                           .module = "sandbox_vm",
                           .on_event = eu_on_event,
                           .ctx = &ev,
                           .identity = &id};
    cp_runner *r = NULL;
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &spec, &r, &e), CP_OK);
    if (!r) {
        fprintf(stderr, "  open: %s\n", e.message);
        json_decref(fields);
        eu_events_free(&ev);
        return;
    }
    cp_runner_plan_result pr = {0};
    CHECK_EQ(cp_runner_plan(r, CP_RUN_APPLY, &pr, &e), CP_OK);
    cp_runner_plan_result_free(&pr);
    json_t *out = NULL;
    CHECK_EQ(cp_runner_apply_auto(r, CP_RUN_APPLY, &out, &e), CP_OK);
    json_decref(out);
    cp_runner_close(r);

    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/calls", eu_tmp);
    char *calls = eu_read(path);
    CHECK(calls != NULL);
    if (!calls) goto out;
    /* init, plan, apply (and maybe output): each saw the role and a 0600 token file. */
    int procs = 0;
    char *tokens[8] = {0};
    const char *phases[8] = {0};
    char *save = NULL;
    for (char *line = strtok_r(calls, "\n", &save); line && procs < 8; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "cmd=", 4)) {
            CHECK(strstr(line, " role=" ROLE " ") != NULL);
            CHECK(strstr(line, " session=cp ") != NULL);
            CHECK(strstr(line, " mode=600 ") != NULL);
            phases[procs] = !strncmp(line, "cmd=apply", 9) ? "apply" : "plan";
        } else if (!strncmp(line, "token=", 6)) {
            tokens[procs++] = line + 6;
        }
    }
    CHECK(procs >= 3);
    CHECK_EQ(mints, procs);
    for (int i = 0; i < procs; i++) {
        json_t *claims = NULL;
        CHECK_EQ(cp_issuer_verify(iss, tokens[i], ISS, (int64_t)time(NULL), &claims, &e), CP_OK);
        CHECK_STR(json_string_value(json_object_get(claims, "run_phase")), phases[i]);
        CHECK_STR(json_string_value(json_object_get(claims, "aud")), "sts.amazonaws.com");
        for (int k = 0; k < i; k++) CHECK(strcmp(tokens[i], tokens[k]) != 0); /* fresh each time */
        CHECK(!eu_contains(&ev, tokens[i]));                                  /* redacted */
        json_decref(claims);
    }
    /* The run dir (token file included) is gone. */
    char runs[PATH_MAX];
    snprintf(runs, sizeof runs, "%s/runs", eu_tmp);
    DIR *d = opendir(runs);
    int left = 0;
    for (struct dirent *de; d && (de = readdir(d));) left += de->d_name[0] != '.';
    if (d) closedir(d);
    CHECK_EQ(left, 0);
out:
    free(calls);
    json_decref(fields);
    eu_events_free(&ev);
}

TEST(state_backend_needs_a_mint)
{
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    cp_runner_config cfg = eu_config();
    cfg.use_bwrap = false;
    cfg.tofu = "/bin/true";
    cfg.state.kind = CP_STATE_S3;
    cfg.state.s3_bucket = "b";
    cfg.state.s3_web_identity_role_arn = ROLE;
    cp_runner_spec spec = {.run_id = run_id, .resource_id = rid, .module = "sandbox_vm"};
    cp_runner *r = NULL;
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &spec, &r, &e), CP_EINVAL);
    CHECK(r == NULL);
}

int main(void)
{
    cp_error e;
    eu_setup("runner-identity");
    char *keys = cp_issuer_rotate(NULL, &e);
    if (!keys || cp_issuer_load(keys, &iss, &e) != CP_OK) return 1;
    free(keys);
    RUN(tokens_per_phase);
    RUN(state_backend_needs_a_mint);
    cp_issuer_free(iss);
    eu_teardown();
    TEST_END();
}
