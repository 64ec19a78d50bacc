#include "api/common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/identity.h"
#include "queue/queue.h"

cp_result cp_api_page(cp_req *req, int *limit, const char **cursor)
{
    const char *l = cp_req_query(req, "limit");
    *limit = 50;
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > 200)
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "limit", "limit must be an integer from 1 to 200");
        *limit = (int)v;
    }
    *cursor = cp_req_query(req, "cursor");
    if (*cursor && !**cursor) *cursor = NULL;
    if (*cursor && !cp_id_valid(*cursor))
        return cp_req_fail(req, CP_EINVAL, "invalid_cursor", "cursor", "cursor is not one this API returned");
    return CP_OK;
}

cp_result cp_api_id(cp_req *req, const char *name, const char **out)
{
    *out = cp_req_param(req, name);
    if (!cp_id_valid(*out)) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "not found");
    return CP_OK;
}

cp_result cp_api_need_role(cp_req *req, cp_role have, cp_role min)
{
    if (have >= min) return CP_OK;
    return cp_req_fail(req, CP_EFORBIDDEN, "forbidden", NULL, "this needs the %s role or higher in the project",
                       cp_role_name(min));
}

cp_result cp_api_project(cp_req *req, const char *project_id, cp_role min, cp_project *out)
{
    if (!cp_id_valid(project_id)) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "project not found");
    cp_result r = cp_store_project_get(CP_APP(req)->store, req->arena, project_id, req->user_id, out, &req->err);
    if (r != CP_OK) return r;
    return cp_api_need_role(req, out->role, min);
}

char *cp_api_normalize_email(cp_arena *a, const char *in)
{
    size_t len = strlen(in);
    if (len < 3 || len > 254) return NULL;
    char *e = cp_arena_strndup(a, in, len);
    int ats = 0;
    for (char *p = e; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || strchr("()<>,;:\\\"[]", c)) return NULL;
        if (c == '@') ats++;
        *p = (char)tolower(c);
    }
    const char *at = strchr(e, '@');
    if (ats != 1 || at == e || at - e > 64) return NULL;
    const char *dom = at + 1;
    const char *dot = strrchr(dom, '.');
    if (!dot || dot == dom || !dot[1] || strstr(dom, "..") || dom[0] == '-') return NULL;
    return e;
}

cp_result cp_api_parse_role(cp_req *req, json_t *b, cp_role *out)
{
    *out = cp_role_parse(cp_json_str(b, "role", ""));
    if (*out == CP_ROLE_NONE)
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", "role", "role must be owner, admin, member or viewer");
    return CP_OK;
}

cp_result cp_api_may_assign(cp_req *req, const cp_project *p, cp_role target_now, cp_role wanted)
{
    cp_result r = cp_api_need_role(req, p->role, CP_ROLE_ADMIN);
    if (r == CP_OK && (target_now == CP_ROLE_OWNER || wanted == CP_ROLE_OWNER))
        r = cp_api_need_role(req, p->role, CP_ROLE_OWNER);
    return r;
}

const char *cp_api_link(cp_req *req, const char *path, const char *token)
{
    const cp_app *app = CP_APP(req);
    const char *base = app->cfg->public_url[0] ? app->cfg->public_url : app->public_url;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    return cp_arena_printf(req->arena, "%.*s%s#token=%s", (int)n, base, path, token);
}

void cp_api_audit(cp_req *req, const char *project_id, const char *action, const char *target, json_t *detail)
{
    /* A write made with an API token names the token (its id, never the secret). */
    if (req->token_id) {
        if (!detail) detail = json_object();
        json_object_set_new(detail, "token_id", json_string(req->token_id));
    }
    char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    json_decref(detail);
    cp_error e;
    /* Best effort: the store logs a failed audit write; the action itself is done. */
    CP_IGNORE(cp_store_audit_add(CP_APP(req)->store, req->user_id, project_id, action, target, d, &e));
    free(d);
}

json_t *cp_api_time(int64_t ms)
{
    if (ms <= 0) return json_null();
    char buf[40];
    cp_time_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *cp_api_json_text(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_object();
}

static json_t *seconds_or_null(int64_t s)
{
    return s ? json_integer((json_int_t)s) : json_null();
}

json_t *cp_api_project_json(const cp_project *p)
{
    json_t *j = json_pack("{s:s, s:s, s:b, s:o, s:s, s:f, s:o, s:I}", "id", p->id, "name", p->name, "require_approval",
                          p->require_approval, "monthly_budget_usd",
                          p->has_budget ? json_real(p->monthly_budget_usd) : json_null(), "role", cp_role_name(p->role),
                          "budget_used_usd", p->budget_used_usd, "created_at", cp_api_time(p->created_at),
                          "drift_interval_minutes", (json_int_t)p->drift_interval_minutes);
    json_object_set_new(j, "default_ttl_seconds", seconds_or_null(p->default_ttl_seconds));
    json_object_set_new(j, "max_ttl_seconds", seconds_or_null(p->max_ttl_seconds));
    json_object_set_new(j, "expiry_auto_approve", json_boolean(p->expiry_auto_approve));
    return j;
}

json_t *cp_api_account_json(const cp_account *a)
{
    bool wi = a->kind && !strcmp(a->kind, "workload_identity");
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", a->id, "project_id", a->project_id, "name",
                          a->name, "cloud", a->cloud, "kind", wi ? "workload_identity" : "credentials", "hint",
                          cp_json_str_or_null(a->hint), "created_at", cp_api_time(a->created_at));
    if (wi) {
        /* Not secret: what the run assumes, and the token's audience. */
        json_t *fields = json_loads(a->identity ? a->identity : "{}", 0, NULL);
        char *aud = cp_identity_audience(a->cloud, fields, a->audience);
        json_object_set_new(j, "identity", fields ? fields : json_object());
        json_object_set_new(j, "audience", cp_json_str_or_null(aud));
        free(aud);
    }
    return j;
}

/* The one owner of a resource's JSON shape: the list writes it straight into
 * its page, single replies parse it back into a tree. */
void cp_api_resource_write(cp_jsonw *w, const cp_resource *r)
{
    cp_jsonw_obj_begin(w);
    CP_JSONW_KEY(w, "id");
    cp_jsonw_str(w, r->id);
    CP_JSONW_KEY(w, "project_id");
    cp_jsonw_str(w, r->project_id);
    CP_JSONW_KEY(w, "account_id");
    cp_jsonw_str(w, r->account_id);
    CP_JSONW_KEY(w, "account_name");
    cp_jsonw_str(w, r->account_name ? r->account_name : "");
    CP_JSONW_KEY(w, "cloud");
    cp_jsonw_str(w, r->cloud);
    CP_JSONW_KEY(w, "kind");
    cp_jsonw_str(w, r->kind);
    CP_JSONW_KEY(w, "name");
    cp_jsonw_str(w, r->name);
    CP_JSONW_KEY(w, "region");
    cp_jsonw_str(w, r->region);
    CP_JSONW_KEY(w, "size");
    cp_jsonw_str(w, r->size);
    CP_JSONW_KEY(w, "config");
    cp_jsonw_stored(w, r->config);
    CP_JSONW_KEY(w, "status");
    cp_jsonw_str(w, cp_resource_status_name(r->status));
    CP_JSONW_KEY(w, "outputs");
    cp_jsonw_stored(w, r->outputs);
    CP_JSONW_KEY(w, "monthly_cost_usd");
    cp_jsonw_real(w, r->monthly_cost_usd);
    CP_JSONW_KEY(w, "simulated");
    cp_jsonw_bool(w, cp_catalog_simulated(r->cloud));
    CP_JSONW_KEY(w, "created_by");
    cp_jsonw_str(w, r->created_by);
    CP_JSONW_KEY(w, "created_at");
    cp_jsonw_time(w, r->created_at);
    CP_JSONW_KEY(w, "updated_at");
    cp_jsonw_time(w, r->updated_at);
    CP_JSONW_KEY(w, "current_run");
    if (r->run_id) {
        cp_jsonw_obj_begin(w);
        CP_JSONW_KEY(w, "id");
        cp_jsonw_str(w, r->run_id);
        CP_JSONW_KEY(w, "operation");
        cp_jsonw_str(w, cp_run_operation_name(r->run_operation));
        CP_JSONW_KEY(w, "status");
        cp_jsonw_str(w, cp_run_status_name(r->run_status));
        cp_jsonw_obj_end(w);
    } else {
        cp_jsonw_null(w);
    }
    CP_JSONW_KEY(w, "power_state");
    if (strcmp(r->kind, "vm") == 0)
        cp_jsonw_str(w, r->power_state ? r->power_state : "running");
    else
        cp_jsonw_null(w);
    CP_JSONW_KEY(w, "schedule");
    if (r->schedule)
        cp_jsonw_stored(w, r->schedule);
    else
        cp_jsonw_null(w);
    CP_JSONW_KEY(w, "schedule_next_at");
    cp_jsonw_time(w, r->schedule_next_at);
    CP_JSONW_KEY(w, "expires_at");
    cp_jsonw_time(w, r->expires_at);
    CP_JSONW_KEY(w, "drift_status");
    cp_jsonw_str(w, cp_drift_status_name(r->drift_status));
    CP_JSONW_KEY(w, "drift_checked_at");
    if (r->drift_checked_at)
        cp_jsonw_time(w, r->drift_checked_at);
    else
        cp_jsonw_null(w);
    CP_JSONW_KEY(w, "protected");
    cp_jsonw_bool(w, r->is_protected);
    cp_jsonw_obj_end(w);
}

json_t *cp_api_resource_json(const cp_resource *r)
{
    cp_buf b;
    cp_buf_init(&b, CP_API_RESOURCE_MAX);
    cp_jsonw w;
    cp_jsonw_init(&w, &b);
    cp_api_resource_write(&w, r);
    json_t *j = cp_jsonw_result(&w) == CP_OK ? json_loadb(b.data, b.len, 0, NULL) : NULL;
    cp_buf_free(&b);
    return j ? j : json_object(); /* cannot happen: the writer's output is valid JSON within its cap */
}

json_t *cp_api_run_json(const cp_run *r)
{
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "id", r->id, "resource_id", r->resource_id,
        "resource_name", r->resource_name ? r->resource_name : "", "operation", cp_run_operation_name(r->operation),
        "status", cp_run_status_name(r->status), "attempt", (json_int_t)r->attempt, "plan_summary",
        r->plan_summary ? cp_api_json_text(r->plan_summary) : json_null(), "error", cp_json_str_or_null(r->error),
        "queued_at", cp_api_time(r->queued_at), "started_at", cp_api_time(r->started_at), "finished_at",
        cp_api_time(r->finished_at), "approved_by", cp_json_str_or_null(r->approved_by));
    json_object_set_new(j, "cancel_requested", json_boolean(r->cancel_requested));
    json_object_set_new(j, "source", json_string(r->source ? r->source : CP_SOURCE_USER));
    json_object_set_new(j, "override_required", json_boolean(r->override_required));
    json_object_set_new(j, "request_id", cp_json_str_or_null(r->request_id));
    json_object_set_new(j, "events_pruned_at", cp_api_time(r->events_pruned_at));
    return j;
}

json_t *cp_api_member_json(const cp_member *m)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "user_id", m->user_id, "email", m->email, "name", m->name, "role",
                     cp_role_name(m->role));
}

json_t *cp_api_page_json(json_t *items, const char *next)
{
    return json_pack("{s:o, s:o}", "items", items, "next_cursor", cp_json_str_or_null(next));
}

void cp_api_dispatch(cp_req *req, const char *run_id)
{
    cp_app *app = CP_APP(req);
    if (!app->queue) return;
    cp_error e;
    /* The run is committed; a lost push is recovered by the reconciler. */
    if (cp_queue_push(app->queue, run_id, &e) != CP_OK)
        cp_log_warn("queue push failed for run %s: %s (the reconciler will pick it up)", run_id, e.message);
}
