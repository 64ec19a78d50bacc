#include "engine/workspace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/secretfile.h"
#include "core/xalloc.h"

#define MODULE_FILE_MAX (4 * 1024 * 1024)
#define MAX_MODULE_FILES 64

static bool safe_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.') return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '.' ||
              *p == '_' || *p == '-'))
            return false;
    return true;
}

cp_result cp_workspace_mkdir(const char *parent, const char *name, char *out, size_t cap, cp_error *err)
{
    if (!safe_name(name)) return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "bad directory name");
    cp_result r = cp_mkdirs(parent, 0700, err);
    if (r != CP_OK) return r;
    if ((size_t)snprintf(out, cap, "%s/%s", parent, name) >= cap)
        return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "path too long");
    if (mkdir(out, 0700) != 0) {
        if (errno == EEXIST) return cp_error_set(err, CP_ECONFLICT, "conflict", NULL, "%s already exists", out);
        return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot create %s: %s", out, strerror(errno));
    }
    return CP_OK;
}

static bool module_file(const char *name)
{
    size_t n = strlen(name);
    if (strcmp(name, ".terraform.lock.hcl") == 0) return true;
    if (name[0] == '.') return false;
    return (n > 3 && strcmp(name + n - 3, ".tf") == 0) || (n > 8 && strcmp(name + n - 8, ".tf.json") == 0);
}

cp_result cp_workspace_read(const char *path, size_t max, char **data, size_t *len, cp_error *err)
{
    *data = NULL;
    if (len) *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "%s not found", path);
        return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return cp_error_set(err, CP_ETOOBIG, "workspace", NULL, "%s is not a regular file of at most %zu bytes", path,
                            max);
    }
    char *buf = cp_xmalloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t k = read(fd, buf + got, (size_t)st.st_size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = '\0';
    *data = buf;
    if (len) *len = got;
    return CP_OK;
}

static cp_result write_path(const char *path, const void *data, size_t len, cp_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot create %s: %s", path, strerror(errno));
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(fd, p + done, len - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int e = errno;
            close(fd);
            return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot write %s: %s", path, strerror(e));
        }
        done += (size_t)k;
    }
    if (close(fd) != 0) return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot write %s", path);
    return CP_OK;
}

cp_result cp_workspace_write(const char *dir, const char *name, const void *data, size_t len, cp_error *err)
{
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "path too long");
    return write_path(path, data, len, err);
}

cp_result cp_workspace_write_json(const char *dir, const char *name, json_t *j, cp_error *err)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return cp_error_set(err, CP_ERR, "workspace", NULL, "cannot encode %s", name);
    cp_result r = cp_workspace_write(dir, name, text, strlen(text), err);
    free(text);
    return r;
}

cp_result cp_workspace_copy_file(const char *src, const char *dst, cp_error *err)
{
    char *data;
    size_t len;
    cp_result r = cp_workspace_read(src, MODULE_FILE_MAX, &data, &len, err);
    if (r != CP_OK) return r;
    r = write_path(dst, data, len, err);
    free(data);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted module file names; caller frees each and the array. */
static cp_result list_module(const char *module_dir, char ***names, size_t *n, cp_error *err)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(module_dir);
    if (!d) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "module %s not found", module_dir);
    char **v = cp_xcalloc(MAX_MODULE_FILES, sizeof *v);
    size_t count = 0;
    struct dirent *e;
    cp_result r = CP_OK;
    while ((e = readdir(d))) {
        if (!module_file(e->d_name)) continue;
        if (count == MAX_MODULE_FILES) {
            r = cp_error_set(err, CP_ERR, "workspace", NULL, "module %s has too many files", module_dir);
            break;
        }
        v[count++] = cp_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(v, count, sizeof *v, cmp_str);
    *names = v;
    *n = count;
    return r;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

cp_result cp_workspace_copy_module(const char *module_dir, const char *dest, cp_error *err)
{
    char **names;
    size_t n;
    cp_result r = list_module(module_dir, &names, &n, err);
    if (r == CP_OK && n == 0) r = cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "module %s is empty", module_dir);
    for (size_t i = 0; i < n && r == CP_OK; i++) {
        char src[PATH_MAX], dst[PATH_MAX];
        if ((size_t)snprintf(src, sizeof src, "%s/%s", module_dir, names[i]) >= sizeof src ||
            (size_t)snprintf(dst, sizeof dst, "%s/%s", dest, names[i]) >= sizeof dst)
            r = cp_error_set(err, CP_EINVAL, "bad_request", NULL, "path too long");
        else
            r = cp_workspace_copy_file(src, dst, err);
    }
    free_names(names, n);
    return r;
}

static cp_result remove_at(int dirfd, const char *name, int depth)
{
    if (depth > 64) return CP_ERR;
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno == ENOENT ? CP_OK : CP_ERR;
    if (!S_ISDIR(st.st_mode)) return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? CP_OK : CP_ERR;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return CP_ERR;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return CP_ERR;
    }
    cp_result r = CP_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (remove_at(fd, e->d_name, depth + 1) != CP_OK) r = CP_ERR;
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) r = CP_ERR;
    return r;
}

cp_result cp_workspace_remove(const char *path)
{
    return remove_at(AT_FDCWD, path, 0);
}

cp_result cp_workspace_hash(const char *module_dir, const char *extra, char out[65], cp_error *err)
{
    char **names;
    size_t n;
    cp_result r = list_module(module_dir, &names, &n, err);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) abort();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (size_t i = 0; i < n && r == CP_OK; i++) {
        char path[PATH_MAX];
        char *data;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", module_dir, names[i]);
        r = cp_workspace_read(path, MODULE_FILE_MAX, &data, &len, err);
        if (r != CP_OK) break;
        /* Name, NUL, length, bytes: no two different trees hash alike. */
        uint64_t l = len;
        EVP_DigestUpdate(md, names[i], strlen(names[i]) + 1);
        EVP_DigestUpdate(md, &l, sizeof l);
        EVP_DigestUpdate(md, data, len);
        free(data);
    }
    if (extra) EVP_DigestUpdate(md, extra, strlen(extra));
    unsigned char dig[32];
    unsigned dl = 0;
    EVP_DigestFinal_ex(md, dig, &dl);
    EVP_MD_CTX_free(md);
    free_names(names, n);
    for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", dig[i]);
    return r;
}
