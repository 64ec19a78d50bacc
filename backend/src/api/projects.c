/* projects.c: projects, members and the audit log. */
#include <string.h>

#include "api/common.h"
#include "api/expiry.h"
#include "queue/events.h"
#include "store/store_drift.h"

static const cp_json_field project_fields[] = {
    {.name = "name", .type = CP_JF_STRING, .min_len = 1, .max_len = 100},
    {.name = "require_approval", .type = CP_JF_BOOL},
    {.name = "monthly_budget_usd", .type = CP_JF_NUMBER, .nullable = true, .min = 0, .max = 1e9},
    CP_API_EXPIRY_PROJECT_FIELDS,
    {.name = "drift_interval_minutes", .type = CP_JF_INT, .min = 0, .max = 10080},
};

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t') return false;
    return true;
}

/* drift_interval_minutes: 0 (off) or at least the operator's minimum. */
static cp_result drift_interval_check(cp_req *req, json_t *b)
{
    json_t *dj = json_object_get(b, "drift_interval_minutes");
    long min_drift = CP_APP(req)->cfg->drift_min_interval_minutes;
    if (dj && json_integer_value(dj) != 0 && json_integer_value(dj) < min_drift)
        return cp_req_fail(req, CP_EUNPROC, "out_of_range", "drift_interval_minutes",
                           "drift_interval_minutes must be 0 (off) or at least %ld", min_drift);
    return CP_OK;
}

static cp_result drift_interval_set(cp_req *req, json_t *b, const cp_project *p)
{
    json_t *dj = json_object_get(b, "drift_interval_minutes");
    if (!dj || json_integer_value(dj) == p->drift_interval_minutes) return CP_OK;
    return cp_store_project_set_drift_interval(CP_APP(req)->store, p->id, (long)json_integer_value(dj), &req->err);
}

cp_result cp_api_projects_create(cp_req *req)
{
    json_t *b;
    cp_result r = cp_req_body(req, project_fields, CP_ARRAY_LEN(project_fields), &b);
    if (r != CP_OK) return r;
    const char *name = cp_json_str(b, "name", NULL);
    if (!name || blank(name)) return cp_req_fail(req, CP_EUNPROC, "missing_field", "name", "name is required");
    json_t *bj = json_object_get(b, "monthly_budget_usd");
    double budget = json_number_value(bj);
    cp_project p = {0};
    if ((r = cp_api_expiry_settings(req, b, &p)) != CP_OK || (r = drift_interval_check(req, b)) != CP_OK) return r;
    r = cp_store_project_create(CP_APP(req)->store, req->arena, req->user_id, name,
                                cp_json_bool(b, "require_approval", false), json_is_number(bj) ? &budget : NULL, &p,
                                &req->err);
    if (r != CP_OK) return r;
    /* The creator is its owner: the settings are theirs to set. */
    if ((r = cp_api_expiry_settings(req, b, &p)) != CP_OK || (r = drift_interval_set(req, b, &p)) != CP_OK ||
        (r = cp_store_project_get(CP_APP(req)->store, req->arena, p.id, req->user_id, &p, &req->err)) != CP_OK)
        return r;
    cp_api_audit(req, p.id, "project.create", p.id, json_pack("{s:s}", "name", name));
    return cp_reply(req, 201, cp_api_project_json(&p));
}

cp_result cp_api_projects_list(cp_req *req)
{
    int limit;
    const char *cursor;
    cp_result r = cp_api_page(req, &limit, &cursor);
    if (r != CP_OK) return r;
    cp_project *items;
    size_t n;
    char *next;
    r = cp_store_projects_list(CP_APP(req)->store, req->arena, req->user_id, limit, cursor, &items, &n, &next,
                               &req->err);
    if (r != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, cp_api_project_json(&items[i]));
    return cp_reply(req, 200, cp_api_page_json(arr, next));
}

cp_result cp_api_projects_get(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, cp_api_project_json(&p));
}

cp_result cp_api_projects_update(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    json_t *b;
    if ((r = cp_req_body(req, project_fields, CP_ARRAY_LEN(project_fields), &b)) != CP_OK) return r;
    if ((r = cp_api_need_role(req, p.role, CP_ROLE_ADMIN)) != CP_OK) return r;
    const char *name = cp_json_str(b, "name", NULL);
    if (name && blank(name)) return cp_req_fail(req, CP_EUNPROC, "missing_field", "name", "name cannot be blank");
    json_t *ra = json_object_get(b, "require_approval");
    bool approval = json_is_true(ra);
    json_t *bj = json_object_get(b, "monthly_budget_usd");
    double budget = json_number_value(bj);
    /* Every setting is checked before any is written: a refused PATCH changes nothing. */
    cp_project unsaved = p;
    unsaved.id = NULL; /* cp_api_expiry_settings: check only */
    if ((r = drift_interval_check(req, b)) != CP_OK || (r = cp_api_expiry_settings(req, b, &unsaved)) != CP_OK)
        return r;
    r = cp_store_project_update(CP_APP(req)->store, p.id, name, ra ? &approval : NULL, bj != NULL,
                                json_is_number(bj) ? &budget : NULL, &req->err);
    if (r == CP_OK) r = cp_api_expiry_settings(req, b, &p);
    if (r == CP_OK) r = drift_interval_set(req, b, &p);
    if (r != CP_OK) return r;
    cp_api_audit(req, p.id, "project.update", p.id, json_deep_copy(b));
    if ((r = cp_store_project_get(CP_APP(req)->store, req->arena, p.id, req->user_id, &p, &req->err)) != CP_OK)
        return r;
    return cp_reply(req, 200, cp_api_project_json(&p));
}

cp_result cp_api_projects_delete(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_OWNER, &p);
    if (r != CP_OK) return r;
    if ((r = cp_store_project_delete(CP_APP(req)->store, p.id, &req->err)) != CP_OK) return r;
    cp_events_access_project(CP_APP(req)->events, p.id); /* its members' open streams end */
    cp_api_audit(req, p.id, "project.delete", p.id, json_pack("{s:s}", "name", p.name));
    return cp_reply(req, 204, NULL);
}

/* ---- members ---- */

cp_result cp_api_members_list(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    cp_member *items;
    size_t n;
    if ((r = cp_store_members_list(CP_APP(req)->store, req->arena, p.id, &items, &n, &req->err)) != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, cp_api_member_json(&items[i]));
    return cp_reply(req, 200, cp_api_page_json(arr, NULL));
}

cp_result cp_api_members_update(cp_req *req)
{
    static const cp_json_field fields[] = {{.name = "role", .type = CP_JF_STRING, .required = true, .max_len = 16}};
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    const char *uid = cp_req_param(req, "user_id");
    cp_role now = cp_store_member_role(CP_APP(req)->store, p.id, uid);
    if (now == CP_ROLE_NONE) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "member not found");
    json_t *b;
    cp_role role;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if ((r = cp_api_parse_role(req, b, &role)) != CP_OK) return r;
    if ((r = cp_api_may_assign(req, &p, now, role)) != CP_OK) return r;
    if ((r = cp_store_member_set_role(CP_APP(req)->store, p.id, uid, role, &req->err)) != CP_OK) return r;
    cp_events_access_user(CP_APP(req)->events, uid);
    cp_api_audit(req, p.id, "member.update", uid,
                 json_pack("{s:s, s:s}", "from", cp_role_name(now), "to", cp_role_name(role)));
    cp_member *items;
    size_t n;
    if ((r = cp_store_members_list(CP_APP(req)->store, req->arena, p.id, &items, &n, &req->err)) != CP_OK) return r;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(items[i].user_id, uid)) return cp_reply(req, 200, cp_api_member_json(&items[i]));
    return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "member not found");
}

cp_result cp_api_members_remove(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    const char *uid = cp_req_param(req, "user_id");
    cp_role now = cp_store_member_role(CP_APP(req)->store, p.id, uid);
    if (now == CP_ROLE_NONE) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "member not found");
    /* Anyone may leave; removing others needs admin (owner for owners). */
    if (strcmp(uid, req->user_id) != 0 && (r = cp_api_may_assign(req, &p, now, CP_ROLE_NONE)) != CP_OK) return r;
    if ((r = cp_store_member_remove(CP_APP(req)->store, p.id, uid, &req->err)) != CP_OK) return r;
    cp_events_access_user(CP_APP(req)->events, uid); /* their open streams of this project end */
    cp_api_audit(req, p.id, "member.remove", uid, json_pack("{s:s}", "role", cp_role_name(now)));
    return cp_reply(req, 204, NULL);
}

static json_t *audit_page(cp_audit *items, size_t n, const char *next)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        cp_audit *x = &items[i];
        json_array_append_new(arr,
                              json_pack("{s:s, s:o, s:{s:o, s:o}, s:s, s:o, s:o}", "id", x->id, "ts",
                                        cp_api_time(x->ts), "actor", "id", cp_json_str_or_null(x->actor_id), "email",
                                        cp_json_str_or_null(x->actor_email), "action", x->action, "target",
                                        cp_json_str_or_null(x->target), "detail", cp_api_json_text(x->detail)));
    }
    return cp_api_page_json(arr, next);
}

cp_result cp_api_audit_list(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    int limit;
    const char *cursor;
    if ((r = cp_api_page(req, &limit, &cursor)) != CP_OK) return r;
    cp_audit *items;
    size_t n;
    char *next;
    r = cp_store_audit_list(CP_APP(req)->store, req->arena, p.id, limit, cursor, &items, &n, &next, &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, audit_page(items, n, next));
}

/* The caller's own sign-in history (events that belong to no project). */
cp_result cp_api_my_audit(cp_req *req)
{
    int limit;
    const char *cursor;
    cp_result r = cp_api_page(req, &limit, &cursor);
    if (r != CP_OK) return r;
    cp_audit *items;
    size_t n;
    char *next;
    r = cp_store_audit_list_actor(CP_APP(req)->store, req->arena, req->user_id, limit, cursor, &items, &n, &next,
                                  &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, audit_page(items, n, next));
}
