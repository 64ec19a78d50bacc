#include "core/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

cp_result cp_secret_read(const char *path, char *out, size_t cap, cp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cp_error_set(err, CP_ENOTFOUND, "secret", NULL, "cannot read %s: %s", path, strerror(errno));
    size_t n = 0;
    for (;;) {
        ssize_t k = read(fd, out + n, cap - 1 - n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        n += (size_t)k;
        if (n == cap - 1) break;
    }
    close(fd);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' ')) n--;
    out[n] = '\0';
    if (n == 0) return cp_error_set(err, CP_EINVAL, "secret", NULL, "%s is empty", path);
    return CP_OK;
}

cp_result cp_secret_read_or_create(const char *path, const char *content, char *out, size_t cap, bool *created,
                                   cp_error *err)
{
    *created = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        size_t len = strlen(content);
        bool ok = write(fd, content, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        close(fd);
        if (!ok) {
            unlink(path);
            return cp_error_set(err, CP_ERR, "secret", NULL, "cannot write %s", path);
        }
        *created = true;
    } else if (errno != EEXIST) {
        return cp_error_set(err, CP_ERR, "secret", NULL, "cannot create %s: %s", path, strerror(errno));
    }
    return cp_secret_read(path, out, cap, err);
}

cp_result cp_mkdirs(const char *path, unsigned mode, cp_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
        return cp_error_set(err, CP_EINVAL, NULL, NULL, "path too long");
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return cp_error_set(err, CP_ERR, NULL, NULL, "cannot create %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return cp_error_set(err, CP_ERR, NULL, NULL, "cannot create %s: %s", tmp, strerror(errno));
    return CP_OK;
}
