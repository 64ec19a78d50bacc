/* Engine runner with the s3 state backend + DynamoDB locking, against moto
 * (CP_TEST_MOTO_URL, with the bucket and table scripts/services.sh creates):
 * state key, lock conflicts naming the holder, a killed run's lock freed with
 * the lock id the platform recorded. Skips when moto or tofu is missing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/sandbox.h"
#include "test.h"
#include "test_engine_util.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@cloudplane"

static const char *moto_url;
static char prefix[64];

/* Plain HTTP GET of http://127.0.0.1:PORT/path; moto wants an Authorization
 * header but does not verify the signature. Status code; response into out. */
static int http_get(const char *path, char *out, size_t cap)
{
    int port = 0;
    if (sscanf(moto_url, "http://127.0.0.1:%d", &port) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\nAuthorization: AWS4-HMAC-SHA256 "
                     "Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\n\r\n",
                     path, port);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    ssize_t k;
    while (got + 1 < cap && (k = read(fd, out + got, cap - 1 - got)) > 0) got += (size_t)k;
    out[got] = '\0';
    close(fd);
    int status = 0;
    sscanf(out, "HTTP/%*s %d", &status);
    return status;
}

static cp_runner_config s3_config(void)
{
    cp_runner_config c = eu_config();
    c.state.kind = CP_STATE_S3;
    c.state.local_dir = NULL;
    c.state.s3_bucket = getenv("CP_TEST_S3_BUCKET") ? getenv("CP_TEST_S3_BUCKET") : "cloudplane-state";
    c.state.s3_dynamodb_table = getenv("CP_TEST_DDB_TABLE") ? getenv("CP_TEST_DDB_TABLE") : "cloudplane-locks";
    c.state.s3_region = "us-east-1";
    c.state.s3_key_prefix = prefix;
    c.state.s3_endpoint = moto_url;
    c.state.s3_path_style = true;
    c.state.s3_skip_checks = true;
    /* The backend's own credentials reach tofu only through an inherited memfd. */
    c.state.s3_access_key_id = "test";
    c.state.s3_secret_access_key = "test-state-secret";
    return c;
}

static json_t *vm_tfvars(const char *rid, int simulate_seconds)
{
    json_t *cfg = json_pack("{s:s,s:i}", "ssh_public_key", ED25519, "simulate_seconds", simulate_seconds);
    cp_error e;
    json_t *tv = cp_catalog_tfvars(rid, "sandbox", "vm", "web-1", "sandbox-east-1", "sandbox.small", cfg, NULL, &e);
    json_decref(cfg);
    return tv;
}

static cp_runner_spec spec_for(const char *run_id, const char *rid, json_t *tfvars, eu_events *ev)
{
    cp_runner_spec s = {.run_id = run_id,
                        .resource_id = rid,
                        .module = "sandbox_vm",
                        .tfvars = tfvars,
                        .env = eu_sandbox_env(),
                        .on_event = ev ? eu_on_event : NULL,
                        .ctx = ev};
    return s;
}

static cp_result run_op(const cp_runner_config *cfg, const char *rid, json_t *tv, cp_run_op op, json_t **out,
                        cp_error *e)
{
    char run_id[CP_ID_LEN + 1];
    eu_new_id(run_id);
    cp_runner_spec s = spec_for(run_id, rid, tv, NULL);
    return cp_runner_run(cfg, &s, op, NULL, out, NULL, e);
}

typedef struct {
    cp_runner *h;
    cp_result rc;
    cp_error err;
} bg_apply;

static void *bg_apply_main(void *p)
{
    bg_apply *b = p;
    json_t *out = NULL;
    b->rc = cp_runner_apply_auto(b->h, CP_RUN_APPLY, &out, &b->err);
    json_decref(out);
    return NULL;
}

static bool wait_lock(eu_events *ev, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        pthread_mutex_lock(&ev->mu);
        bool ok = ev->locked;
        pthread_mutex_unlock(&ev->mu);
        if (ok) return true;
        eu_sleep_ms(50);
    }
    return false;
}

/* Until tofu holds the state lock: the runner's lock event (outside
 * bubblewrap, where it probes for the lock id), or the apply under way (in
 * bubblewrap with s3 state nothing probes: the holder names the run). */
static bool wait_holding(eu_events *ev, int ms)
{
    for (int i = 0; i < ms / 50; i++) {
        if (eu_count(ev, "apply_start") > 0) return true;
        if (wait_lock(ev, 50)) return true;
    }
    return false;
}

TEST(state_lands_at_the_resource_key)
{
    for (int fast = 0; fast < 2; fast++) {
        cp_runner_config cfg = s3_config();
        char cache[PATH_MAX];
        snprintf(cache, sizeof cache, "%s/initcache", eu_tmp);
        if (fast) {
            cfg.fast_apply = true;
            cfg.init_cache_dir = cache;
        }
        char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
        eu_new_id(rid);
        eu_new_id(run_id);
        json_t *tv = vm_tfvars(rid, 0), *out = NULL;
        cp_error e;
        eu_events ev;
        eu_events_init(&ev);
        cp_runner_spec cs = spec_for(run_id, rid, tv, &ev);
        cp_result r = cp_runner_run(&cfg, &cs, CP_RUN_APPLY, NULL, &out, NULL, &e);
        if (r != CP_OK) fprintf(stderr, "  create (fast=%d): %s\n", fast, e.message);
        CHECK_EQ(r, CP_OK);
        CHECK(out && strncmp(json_string_value(json_object_get(out, "id")), "sbx-i-", 6) == 0);
        json_decref(out);

        char path[512], *body = malloc(1 << 20);
        snprintf(path, sizeof path, "/%s/%s/%s/terraform.tfstate", cfg.state.s3_bucket, prefix, rid);
        CHECK_EQ(http_get(path, body, 1 << 20), 200);
        CHECK(strstr(body, "sandbox_instance") != NULL && strstr(body, rid) != NULL);
        /* The backend's secret is in no state object (it only ever was in a memfd). */
        CHECK(strstr(body, "test-state-secret") == NULL);

        r = run_op(&cfg, rid, tv, CP_RUN_DESTROY, NULL, &e);
        if (r != CP_OK) {
            char *all = eu_dump(&ev);
            fprintf(stderr, "  destroy: %s\n  create's events: %s\n", e.message, all);
            free(all);
        }
        eu_events_free(&ev);
        CHECK_EQ(r, CP_OK);
        CHECK_EQ(http_get(path, body, 1 << 20), 200);
        json_t *st = json_loads(strstr(body, "\r\n\r\n") ? strstr(body, "\r\n\r\n") + 4 : "", 0, NULL);
        CHECK(st && json_array_size(json_object_get(st, "resources")) == 0);
        json_decref(st);
        free(body);
        json_decref(tv);
    }
}

TEST(second_run_is_refused_naming_the_holder)
{
    cp_runner_config cfg = s3_config();
    char rid[CP_ID_LEN + 1], run_a[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_a);
    json_t *slow = vm_tfvars(rid, 20), *fast = vm_tfvars(rid, 0);
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = spec_for(run_a, rid, slow, &ev);
    bg_apply b;
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &s, &b.h, &e), CP_OK);
    pthread_t t;
    pthread_create(&t, NULL, bg_apply_main, &b);
    CHECK(wait_holding(&ev, 20000));
    fprintf(stderr, "  run A holds lock %s\n", ev.lock_id[0] ? ev.lock_id : "(id not probed)");

    cp_result r = run_op(&cfg, rid, fast, CP_RUN_APPLY, NULL, &e);
    fprintf(stderr, "  run B: %s\n", e.message);
    CHECK_EQ(r, CP_ECONFLICT);
    CHECK_STR(e.code, "state_locked");
    CHECK_EQ(e.reason, CP_REASON_STATE_LOCKED);
    CHECK(strstr(e.message, ev.lock_id) != NULL);
    /* In bubblewrap no probe ran (no lock event): the holder names the run. */
    CHECK(cp_sandbox_available() == !ev.locked);
    if (cp_sandbox_available()) {
        char holder[64];
        snprintf(holder, sizeof holder, "@cp-%s", run_a);
        CHECK(strstr(e.message, holder) != NULL);
    }
    cp_runner_cancel(b.h);
    pthread_join(t, NULL);
    CHECK_STR(b.err.code, "canceled");
    CHECK_EQ(b.err.reason, CP_REASON_CANCELED);
    cp_runner_close(b.h);
    /* A graceful cancel releases the lock. */
    r = run_op(&cfg, rid, fast, CP_RUN_DESTROY, NULL, &e);
    if (r != CP_OK) fprintf(stderr, "  destroy: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_decref(slow);
    json_decref(fast);
    eu_events_free(&ev);
}

/* bwrap: tofu in bubblewrap, where the runner records no lock id (nothing
 * probes for it) and the dead run's lock is freed by its holder, as the
 * reaper does (cp_runner_free_lock_of); else the recorded id frees it. */
static void killed_run(bool lockfile, bool bwrap)
{
    cp_runner_config cfg = s3_config();
    cfg.use_bwrap = bwrap;
    if (lockfile) {
        /* The S3-native lock object instead of DynamoDB. */
        cfg.state.s3_dynamodb_table = NULL;
        cfg.state.s3_use_lockfile = true;
    }
    char rid[CP_ID_LEN + 1], run_c[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_c);
    json_t *slow = vm_tfvars(rid, 30), *fast = vm_tfvars(rid, 0);
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = spec_for(run_c, rid, slow, &ev);
    bg_apply b;
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &s, &b.h, &e), CP_OK);
    pthread_t t;
    pthread_create(&t, NULL, bg_apply_main, &b);
    CHECK(bwrap ? wait_holding(&ev, 20000) : wait_lock(&ev, 20000));
    CHECK(ev.locked == !bwrap); /* a probe ran only outside bubblewrap */
    char recorded[40];
    snprintf(recorded, sizeof recorded, "%s", ev.lock_id);
    /* The worker dies: its whole process group goes at once, no graceful stop. */
    pid_t pg = cp_runner_pid(b.h);
    CHECK(pg > 0);
    if (pg > 0) kill(-pg, SIGKILL);
    pthread_join(t, NULL);
    CHECK(b.rc != CP_OK);
    cp_runner_close(b.h);

    /* Its lock stays behind and blocks the next run. */
    cp_result r = run_op(&cfg, rid, fast, CP_RUN_APPLY, NULL, &e);
    CHECK_EQ(r, CP_ECONFLICT);
    CHECK(strstr(e.message, recorded) != NULL);
    if (bwrap) {
        /* Another run's name frees nothing; the dead run's frees its lock. */
        char run_u[CP_ID_LEN + 1], other[CP_ID_LEN + 1];
        bool freed = true;
        eu_new_id(run_u);
        eu_new_id(other);
        cp_runner_spec us = spec_for(run_u, rid, NULL, NULL);
        CHECK_EQ(cp_runner_free_lock_of(&cfg, &us, other, &freed, &e), CP_OK);
        CHECK(!freed);
        eu_new_id(run_u);
        us = spec_for(run_u, rid, NULL, NULL);
        r = cp_runner_free_lock_of(&cfg, &us, run_c, &freed, &e);
        if (r != CP_OK) fprintf(stderr, "  free by holder: %s\n", e.message);
        CHECK_EQ(r, CP_OK);
        CHECK(freed);
        CHECK_EQ(run_op(&cfg, rid, fast, CP_RUN_DESTROY, NULL, &e), CP_OK);
        json_decref(slow);
        json_decref(fast);
        eu_events_free(&ev);
        return;
    }

    /* A wrong id frees nothing. */
    char run_u[CP_ID_LEN + 1];
    eu_new_id(run_u);
    cp_runner_spec us = spec_for(run_u, rid, NULL, NULL);
    r = cp_runner_force_unlock(&cfg, &us, "11111111-2222-3333-4444-555555555555", &e);
    CHECK_EQ(r, CP_ECONFLICT);
    CHECK_EQ(cp_runner_force_unlock(&cfg, &us, "--help", &e), CP_EINVAL);
    r = run_op(&cfg, rid, fast, CP_RUN_APPLY, NULL, &e);
    CHECK_EQ(r, CP_ECONFLICT);

    /* The recorded id frees it, and the resource works again. */
    eu_new_id(run_u);
    us = spec_for(run_u, rid, NULL, NULL);
    r = cp_runner_force_unlock(&cfg, &us, recorded, &e);
    if (r != CP_OK) fprintf(stderr, "  force-unlock: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_t *out = NULL;
    r = run_op(&cfg, rid, fast, CP_RUN_APPLY, &out, &e);
    if (r != CP_OK) fprintf(stderr, "  run after unlock: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_decref(out);
    /* Unlocking an already free state is fine. */
    eu_new_id(run_u);
    us = spec_for(run_u, rid, NULL, NULL);
    CHECK_EQ(cp_runner_force_unlock(&cfg, &us, recorded, &e), CP_OK);
    CHECK_EQ(run_op(&cfg, rid, fast, CP_RUN_DESTROY, NULL, &e), CP_OK);
    json_decref(slow);
    json_decref(fast);
    eu_events_free(&ev);
}

TEST(killed_run_lock_is_freed_with_the_recorded_id)
{
    killed_run(false, false);
}

TEST(killed_run_lockfile_is_freed_with_the_recorded_id)
{
    killed_run(true, false);
}

TEST(killed_sandboxed_run_lock_is_freed_by_its_holder)
{
    killed_run(false, true);
}

/* A lock nobody will release, on a workspace that does not exist yet: what a
 * worker that died inside tofu's "create the workspace" step leaves behind.
 * Written as tofu writes it (Go's field order, compact): tofu deletes a lock
 * only if the stored text equals its own re-encoding. */
static bool put_lock(const cp_runner_config *cfg, const char *rid, const char *id, const char *who)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "python3 -c 'import boto3,json,sys; u,t,b,k,i=sys.argv[1:6]; "
             "d=boto3.client(\"dynamodb\",endpoint_url=u,aws_access_key_id=\"test\",aws_secret_access_key=\"test\","
             "region_name=\"us-east-1\"); "
             "info=json.dumps({\"ID\":i,\"Operation\":\"init\",\"Info\":\"\",\"Who\":sys.argv[6],"
             "\"Version\":\"" CP_TOFU_VERSION
             "\",\"Created\":\"2026-01-01T00:00:00Z\",\"Path\":b+\"/\"+k},separators=(\",\",\":\")); "
             "d.put_item(TableName=t,Item={\"LockID\":{\"S\":b+\"/\"+k},\"Info\":{\"S\":info}})' "
             "%s %s %s %s/%s/terraform.tfstate %s %s",
             moto_url, cfg->state.s3_dynamodb_table, cfg->state.s3_bucket, prefix, rid, id, who);
    return system(cmd) == 0;
}

static bool put_stray_lock(const cp_runner_config *cfg, const char *rid, const char *id)
{
    return put_lock(cfg, rid, id, "root@elsewhere");
}

/* A run that died before its lock id was recorded: its lock is freed only
 * because the holder is its own sandbox host; another run's name frees nothing. */
TEST(dead_run_lock_without_recorded_id_is_freed_by_holder)
{
    cp_runner_config cfg = s3_config();
    char rid[CP_ID_LEN + 1], dead[CP_ID_LEN + 1], other[CP_ID_LEN + 1], run_u[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(dead);
    eu_new_id(other);
    char who[128];
    snprintf(who, sizeof who, "root@cp-%s-0a1b2c3d", dead);
    const char *id = "0badc0de-aaaa-bbbb-cccc-444455556666";
    CHECK(put_lock(&cfg, rid, id, who));
    cp_error e;
    bool freed = true;
    eu_new_id(run_u);
    cp_runner_spec us = spec_for(run_u, rid, NULL, NULL);
    CHECK_EQ(cp_runner_free_lock_of(&cfg, &us, other, &freed, &e), CP_OK);
    CHECK(!freed);
    json_t *tv = vm_tfvars(rid, 0);
    CHECK_EQ(run_op(&cfg, rid, tv, CP_RUN_APPLY, NULL, &e), CP_ECONFLICT);
    eu_new_id(run_u);
    us = spec_for(run_u, rid, NULL, NULL);
    CHECK_EQ(cp_runner_free_lock_of(&cfg, &us, dead, &freed, &e), CP_OK);
    CHECK(freed);
    json_t *out = NULL;
    cp_result r = run_op(&cfg, rid, tv, CP_RUN_APPLY, &out, &e);
    if (r != CP_OK) fprintf(stderr, "  run after unlock: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_decref(out);
    r = run_op(&cfg, rid, tv, CP_RUN_DESTROY, NULL, &e);
    if (r != CP_OK) fprintf(stderr, "  destroy: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_decref(tv);
}

TEST(lock_on_a_workspace_not_created_yet_is_freed)
{
    cp_runner_config cfg = s3_config();
    char rid[CP_ID_LEN + 1];
    eu_new_id(rid);
    const char *id = "0badc0de-1111-2222-3333-444455556666";
    CHECK(put_stray_lock(&cfg, rid, id));
    json_t *tv = vm_tfvars(rid, 0);
    cp_error e;
    cp_result r = run_op(&cfg, rid, tv, CP_RUN_APPLY, NULL, &e);
    fprintf(stderr, "  blocked: %s\n", e.message);
    CHECK_EQ(r, CP_ECONFLICT);
    CHECK(strstr(e.message, "root@elsewhere") != NULL && strstr(e.message, id) != NULL);
    char run_u[CP_ID_LEN + 1];
    eu_new_id(run_u);
    cp_runner_spec us = spec_for(run_u, rid, NULL, NULL);
    r = cp_runner_force_unlock(&cfg, &us, id, &e);
    if (r != CP_OK) fprintf(stderr, "  force-unlock: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_t *out = NULL;
    r = run_op(&cfg, rid, tv, CP_RUN_APPLY, &out, &e);
    if (r != CP_OK) fprintf(stderr, "  run after unlock: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_decref(out);
    r = run_op(&cfg, rid, tv, CP_RUN_DESTROY, NULL, &e);
    if (r != CP_OK) fprintf(stderr, "  destroy: %s\n", e.message);
    CHECK_EQ(r, CP_OK);
    json_decref(tv);
}

int main(void)
{
    /* Every case needs both: without them all are skipped and test.h exits 77. */
    const char *why = NULL;
    moto_url = getenv("CP_TEST_MOTO_URL");
    if (!moto_url || !*moto_url)
        why = "CP_TEST_MOTO_URL not set (start moto with scripts/services.sh)";
    else if (!eu_find_tofu())
        why = "OpenTofu not found (set CP_TOFU or run scripts/install-tofu.sh)";
    bool ok = why == NULL;
    signal(SIGPIPE, SIG_IGN);
    if (ok) eu_setup("engine-s3");
    if (ok && !eu_sandbox_start()) {
        ok = false;
        why = "the sandbox cloud did not start (CP_BINARY)";
    }
    char rnd[9];
    cp_rand_hex(rnd, 4);
    snprintf(prefix, sizeof prefix, "cp-test-%s", rnd);
    RUN_IF(ok, why, state_lands_at_the_resource_key);
    RUN_IF(ok, why, second_run_is_refused_naming_the_holder);
    RUN_IF(ok, why, killed_run_lock_is_freed_with_the_recorded_id);
    RUN_IF(ok, why, killed_run_lockfile_is_freed_with_the_recorded_id);
    RUN_IF(ok && cp_sandbox_available(), why ? why : "bubblewrap unavailable",
           killed_sandboxed_run_lock_is_freed_by_its_holder);
    RUN_IF(ok, why, lock_on_a_workspace_not_created_yet_is_freed);
    RUN_IF(ok, why, dead_run_lock_without_recorded_id_is_freed_by_holder);
    eu_sandbox_stop();
    if (ok) eu_teardown();
    TEST_END();
}
