/* issuer_key.c: loading, generating and rotating the issuer's key file. */
#include "app/issuer_key.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/secretfile.h"

static void key_path(const cp_config *cfg, const char *keydir, char *out, size_t cap)
{
    if (cfg->issuer_keys_file[0])
        snprintf(out, cap, "%s", cfg->issuer_keys_file);
    else
        snprintf(out, cap, "%s/%s", keydir, CP_ISSUER_KEYS_NAME);
}

cp_result cp_app_issuer_load(const cp_config *cfg, const char *keydir, cp_issuer **out, cp_error *err)
{
    char *text = malloc(CP_ISSUER_KEYS_MAX);
    if (!text) abort();
    cp_result r = CP_OK;
    if (cfg->issuer_keys[0]) {
        snprintf(text, CP_ISSUER_KEYS_MAX, "%s", cfg->issuer_keys);
    } else if (cfg->issuer_keys_file[0]) {
        r = cp_secret_read(cfg->issuer_keys_file, text, CP_ISSUER_KEYS_MAX, err);
    } else {
        char path[PATH_MAX];
        key_path(cfg, keydir, path, sizeof path);
        /* An RSA key takes a moment to make: only when there is none yet. */
        char *fresh = access(path, F_OK) == 0 ? strdup("") : cp_issuer_rotate(NULL, err);
        if (!fresh) {
            free(text);
            return err ? err->result : CP_ERR;
        }
        bool created;
        r = cp_secret_read_or_create(path, fresh, text, CP_ISSUER_KEYS_MAX, &created, err);
        sodium_memzero(fresh, strlen(fresh));
        free(fresh);
        if (r == CP_OK && created) cp_log_info("generated the run-token issuer key at %s (mode 0600)", path);
        /* Every API instance publishes, and every worker signs with, its own data dir's key: clouds would
         * fetch one instance's JWKS and refuse tokens signed by another's. */
        if (r == CP_OK && cfg->database_url && cfg->database_url[0])
            cp_log_warn("the run-token issuer key is this instance's own (%s): in distributed mode give every "
                        "serve and worker the same CLOUDPLANE_ISSUER_KEYS_FILE, or workload identity tokens will "
                        "not verify",
                        path);
    }
    if (r == CP_OK) r = cp_issuer_load(text, out, err);
    sodium_memzero(text, CP_ISSUER_KEYS_MAX);
    free(text);
    return r;
}

cp_result cp_app_issuer_rotate(const cp_config *cfg, FILE *say, cp_error *err)
{
    if (cfg->issuer_keys[0])
        return cp_error_set(err, CP_EINVAL, "issuer_keys", NULL,
                            "the issuer keys come from CLOUDPLANE_ISSUER_KEYS: rotate them there (a new key first)");
    char keydir[PATH_MAX], path[PATH_MAX + 64], tmp[PATH_MAX + 80];
    snprintf(keydir, sizeof keydir, "%s/keys", cfg->data_dir);
    key_path(cfg, keydir, path, sizeof path);
    char *old = malloc(CP_ISSUER_KEYS_MAX);
    if (!old) abort();
    /* No file yet: the first key of a new set (e.g. one file for every instance of a distributed install). */
    cp_result r = cp_secret_read(path, old, CP_ISSUER_KEYS_MAX, err);
    if (r == CP_ENOTFOUND) {
        cp_error_clear(err);
        old[0] = '\0';
        r = CP_OK;
    }
    char *next = r == CP_OK ? cp_issuer_rotate(old[0] ? old : NULL, err) : NULL;
    sodium_memzero(old, CP_ISSUER_KEYS_MAX);
    free(old);
    if (!next) return r != CP_OK ? r : err->result;
    /* Replaced whole (write aside, then rename): a reader never sees half a file. */
    snprintf(tmp, sizeof tmp, "%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    size_t len = strlen(next);
    bool ok = fd >= 0 && write(fd, next, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0) close(fd);
    ok = ok && rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
    cp_issuer *iss = NULL;
    if (ok && cp_issuer_load(next, &iss, err) == CP_OK)
        fprintf(say, "new issuer signing key %s first in %s; older keys stay published until you remove them\n",
                cp_issuer_kid(iss), path);
    cp_issuer_free(iss);
    sodium_memzero(next, len);
    free(next);
    if (!ok) return cp_error_set(err, CP_ERR, "issuer_keys", NULL, "cannot write %s: %s", path, strerror(errno));
    return CP_OK;
}

void cp_app_issuer_url(const cp_app *app, char *out, size_t cap)
{
    const char *base = app->cfg->public_url && app->cfg->public_url[0] ? app->cfg->public_url : app->public_url;
    snprintf(out, cap, "%s", base);
    size_t n = strlen(out);
    while (n && out[n - 1] == '/') out[--n] = '\0';
}
