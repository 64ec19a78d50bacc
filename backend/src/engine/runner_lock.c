/* runner_lock.c: the state lock of a run. Reading tofu's lock info (from its
 * errors, the local lock file, or an s3 probe), recording the lock id this
 * run took, refusing with the holder named, healing a stray lock of this
 * run's own, and freeing a dead run's lock (cp_runner_force_unlock,
 * cp_runner_free_lock_of). */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "engine/runner_int.h"
#include "engine/workspace.h"

#define NIL_LOCK_ID "00000000-0000-0000-0000-000000000000"

static cp_result unlock_stray(cp_runner *r, const char *id);

bool cp_runner__lock_field(const char *text, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = text; p && *p;) {
        while (*p == ' ' || *p == '\t') p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ' || *p == '\t') p++;
            size_t n = strcspn(p, "\r\n");
            while (n && p[n - 1] == ' ') n--;
            snprintf(out, cap, "%.*s", (int)n, p);
            return true;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return false;
}

int64_t cp_runner__parse_created(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    int64_t ms = (int64_t)timegm(&tm) * 1000;
    const char *p = s + n;
    if (*p == '.') {
        int64_t frac = 0, scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
        ms += frac;
    }
    return ms;
}

/* Accepts a lock as this phase's own: taken after the phase started, for the
 * operation the phase performs, and (in bwrap) by our host name. */
static void consider_lock(cp_runner *r, const char *id, const char *op, const char *who, const char *created)
{
    if (r->lock_id[0] || !r->lock_op || !id || strlen(id) != 36) return;
    if (!op || strcmp(op, r->lock_op) != 0) return;
    int64_t c = cp_runner__parse_created(or_empty(created));
    if (c < 0 || c + 1 < r->phase_wall) return;
    if (r->sandboxed) {
        size_t hl = strlen(r->hostname), wl = strlen(or_empty(who));
        if (wl <= hl || who[wl - hl - 1] != '@' || strcmp(who + wl - hl, r->hostname) != 0) return;
    }
    copy_str(r->lock_id, sizeof r->lock_id, id);
    cp_runner__emit_system(r, CP_TFEV_LOCK, true, "state lock %s taken by %s (%s)", id, or_empty(who), op);
}

static void probe_line(void *ctx, cp_proc_stream st, const char *line, size_t len, bool truncated)
{
    CP_UNUSED(st);
    CP_UNUSED(truncated);
    cp_buf *b = ctx;
    cp_buf_add(b, line, len);
    cp_buf_add(b, "\n", 1);
}

/* Reads the lock on this resource's state right now without touching it: the
 * local lock file, or for s3 a force-unlock with a nil id, which tofu refuses
 * while printing the current lock's info. False when there is none (or it
 * cannot be read). */
static bool read_lock_at(cp_runner *r, const char *cwd, const char *data_dir, bool workspace, lock_info *li)
{
    memset(li, 0, sizeof *li);
    if (r->cfg.state.kind == CP_STATE_LOCAL) {
        char path[PATH_MAX], *data = NULL;
        pathf(path, sizeof path, "%s/.terraform.tfstate.lock.info", r->state_dir);
        if (cp_workspace_read(path, 65536, &data, NULL, NULL) != CP_OK) return false;
        json_t *j = json_loads(data, 0, NULL);
        free(data);
        copy_str(li->id, sizeof li->id, or_empty(json_string_value(json_object_get(j, "ID"))));
        copy_str(li->op, sizeof li->op, or_empty(json_string_value(json_object_get(j, "Operation"))));
        copy_str(li->who, sizeof li->who, or_empty(json_string_value(json_object_get(j, "Who"))));
        copy_str(li->created, sizeof li->created, or_empty(json_string_value(json_object_get(j, "Created"))));
        json_decref(j);
        return li->id[0] != '\0';
    }
    cp_strv argv, env;
    cp_strv_init(&argv);
    cp_strv_init(&env);
    cp_runner__build_argv(r, &argv, cwd, r->cache_dir, false);
    cp_strv_add(&argv, "force-unlock");
    cp_strv_add(&argv, "-force");
    cp_strv_add(&argv, "-no-color");
    cp_strv_add(&argv, NIL_LOCK_ID);
    cp_runner__build_env(r, &env, data_dir, workspace);
    cp_buf out;
    cp_buf_init(&out, 65536);
    cp_proc_spec spec = {.path = argv.v[0],
                         .argv = argv.v,
                         .envp = env.v,
                         .cwd = cwd,
                         .pass_fd = r->creds_fd,
                         .rlimit_as_bytes = r->cfg.rlimit_as_bytes,
                         .rlimit_nofile = r->cfg.rlimit_nofile,
                         .timeout_ms = PROBE_TIMEOUT_MS,
                         .grace_ms = 1000,
                         .on_line = probe_line,
                         .ctx = &out,
                         .cancel = r->cancel};
    cp_proc_result res;
    bool found = false;
    if (cp_proc_run(&spec, &res, NULL) == CP_OK && strstr(cp_buf_cstr(&out), "Lock Info:")) {
        const char *t = strstr(cp_buf_cstr(&out), "Lock Info:");
        found = cp_runner__lock_field(t, "ID", li->id, sizeof li->id) &&
                cp_runner__lock_field(t, "Operation", li->op, sizeof li->op) &&
                cp_runner__lock_field(t, "Who", li->who, sizeof li->who) &&
                cp_runner__lock_field(t, "Created", li->created, sizeof li->created);
    }
    cp_buf_free(&out);
    cp_strv_free(&argv);
    cp_strv_free(&env);
    return found;
}

/* The lock id is recorded only so that the reaper can free the lock of a run
 * whose worker died (reconcile.c). In bubblewrap with s3 state that needs no
 * id: the lock's holder names this run's own host (cp-<run id>-...), by which
 * cp_runner_free_lock_of finds and frees it, and a probe there is a whole
 * tofu process (init of the s3 backend, a DynamoDB read) per locked phase,
 * about 130 ms of CPU for every run. Local state: the probe reads a file;
 * outside bubblewrap the holder proves nothing, so the id is needed. */
bool cp_runner__probe_needed(const cp_runner *r)
{
    return !(r->sandboxed && r->cfg.state.kind == CP_STATE_S3);
}

void cp_runner__probe_lock(cp_runner *r)
{
    lock_info li;
    if (read_lock_at(r, r->dir, r->data_dir, true, &li)) consider_lock(r, li.id, li.op, li.who, li.created);
}

/* A lock whose holder is this very run. Only provable in bubblewrap, where the
 * host name is the run: such a lock is a stray left by a request the AWS SDK
 * retried after it had succeeded (seen with emulators under load). */
static bool own_lock(const cp_runner *r, const char *who)
{
    if (!r->sandboxed || r->cfg.state.kind != CP_STATE_S3 || !who) return false;
    size_t hl = strlen(r->hostname), wl = strlen(who);
    return wl > hl && who[wl - hl - 1] == '@' && strcmp(who + wl - hl, r->hostname) == 0;
}

/* Called for each error diagnostic of a phase. */
void cp_runner__lock_diag(cp_runner *r, const cp_tfev *ev)
{
    /* Taking the lock failed: for the run ("Error acquiring the state lock")
     * or for tofu's step that creates a new workspace ("failed to lock"). */
    if (strstr(or_empty(ev->summary), "Error acquiring the state lock") ||
        (strstr(or_empty(ev->summary), "failed to lock") && strstr(or_empty(ev->summary), "Lock Info:"))) {
        char id[64] = "?", who[256] = "?", op[64] = "?", created[80] = "?";
        const char *d = strstr(or_empty(ev->detail), "Lock Info:") ? ev->detail : or_empty(ev->summary);
        cp_runner__lock_field(d, "ID", id, sizeof id);
        cp_runner__lock_field(d, "Who", who, sizeof who);
        cp_runner__lock_field(d, "Operation", op, sizeof op);
        cp_runner__lock_field(d, "Created", created, sizeof created);
        snprintf(r->lock_holder, sizeof r->lock_holder, "state is locked by %s since %s (lock id %s, %s)", who, created,
                 id, op);
    }
    /* Any lock error names the lock it met; is it our own? */
    const char *li = strstr(or_empty(ev->detail), "Lock Info:");
    if (!li) li = strstr(or_empty(ev->summary), "Lock Info:");
    if (li) {
        char id[64] = "", who[256] = "";
        cp_runner__lock_field(li, "ID", id, sizeof id);
        cp_runner__lock_field(li, "Who", who, sizeof who);
        bool release = strstr(or_empty(ev->summary), "Error releasing the state lock") != NULL;
        r->release_failed |= release;
        if (own_lock(r, who) || (release && r->lock_id[0] && strcmp(id, r->lock_id) == 0))
            copy_str(r->stray_id, sizeof r->stray_id, id);
    }
}

/* cp_runner__run_phase for a phase that takes the state lock, healing the one case where
 * the lock in the way is this run's own (see own_lock; tofu's "init" lock for
 * a new workspace or its operation lock): it is freed by its id and the phase
 * retried once. An apply whose only error is that its own lock could not be
 * released did its work (the state was written first): the stray lock is
 * freed and the apply counts as done. A plan in that case is retried. */
cp_result cp_runner__run_locked(cp_runner *r, const phase_opts *o, cp_strv *args, int *code, cp_error *err)
{
    cp_error e;
    cp_error_clear(&e);
    cp_result rc = cp_runner__run_phase(r, o, args, code, &e);
    bool only_release = rc != CP_OK && r->release_failed && r->errors == 1 && e.reason == CP_REASON_TOFU_FAILED;
    if (rc != CP_OK && r->stray_id[0] && (!r->release_failed || only_release)) {
        char id[40];
        copy_str(id, sizeof id, r->stray_id);
        bool applied = only_release && strcmp(or_empty(o->lock_op), "OperationTypeApply") == 0;
        cp_runner__emit_system(r, CP_TFEV_LOG, true, "state lock %s is this run's own stray lock: freeing it%s", id,
                               applied ? " (the apply itself finished)" : " and retrying");
        if (unlock_stray(r, id) == CP_OK) {
            if (applied) {
                *code = 0;
                rc = CP_OK;
            } else {
                cp_error_clear(&e);
                rc = cp_runner__run_phase(r, o, args, code, &e);
            }
        }
    }
    /* Someone else's lock (not this run's stray): the run waited on or lost to another. */
    if (rc != CP_OK && r->lock_holder[0] && !r->stray_id[0]) cp_metrics_inc(lock_conflicts);
    if (rc != CP_OK && err) *err = e;
    return rc;
}

/* ---------------------------------------------------------------- force-unlock */

/* Where force-unlock (and reading the lock) runs: for s3 a side dir whose
 * backend names the state object directly, with no workspace (see unlock_id). */
static cp_result unlock_place(cp_runner *r, const char **cwd, const char **data_dir, bool *workspace, char *dir,
                              char *data, cp_error *err)
{
    cp_result rc = CP_OK;
    *cwd = r->dir;
    *data_dir = r->data_dir;
    *workspace = true;
    if (r->cfg.state.kind != CP_STATE_S3) return cp_runner__ensure_init(r, err);
    pathf(dir, PATH_MAX, "%s/unlock", r->dir);
    pathf(data, PATH_MAX + 16, "%s/.tfdata", dir);
    if (access(data, F_OK) != 0) {
        json_t *bj = cp_runner__backend_json(r, true);
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            rc = cp_error_set(err, CP_ERR, "workspace", NULL, "cannot create %s", dir);
        if (rc == CP_OK) rc = cp_workspace_write_json(dir, "backend.tf.json", bj, err);
        json_decref(bj);
        if (rc == CP_OK) rc = cp_runner__init_here(r, dir, data, false, err);
        if (rc != CP_OK) return rc;
    }
    *cwd = dir;
    *data_dir = data;
    *workspace = false;
    return CP_OK;
}

/* `force-unlock -force <id>` on this resource's state: CP_OK when freed or
 * already free, CP_ECONFLICT when another lock holds the state now. For s3 it
 * runs in a side dir with the state object named directly: tofu's workspace
 * path would first try to create a workspace that is not there yet, under a
 * lock of its own, which is exactly what a stray "init" lock blocks. */
static cp_result unlock_id_once(cp_runner *r, const char *id, bool *retry, cp_error *err)
{
    *retry = false;
    char dir[PATH_MAX], data[PATH_MAX + 16];
    const char *cwd, *data_dir;
    bool workspace;
    cp_result rc = unlock_place(r, &cwd, &data_dir, &workspace, dir, data, err);
    if (rc != CP_OK) return rc;
    cp_strv a;
    cp_strv_init(&a);
    cp_strv_add(&a, "force-unlock");
    cp_strv_add(&a, "-force");
    cp_strv_add(&a, "-no-color");
    cp_strv_add(&a, id);
    phase_opts o = {
        .phase = "force-unlock", .cwd = cwd, .data_dir = data_dir, .workspace = workspace, .ok_codes = {-1}};
    int code;
    cp_error e2;
    rc = cp_runner__run_phase(r, &o, &a, &code, &e2);
    cp_strv_free(&a);
    if (rc != CP_OK) {
        /* tofu prints these as plain text on stderr. */
        const char *why = cp_buf_cstr(&r->stderr_text);
        if (strstr(why, "does not match existing lock"))
            rc = cp_error_set(err, CP_ECONFLICT, "lock_mismatch", "lock_id",
                              "the state is locked by someone else now; lock %s is gone", id);
        else if (strstr(why, "no lock info found") || strstr(why, "not locked") ||
                 (strstr(why, "lock info") && strstr(why, "NoSuchKey")) /* S3 lock file gone */)
            rc = CP_OK; /* already free; a local lock dies with its process ("not locked") */
        else if (err)
            *err = e2;
        /* The conditional delete failed: the item changed under it, or the SDK
         * retried a delete whose first attempt went through. Asking again tells. */
        *retry = strstr(why, "ConditionalCheckFailed") != NULL;
    }
    return rc;
}

static cp_result unlock_id(cp_runner *r, const char *id, cp_error *err)
{
    bool retry = false;
    cp_result rc = unlock_id_once(r, id, &retry, err);
    if (rc != CP_OK && retry) rc = unlock_id_once(r, id, &retry, err);
    return rc;
}

static cp_result unlock_stray(cp_runner *r, const char *id)
{
    return unlock_id(r, id, NULL);
}

static bool lock_id_ok(const char *id)
{
    if (!id || strlen(id) != 36) return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = id[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return strcmp(id, NIL_LOCK_ID) != 0;
}

/* A handle of its own for lock work on spec's state: its own run id, since
 * the dead run's may still name a leftover dir or staging area. */
static cp_result open_for_lock(const cp_runner_config *cfg, const cp_runner_spec *spec, cp_runner **out, cp_error *err)
{
    char own_id[CP_ID_LEN + 1];
    cp_id_new(own_id);
    cp_runner_spec s = *spec;
    s.run_id = own_id;
    s.tfvars = NULL;
    return cp_runner_open(cfg, &s, out, err);
}

cp_result cp_runner_force_unlock(const cp_runner_config *cfg, const cp_runner_spec *spec, const char *lock_id,
                                 cp_error *err)
{
    if (!lock_id_ok(lock_id)) return cp_error_set(err, CP_EINVAL, "bad_request", "lock_id", "not a lock id");
    cp_runner *r;
    cp_result rc = open_for_lock(cfg, spec, &r, err);
    if (rc != CP_OK) return rc;
    rc = unlock_id(r, lock_id, err);
    cp_runner_close(r);
    return rc;
}

cp_result cp_runner_free_lock_of(const cp_runner_config *cfg, const cp_runner_spec *spec, const char *dead_run_id,
                                 bool *freed, cp_error *err)
{
    *freed = false;
    cp_runner *r;
    cp_result rc = open_for_lock(cfg, spec, &r, err);
    if (rc != CP_OK) return rc;
    lock_info li;
    char mark[64];
    /* Only a lock whose holder is the dead run's own sandbox host. */
    snprintf(mark, sizeof mark, "@cp-%s-", dead_run_id);
    char dir[PATH_MAX], data[PATH_MAX + 16];
    const char *cwd, *data_dir;
    bool workspace;
    rc = unlock_place(r, &cwd, &data_dir, &workspace, dir, data, err);
    if (rc == CP_OK && read_lock_at(r, cwd, data_dir, workspace, &li) && strstr(li.who, mark) && lock_id_ok(li.id)) {
        rc = unlock_id(r, li.id, err);
        *freed = rc == CP_OK;
    }
    cp_runner_close(r);
    return rc;
}
