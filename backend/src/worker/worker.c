#include "worker/worker.h"

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/proc.h"
#include "engine/runner.h"
#include "engine/sandbox.h"
#include "engine/workspace.h"
#include "queue/events.h"
#include "queue/queue.h"
#include "store/run_params.h"

#define RECONCILE_MS 2000
#define REPUSH_AFTER_MS 15000

typedef struct job job;

struct cp_workers {
    cp_app *app;
    char id[128];
    char tofu[PATH_MAX];
    char modules[PATH_MAX];
    char runs_dir[PATH_MAX + 16];
    char init_cache[PATH_MAX + 16];
    char state_dir[PATH_MAX + 16];
    cp_runner_config rc;
    int n;
    pthread_t *threads;
    pthread_t reconciler;
    atomic_bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *running;           /* guarded by mu */
    json_t *pushed;         /* reconciler: run id -> last push ms */
    int64_t test_pause_ms;  /* test only: CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS */
};

/* One run in progress on one worker thread. */
struct job {
    cp_workers *w;
    cp_arena *a;
    cp_run run;
    cp_resource res;
    cp_runner *runner;       /* guarded by w->mu while set */
    json_t *planned;         /* [{address, action}] from planned_change events */
    bool approval;
    bool lost;               /* fenced out: never write again */
    bool canceled;
    atomic_bool done;
    pthread_mutex_t hb_mu;
    pthread_cond_t hb_cv;
    cp_events_sub *sub;
    job *next;
};

/* ---- setup ---- */

static bool executable(const char *p)
{
    return access(p, X_OK) == 0;
}

static void resolve_tofu(cp_workers *w)
{
    const cp_config *cfg = w->app->cfg;
    if (cfg->tf_binary[0]) {
        snprintf(w->tofu, sizeof w->tofu, "%s", cfg->tf_binary);
        return;
    }
    const char *home = getenv("HOME");
    char p[PATH_MAX];
    if (home && snprintf(p, sizeof p, "%s/.cache/cloudplane/tofu/1.10.10/tofu", home) < (int)sizeof p &&
        executable(p)) {
        snprintf(w->tofu, sizeof w->tofu, "%s", p);
        return;
    }
    const char *dirs[] = {"/usr/local/bin/tofu", "/usr/bin/tofu"};
    for (size_t i = 0; i < CP_ARRAY_LEN(dirs); i++)
        if (executable(dirs[i])) {
            snprintf(w->tofu, sizeof w->tofu, "%s", dirs[i]);
            return;
        }
    snprintf(w->tofu, sizeof w->tofu, "tofu");
}

static void resolve_modules(cp_workers *w)
{
    const cp_config *cfg = w->app->cfg;
    if (cfg->modules_dir[0]) {
        snprintf(w->modules, sizeof w->modules, "%s", cfg->modules_dir);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat st;
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 5; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) break;
            *slash = '\0';
            if (snprintf(w->modules, sizeof w->modules, "%s/terraform/modules", exe) >= (int)sizeof w->modules)
                break;
            if (stat(w->modules, &st) == 0 && S_ISDIR(st.st_mode)) return;
        }
    }
    snprintf(w->modules, sizeof w->modules, "terraform/modules");
}

static void runner_config(cp_workers *w)
{
    const cp_config *cfg = w->app->cfg;
    snprintf(w->runs_dir, sizeof w->runs_dir, "%s/runs", cfg->data_dir);
    snprintf(w->init_cache, sizeof w->init_cache, "%s/init-cache", cfg->data_dir);
    snprintf(w->state_dir, sizeof w->state_dir, "%s/state", cfg->data_dir);
    cp_runner_config *rc = &w->rc;
    memset(rc, 0, sizeof *rc);
    rc->tofu = w->tofu;
    rc->modules_dir = w->modules;
    rc->runs_dir = w->runs_dir;
    rc->init_cache_dir = w->init_cache;
    rc->use_bwrap = cfg->sandbox_bwrap;
    rc->fast_apply = true;
    rc->phase_timeout_s = (int)cfg->run_timeout_seconds;
    rc->cancel_grace_s = cfg->cancel_grace_seconds > 0 ? (int)cfg->cancel_grace_seconds : -1;
    rc->lock_timeout_s = 30;
    cp_state_config *sc = &rc->state;
    if (!strcmp(cfg->state_backend, "s3")) {
        sc->kind = CP_STATE_S3;
        sc->s3_bucket = cfg->state_s3_bucket;
        sc->s3_region = cfg->state_s3_region;
        sc->s3_key_prefix = cfg->state_s3_key_prefix;
        sc->s3_endpoint = cfg->state_s3_endpoint;
        sc->s3_dynamodb_endpoint = cfg->state_s3_dynamodb_endpoint;
        sc->s3_dynamodb_table = cfg->state_s3_dynamodb_table;
        sc->s3_use_lockfile = cfg->state_s3_use_lockfile;
        sc->s3_path_style = cfg->state_s3_path_style;
        sc->s3_skip_checks = cfg->state_s3_skip_checks;
        sc->s3_access_key_id = cfg->state_s3_access_key_id;
        sc->s3_secret_access_key = cfg->state_s3_secret_access_key;
    } else {
        sc->kind = CP_STATE_LOCAL;
        sc->local_dir = w->state_dir;
    }
}

/* ---- events ---- */

static void store_event(job *j, const char *type, json_t *data)
{
    cp_app *app = j->w->app;
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    if (!text) return;
    int64_t seq = 0;
    cp_error e;
    if (cp_store_event_append(app->store, j->run.id, type, text, app->cfg->run_log_max_events, &seq, &e) == CP_OK &&
        seq > 0 && app->events)
        cp_events_publish(app->events, j->run.id, CP_NOTICE_EVENTS, seq);
    free(text);
}

static void log_line(job *j, const char *stream, const char *level, const char *line)
{
    store_event(j, "log", json_pack("{s:s, s:s, s:s}", "stream", stream, "level", level ? level : "info", "line",
                                    line ? line : ""));
}

static void status_event(job *j, cp_run_status run_status)
{
    cp_resource res;
    cp_error e;
    const char *rs = NULL;
    if (cp_store_resource_by_id(j->w->app->store, j->a, j->run.resource_id, &res, &e) == CP_OK)
        rs = cp_resource_status_name(res.status);
    store_event(j, "status", json_pack("{s:s, s:o}", "run_status", cp_run_status_name(run_status), "resource_status",
                                       cp_json_str_or_null(rs)));
}

/* Moves the run on; a lost lease means another owner now: stop writing. */
static bool transition(job *j, cp_run_status to)
{
    if (j->lost) return false;
    cp_error e;
    cp_result r = cp_store_run_transition(j->w->app->store, &j->run, to, &e);
    if (r == CP_OK) {
        j->run.status = to;
        status_event(j, to);
        return true;
    }
    if (r == CP_ECONFLICT) j->lost = true;
    cp_log_warn("run %s: %s", j->run.id, e.message);
    return false;
}

static json_t *plan_summary(job *j, long add, long change, long destroy)
{
    return json_pack("{s:i, s:i, s:i, s:O}", "add", (int)add, "change", (int)change, "destroy", (int)destroy,
                     "resources", j->planned);
}

static void on_event(void *ctx, const cp_tfev *ev)
{
    job *j = ctx;
    if (j->lost) return;
    switch (ev->type) {
    case CP_TFEV_PLANNED_CHANGE:
        json_array_append_new(j->planned, json_pack("{s:s, s:s}", "address", ev->address ? ev->address : "",
                                                    "action", ev->action ? ev->action : ""));
        store_event(j, "progress", json_pack("{s:s, s:s, s:s, s:f}", "address", ev->address ? ev->address : "",
                                             "action", ev->action ? ev->action : "", "state", "planned",
                                             "elapsed_seconds", 0.0));
        break;
    case CP_TFEV_APPLY_START:
    case CP_TFEV_APPLY_PROGRESS:
    case CP_TFEV_APPLY_COMPLETE:
    case CP_TFEV_APPLY_ERRORED: {
        static const char *const states[] = {"started", "progress", "complete", "errored"};
        if (ev->type == CP_TFEV_APPLY_START && j->run.status == CP_RUN_PLANNED && !j->approval)
            transition(j, CP_RUN_APPLYING);
        store_event(j, "progress",
                    json_pack("{s:s, s:s, s:s, s:f}", "address", ev->address ? ev->address : "", "action",
                              ev->action ? ev->action : "", "state", states[ev->type - CP_TFEV_APPLY_START],
                              "elapsed_seconds", ev->elapsed_seconds));
        break;
    }
    case CP_TFEV_CHANGE_SUMMARY:
        if (j->run.status == CP_RUN_PLANNING) {
            json_t *sum = plan_summary(j, ev->add, ev->change, ev->destroy);
            char *text = json_dumps(sum, JSON_COMPACT);
            cp_error e;
            cp_store_run_set_plan(j->w->app->store, &j->run, text, NULL, &e);
            free(text);
            store_event(j, "plan", sum);
            transition(j, CP_RUN_PLANNED);
        }
        log_line(j, ev->stream, ev->level, ev->message);
        break;
    case CP_TFEV_LOCK: {
        cp_error e;
        if (ev->lock_id && *ev->lock_id) cp_store_run_mark_tofu_started(j->w->app->store, &j->run, ev->lock_id, &e);
        log_line(j, "system", "info", ev->message);
        break;
    }
    case CP_TFEV_OUTPUTS:
        break; /* the final outputs are reported once the run succeeds */
    case CP_TFEV_DIAGNOSTIC: {
        const char *msg = ev->detail && *ev->detail
                              ? cp_arena_printf(j->a, "%s: %s", ev->summary ? ev->summary : "", ev->detail)
                              : ev->message;
        log_line(j, ev->stream, ev->severity ? ev->severity : ev->level, msg);
        break;
    }
    default:
        log_line(j, ev->stream, ev->level, ev->message);
    }
}

static void on_notice(void *ctx, const char *run_id, cp_notice_kind kind, int64_t seq)
{
    CP_UNUSED(run_id);
    CP_UNUSED(seq);
    job *j = ctx;
    if (kind != CP_NOTICE_CANCEL) return;
    pthread_mutex_lock(&j->w->mu);
    j->canceled = true;
    if (j->runner) cp_runner_cancel(j->runner);
    pthread_mutex_unlock(&j->w->mu);
}

/* ---- heartbeat ---- */

static void *heartbeat(void *arg)
{
    job *j = arg;
    cp_workers *w = j->w;
    int64_t every = w->app->cfg->heartbeat_seconds * 1000, lease = w->app->cfg->lease_seconds * 1000;
    int64_t next = cp_mono_ms() + every;
    pthread_mutex_lock(&j->hb_mu);
    while (!atomic_load(&j->done)) {
        /* Wake at least every second to notice cancel requests stored in the database. */
        int64_t wait = next - cp_mono_ms();
        if (wait > 1000) wait = 1000;
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) ts.tv_sec++, ts.tv_nsec -= 1000000000;
            pthread_cond_timedwait(&j->hb_cv, &j->hb_mu, &ts);
        }
        if (atomic_load(&j->done)) break;
        pthread_mutex_unlock(&j->hb_mu);
        bool cancel = false, renew = cp_mono_ms() >= next;
        cp_error e;
        cp_result r = CP_OK;
        if (renew) {
            r = cp_store_run_heartbeat(w->app->store, &j->run, lease, &cancel, &e);
            next = cp_mono_ms() + every;
        } else {
            cp_run cur;
            cp_arena *a = cp_arena_new(2048);
            if (cp_store_run_get(w->app->store, a, j->run.id, &cur, &e) == CP_OK) cancel = cur.cancel_requested;
            cp_arena_free(a);
        }
        pthread_mutex_lock(&w->mu);
        if (r == CP_ECONFLICT) {
            /* Fenced: someone else owns the run now. Stop at once, write nothing. */
            j->lost = true;
            if (j->runner) cp_runner_cancel(j->runner);
        } else if (cancel && !j->canceled) {
            j->canceled = true;
            if (j->runner) cp_runner_cancel(j->runner);
        }
        pthread_mutex_unlock(&w->mu);
        pthread_mutex_lock(&j->hb_mu);
    }
    pthread_mutex_unlock(&j->hb_mu);
    return NULL;
}

/* ---- one run ---- */

/* Decrypts the account's credentials into "NAME=value" env strings. The
 * plaintext lives only here and in the tofu child's environment. */
static cp_result credentials(job *j, cp_strv *env, json_t *extra, cp_error *err)
{
    cp_app *app = j->w->app;
    cp_account acc;
    cp_result r = cp_store_account_get(app->store, j->a, j->res.account_id, &acc, err);
    if (r != CP_OK) return r;
    if (!acc.ciphertext[0])
        return cp_error_set(err, CP_ECONFLICT, "account_removed", NULL, "the cloud account was removed");
    char *plain = NULL;
    size_t len = 0;
    r = cp_vault_open(app->vault, acc.key_id, acc.nonce, acc.ciphertext, acc.id, acc.project_id, &plain, &len, err);
    if (r != CP_OK) return r;
    json_t *c = json_loadb(plain, len, 0, NULL);
    cp_vault_wipe(plain, len);
    static const struct { const char *cloud, *field, *env; } map[] = {
        {"aws", "access_key_id", "AWS_ACCESS_KEY_ID"},     {"aws", "secret_access_key", "AWS_SECRET_ACCESS_KEY"},
        {"aws", "session_token", "AWS_SESSION_TOKEN"},     {"azure", "tenant_id", "ARM_TENANT_ID"},
        {"azure", "client_id", "ARM_CLIENT_ID"},           {"azure", "client_secret", "ARM_CLIENT_SECRET"},
        {"azure", "subscription_id", "ARM_SUBSCRIPTION_ID"}, {"gcp", "service_account_json", "GOOGLE_CREDENTIALS"},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(map); i++) {
        const char *v = json_string_value(json_object_get(c, map[i].field));
        if (!strcmp(map[i].cloud, acc.cloud) && v) cp_strv_addf(env, "%s=%s", map[i].env, v);
    }
    const char *project = json_string_value(json_object_get(c, "project_id"));
    if (project) json_object_set_new(extra, "project_id", json_string(project));
    /* jansson does not wipe on free; overwrite the values we held. */
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) if (json_is_string(v)) sodium_memzero((void *)json_string_value(v),
                                                                       json_string_length(v));
    json_decref(c);
    return CP_OK;
}

static const char *error_text(job *j, const cp_error *e)
{
    if (j->canceled || e->reason == CP_REASON_CANCELED) return "canceled by user";
    return e->message[0] ? e->message : "run failed";
}

/* wanted (on success only): the run's params, which become the resource's. */
static void finish(job *j, cp_run_status status, const char *error, json_t *outputs, const cp_run_params *wanted)
{
    if (j->lost) return;
    char *text = outputs ? json_dumps(outputs, JSON_COMPACT) : NULL;
    char *config = wanted && wanted->config ? json_dumps(wanted->config, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    cp_resource_spec spec = {wanted ? wanted->size : NULL, config, wanted ? wanted->monthly_cost_usd : 0};
    cp_error e;
    if (cp_store_run_finish(j->w->app->store, &j->run, status, error, text, wanted ? &spec : NULL, &e) == CP_OK) {
        if (error) log_line(j, "system", "error", error);
        if (outputs && status == CP_RUN_SUCCEEDED) store_event(j, "outputs", json_deep_copy(outputs));
        status_event(j, status);
    } else {
        cp_log_warn("run %s: could not record %s: %s", j->run.id, cp_run_status_name(status), e.message);
    }
    free(config);
    free(text);
}

static void set_runner(job *j, cp_runner *r)
{
    pthread_mutex_lock(&j->w->mu);
    j->runner = r;
    if (r && (j->canceled || j->lost || atomic_load(&j->w->stopping))) cp_runner_cancel(r);
    pthread_mutex_unlock(&j->w->mu);
}

static void execute(job *j)
{
    cp_workers *w = j->w;
    cp_app *app = w->app;
    cp_error e;
    cp_error_clear(&e);
    cp_run_params params;
    cp_run_params_decode(j->run.params, &params);
    json_t *extra = json_object(), *outputs = NULL;
    cp_strv env;
    cp_strv_init(&env);
    cp_runner *runner = NULL;
    cp_run_op op = j->run.operation == CP_OP_DESTROY ? CP_RUN_DESTROY : CP_RUN_APPLY;
    cp_result r = cp_store_resource_by_id(app->store, j->a, j->run.resource_id, &j->res, &e);
    if (r == CP_OK) {
        j->approval = cp_store_project_requires_approval(app->store, j->res.project_id);
        r = credentials(j, &env, extra, &e);
    }
    json_t *tfvars = NULL;
    if (r == CP_OK) {
        tfvars = cp_catalog_tfvars(j->res.id, j->res.cloud, j->res.kind, params.name ? params.name : j->res.name,
                                   params.region ? params.region : j->res.region, params.size, params.config, extra,
                                   &e);
        if (!tfvars) r = e.result ? e.result : CP_ERR;
    }
    if (r == CP_OK) {
        cp_runner_spec spec = {.run_id = j->run.id, .resource_id = j->res.id,
                               .module = cp_catalog_module(j->res.cloud, j->res.kind), .tfvars = tfvars,
                               .env = (const char *const *)env.v, .on_event = on_event, .ctx = j};
        r = cp_runner_open(&w->rc, &spec, &runner, &e);
    }
    if (r == CP_OK) {
        set_runner(j, runner);
        /* The point of no return: from here an expired lease fails the run
         * instead of re-queuing it. If the lease is gone already, the reaper
         * has re-queued the run and another worker may be running it: start
         * nothing. */
        r = cp_store_run_mark_tofu_started(app->store, &j->run, NULL, &e);
        if (r == CP_ECONFLICT) j->lost = true;
    }
    if (r == CP_OK) {
        switch (cp_runner_choose_path(&w->rc, j->approval, j->run.status == CP_RUN_APPLYING)) {
        case CP_PATH_APPLY_APPROVED: {
            /* Approved: apply exactly the plan that was approved. */
            size_t cap = strlen(j->run.plan_blob ? j->run.plan_blob : "") + 1, len = 0;
            unsigned char *plan = malloc(cap);
            if (!plan || sodium_base642bin(plan, cap, j->run.plan_blob ? j->run.plan_blob : "", cap - 1, NULL, &len,
                                           NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
                r = cp_error_set(&e, CP_ERR, "plan_missing", NULL, "the approved plan could not be read");
            else
                r = cp_runner_apply(runner, plan, len, op == CP_RUN_DESTROY ? NULL : &outputs, &e);
            free(plan);
            break;
        }
        case CP_PATH_SAVED_PLAN: {
            cp_runner_plan_result pr = {0};
            r = cp_runner_plan(runner, op, &pr, &e);
            if (r == CP_OK) {
                char *sum = json_dumps(pr.summary, JSON_COMPACT);
                size_t b64cap = sodium_base64_ENCODED_LEN(pr.plan_len, sodium_base64_VARIANT_ORIGINAL);
                char *b64 = malloc(b64cap);
                sodium_bin2base64(b64, b64cap, pr.plan, pr.plan_len, sodium_base64_VARIANT_ORIGINAL);
                cp_store_run_set_plan(app->store, &j->run, sum, b64, &e);
                free(b64);
                free(sum);
                if (j->run.status != CP_RUN_PLANNED) {
                    store_event(j, "plan", json_incref(pr.summary));
                    transition(j, CP_RUN_PLANNED);
                }
                if (!pr.changes) {
                    if (op == CP_RUN_APPLY) cp_runner_outputs(runner, &outputs, &e);
                } else if (transition(j, CP_RUN_AWAITING_APPROVAL)) {
                    log_line(j, "system", "info", "plan ready: waiting for approval");
                    cp_runner_plan_result_free(&pr);
                    goto out; /* the apply is a later claim of this run */
                }
            }
            cp_runner_plan_result_free(&pr);
            break;
        }
        case CP_PATH_FAST_APPLY:
            r = cp_runner_apply_auto(runner, op, op == CP_RUN_DESTROY ? NULL : &outputs, &e);
            break;
        }
    }
    if (r == CP_OK) {
        if (j->run.status == CP_RUN_PLANNING) transition(j, CP_RUN_PLANNED);
        if (!outputs && op != CP_RUN_DESTROY) outputs = json_object();
        finish(j, CP_RUN_SUCCEEDED, NULL, outputs, &params);
    } else {
        finish(j, j->canceled ? CP_RUN_CANCELED : CP_RUN_FAILED, error_text(j, &e), NULL, NULL);
    }
out:
    set_runner(j, NULL);
    if (runner) cp_runner_close(runner);
    for (size_t i = 0; i < env.n; i++)
        if (env.v[i]) sodium_memzero(env.v[i], strlen(env.v[i]));
    cp_strv_free(&env);
    json_decref(tfvars);
    json_decref(outputs);
    json_decref(extra);
    cp_run_params_release(&params);
}

/* After a run ends, the run of the same resource that waited behind it may
 * go: its own queue item was turned away by the claim while this one ran.
 * Only that one: pushing every claimable run after every run made the queue
 * traffic grow with the square of the backlog. Anything else that is
 * claimable already has an item, and the reconciler covers lost ones. */
static void push_next_of(cp_workers *w, cp_arena *a, const char *resource_id)
{
    cp_run *runs;
    size_t n;
    char *next;
    cp_error e;
    if (cp_store_runs_list(w->app->store, a, resource_id, 50, NULL, &runs, &n, &next, &e) != CP_OK) return;
    for (size_t i = n; i-- > 0;) /* newest first: the oldest waiting run goes next */
        if (runs[i].status == CP_RUN_QUEUED || (runs[i].status == CP_RUN_AWAITING_APPROVAL && runs[i].approved_by)) {
            cp_queue_push(w->app->queue, runs[i].id, &e);
            return;
        }
}

/* Test only: CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS makes every claim stall
 * this long before the heartbeat starts, like a worker frozen right after
 * claiming, so the integration tests can let a lease expire before tofu
 * starts (backend/tests/integration/test_distributed.py). Unset in any real
 * deployment; start-up warns when it is set. */
static void test_pause_after_claim(cp_workers *w)
{
    for (int64_t left = w->test_pause_ms; left > 0 && !atomic_load(&w->stopping); left -= 100) {
        struct timespec ts = {0, (left < 100 ? left : 100) * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void process(cp_workers *w, const char *run_id)
{
    cp_app *app = w->app;
    job *j = calloc(1, sizeof *j);
    j->w = w;
    j->a = cp_arena_new(16384);
    cp_error e;
    cp_result r = cp_store_run_claim(app->store, j->a, run_id, w->id, app->cfg->lease_seconds * 1000, &j->run, &e);
    if (r != CP_OK) {
        if (r != CP_ECONFLICT && r != CP_ENOTFOUND) cp_log_warn("claim of run %s failed: %s", run_id, e.message);
        cp_arena_free(j->a);
        free(j);
        return;
    }
    cp_log(CP_LOG_INFO, "run claimed", json_pack("{s:s, s:s, s:s, s:I}", "run_id", j->run.id, "operation",
                                                 cp_run_operation_name(j->run.operation), "worker", w->id, "attempt",
                                                 (json_int_t)j->run.attempt));
    j->planned = json_array();
    pthread_mutex_init(&j->hb_mu, NULL);
    pthread_cond_init(&j->hb_cv, NULL);
    test_pause_after_claim(w);
    /* A worker that stalled since its claim may have lost the run to the
     * reaper: one renewal tells, before anything is written for it. */
    bool ignored;
    if (cp_store_run_heartbeat(app->store, &j->run, app->cfg->lease_seconds * 1000, &ignored, &e) == CP_ECONFLICT) {
        j->lost = true;
        cp_log_warn("run %s: lease lost before the run started; leaving it to its new owner", j->run.id);
    } else {
        status_event(j, j->run.status);
    }
    if (app->events) j->sub = cp_events_subscribe(app->events, j->run.id, on_notice, j);
    pthread_mutex_lock(&w->mu);
    j->next = w->running;
    w->running = j;
    pthread_mutex_unlock(&w->mu);

    pthread_t hb;
    bool hb_ok = !j->lost && pthread_create(&hb, NULL, heartbeat, j) == 0;
    if (!j->lost) execute(j);
    pthread_mutex_lock(&j->hb_mu);
    atomic_store(&j->done, true);
    pthread_cond_signal(&j->hb_cv);
    pthread_mutex_unlock(&j->hb_mu);
    if (hb_ok) pthread_join(hb, NULL);

    if (j->sub) cp_events_unsubscribe(app->events, j->sub);
    pthread_mutex_lock(&w->mu);
    for (job **pp = &w->running; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    pthread_mutex_unlock(&w->mu);
    cp_log(CP_LOG_INFO, "run done", json_pack("{s:s, s:b}", "run_id", j->run.id, "fenced", j->lost));
    push_next_of(w, j->a, j->run.resource_id);
    json_decref(j->planned);
    pthread_mutex_destroy(&j->hb_mu);
    pthread_cond_destroy(&j->hb_cv);
    cp_arena_free(j->a);
    free(j);
}

static void *worker_main(void *arg)
{
    cp_workers *w = arg;
    while (!atomic_load(&w->stopping)) {
        char run_id[CP_QUEUE_ID_MAX], token[CP_QUEUE_ID_MAX];
        cp_error e;
        cp_result r = cp_queue_pop(w->app->queue, 1000, run_id, token, &e);
        if (r == CP_EAGAIN) continue;
        if (r != CP_OK) {
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            continue;
        }
        if (atomic_load(&w->stopping)) break; /* unacked: another worker gets it */
        process(w, run_id);
        cp_queue_ack(w->app->queue, token, &e);
    }
    return NULL;
}

/* ---- reconciler ---- */

static void free_lost_lock(cp_workers *w, cp_arena *a, const cp_lost_run *l)
{
    cp_resource res;
    cp_error e;
    if (cp_store_resource_by_id(w->app->store, a, l->resource_id, &res, &e) != CP_OK) return;
    cp_runner_spec spec = {.run_id = l->run_id, .resource_id = l->resource_id,
                           .module = cp_catalog_module(res.cloud, res.kind)};
    cp_result r;
    bool freed = false;
    if (l->lock_id && *l->lock_id) {
        r = cp_runner_force_unlock(&w->rc, &spec, l->lock_id, &e);
        freed = r == CP_OK;
    } else {
        /* Died before its lock id was recorded: free the lock only if its
         * holder is provably that run's own sandbox. */
        r = cp_runner_free_lock_of(&w->rc, &spec, l->run_id, &freed, &e);
    }
    cp_log(r == CP_OK ? CP_LOG_INFO : CP_LOG_WARN, "state lock of a lost run",
           json_pack("{s:s, s:s, s:b, s:s}", "run_id", l->run_id, "lock_id", l->lock_id ? l->lock_id : "", "freed",
                     freed, "detail", r == CP_OK ? "" : e.message));
}

static void reconcile(cp_workers *w)
{
    cp_app *app = w->app;
    cp_arena *a = cp_arena_new(16384);
    char **requeued;
    cp_lost_run *lost;
    size_t nr, nl;
    cp_error e;
    if (cp_store_runs_reap(app->store, a, &requeued, &nr, &lost, &nl, &e) == CP_OK) {
        for (size_t i = 0; i < nr; i++) {
            cp_log_warn("run %s: lease expired before tofu started; queued again", requeued[i]);
            cp_queue_push(app->queue, requeued[i], &e);
        }
        for (size_t i = 0; i < nl; i++) {
            cp_log_warn("run %s: worker lost during plan/apply; marked failed", lost[i].run_id);
            job tmp = {.w = w, .a = a};
            tmp.run.id = lost[i].run_id;
            tmp.run.resource_id = lost[i].resource_id;
            log_line(&tmp, "system", "error", "worker lost: the run was marked failed and not retried");
            status_event(&tmp, CP_RUN_FAILED);
            free_lost_lock(w, a, &lost[i]);
            push_next_of(w, a, lost[i].resource_id);
        }
    }
    /* Items delivered to consumers that died are taken over (Redis); our own
     * in-flight items are refreshed so nobody takes them from us. */
    cp_queue_reclaim(app->queue, app->cfg->lease_seconds * 2000, &e);
    /* Re-enqueue runs that have waited a while: a lost queue message loses no run. */
    char **ids;
    size_t n;
    int64_t now = cp_now_ms();
    if (cp_store_runs_claimable(app->store, a, 200, &ids, &n, &e) == CP_OK) {
        json_t *seen = json_object();
        for (size_t i = 0; i < n; i++) {
            json_t *last = json_object_get(w->pushed, ids[i]);
            int64_t t = last ? json_integer_value(last) : 0;
            if (!last) t = now; /* first sighting: give the normal path time */
            if (last && now - t >= REPUSH_AFTER_MS) {
                cp_queue_push(app->queue, ids[i], &e);
                t = now;
            }
            json_object_set_new(seen, ids[i], json_integer(t));
        }
        json_decref(w->pushed);
        w->pushed = seen;
    }
    cp_arena_free(a);
}

static void *reconciler_main(void *arg)
{
    cp_workers *w = arg;
    while (!atomic_load(&w->stopping)) {
        reconcile(w);
        for (int i = 0; i < RECONCILE_MS / 100 && !atomic_load(&w->stopping); i++) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

/* Run dirs left by a crash of this process (runs/<run_id>.<rnd>): removed once
 * their run has ended or is unknown. Runs still in progress keep theirs. */
static void sweep_leftovers(cp_workers *w)
{
    DIR *d = opendir(w->runs_dir);
    if (!d) return;
    cp_arena *a = cp_arena_new(4096);
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char id[CP_ID_LEN + 1], path[PATH_MAX * 2];
        if (strlen(de->d_name) <= CP_ID_LEN || de->d_name[CP_ID_LEN] != '.') continue;
        memcpy(id, de->d_name, CP_ID_LEN);
        id[CP_ID_LEN] = '\0';
        if (!cp_id_valid(id)) continue;
        cp_run run;
        cp_error e;
        cp_result r = cp_store_run_get(w->app->store, a, id, &run, &e);
        if (r == CP_ENOTFOUND || (r == CP_OK && cp_run_status_is_final(run.status))) {
            snprintf(path, sizeof path, "%s/%s", w->runs_dir, de->d_name);
            if (cp_workspace_remove(path) == CP_OK) removed++;
        }
    }
    closedir(d);
    cp_arena_free(a);
    if (removed) cp_log_info("removed %d run dir(s) left by an earlier crash", removed);
}

cp_result cp_workers_start(cp_app *app, int n, cp_workers **out, cp_error *err)
{
    cp_workers *w = calloc(1, sizeof *w);
    if (!w) return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    w->app = app;
    w->n = n;
    if (app->cfg->worker_id[0]) {
        snprintf(w->id, sizeof w->id, "%s", app->cfg->worker_id);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof host - 1);
        snprintf(w->id, sizeof w->id, "%s-%d", host, (int)getpid());
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->pushed = json_object();
    const char *pause = getenv("CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS");
    if (pause && *pause) {
        char *end;
        long long ms = strtoll(pause, &end, 10);
        w->test_pause_ms = *end == '\0' && ms > 0 && ms <= 600000 ? ms : 0;
        cp_log_warn("CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS=%s: test hook active, every claim stalls %lld ms", pause,
                    (long long)w->test_pause_ms);
    }
    resolve_tofu(w);
    resolve_modules(w);
    runner_config(w);
    sweep_leftovers(w);
    char version[64];
    if (cp_runner_probe_tofu(w->tofu, version, sizeof version, err) != CP_OK) {
        cp_log_warn("OpenTofu is not usable (%s): runs will fail until it is installed (scripts/install-tofu.sh)",
                    err->message);
        cp_error_clear(err);
    } else {
        cp_log(CP_LOG_INFO, "engine ready",
               json_pack("{s:s, s:s, s:s, s:i, s:s}", "tofu", w->tofu, "version", version, "modules", w->modules,
                         "workers", n, "state_backend", app->cfg->state_backend));
    }
    /* Say once whether runs will be isolated by bubblewrap, and why not. */
    if (app->cfg->sandbox_bwrap) cp_sandbox_log_status();
    else cp_log_warn("bubblewrap disabled by configuration: OpenTofu runs without a sandbox");
    w->threads = calloc((size_t)(n > 0 ? n : 1), sizeof *w->threads);
    for (int i = 0; i < n; i++) pthread_create(&w->threads[i], NULL, worker_main, w);
    pthread_create(&w->reconciler, NULL, reconciler_main, w);
    *out = w;
    return CP_OK;
}

void cp_workers_stop(cp_workers *w, int64_t grace_ms)
{
    if (!w) return;
    atomic_store(&w->stopping, true);
    cp_queue_wake(w->app->queue);
    int64_t deadline = cp_mono_ms() + grace_ms;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        bool busy = w->running != NULL;
        if (busy && cp_mono_ms() >= deadline) {
            for (job *j = w->running; j; j = j->next) {
                j->canceled = true;
                if (j->runner) cp_runner_cancel(j->runner);
            }
        }
        pthread_mutex_unlock(&w->mu);
        if (!busy) break;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (cp_mono_ms() > deadline + 120000) break;
    }
    for (int i = 0; i < w->n; i++) pthread_join(w->threads[i], NULL);
    pthread_join(w->reconciler, NULL);
    json_decref(w->pushed);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->threads);
    free(w);
}

const char *cp_workers_tofu(const cp_workers *w)
{
    return w->tofu;
}
