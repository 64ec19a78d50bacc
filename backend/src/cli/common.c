/* common.c: steps several client commands share: naming a project or an
 * account by id or name, reading a whole paginated list, and waiting for a
 * run to end with the exit code CI branches on. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "core/ids.h"
#include "core/xalloc.h"

int cp_cli_list_all(const cp_cli_ctx *c, const char *path, json_t **items)
{
    *items = json_array();
    char *cursor = NULL;
    int rc = CP_CLI_OK;
    for (int page = 0; page < 1000; page++) {
        char *url = cp_xasprintf("%s%slimit=200%s%s", path, strchr(path, '?') ? "&" : "?", cursor ? "&cursor=" : "",
                                 cursor ? cursor : "");
        json_t *doc;
        rc = cp_cli_call(c, "GET", url, NULL, &doc, NULL);
        free(url);
        free(cursor);
        cursor = NULL;
        if (rc != CP_CLI_OK) break;
        json_array_extend(*items, json_object_get(doc, "items"));
        const char *next = json_string_value(json_object_get(doc, "next_cursor"));
        if (next && next[0]) cursor = cp_cli_escape(next);
        json_decref(doc);
        if (!cursor) break;
    }
    free(cursor);
    if (rc != CP_CLI_OK) {
        json_decref(*items);
        *items = NULL;
    }
    return rc;
}

/* The id of the one item of items whose id or name is ref. */
static int pick(json_t *items, const char *what, const char *ref, char *out, size_t cap)
{
    json_t *v, *found = NULL;
    size_t i, n = 0;
    json_array_foreach(items, i, v)
    {
        const char *id = json_string_value(json_object_get(v, "id"));
        if (id && !strcmp(id, ref)) {
            found = v, n = 1;
            break;
        }
        const char *name = json_string_value(json_object_get(v, "name"));
        if (name && !strcmp(name, ref)) found = v, n++;
    }
    if (n == 0) {
        fprintf(stderr, "cloudplane: no %s with the id or name '%s'\n", what, ref);
        return CP_CLI_API;
    }
    if (n > 1) {
        fprintf(stderr, "cloudplane: %zu %ss are named '%s': give the id\n", n, what, ref);
        return CP_CLI_USAGE;
    }
    snprintf(out, cap, "%s", json_string_value(json_object_get(found, "id")));
    return CP_CLI_OK;
}

int cp_cli_project_id(const cp_cli_ctx *c, const char *ref, char *out, size_t cap)
{
    if (cp_id_valid(ref)) { /* an id: the API says whether it is one of mine */
        snprintf(out, cap, "%s", ref);
        return CP_CLI_OK;
    }
    json_t *items;
    int rc = cp_cli_list_all(c, "/api/v1/projects", &items);
    if (rc == CP_CLI_OK) rc = pick(items, "project", ref, out, cap);
    json_decref(items);
    return rc;
}

int cp_cli_account_id(const cp_cli_ctx *c, const char *project_id, const char *ref, char *out, size_t cap)
{
    if (cp_id_valid(ref)) {
        snprintf(out, cap, "%s", ref);
        return CP_CLI_OK;
    }
    char *pid = cp_cli_escape(project_id);
    char *path = cp_xasprintf("/api/v1/projects/%s/accounts", pid);
    json_t *doc;
    int rc = cp_cli_call(c, "GET", path, NULL, &doc, NULL);
    if (rc == CP_CLI_OK) {
        rc = pick(json_object_get(doc, "items"), "account", ref, out, cap);
        json_decref(doc);
    }
    free(path);
    free(pid);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* True when a failed run was stopped by a guardrail on its plan. */
static bool blocked_by_guardrail(const cp_cli_ctx *c, const char *run_path)
{
    char *path = cp_xasprintf("%s/checks", run_path);
    json_t *doc, *err;
    long st;
    bool blocked = false;
    if (cp_cli_call_quiet(c, "GET", path, NULL, &doc, &st, &err) == CP_CLI_OK) {
        json_t *v;
        size_t i;
        json_array_foreach(json_object_get(doc, "items"), i, v)
        {
            const char *o = json_string_value(json_object_get(v, "outcome"));
            if (o && !strcmp(o, "blocked")) {
                blocked = true;
                fprintf(stderr, "  blocked %s (%s): %s\n", json_string_value(json_object_get(v, "rule")),
                        json_string_value(json_object_get(v, "level")),
                        json_string_value(json_object_get(v, "message")));
            }
        }
        json_decref(doc);
    }
    json_decref(err);
    free(path);
    return blocked;
}

int cp_cli_wait_run(const cp_cli_ctx *c, const char *run_id, int64_t timeout_s, json_t **run)
{
    if (run) *run = NULL;
    char *id = cp_cli_escape(run_id);
    char *path = cp_xasprintf("/api/v1/runs/%s", id);
    free(id);
    double deadline = now_s() + (double)timeout_s;
    char last[32] = "";
    json_t *doc = NULL;
    int rc;
    for (;;) {
        json_decref(doc);
        rc = cp_cli_call(c, "GET", path, NULL, &doc, NULL);
        if (rc != CP_CLI_OK) {
            doc = NULL;
            break;
        }
        const char *status = json_string_value(json_object_get(doc, "status"));
        if (!status) status = "?";
        if (strcmp(status, last) != 0) {
            fprintf(stderr, "run %s: %s\n", run_id, status);
            snprintf(last, sizeof last, "%s", status);
        }
        if (!strcmp(status, "succeeded")) {
            rc = CP_CLI_OK;
            break;
        }
        if (!strcmp(status, "failed") || !strcmp(status, "canceled")) {
            const char *err = json_string_value(json_object_get(doc, "error"));
            if (err) fprintf(stderr, "cloudplane: run %s %s: %s\n", run_id, status, err);
            rc = !strcmp(status, "failed") && blocked_by_guardrail(c, path) ? CP_CLI_GUARDRAIL : CP_CLI_RUN_FAILED;
            break;
        }
        if (now_s() >= deadline) {
            bool approval = !strcmp(status, "awaiting_approval");
            fprintf(stderr, "cloudplane: run %s is still %s after %llds%s\n", run_id, status, (long long)timeout_s,
                    approval ? ": an owner or admin must approve it (cloudplane runs approve)" : "");
            rc = approval ? CP_CLI_APPROVAL : CP_CLI_TIMEOUT;
            break;
        }
        double left = deadline - now_s();
        usleep((useconds_t)((left < 1.0 ? (left > 0 ? left : 0) : 1.0) * 1e6));
    }
    free(path);
    if (run)
        *run = doc;
    else
        json_decref(doc);
    return rc;
}
