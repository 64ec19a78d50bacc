/* cmd_tokens.c: `tokens list|create|revoke`: personal API tokens
 * (/api/v1/tokens), or a project's service tokens with --project
 * (/api/v1/projects/{id}/tokens). A server without API tokens answers 404
 * "no route": said plainly. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/xalloc.h"

/* The tokens collection: personal, or of --project. */
static int base_path(const cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a, char **out)
{
    const char *ref = CP_CLI_GET(a, cmd, "--project");
    if (!ref) {
        *out = cp_xstrdup("/api/v1/tokens");
        return CP_CLI_OK;
    }
    char pid[128];
    int rc = cp_cli_project_id(c, ref, pid, sizeof pid);
    if (rc != CP_CLI_OK) return rc;
    char *e = cp_cli_escape(pid);
    *out = cp_xasprintf("/api/v1/projects/%s/tokens", e);
    free(e);
    return CP_CLI_OK;
}

static int call(const cp_cli_ctx *c, const char *method, const char *path, json_t *body, json_t **out)
{
    json_t *err;
    long st;
    int rc = cp_cli_call_quiet(c, method, path, body, out, &st, &err);
    if (rc == CP_CLI_API && st) {
        rc = cp_cli_report(st, err);
        const char *msg = json_string_value(json_object_get(json_object_get(err, "error"), "message"));
        if (st == 404 && msg && !strncmp(msg, "no route", 8))
            fprintf(stderr, "cloudplane tokens: this server has no API tokens (%s is not one of its routes)\n", path);
    }
    json_decref(err);
    return rc;
}

static const char *fmt_scopes(json_t *t, char *buf, size_t cap)
{
    size_t len = 0, i;
    json_t *v;
    buf[0] = '\0';
    json_array_foreach(json_object_get(t, "scopes"), i, v)
    {
        int n = snprintf(buf + len, cap - len, "%s%s", i ? "," : "", json_string_value(v));
        if (n < 0 || (size_t)n >= cap - len) break;
        len += (size_t)n;
    }
    return buf;
}

static const cp_cli_col token_cols[] = {
    {"ID", "id", NULL},
    {"NAME", "name", NULL},
    {"KIND", "kind", NULL},
    {"SCOPES", NULL, fmt_scopes},
    {"ROLE", "role", NULL},
    {"EXPIRES", "expires_at", NULL},
    {"LAST USED", "last_used_at", NULL},
};

static int cmd_list(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    char *path;
    int rc = base_path(c, cmd, a, &path);
    if (rc != CP_CLI_OK) return rc;
    json_t *doc;
    rc = call(c, "GET", path, NULL, &doc);
    free(path);
    if (rc != CP_CLI_OK) return rc;
    if (c->json)
        cp_cli_print_json(doc);
    else
        cp_cli_table(stdout, json_object_get(doc, "items"), token_cols, CP_ARRAY_LEN(token_cols));
    json_decref(doc);
    return CP_CLI_OK;
}

static int cmd_create(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *name = CP_CLI_GET(a, cmd, "--name"), *days = CP_CLI_GET(a, cmd, "--days"),
               *role = CP_CLI_GET(a, cmd, "--role");
    size_t n;
    const char *const *scopes = cp_cli_get_all(a, cmd->opts, cmd->nopts, "--scope", &n);
    if (!name || !n) {
        fprintf(stderr, "cloudplane tokens create: --name and at least one --scope are required\n");
        return CP_CLI_USAGE;
    }
    char *end = NULL;
    long d = days ? strtol(days, &end, 10) : 0;
    if (days && (*end || d <= 0)) {
        fprintf(stderr, "cloudplane tokens create: --days takes a number of days\n");
        return CP_CLI_USAGE;
    }
    if (role && !CP_CLI_GET(a, cmd, "--project")) {
        fprintf(stderr, "cloudplane tokens create: --role is for project tokens (--project)\n");
        return CP_CLI_USAGE;
    }
    char *path;
    int rc = base_path(c, cmd, a, &path);
    if (rc != CP_CLI_OK) return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, json_string(scopes[i]));
    json_t *body = json_pack("{s:s, s:o}", "name", name, "scopes", arr);
    if (days) json_object_set_new(body, "expires_in_days", json_integer(d));
    if (role) json_object_set_new(body, "role", json_string(role));
    json_t *doc;
    rc = call(c, "POST", path, body, &doc);
    json_decref(body);
    free(path);
    if (rc != CP_CLI_OK) return rc;
    if (c->json) {
        cp_cli_print_json(doc);
    } else {
        json_t *one = json_pack("[O]", doc);
        cp_cli_table(stdout, one, token_cols, CP_ARRAY_LEN(token_cols));
        json_decref(one);
        printf("\ntoken (shown this once): %s\n", json_string_value(json_object_get(doc, "token")) ?: "-");
    }
    json_decref(doc);
    return CP_CLI_OK;
}

static int cmd_revoke(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    char *path;
    int rc = base_path(c, cmd, a, &path);
    if (rc != CP_CLI_OK) return rc;
    char *e = cp_cli_escape(a->pos[0]);
    char *full = cp_xasprintf("%s/%s", path, e);
    json_t *doc = NULL;
    rc = call(c, "DELETE", full, NULL, &doc);
    json_decref(doc);
    free(full);
    free(e);
    free(path);
    if (rc == CP_CLI_OK && !c->json) printf("revoked %s\n", a->pos[0]);
    return rc;
}

static const cp_cli_opt project_opt[] = {
    {"--project", "-p", "P", true, false, "the project's service tokens (id or name) instead of mine"},
};
static const cp_cli_opt create_opts[] = {
    {"--project", "-p", "P", true, false, "a service token of this project (id or name) instead of a personal one"},
    {"--name", "-n", "N", true, false, "what it is for"},
    {"--scope", NULL, "S", true, true, "read, order, approve or admin (again for more)"},
    {"--days", NULL, "N", true, false, "expires after N days (default 90, at most 365)"},
    {"--role", NULL, "R", true, false, "project tokens: admin, member (default) or viewer"},
};

const cp_cli_cmd cp_cli_cmds_tokens[] = {
    {"tokens", "list", "", "my API tokens, or a project's service tokens", project_opt, CP_ARRAY_LEN(project_opt),
     false, 0, 0, cmd_list},
    {"tokens", "create", "", "a new API token (shown once)", create_opts, CP_ARRAY_LEN(create_opts), false, 0, 0,
     cmd_create},
    {"tokens", "revoke", "ID", "revoke an API token", project_opt, CP_ARRAY_LEN(project_opt), false, 1, 1, cmd_revoke},
};
const size_t cp_cli_ncmds_tokens = CP_ARRAY_LEN(cp_cli_cmds_tokens);
