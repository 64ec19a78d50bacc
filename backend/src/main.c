/* main.c: CLI dispatch for the one binary: serve, worker, migrate, admin, version,
 * and the client commands (cli/), which start none of the server. */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/metrics.h"
#include "api/sandbox_cloud.h"
#include "app/app.h"
#include "app/issuer_key.h"
#include "auth/password.h"
#include "backup/backup.h"
#include "cli/cli.h"
#include "core/log.h"
#include "core/self.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "engine/proc.h"
#include "engine/provider_mirror.h"
#include "http/server.h"
#include "queue/events.h"
#include "queue/queue.h"
#include "worker/webhooks.h"
#include "worker/worker.h"
#include "store/store_webhooks.h"
#include "store/store_sandbox.h"

#define CP_VERSION "0.1.0"

static void usage(FILE *f)
{
    fprintf(f,
            "cloudplane %s: self-hosted multi-cloud provisioning\n\n"
            "usage: cloudplane <command> [flags]\n\n"
            "commands:\n"
            "  serve      HTTP API and web UI (embedded mode also runs workers)\n"
            "  worker     run jobs from Redis Streams (distributed mode)\n"
            "  migrate    apply database migrations\n"
            "  admin      administration: create-user, rotate-vault-key, rotate-issuer-key, sandbox-key, "
            "backup, restore\n"
            "  version    print the version\n\n"
            "`cloudplane <command> --help` lists every setting.\n\n",
            CP_VERSION);
    cp_cli_usage(f);
}

/* Loads config for a command; returns -1 to continue, else an exit code. */
static int load_config(cp_config *cfg, int argc, char **argv)
{
    char msg[512];
    bool help;
    if (cp_config_load(cfg, argc, argv, &help, msg, sizeof msg) != CP_OK) {
        fprintf(stderr, "cloudplane %s: %s\n", argv[0], msg);
        cp_config_free(cfg);
        return 2;
    }
    if (help) {
        cp_config_print_help("cloudplane", argv[0]);
        cp_config_free(cfg);
        return 0;
    }
    if (cfg->http_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->http_threads = n > 0 ? n : 2;
        /* A PostgreSQL request waits on round trips, during which its thread
         * is idle: more threads keep the cores busy (bench/api.sh: +40-60 %
         * req/s at 4x). Each holds a database connection, hence the cap of
         * 32. SQLite runs in-process, so there a thread per core. */
        const char *u = cfg->database_url ? cfg->database_url : "";
        if (!strncmp(u, "postgres://", 11) || !strncmp(u, "postgresql://", 13)) {
            long t = cfg->http_threads * 4;
            if (t > 32) t = cfg->http_threads > 32 ? cfg->http_threads : 32;
            cfg->http_threads = t;
        }
    }
    return -1;
}

static int fail_start(const char *cmd, const cp_error *e)
{
    fprintf(stderr, "cloudplane %s: %s\n", cmd, e->message);
    return 1;
}

/* Queue and live-event hub: Redis when configured, else in-process. */
static cp_result open_dispatch(cp_app *app, const char *consumer, cp_error *err)
{
    cp_result r = cp_queue_open(app->cfg->redis_url, consumer, &app->queue, err);
    if (r == CP_OK) r = cp_events_open(app->cfg->redis_url, &app->events, err);
    return r;
}

static void close_dispatch(cp_app *app)
{
    cp_events_close(app->events);
    cp_queue_close(app->queue);
    app->events = NULL;
    app->queue = NULL;
}

static void consumer_name(const cp_config *cfg, char *out, size_t cap)
{
    if (cfg->worker_id[0])
        snprintf(out, cap, "%s", cfg->worker_id);
    else
        cp_self_host_id(out, cap);
}

static sigset_t block_signals(void)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    return sigs;
}

/* App, queue, event hub and (n > 0) workers; on failure everything started is
 * closed and the message is printed. Returns an exit code, or -1 on success. */
static int start_runtime(const char *cmd, cp_config *cfg, cp_app *app, bool migrate, int n, cp_workers **workers)
{
    cp_error err;
    cp_error_clear(&err);
    char consumer[128];
    consumer_name(cfg, consumer, sizeof consumer);
    *workers = NULL;
    if (cp_app_init(app, cfg, migrate, &err) == CP_OK && open_dispatch(app, consumer, &err) == CP_OK &&
        (n <= 0 || cp_workers_start(app, n, workers, &err) == CP_OK)) {
        cp_webhooks_announce(app);
        return -1;
    }
    int rc = fail_start(cmd, &err);
    close_dispatch(app);
    cp_app_close(app);
    return rc;
}

static void stop_runtime(cp_app *app, cp_workers *workers, int64_t grace_ms)
{
    cp_workers_stop(workers, grace_ms);
    cp_webhooks_announce(NULL);
    close_dispatch(app);
    cp_app_close(app);
}

static const char *default_web_dir(char *buf, size_t cap)
{
    /* The built UI next to the repo layout: <exe>/../../../frontend/dist, else ./frontend/dist. */
    (void)cp_self_near_exe("frontend/dist", 4, buf, cap); /* either way buf holds the dir to use */
    return buf;
}

/* The sandbox cloud's API is this process: http://<listen host>:<port>, a
 * wildcard host turned into loopback; port < 0: the configured one. */
static void default_sandbox_endpoint(cp_config *cfg, int port)
{
    const char *l = cfg->listen, *colon = strrchr(l, ':');
    if (!colon) return;
    int hl = (int)(colon - l);
    const char *host = l;
    if (hl == 0 || (hl == 7 && !strncmp(l, "0.0.0.0", 7)) || (hl == 1 && l[0] == '*')) host = "127.0.0.1", hl = 9;
    if (hl == 4 && !strncmp(l, "[::]", 4)) host = "[::1]", hl = 5;
    char url[512];
    if (port >= 0)
        snprintf(url, sizeof url, "http://%.*s:%d", hl, host, port);
    else
        snprintf(url, sizeof url, "http://%.*s:%s", hl, host, colon + 1);
    free(cfg->sandbox_endpoint);
    cfg->sandbox_endpoint = strdup(url);
    if (!cfg->sandbox_endpoint) abort();
}

static int cmd_serve(int argc, char **argv)
{
    cp_config cfg;
    int rc = load_config(&cfg, argc, argv);
    if (rc >= 0) return rc;
    bool own_endpoint = !cfg.sandbox_endpoint[0];
    if (own_endpoint) default_sandbox_endpoint(&cfg, -1);

    /* Signals are taken synchronously by sigwait below; block them before any thread starts. */
    sigset_t sigs = block_signals();

    cp_app app;
    cp_error err;
    cp_error_clear(&err);
    cp_workers *workers;
    /* Embedded mode runs the workers here; with Redis, `cloudplane worker` does. */
    int nworkers = cfg.redis_url[0] ? 0 : (int)cfg.workers;
    if ((rc = start_runtime("serve", &cfg, &app, true, nworkers, &workers)) >= 0) {
        cp_config_free(&cfg);
        return rc;
    }
    char webbuf[PATH_MAX];
    cp_server_config sc = {
        .listen = cfg.listen,
        .threads = (int)cfg.http_threads,
        .max_body = (size_t)cfg.max_body_bytes,
        .access_log = cfg.access_log,
        .web_dir = cfg.web_dir[0] ? cfg.web_dir : default_web_dir(webbuf, sizeof webbuf),
        .routes = cp_api_routes,
        .nroutes = cp_api_nroutes,
        .app = &app,
        .trusted_proxies = cfg.trusted_proxies,
        .conn_per_ip = (int)cfg.conn_per_ip,
        .max_connections = (int)cfg.max_connections,
        .connection_memory = (size_t)cfg.connection_memory,
        .read_timeout_s = (int)cfg.read_timeout_seconds,
        .authenticate = cp_api_authenticate,
        .authenticate_sandbox = cp_api_sandbox_authenticate,
    };
    cp_server *srv, *msrv;
    if (cp_api_metrics_start(&app, true, &msrv, &err) != CP_OK || cp_server_start(&sc, &srv, &err) != CP_OK) {
        rc = fail_start("serve", &err);
        cp_server_stop(msrv, 0);
        stop_runtime(&app, workers, 0);
        cp_config_free(&cfg);
        return rc;
    }
    if (own_endpoint) { /* the port is known now (--listen host:0) */
        default_sandbox_endpoint(&cfg, cp_server_port(srv));
        cp_workers_set_sandbox_endpoint(workers, cfg.sandbox_endpoint);
    }
    char url[128];
    const char *host = cfg.listen;
    const char *colon = strrchr(host, ':');
    snprintf(url, sizeof url, "http://%.*s:%d/", (int)(colon - host), colon == host ? "127.0.0.1" : host,
             cp_server_port(srv));
    if (colon == host) snprintf(url, sizeof url, "http://127.0.0.1:%d/", cp_server_port(srv));
    snprintf(app.public_url, sizeof app.public_url, "%.*s", (int)strlen(url) - 1, url);
    cp_log(CP_LOG_INFO, "listening",
           json_pack("{s:s, s:I, s:s, s:s}", "url", url, "http_threads", (json_int_t)cfg.http_threads, "data_dir",
                     cfg.data_dir, "database", cfg.database_url[0] ? "postgres" : "sqlite"));
    printf("cloudplane is running at %s\n", url);
    if (cfg.mail_outbox[0])
        printf("mails (sign-up and invitation links) are written to %s\n", cfg.mail_outbox);
    else
        printf("mails (sign-up and invitation links) are written to the log (set CLOUDPLANE_MAIL_OUTBOX=DIR for "
               "files)\n");
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    cp_log_info("received %s, shutting down (grace %lds)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                cfg.shutdown_grace_seconds);
    cp_server_stop(srv, cfg.shutdown_grace_seconds * 1000);
    cp_server_stop(msrv, 0);
    stop_runtime(&app, workers, cfg.shutdown_grace_seconds * 1000);
    cp_log_info("stopped");
    cp_config_free(&cfg);
    return 0;
}

/* Distributed mode: take runs from Redis Streams until SIGTERM. */
static int cmd_worker(int argc, char **argv)
{
    cp_config cfg;
    int rc = load_config(&cfg, argc, argv);
    if (rc >= 0) return rc;
    sigset_t sigs = block_signals();
    if (!cfg.redis_url[0] || !cfg.database_url[0]) {
        fprintf(stderr, "cloudplane worker: needs CLOUDPLANE_REDIS_URL and CLOUDPLANE_DATABASE_URL (distributed mode);"
                        " in embedded mode `serve` runs the workers\n");
        cp_config_free(&cfg);
        return 2;
    }
    /* A worker that generated its own vault key could open no credentials. */
    if (!cfg.vault_keys[0] && !cfg.vault_keys_file[0]) {
        fprintf(stderr, "cloudplane worker: set CLOUDPLANE_VAULT_KEYS or CLOUDPLANE_VAULT_KEYS_FILE to the keys the"
                        " API servers use\n");
        cp_config_free(&cfg);
        return 2;
    }
    cp_app app;
    cp_workers *workers;
    int slots = (int)(cfg.workers > 0 ? cfg.workers : 1);
    if ((rc = start_runtime("worker", &cfg, &app, false, slots, &workers)) >= 0) {
        cp_config_free(&cfg);
        return rc;
    }
    cp_server *msrv;
    cp_error err;
    if (cp_api_metrics_start(&app, false, &msrv, &err) != CP_OK) {
        rc = fail_start("worker", &err);
        stop_runtime(&app, workers, 0);
        cp_config_free(&cfg);
        return rc;
    }
    char consumer[128];
    consumer_name(&cfg, consumer, sizeof consumer);
    cp_log(CP_LOG_INFO, "worker started",
           json_pack("{s:s, s:I}", "consumer", consumer, "slots", (json_int_t)cfg.workers));
    int sig = 0;
    sigwait(&sigs, &sig);
    cp_log_info("received %s, finishing runs (grace %lds)", sig == SIGINT ? "SIGINT" : "SIGTERM",
                cfg.shutdown_grace_seconds);
    cp_server_stop(msrv, 0);
    stop_runtime(&app, workers, cfg.shutdown_grace_seconds * 1000);
    cp_config_free(&cfg);
    return 0;
}

static int cmd_migrate(int argc, char **argv)
{
    cp_config cfg;
    int rc = load_config(&cfg, argc, argv);
    if (rc >= 0) return rc;
    cp_app app;
    cp_error err;
    cp_error_clear(&err);
    rc = 0;
    if (cp_app_init(&app, &cfg, true, &err) != CP_OK)
        rc = fail_start("migrate", &err);
    else
        printf("database is up to date\n");
    cp_app_close(&app);
    cp_config_free(&cfg);
    return rc;
}

/* Re-seals the saved plans awaiting approval that are not under the current
 * key (plans stored in the clear before plans were sealed are sealed now).
 * Adds to *done and *failed. */
static void rotate_plans(cp_app *app, cp_arena *a, const char *current, size_t *done, size_t *failed)
{
    cp_run_plan_row *rows;
    size_t n;
    cp_error e;
    if (cp_store_run_plans_not_under(app->store, a, current, &rows, &n, &e) != CP_OK) {
        fprintf(stderr, "saved plans: %s\n", e.message);
        (*failed)++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cp_run_plan_row *x = &rows[i];
        char *plain = NULL;
        size_t len = 0, cap = 0;
        cp_vault_sealed sealed = {0};
        cp_result r;
        if (x->plan.key_id) {
            r = cp_vault_open_plan(app->vault, x->plan.key_id, x->plan.nonce, x->plan.ciphertext, x->run_id,
                                   x->project_id, &plain, &len, &e);
            cap = len;
        } else { /* in the clear: base64 */
            cap = strlen(x->plan.ciphertext) + 1;
            plain = cp_xmalloc(cap);
            r = sodium_base642bin((unsigned char *)plain, cap, x->plan.ciphertext, cap - 1, NULL, &len, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) == 0
                    ? CP_OK
                    : cp_error_set(&e, CP_ERR, NULL, NULL, "a plan stored in the clear is not base64");
        }
        if (r == CP_OK) r = cp_vault_seal_plan(app->vault, a, plain, len, x->run_id, x->project_id, &sealed, &e);
        cp_sealed_plan sp = {sealed.key_id, sealed.nonce_b64, sealed.ciphertext_b64};
        if (r == CP_OK) r = cp_store_run_plan_reseal(app->store, x->run_id, x->plan.ciphertext, &sp, &e);
        if (r == CP_OK) {
            (*done)++;
        } else {
            fprintf(stderr, "run %s (saved plan): %s\n", x->run_id, e.message);
            (*failed)++;
        }
        cp_vault_wipe(plain, cap);
    }
}

/* Re-seals the webhooks' signing secrets not under the current key. Adds
 * to *done and *failed. */
static void rotate_webhooks(cp_app *app, cp_arena *a, const char *current, size_t *done, size_t *failed)
{
    cp_webhook *hooks;
    size_t n;
    cp_error e;
    if (cp_store_webhooks_not_under(app->store, a, current, &hooks, &n, &e) != CP_OK) {
        fprintf(stderr, "webhooks: %s\n", e.message);
        (*failed)++;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cp_webhook *x = &hooks[i];
        char *plain = NULL;
        size_t len = 0;
        cp_vault_sealed sealed;
        if (cp_vault_open_webhook(app->vault, x->secret_key_id, x->secret_nonce, x->secret_ciphertext, x->id,
                                  x->project_id, &plain, &len, &e) != CP_OK ||
            cp_vault_seal_webhook(app->vault, a, plain, len, x->id, x->project_id, &sealed, &e) != CP_OK ||
            cp_store_webhook_reseal(app->store, x->id, x->secret_ciphertext, sealed.key_id, sealed.nonce_b64,
                                    sealed.ciphertext_b64, &e) != CP_OK) {
            fprintf(stderr, "webhook %s: %s\n", x->id, e.message);
            (*failed)++;
        } else {
            (*done)++;
        }
        cp_vault_wipe(plain, len);
    }
}

/* Re-seals every credential under the current (first) vault key. Instances
 * keep working throughout: records stay readable under any key in the ring,
 * so roll the new key out to every instance (as a non-first key, then first)
 * before running this. */
static int cmd_rotate(int argc, char **argv)
{
    cp_config cfg;
    int rc = load_config(&cfg, argc, argv);
    if (rc >= 0) return rc;
    cp_app app;
    cp_error err;
    cp_error_clear(&err);
    if (cp_app_init(&app, &cfg, true, &err) != CP_OK) {
        rc = fail_start("admin rotate-vault-key", &err);
        cp_app_close(&app);
        cp_config_free(&cfg);
        return rc;
    }
    const char *current = cp_vault_current_key_id(app.vault);
    cp_arena *a = cp_arena_new(16384);
    cp_account *accs;
    size_t n, done = 0, failed = 0, skipped = 0;
    if (cp_store_accounts_all(app.store, a, &accs, &n, &err) != CP_OK) n = 0, failed = 1;
    for (size_t i = 0; i < n; i++) {
        cp_account *x = &accs[i];
        if (!x->ciphertext[0] || !strcmp(x->key_id, current)) {
            skipped++;
            continue;
        }
        char *plain = NULL;
        size_t len = 0;
        cp_vault_sealed sealed;
        cp_error e;
        if (cp_vault_open(app.vault, x->key_id, x->nonce, x->ciphertext, x->id, x->project_id, &plain, &len, &e) !=
                CP_OK ||
            cp_vault_seal(app.vault, a, plain, len, x->id, x->project_id, &sealed, &e) != CP_OK ||
            cp_store_account_reseal(app.store, x->id, x->key_id, sealed.key_id, sealed.nonce_b64, sealed.ciphertext_b64,
                                    &e) != CP_OK) {
            fprintf(stderr, "account %s: %s\n", x->id, e.message);
            failed++;
        } else {
            done++;
        }
        cp_vault_wipe(plain, len);
    }
    printf("re-sealed %zu account(s) under vault key %s; %zu already current; %zu failed\n", done, current, skipped,
           failed);
    size_t plans = 0, plans_failed = 0;
    rotate_plans(&app, a, current, &plans, &plans_failed);
    printf("re-sealed %zu saved plan(s) awaiting approval; %zu failed\n", plans, plans_failed);
    failed += plans_failed;
    size_t hooks = 0, hooks_failed = 0;
    rotate_webhooks(&app, a, current, &hooks, &hooks_failed);
    printf("re-sealed %zu webhook secret(s); %zu failed\n", hooks, hooks_failed);
    failed += hooks_failed;
    cp_arena_free(a);
    cp_app_close(&app);
    cp_config_free(&cfg);
    return failed ? 1 : 0;
}

/* A new sandbox cloud API key, registered and printed (alone, on stdout): for
 * tofu runs outside the platform and for tests. Only its hash is stored. */
static int cmd_sandbox_key(int argc, char **argv)
{
    cp_config cfg;
    int rc = load_config(&cfg, argc, argv);
    if (rc >= 0) return rc;
    cp_app app;
    cp_error err;
    cp_error_clear(&err);
    char key[CP_SANDBOX_KEY_LEN + 1], hash[CP_SANDBOX_HASH_LEN + 1];
    cp_sandbox_key_new(key);
    cp_sandbox_key_hash(key, hash);
    if (cp_app_init(&app, &cfg, true, &err) != CP_OK ||
        cp_store_sandbox_key_register(app.store, hash, cp_now_ms(), &err) != CP_OK) {
        rc = fail_start("admin sandbox-key", &err);
    } else {
        printf("%s\n", key);
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
    sodium_memzero(key, sizeof key);
    cp_app_close(&app);
    cp_config_free(&cfg);
    return rc;
}

static void print_progress(const char *line)
{
    printf("  %s\n", line);
    fflush(stdout);
}

/* admin providers mirror DIR [--platform P]... [flags] */
static int cmd_providers(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "mirror") != 0 || argv[2][0] == '-') {
        fprintf(stderr, "usage: cloudplane admin providers mirror DIR [--platform linux_amd64]... [flags]\n");
        return 2;
    }
    const char *dest = argv[2];
    cp_strv plats, rest;
    cp_strv_init(&plats);
    cp_strv_init(&rest);
    cp_strv_add(&rest, "admin providers mirror");
    for (int i = 3; i < argc; i++) {
        if (!strncmp(argv[i], "--platform=", 11))
            cp_strv_add(&plats, argv[i] + 11);
        else if (!strcmp(argv[i], "--platform") && i + 1 < argc)
            cp_strv_add(&plats, argv[++i]);
        else
            cp_strv_add(&rest, argv[i]);
    }
    cp_config cfg;
    int rc = load_config(&cfg, (int)rest.n, rest.v);
    if (rc < 0) {
        char tofu[PATH_MAX], modules[PATH_MAX];
        cp_workers_engine_paths(&cfg, tofu, sizeof tofu, modules, sizeof modules);
        cp_provider_mirror_spec spec = {.tofu = tofu,
                                        .modules_dir = modules,
                                        .dest = dest,
                                        .platforms = (const char *const *)plats.v,
                                        .progress = print_progress};
        cp_error err;
        cp_error_clear(&err);
        printf("filling the provider mirror %s from %s\n", dest, modules);
        if (cp_provider_mirror_fill(&spec, &err) == CP_OK) {
            printf("done: point CLOUDPLANE_PROVIDER_MIRROR at %s\n", dest);
            rc = 0;
        } else {
            fprintf(stderr, "cloudplane admin providers mirror: %s\n", err.message);
            rc = 1;
        }
        cp_config_free(&cfg);
    }
    cp_strv_free(&plats);
    cp_strv_free(&rest);
    return rc;
}

/* admin backup FILE [flags] | admin restore FILE --data-dir DIR [--force] [flags]: the
 * work is in backup/; the passphrase comes from CLOUDPLANE_BACKUP_PASSPHRASE or the terminal. */
static int cmd_backup_restore(int argc, char **argv)
{
    bool restore = !strcmp(argv[0], "restore"), force = false;
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, restore ? "usage: cloudplane admin restore FILE --data-dir DIR [--force] [flags]\n"
                                : "usage: cloudplane admin backup FILE [flags]\n");
        return 2;
    }
    const char *file = argv[1];
    cp_strv rest;
    cp_strv_init(&rest);
    cp_strv_add(&rest, restore ? "admin restore" : "admin backup");
    for (int i = 2; i < argc; i++) {
        if (restore && !strcmp(argv[i], "--force"))
            force = true;
        else
            cp_strv_add(&rest, argv[i]);
    }
    cp_config cfg;
    int rc = load_config(&cfg, (int)rest.n, rest.v);
    if (rc < 0) {
        char pass[CP_BACKUP_PASSPHRASE_MAX];
        cp_error err;
        cp_error_clear(&err);
        cp_result r = sodium_init() < 0 ? cp_error_set(&err, CP_ERR, NULL, NULL, "libsodium failed to initialize")
                                        : cp_backup_passphrase(!restore, pass, sizeof pass, &err);
        if (r == CP_OK)
            r = restore ? cp_restore_run(&cfg, file, pass, force, stdout, &err)
                        : cp_backup_run(&cfg, file, pass, cp_archive_kdf_default(), stdout, &err);
        sodium_memzero(pass, sizeof pass);
        rc = r == CP_OK ? 0 : fail_start(rest.v[0], &err);
        cp_config_free(&cfg);
    }
    cp_strv_free(&rest);
    return rc;
}

/* A new run-token issuer key first in the key file; the old ones stay
 * published until removed (app/issuer_key.h). Restart serve and the workers. */
static int cmd_rotate_issuer(int argc, char **argv)
{
    cp_config cfg;
    int rc = load_config(&cfg, argc, argv);
    if (rc >= 0) return rc;
    cp_error err;
    cp_error_clear(&err);
    rc = cp_app_issuer_rotate(&cfg, stdout, &err) == CP_OK ? 0 : fail_start("admin rotate-issuer-key", &err);
    cp_config_free(&cfg);
    return rc;
}

/* admin create-user EMAIL NAME  (password on stdin) | admin rotate-vault-key | admin sandbox-key |
 * admin providers mirror DIR | admin backup FILE | admin restore FILE */
static int cmd_admin(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: cloudplane admin create-user EMAIL NAME [flags]   (password read from stdin)\n"
               "       cloudplane admin rotate-vault-key [flags]         (re-seal all credentials under the first"
               " vault key)\n"
               "       cloudplane admin rotate-issuer-key [flags]        (a new run-token signing key first; the old"
               " ones stay published)\n"
               "       cloudplane admin sandbox-key [flags]              (register a new sandbox cloud API key and"
               " print it)\n"
               "       cloudplane admin providers mirror DIR [--platform P]... (fill a provider mirror)\n"
               "       cloudplane admin backup FILE [flags]              (sealed online backup of the data dir)\n"
               "       cloudplane admin restore FILE --data-dir DIR [--force] (restore a backup into DIR)\n"
               "backup and restore read the passphrase from CLOUDPLANE_BACKUP_PASSPHRASE, else ask on the"
               " terminal\n");
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "rotate-vault-key")) return cmd_rotate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "rotate-issuer-key")) return cmd_rotate_issuer(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sandbox-key")) return cmd_sandbox_key(argc - 1, argv + 1);
    if (!strcmp(argv[1], "providers")) return cmd_providers(argc - 1, argv + 1);
    if (!strcmp(argv[1], "backup") || !strcmp(argv[1], "restore")) return cmd_backup_restore(argc - 1, argv + 1);
    if (strcmp(argv[1], "create-user") != 0 || argc < 4) {
        fprintf(stderr, "cloudplane admin: unknown or incomplete command (see cloudplane admin --help)\n");
        return 2;
    }
    const char *email = argv[2], *name = argv[3];
    argv[3] = argv[0]; /* remaining flags parse as config */
    cp_config cfg;
    int rc = load_config(&cfg, argc - 3, argv + 3);
    if (rc >= 0) return rc;
    char pw[1100];
    if (!fgets(pw, sizeof pw, stdin)) pw[0] = '\0';
    pw[strcspn(pw, "\r\n")] = '\0';
    cp_app app;
    cp_error err;
    cp_error_clear(&err);
    rc = 0;
    char hash[CP_PASSWORD_HASH_MAX];
    cp_arena *a = cp_arena_new(1024);
    cp_user u;
    if (strlen(pw) < 10) {
        fprintf(stderr, "cloudplane admin: password must be at least 10 characters\n");
        rc = 2;
    } else if (cp_app_init(&app, &cfg, true, &err) != CP_OK) {
        rc = fail_start("admin", &err);
        cp_app_close(&app);
    } else {
        char lower[256];
        snprintf(lower, sizeof lower, "%s", email);
        for (char *p = lower; *p; p++) *p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        if (cp_password_hash(pw, hash) != CP_OK ||
            cp_store_user_create(app.store, a, lower, name, hash, &u, &err) != CP_OK)
            rc = fail_start("admin", &err);
        else
            printf("created user %s (%s)\n", u.email, u.id);
        cp_app_close(&app);
    }
    cp_arena_free(a);
    cp_config_free(&cfg);
    return rc;
}

int main(int argc, char **argv)
{
    cp_json_init(); /* jansson allocates through cp_xmalloc: out of memory aborts in one place */
    /* Data dir, database and keys hold secrets: nothing we create is group/world readable. */
    umask(077);
    if (argc > 2 && !strcmp(argv[1], "help")) return cp_cli_help(argc - 2, argv + 2);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("cloudplane %s\n", CP_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 1, argv + 1);
    if (!strcmp(cmd, "worker")) return cmd_worker(argc - 1, argv + 1);
    if (!strcmp(cmd, "migrate")) return cmd_migrate(argc - 1, argv + 1);
    if (!strcmp(cmd, "admin")) return cmd_admin(argc - 1, argv + 1);
    if (cp_cli_is_command(cmd)) return cp_cli_main(argc - 1, argv + 1);
    fprintf(stderr, "cloudplane: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
