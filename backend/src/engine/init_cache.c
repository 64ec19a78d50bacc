/* init_cache.c: tofu init for a run: in the run dir, or the shared init
 * (one initialized data dir per module content + backend + binary, made once
 * and reused by every run of that module). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/log.h"
#include "engine/runner_int.h"
#include "engine/workspace.h"

cp_result cp_runner__init_here(cp_runner *r, const char *cwd, const char *data_dir, bool staging, cp_error *err)
{
    static const char *const init_args[] = {"init", "-input=false", "-no-color", NULL};
    cp_strv a;
    cp_runner__args(&a, init_args);
    phase_opts o = {.phase = "init", .cwd = cwd, .data_dir = data_dir, .staging_init = staging, .ok_codes = {-1}};
    int code;
    cp_result rc = cp_runner__run_phase(r, &o, &a, &code, err);
    cp_strv_free(&a);
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
