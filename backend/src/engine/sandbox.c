#include "engine/sandbox.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

static struct {
    bool ok;
    char path[64];
    char why[256];
    char desc[384];
} sb;
static pthread_once_t sb_once = PTHREAD_ONCE_INIT;

/* Top-level entries that are links into /usr on merged-/usr systems and
 * real directories elsewhere. */
static const char *const sys_dirs[] = {"/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"};
/* What tofu and providers need from /etc: DNS, TLS roots, user lookup, time zone. */
static const char *const etc_files[] = {"/etc/resolv.conf",     "/etc/hosts",  "/etc/nsswitch.conf", "/etc/host.conf",
                                        "/etc/gai.conf",        "/etc/passwd", "/etc/group",         "/etc/ssl",
                                        "/etc/ca-certificates", "/etc/pki",    "/etc/localtime"};

static void probe_line(void *ctx, cp_proc_stream st, const char *line, size_t len, bool truncated)
{
    CP_UNUSED(st);
    CP_UNUSED(truncated);
    char *why = ctx;
    if (!why[0]) snprintf(why, sizeof sb.why, "bwrap failed: %.*s", (int)(len > 200 ? 200 : len), line);
}

static void probe(void)
{
    static const char *const cands[] = {"/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"};
    for (size_t i = 0; i < CP_ARRAY_LEN(cands) && !sb.path[0]; i++)
        if (access(cands[i], X_OK) == 0) snprintf(sb.path, sizeof sb.path, "%s", cands[i]);
    if (!sb.path[0]) {
        snprintf(sb.why, sizeof sb.why, "bwrap (bubblewrap) not installed");
        return;
    }
    /* The same kind of sandbox a run gets, around /bin/true. */
    cp_strv argv;
    cp_strv_init(&argv);
    cp_sandbox_argv(&argv, "cloudplane-probe", "/", NULL, 0);
    cp_strv_add(&argv, "/bin/true");
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    cp_proc_spec spec = {.path = sb.path,
                         .argv = argv.v,
                         .envp = envp,
                         .pass_fd = -1,
                         .timeout_ms = 10000,
                         .grace_ms = 1000,
                         .on_line = probe_line,
                         .ctx = sb.why};
    cp_proc_result res;
    cp_error err;
    if (cp_proc_run(&spec, &res, &err) != CP_OK)
        snprintf(sb.why, sizeof sb.why, "%s", err.message);
    else if (res.exit_code == 0) {
        sb.ok = true;
        sb.why[0] = '\0';
    } else if (!sb.why[0])
        snprintf(sb.why, sizeof sb.why, "bwrap trial exited with %d", res.exit_code);
    cp_strv_free(&argv);
}

static void probe_all(void)
{
    probe();
    if (sb.ok)
        snprintf(sb.desc, sizeof sb.desc, "tofu runs inside bubblewrap (%s)", sb.path);
    else
        snprintf(sb.desc, sizeof sb.desc, "tofu runs WITHOUT bubblewrap: %s", sb.why);
}

bool cp_sandbox_available(void)
{
    pthread_once(&sb_once, probe_all);
    return sb.ok;
}

const char *cp_sandbox_describe(void)
{
    cp_sandbox_available();
    return sb.desc;
}

bool cp_sandbox_log_status(void)
{
    bool ok = cp_sandbox_available();
    json_t *f = json_pack("{s:b,s:s}", "bwrap", ok, ok ? "path" : "reason", ok ? sb.path : sb.why);
    if (ok)
        cp_log(CP_LOG_INFO, "engine isolation: tofu runs inside bubblewrap", f);
    else
        cp_log(CP_LOG_WARN, "engine isolation: bubblewrap unavailable, tofu runs with rlimits only", f);
    return ok;
}

void cp_sandbox_argv(cp_strv *argv, const char *hostname, const char *chdir, const cp_sandbox_mount *mounts, size_t n)
{
    cp_strv_add(argv, sb.path[0] ? sb.path : "/usr/bin/bwrap");
    static const char *const base[] = {
        "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--cap-drop",        "ALL",           "--ro-bind",     "/usr",          "/usr"};
    for (size_t i = 0; i < CP_ARRAY_LEN(base); i++) cp_strv_add(argv, base[i]);
    cp_strv_add(argv, "--hostname");
    cp_strv_add(argv, hostname && *hostname ? hostname : "cloudplane");
    for (size_t i = 0; i < CP_ARRAY_LEN(sys_dirs); i++) {
        struct stat st;
        if (lstat(sys_dirs[i], &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t k = readlink(sys_dirs[i], target, sizeof target - 1);
            if (k <= 0) continue;
            target[k] = '\0';
            cp_strv_add(argv, "--symlink");
            cp_strv_add(argv, target);
        } else {
            cp_strv_add(argv, "--ro-bind");
            cp_strv_add(argv, sys_dirs[i]);
        }
        cp_strv_add(argv, sys_dirs[i]);
    }
    for (size_t i = 0; i < CP_ARRAY_LEN(etc_files); i++) {
        cp_strv_add(argv, "--ro-bind-try");
        cp_strv_add(argv, etc_files[i]);
        cp_strv_add(argv, etc_files[i]);
    }
    static const char *const fs[] = {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"};
    for (size_t i = 0; i < CP_ARRAY_LEN(fs); i++) cp_strv_add(argv, fs[i]);
    for (size_t i = 0; i < n; i++) {
        cp_strv_add(argv, mounts[i].writable ? "--bind" : "--ro-bind");
        cp_strv_add(argv, mounts[i].path);
        cp_strv_add(argv, mounts[i].path);
    }
    if (chdir) {
        cp_strv_add(argv, "--chdir");
        cp_strv_add(argv, chdir);
    }
    cp_strv_add(argv, "--");
}
