/* drift.c: drift detection over HTTP: check a resource now, its latest
 * report, the two remedies (reconcile back to the order, accept the cloud's
 * adoptable values into the order), and the fleet view. Checks and remedies
 * are runs; the worker and the scheduler do the rest. */
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "engine/catalog.h"
#include "store/run_params.h"
#include "store/store_drift.h"

static cp_result load(cp_req *req, cp_resource *res, cp_role *role)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    return cp_store_resource_get(CP_APP(req)->store, req->arena, id, req->user_id, res, role, &req->err);
}

/* The resource (as it is now) and the run just queued for it: 202. */
static cp_result reply_queued(cp_req *req, cp_resource *res, const cp_run *run)
{
    cp_api_dispatch(req, run->id);
    cp_result r = cp_store_resource_get(CP_APP(req)->store, req->arena, res->id, req->user_id, res, NULL, &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 202,
                    json_pack("{s:o, s:o}", "resource", cp_api_resource_json(res), "run", cp_api_run_json(run)));
}

cp_result cp_api_drift_check(cp_req *req)
{
    cp_resource res;
    cp_role role;
    cp_result r = load(req, &res, &role);
    if (r != CP_OK) return r;
    if ((r = cp_api_need_role(req, role, CP_ROLE_MEMBER)) != CP_OK) return r;
    cp_run run;
    r = cp_store_drift_check_enqueue(CP_APP(req)->store, req->arena, res.id, req->user_id, CP_SOURCE_USER, &run,
                                     &req->err);
    if (r != CP_OK) return r;
    cp_api_audit(req, res.project_id, "resource.drift_check", res.id, json_pack("{s:s}", "name", res.name));
    return reply_queued(req, &res, &run);
}

/* Whether every drifted attribute of changes may be adopted by accept. */
static bool acceptable(const cp_resource *res, json_t *changes)
{
    if (json_array_size(changes) == 0) return false;
    size_t i, k;
    json_t *c, *attr;
    json_array_foreach(changes, i, c)
    {
        const char *action = json_string_value(json_object_get(c, "action"));
        if (!action || strcmp(action, "update") != 0) return false;
        json_array_foreach(json_object_get(c, "attributes"), k, attr)
        {
            if (!cp_catalog_drift_adoptable(res->cloud, res->kind, json_string_value(json_object_get(attr, "path"))))
                return false;
        }
    }
    return true;
}

cp_result cp_api_drift_report(cp_req *req)
{
    cp_resource res;
    cp_role role;
    cp_result r = load(req, &res, &role);
    if (r != CP_OK) return r;
    cp_drift_report rep;
    if ((r = cp_store_drift_report(CP_APP(req)->store, req->arena, res.id, &rep, &req->err)) != CP_OK) return r;
    json_t *changes = json_loads(rep.changes ? rep.changes : "[]", 0, NULL);
    if (!json_is_array(changes)) {
        json_decref(changes);
        changes = json_array();
    }
    bool ok = rep.status == CP_DRIFT_DRIFTED && acceptable(&res, changes);
    return cp_reply(req, 200,
                    json_pack("{s:s, s:s, s:o, s:o, s:o, s:b}", "resource_id", res.id, "status",
                              cp_drift_status_name(rep.status), "checked_at", cp_api_time(rep.checked_at), "run_id",
                              cp_json_str_or_null(rep.run_id), "changes", changes, "acceptable", ok));
}

/* 409 not_drifted unless the last check found drift (or the object gone). */
static cp_result need_drift(cp_req *req, const cp_resource *res)
{
    if (res->drift_status == CP_DRIFT_DRIFTED || res->drift_status == CP_DRIFT_MISSING) return CP_OK;
    return cp_req_fail(req, CP_ECONFLICT, "not_drifted", NULL, "the resource's last drift check found no drift (%s)",
                       cp_drift_status_name(res->drift_status));
}

/* An update run to config (the ordered one, or one with adopted values):
 * an ordinary run, so approval and the guardrails apply. */
static cp_result queue_update(cp_req *req, cp_resource *res, json_t *config, const char *source, const char *action,
                              json_t *detail)
{
    double cost = cp_catalog_monthly_cost(res->cloud, res->kind, res->size, config);
    if (cost < 0) cost = res->monthly_cost_usd;
    cp_run_params params = {
        .name = res->name, .region = res->region, .size = res->size, .config = config, .monthly_cost_usd = cost};
    char *text = cp_run_params_encode(&params);
    if (!text) {
        json_decref(detail);
        return cp_req_fail(req, CP_ERR, NULL, NULL, "cannot encode the run");
    }
    cp_run run;
    cp_result r = cp_store_run_enqueue_from(CP_APP(req)->store, req->arena, res->id, CP_OP_UPDATE, text, cost,
                                            req->user_id, source, &run, &req->err);
    free(text);
    if (r == CP_ERATE) cp_api_retry_after(req, CP_RUNS_RETRY_AFTER_S); /* too_many_runs */
    if (r != CP_OK) {
        json_decref(detail);
        return r;
    }
    cp_api_audit(req, res->project_id, action, res->id, detail);
    return reply_queued(req, res, &run);
}

cp_result cp_api_drift_reconcile(cp_req *req)
{
    cp_resource res;
    cp_role role;
    cp_result r = load(req, &res, &role);
    if (r != CP_OK) return r;
    if ((r = cp_api_need_role(req, role, CP_ROLE_MEMBER)) != CP_OK) return r;
    if ((r = need_drift(req, &res)) != CP_OK) return r;
    json_t *config = cp_api_json_text(res.config);
    r = queue_update(req, &res, config, CP_SOURCE_DRIFT_RECONCILE, "resource.drift_reconcile",
                     json_pack("{s:s, s:s}", "name", res.name, "drift_status", cp_drift_status_name(res.drift_status)));
    json_decref(config);
    return r;
}

cp_result cp_api_drift_accept(cp_req *req)
{
    cp_resource res;
    cp_role role;
    cp_result r = load(req, &res, &role);
    if (r != CP_OK) return r;
    if ((r = cp_api_need_role(req, role, CP_ROLE_MEMBER)) != CP_OK) return r;
    if ((r = need_drift(req, &res)) != CP_OK) return r;
    if (res.drift_status == CP_DRIFT_MISSING)
        return cp_req_fail(req, CP_EUNPROC, "not_acceptable", NULL,
                           "the object is gone from the cloud: there is nothing to adopt; reconcile recreates it");
    cp_drift_report rep;
    if ((r = cp_store_drift_report(CP_APP(req)->store, req->arena, res.id, &rep, &req->err)) != CP_OK) return r;
    json_t *changes = json_loads(rep.changes ? rep.changes : "[]", 0, NULL);
    json_t *config = cp_api_json_text(res.config);
    json_t *adopted = json_array();
    size_t i, k;
    json_t *c, *attr;
    r = json_array_size(changes) ? CP_OK
                                 : cp_req_fail(req, CP_ECONFLICT, "not_drifted", NULL, "the drift report is empty");
    json_array_foreach(changes, i, c)
    {
        if (r != CP_OK) break;
        const char *action = json_string_value(json_object_get(c, "action"));
        if (!action || strcmp(action, "update") != 0) {
            r = cp_req_fail(req, CP_EUNPROC, "not_acceptable", NULL, "%s is gone from the cloud; reconcile it instead",
                            json_string_value(json_object_get(c, "address")));
            break;
        }
        json_array_foreach(json_object_get(c, "attributes"), k, attr)
        {
            const char *path = json_string_value(json_object_get(attr, "path"));
            r = cp_catalog_drift_adopt(res.cloud, res.kind, config, path, json_object_get(attr, "after"), &req->err);
            if (r != CP_OK) {
                break;
            }
            json_array_append_new(adopted, json_string(path));
        }
    }
    /* The adopted values must make a valid order too (a cloud-side tag the
     * modules would refuse cannot become the order's). */
    if (r == CP_OK) r = cp_catalog_validate(res.cloud, res.kind, res.name, res.region, res.size, config, &req->err);
    if (r == CP_OK)
        r = queue_update(req, &res, config, CP_SOURCE_DRIFT_ACCEPT, "resource.drift_accept",
                         json_pack("{s:s, s:O}", "name", res.name, "adopted", adopted));
    json_decref(adopted);
    json_decref(config);
    json_decref(changes);
    return r;
}

/* {in_sync, drifted, missing, check_failed, never_checked} */
static json_t *counts_json(const int64_t *counts)
{
    json_t *o = json_object();
    static const cp_drift_status order[] = {CP_DRIFT_IN_SYNC, CP_DRIFT_DRIFTED, CP_DRIFT_MISSING, CP_DRIFT_CHECK_FAILED,
                                            CP_DRIFT_NEVER_CHECKED};
    for (size_t i = 0; i < CP_ARRAY_LEN(order); i++)
        json_object_set_new(o, cp_drift_status_name(order[i]), json_integer(counts[order[i]]));
    return o;
}

cp_result cp_api_drift_fleet(cp_req *req)
{
    cp_app *app = CP_APP(req);
    const char *pid = cp_req_query(req, "project_id");
    if (pid && !*pid) pid = NULL;
    cp_project p;
    cp_result r;
    if (pid && (r = cp_api_project(req, pid, CP_ROLE_VIEWER, &p)) != CP_OK) return r;
    cp_drift_group *projects, *clouds;
    size_t np, nc;
    r = cp_store_drift_fleet(app->store, req->arena, req->user_id, pid, &projects, &np, &clouds, &nc, &req->err);
    if (r != CP_OK) return r;
    int64_t totals[CP_DRIFT_STATUS_COUNT] = {0};
    json_t *pj = json_array(), *cj = json_array();
    for (size_t i = 0; i < np; i++) {
        for (int s = 0; s < CP_DRIFT_STATUS_COUNT; s++) totals[s] += projects[i].counts[s];
        json_array_append_new(pj, json_pack("{s:s, s:s, s:o}", "project_id", projects[i].key, "project_name",
                                            projects[i].name ? projects[i].name : "", "counts",
                                            counts_json(projects[i].counts)));
    }
    for (size_t i = 0; i < nc; i++)
        json_array_append_new(cj,
                              json_pack("{s:s, s:o}", "cloud", clouds[i].key, "counts", counts_json(clouds[i].counts)));
    /* The resources that need a remedy: drifted, then missing (a page each). */
    json_t *drifted = json_array();
    static const char *const wanted[] = {"drifted", "missing"};
    for (size_t w = 0; w < CP_ARRAY_LEN(wanted); w++) {
        cp_resource_filter f = {.project_id = pid, .drift_status = wanted[w]};
        cp_resource *items;
        size_t n;
        char *next;
        r = cp_store_resources_list(app->store, req->arena, req->user_id, &f, 200, NULL, &items, &n, &next, &req->err);
        if (r != CP_OK) break;
        for (size_t i = 0; i < n; i++) json_array_append_new(drifted, cp_api_resource_json(&items[i]));
    }
    if (r != CP_OK) {
        json_decref(pj);
        json_decref(cj);
        json_decref(drifted);
        return r;
    }
    return cp_reply(req, 200,
                    json_pack("{s:o, s:o, s:o, s:o}", "totals", counts_json(totals), "projects", pj, "clouds", cj,
                              "drifted", drifted));
}
