#include "core/self.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cp_self_host_id(char *out, size_t cap)
{
    char host[64] = "host";
    /* A failed or cut-short gethostname leaves "host" or a prefix: still an id. */
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    snprintf(out, cap, "%s-%ld", host, (long)getpid());
}

bool cp_self_near_exe(const char *rel, int levels, char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    struct stat st;
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < levels; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) break;
            *slash = '\0';
            if (snprintf(out, cap, "%s/%s", exe, rel) >= (int)cap) break;
            if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return true;
        }
    }
    snprintf(out, cap, "%s", rel);
    return false;
}
