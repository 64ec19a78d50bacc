/* Provider installation (runner_config.c, init_cache.c, provider_mirror.c):
 * the CLI config (mirror kinds, direct only when allowed), the operator's
 * non-secret env, and with real OpenTofu and the cloudplane/sandbox provider
 * from the default mirror: one copy in the shared plugin cache, later inits
 * using it, and the cache read-only to run processes in bubblewrap. */
#include <dirent.h>
#include <glob.h>
#include <signal.h>

#include "core/secretfile.h"
#include "engine/provider_mirror.h"
#include "engine/runner_int.h"
#include "engine/sandbox.h"
#include "test.h"
#include "test_engine_util.h"

static char mirror[PATH_MAX];

/* The CLI config a handle with cfg would write. */
static char *cli_of(const cp_runner_config *cfg)
{
    cp_runner r;
    memset(&r, 0, sizeof r);
    r.cfg = *cfg;
    json_t *j = cp_runner__cli_json(&r);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

TEST(cli_config_installs_only_from_where_the_operator_allows)
{
    cp_runner_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char *s = cli_of(&cfg);
    /* Never tofu's implicit direct: an explicit, empty installation block. */
    CHECK_STR(s, "{\"disable_checkpoint\":true,\"provider_installation\":[{}]}");
    free(s);
    cfg.plugin_cache_dir = "/var/cache/plugins";
    cfg.provider_mirror = "/srv/mirror";
    s = cli_of(&cfg);
    CHECK_STR(s, "{\"disable_checkpoint\":true,\"plugin_cache_dir\":\"/var/cache/plugins\",\"provider_installation\":"
                 "[{\"filesystem_mirror\":[{\"path\":\"/srv/mirror\"}]}]}");
    free(s);
    cfg.provider_mirror = "https://mirror.example.com/providers/";
    cfg.provider_direct = true;
    s = cli_of(&cfg);
    CHECK(strstr(s, "\"network_mirror\":[{\"url\":\"https://mirror.example.com/providers/\"}]") != NULL);
    CHECK(strstr(s, "\"direct\":[{}]") != NULL);
    CHECK(strstr(s, "filesystem_mirror") == NULL);
    free(s);
}

TEST(extra_env_refuses_what_it_must_not_carry)
{
    static const char *const bad[][2] = {{"TF_LOG=trace", NULL},           {"PATH=/tmp", NULL}, {"HOME=/", NULL},
                                         {"SANDBOX_API_KEY=x", NULL},      {"lower=x", NULL},   {"NOEQUALS", NULL},
                                         {"AWS_SECRET_ACCESS_KEY=x", NULL}};
    cp_runner_config cfg = eu_config();
    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    cp_runner_spec s = {.run_id = run_id, .resource_id = rid, .module = "sandbox_vm"};
    uint64_t spawned = cp_proc_spawned();
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        cfg.extra_env = bad[i];
        cp_runner *h = NULL;
        cp_error e;
        cp_result rc = cp_runner_open(&cfg, &s, &h, &e);
        if (rc == CP_OK) cp_runner_close(h);
        CHECK_EQ(rc, CP_EINVAL);
        CHECK_STR(e.code, "bad_config");
    }
    CHECK_EQ(cp_proc_spawned(), spawned);
    cfg.extra_env = NULL;
    cfg.provider_mirror = "relative/mirror";
    cp_runner *h = NULL;
    cp_error e;
    CHECK_EQ(cp_runner_open(&cfg, &s, &h, &e), CP_EINVAL);
}

/* A module that needs cloudplane/sandbox (installed, never configured: no
 * resource of it) and whose one resource writes into $PROBE_DIR. */
#define PROBE_MODULE                                                                                                   \
    "terraform {\n"                                                                                                    \
    "  required_providers {\n"                                                                                         \
    "    sandbox = { source = \"cloudplane/sandbox\" }\n"                                                              \
    "  }\n"                                                                                                            \
    "}\n"                                                                                                              \
    "resource \"terraform_data\" \"probe\" {\n"                                                                        \
    "  provisioner \"local-exec\" {\n"                                                                                 \
    "    command = \"echo endpoint=$SANDBOX_ENDPOINT; touch \\\"$PROBE_DIR/written-by-a-run\\\"\"\n"                   \
    "  }\n"                                                                                                            \
    "}\n"

/* Provider packages in the cache: <host>/<ns>/<type>/<version>/<platform>
 * entries (a dir, or a link into an unpacked mirror), not tofu's .lock files. */
static int cache_entries(const char *cache)
{
    char pat[PATH_MAX + 16];
    snprintf(pat, sizeof pat, "%s/*/*/*/*/*", cache);
    glob_t g;
    int n = 0;
    if (glob(pat, 0, NULL, &g) != 0) return 0;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        size_t l = strlen(g.gl_pathv[i]);
        n += !(l > 5 && strcmp(g.gl_pathv[i] + l - 5, ".lock") == 0);
    }
    globfree(&g);
    return n;
}

/* The module's .terraform.lock.hcl from the mirror, as a module ships it. */
static bool lock_module(const char *dir)
{
    char *argv[] = {eu_tofu, "providers", "lock", "-fs-mirror", mirror, "-platform=linux_amd64", NULL};
    char home[PATH_MAX + 8];
    snprintf(home, sizeof home, "HOME=%s", eu_tmp);
    char *envp[] = {"PATH=/usr/bin:/bin", home, NULL};
    cp_proc_spec spec = {.path = eu_tofu, .argv = argv, .envp = envp, .cwd = dir, .pass_fd = -1, .timeout_ms = 60000};
    cp_proc_result res;
    return cp_proc_run(&spec, &res, NULL) == CP_OK && res.exit_code == 0;
}

TEST(provider_comes_from_the_mirror_once_and_runs_only_read_the_cache)
{
    char modules[PATH_MAX], mod[PATH_MAX + 16], cache[PATH_MAX], inits[PATH_MAX], env_dir[PATH_MAX + 32];
    snprintf(modules, sizeof modules, "%s/modules", eu_tmp);
    snprintf(mod, sizeof mod, "%s/sandbox_vm", modules);
    snprintf(cache, sizeof cache, "%s/plugin-cache", eu_tmp);
    snprintf(inits, sizeof inits, "%s/init-cache", eu_tmp);
    CHECK_EQ(cp_mkdirs(mod, 0700, NULL), CP_OK);
    CHECK_EQ(cp_workspace_write(mod, "main.tf", PROBE_MODULE, strlen(PROBE_MODULE), NULL), CP_OK);
    /* Without a lock file's hashes tofu cannot trust a cache entry and installs again. */
    CHECK(lock_module(mod));
    cp_runner_config cfg = eu_config();
    cfg.modules_dir = modules;
    cfg.plugin_cache_dir = cache;
    cfg.provider_mirror = mirror;
    cfg.init_cache_dir = inits;
    snprintf(env_dir, sizeof env_dir, "PROBE_DIR=%s", cache);
    const char *extra[] = {"SANDBOX_ENDPOINT=http://127.0.0.1:9/sandbox-endpoint-in-clear", env_dir, NULL};
    cfg.extra_env = extra;

    char rid[CP_ID_LEN + 1], run_id[CP_ID_LEN + 1];
    eu_new_id(rid);
    eu_new_id(run_id);
    eu_events ev;
    eu_events_init(&ev);
    cp_runner_spec s = {
        .run_id = run_id, .resource_id = rid, .module = "sandbox_vm", .on_event = eu_on_event, .ctx = &ev};
    cp_error e;
    cp_result rc = cp_runner_run(&cfg, &s, CP_RUN_APPLY, NULL, NULL, NULL, &e);
    /* The cold init installed it from the mirror into the cache: one file. */
    CHECK(eu_contains(&ev, "Installing cloudplane/sandbox"));
    CHECK_EQ(cache_entries(cache), 1);
    CHECK(eu_contains(&ev, "sandbox-endpoint-in-clear")); /* the operator's env reaches tofu's children, unredacted */
    char written[PATH_MAX + 32];
    snprintf(written, sizeof written, "%s/written-by-a-run", cache);
    if (cp_sandbox_available()) {
        /* In bubblewrap the apply could not write the cache. */
        CHECK(rc != CP_OK);
        CHECK(eu_contains(&ev, "Read-only file system"));
        CHECK(!eu_exists(written));
    } else {
        fprintf(stderr, "  no bubblewrap: the cache is writable to runs (%s)\n", rc == CP_OK ? "apply ok" : e.message);
    }
    eu_events_free(&ev);

    /* A new shared init (another backend: a new init-cache dir) uses the cache, fetching nothing. */
    char inits2[PATH_MAX + 8];
    snprintf(inits2, sizeof inits2, "%s2", inits);
    cfg.init_cache_dir = inits2;
    eu_events_init(&ev);
    eu_new_id(run_id);
    s.run_id = run_id;
    s.ctx = &ev;
    CHECK(cp_runner_run(&cfg, &s, CP_RUN_APPLY, NULL, NULL, NULL, &e) == rc);
    CHECK(eu_contains(&ev, "Using cloudplane/sandbox v0.2.0 from the shared cache directory"));
    CHECK(!eu_contains(&ev, "Installing cloudplane/sandbox"));
    CHECK_EQ(cache_entries(cache), 1);
    eu_events_free(&ev);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    eu_setup("engine-providers");
    RUN(cli_config_installs_only_from_where_the_operator_allows);
    RUN(extra_env_refuses_what_it_must_not_carry);
    bool have_tofu = eu_find_tofu();
    bool have_mirror = cp_provider_default_mirror(mirror, sizeof mirror);
    RUN_IF(have_tofu && have_mirror, "needs tofu and the sandbox provider mirror (scripts/install-provider.sh)",
           provider_comes_from_the_mirror_once_and_runs_only_read_the_cache);
    eu_teardown();
    TEST_END();
}
