/* cmd_runs.c: `runs list|show|approve|cancel|logs`. logs --follow reads the
 * run's Server-Sent Events with the bearer token and reconnects from the
 * last event id when the connection drops, until the run ends. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "core/xalloc.h"

#define RECONNECT_TRIES 60 /* a second apart: a server restart fits */

static const char *fmt_resource(json_t *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s (%s)", json_string_value(json_object_get(r, "resource_name")),
             json_string_value(json_object_get(r, "resource_id")));
    return buf;
}

static const char *fmt_plan(json_t *r, char *buf, size_t cap)
{
    json_t *p = json_object_get(r, "plan_summary");
    if (!json_is_object(p)) return "-";
    snprintf(buf, cap, "+%lld ~%lld -%lld", (long long)json_integer_value(json_object_get(p, "add")),
             (long long)json_integer_value(json_object_get(p, "change")),
             (long long)json_integer_value(json_object_get(p, "destroy")));
    return buf;
}

static const cp_cli_col run_fields[] = {
    {"id", "id", NULL},
    {"resource", NULL, fmt_resource},
    {"operation", "operation", NULL},
    {"status", "status", NULL},
    {"source", "source", NULL},
    {"attempt", "attempt", NULL},
    {"plan", NULL, fmt_plan},
    {"override required", "override_required", NULL},
    {"approved by", "approved_by", NULL},
    {"error", "error", NULL},
    {"queued", "queued_at", NULL},
    {"started", "started_at", NULL},
    {"finished", "finished_at", NULL},
};

static char *run_path(const char *id, const char *suffix)
{
    char *e = cp_cli_escape(id);
    char *p = cp_xasprintf("/api/v1/runs/%s%s", e, suffix);
    free(e);
    return p;
}

static int cmd_list(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *res = CP_CLI_GET(a, cmd, "--resource");
    json_t *items = NULL;
    int rc;
    if (res) {
        char *e = cp_cli_escape(res);
        char *path = cp_xasprintf("/api/v1/resources/%s/runs", e);
        rc = cp_cli_list_all(c, path, &items);
        free(path);
        free(e);
    } else {
        json_t *doc;
        rc = cp_cli_call(c, "GET", "/api/v1/runs?limit=200", NULL, &doc, NULL);
        if (rc == CP_CLI_OK) {
            items = json_incref(json_object_get(doc, "items"));
            json_decref(doc);
        }
    }
    if (rc != CP_CLI_OK) return rc;
    static const cp_cli_col cols[] = {{"ID", "id", NULL},
                                      {"RESOURCE", "resource_name", NULL},
                                      {"OPERATION", "operation", NULL},
                                      {"STATUS", "status", NULL},
                                      {"SOURCE", "source", NULL},
                                      {"QUEUED", "queued_at", NULL},
                                      {"FINISHED", "finished_at", NULL}};
    cp_cli_print_list(c, items, cols, CP_ARRAY_LEN(cols));
    json_decref(items);
    return CP_CLI_OK;
}

static int run_call(cp_cli_ctx *c, const char *method, const char *id, const char *suffix, json_t *body)
{
    char *path = run_path(id, suffix);
    json_t *reply;
    int rc = cp_cli_call(c, method, path, body, &reply, NULL);
    free(path);
    json_decref(body);
    if (rc != CP_CLI_OK) return rc;
    if (c->json)
        cp_cli_print_json(reply);
    else
        cp_cli_fields(stdout, reply, run_fields, CP_ARRAY_LEN(run_fields));
    json_decref(reply);
    return CP_CLI_OK;
}

static int cmd_show(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    CP_UNUSED(cmd);
    return run_call(c, "GET", a->pos[0], "", NULL);
}

static int cmd_approve(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    const char *reason = CP_CLI_GET(a, cmd, "--reason");
    return run_call(c, "POST", a->pos[0], "/approve", reason ? json_pack("{s:s}", "reason", reason) : NULL);
}

static int cmd_cancel(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    CP_UNUSED(cmd);
    return run_call(c, "POST", a->pos[0], "/cancel", NULL);
}

/* ---- logs ---- */

typedef struct {
    bool json;
    char last_id[32];
    char end[32]; /* the end event's reason; empty while open */
} follow;

/* One event: log lines on stdout (every event as a JSON line with -o json). */
static void print_event(bool json, long long seq, const char *type, json_t *data)
{
    if (json) {
        json_t *rec = json_pack("{s:I, s:s, s:O}", "seq", (json_int_t)seq, "type", type, "data", data);
        char *s = json_dumps(rec, JSON_COMPACT);
        if (s) printf("%s\n", s);
        free(s);
        json_decref(rec);
    } else if (!strcmp(type, "log")) {
        const char *line = json_string_value(json_object_get(data, "line"));
        if (line) printf("%s\n", line);
    } else if (!strcmp(type, "status")) {
        fprintf(stderr, "-- run %s, resource %s\n", json_string_value(json_object_get(data, "run_status")),
                json_string_value(json_object_get(data, "resource_status")) ?: "-");
    } else if (!strcmp(type, "truncated")) {
        fprintf(stderr, "-- %lld events dropped past the run's cap\n",
                (long long)json_integer_value(json_object_get(data, "dropped")));
    }
    fflush(stdout);
}

static bool on_event(void *ud, const char *id, const char *event, const char *data)
{
    follow *f = ud;
    if (!strcmp(event, "end")) {
        json_t *d = json_loads(data, 0, NULL);
        snprintf(f->end, sizeof f->end, "%s", json_string_value(json_object_get(d, "reason")) ?: "unknown");
        json_decref(d);
        return false;
    }
    if (id[0]) snprintf(f->last_id, sizeof f->last_id, "%s", id);
    json_t *d = json_loads(data, JSON_DECODE_ANY, NULL);
    print_event(f->json, id[0] ? strtoll(id, NULL, 10) : 0, event, d ? d : json_null());
    json_decref(d);
    return true;
}

/* The run's status now (into out), or an exit code. */
static int run_status(const cp_cli_ctx *c, const char *id, char *out, size_t cap)
{
    char *path = run_path(id, "");
    json_t *run;
    int rc = cp_cli_call(c, "GET", path, NULL, &run, NULL);
    free(path);
    if (rc != CP_CLI_OK) return rc;
    snprintf(out, cap, "%s", json_string_value(json_object_get(run, "status")) ?: "?");
    json_decref(run);
    return CP_CLI_OK;
}

static int follow_logs(cp_cli_ctx *c, const char *id)
{
    follow f = {.json = c->json};
    char *path = run_path(id, "/events");
    int rc = CP_CLI_OK, tries = 0;
    for (;;) {
        f.end[0] = '\0';
        char before[32];
        snprintf(before, sizeof before, "%s", f.last_id);
        rc = cp_cli_sse(c, path, f.last_id, on_event, &f);
        if (f.end[0]) {
            if (!strcmp(f.end, "run_finished")) break;
            if (strcmp(f.end, "awaiting_approval") != 0) {
                fprintf(stderr, "cloudplane: the stream ended: %s\n", f.end);
                rc = CP_CLI_API;
                break;
            }
            fprintf(stderr, "-- awaiting approval (cloudplane runs approve %s); waiting\n", id);
            char st[32] = "awaiting_approval";
            while (!strcmp(st, "awaiting_approval") && (rc = run_status(c, id, st, sizeof st)) == CP_CLI_OK)
                if (!strcmp(st, "awaiting_approval")) sleep(2);
            if (rc != CP_CLI_OK) break;
            tries = 0;
            continue;
        }
        if (rc != CP_CLI_OK && rc != CP_CLI_UNREACHABLE) break; /* the API said no: reconnecting will not help */
        /* Dropped without an end: reconnect from the last event seen. */
        if (strcmp(before, f.last_id) != 0) tries = 0;
        if (++tries > RECONNECT_TRIES) {
            fprintf(stderr, "cloudplane: gave up reconnecting to the run's events\n");
            rc = CP_CLI_UNREACHABLE;
            break;
        }
        sleep(1);
    }
    free(path);
    if (rc != CP_CLI_OK) return rc;
    /* The run's outcome is the exit code, as with --wait. */
    return cp_cli_wait_run(c, id, 1, NULL);
}

static int page_logs(cp_cli_ctx *c, const char *id)
{
    long long after = 0;
    for (;;) {
        char *path = run_path(id, "");
        char *url = cp_xasprintf("%s/events?format=json&limit=1000&after=%lld", path, after);
        json_t *doc;
        int rc = cp_cli_call(c, "GET", url, NULL, &doc, NULL);
        free(url);
        free(path);
        if (rc != CP_CLI_OK) return rc;
        json_t *ev;
        size_t i;
        json_array_foreach(json_object_get(doc, "items"), i, ev)
        {
            print_event(c->json, (long long)json_integer_value(json_object_get(ev, "seq")),
                        json_string_value(json_object_get(ev, "type")) ?: "", json_object_get(ev, "data"));
        }
        const char *next = json_string_value(json_object_get(doc, "next_cursor"));
        long long n = next ? strtoll(next, NULL, 10) : 0;
        json_decref(doc);
        if (!next || n <= after) break;
        after = n;
    }
    return CP_CLI_OK;
}

static int cmd_logs(cp_cli_ctx *c, const cp_cli_cmd *cmd, const cp_cli_args *a)
{
    return CP_CLI_GET(a, cmd, "--follow") ? follow_logs(c, a->pos[0]) : page_logs(c, a->pos[0]);
}

static const cp_cli_opt list_opts[] = {
    {"--resource", NULL, "ID", true, false, "the runs of one resource (default: recent runs of my projects)"},
};
static const cp_cli_opt approve_opts[] = {
    {"--reason", NULL, "TEXT", true, false, "why (required when the plan broke a soft guardrail)"},
};
static const cp_cli_opt logs_opts[] = {
    {"--follow", "-f", NULL, false, false, "stream until the run ends (exit code as order --wait)"},
};

const cp_cli_cmd cp_cli_cmds_runs[] = {
    {"runs", "list", "", "recent runs, or those of --resource", list_opts, CP_ARRAY_LEN(list_opts), false, 0, 0,
     cmd_list},
    {"runs", "show", "RUN", "a run with its plan summary and error", NULL, 0, false, 1, 1, cmd_show},
    {"runs", "approve", "RUN", "approve a run awaiting approval (owner or admin)", approve_opts,
     CP_ARRAY_LEN(approve_opts), false, 1, 1, cmd_approve},
    {"runs", "cancel", "RUN", "cancel a run", NULL, 0, false, 1, 1, cmd_cancel},
    {"runs", "logs", "RUN", "a run's log (-o json: every event, one JSON object a line)", logs_opts,
     CP_ARRAY_LEN(logs_opts), false, 1, 1, cmd_logs},
};
const size_t cp_cli_ncmds_runs = CP_ARRAY_LEN(cp_cli_cmds_runs);
