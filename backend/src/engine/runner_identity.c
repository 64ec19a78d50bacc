/* runner_identity.c: run tokens (workload identity). A token per tofu
 * process, minted by the platform, written to a file in the run dir (mode
 * 0600; inside bubblewrap the run dir is bound at the same path, so the file
 * is visible there at its path and nowhere else), registered with the
 * redactor, and removed with the run. The provider reads it through the env
 * the catalog names (engine/identity.h); an s3 state backend that assumes a
 * role with web identity reads AWS_WEB_IDENTITY_TOKEN_FILE (OpenTofu's
 * default for web_identity_token_file), so the backend block stays the same
 * for every run and the shared init holds. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/identity.h"
#include "engine/runner_int.h"

#define TOKEN_FILE ".cloudplane-token"
#define STATE_TOKEN_FILE ".cloudplane-state-token"
#define CRED_FILE ".cloudplane-credentials.json"
#define STATE_AUDIENCE "sts.amazonaws.com"

bool cp_runner__state_web_identity(const cp_runner *r)
{
    return r->cfg.state.kind == CP_STATE_S3 && is_set(r->cfg.state.s3_web_identity_role_arn);
}

static const char *state_audience(const cp_runner *r)
{
    return is_set(r->cfg.state.s3_web_identity_audience) ? r->cfg.state.s3_web_identity_audience : STATE_AUDIENCE;
}

/* Written aside and renamed over: tofu or a provider reading the file while
 * a later phase refreshes it sees one whole token. */
static cp_result write_private(const char *path, const char *data, cp_error *err)
{
    char tmp[PATH_MAX + 8];
    if (!pathf(tmp, sizeof tmp, "%s.new", path))
        return cp_error_set(err, CP_ERR, "workspace", NULL, "run dir path too long");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    size_t len = strlen(data);
    bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0) close(fd);
    if (ok && rename(tmp, path) == 0) return CP_OK;
    unlink(tmp);
    return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot write a file in the run dir: %s", strerror(errno));
}

cp_result cp_runner__identity_open(cp_runner *r, const cp_runner_spec *spec, cp_error *err)
{
    bool state = cp_runner__state_web_identity(r);
    if (!spec->identity || !spec->identity->mint) {
        if (state)
            return cp_error_set(err, CP_EINVAL, "bad_config", NULL,
                                "the state backend assumes a role with a run token, but this run has no token issuer");
        return CP_OK;
    }
    r->identity = *spec->identity;
    r->identity_fields = json_incref(spec->identity->fields);
    r->identity_audience = spec->identity->audience ? strdup(spec->identity->audience) : NULL;
    r->identity.fields = r->identity_fields;
    r->identity.audience = r->identity_audience;
    if (r->identity.cloud) {
        pathf(r->token_path, sizeof r->token_path, "%s/%s", r->dir, TOKEN_FILE);
        char cred[PATH_MAX + 64], *text = NULL;
        pathf(cred, sizeof cred, "%s/%s", r->dir, CRED_FILE);
        cp_result rc = cp_identity_env(r->identity.cloud, r->identity.fields, or_empty(r->identity.audience),
                                       r->token_path, cred, &r->env, &text, err);
        if (rc == CP_OK && text) rc = write_private(cred, text, err);
        free(text);
        if (rc != CP_OK) return rc;
    }
    /* The state backend reads AWS_WEB_IDENTITY_TOKEN_FILE: an AWS account's
     * token when that is where it points, else a token of its own. */
    bool shared = r->identity.cloud && !strcmp(r->identity.cloud, "aws") &&
                  !strcmp(or_empty(r->identity.audience), state_audience(r));
    if (state && !shared) {
        if (r->identity.cloud && !strcmp(r->identity.cloud, "aws"))
            return cp_error_set(err, CP_EINVAL, "bad_config", NULL,
                                "an AWS workload identity account whose audience is not the state backend's (%s) "
                                "cannot share a run with a web identity state backend",
                                state_audience(r));
        pathf(r->state_token_path, sizeof r->state_token_path, "%s/%s", r->dir, STATE_TOKEN_FILE);
        cp_strv_addf(&r->env, "AWS_WEB_IDENTITY_TOKEN_FILE=%s", r->state_token_path);
        /* The AWS SDK's default chain refuses a token file without a role. */
        cp_strv_addf(&r->env, "AWS_ROLE_ARN=%s", r->cfg.state.s3_web_identity_role_arn);
    }
    return CP_OK;
}

static cp_result put_token(cp_runner *r, const char *path, const char *phase, const char *aud, cp_error *err)
{
    char *tok = r->identity.mint(r->identity.ctx, phase, aud, err);
    if (!tok) return err && err->result ? err->result : CP_ERR;
    cp_redact_add(r->redact, tok, strlen(tok));
    const char *sig = strrchr(tok, '.');
    if (sig && strlen(sig + 1) >= 16) cp_redact_add(r->redact, sig + 1, strlen(sig + 1));
    cp_result rc = write_private(path, tok, err);
    explicit_bzero(tok, strlen(tok));
    free(tok);
    return rc;
}

cp_result cp_runner__identity_refresh(cp_runner *r, const char *phase, cp_error *err)
{
    if (!r->identity.mint) return CP_OK;
    /* Only apply changes the cloud; everything else (init, plan, show,
     * output, unlock) reads, and gets a plan token. */
    const char *tp = !strcmp(phase, "apply") ? (r->destroy ? "destroy" : "apply") : "plan";
    cp_result rc = CP_OK;
    if (r->token_path[0]) rc = put_token(r, r->token_path, tp, or_empty(r->identity.audience), err);
    if (rc == CP_OK && r->state_token_path[0]) rc = put_token(r, r->state_token_path, tp, state_audience(r), err);
    return rc;
}

void cp_runner__identity_close(cp_runner *r)
{
    if (r->token_path[0]) unlink(r->token_path);
    if (r->state_token_path[0]) unlink(r->state_token_path);
    json_decref(r->identity_fields);
    free(r->identity_audience);
}
