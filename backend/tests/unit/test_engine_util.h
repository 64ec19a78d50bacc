/* test_engine_util.h: shared helpers for the engine tests that run real
 * OpenTofu: finding the binary, a scratch dir, event capture, files. */
#ifndef CP_TEST_ENGINE_UTIL_H
#define CP_TEST_ENGINE_UTIL_H

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ids.h"
#include "engine/provider_mirror.h"
#include "engine/runner.h"
#include "engine/workspace.h"

static char eu_tofu[PATH_MAX];
static char eu_repo[1024];
static char eu_tmp[256];

/* Finds tofu (CP_TOFU, else the pinned cache); false when there is none. */
static inline bool eu_find_tofu(void)
{
    const char *t = getenv("CP_TOFU");
    if (t && *t)
        snprintf(eu_tofu, sizeof eu_tofu, "%s", t);
    else
        snprintf(eu_tofu, sizeof eu_tofu, "%s/.cache/cloudplane/tofu/" CP_TOFU_VERSION "/tofu",
                 getenv("HOME") ? getenv("HOME") : "/root");
    return access(eu_tofu, X_OK) == 0;
}

static inline void eu_setup(const char *name)
{
    const char *repo = getenv("CP_REPO_DIR");
    char abs[PATH_MAX];
    if (repo && realpath(repo, abs)) {
        snprintf(eu_repo, sizeof eu_repo, "%.1000s", abs);
    } else {
        /* Run by hand: the repo is four levels above this header. */
        snprintf(eu_repo, sizeof eu_repo, "%.1000s", __FILE__);
        for (int i = 0; i < 4; i++) {
            char *slash = strrchr(eu_repo, '/');
            if (slash) *slash = '\0';
        }
    }
    snprintf(eu_tmp, sizeof eu_tmp, "/tmp/cp-%s-XXXXXX", name);
    if (!mkdtemp(eu_tmp)) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline void eu_teardown(void)
{
    /* Best effort: a leftover temp dir fails no test. */
    if (!getenv("CP_TEST_KEEP")) CP_IGNORE(cp_workspace_remove(eu_tmp));
}

static inline void eu_new_id(char out[CP_ID_LEN + 1])
{
    cp_id_new(out);
}

/* ---- the sandbox cloud: `cloudplane serve` (CP_BINARY) on a free loopback
 * port with its own data dir under the scratch dir, and a key from
 * `cloudplane admin sandbox-key`. The sandbox modules' provider talks to it. */
static pid_t eu_sbx_pid = -1;
static int eu_sbx_out = -1;               /* serve's stdout, open while it runs (a closed pipe would be a SIGPIPE) */
static char eu_sbx_endpoint[128] = "";    /* "SANDBOX_ENDPOINT=http://127.0.0.1:N" (extra_env) */
static char eu_sbx_key[160] = "";         /* "SANDBOX_API_KEY=sbx_..." (the spec's env) */
static const char *eu_sbx_extra[2] = {0}; /* {eu_sbx_endpoint, NULL} once started */
static const char *eu_sbx_env[2] = {0};   /* {eu_sbx_key, NULL} once started */

/* Runs `CP_BINARY args...` with env, stdout to a pipe and stderr to log;
 * returns the pid and the pipe's read end in *out_fd, or -1. */
static inline pid_t eu_spawn(char *const argv[], char *const envp[], const char *log, int *out_fd)
{
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* a crashed test leaves no server behind */
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) dup2(fd, 2);
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    *out_fd = p[0];
    return pid;
}

/* Reads up to cap-1 bytes of fd's first line (without the newline). */
static inline bool eu_read_line(int fd, char *out, size_t cap)
{
    size_t n = 0;
    char c;
    while (n + 1 < cap && read(fd, &c, 1) == 1 && c != '\n') out[n++] = c;
    out[n] = '\0';
    return n > 0;
}

/* Starts the sandbox cloud; false (with a note) when CP_BINARY is not set or it fails. */
static inline bool eu_sandbox_start(void)
{
    const char *bin = getenv("CP_BINARY");
    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "  no cloudplane binary (CP_BINARY) for the sandbox cloud\n");
        return false;
    }
    static char binp[PATH_MAX], data[PATH_MAX], web[PATH_MAX + 8], log[PATH_MAX + 8], home[PATH_MAX + 8];
    snprintf(binp, sizeof binp, "%s", bin);
    snprintf(data, sizeof data, "%.200s/sandbox-cloud", eu_tmp);
    snprintf(web, sizeof web, "%s/no-web", data);
    snprintf(log, sizeof log, "%s.log", data);
    snprintf(home, sizeof home, "HOME=%s", data);
    if (mkdir(data, 0700) != 0) return false;
    char *envp[8] = {"PATH=/usr/bin:/bin", home, NULL};
    int ne = 2;
    static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
    static char passed[3][512];
    for (size_t i = 0; i < 3; i++)
        if (getenv(pass[i])) {
            snprintf(passed[i], sizeof passed[i], "%s=%s", pass[i], getenv(pass[i]));
            envp[ne++] = passed[i];
        }
    envp[ne] = NULL;
    char *serve[] = {binp, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--web-dir", web, NULL};
    int fd;
    eu_sbx_pid = eu_spawn(serve, envp, log, &fd);
    char line[512], *url;
    if (eu_sbx_pid < 0) return false;
    /* Its first stdout line names its URL ("... http://127.0.0.1:N/ ..."). */
    bool ok = eu_read_line(fd, line, sizeof line) && (url = strstr(line, "http://")) != NULL;
    eu_sbx_out = fd;
    if (ok) {
        size_t n = 7 + strcspn(url + 7, "/ \t");
        snprintf(eu_sbx_endpoint, sizeof eu_sbx_endpoint, "SANDBOX_ENDPOINT=%.*s", (int)n, url);
    }
    char *keycmd[] = {binp, "admin", "sandbox-key", "--data-dir", data, NULL};
    int kfd, st = 0;
    pid_t kp = ok ? eu_spawn(keycmd, envp, log, &kfd) : -1;
    char key[128] = "";
    if (kp > 0) {
        ok = eu_read_line(kfd, key, sizeof key) && strncmp(key, "sbx_", 4) == 0;
        close(kfd);
        ok = waitpid(kp, &st, 0) == kp && WIFEXITED(st) && WEXITSTATUS(st) == 0 && ok;
    } else {
        ok = false;
    }
    if (!ok) {
        fprintf(stderr, "  the sandbox cloud did not start (see %s)\n", log);
        return false;
    }
    snprintf(eu_sbx_key, sizeof eu_sbx_key, "SANDBOX_API_KEY=%s", key);
    eu_sbx_extra[0] = eu_sbx_endpoint;
    eu_sbx_env[0] = eu_sbx_key;
    return true;
}

static inline void eu_sandbox_stop(void)
{
    if (eu_sbx_pid <= 0) return;
    kill(eu_sbx_pid, SIGTERM);
    if (eu_sbx_out >= 0) close(eu_sbx_out);
    eu_sbx_out = -1;
    int st;
    /* Its exit status does not matter to the tests it served. */
    (void)waitpid(eu_sbx_pid, &st, 0);
    eu_sbx_pid = -1;
}

/* The spec env that gives a sandbox run its key (NULL before eu_sandbox_start). */
static inline const char *const *eu_sandbox_env(void)
{
    return eu_sbx_env[0] ? eu_sbx_env : NULL;
}

/* A runner config over the scratch dir with local state; providers from the
 * mirror (CLOUDPLANE_PROVIDER_MIRROR, else the default one) and, once
 * started, the sandbox cloud's endpoint. */
static inline cp_runner_config eu_config(void)
{
    static char mirror_dir[PATH_MAX];
    const char *m = getenv("CLOUDPLANE_PROVIDER_MIRROR");
    if (m && *m)
        snprintf(mirror_dir, sizeof mirror_dir, "%s", m);
    else if (!cp_provider_default_mirror(mirror_dir, sizeof mirror_dir))
        mirror_dir[0] = '\0';
    static char modules[PATH_MAX], runs[PATH_MAX], state[PATH_MAX];
    snprintf(modules, sizeof modules, "%s/terraform/modules", eu_repo);
    snprintf(runs, sizeof runs, "%s/runs", eu_tmp);
    snprintf(state, sizeof state, "%s/state", eu_tmp);
    cp_runner_config c;
    memset(&c, 0, sizeof c);
    c.tofu = eu_tofu;
    c.modules_dir = modules;
    c.runs_dir = runs;
    c.state.kind = CP_STATE_LOCAL;
    c.state.local_dir = state;
    c.use_bwrap = true;
    c.phase_timeout_s = 120;
    c.cancel_grace_s = 10;
    c.lock_timeout_s = 0;
    c.provider_mirror = mirror_dir[0] ? mirror_dir : NULL;
    c.extra_env = eu_sbx_extra[0] ? eu_sbx_extra : NULL;
    return c;
}

/* ---- event capture (thread-safe: a cancel test reads it from another thread) */
typedef struct {
    pthread_mutex_t mu;
    json_t *events; /* array of cp_tfev_to_json */
    char lock_id[40];
    bool locked;
} eu_events;

static inline void eu_events_init(eu_events *e)
{
    pthread_mutex_init(&e->mu, NULL);
    e->events = json_array();
    e->lock_id[0] = '\0';
    e->locked = false;
}

static inline void eu_events_free(eu_events *e)
{
    json_decref(e->events);
    pthread_mutex_destroy(&e->mu);
}

static inline void eu_on_event(void *ctx, const cp_tfev *ev)
{
    eu_events *e = ctx;
    json_t *j = cp_tfev_to_json(ev);
    pthread_mutex_lock(&e->mu);
    json_array_append_new(e->events, j);
    if (ev->type == CP_TFEV_LOCK && ev->lock_id) {
        snprintf(e->lock_id, sizeof e->lock_id, "%s", ev->lock_id);
        e->locked = true;
    }
    pthread_mutex_unlock(&e->mu);
    if (getenv("CP_TEST_VERBOSE")) {
        char *s = json_dumps(j, JSON_COMPACT);
        fprintf(stderr, "    ev %s\n", s);
        free(s);
    }
}

static inline size_t eu_count(eu_events *e, const char *type)
{
    size_t n = 0, i;
    json_t *v;
    pthread_mutex_lock(&e->mu);
    json_array_foreach(e->events, i, v) n += strcmp(json_string_value(json_object_get(v, "type")), type) == 0;
    pthread_mutex_unlock(&e->mu);
    return n;
}

/* All events as one text, for "never contains" checks. Caller frees. */
static inline char *eu_dump(eu_events *e)
{
    pthread_mutex_lock(&e->mu);
    char *s = json_dumps(e->events, JSON_COMPACT);
    pthread_mutex_unlock(&e->mu);
    return s;
}

static inline bool eu_contains(eu_events *e, const char *needle)
{
    char *s = eu_dump(e);
    bool hit = strstr(s, needle) != NULL;
    free(s);
    return hit;
}

static inline bool eu_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static inline char *eu_read(const char *path)
{
    char *data = NULL;
    if (cp_workspace_read(path, 64 << 20, &data, NULL, NULL) != CP_OK) return NULL;
    return data;
}

static inline void eu_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#endif
