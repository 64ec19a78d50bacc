/* router.c: segment-wise matching of "/a/{x}/b" patterns. */
#include <stdio.h>
#include <string.h>

#include "http/server.h"

/* Matches one pattern: the number of parameters it binds, or -1. Fills the
 * params into req when req is given. */
static int match(const char *pattern, const char *path, cp_req *req)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            const char *end = strchr(s, '/');
            size_t vlen = end ? (size_t)(end - s) : strlen(s);
            if (!close || vlen == 0 || np >= CP_MAX_PARAMS) return -1;
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
            return -1;
        }
    }
    if (*p || *s) return -1;
    if (req) req->nparams = np;
    return np;
}

/* A literal segment beats a parameter: of the patterns that match path, only
 * those with the fewest parameters count, so /sessions/revoke-all is never
 * also /sessions/{id} (for its method or its Allow header). One pass over
 * the table; the Allow list restarts whenever fewer parameters match. */
cp_result cp_router_match(const cp_route *routes, size_t n, const char *method, const char *path, cp_req *req,
                          char *allow, size_t allow_len)
{
    int fewest = -1;
    const cp_route *found = NULL;
    size_t used = 0;
    if (allow && allow_len) allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int np = match(routes[i].pattern, path, NULL);
        if (np < 0 || (fewest >= 0 && np > fewest)) continue;
        if (np < fewest || fewest < 0) {
            fewest = np;
            found = NULL;
            used = 0;
            if (allow && allow_len) allow[0] = '\0';
        }
        if (!found && strcmp(routes[i].method, method) == 0) found = &routes[i];
        if (allow && allow_len && used < allow_len) {
            int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", routes[i].method);
            used = w < 0 ? allow_len : used + (size_t)w;
        }
    }
    if (fewest < 0) return CP_ENOTFOUND;
    if (!found) return CP_EMETHOD;
    match(found->pattern, path, req);
    req->route = found;
    return CP_OK;
}
