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

static int params_in(const char *pattern)
{
    int n = 0;
    for (; *pattern; pattern++) n += *pattern == '{';
    return n;
}

/* A literal segment beats a parameter: of the patterns that match path, only
 * those with the fewest parameters count, so /sessions/revoke-all is never
 * also /sessions/{id} (for its method or its Allow header). */
cp_result cp_router_match(const cp_route *routes, size_t n, const char *method, const char *path, cp_req *req,
                          char *allow, size_t allow_len)
{
    int fewest = -1;
    for (size_t i = 0; i < n; i++)
        if (match(routes[i].pattern, path, NULL) && (fewest < 0 || params_in(routes[i].pattern) < fewest))
            fewest = params_in(routes[i].pattern);
    if (allow && allow_len) allow[0] = '\0';
    if (fewest < 0) return CP_ENOTFOUND;
    for (size_t i = 0; i < n; i++) {
        if (params_in(routes[i].pattern) != fewest || !match(routes[i].pattern, path, NULL)) continue;
        if (strcmp(routes[i].method, method) == 0) {
            match(routes[i].pattern, path, req);
            req->route = &routes[i];
            return CP_OK;
        }
        if (allow && allow_len) {
            size_t used = strlen(allow);
            snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", routes[i].method);
        }
    }
    return CP_EMETHOD;
}
