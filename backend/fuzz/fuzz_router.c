/* fuzz_router.c: cp_router_match. Input "<method> <path>" runs against the
 * real route table; input starting with '!' is "!<pattern>\n<method> <path>"
 * against that one pattern. A match has the pattern's segment count and
 * non-empty, slash-free parameter values; a method miss lists Allow. */
#include "api/api.h"
#include "fuzz.h"
#include "http/server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* '/' outside {...}: a param's name may hold anything, its value never '/'. */
static size_t pattern_slashes(const char *p)
{
    size_t n = 0;
    int depth = 0;
    for (; *p; p++) {
        if (*p == '{' && !depth) {
            if (!strchr(p, '}')) break; /* unclosed: never matches */
            depth = 1;
        } else if (*p == '}' && depth) {
            depth = 0;
        } else if (*p == '/' && !depth) {
            n++;
        }
    }
    return n;
}

static size_t count_char(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++) n += *s == c;
    return n;
}

static void check(const cp_route *routes, size_t n, const char *method, const char *path)
{
    cp_req req;
    memset(&req, 0, sizeof req);
    req.arena = cp_arena_new(4096);
    char allow[256];
    cp_result r = cp_router_match(routes, n, method, path, &req, allow, sizeof allow);
    if (r == CP_OK) {
        FUZZ_CHECK(req.route != NULL);
        FUZZ_CHECK(strcmp(req.route->method, method) == 0);
        FUZZ_CHECK(pattern_slashes(req.route->pattern) == count_char(path, '/'));
        FUZZ_CHECK(req.nparams >= 0 && req.nparams <= CP_MAX_PARAMS);
        for (int i = 0; i < req.nparams; i++) {
            FUZZ_CHECK(req.param_names[i] && req.param_values[i]);
            FUZZ_CHECK(req.param_values[i][0] != '\0');
            FUZZ_CHECK(strchr(req.param_values[i], '/') == NULL);
            FUZZ_CHECK(strstr(path, req.param_values[i]) != NULL);
        }
    } else if (r == CP_EMETHOD) {
        FUZZ_CHECK(allow[0] != '\0');
    } else {
        FUZZ_CHECK(r == CP_ENOTFOUND);
    }
    cp_arena_free(req.arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char *line = s;
    cp_route one = {"GET", NULL, NULL, 0};
    if (s[0] == '!') {
        char *nl = strchr(s, '\n');
        if (!nl) goto out;
        *nl = '\0';
        one.pattern = s + 1;
        line = nl + 1;
    }
    char *sp = strchr(line, ' ');
    if (!sp) goto out;
    *sp = '\0';
    if (one.pattern)
        check(&one, 1, line, sp + 1);
    else
        check(cp_api_routes, cp_api_nroutes, line, sp + 1);
out:
    free(s);
    return 0;
}
