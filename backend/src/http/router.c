/* router.c: segment-wise matching of "/a/{x}/b" patterns. */
#include <stdio.h>
#include <string.h>

#include "http/server.h"

/* Matches one pattern; fills params into req on success. */
static bool match(const char *pattern, const char *path, cp_req *req)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = strchr(s, '/');
            size_t vlen = end ? (size_t)(end - s) : strlen(s);
            if (!close || vlen == 0 || np >= CP_MAX_PARAMS) return false;
            if (req) {
                req->param_names[np] = cp_arena_strndup(req->arena, p + 1, (size_t)(close - p - 1));
                req->param_values[np] = cp_arena_strndup(req->arena, s, vlen);
            }
            np++;
            p = close + 1;
            s += vlen;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return false;
        }
    }
    if (*p || *s) return false;
    if (req) req->nparams = np;
    return true;
}

cp_result cp_router_match(const cp_route *routes, size_t n, const char *method, const char *path, cp_req *req,
                          char *allow, size_t allow_len)
{
    bool path_known = false;
    if (allow && allow_len) allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!match(routes[i].pattern, path, NULL)) continue;
        if (strcmp(routes[i].method, method) == 0) {
            match(routes[i].pattern, path, req);
            req->route = &routes[i];
            return CP_OK;
        }
        path_known = true;
        if (allow && allow_len) {
            size_t used = strlen(allow);
            snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", routes[i].method);
        }
    }
    return path_known ? CP_EMETHOD : CP_ENOTFOUND;
}
