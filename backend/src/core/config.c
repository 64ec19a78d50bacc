#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/duration.h"
#include "core/xalloc.h"

typedef enum { T_STR, T_INT, T_BOOL, T_AGE } cfg_type;

typedef struct {
    const char *flag; /* without the leading "--" */
    const char *env;
    cfg_type type;
    const char *def;
    long min, max; /* T_INT bounds */
    size_t off;
    bool secret; /* never echoed back in messages or help */
    const char *help;
} cfg_entry;

#define S(f, e, d, field, h)                                                                                           \
    {                                                                                                                  \
        f, e, T_STR, d, 0, 0, offsetof(cp_config, field), false, h                                                     \
    }
#define SEC(f, e, field, h)                                                                                            \
    {                                                                                                                  \
        f, e, T_STR, "", 0, 0, offsetof(cp_config, field), true, h                                                     \
    }
#define I(f, e, d, lo, hi, field, h)                                                                                   \
    {                                                                                                                  \
        f, e, T_INT, d, lo, hi, offsetof(cp_config, field), false, h                                                   \
    }
/* An age ("90d", "12h", "45s"; "0" or "off" = forever) into a long of seconds. */
#define AGE(f, e, d, field, h)                                                                                         \
    {                                                                                                                  \
        f, e, T_AGE, d, 0, 0, offsetof(cp_config, field), false, h                                                     \
    }
#define B(f, e, d, field, h)                                                                                           \
    {                                                                                                                  \
        f, e, T_BOOL, d, 0, 1, offsetof(cp_config, field), false, h                                                    \
    }

static const cfg_entry table[] = {
    S("listen", "CLOUDPLANE_LISTEN", "127.0.0.1:8080", listen, "HTTP listen address host:port"),
    S("data-dir", "CLOUDPLANE_DATA_DIR", "./var", data_dir,
      "data directory (SQLite file, keys, run dirs, local state)"),
    S("web-dir", "CLOUDPLANE_WEB_DIR", "", web_dir,
      "built web UI to serve at / (default: frontend/dist next to the repo, else a placeholder)"),
    S("database-url", "CLOUDPLANE_DATABASE_URL", "", database_url,
      "postgres://... for PostgreSQL; empty = SQLite in the data dir"),
    S("redis-url", "CLOUDPLANE_REDIS_URL", "", redis_url,
      "redis://host:port for Redis Streams dispatch; empty = in-process queue"),
    I("db-statement-timeout", "CLOUDPLANE_DB_STATEMENT_TIMEOUT", "5000", 0, 3600000, db_statement_timeout_ms,
      "PostgreSQL: longest one SQL statement may run, in ms (0 = no limit; migrations never have one)"),
    I("http-threads", "CLOUDPLANE_HTTP_THREADS", "0", 0, 256, http_threads,
      "HTTP thread pool size (0 = number of cores; 4 x cores with PostgreSQL)"),
    I("workers", "CLOUDPLANE_WORKERS", "2", 0, 64, workers, "run workers (threads in serve, slots in worker)"),
    I("max-body-bytes", "CLOUDPLANE_MAX_BODY_BYTES", "1048576", 1024, 67108864, max_body_bytes,
      "largest accepted request body"),
    I("token-ttl", "CLOUDPLANE_TOKEN_TTL", "900", 60, 86400, token_ttl_seconds,
      "access token lifetime in seconds (sessions last longer through the refresh token)"),
    I("refresh-ttl", "CLOUDPLANE_REFRESH_TTL", "1209600", 300, 31536000, refresh_ttl_seconds,
      "a session ends when unused (not refreshed) this many seconds"),
    I("stream-ticket-ttl", "CLOUDPLANE_STREAM_TICKET_TTL", "60", 5, 600, stream_ticket_ttl_seconds,
      "lifetime of a run event stream ticket in seconds"),
    I("max-streams-per-user", "CLOUDPLANE_MAX_STREAMS_PER_USER", "10", 1, 10000, max_streams_per_user,
      "concurrent run event streams one user may hold on one API instance"),
    SEC("jwt-secret", "CLOUDPLANE_JWT_SECRET", jwt_secret, "JWT signing key (>= 32 bytes); prefer the _FILE form"),
    S("jwt-secret-file", "CLOUDPLANE_JWT_SECRET_FILE", "", jwt_secret_file,
      "file holding the JWT signing key (default: <data-dir>/keys/jwt.key, generated)"),
    SEC("vault-keys", "CLOUDPLANE_VAULT_KEYS", vault_keys,
        "vault master keys: id:base64key[,id:base64key...]; first is current"),
    S("vault-keys-file", "CLOUDPLANE_VAULT_KEYS_FILE", "", vault_keys_file,
      "file with vault master keys, one id:base64key per line; first is current (default: <data-dir>/keys/vault.keys, "
      "generated)"),
    S("signup", "CLOUDPLANE_SIGNUP", "open", signup,
      "who may create an account: open (anyone, by an emailed link), invite (only through a project invitation) "
      "or off (no new accounts; invitations reach existing users only)"),
    S("public-url", "CLOUDPLANE_PUBLIC_URL", "", public_url,
      "the URL users reach the UI at, for links in mails (default: http://<listen address>); https://... also marks "
      "the refresh cookie Secure"),
    S("mail-outbox", "CLOUDPLANE_MAIL_OUTBOX", "", mail_outbox,
      "no mail server is supported yet: mails go to the log and, when this is set, one JSON file per mail in this "
      "dir"),
    I("signup-token-ttl", "CLOUDPLANE_SIGNUP_TOKEN_TTL", "86400", 60, 2592000, signup_token_ttl_seconds,
      "lifetime of an emailed sign-up link, seconds"),
    I("invitation-ttl", "CLOUDPLANE_INVITATION_TTL", "604800", 60, 7776000, invitation_ttl_seconds,
      "lifetime of a project invitation, seconds"),
    S("log-level", "CLOUDPLANE_LOG_LEVEL", "info", log_level, "debug, info, warn or error"),
    B("access-log", "CLOUDPLANE_ACCESS_LOG", "true", access_log, "log one JSON line per HTTP request"),
    I("shutdown-grace", "CLOUDPLANE_SHUTDOWN_GRACE", "10", 0, 600, shutdown_grace_seconds,
      "seconds in-flight requests get to finish on SIGTERM"),
    S("tf-binary", "CLOUDPLANE_TF_BINARY", "", tf_binary,
      "OpenTofu (or compatible) binary; default: tofu from the cache or PATH"),
    S("modules-dir", "CLOUDPLANE_MODULES_DIR", "", modules_dir,
      "OpenTofu modules (default: terraform/modules next to the repo)"),
    S("worker-id", "CLOUDPLANE_WORKER_ID", "", worker_id, "worker identity for leases (default: hostname-pid)"),
    I("lease-seconds", "CLOUDPLANE_LEASE_SECONDS", "30", 2, 3600, lease_seconds, "run lease length"),
    I("scheduler-interval", "CLOUDPLANE_SCHEDULER_INTERVAL", "30", 1, 3600, scheduler_interval_seconds,
      "seconds between the scheduler's sweeps for due drift checks, expiries and working-hours stops and starts"),
    I("drift-min-interval", "CLOUDPLANE_DRIFT_MIN_INTERVAL_MINUTES", "15", 0, 10080, drift_min_interval_minutes,
      "shortest drift-check interval a project may set, minutes (0 = off is always allowed)"),
    I("test-drift-minute", "CLOUDPLANE_TEST_DRIFT_MINUTE_SECONDS", "60", 1, 60, test_drift_minute_seconds,
      "test only: seconds one minute of a project's drift interval lasts (60 in any real deployment)"),
    I("heartbeat-seconds", "CLOUDPLANE_HEARTBEAT_SECONDS", "10", 1, 1200, heartbeat_seconds, "lease renewal interval"),
    I("run-timeout", "CLOUDPLANE_RUN_TIMEOUT", "3600", 5, 86400, run_timeout_seconds,
      "timeout of one tofu phase, seconds"),
    I("cancel-grace", "CLOUDPLANE_CANCEL_GRACE", "60", 0, 3600, cancel_grace_seconds,
      "seconds between SIGINT and SIGKILL on cancel"),
    I("run-log-max-events", "CLOUDPLANE_RUN_LOG_MAX_EVENTS", "20000", 10, 10000000, run_log_max_events,
      "events stored per run before truncation"),
    S("state-backend", "CLOUDPLANE_STATE_BACKEND", "local", state_backend, "tofu state backend: local or s3"),
    S("state-s3-bucket", "CLOUDPLANE_STATE_S3_BUCKET", "", state_s3_bucket, "S3 bucket for state"),
    S("state-s3-region", "CLOUDPLANE_STATE_S3_REGION", "us-east-1", state_s3_region, "S3 region"),
    S("state-s3-key-prefix", "CLOUDPLANE_STATE_S3_KEY_PREFIX", "cloudplane", state_s3_key_prefix,
      "key prefix for state objects"),
    S("state-s3-endpoint", "CLOUDPLANE_STATE_S3_ENDPOINT", "", state_s3_endpoint, "S3-compatible endpoint override"),
    S("state-s3-dynamodb-endpoint", "CLOUDPLANE_STATE_S3_DYNAMODB_ENDPOINT", "", state_s3_dynamodb_endpoint,
      "DynamoDB endpoint override"),
    S("state-s3-dynamodb-table", "CLOUDPLANE_STATE_S3_DYNAMODB_TABLE", "", state_s3_dynamodb_table,
      "DynamoDB lock table (LockID key)"),
    B("state-s3-use-lockfile", "CLOUDPLANE_STATE_S3_USE_LOCKFILE", "false", state_s3_use_lockfile,
      "S3-native lock file"),
    B("state-s3-path-style", "CLOUDPLANE_STATE_S3_PATH_STYLE", "false", state_s3_path_style,
      "path-style S3 addressing"),
    B("state-s3-skip-checks", "CLOUDPLANE_STATE_S3_SKIP_CHECKS", "false", state_s3_skip_checks,
      "skip credential/region/metadata checks (emulators)"),
    S("state-s3-access-key-id", "CLOUDPLANE_STATE_S3_ACCESS_KEY_ID", "", state_s3_access_key_id,
      "access key for the state backend (not the cloud account)"),
    SEC("state-s3-secret-access-key", "CLOUDPLANE_STATE_S3_SECRET_ACCESS_KEY", state_s3_secret_access_key,
        "secret key for the state backend"),
    B("sandbox-bwrap", "CLOUDPLANE_SANDBOX_BWRAP", "true", sandbox_bwrap, "run tofu inside bubblewrap when available"),
    B("insecure-no-sandbox", "CLOUDPLANE_INSECURE_NO_SANDBOX", "false", insecure_no_sandbox,
      "INSECURE: let runs on real clouds go without bubblewrap"),
    I("sandbox-rate", "CLOUDPLANE_SANDBOX_RATE", "50", 0, 100000, sandbox_rate,
      "sandbox cloud API: requests per second per API key, burst twice that (0 = unlimited)"),
    S("provider-mirror", "CLOUDPLANE_PROVIDER_MIRROR", "", provider_mirror,
      "providers come from this filesystem mirror dir or https:// network mirror URL (default: the mirror "
      "scripts/install-provider.sh fills, ${CLOUDPLANE_CACHE_DIR:-~/.cache/cloudplane}/mirror, when it exists)"),
    B("provider-direct", "CLOUDPLANE_PROVIDER_DIRECT", "false", provider_direct,
      "also let tofu download providers from their registries (direct installation)"),
    S("plugin-cache-dir", "CLOUDPLANE_PLUGIN_CACHE_DIR", "", plugin_cache_dir,
      "shared provider plugin cache, read-only to runs (default: <data-dir>/plugin-cache)"),
    S("sandbox-endpoint", "CLOUDPLANE_SANDBOX_ENDPOINT", "", sandbox_endpoint,
      "URL the sandbox cloud's provider calls (SANDBOX_ENDPOINT; default in serve: http://<listen>; "
      "required for sandbox runs in worker)"),
    S("trusted-proxies", "CLOUDPLANE_TRUSTED_PROXIES", "", trusted_proxies,
      "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (empty = none)"),
    I("hash-threads", "CLOUDPLANE_HASH_THREADS", "0", 0, 64, hash_threads,
      "password hashing (argon2id) threads (0 = cores - 1, at least 1)"),
    I("hash-queue", "CLOUDPLANE_HASH_QUEUE", "32", 1, 10000, hash_queue,
      "password hashes that may wait for a thread; beyond that sign-up and login answer 503"),
    I("signup-ip-per-hour", "CLOUDPLANE_SIGNUP_IP_PER_HOUR", "20", 1, 1000000, signup_ip_per_hour,
      "sign-ups a client address (IPv6: its /64) may make per hour, all at once at most"),
    I("signup-account-per-hour", "CLOUDPLANE_SIGNUP_ACCOUNT_PER_HOUR", "3", 1, 1000000, signup_account_per_hour,
      "sign-up attempts per email address per hour"),
    I("login-ip-per-minute", "CLOUDPLANE_LOGIN_IP_PER_MINUTE", "30", 1, 1000000, login_ip_per_minute,
      "login attempts (successful ones too) a client address may make per minute"),
    I("login-account-per-minute", "CLOUDPLANE_LOGIN_ACCOUNT_PER_MINUTE", "10", 1, 1000000, login_account_per_minute,
      "login attempts (successful ones too) per email address per minute"),
    I("invite-ip-per-hour", "CLOUDPLANE_INVITE_IP_PER_HOUR", "60", 1, 1000000, invite_ip_per_hour,
      "invitations a client address may send per hour"),
    I("invite-account-per-hour", "CLOUDPLANE_INVITE_ACCOUNT_PER_HOUR", "30", 1, 1000000, invite_account_per_hour,
      "invitations a user may send per hour"),
    I("conn-per-ip", "CLOUDPLANE_CONN_PER_IP", "64", 0, 100000, conn_per_ip,
      "open connections per client address (IPv6: its /64; trusted proxies exempt; 0 = unlimited)"),
    I("max-connections", "CLOUDPLANE_MAX_CONNECTIONS", "4096", 16, 1000000, max_connections,
      "open HTTP connections (event streams included) the server accepts in all; needs as many file descriptors"),
    I("connection-memory", "CLOUDPLANE_CONNECTION_MEMORY", "16384", 4096, 1048576, connection_memory,
      "bytes of buffer each HTTP connection may use for request headers and response writes (16384 takes "
      "headers up to about 15 KB); an open event stream touches about half of it for its whole life"),
    I("read-timeout", "CLOUDPLANE_READ_TIMEOUT", "10", 1, 3600, read_timeout_seconds,
      "seconds a client has to send a whole request (headers and body); slower ones are disconnected"),
    I("idle-timeout", "CLOUDPLANE_IDLE_TIMEOUT", "120", 1, 86400, idle_timeout_seconds,
      "seconds an idle keep-alive connection stays open"),
    I("project-max-runs", "CLOUDPLANE_PROJECT_MAX_RUNS", "20", 0, 1000000, project_max_runs,
      "unfinished create/update runs a project may have; more answer 429 (0 = unlimited)"),
    I("project-max-resources", "CLOUDPLANE_PROJECT_MAX_RESOURCES", "100", 0, 1000000, project_max_resources,
      "resources (not destroyed) a project may have; more answer 409 (0 = unlimited)"),
    I("project-active-runs", "CLOUDPLANE_PROJECT_ACTIVE_RUNS", "1", 0, 1000, project_active_runs,
      "runs of one project that may execute at once, across all workers; the rest wait their turn while "
      "other projects' runs go (0 = unlimited)"),
    B("sandbox-cloud", "CLOUDPLANE_SANDBOX_CLOUD", "on", sandbox_cloud,
      "offer the simulated sandbox cloud (its API, accounts and orders); off in a deployment for real clouds"),
    I("sandbox-max-simulate-seconds", "CLOUDPLANE_SANDBOX_MAX_SIMULATE_SECONDS", "30", 0, 600,
      sandbox_max_simulate_seconds, "largest simulate_seconds a sandbox order may ask for"),
    S("webhook-allow-cidrs", "CLOUDPLANE_WEBHOOK_ALLOW_CIDRS", "", webhook_allow_cidrs,
      "comma-separated CIDRs webhooks may be delivered to although they are loopback, private, link-local or "
      "otherwise not public (empty = public addresses only)"),
    I("webhook-timeout", "CLOUDPLANE_WEBHOOK_TIMEOUT", "10", 1, 60, webhook_timeout_seconds,
      "seconds a webhook receiver has to answer a delivery"),
    S("smtp-url", "CLOUDPLANE_SMTP_URL", "", smtp_url,
      "smtp://host:port or smtps://host:port: notifications and sign-up and invitation mails go through this "
      "server (empty = the mail outbox and the log)"),
    S("smtp-from", "CLOUDPLANE_SMTP_FROM", "", smtp_from, "sender address of mails sent through SMTP"),
    S("smtp-user", "CLOUDPLANE_SMTP_USER", "", smtp_user, "SMTP user name (empty = no authentication)"),
    SEC("smtp-password", "CLOUDPLANE_SMTP_PASSWORD", smtp_password, "SMTP password; prefer the _FILE form"),
    S("smtp-password-file", "CLOUDPLANE_SMTP_PASSWORD_FILE", "", smtp_password_file, "file holding the SMTP password"),
    /* Monitoring (api/metrics.c) */
    S("metrics-listen", "CLOUDPLANE_METRICS_LISTEN", "", metrics_listen,
      "host:port of a second listener that serves only /metrics (serve and worker); when set, the main port no "
      "longer serves it (empty = off)"),
    SEC("metrics-token", "CLOUDPLANE_METRICS_TOKEN", metrics_token,
        "when set, /metrics answers only requests with Authorization: Bearer <token> (401 otherwise); prefer the "
        "_FILE form"),
    S("metrics-token-file", "CLOUDPLANE_METRICS_TOKEN_FILE", "", metrics_token_file,
      "file holding the /metrics bearer token (instead of CLOUDPLANE_METRICS_TOKEN)"),
    AGE("retention-events", "CLOUDPLANE_RETENTION_EVENTS", "90d", retention_events_seconds,
        "finished runs' event logs (and read-or-not notifications, superseded drift reports) are pruned this long "
        "after the run ended (e.g. 90d, 12h, 45s; 0 or off = keep forever); the runs themselves stay"),
    AGE("retention-audit", "CLOUDPLANE_RETENTION_AUDIT", "365d", retention_audit_seconds,
        "audit log rows older than this are pruned (0 or off = keep forever)"),
    AGE("retention-workspaces", "CLOUDPLANE_RETENTION_WORKSPACES", "7d", retention_workspaces_seconds,
        "run dirs a crash left on disk are removed this long after their run ended (a run removes its own when it "
        "ends; a leftover may hold a plan file with sensitive values) (0 or off = keep forever)"),
    /* Single sign-on (auth/oidc.h) */
    S("oidc-providers-file", "CLOUDPLANE_OIDC_PROVIDERS_FILE", "", oidc_providers_file,
      "JSON file of the OIDC identity providers users may sign in with (README: Single sign-on; empty = none)"),
    S("oidc-allow-cidrs", "CLOUDPLANE_OIDC_ALLOW_CIDRS", "", oidc_allow_cidrs,
      "comma-separated CIDRs an identity provider may be reached at although they are loopback or private "
      "(empty = public addresses only)"),
    B("local-passwords", "CLOUDPLANE_LOCAL_PASSWORDS", "true", local_passwords,
      "email and password sign-in and sign-up; false (only with OIDC providers) leaves single sign-on alone"),
    /* Workload identity: cloudplane as an OIDC issuer for runs (auth/issuer.c) */
    SEC("issuer-keys", "CLOUDPLANE_ISSUER_KEYS", issuer_keys,
        "run-token issuer signing keys: a private JWK Set {\"keys\":[...]} of RSA keys with kid; the first signs, "
        "all are published (rotation with overlap); prefer the _FILE form"),
    S("issuer-keys-file", "CLOUDPLANE_ISSUER_KEYS_FILE", "", issuer_keys_file,
      "file holding the issuer's private JWK Set (default: <data-dir>/keys/issuer.jwks, generated; "
      "`cloudplane admin rotate-issuer-key` puts a new key first)"),
    S("state-s3-web-identity-role-arn", "CLOUDPLANE_STATE_S3_WEB_IDENTITY_ROLE_ARN", "", state_s3_web_identity_role_arn,
      "s3 state backend: assume this IAM role with the run's cloudplane-issued token "
      "(assume_role_with_web_identity) instead of static keys; needs the public URL set"),
    S("state-s3-web-identity-audience", "CLOUDPLANE_STATE_S3_WEB_IDENTITY_AUDIENCE", "sts.amazonaws.com",
      state_s3_web_identity_audience, "aud of the token the state backend's role is assumed with"),
    S("state-s3-sts-endpoint", "CLOUDPLANE_STATE_S3_STS_ENDPOINT", "", state_s3_sts_endpoint,
      "STS endpoint override for the state backend's web identity (default: AWS, or the S3 endpoint when set)"),
};

static char **str_slot(cp_config *c, const cfg_entry *e)
{
    return (char **)((char *)c + e->off);
}

static cp_result set_value(cp_config *cfg, const cfg_entry *e, const char *val, const char *origin, char *err,
                           size_t errlen)
{
    const char *shown = e->secret ? "<hidden>" : val;
    switch (e->type) {
    case T_STR: {
        char **slot = str_slot(cfg, e);
        char *dup = cp_xstrdup(val);
        free(*slot);
        *slot = dup;

        return CP_OK;
    }
    case T_INT: {
        errno = 0;
        char *end = NULL;
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end != '\0' || v < e->min || v > e->max) {
            snprintf(err, errlen, "invalid value '%s' for --%s (%s, from %s): want an integer in [%ld, %ld]", shown,
                     e->flag, e->env, origin, e->min, e->max);
            return CP_EINVAL;
        }
        *(long *)((char *)cfg + e->off) = v;
        return CP_OK;
    }
    case T_BOOL: {
        bool v;
        if (!strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "yes") || !strcmp(val, "on"))
            v = true;
        else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "no") || !strcmp(val, "off"))
            v = false;
        else {
            snprintf(err, errlen, "invalid value '%s' for --%s (%s, from %s): want true or false (on or off)", shown,
                     e->flag, e->env, origin);
            return CP_EINVAL;
        }
        *(bool *)((char *)cfg + e->off) = v;
        return CP_OK;
    }
    case T_AGE: {
        int64_t v;
        if (!cp_duration_parse_age(val, &v)) {
            snprintf(err, errlen,
                     "invalid value '%s' for --%s (%s, from %s): want an age such as 90d, 12h, 30m or 45s "
                     "(units s, m, h, d, w; at most 36500d), or 0 or off to keep forever",
                     shown, e->flag, e->env, origin);
            return CP_EINVAL;
        }
        *(long *)((char *)cfg + e->off) = (long)v;
        return CP_OK;
    }
    }
    return CP_ERR;
}

static const cfg_entry *find_flag(const char *name, size_t n)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(table); i++)
        if (strlen(table[i].flag) == n && !strncmp(table[i].flag, name, n)) return &table[i];
    return NULL;
}

cp_result cp_config_load(cp_config *cfg, int argc, char **argv, bool *help, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    *help = false;
    cp_result r;
    for (size_t i = 0; i < CP_ARRAY_LEN(table); i++)
        if ((r = set_value(cfg, &table[i], table[i].def, "default", err, errlen)) != CP_OK) return r;
    for (size_t i = 0; i < CP_ARRAY_LEN(table); i++) {
        const char *v = getenv(table[i].env);
        if (v && (r = set_value(cfg, &table[i], v, "environment", err, errlen)) != CP_OK) return r;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
            return CP_EINVAL;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        const cfg_entry *e = find_flag(name, n);
        if (!e) {
            snprintf(err, errlen, "unknown flag '--%.*s' (see --help)", (int)n, name);
            return CP_EINVAL;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (e->type == T_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0))
                val = "true";
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                snprintf(err, errlen, "flag --%s needs a value", e->flag);
                return CP_EINVAL;
            }
        }
        if ((r = set_value(cfg, e, val, "command line", err, errlen)) != CP_OK) return r;
    }
    if (cp_config_signup_policy(cfg) == CP_SIGNUP_INVALID) {
        snprintf(err, errlen, "invalid value '%s' for --signup (CLOUDPLANE_SIGNUP): want open, invite or off",
                 cfg->signup);
        return CP_EINVAL;
    }
    if (cfg->heartbeat_seconds >= cfg->lease_seconds) {
        snprintf(err, errlen, "--heartbeat-seconds (%ld) must be shorter than --lease-seconds (%ld)",
                 cfg->heartbeat_seconds, cfg->lease_seconds);
        return CP_EINVAL;
    }
    return CP_OK;
}

cp_signup_policy cp_config_signup_policy(const cp_config *cfg)
{
    static const char *const names[] = {
        [CP_SIGNUP_OPEN] = "open", [CP_SIGNUP_INVITE] = "invite", [CP_SIGNUP_OFF] = "off"};
    for (size_t i = 0; cfg->signup && i < CP_ARRAY_LEN(names); i++)
        if (!strcmp(cfg->signup, names[i])) return (cp_signup_policy)i;
    return CP_SIGNUP_INVALID;
}

void cp_config_free(cp_config *cfg)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(table); i++)
        if (table[i].type == T_STR) {
            char **slot = str_slot(cfg, &table[i]);
            free(*slot);
            *slot = NULL;
        }
}

void cp_config_print_help(const char *prog, const char *cmd)
{
    printf("usage: %s %s [flags]\n\nEvery flag may also be set by its environment variable.\n\n", prog, cmd);
    for (size_t i = 0; i < CP_ARRAY_LEN(table); i++) {
        const cfg_entry *e = &table[i];
        printf("  --%-28s %s\n", e->flag, e->help);
        printf("    %-28s env %s", "", e->env);
        if (e->type == T_INT)
            printf(", default %s, range [%ld, %ld]", e->def, e->min, e->max);
        else if (e->secret)
            printf(", no default");
        else
            printf(", default \"%s\"", e->def);
        printf("\n");
    }
}
