#include "app/app.h"

#include "core/mail.h"
#include "app/issuer_key.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "engine/guardrails_cache.h"
#include "core/secretfile.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

const char *cp_app_database_url(const cp_config *cfg, char *buf, size_t cap)
{
    if (cfg->database_url && cfg->database_url[0]) return cfg->database_url;
    snprintf(buf, cap, "%s/cloudplane.db", cfg->data_dir);
    return buf;
}

/* The JWT key: env, then file, then generated into <data>/keys/jwt.key. */
static cp_result load_jwt_key(cp_app *app, const char *keydir, cp_error *err)
{
    char text[512];
    const cp_config *cfg = app->cfg;
    cp_result r = CP_OK;
    if (cfg->jwt_secret[0]) {
        snprintf(text, sizeof text, "%s", cfg->jwt_secret);
    } else if (cfg->jwt_secret_file[0]) {
        r = cp_secret_read(cfg->jwt_secret_file, text, sizeof text, err);
    } else {
        char path[PATH_MAX + 32], fresh[65];
        unsigned char raw[32];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(fresh, sizeof fresh, raw, sizeof raw);
        sodium_memzero(raw, sizeof raw);
        snprintf(path, sizeof path, "%s/jwt.key", keydir);
        bool created;
        r = cp_secret_read_or_create(path, fresh, text, sizeof text, &created, err);
        sodium_memzero(fresh, sizeof fresh);
        if (r == CP_OK && created) cp_log_info("generated JWT signing key at %s (mode 0600)", path);
    }
    if (r != CP_OK) return r;
    size_t len = strlen(text);
    if (len < CP_JWT_KEY_MIN || len > sizeof app->jwt.key) {
        sodium_memzero(text, sizeof text);
        return cp_error_set(err, CP_EINVAL, "jwt_key", NULL, "the JWT signing key must be %d to %zu bytes long",
                            CP_JWT_KEY_MIN, sizeof app->jwt.key);
    }
    memcpy(app->jwt.key, text, len);
    app->jwt.key_len = len;
    sodium_memzero(text, sizeof text);
    return CP_OK;
}

/* Vault keys: env, then file, then generated into <data>/keys/vault.keys. */
static cp_result load_vault(cp_app *app, const char *keydir, cp_error *err)
{
    char text[4096];
    const cp_config *cfg = app->cfg;
    cp_result r = CP_OK;
    if (cfg->vault_keys[0]) {
        snprintf(text, sizeof text, "%s", cfg->vault_keys);
    } else if (cfg->vault_keys_file[0]) {
        r = cp_secret_read(cfg->vault_keys_file, text, sizeof text, err);
    } else {
        char path[PATH_MAX + 32], fresh[128];
        char id[24];
        snprintf(id, sizeof id, "k%lld", (long long)(cp_now_ms() / 1000));
        cp_vault_generate_key_line(id, fresh, sizeof fresh);
        snprintf(path, sizeof path, "%s/vault.keys", keydir);
        bool created;
        r = cp_secret_read_or_create(path, fresh, text, sizeof text, &created, err);
        sodium_memzero(fresh, sizeof fresh);
        if (r == CP_OK && created) cp_log_info("generated vault master key at %s (mode 0600)", path);
    }
    if (r == CP_OK) r = cp_vault_new(text, &app->vault, err);
    sodium_memzero(text, sizeof text);
    return r;
}

/* A limit of n a period: a bucket of n that refills over the period, so a
 * burst of n is allowed and then one per period/n. */
static cp_throttle *per_period(long n, double period_s)
{
    return cp_throttle_new((double)n / period_s, (double)n, 100000);
}

static cp_result init_limits(cp_app *app, const cp_config *cfg, cp_error *err)
{
    app->limit_ip[CP_LIMIT_SIGNUP] = per_period(cfg->signup_ip_per_hour, 3600);
    app->limit_account[CP_LIMIT_SIGNUP] = per_period(cfg->signup_account_per_hour, 3600);
    app->limit_ip[CP_LIMIT_LOGIN] = per_period(cfg->login_ip_per_minute, 60);
    app->limit_account[CP_LIMIT_LOGIN] = per_period(cfg->login_account_per_minute, 60);
    app->limit_ip[CP_LIMIT_INVITE] = per_period(cfg->invite_ip_per_hour, 3600);
    app->limit_account[CP_LIMIT_INVITE] = per_period(cfg->invite_account_per_hour, 3600);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* One core stays for the HTTP threads: a flood of sign-ups and logins
     * then slows hashing, never the rest of the API. */
    long threads = cfg->hash_threads > 0 ? cfg->hash_threads : cores > 1 ? cores - 1 : 1;
    app->hashpool = cp_hashpool_new((int)threads, (int)cfg->hash_queue);
    if (!app->hashpool) return cp_error_set(err, CP_ERR, NULL, NULL, "cannot start the password hashing threads");
    return CP_OK;
}

/* The /metrics token from its file, when one is named: it replaces the
 * setting's value for the life of the process. */
static cp_result load_metrics_token(cp_config *cfg, cp_error *err)
{
    if (!cfg->metrics_token_file || !cfg->metrics_token_file[0]) return CP_OK;
    char token[512];
    cp_result r = cp_secret_read(cfg->metrics_token_file, token, sizeof token, err);
    if (r != CP_OK) return r;
    if (!token[0]) return cp_error_set(err, CP_EINVAL, NULL, NULL, "%s is empty", cfg->metrics_token_file);
    free(cfg->metrics_token);
    cfg->metrics_token = cp_xstrdup(token);
    sodium_memzero(token, sizeof token);
    return CP_OK;
}

cp_result cp_app_lock_dir(const char *dir, bool exclusive, int *fd, cp_error *err)
{
    *fd = -1;
    cp_result r = cp_mkdirs(dir, 0700, err);
    if (r != CP_OK) return r;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/.lock", dir) >= (int)sizeof path)
        return cp_error_set(err, CP_EINVAL, NULL, NULL, "data dir path too long");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (f < 0) return cp_error_set(err, CP_ERR, NULL, NULL, "cannot open %s: %s", path, strerror(errno));
    int rc;
    while ((rc = flock(f, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
        int e = errno;
        close(f);
        if (e != EWOULDBLOCK) return cp_error_set(err, CP_ERR, NULL, NULL, "cannot lock %s: %s", path, strerror(e));
        return exclusive
                   ? cp_error_set(err, CP_ECONFLICT, NULL, NULL,
                                  "%s is in use by a running cloudplane (serve, worker or admin): stop it first", dir)
                   : cp_error_set(err, CP_ECONFLICT, NULL, NULL,
                                  "%s is being restored: start again once the "
                                  "restore has finished",
                                  dir);
    }
    *fd = f;
    return CP_OK;
}

cp_result cp_app_init(cp_app *app, cp_config *cfg, bool migrate, cp_error *err)
{
    memset(app, 0, sizeof *app);
    app->dir_lock = -1;
    app->cfg = cfg;
    app->started_at_ms = cp_now_ms();
    if (sodium_init() < 0) return cp_error_set(err, CP_ERR, NULL, NULL, "libsodium failed to initialize");
    cp_log_level lvl;
    if (!cp_log_parse_level(cfg->log_level, &lvl))
        return cp_error_set(err, CP_EINVAL, NULL, NULL, "invalid --log-level '%s': want debug, info, warn or error",
                            cfg->log_level);
    cp_log_set_level(lvl);

    char keydir[PATH_MAX];
    cp_result r = cp_app_lock_dir(cfg->data_dir, false, &app->dir_lock, err);
    if (r != CP_OK) return r;
    snprintf(keydir, sizeof keydir, "%s/keys", cfg->data_dir);
    if ((r = cp_mkdirs(keydir, 0700, err)) != CP_OK) return r;
    if ((r = load_jwt_key(app, keydir, err)) != CP_OK) return r;
    if ((r = load_vault(app, keydir, err)) != CP_OK) return r;
    if ((r = cp_app_issuer_load(cfg, keydir, &app->issuer, err)) != CP_OK) return r;
    if ((r = cp_mail_configure(cfg, err)) != CP_OK) return r;
    if ((r = load_metrics_token(cfg, err)) != CP_OK) return r;
    if ((r = cp_oidc_configure(cfg, &app->oidc, err)) != CP_OK) return r;

    char dbbuf[PATH_MAX];
    const char *url = cp_app_database_url(cfg, dbbuf, sizeof dbbuf);
    /* HTTP threads, each worker and its heartbeat, the reconciler, and spare. */
    int pool = (int)(cfg->http_threads > 0 ? cfg->http_threads : 2) + 2 * (int)cfg->workers + 2;
    if ((r = cp_store_open(url, pool, migrate, &app->store, err)) != CP_OK) return r;
    cp_store_limits limits = {.project_runs = cfg->project_max_runs,
                              .project_resources = cfg->project_max_resources,
                              .project_active_runs = cfg->project_active_runs,
                              .drift_minute_ms = cfg->test_drift_minute_seconds * 1000};
    cp_store_set_limits(app->store, &limits);
    /* After the migrations: one slow query must not hold an HTTP thread for long. */
    cp_db_set_statement_timeout(cp_store_db(app->store), (int)cfg->db_statement_timeout_ms);

    app->login_by_email = cp_ratelimit_new(5, 60 * 1000, 100000);
    app->login_by_ip = cp_ratelimit_new(20, 60 * 1000, 100000);
    app->streams_by_user = cp_slots_new();
    app->guardrails = cp_gr_cache_new();
    if (cfg->sandbox_rate > 0)
        app->sandbox_throttle = cp_throttle_new((double)cfg->sandbox_rate, 2.0 * (double)cfg->sandbox_rate, 100000);
    return init_limits(app, cfg, err);
}

void cp_app_close(cp_app *app)
{
    cp_hashpool_free(app->hashpool);
    cp_oidc_free(app->oidc);
    for (int i = 0; i < CP_LIMIT_COUNT; i++) {
        cp_throttle_free(app->limit_ip[i]);
        cp_throttle_free(app->limit_account[i]);
    }
    cp_store_close(app->store);
    cp_vault_free(app->vault);
    cp_issuer_free(app->issuer);
    cp_ratelimit_free(app->login_by_email);
    cp_ratelimit_free(app->login_by_ip);
    cp_slots_free(app->streams_by_user);
    cp_gr_cache_free(app->guardrails);
    cp_throttle_free(app->sandbox_throttle);
    sodium_memzero(&app->jwt, sizeof app->jwt);
    if (app->dir_lock >= 0) close(app->dir_lock);
    app->dir_lock = -1;
}
