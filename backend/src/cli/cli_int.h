/* cli_int.h: what the client's files share: exit codes, the argument parser,
 * the connection (URL and token), the HTTP calls, waiting on a run, and the
 * output (tables for people, the API's JSON for scripts). */
#ifndef CP_CLI_INT_H
#define CP_CLI_INT_H

#include <jansson.h>
#include <stdio.h>

#include "core/cp.h"

/* Exit codes, for CI: documented in `cloudplane help` and the README. */
typedef enum {
    CP_CLI_OK = 0,
    CP_CLI_USAGE = 1,       /* bad arguments, or no credentials */
    CP_CLI_API = 2,         /* the API answered 4xx/5xx */
    CP_CLI_RUN_FAILED = 3,  /* the run failed or was canceled */
    CP_CLI_GUARDRAIL = 4,   /* blocked by a guardrail (at the order or on the plan) */
    CP_CLI_APPROVAL = 5,    /* still awaiting approval at --timeout */
    CP_CLI_TIMEOUT = 6,     /* --timeout passed otherwise */
    CP_CLI_UNREACHABLE = 7, /* the server could not be reached */
} cp_cli_exit;

/* ---- arguments (args.c) ---- */

#define CP_CLI_MAX_OPTS 16
#define CP_CLI_MAX_VALUES 32
#define CP_CLI_MAX_POS 8

/* One flag of a command. value: it takes a value (--size S, --size=S);
 * multi: it may be given again (--tag k=v --tag k2=v2). help "" hides it. */
typedef struct {
    const char *name; /* "--size" */
    const char *alt;  /* "-s" or NULL */
    const char *metavar;
    bool value, multi;
    const char *help;
} cp_cli_opt;

typedef struct {
    const char *pos[CP_CLI_MAX_POS];
    size_t npos;
    struct {
        const char *v[CP_CLI_MAX_VALUES];
        size_t n;
    } o[CP_CLI_MAX_OPTS];
    bool help; /* -h, --help */
    bool json; /* -o json, --output json */
} cp_cli_args;

/* Parses argv (argv[0] excluded by the caller) against opts; every command
 * also takes -h/--help and -o/--output table|json, anywhere. "--" ends the
 * flags. false with msg set on an unknown flag, a missing value, too many
 * positionals or values. */
bool cp_cli_parse(const cp_cli_opt *opts, size_t nopts, int argc, char **argv, cp_cli_args *out, char *msg, size_t cap);
/* The last value of flag name (NULL when absent); for a flag without a
 * value, non-NULL ("") when given. */
const char *cp_cli_get(const cp_cli_args *a, const cp_cli_opt *opts, size_t nopts, const char *name);
/* All values of a multi flag; *n their count. */
const char *const *cp_cli_get_all(const cp_cli_args *a, const cp_cli_opt *opts, size_t nopts, const char *name,
                                  size_t *n);
/* "90s", "30m", "8h", "3d", "2w", or a bare number of seconds: seconds in
 * *out (positive, at most a year). false otherwise. */
bool cp_cli_parse_seconds(const char *s, int64_t *out);

/* ---- the connection (config.c) and HTTP (http.c) ---- */

typedef struct {
    char url[1024]; /* without a trailing slash */
    char token[4096];
    bool json; /* --output json */
} cp_cli_ctx;

/* URL and token: CLOUDPLANE_URL and CLOUDPLANE_TOKEN, else the credentials
 * file. CP_CLI_USAGE (message printed) when there is no token. */
int cp_cli_ctx_load(cp_cli_ctx *c, bool json);
/* The credentials file's path ($XDG_CONFIG_HOME or ~/.config, then
 * cloudplane/credentials); false when neither is set. */
bool cp_cli_credentials_path(char *out, size_t cap, char *dir, size_t dircap);

/* One API call: method on path (under the URL; with its query, already
 * escaped), body (may be NULL; not stolen). On 2xx returns CP_CLI_OK and
 * *out the parsed JSON (NULL when there is no body; caller owns it). On an
 * error prints the message on stderr and returns CP_CLI_API
 * (CP_CLI_GUARDRAIL for guardrail_blocked, with the broken rules) or
 * CP_CLI_UNREACHABLE; *status is the HTTP status (0 unreached). */
int cp_cli_call(const cp_cli_ctx *c, const char *method, const char *path, json_t *body, json_t **out, long *status);
/* As cp_cli_call, but prints nothing: *err_body holds the error JSON (or
 * NULL). For callers that look at the error themselves. */
int cp_cli_call_quiet(const cp_cli_ctx *c, const char *method, const char *path, json_t *body, json_t **out,
                      long *status, json_t **err_body);
/* Prints an API error (err_body: the reply, may be NULL or not an error)
 * and returns its exit code (CP_CLI_GUARDRAIL or CP_CLI_API). */
int cp_cli_report(long status, json_t *err_body);
/* s escaped for a URL path segment or query value; caller frees (free()). */
char *cp_cli_escape(const char *s);

/* Called for each SSE event; returns false to stop the stream. */
typedef bool (*cp_cli_sse_fn)(void *ud, const char *id, const char *event, const char *data);
/* Opens path as Server-Sent Events (Last-Event-ID when last_id is not
 * empty) and calls fn per event until the stream ends or fn says stop.
 * CP_CLI_OK when it ended (either way), else as cp_cli_call. */
int cp_cli_sse(const cp_cli_ctx *c, const char *path, const char *last_id, cp_cli_sse_fn fn, void *ud);

/* ---- shared steps (common.c) ---- */

/* A project id from an id or a name (names looked up in my projects). */
int cp_cli_project_id(const cp_cli_ctx *c, const char *ref, char *out, size_t cap);
/* An account id from an id or a name within project_id. */
int cp_cli_account_id(const cp_cli_ctx *c, const char *project_id, const char *ref, char *out, size_t cap);
/* Waits for run_id to end, printing its status changes on stderr: CP_CLI_OK
 * when it succeeded, CP_CLI_RUN_FAILED, CP_CLI_GUARDRAIL (failed on a
 * guardrail), CP_CLI_APPROVAL or CP_CLI_TIMEOUT past timeout_s, or an API
 * error. *run the last run seen (caller owns it; may be NULL). */
int cp_cli_wait_run(const cp_cli_ctx *c, const char *run_id, int64_t timeout_s, json_t **run);
/* After a call that queued a run (reply: {resource, run}): with wait, the run
 * followed to its end and the resource read again. Prints {resource, run}
 * (JSON) or the resource (table); returns cp_cli_wait_run's code. */
int cp_cli_finish_run(const cp_cli_ctx *c, json_t *reply, bool wait, int64_t timeout_s);
/* Every item of a paginated list (follows next_cursor), as one array the
 * caller owns (NULL on an error). */
int cp_cli_list_all(const cp_cli_ctx *c, const char *path, json_t **items);

/* ---- output (output.c) ---- */

typedef struct {
    const char *title; /* column heading */
    const char *path;  /* key in the item, "a.b" for nested; NULL: use fmt */
    const char *(*fmt)(json_t *item, char *buf, size_t cap);
} cp_cli_col;

/* An aligned table of items (an array of objects), headings first. */
void cp_cli_table(FILE *f, json_t *items, const cp_cli_col *cols, size_t ncols);
/* key: value lines for one object. */
void cp_cli_fields(FILE *f, json_t *obj, const cp_cli_col *cols, size_t ncols);
/* The value at path as text: strings as is, numbers and booleans printed,
 * null and absent as "-", objects as compact JSON. buf holds the text. */
const char *cp_cli_text(json_t *v, char *buf, size_t cap);
json_t *cp_cli_at(json_t *obj, const char *path);
/* The API's JSON as it came, indented, on stdout. */
void cp_cli_print_json(json_t *v);
/* A list: the API's page shape ({items, next_cursor: null}, every page merged) with -o json, else a table. */
void cp_cli_print_list(const cp_cli_ctx *c, json_t *items, const cp_cli_col *cols, size_t ncols);

/* ---- commands (cmd_*.c) ---- */

typedef struct cp_cli_cmd {
    const char *name, *sub; /* "resources", "show" (sub NULL: none) */
    const char *args;       /* positional arguments for usage, e.g. "ID" */
    const char *summary;
    const cp_cli_opt *opts;
    size_t nopts;
    bool no_auth; /* runs without credentials (login, logout) */
    size_t min_pos, max_pos;
    int (*run)(cp_cli_ctx *c, const struct cp_cli_cmd *cmd, const cp_cli_args *a);
} cp_cli_cmd;

extern const cp_cli_cmd cp_cli_cmds_config[], cp_cli_cmds_list[], cp_cli_cmds_order[], cp_cli_cmds_resources[],
    cp_cli_cmds_runs[], cp_cli_cmds_tokens[];
extern const size_t cp_cli_ncmds_config, cp_cli_ncmds_list, cp_cli_ncmds_order, cp_cli_ncmds_resources,
    cp_cli_ncmds_runs, cp_cli_ncmds_tokens;

#define CP_CLI_GET(a, cmd, name) cp_cli_get((a), (cmd)->opts, (cmd)->nopts, (name))

#endif
