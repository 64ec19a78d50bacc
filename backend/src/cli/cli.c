/* cli.c: the client's dispatch: finds the command in the tables of the
 * cmd_*.c files, parses its flags, prints its help, loads the credentials and
 * runs it. One table per command group drives both dispatch and --help. */
#include <curl/curl.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_int.h"

typedef struct {
    const cp_cli_cmd *cmds;
    const size_t *n;
} group;

static const group groups[] = {
    {cp_cli_cmds_config, &cp_cli_ncmds_config}, {cp_cli_cmds_list, &cp_cli_ncmds_list},
    {cp_cli_cmds_order, &cp_cli_ncmds_order},   {cp_cli_cmds_resources, &cp_cli_ncmds_resources},
    {cp_cli_cmds_runs, &cp_cli_ncmds_runs},     {cp_cli_cmds_tokens, &cp_cli_ncmds_tokens},
};

#define EXIT_CODES                                                                                                     \
    "exit codes:\n"                                                                                                    \
    "  0  ok\n"                                                                                                        \
    "  1  usage: bad arguments, or not logged in\n"                                                                    \
    "  2  API error (4xx/5xx; the server's message on stderr)\n"                                                       \
    "  3  the run failed or was canceled\n"                                                                            \
    "  4  blocked by a guardrail (at the order, or on the run's plan)\n"                                               \
    "  5  still awaiting approval at --timeout\n"                                                                      \
    "  6  --timeout passed otherwise\n"                                                                                \
    "  7  cannot reach the server\n"

#define ENVIRONMENT                                                                                                    \
    "environment: CLOUDPLANE_URL and CLOUDPLANE_TOKEN override the stored credentials\n"                               \
    "(~/.config/cloudplane/credentials, or under XDG_CONFIG_HOME; written by `cloudplane login`).\n"

/* The commands named name (a group: several with subcommands). */
static void find(const char *name, const cp_cli_cmd **first, size_t *count)
{
    *first = NULL;
    *count = 0;
    for (size_t g = 0; g < CP_ARRAY_LEN(groups); g++)
        for (size_t i = 0; i < *groups[g].n; i++)
            if (!strcmp(groups[g].cmds[i].name, name)) {
                if (!*first) *first = &groups[g].cmds[i];
                (*count)++;
            }
}

bool cp_cli_is_command(const char *name)
{
    const cp_cli_cmd *c;
    size_t n;
    find(name, &c, &n);
    return n > 0;
}

static void usage_line(FILE *f, const cp_cli_cmd *c)
{
    fprintf(f, "usage: cloudplane %s%s%s%s%s [flags]\n", c->name, c->sub ? " " : "", c->sub ? c->sub : "",
            c->args[0] ? " " : "", c->args);
}

static void flag_line(FILE *f, const char *alt, const char *name, const char *metavar, const char *help)
{
    char left[64];
    snprintf(left, sizeof left, "%s%s%s%s%s", alt ? alt : "", alt ? ", " : "    ", name, metavar ? " " : "",
             metavar ? metavar : "");
    fprintf(f, "  %-26s %s\n", left, help);
}

static void command_help(FILE *f, const cp_cli_cmd *c)
{
    usage_line(f, c);
    fprintf(f, "\n%s\n\nflags:\n", c->summary);
    for (size_t i = 0; i < c->nopts; i++) {
        const cp_cli_opt *o = &c->opts[i];
        if (o->help[0]) flag_line(f, o->alt, o->name, o->metavar, o->help);
    }
    flag_line(f, "-o", "--output", "F", "table (default, for people) or json (the API's JSON, for scripts)");
    flag_line(f, "-h", "--help", NULL, "this help");
    fprintf(f, "\n" ENVIRONMENT "\n" EXIT_CODES);
}

static void group_help(FILE *f, const cp_cli_cmd *first, size_t n)
{
    fprintf(f, "usage: cloudplane %s <subcommand> [flags]\n\nsubcommands:\n", first->name);
    for (size_t i = 0; i < n; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", first[i].sub, first[i].args);
        fprintf(f, "  %-20s %s\n", left, first[i].summary);
    }
    fprintf(f, "\n`cloudplane %s <subcommand> --help` for its flags.\n", first->name);
}

void cp_cli_usage(FILE *f)
{
    fprintf(f, "client commands (against a server's API, with a token):\n");
    for (size_t g = 0; g < CP_ARRAY_LEN(groups); g++)
        for (size_t i = 0; i < *groups[g].n; i++) {
            const cp_cli_cmd *c = &groups[g].cmds[i];
            char left[64];
            snprintf(left, sizeof left, "%s%s%s%s%s", c->name, c->sub ? " " : "", c->sub ? c->sub : "",
                     c->args[0] ? " " : "", c->args);
            fprintf(f, "  %-26s %s\n", left, c->summary);
        }
    fprintf(f, "\n" ENVIRONMENT "\n" EXIT_CODES);
}

/* The command of argv (name, then its subcommand when it has them); NULL
 * after printing the group's help (*rc set). *used: words taken. */
static const cp_cli_cmd *resolve(int argc, char **argv, int *used, int *rc)
{
    const cp_cli_cmd *first;
    size_t n;
    find(argv[0], &first, &n);
    *used = 1;
    if (!first->sub) return first;
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (sub)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(first[i].sub, sub)) {
                *used = 2;
                return &first[i];
            }
    bool help = sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help"));
    if (!help)
        fprintf(stderr, sub ? "cloudplane %s: unknown subcommand '%s'\n\n" : "cloudplane %s: which one?\n\n", argv[0],
                sub);
    group_help(help ? stdout : stderr, first, n);
    *rc = help ? CP_CLI_OK : CP_CLI_USAGE;
    return NULL;
}

int cp_cli_help(int argc, char **argv)
{
    if (argc < 1 || !cp_cli_is_command(argv[0])) {
        fprintf(stderr, "cloudplane help: no client command '%s'\n", argc ? argv[0] : "");
        return CP_CLI_USAGE;
    }
    int used, rc = CP_CLI_OK;
    const cp_cli_cmd *c = resolve(argc, argv, &used, &rc);
    if (c) command_help(stdout, c);
    return rc;
}

int cp_cli_main(int argc, char **argv)
{
    int used, rc = CP_CLI_OK;
    const cp_cli_cmd *c = resolve(argc, argv, &used, &rc);
    if (!c) return rc;
    cp_cli_args a;
    char msg[256];
    if (!cp_cli_parse(c->opts, c->nopts, argc - used, argv + used, &a, msg, sizeof msg)) {
        fprintf(stderr, "cloudplane %s%s%s: %s\n", c->name, c->sub ? " " : "", c->sub ? c->sub : "", msg);
        usage_line(stderr, c);
        return CP_CLI_USAGE;
    }
    if (a.help) {
        command_help(stdout, c);
        return CP_CLI_OK;
    }
    if (a.npos < c->min_pos || a.npos > c->max_pos) {
        fprintf(stderr, "cloudplane %s%s%s: %s\n", c->name, c->sub ? " " : "", c->sub ? c->sub : "",
                a.npos < c->min_pos ? "missing arguments" : "too many arguments");
        usage_line(stderr, c);
        return CP_CLI_USAGE;
    }
    cp_cli_ctx ctx;
    if (c->no_auth) {
        memset(&ctx, 0, sizeof ctx);
        ctx.json = a.json;
    } else if ((rc = cp_cli_ctx_load(&ctx, a.json)) != CP_CLI_OK) {
        return rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cloudplane: libcurl failed to start\n");
        return CP_CLI_UNREACHABLE;
    }
    rc = c->run(&ctx, c, &a);
    fflush(stdout);
    curl_global_cleanup();
    memset(ctx.token, 0, sizeof ctx.token);
    return rc;
}
