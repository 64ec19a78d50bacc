/* schedules.c: PUT and DELETE /api/v1/resources/{id}/schedule, and the
 * schedule in an order. A schedule stops and starts a VM on cron expressions
 * in a time zone; the scheduler (worker/schedules.c) queues the runs. */
#include "api/schedules.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "core/timeutil.h"
#include "core/workhours.h"
#include "engine/catalog.h"
#include "store/store_schedules.h"

cp_result cp_api_schedule_check(cp_req *req, const char *cloud, const char *kind, json_t *schedule, const char *prefix,
                                cp_api_schedule *out)
{
    memset(out, 0, sizeof *out);
    if (!schedule || json_is_null(schedule)) return CP_OK;
    const char *field = prefix[0] ? "schedule" : NULL;
    if (strcmp(kind, "vm") != 0)
        return cp_req_fail(req, CP_EUNPROC, "not_stoppable", field, "only virtual machines can be stopped and started");
    const char *why = NULL;
    if (!cp_catalog_stoppable(cloud, kind, &why))
        return cp_req_fail(req, CP_EUNPROC, "not_stoppable", field, "%s VMs cannot be stopped: %s", cloud, why);
    cp_workhours w;
    cp_result r = cp_workhours_parse(schedule, prefix, &w, &req->err);
    if (r != CP_OK) return r;
    /* A stop or start in the current minute is due at once: "stop at 18:00"
     * set at 18:00:20 stops the VM now rather than tomorrow. */
    int64_t now = cp_now_ms();
    bool stop;
    r = cp_workhours_next(&w, now - now % 60000 - 1, &out->next_at, &stop, &req->err);
    if (r == CP_ENOTFOUND)
        return cp_req_fail(req, CP_EUNPROC, "cron_never_fires", field, "the schedule never stops or starts the VM");
    if (r != CP_OK) return r;
    out->next_action = stop ? CP_SCHED_STOP : CP_SCHED_START;
    char *text = cp_workhours_text(schedule);
    if (!text) return cp_req_fail(req, CP_ERR, NULL, NULL, "out of memory");
    out->text = cp_arena_strdup(req->arena, text);
    free(text);
    return CP_OK;
}

cp_result cp_api_schedule_apply(cp_req *req, const char *project_id, const char *resource_id, const cp_api_schedule *sc)
{
    cp_result r = cp_store_schedule_set(CP_APP(req)->store, resource_id, sc->text, sc->text ? sc->next_at : 0,
                                        sc->next_action, &req->err);
    if (r != CP_OK) return r;
    cp_api_audit(req, project_id, sc->text ? "resource.schedule.set" : "resource.schedule.delete", resource_id,
                 sc->text ? json_pack("{s:o}", "schedule", cp_api_json_text(sc->text)) : json_object());
    return CP_OK;
}

/* The resource of the path, for a member or more. */
static cp_result load(cp_req *req, cp_resource *res)
{
    const char *id;
    cp_role role;
    cp_result r = cp_api_id(req, "id", &id);
    if (r == CP_OK) r = cp_store_resource_get(CP_APP(req)->store, req->arena, id, req->user_id, res, &role, &req->err);
    if (r == CP_OK) r = cp_api_need_role(req, role, CP_ROLE_MEMBER);
    if (r == CP_OK && res->status == CP_RES_DESTROYED)
        r = cp_req_fail(req, CP_ECONFLICT, "resource_destroyed", NULL, "the resource is destroyed");
    return r;
}

static cp_result reply_resource(cp_req *req, const char *id)
{
    cp_resource res;
    cp_result r = cp_store_resource_get(CP_APP(req)->store, req->arena, id, req->user_id, &res, NULL, &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, cp_api_resource_json(&res));
}

cp_result cp_api_resource_schedule_put(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "stop", .type = CP_JF_STRING, .nullable = true, .max_len = CP_CRON_EXPR_MAX},
        {.name = "start", .type = CP_JF_STRING, .nullable = true, .max_len = CP_CRON_EXPR_MAX},
        {.name = "timezone", .type = CP_JF_STRING, .required = true, .max_len = CP_CRON_TZ_MAX},
    };
    cp_resource res;
    json_t *b;
    cp_result r = load(req, &res);
    if (r == CP_OK) r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r != CP_OK) return r;
    cp_api_schedule sc;
    if ((r = cp_api_schedule_check(req, res.cloud, res.kind, b, "", &sc)) != CP_OK) return r;
    if ((r = cp_api_schedule_apply(req, res.project_id, res.id, &sc)) != CP_OK) return r;
    return reply_resource(req, res.id);
}

cp_result cp_api_resource_schedule_delete(cp_req *req)
{
    cp_resource res;
    cp_result r = load(req, &res);
    if (r != CP_OK) return r;
    cp_api_schedule none = {0};
    if ((r = cp_api_schedule_apply(req, res.project_id, res.id, &none)) != CP_OK) return r;
    return reply_resource(req, res.id);
}
