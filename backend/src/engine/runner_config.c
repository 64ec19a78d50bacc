/* runner_config.c: the files tofu reads besides the module: the backend
 * override (local or s3 state), the CLI config (plugin cache, mirror), and
 * the s3 backend's own credentials, kept off the disk in a memfd. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/runner_int.h"
#include "engine/workspace.h"

#define STATE_PROFILE "cloudplane-state"

/* Writes what tofu reads besides the module into dir. */
cp_result cp_runner__write_overrides(cp_runner *r, const char *dir, cp_error *err)
{
    cp_result rc = cp_workspace_write(dir, "backend_override.tf.json", r->backend_json, strlen(r->backend_json), err);
    if (rc == CP_OK) rc = cp_workspace_write(dir, "cli.tfrc.json", r->cli_json, strlen(r->cli_json), err);
    return rc;
}

/* The backend configuration. explicit_key: the resource's state object named
 * directly in the default workspace (for force-unlock, which must not go
 * through tofu's "create the workspace" step); otherwise the workspace form
 * the runs use. Both address the same object and the same lock. */
json_t *cp_runner__backend_json(const cp_runner *r, bool explicit_key)
{
    const cp_state_config *s = &r->cfg.state;
    json_t *b = json_object();
    if (s->kind == CP_STATE_LOCAL) {
        json_object_set_new(b, "workspace_dir", json_string(r->state_root));
        return json_pack("{s:{s:{s:o}}}", "terraform", "backend", "local", b);
    }
    json_object_set_new(b, "bucket", json_string(s->s3_bucket));
    const char *prefix = is_set(s->s3_key_prefix) ? s->s3_key_prefix : "cloudplane";
    if (explicit_key) {
        char key[512];
        snprintf(key, sizeof key, "%.400s/%s/terraform.tfstate", prefix, r->resource_id);
        json_object_set_new(b, "key", json_string(key));
    } else {
        json_object_set_new(b, "key", json_string("terraform.tfstate"));
        json_object_set_new(b, "workspace_key_prefix", json_string(prefix));
    }
    json_object_set_new(b, "region", json_string(is_set(s->s3_region) ? s->s3_region : "us-east-1"));
    json_t *ep = json_object();
    if (is_set(s->s3_endpoint)) json_object_set_new(ep, "s3", json_string(s->s3_endpoint));
    if (cp_runner__state_web_identity(r)) {
        /* The token file comes from AWS_WEB_IDENTITY_TOKEN_FILE (runner_identity.c). */
        json_object_set_new(
            b, "assume_role_with_web_identity",
            json_pack("{s:s, s:s}", "role_arn", s->s3_web_identity_role_arn, "session_name", "cloudplane-state"));
        const char *sts = is_set(s->s3_sts_endpoint) ? s->s3_sts_endpoint : s->s3_endpoint;
        if (is_set(sts)) json_object_set_new(ep, "sts", json_string(sts));
    }
    const char *ddb = is_set(s->s3_dynamodb_endpoint) ? s->s3_dynamodb_endpoint : s->s3_endpoint;
    if (is_set(s->s3_dynamodb_table) && is_set(ddb)) json_object_set_new(ep, "dynamodb", json_string(ddb));
    if (json_object_size(ep))
        json_object_set_new(b, "endpoints", ep);
    else
        json_decref(ep);
    if (is_set(s->s3_dynamodb_table)) json_object_set_new(b, "dynamodb_table", json_string(s->s3_dynamodb_table));
    if (s->s3_use_lockfile) json_object_set_new(b, "use_lockfile", json_true());
    if (s->s3_path_style) json_object_set_new(b, "use_path_style", json_true());
    if (s->s3_skip_checks) {
        static const char *const skips[] = {"skip_credentials_validation", "skip_region_validation",
                                            "skip_requesting_account_id", "skip_metadata_api_check",
                                            "skip_s3_checksum"};
        for (size_t i = 0; i < CP_ARRAY_LEN(skips); i++) json_object_set_new(b, skips[i], json_true());
    }
    if (r->creds_fd >= 0) {
        /* The credentials never touch the disk: fd 3 is a memfd the child inherits. */
        json_object_set_new(b, "shared_credentials_files", json_pack("[s]", "/proc/self/fd/3"));
        json_object_set_new(b, "profile", json_string(STATE_PROFILE));
    }
    return json_pack("{s:{s:{s:o}}}", "terraform", "backend", "s3", b);
}

bool cp_runner__mirror_is_url(const char *mirror)
{
    return mirror && (strncmp(mirror, "https://", 8) == 0 || strncmp(mirror, "http://", 7) == 0);
}

/* The CLI config: the shared plugin cache and where providers come from. The
 * installation block is always written, so tofu never falls back to its
 * implicit `direct` from the registries: with no mirror and no direct, only
 * providers already in the plugin cache (or built in) can be used. */
json_t *cp_runner__cli_json(const cp_runner *r)
{
    json_t *c = json_object();
    json_object_set_new(c, "disable_checkpoint", json_true());
    if (is_set(r->cfg.plugin_cache_dir))
        json_object_set_new(c, "plugin_cache_dir", json_string(r->cfg.plugin_cache_dir));
    json_t *inst = json_object();
    const char *m = r->cfg.provider_mirror;
    if (cp_runner__mirror_is_url(m))
        json_object_set_new(inst, "network_mirror", json_pack("[{s:s}]", "url", m));
    else if (is_set(m))
        json_object_set_new(inst, "filesystem_mirror", json_pack("[{s:s}]", "path", m));
    if (r->cfg.provider_direct) json_object_set_new(inst, "direct", json_pack("[{}]"));
    json_object_set_new(c, "provider_installation", json_pack("[o]", inst));
    return c;
}

static bool s3_value_ok(const char *s)
{
    return s && *s && strlen(s) < 512 && !strpbrk(s, "\r\n[]");
}

cp_result cp_runner__creds_fd(cp_runner *r, cp_error *err)
{
    const cp_state_config *s = &r->cfg.state;
    if (s->kind != CP_STATE_S3 || !is_set(s->s3_access_key_id)) return CP_OK;
    if (!s3_value_ok(s->s3_access_key_id) || !s3_value_ok(s->s3_secret_access_key))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "state backend credentials are malformed");
    r->creds_fd = memfd_create("cloudplane-state-credentials", MFD_CLOEXEC);
    if (r->creds_fd < 0) return cp_error_set(err, CP_ERR, "workspace", NULL, "memfd_create: %s", strerror(errno));
    cp_buf b;
    cp_buf_init(&b, 4096);
    cp_buf_printf(&b, "[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", STATE_PROFILE, s->s3_access_key_id,
                  s->s3_secret_access_key);
    bool ok = write(r->creds_fd, b.data, b.len) == (ssize_t)b.len;
    explicit_bzero(b.data, b.len);
    cp_buf_free(&b);
    return ok ? CP_OK : cp_error_set(err, CP_ERR, "workspace", NULL, "cannot write the credentials memfd");
}
