/* schedules.c: the scheduler's "schedule" task. The store claims resources
 * whose working-hours change is due; plan() says what each becomes: the
 * latest change due by now (a sweep that was late does only the last one),
 * an update run that sets config.power_state at the catalog's price for that
 * state (a stopped VM bills its disk only), and the change after now. */
#include <stdlib.h>
#include <string.h>

#include "core/workhours.h"
#include "engine/catalog.h"
#include "store/run_params.h"
#include "worker/worker_int.h"
#include "store/store_schedules.h"

#define CATCH_UP_MAX 1000 /* changes skipped through when a sweep was late */

static cp_result plan(const cp_sched_due *due, int64_t now, cp_sched_step *out, cp_error *err)
{
    json_t *sched = json_loads(due->schedule ? due->schedule : "", 0, NULL);
    cp_workhours w;
    cp_result r = cp_workhours_parse(sched, "", &w, err);
    json_decref(sched);
    if (r != CP_OK) return r;

    bool stop = due->next_action == CP_SCHED_STOP, next_stop;
    int64_t at = due->next_at, t;
    for (int i = 0; i < CATCH_UP_MAX && cp_workhours_next(&w, at, &t, &next_stop, err) == CP_OK && t <= now; i++)
        at = t, stop = next_stop;
    out->next_at = 0;
    if (cp_workhours_next(&w, now, &t, &next_stop, err) == CP_OK) {
        out->next_at = t;
        out->next_action = next_stop ? CP_SCHED_STOP : CP_SCHED_START;
    }

    const char *want = stop ? "stopped" : "running";
    const char *have = due->power_state ? due->power_state : "running";
    if (due->status != CP_RES_ACTIVE || strcmp(want, have) == 0) return CP_OK; /* nothing to run this time */

    json_t *config = json_loads(due->config ? due->config : "{}", 0, NULL);
    if (!json_is_object(config)) {
        json_decref(config);
        config = json_object();
    }
    json_object_set_new(config, "power_state", json_string(want));
    double cost = cp_catalog_monthly_cost(due->cloud, due->kind, due->size, config);
    cp_run_params params = {
        .name = due->name, .region = due->region, .size = due->size, .config = config, .monthly_cost_usd = cost};
    out->run_params = cost >= 0 ? cp_run_params_encode(&params) : NULL;
    json_decref(config);
    if (!out->run_params)
        return cp_error_set(err, CP_ERR, NULL, NULL, "no price for %s %s %s", due->cloud, due->kind,
                            due->size ? due->size : "");
    return CP_OK;
}

cp_result cp_worker__schedule_sweep(cp_store *s, cp_arena *a, int64_t now_ms, int limit, char ***ids, size_t *n,
                                    cp_error *err)
{
    return cp_store_schedule_sweep(s, a, now_ms, limit, plan, ids, n, err);
}
