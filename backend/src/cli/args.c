/* args.c: the client's argument parser: flags from each command's table,
 * positionals, and the flags every command takes (--help, --output). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"

static int find_opt(const cp_cli_opt *opts, size_t nopts, const char *arg, size_t len)
{
    for (size_t i = 0; i < nopts; i++) {
        if (strlen(opts[i].name) == len && !strncmp(opts[i].name, arg, len)) return (int)i;
        if (opts[i].alt && strlen(opts[i].alt) == len && !strncmp(opts[i].alt, arg, len)) return (int)i;
    }
    return -1;
}

static bool set_output(cp_cli_args *out, const char *v, char *msg, size_t cap)
{
    if (!strcmp(v, "json")) {
        out->json = true;
        return true;
    }
    if (!strcmp(v, "table")) {
        out->json = false;
        return true;
    }
    snprintf(msg, cap, "--output takes table or json, not '%s'", v);
    return false;
}

bool cp_cli_parse(const cp_cli_opt *opts, size_t nopts, int argc, char **argv, cp_cli_args *out, char *msg, size_t cap)
{
    memset(out, 0, sizeof *out);
    msg[0] = '\0';
    if (nopts > CP_CLI_MAX_OPTS) {
        snprintf(msg, cap, "too many flags in the command table");
        return false;
    }
    bool flags = true;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (flags && !strcmp(arg, "--")) {
            flags = false;
            continue;
        }
        if (!flags || arg[0] != '-' || arg[1] == '\0') {
            if (out->npos == CP_CLI_MAX_POS) {
                snprintf(msg, cap, "too many arguments");
                return false;
            }
            out->pos[out->npos++] = arg;
            continue;
        }
        const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        if ((len == 2 && !strncmp(arg, "-h", 2)) || (len == 6 && !strncmp(arg, "--help", 6))) {
            out->help = true;
            continue;
        }
        if ((len == 2 && !strncmp(arg, "-o", 2)) || (len == 8 && !strncmp(arg, "--output", 8))) {
            const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                snprintf(msg, cap, "--output needs a value (table or json)");
                return false;
            }
            if (!set_output(out, v, msg, cap)) return false;
            continue;
        }
        int k = find_opt(opts, nopts, arg, len);
        if (k < 0) {
            snprintf(msg, cap, "unknown flag '%.*s'", (int)len, arg);
            return false;
        }
        const char *v = "";
        if (opts[k].value) {
            v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v) {
                snprintf(msg, cap, "%s needs a value (%s)", opts[k].name, opts[k].metavar ? opts[k].metavar : "VALUE");
                return false;
            }
        } else if (eq) {
            snprintf(msg, cap, "%s takes no value", opts[k].name);
            return false;
        }
        if (out->o[k].n && !opts[k].multi) {
            out->o[k].v[0] = v; /* the last one wins */
            continue;
        }
        if (out->o[k].n == CP_CLI_MAX_VALUES) {
            snprintf(msg, cap, "%s given too many times", opts[k].name);
            return false;
        }
        out->o[k].v[out->o[k].n++] = v;
    }
    return true;
}

const char *cp_cli_get(const cp_cli_args *a, const cp_cli_opt *opts, size_t nopts, const char *name)
{
    int k = find_opt(opts, nopts, name, strlen(name));
    if (k < 0 || !a->o[k].n) return NULL;
    return a->o[k].v[a->o[k].n - 1];
}

const char *const *cp_cli_get_all(const cp_cli_args *a, const cp_cli_opt *opts, size_t nopts, const char *name,
                                  size_t *n)
{
    int k = find_opt(opts, nopts, name, strlen(name));
    *n = k < 0 ? 0 : a->o[k].n;
    return k < 0 ? NULL : a->o[k].v;
}

bool cp_cli_parse_seconds(const char *s, int64_t *out)
{
    if (!s || s[0] < '0' || s[0] > '9') return false;
    errno = 0;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (errno || n <= 0 || end == s) return false;
    int64_t mul;
    if (!*end)
        mul = 1;
    else if (end[1])
        return false;
    else if (*end == 's')
        mul = 1;
    else if (*end == 'm')
        mul = 60;
    else if (*end == 'h')
        mul = 3600;
    else if (*end == 'd')
        mul = 86400;
    else if (*end == 'w')
        mul = 7 * 86400;
    else
        return false;
    const int64_t year = 366LL * 86400;
    if (n > year / mul) return false;
    *out = (int64_t)n * mul;
    return true;
}
