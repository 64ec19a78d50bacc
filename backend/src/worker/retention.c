/* retention.c: the scheduler's retention task. Each sweep prunes, by the
 * retention settings, the event logs of runs that finished long ago (with
 * old notifications and superseded drift reports), old audit rows, and the
 * run dirs a crash left in this process's runs dir. Runs themselves stay
 * (history and costs are product data), and an unfinished run keeps its
 * events and its dir whatever their age. Deletes go a bounded batch per
 * transaction and a bounded number of rows per table per sweep, so no sweep
 * holds a long transaction and a backlog drains over several sweeps; several
 * processes may sweep at once (store_retention.c says how they share). */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "engine/workspace.h"
#include "store/db.h"
#include "worker/worker_int.h"
#include "store/store_ops.h"

#define PRUNE_BATCH 1000       /* rows per transaction */
#define PRUNE_SWEEP_ROWS 20000 /* rows per table per sweep */
#define PRUNE_SWEEP_TX 40      /* transactions per table per sweep (runs without events delete no rows) */
#define DIRS_PER_SWEEP 1000    /* old run dirs looked up in the store per sweep */

/* Deletes up to PRUNE_SWEEP_ROWS rows of what older than cutoff; how many. */
static int64_t prune(cp_workers *w, cp_prune_what what, int64_t cutoff, int64_t now)
{
    int64_t total = 0;
    bool more = true;
    for (int tx = 0; more && total < PRUNE_SWEEP_ROWS && tx < PRUNE_SWEEP_TX; tx++) {
        int64_t n = 0;
        cp_error e;
        int limit = (int)(PRUNE_SWEEP_ROWS - total < PRUNE_BATCH ? PRUNE_SWEEP_ROWS - total : PRUNE_BATCH);
        if (cp_store_retention_prune(w->app->store, what, cutoff, now, limit, &n, &more, &e) != CP_OK) {
            cp_log_warn("retention: pruning %s failed (the next sweep retries): %s", cp_prune_name(what), e.message);
            break;
        }
        total += n;
    }
    return total;
}

static bool running_here(cp_workers *w, const char *run_id)
{
    bool found = false;
    pthread_mutex_lock(&w->mu);
    for (job *j = w->running; j && !found; j = j->next) found = j->run.id && !strcmp(j->run.id, run_id);
    pthread_mutex_unlock(&w->mu);
    return found;
}

/* A dir written since the cutoff cannot belong to a run that ended before
 * it, so only older dirs cost a store lookup. */
int64_t cp_worker__prune_run_dirs(cp_workers *w, int64_t cutoff)
{
    DIR *d = opendir(w->runs_dir);
    if (!d) return 0;
    cp_arena *a = cp_arena_new(4096);
    int64_t removed = 0;
    int looked = 0;
    struct dirent *de;
    while ((de = readdir(d)) && looked < DIRS_PER_SWEEP) {
        char id[CP_ID_LEN + 1], path[PATH_MAX * 2];
        if (strlen(de->d_name) <= CP_ID_LEN || de->d_name[CP_ID_LEN] != '.') continue;
        memcpy(id, de->d_name, CP_ID_LEN);
        id[CP_ID_LEN] = '\0';
        if (!cp_id_valid(id)) continue;
        snprintf(path, sizeof path, "%s/%s", w->runs_dir, de->d_name);
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if ((int64_t)st.st_mtime * 1000 >= cutoff) continue;
        looked++;
        cp_run run;
        cp_error e;
        cp_result r = cp_store_run_get(w->app->store, a, id, &run, &e);
        bool old = r == CP_ENOTFOUND || (r == CP_OK && cp_run_status_is_final(run.status) && run.finished_at < cutoff);
        if (!old || running_here(w, id)) continue;
        if (cp_workspace_remove(path) == CP_OK)
            removed++;
        else
            cp_log_warn("retention: could not remove the run dir %s (the next sweep retries)", path);
    }
    closedir(d);
    cp_arena_free(a);
    return removed;
}

/* What of w is older than the cutoff goes; -1: w is kept forever. */
static int64_t prune_cutoff(const cp_config *cfg, cp_prune_what w, int64_t now_ms)
{
    switch (w) {
    case CP_PRUNE_SESSIONS:
        return now_ms - CP_SESSION_ENDED_KEEP_MS;
    case CP_PRUNE_OIDC_LOGINS:
        return now_ms;
    case CP_PRUNE_AUDIT:
        return cfg->retention_audit_seconds > 0 ? now_ms - cfg->retention_audit_seconds * 1000LL : -1;
    default:
        return cfg->retention_events_seconds > 0 ? now_ms - cfg->retention_events_seconds * 1000LL : -1;
    }
}

void cp_worker__retention(cp_workers *w, int64_t now_ms)
{
    const cp_config *cfg = w->app->cfg;
    uint64_t stmts = cp_db_statements_thread();
    int64_t wall0 = cp_mono_ms();
    json_t *pruned = json_object();
    int64_t any = 0;
    for (int i = 0; i < CP_PRUNE_COUNT; i++) {
        cp_prune_what what = (cp_prune_what)i;
        int64_t cutoff = prune_cutoff(cfg, what, now_ms);
        if (cutoff < 0) continue; /* kept forever */
        int64_t n = prune(w, what, cutoff, now_ms);
        json_object_set_new(pruned, cp_prune_name(what), json_integer(n));
        any += n;
    }
    if (cfg->retention_workspaces_seconds > 0) {
        int64_t n = cp_worker__prune_run_dirs(w, now_ms - (int64_t)cfg->retention_workspaces_seconds * 1000);
        json_object_set_new(pruned, "run_dirs", json_integer(n));
        any += n;
    }
    /* A line when something went, so an idle deployment's log stays quiet. */
    if (any)
        cp_log(CP_LOG_INFO, "retention pruned",
               json_pack("{s:o, s:I, s:I}", "pruned", pruned, "db_statements",
                         (json_int_t)(cp_db_statements_thread() - stmts), "wall_ms",
                         (json_int_t)(cp_mono_ms() - wall0)));
    else
        json_decref(pruned);
}
