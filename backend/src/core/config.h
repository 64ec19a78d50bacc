/* config.h: the one declarative configuration table. Each setting has a name,
 * env var, flag, type, default, bounds and help; the same table drives the
 * env/flag loader and `--help`. */
#ifndef CP_CONFIG_H
#define CP_CONFIG_H

#include "core/cp.h"

typedef struct {
    char *listen;
    char *data_dir;
    char *web_dir;
    char *database_url;
    char *redis_url;
    long http_threads;
    long workers;
    long max_body_bytes;
    long token_ttl_seconds;
    long refresh_ttl_seconds;
    long stream_ticket_ttl_seconds;
    long max_streams_per_user;
    char *jwt_secret;
    char *jwt_secret_file;
    char *vault_keys;
    char *vault_keys_file;
    char *signup;
    char *public_url;
    char *mail_outbox;
    long signup_token_ttl_seconds;
    long invitation_ttl_seconds;
    char *log_level;
    bool access_log;
    long shutdown_grace_seconds;
    char *tf_binary;
    char *modules_dir;
    char *worker_id;
    long lease_seconds;
    long scheduler_interval_seconds;
    long drift_min_interval_minutes;
    long test_drift_minute_seconds; /* test only: 60 in any real deployment */
    long heartbeat_seconds;
    long run_timeout_seconds;
    long cancel_grace_seconds;
    long run_log_max_events;
    char *state_backend;
    char *state_s3_bucket;
    char *state_s3_region;
    char *state_s3_key_prefix;
    char *state_s3_endpoint;
    char *state_s3_dynamodb_endpoint;
    char *state_s3_dynamodb_table;
    bool state_s3_use_lockfile;
    bool state_s3_path_style;
    bool state_s3_skip_checks;
    char *state_s3_access_key_id;
    char *state_s3_secret_access_key;
    bool sandbox_bwrap;
    bool insecure_no_sandbox;
    long sandbox_rate;
    char *provider_mirror;
    bool provider_direct;
    char *plugin_cache_dir;
    char *sandbox_endpoint;
    /* Abuse limits */
    char *trusted_proxies;
    long hash_threads;
    long db_statement_timeout_ms; /* PostgreSQL statement_timeout; 0 = none */
    long hash_queue;
    long signup_ip_per_hour;
    long signup_account_per_hour;
    long login_ip_per_minute;
    long login_account_per_minute;
    long invite_ip_per_hour;
    long invite_account_per_hour;
    long conn_per_ip;
    long max_connections;
    long connection_memory;
    long read_timeout_seconds;
    long idle_timeout_seconds;
    long project_max_runs;
    long project_max_resources;
    long project_active_runs;
    bool sandbox_cloud;
    long sandbox_max_simulate_seconds;
    char *webhook_allow_cidrs; /* CIDRs webhooks may reach though not public */
    long webhook_timeout_seconds;
    char *smtp_url, *smtp_from, *smtp_user, *smtp_password, *smtp_password_file;
    /* Monitoring */
    char *metrics_listen;     /* a second listener for /metrics only; "" = off */
    char *metrics_token;      /* Bearer token /metrics asks for; "" = none (secret) */
    char *metrics_token_file; /* read into metrics_token at start (app.c) */
    /* Retention (worker/retention.c): ages in seconds, 0 = keep forever */
    long retention_events_seconds, retention_audit_seconds, retention_workspaces_seconds;
    /* Single sign-on (auth/oidc.h) */
    char *oidc_providers_file, *oidc_allow_cidrs;
    bool local_passwords;
    /* Workload identity (auth/issuer.h, engine/identity.h) */
    char *issuer_keys;      /* private JWK Set text (secret) */
    char *issuer_keys_file; /* default: <data-dir>/keys/issuer.jwks, generated */
    char *state_s3_web_identity_role_arn;
    char *state_s3_web_identity_audience;
    char *state_s3_sts_endpoint;
} cp_config;

/* Fills defaults, then env, then argv flags (argv[0] is the subcommand).
 * On a bad value or unknown flag writes a clear message into err and returns
 * CP_EINVAL. Sets *help when --help was given. Strings are heap-owned by cfg. */
cp_result cp_config_load(cp_config *cfg, int argc, char **argv, bool *help, char *err, size_t errlen) CP_MUST_CHECK;
void cp_config_free(cp_config *cfg);

/* CLOUDPLANE_SIGNUP: who may create an account. */
typedef enum { CP_SIGNUP_OPEN, CP_SIGNUP_INVITE, CP_SIGNUP_OFF, CP_SIGNUP_INVALID } cp_signup_policy;
cp_signup_policy cp_config_signup_policy(const cp_config *cfg);
/* Prints the table: flag, env, default, bounds, help. */
void cp_config_print_help(const char *prog, const char *cmd);

#endif
