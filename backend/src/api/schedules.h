/* schedules.h: working-hours schedules as the order body carries them
 * (POST /api/v1/resources {..., "schedule": {stop, start, timezone}}). */
#ifndef CP_API_SCHEDULES_H
#define CP_API_SCHEDULES_H

#include "api/common.h"
#include "store/store_schedules.h"

/* A checked schedule, ready to store. */
typedef struct {
    char *text; /* canonical JSON text (in the request's arena) */
    int64_t next_at;
    cp_sched_action next_action;
} cp_api_schedule;

/* Checks schedule (an object, or NULL/null for none: out->text NULL) for a
 * resource of cloud/kind; errors name fields prefix+"stop" etc. 422 for a bad
 * cron or zone, one that never fires, storage, or a cloud whose VMs cannot
 * stop (catalog stoppable). */
cp_result cp_api_schedule_check(cp_req *req, const char *cloud, const char *kind, json_t *schedule, const char *prefix,
                                cp_api_schedule *out) CP_MUST_CHECK;
/* Stores a checked schedule on a resource just ordered, and audits it. */
cp_result cp_api_schedule_apply(cp_req *req, const char *project_id, const char *resource_id,
                                const cp_api_schedule *sc) CP_MUST_CHECK;

#endif
