/* pool.c: the worker pool. Start resolves what runs need (the tofu binary,
 * the modules, the runner config), sweeps run dirs left by a crash, and
 * starts the worker threads (each pops run ids from the queue and processes
 * them: job.c) and the reconciler; stop drains or cancels them and joins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/self.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "core/secretfile.h"
#include "engine/provider_mirror.h"
#include "engine/sandbox.h"
#include "queue/queue.h"
#include "worker/webhooks.h"
#include "worker/worker_int.h"

/* ---- setup ---- */

static bool executable(const char *p)
{
    return access(p, X_OK) == 0;
}

static void resolve_tofu(const cp_config *cfg, char *out, size_t cap)
{
    if (cfg->tf_binary[0]) {
        snprintf(out, cap, "%s", cfg->tf_binary);
        return;
    }
    const char *home = getenv("HOME");
    char p[PATH_MAX];
    if (home && snprintf(p, sizeof p, "%s/.cache/cloudplane/tofu/" CP_TOFU_VERSION "/tofu", home) < (int)sizeof p &&
        executable(p)) {
        snprintf(out, cap, "%s", p);
        return;
    }
    const char *dirs[] = {"/usr/local/bin/tofu", "/usr/bin/tofu"};
    for (size_t i = 0; i < CP_ARRAY_LEN(dirs); i++)
        if (executable(dirs[i])) {
            snprintf(out, cap, "%s", dirs[i]);
            return;
        }
    snprintf(out, cap, "tofu");
}

static void resolve_modules(const cp_config *cfg, char *out, size_t cap)
{
    if (cfg->modules_dir[0]) snprintf(out, cap, "%s", cfg->modules_dir);
    /* Not found beside the binary: "terraform/modules" under the working dir. */
    else if (!cp_self_near_exe("terraform/modules", 5, out, cap))
        cp_log_debug("modules: none beside the executable; using %s", out);
}

void cp_workers_engine_paths(const cp_config *cfg, char *tofu, size_t tcap, char *modules, size_t mcap)
{
    resolve_tofu(cfg, tofu, tcap);
    resolve_modules(cfg, modules, mcap);
}

/* Where providers come from: the configured mirror, else the default one
 * when scripts/install-provider.sh made it; the shared plugin cache; and
 * what the sandbox cloud's provider needs to find it. */
static void provider_config(cp_workers *w)
{
    const cp_config *cfg = w->app->cfg;
    cp_runner_config *rc = &w->rc;
    if (cfg->provider_mirror[0])
        snprintf(w->mirror, sizeof w->mirror, "%s", cfg->provider_mirror);
    else if (!cp_provider_default_mirror(w->mirror, sizeof w->mirror))
        w->mirror[0] = '\0';
    rc->provider_mirror = w->mirror;
    rc->provider_direct = cfg->provider_direct;
    if (cfg->plugin_cache_dir[0])
        snprintf(w->plugin_cache, sizeof w->plugin_cache, "%s", cfg->plugin_cache_dir);
    else
        snprintf(w->plugin_cache, sizeof w->plugin_cache, "%s/plugin-cache", cfg->data_dir);
    /* Runs see it at this path (bwrap binds it in place): make it absolute. */
    char abs[PATH_MAX];
    cp_error e;
    if (cp_mkdirs(w->plugin_cache, 0700, &e) == CP_OK && realpath(w->plugin_cache, abs))
        snprintf(w->plugin_cache, sizeof w->plugin_cache, "%s", abs);
    rc->plugin_cache_dir = w->plugin_cache;
    snprintf(w->sandbox_endpoint, sizeof w->sandbox_endpoint, "%s", cfg->sandbox_endpoint);
}

void cp_workers_set_sandbox_endpoint(cp_workers *w, const char *url)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    snprintf(w->sandbox_endpoint, sizeof w->sandbox_endpoint, "%s", url);
    pthread_mutex_unlock(&w->mu);
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
    rc->insecure_no_sandbox = cfg->insecure_no_sandbox;
    rc->fast_apply = true;
    rc->phase_timeout_s = (int)cfg->run_timeout_seconds;
    rc->cancel_grace_s = cfg->cancel_grace_seconds > 0 ? (int)cfg->cancel_grace_seconds : -1;
    rc->lock_timeout_s = 30;
    provider_config(w);
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
        sc->s3_web_identity_role_arn = cfg->state_s3_web_identity_role_arn;
        sc->s3_web_identity_audience = cfg->state_s3_web_identity_audience;
        sc->s3_sts_endpoint = cfg->state_s3_sts_endpoint;
    } else {
        sc->kind = CP_STATE_LOCAL;
        sc->local_dir = w->state_dir;
    }
}

/* A test hook's milliseconds (0 when unset or malformed), said loudly when set. */
static int64_t read_test_ms(const char *name, const char *what)
{
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    long long ms = strtoll(v, &end, 10);
    int64_t out = *end == '\0' && ms > 0 && ms <= 600000 ? ms : 0;
    cp_log_warn("%s=%s: test hook active, %s %lld ms", name, v, what, (long long)out);
    return out;
}

static void read_test_hooks(cp_workers *w)
{
    w->test_pause_ms = read_test_ms("CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS", "every claim stalls");
    w->test_fail_hb_ms = read_test_ms("CLOUDPLANE_TEST_FAIL_HEARTBEAT_AFTER_MS",
                                      "every lease renewal fails once its run has been applying for");
}

/* Says once which tofu runs will use, and whether bubblewrap isolates them. */
static void log_engine(cp_workers *w, int n)
{
    const cp_config *cfg = w->app->cfg;
    char version[64];
    cp_error e;
    if (cp_runner_probe_tofu(w->tofu, version, sizeof version, &e) != CP_OK)
        cp_log_warn("OpenTofu is not usable (%s): runs will fail until it is installed (scripts/install-tofu.sh)",
                    e.message);
    else
        cp_log(CP_LOG_INFO, "engine ready",
               json_pack("{s:s, s:s, s:s, s:i, s:s}", "tofu", w->tofu, "version", version, "modules", w->modules,
                         "workers", n, "state_backend", cfg->state_backend));
    if (cfg->sandbox_bwrap)
        cp_sandbox_log_status();
    else
        cp_log_warn("bubblewrap disabled by configuration: OpenTofu runs without a sandbox");
    cp_log(CP_LOG_INFO, "providers",
           json_pack("{s:s, s:s, s:b, s:s}", "mirror", w->mirror[0] ? w->mirror : "(none)", "plugin_cache",
                     w->plugin_cache, "direct", cfg->provider_direct, "sandbox_endpoint",
                     cfg->sandbox_endpoint[0] ? cfg->sandbox_endpoint : "(none)"));
    if (!w->mirror[0] && !cfg->provider_direct)
        cp_log_warn("no provider mirror (CLOUDPLANE_PROVIDER_MIRROR) and direct installation is off "
                    "(CLOUDPLANE_PROVIDER_DIRECT): only providers already in the plugin cache can be used");
    if (!cfg->sandbox_endpoint[0])
        cp_log_warn("CLOUDPLANE_SANDBOX_ENDPOINT is not set: runs on the sandbox cloud will fail (set it to the URL "
                    "of a cloudplane serve, e.g. http://api-host:8080)");
}

/* Run dirs left by a crash of this process (runs/<run_id>.<rnd>): removed once
 * their run has ended or is unknown. Runs still in progress keep theirs, and
 * so does any run the store cannot tell about now. */
static void sweep_leftovers(cp_workers *w)
{
    int64_t removed = cp_worker__prune_run_dirs(w, INT64_MAX);
    if (removed) cp_log_info("removed %lld run dir(s) left by an earlier crash", (long long)removed);
}

/* ---- the worker threads ---- */

static void *worker_main(void *arg)
{
    cp_workers *w = arg;
    bool failing = false;
    while (!atomic_load(&w->stopping)) {
        char run_id[CP_QUEUE_ID_MAX], token[CP_QUEUE_ID_MAX];
        cp_error e;
        cp_result r = cp_queue_pop(w->app->queue, 1000, run_id, token, &e);
        if (r == CP_EAGAIN) continue;
        if (r != CP_OK) {
            if (!failing) cp_log_warn("queue: pop failed (retrying every second): %s", e.message);
            failing = true;
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            continue;
        }
        failing = false;
        if (atomic_load(&w->stopping)) break; /* unacked: another worker gets it */
        cp_metrics_inc(workers_busy);
        cp_worker__process(w, run_id);
        cp_metrics_dec(workers_busy);
        /* An item left unacked comes back later; the claim turns it away. */
        if (cp_queue_ack(w->app->queue, token, &e) != CP_OK)
            cp_log_warn("queue: ack of run %s failed: %s", run_id, e.message);
    }
    cp_metrics_dec(worker_slots);
    return NULL;
}

/* Stops and joins the threads started so far (w->n workers, the reconciler). */
static void join_all(cp_workers *w)
{
    for (int i = 0; i < w->n; i++) pthread_join(w->threads[i], NULL);
    if (w->reconciler_started) pthread_join(w->reconciler, NULL);
    if (w->watchdog_started) pthread_join(w->watchdog, NULL);
}

static void free_pool(cp_workers *w)
{
    json_decref(w->pushed);
    pthread_mutex_destroy(&w->mu);
    free(w->threads);
    free(w);
}

cp_result cp_workers_start(cp_app *app, int n, cp_workers **out, cp_error *err)
{
    cp_workers *w = cp_xcalloc(1, sizeof *w);
    w->app = app;
    if (app->cfg->worker_id[0])
        snprintf(w->id, sizeof w->id, "%s", app->cfg->worker_id);
    else
        cp_self_host_id(w->id, sizeof w->id);
    pthread_mutex_init(&w->mu, NULL);
    w->pushed = json_object();
    read_test_hooks(w);
    cp_workers_engine_paths(app->cfg, w->tofu, sizeof w->tofu, w->modules, sizeof w->modules);
    runner_config(w);
    sweep_leftovers(w);
    log_engine(w, n);
    w->threads = cp_xcalloc((size_t)(n > 0 ? n : 1), sizeof *w->threads);
    bool ok = true;
    for (int i = 0; i < n && ok; i++) {
        /* Counted before the thread runs, so a scrape right after start
         * sees every slot (the thread takes it off when it ends). */
        cp_metrics_inc(worker_slots);
        ok = pthread_create(&w->threads[i], NULL, worker_main, w) == 0;
        if (ok)
            w->n++;
        else
            cp_metrics_dec(worker_slots);
    }
    if (ok) {
        w->reconciler_started = pthread_create(&w->reconciler, NULL, cp_worker__reconciler_main, w) == 0;
        ok = w->reconciler_started;
    }
    if (ok) {
        w->watchdog_started = pthread_create(&w->watchdog, NULL, cp_worker__watchdog_main, w) == 0;
        ok = w->watchdog_started;
    }
    if (!ok) {
        atomic_store(&w->stopping, true);
        cp_queue_wake(app->queue);
        join_all(w);
        free_pool(w);
        return cp_error_set(err, CP_ERR, NULL, NULL, "cannot start the worker threads");
    }
    cp_result hr = cp_webhooks_start(app, w->id, &w->hooks, err);
    if (hr != CP_OK) {
        atomic_store(&w->stopping, true);
        cp_queue_wake(app->queue);
        join_all(w);
        free_pool(w);
        return hr;
    }
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
    join_all(w);
    cp_webhooks_stop(w->hooks);
    free_pool(w);
}
