/* cmd_resources.c: `resources list|show|resize|destroy|extend`, and how a
 * resource and the run a command queued are printed (shared with order). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/xalloc.h"

static const char *fmt_run(json_t *r, char *buf, size_t cap)
{
    json_t *run = json_object_get(r, "current_run");
    if (!json_is_object(run)) return "-";
    snprintf(buf, cap, "%s %s (%s)", json_string_value(json_object_get(run, "operation")),
             json_string_value(json_object_get(run, "status")), json_string_value(json_object_get(run, "id")));
    return buf;
}

static const char *fmt_cost(json_t *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "$%.2f", json_number_value(json_object_get(r, "monthly_cost_usd")));
    return buf;
}

static const cp_cli_col resource_fields[] = {
    {"id", "id", NULL},
    {"name", "name", NULL},
    {"project", "project_id", NULL},
    {"account", "account_name", NULL},
    {"cloud", "cloud", NULL},
    {"kind", "kind", NULL},
    {"region", "region", NULL},
    {"size", "size", NULL},
    {"status", "status", NULL},
    {"outputs", "outputs", NULL},
    {"tags", "config.tags", NULL},
    {"monthly cost", NULL, fmt_cost},
    {"expires", "expires_at", NULL},
    {"drift", "drift_status", NULL},
    {"protected", "protected", NULL},
    {"current run", NULL, fmt_run},
};

int cp_cli_finish_run(const cp_cli_ctx *c, json_t *reply, bool wait, int64_t timeout_s)
{
    json_t *res = json_object_get(reply, "resource"), *run = json_object_get(reply, "run");
    const char *run_id = json_string_value(json_object_get(run, "id"));
    const char *res_id = json_string_value(json_object_get(res, "id"));
    if (!run_id || !res_id) {
        fprintf(stderr, "cloudplane: the reply names no run\n");
        return CP_CLI_API;
    }
    json_t *out = json_pack("{s:O, s:O}", "resource", res, "run", run);
    int rc = CP_CLI_OK;
    if (wait) {
        json_t *last = NULL;
        rc = cp_cli_wait_run(c, run_id, timeout_s, &last);
        if (last) json_object_set_new(out, "run", last);
        char *id = cp_cli_escape(res_id);
        char *path = cp_xasprintf("/api/v1/resources/%s", id);
        json_t *now = NULL, *err = NULL;
        long st;
        if (cp_cli_call_quiet(c, "GET", path, NULL, &now, &st, &err) == CP_CLI_OK && now)
            json_object_set_new(out, "resource", now);
        json_decref(err);
        free(path);
        free(id);
    } else {
        fprintf(stderr, "run %s queued (%s); follow it with: cloudplane runs logs %s --follow\n", run_id,
                json_string_value(json_object_get(run, "operation")), run_id);
    }
    if (c->json)
        cp_cli_print_json(out);
    else
        cp_cli_fields(stdout, json_object_get(out, "resource"), resource_fields, CP_ARRAY_LEN(resource_fields));
    json_decref(out);
    return rc;
}

static int cmd_list(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    static const char *const filters[][2] = {
        {"--cloud", "cloud"}, {"--kind", "kind"}, {"--status", "status"}, {"--drift", "drift_status"}};
    char query[1024] = "";
    size_t len = 0;
    const char *project = CP_CLI_GET(a, cmd, "--project");
    if (project) {
        char pid[128];
        int rc = cp_cli_project_id(c, project, pid, sizeof pid);
        if (rc != CP_CLI_OK) return rc;
        char *e = cp_cli_escape(pid);
        len += (size_t)snprintf(query + len, sizeof query - len, "&project_id=%s", e);
        free(e);
    }
    for (size_t i = 0; i < CP_ARRAY_LEN(filters) && len < sizeof query; i++) {
        const char *v = CP_CLI_GET(a, cmd, filters[i][0]);
        if (!v) continue;
        char *e = cp_cli_escape(v);
        len += (size_t)snprintf(query + len, sizeof query - len, "&%s=%s", filters[i][1], e);
        free(e);
    }
    if (len >= sizeof query) {
        fprintf(stderr, "cloudplane resources list: filters too long\n");
        return CP_CLI_USAGE;
    }
    char *path = cp_xasprintf("/api/v1/resources%s%s", len ? "?" : "", len ? query + 1 : "");
    json_t *items;
    int rc = cp_cli_list_all(c, path, &items);
    free(path);
    if (rc != CP_CLI_OK) return rc;
    static const cp_cli_col cols[] = {
        {"ID", "id", NULL},         {"NAME", "name", NULL},      {"CLOUD", "cloud", NULL},
        {"KIND", "kind", NULL},     {"REGION", "region", NULL},  {"SIZE", "size", NULL},
        {"STATUS", "status", NULL}, {"MONTHLY", NULL, fmt_cost}, {"EXPIRES", "expires_at", NULL}};
    cp_cli_print_list(c, items, cols, CP_ARRAY_LEN(cols));
    json_decref(items);
    return CP_CLI_OK;
}

/* method on /api/v1/resources/ID[suffix] with body; prints the reply (a
 * Resource) or, for a queued run, goes on as cp_cli_finish_run. */
static int on_resource(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a, const char *method,
                       const char *suffix, json_t *body, bool queues_run)
{
    int64_t timeout_s = 30 * 60;
    const char *timeout = cmd->nopts ? CP_CLI_GET(a, cmd, "--timeout") : NULL;
    if (timeout && !cp_cli_parse_seconds(timeout, &timeout_s)) {
        fprintf(stderr, "cloudplane resources: --timeout takes e.g. 90s, 30m, 2h\n");
        json_decref(body);
        return CP_CLI_USAGE;
    }
    char *id = cp_cli_escape(a->pos[0]);
    char *path = cp_xasprintf("/api/v1/resources/%s%s", id, suffix);
    json_t *reply;
    int rc = cp_cli_call(c, method, path, body, &reply, NULL);
    free(path);
    free(id);
    json_decref(body);
    if (rc != CP_CLI_OK) return rc;
    if (queues_run) {
        bool wait = cmd->nopts && CP_CLI_GET(a, cmd, "--wait") != NULL;
        rc = cp_cli_finish_run(c, reply, wait, timeout_s);
    } else if (c->json) {
        cp_cli_print_json(reply);
    } else {
        cp_cli_fields(stdout, reply, resource_fields, CP_ARRAY_LEN(resource_fields));
    }
    json_decref(reply);
    return rc;
}

static int cmd_show(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    return on_resource(c, cmd, a, "GET", "", NULL, false);
}

/* PATCH: resize needs --size; update takes any of --size, --name, --tag. */
static int patch(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a, bool size_only)
{
    const char *size = CP_CLI_GET(a, cmd, "--size"), *name = size_only ? NULL : CP_CLI_GET(a, cmd, "--name");
    size_t ntags = 0;
    if (!size_only) CP_IGNORE(cp_cli_get_all(a, cmd->opts, cmd->nopts, "--tag", &ntags)); /* counted; read below */
    if (!size && !name && !ntags) {
        fprintf(stderr, "cloudplane resources %s: %s\n", cmd->sub,
                size_only ? "--size is required" : "give --size, --name or --tag");
        return CP_CLI_USAGE;
    }
    json_t *body = json_object();
    if (size) json_object_set_new(body, "size", json_string(size));
    if (name) json_object_set_new(body, "name", json_string(name));
    if (ntags) {
        const char *const *tags = cp_cli_get_all(a, cmd->opts, cmd->nopts, "--tag", &ntags);
        json_t *t = json_object();
        for (size_t i = 0; i < ntags; i++) {
            const char *eq = strchr(tags[i], '=');
            if (!eq || eq == tags[i]) {
                fprintf(stderr, "cloudplane resources %s: --tag takes key=value\n", cmd->sub);
                json_decref(t);
                json_decref(body);
                return CP_CLI_USAGE;
            }
            char *k = cp_xstrndup(tags[i], (size_t)(eq - tags[i]));
            json_object_set_new(t, k, json_string(eq + 1));
            free(k);
        }
        json_object_set_new(body, "tags", t);
    }
    const char *override = CP_CLI_GET(a, cmd, "--override");
    if (override) json_object_set_new(body, "guardrail_override", json_pack("{s:s}", "reason", override));
    return on_resource(c, cmd, a, "PATCH", "", body, true);
}

static int cmd_resize(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    return patch(c, cmd, a, true);
}

static int cmd_update(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    return patch(c, cmd, a, false);
}

static int cmd_destroy(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    return on_resource(c, cmd, a, "DELETE", "", NULL, true);
}

static int cmd_extend(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *by = CP_CLI_GET(a, cmd, "--by");
    if (!by) {
        fprintf(stderr, "cloudplane resources extend: --by is required (30m, 8h, 3d, 2w)\n");
        return CP_CLI_USAGE;
    }
    return on_resource(c, cmd, a, "POST", "/extend", json_pack("{s:s}", "by", by), false);
}

static const cp_cli_opt list_opts[] = {
    {"--project", "-p", "P", true, false, "only this project (id or name)"},
    {"--cloud", NULL, "C", true, false, "only this cloud (aws, azure, gcp, sandbox)"},
    {"--kind", NULL, "K", true, false, "only vm or storage"},
    {"--status", NULL, "S", true, false, "only this status (active, failed, destroyed, ...)"},
    {"--drift", NULL, "D", true, false, "only this drift status (drifted, missing, ...)"},
};
#define WAIT_OPTS                                                                                                      \
    {"--wait", "-w", NULL, false, false, "wait for the run to end; the exit code says how it ended"},                  \
    {                                                                                                                  \
        "--timeout", NULL, "D", true, false, "with --wait: give up after D (90s, 30m, 2h; default 30m)"                \
    }
static const cp_cli_opt resize_opts[] = {
    {"--size", "-s", "S", true, false, "the new size"},
    {"--override", NULL, "REASON", true, false, "go ahead despite broken soft guardrails (owner or admin)"},
    WAIT_OPTS,
};
static const cp_cli_opt update_opts[] = {
    {"--size", "-s", "S", true, false, "vm: the new size"},
    {"--name", "-n", "N", true, false, "the new name (the cloud may have to replace the resource: see its plan)"},
    {"--tag", "-t", "K=V", true, true, "the whole new set of tags, one --tag each"},
    {"--override", NULL, "REASON", true, false, "go ahead despite broken soft guardrails (owner or admin)"},
    WAIT_OPTS,
};
static const cp_cli_opt destroy_opts[] = {WAIT_OPTS};
static const cp_cli_opt extend_opts[] = {
    {"--by", NULL, "D", true, false, "how much longer: 30m, 8h, 3d, 2w"},
};

const cp_cli_cmd cp_cli_cmds_resources[] = {
    {"resources", "list", "", "resources I can see, filtered", list_opts, CP_ARRAY_LEN(list_opts), false, 0, 0,
     cmd_list},
    {"resources", "show", "ID", "a resource with its outputs and current run", NULL, 0, false, 1, 1, cmd_show},
    {"resources", "resize", "ID", "change a VM's size (an update run)", resize_opts, CP_ARRAY_LEN(resize_opts), false,
     1, 1, cmd_resize},
    {"resources", "update", "ID", "change a resource's size, name or tags (an update run)", update_opts,
     CP_ARRAY_LEN(update_opts), false, 1, 1, cmd_update},
    {"resources", "destroy", "ID", "destroy a resource (a destroy run)", destroy_opts, CP_ARRAY_LEN(destroy_opts),
     false, 1, 1, cmd_destroy},
    {"resources", "extend", "ID", "push a resource's expiry back", extend_opts, CP_ARRAY_LEN(extend_opts), false, 1, 1,
     cmd_extend},
};
const size_t cp_cli_ncmds_resources = CP_ARRAY_LEN(cp_cli_cmds_resources);
