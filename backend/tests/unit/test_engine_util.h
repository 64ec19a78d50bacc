/* test_engine_util.h: shared helpers for the engine tests that run real
 * OpenTofu: finding the binary, a scratch dir, event capture, files. */
#ifndef CP_TEST_ENGINE_UTIL_H
#define CP_TEST_ENGINE_UTIL_H

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.h"
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

/* A runner config over the scratch dir with local state. */
static inline cp_runner_config eu_config(void)
{
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
