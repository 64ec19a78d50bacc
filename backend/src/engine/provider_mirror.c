/* provider_mirror.c: the default provider mirror and `admin providers mirror`
 * (see provider_mirror.h). */
#include "engine/provider_mirror.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/secretfile.h"
#include "engine/proc.h"
#include "engine/workspace.h"

#define OUT_MAX ((size_t)1 << 20)
#define LOCAL_NS "registry.opentofu.org/cloudplane"

/* snprintf for paths; false when it did not fit. */
static bool pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

bool cp_provider_default_mirror(char *out, size_t cap)
{
    const char *c = getenv("CLOUDPLANE_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
    int n;
    if (c && *c)
        n = snprintf(out, cap, "%s/mirror", c);
    else if (x && *x)
        n = snprintf(out, cap, "%s/cloudplane/mirror", x);
    else
        n = snprintf(out, cap, "%s/.cache/cloudplane/mirror", h && *h ? h : "/root");
    struct stat st;
    return n > 0 && (size_t)n < cap && stat(out, &st) == 0 && S_ISDIR(st.st_mode);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir that do not start with '.', sorted; none when it is missing. */
static void list_dir(const char *dir, cp_strv *out)
{
    cp_strv_init(out);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') cp_strv_add(out, de->d_name);
    closedir(d);
    if (out->n) qsort(out->v, out->n, sizeof *out->v, name_cmp);
}

static void collect(void *ctx, cp_proc_stream st, const char *line, size_t len, bool truncated)
{
    CP_UNUSED(st);
    CP_UNUSED(truncated);
    cp_buf *b = ctx;
    if (cp_buf_add(b, line, len) == CP_OK) CP_IGNORE(cp_buf_add(b, "\n", 1));
}

/* The module dirs under dir (those with a versions.tf), sorted. */
static void list_modules(const char *dir, cp_strv *out)
{
    cp_strv all;
    list_dir(dir, &all);
    cp_strv_init(out);
    for (size_t i = 0; i < all.n; i++) {
        char p[PATH_MAX];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s/versions.tf", dir, all.v[i]) < (int)sizeof p && stat(p, &st) == 0)
            cp_strv_add(out, all.v[i]);
    }
    cp_strv_free(&all);
}

/* Runs tofu with args in cwd; its output (both streams) goes to out. */
static cp_result run_tofu(const cp_provider_mirror_spec *s, const char *cwd, const char *home, cp_strv *args,
                          cp_buf *out, int *code, cp_error *err)
{
    cp_strv argv, env;
    cp_strv_init(&argv);
    cp_strv_init(&env);
    cp_strv_add(&argv, s->tofu);
    for (size_t i = 0; i < args->n; i++) cp_strv_add(&argv, args->v[i]);
    cp_strv_add(&env, "PATH=/usr/local/bin:/usr/bin:/bin");
    cp_strv_addf(&env, "HOME=%s", home);
    cp_strv_addf(&env, "TF_CLI_CONFIG_FILE=%s/cli.tfrc.json", home);
    cp_strv_add(&env, "TF_IN_AUTOMATION=1");
    cp_strv_add(&env, "CHECKPOINT_DISABLE=1");
    /* The operator's way out to the registries, if any. */
    static const char *const pass[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY",    "http_proxy",
                                       "NO_PROXY",    "no_proxy",    "SSL_CERT_FILE", "SSL_CERT_DIR"};
    for (size_t i = 0; i < CP_ARRAY_LEN(pass); i++)
        if (getenv(pass[i])) cp_strv_addf(&env, "%s=%s", pass[i], getenv(pass[i]));
    cp_buf_reset(out);
    cp_proc_spec spec = {.path = s->tofu,
                         .argv = argv.v,
                         .envp = env.v,
                         .cwd = cwd,
                         .pass_fd = -1,
                         .timeout_ms = 30 * 60 * 1000,
                         .grace_ms = 10000,
                         .on_line = collect,
                         .ctx = out};
    cp_proc_result res;
    cp_result rc = cp_proc_run(&spec, &res, err);
    *code = res.exit_code;
    cp_strv_free(&argv);
    cp_strv_free(&env);
    return rc;
}

/* The provider addresses in `tofu providers` output ("provider[ADDR]"). */
static void parse_providers(const char *text, cp_strv *out)
{
    cp_strv_init(out);
    for (const char *p = text; (p = strstr(p, "provider[")); p++) {
        p += 9;
        size_t n = strcspn(p, "]\n");
        if (p[n] == ']') cp_strv_addf(out, "%.*s", (int)n, p);
    }
}

/* From a failed `tofu providers mirror`: the provider it was fetching (the
 * last "- Mirroring X..." line) and the error: "summary: detail", the detail
 * cut at about 220 characters. */
static void mirror_failure(const char *text, char *who, size_t wcap, char *why, size_t ycap)
{
    snprintf(who, wcap, "(unknown provider)");
    for (const char *p = text; (p = strstr(p, "- Mirroring ")); p++) {
        const char *s = p + 12;
        size_t n = strcspn(s, ".\n");
        snprintf(who, wcap, "%.*s", (int)n, s);
    }
    why[0] = '\0';
    const char *e = strstr(text, "Error: ");
    if (!e) return;
    e += 7;
    size_t n = strcspn(e, "\n");
    size_t used = (size_t)snprintf(why, ycap, "%.*s: ", (int)(n < 200 ? n : 200), e);
    const char *p = e + n;
    while (*p == '\n') p++;
    size_t detail = 0;
    for (; *p && !(p[0] == '\n' && p[1] == '\n') && used + 4 < ycap; p++) {
        char c = *p == '\n' ? ' ' : *p;
        if (detail > 220 && c == ' ') {
            used += (size_t)snprintf(why + used, ycap - used, " ...");
            break;
        }
        why[used++] = c;
        detail++;
    }
    if (used < ycap) why[used] = '\0';
}

static cp_result copy_exec(const char *src, const char *dst, cp_error *err)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", dst, (int)getpid());
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
    cp_result rc = CP_OK;
    if (in < 0) return cp_error_set(err, CP_ERR, "mirror", NULL, "cannot read %s: %s", src, strerror(errno));
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out < 0) {
        rc = cp_error_set(err, CP_ERR, "mirror", NULL, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    char buf[65536];
    ssize_t k;
    while ((k = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)k) != k) {
            k = -1;
            break;
        }
    if (k < 0 || fchmod(out, 0755) != 0 || close(out) != 0) {
        out = -1;
        rc = cp_error_set(err, CP_ERR, "mirror", NULL, "cannot copy %s: %s", src, strerror(errno));
        goto out;
    }
    out = -1;
    if (rename(tmp, dst) != 0) rc = cp_error_set(err, CP_ERR, "mirror", NULL, "rename %s: %s", dst, strerror(errno));
out:
    if (out >= 0) close(out);
    if (rc != CP_OK) unlink(tmp);
    close(in);
    return rc;
}

static bool platform_wanted(const cp_provider_mirror_spec *s, const char *plat)
{
    if (!s->platforms || !s->platforms[0]) return true;
    for (const char *const *p = s->platforms; *p; p++)
        if (!strcmp(*p, plat)) return true;
    return false;
}

/* Copies <local>/LOCAL_NS/<type>/<version>/<platform>/<file> into dest; *copied counts the files. */
static cp_result copy_local(const cp_provider_mirror_spec *s, const char *local, int *copied, cp_error *err)
{
    char base[PATH_MAX];
    if (!pathf(base, sizeof base, "%s/" LOCAL_NS, local)) return CP_OK;
    cp_strv types, versions, plats, files;
    cp_result rc = CP_OK;
    list_dir(base, &types);
    for (size_t t = 0; t < types.n && rc == CP_OK; t++) {
        char tdir[PATH_MAX];
        if (!pathf(tdir, sizeof tdir, "%s/%s", base, types.v[t])) continue;
        list_dir(tdir, &versions);
        for (size_t v = 0; v < versions.n && rc == CP_OK; v++) {
            char vdir[PATH_MAX];
            if (!pathf(vdir, sizeof vdir, "%s/%s", tdir, versions.v[v])) continue;
            list_dir(vdir, &plats);
            for (size_t p = 0; p < plats.n && rc == CP_OK; p++) {
                if (!platform_wanted(s, plats.v[p])) continue;
                char pdir[PATH_MAX], ddir[PATH_MAX];
                if (!pathf(pdir, sizeof pdir, "%s/%s", vdir, plats.v[p]) ||
                    !pathf(ddir, sizeof ddir, "%s/" LOCAL_NS "/%s/%s/%s", s->dest, types.v[t], versions.v[v],
                           plats.v[p]))
                    continue;
                list_dir(pdir, &files);
                if (files.n) rc = cp_mkdirs(ddir, 0755, err);
                for (size_t f = 0; f < files.n && rc == CP_OK; f++) {
                    char src[PATH_MAX], dst[PATH_MAX];
                    if (pathf(src, sizeof src, "%s/%s", pdir, files.v[f]) &&
                        pathf(dst, sizeof dst, "%s/%s", ddir, files.v[f]) && (rc = copy_exec(src, dst, err)) == CP_OK)
                        (*copied)++;
                }
                cp_strv_free(&files);
            }
            cp_strv_free(&plats);
        }
        cp_strv_free(&versions);
    }
    cp_strv_free(&types);
    return rc;
}

/* One module: its providers (`tofu providers`), then `tofu providers mirror`
 * unless they are all local. *local_needed is set when it uses a local one.
 * A provider it could not fetch is added to *failed (and reported). */
static cp_result mirror_module(const cp_provider_mirror_spec *s, const char *module, const char *tmp,
                               bool *local_needed, cp_strv *failed, cp_error *err)
{
    char src[PATH_MAX], work[PATH_MAX];
    snprintf(src, sizeof src, "%s/%s", s->modules_dir, module);
    snprintf(work, sizeof work, "%s/%s", tmp, module);
    if (mkdir(work, 0700) != 0) return cp_error_set(err, CP_ERR, "mirror", NULL, "mkdir %s: %s", work, strerror(errno));
    cp_result rc = cp_workspace_copy_module(src, work, err);
    if (rc != CP_OK) return rc;
    cp_buf out;
    cp_buf_init(&out, OUT_MAX);
    cp_strv args, provs;
    cp_strv_init(&args);
    cp_strv_init(&provs);
    int code = -1;
    cp_strv_add(&args, "providers");
    cp_strv_add(&args, "-no-color");
    /* `tofu providers` refuses a lock file whose providers are not installed
     * yet; it only lists requirements, so it runs without it (put back for
     * `providers mirror`, which follows the locked versions). */
    char lock[PATH_MAX + 32], kept[PATH_MAX + 32];
    bool has_lock = pathf(lock, sizeof lock, "%s/.terraform.lock.hcl", work) &&
                    pathf(kept, sizeof kept, "%s/.terraform.lock.hcl.kept", work) && rename(lock, kept) == 0;
    rc = run_tofu(s, work, tmp, &args, &out, &code, err);
    if (has_lock && rename(kept, lock) != 0 && rc == CP_OK)
        rc = cp_error_set(err, CP_ERR, "mirror", NULL, "rename %s: %s", kept, strerror(errno));
    if (rc == CP_OK && code != 0)
        rc = cp_error_set(err, CP_ERR, "mirror", NULL, "module %s: tofu providers failed: %.300s", module,
                          cp_buf_cstr(&out));
    if (rc != CP_OK) goto out;
    parse_providers(cp_buf_cstr(&out), &provs);
    size_t remote = 0;
    for (size_t i = 0; i < provs.n; i++) {
        if (strncmp(provs.v[i], "terraform.io/builtin/", 21) == 0) continue; /* in tofu itself */
        if (strncmp(provs.v[i], LOCAL_NS "/", sizeof LOCAL_NS) == 0)
            *local_needed = true;
        else
            remote++;
    }
    if (s->progress) {
        char line[512];
        snprintf(line, sizeof line, "%s: %zu registry provider(s)%s", module, remote,
                 *local_needed ? " + cloudplane's own (copied from the local mirror)" : "");
        s->progress(line);
    }
    if (!remote) goto out;
    cp_strv_free(&args);
    cp_strv_init(&args);
    cp_strv_add(&args, "providers");
    cp_strv_add(&args, "mirror");
    cp_strv_add(&args, "-no-color");
    for (const char *const *p = s->platforms; p && *p; p++) cp_strv_addf(&args, "-platform=%s", *p);
    cp_strv_add(&args, s->dest);
    rc = run_tofu(s, work, tmp, &args, &out, &code, err);
    if (rc == CP_OK && code != 0) {
        char who[256], why[512];
        mirror_failure(cp_buf_cstr(&out), who, sizeof who, why, sizeof why);
        bool seen = false;
        for (size_t i = 0; i < failed->n; i++) seen |= strcmp(failed->v[i], who) == 0;
        if (!seen) cp_strv_add(failed, who);
        if (s->progress) {
            char line[1024];
            snprintf(line, sizeof line, "module %s: could not fetch provider %s: %s", module, who,
                     why[0] ? why : "no message");
            s->progress(line);
        }
    }
out:
    cp_strv_free(&args);
    cp_strv_free(&provs);
    cp_buf_free(&out);
    return rc;
}

cp_result cp_provider_mirror_fill(const cp_provider_mirror_spec *s, cp_error *err)
{
    char tmp[] = "/tmp/cloudplane-mirror-XXXXXX", local[PATH_MAX];
    bool have_local =
        s->local_mirror ? access(s->local_mirror, X_OK) == 0 : cp_provider_default_mirror(local, sizeof local);
    if (s->local_mirror) snprintf(local, sizeof local, "%s", s->local_mirror);
    cp_result rc = cp_mkdirs(s->dest, 0755, err);
    if (rc != CP_OK) return rc;
    if (!mkdtemp(tmp)) return cp_error_set(err, CP_ERR, "mirror", NULL, "mkdtemp: %s", strerror(errno));
    static const char cli[] = "{\"disable_checkpoint\":true}";
    rc = cp_workspace_write(tmp, "cli.tfrc.json", cli, sizeof cli - 1, err);
    cp_strv modules, failures;
    cp_strv_init(&failures);
    list_modules(s->modules_dir, &modules);
    if (rc == CP_OK && !modules.n)
        rc = cp_error_set(err, CP_EINVAL, "mirror", NULL, "no modules in %s", s->modules_dir);
    bool local_needed = false;
    for (size_t i = 0; i < modules.n && rc == CP_OK; i++)
        rc = mirror_module(s, modules.v[i], tmp, &local_needed, &failures, err);
    int copied = 0;
    if (rc == CP_OK && have_local) rc = copy_local(s, local, &copied, err);
    if (rc == CP_OK && s->progress && have_local) {
        char line[PATH_MAX + 64];
        snprintf(line, sizeof line, "copied %d local provider file(s) from %s", copied, local);
        s->progress(line);
    }
    if (rc == CP_OK && local_needed && !copied)
        rc = cp_error_set(err, CP_ERR, "mirror", NULL,
                          "the modules use cloudplane/* providers, but %s has none: run scripts/install-provider.sh",
                          local);
    if (rc == CP_OK && failures.n) {
        char names[512] = "";
        for (size_t i = 0, used = 0; i < failures.n && used < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", failures.v[i]);
        rc = cp_error_set(err, CP_ERR, "mirror", NULL,
                          "could not fetch provider(s) %s (is the registry reachable from here? details above)", names);
    }
    if (cp_workspace_remove(tmp) != CP_OK && s->progress) s->progress("could not remove a temp dir");
    cp_strv_free(&modules);
    cp_strv_free(&failures);
    return rc;
}
