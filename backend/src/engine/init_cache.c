/* init_cache.c: tofu init for a run: in the run dir, or the shared init
 * (one initialized data dir per module content + backend + binary, made once
 * and reused by every run of that module). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/secretfile.h"
#include "engine/runner_int.h"
#include "engine/workspace.h"

/* The lock of the provider set that cwd's lock file pins ("" when it has
 * none): every init that may write the shared plugin cache holds it, so one
 * step per provider set fills the cache while other runs only read it. It
 * sits beside the cache, not in it (tofu scans the cache's entries). Returns
 * the locked fd, or -1 with err set. */
static int lock_provider_set(const cp_runner *r, const char *cwd, cp_error *err)
{
    char path[PATH_MAX + 64], dir[PATH_MAX + 8], *lockfile = NULL;
    size_t len = 0;
    pathf(path, sizeof path, "%s/.terraform.lock.hcl", cwd);
    if (cp_workspace_read(path, 1 << 20, &lockfile, &len, NULL) != CP_OK) len = 0;
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_Digest(lockfile ? lockfile : "", len, dig, &dl, EVP_sha256(), NULL);
    free(lockfile);
    char hex[17];
    for (int i = 0; i < 8; i++) snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    pathf(dir, sizeof dir, "%s.locks", r->cfg.plugin_cache_dir);
    if (cp_mkdirs(dir, 0700, err) != CP_OK) return -1;
    pathf(path, sizeof path, "%s/%s.lock", dir, hex);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        cp_error_set(err, CP_ERR, "workspace", NULL, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
    }
    return fd;
}

cp_result cp_runner__init_here(cp_runner *r, const char *cwd, const char *data_dir, bool staging, cp_error *err)
{
    static const char *const init_args[] = {"init", "-input=false", "-no-color", NULL};
    int lfd = -1;
    if (is_set(r->cfg.plugin_cache_dir) && (lfd = lock_provider_set(r, cwd, err)) < 0) return CP_ERR;
    cp_strv a;
    cp_runner__args(&a, init_args);
    phase_opts o = {.phase = "init",
                    .cwd = cwd,
                    .data_dir = data_dir,
                    .staging_init = staging,
                    .fill_cache = lfd >= 0,
                    .ok_codes = {-1}};
    int code;
    cp_result rc = cp_runner__run_phase(r, &o, &a, &code, err);
    cp_strv_free(&a);
    if (lfd >= 0) close(lfd); /* releases the lock */
    return rc;
}

/* The shared init: one data dir per module content + backend + binary, made
 * once under a file lock (several workers may start at once) and renamed into
 * place, so a half-made one is never used. */
static cp_result init_shared(cp_runner *r, cp_error *err)
{
    struct stat st;
    char hash[65], lockpath[PATH_MAX + 8], data[PATH_MAX + 8];
    if (stat(r->tofu, &st) != 0) return cp_error_set(err, CP_ERR, "engine_unavailable", NULL, "tofu not found");
    cp_buf extra;
    cp_buf_init(&extra, 1 << 20);
    cp_buf_printf(&extra, "%s\n%lld\n%lld\n%s\n%s", r->tofu, (long long)st.st_size, (long long)st.st_mtime,
                  r->backend_json, r->cli_json);
    char mod[PATH_MAX];
    pathf(mod, sizeof mod, "%s/%s", r->modules_dir, r->module);
    cp_result rc = cp_workspace_hash(mod, cp_buf_cstr(&extra), hash, err);
    cp_buf_free(&extra);
    if (rc != CP_OK) return rc;
    hash[16] = '\0';
    pathf(r->cache_dir, sizeof r->cache_dir, "%s/%s-%s", r->cfg.init_cache_dir, r->module, hash);
    pathf(data, sizeof data, "%s/data", r->cache_dir);
    if (stat(data, &st) == 0) goto use;

    pathf(lockpath, sizeof lockpath, "%s.lock", r->cache_dir);
    int lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0) return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot open %s: %s", lockpath, strerror(errno));
    while (flock(lfd, LOCK_EX) != 0 && errno == EINTR) {
    }
    if (stat(data, &st) != 0) {
        char staging[PATH_MAX], name[64], rnd[9];
        cp_rand_hex(rnd, 4);
        snprintf(name, sizeof name, "staging-%s.%s", r->run_id, rnd);
        rc = cp_workspace_mkdir(r->cfg.init_cache_dir, name, staging, sizeof staging, err);
        if (rc == CP_OK) rc = cp_workspace_copy_module(mod, staging, err);
        if (rc == CP_OK) rc = cp_runner__write_overrides(r, staging, err);
        if (rc == CP_OK) {
            char sdata[PATH_MAX + 8];
            pathf(sdata, sizeof sdata, "%s/data", staging);
            /* Staging: the sandbox sees the staging dir (cwd) writable, not the cache dir that is not there yet. */
            rc = cp_runner__init_here(r, staging, sdata, true, err);
        }
        if (rc == CP_OK && rename(staging, r->cache_dir) != 0)
            rc = cp_error_set(err, CP_ERR, "workspace", NULL, "cannot rename init cache: %s", strerror(errno));
        if (rc != CP_OK && cp_workspace_remove(staging) != CP_OK)
            cp_log_warn("could not remove the init staging dir %s", staging);
    }
    flock(lfd, LOCK_UN);
    close(lfd);
    if (rc != CP_OK) {
        r->cache_dir[0] = '\0';
        return rc;
    }
use:
    pathf(r->data_dir, sizeof r->data_dir, "%s", data);
    /* Providers are pinned by the lock file init wrote next to the config. */
    char src[PATH_MAX + 32], dst[PATH_MAX + 32];
    pathf(src, sizeof src, "%s/.terraform.lock.hcl", r->cache_dir);
    pathf(dst, sizeof dst, "%s/.terraform.lock.hcl", r->dir);
    if (access(src, F_OK) == 0 && access(dst, F_OK) != 0) rc = cp_workspace_copy_file(src, dst, err);
    cp_runner__emit_system(r, CP_TFEV_LOG, true, "using the shared init for %s", r->module);
    return rc;
}

cp_result cp_runner__ensure_init(cp_runner *r, cp_error *err)
{
    if (r->initialized) return CP_OK;
    cp_result rc =
        is_set(r->cfg.init_cache_dir) ? init_shared(r, err) : cp_runner__init_here(r, r->dir, r->data_dir, false, err);
    if (rc == CP_OK) r->initialized = true;
    return rc;
}
