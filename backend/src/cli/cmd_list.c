/* cmd_list.c: the read-only views: projects, accounts, catalog, drift, cost. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_int.h"
#include "core/xalloc.h"

static const char *fmt_budget(json_t *p, char *buf, size_t cap)
{
    json_t *b = json_object_get(p, "monthly_budget_usd");
    if (!json_is_number(b)) return "-";
    snprintf(buf, cap, "$%.2f", json_number_value(b));
    return buf;
}

static const char *fmt_used(json_t *p, char *buf, size_t cap)
{
    snprintf(buf, cap, "$%.2f", json_number_value(json_object_get(p, "budget_used_usd")));
    return buf;
}

static int cmd_projects(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    CP_UNUSED(cmd);
    CP_UNUSED(a);
    json_t *items;
    int rc = cp_cli_list_all(c, "/api/v1/projects", &items);
    if (rc != CP_CLI_OK) return rc;
    static const cp_cli_col cols[] = {{"ID", "id", NULL},           {"NAME", "name", NULL},
                                      {"ROLE", "role", NULL},       {"APPROVAL", "require_approval", NULL},
                                      {"BUDGET", NULL, fmt_budget}, {"USED", NULL, fmt_used}};
    cp_cli_print_list(c, items, cols, CP_ARRAY_LEN(cols));
    json_decref(items);
    return CP_CLI_OK;
}

static int cmd_accounts(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *ref = CP_CLI_GET(a, cmd, "--project");
    json_t *projects = json_array(), *all = json_array();
    int rc = CP_CLI_OK;
    if (ref) {
        char pid[128];
        rc = cp_cli_project_id(c, ref, pid, sizeof pid);
        if (rc == CP_CLI_OK) json_array_append_new(projects, json_pack("{s:s, s:s}", "id", pid, "name", ref));
    } else {
        json_decref(projects);
        rc = cp_cli_list_all(c, "/api/v1/projects", &projects);
    }
    json_t *p;
    size_t i;
    json_array_foreach(rc == CP_CLI_OK ? projects : NULL, i, p)
    {
        char *pid = cp_cli_escape(json_string_value(json_object_get(p, "id")));
        char *path = cp_xasprintf("/api/v1/projects/%s/accounts", pid);
        json_t *doc;
        rc = cp_cli_call(c, "GET", path, NULL, &doc, NULL);
        free(path);
        free(pid);
        if (rc != CP_CLI_OK) break;
        json_t *acc;
        size_t k;
        json_array_foreach(json_object_get(doc, "items"), k, acc)
        {
            json_object_set(acc, "project_name", json_object_get(p, "name"));
            json_array_append(all, acc);
        }
        json_decref(doc);
    }
    static const cp_cli_col cols[] = {{"ID", "id", NULL},     {"PROJECT", "project_name", NULL},
                                      {"NAME", "name", NULL}, {"CLOUD", "cloud", NULL},
                                      {"HINT", "hint", NULL}, {"CREATED", "created_at", NULL}};
    /* The API's accounts as they came: project_name is the client's. */
    if (rc == CP_CLI_OK && c->json) json_array_foreach(all, i, p) json_object_del(p, "project_name");
    if (rc == CP_CLI_OK) cp_cli_print_list(c, all, cols, CP_ARRAY_LEN(cols));
    json_decref(projects);
    json_decref(all);
    return rc;
}

/* "a, b, c" from the id of each item of arr. */
static json_t *ids_joined(json_t *arr)
{
    char buf[1024] = "";
    size_t len = 0, i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        int n =
            snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", json_string_value(json_object_get(v, "id")));
        if (n < 0 || (size_t)n >= sizeof buf - len) break;
        len += (size_t)n;
    }
    return json_string(buf);
}

static int cmd_catalog(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    CP_UNUSED(cmd);
    CP_UNUSED(a);
    json_t *doc;
    int rc = cp_cli_call(c, "GET", "/api/v1/catalog", NULL, &doc, NULL);
    if (rc != CP_CLI_OK) return rc;
    if (c->json) {
        cp_cli_print_json(doc);
        json_decref(doc);
        return CP_CLI_OK;
    }
    json_t *rows = json_array(), *cloud, *kind;
    size_t i, k;
    json_array_foreach(json_object_get(doc, "clouds"), i, cloud)
    {
        json_array_foreach(json_object_get(cloud, "kinds"), k, kind)
        {
            json_array_append_new(rows, json_pack("{s:O, s:O, s:o, s:o}", "cloud", json_object_get(cloud, "id"), "kind",
                                                  json_object_get(kind, "id"), "regions",
                                                  ids_joined(json_object_get(kind, "regions")), "sizes",
                                                  ids_joined(json_object_get(kind, "sizes"))));
        }
    }
    static const cp_cli_col cols[] = {
        {"CLOUD", "cloud", NULL}, {"KIND", "kind", NULL}, {"REGIONS", "regions", NULL}, {"SIZES", "sizes", NULL}};
    cp_cli_table(stdout, rows, cols, CP_ARRAY_LEN(cols));
    json_decref(rows);
    json_decref(doc);
    return CP_CLI_OK;
}

static int cmd_drift(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *ref = CP_CLI_GET(a, cmd, "--project");
    char pid[128] = "";
    int rc = ref ? cp_cli_project_id(c, ref, pid, sizeof pid) : CP_CLI_OK;
    if (rc != CP_CLI_OK) return rc;
    char *esc = cp_cli_escape(pid);
    char *path = cp_xasprintf("/api/v1/drift%s%s", pid[0] ? "?project_id=" : "", pid[0] ? esc : "");
    json_t *doc;
    rc = cp_cli_call(c, "GET", path, NULL, &doc, NULL);
    free(path);
    free(esc);
    if (rc != CP_CLI_OK) return rc;
    if (c->json) {
        cp_cli_print_json(doc);
    } else {
        static const cp_cli_col counts[] = {{"PROJECT", "project_name", NULL},
                                            {"IN_SYNC", "counts.in_sync", NULL},
                                            {"DRIFTED", "counts.drifted", NULL},
                                            {"MISSING", "counts.missing", NULL},
                                            {"CHECK_FAILED", "counts.check_failed", NULL},
                                            {"NEVER_CHECKED", "counts.never_checked", NULL}};
        cp_cli_table(stdout, json_object_get(doc, "projects"), counts, CP_ARRAY_LEN(counts));
        json_t *drifted = json_object_get(doc, "drifted");
        if (json_array_size(drifted)) {
            static const cp_cli_col res[] = {{"RESOURCE", "id", NULL},
                                             {"NAME", "name", NULL},
                                             {"CLOUD", "cloud", NULL},
                                             {"DRIFT", "drift_status", NULL},
                                             {"CHECKED", "drift_checked_at", NULL}};
            printf("\n");
            cp_cli_table(stdout, drifted, res, CP_ARRAY_LEN(res));
        }
    }
    json_decref(doc);
    return CP_CLI_OK;
}

static const char *fmt_usd(json_t *item, char *buf, size_t cap)
{
    snprintf(buf, cap, "$%.2f", json_number_value(json_object_get(item, "monthly_usd")));
    return buf;
}

static int cmd_cost(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *by = CP_CLI_GET(a, cmd, "--by");
    char *esc = cp_cli_escape(by ? by : "cloud");
    char *path = cp_xasprintf("/api/v1/costs/summary?group_by=%s", esc);
    json_t *doc;
    int rc = cp_cli_call(c, "GET", path, NULL, &doc, NULL);
    free(path);
    free(esc);
    if (rc != CP_CLI_OK) return rc;
    if (c->json) {
        cp_cli_print_json(doc);
    } else {
        static const cp_cli_col cols[] = {
            {"KEY", "key", NULL}, {"LABEL", "label", NULL}, {"RESOURCES", "count", NULL}, {"MONTHLY", NULL, fmt_usd}};
        cp_cli_table(stdout, json_object_get(doc, "items"), cols, CP_ARRAY_LEN(cols));
        printf("\ntotal: $%.2f a month (active resources)\n",
               json_number_value(json_object_get(doc, "total_monthly_usd")));
    }
    json_decref(doc);
    return CP_CLI_OK;
}

static const cp_cli_opt project_opt[] = {
    {"--project", "-p", "P", true, false, "only this project (id or name)"},
};
static const cp_cli_opt cost_opts[] = {
    {"--by", NULL, "G", true, false, "group by cloud (default), project, kind or region"},
};

const cp_cli_cmd cp_cli_cmds_list[] = {
    {"projects", NULL, "", "my projects", NULL, 0, false, 0, 0, cmd_projects},
    {"accounts", NULL, "", "cloud accounts (of every project, or of --project)", project_opt, CP_ARRAY_LEN(project_opt),
     false, 0, 0, cmd_accounts},
    {"catalog", NULL, "", "clouds, kinds, regions and sizes that can be ordered", NULL, 0, false, 0, 0, cmd_catalog},
    {"drift", NULL, "", "drift counts per project, and the resources that drifted or went missing", project_opt,
     CP_ARRAY_LEN(project_opt), false, 0, 0, cmd_drift},
    {"cost", NULL, "", "monthly run-rate of active resources", cost_opts, CP_ARRAY_LEN(cost_opts), false, 0, 0,
     cmd_cost},
};
const size_t cp_cli_ncmds_list = CP_ARRAY_LEN(cp_cli_cmds_list);
