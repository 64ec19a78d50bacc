/* status.c: name tables and transition rules of runs and resources. */
#include "store/status.h"

#include <string.h>

#include "core/cp.h"

static const char *const run_names[CP_RUN_STATUS_COUNT] = {
    [CP_RUN_QUEUED] = "queued",     [CP_RUN_PLANNING] = "planning",
    [CP_RUN_PLANNED] = "planned",   [CP_RUN_AWAITING_APPROVAL] = "awaiting_approval",
    [CP_RUN_APPLYING] = "applying", [CP_RUN_SUCCEEDED] = "succeeded",
    [CP_RUN_FAILED] = "failed",     [CP_RUN_CANCELED] = "canceled",
};

static const char *const resource_names[CP_RES_STATUS_COUNT] = {
    [CP_RES_PENDING] = "pending",   [CP_RES_PROVISIONING] = "provisioning", [CP_RES_ACTIVE] = "active",
    [CP_RES_UPDATING] = "updating", [CP_RES_DESTROYING] = "destroying",     [CP_RES_DESTROYED] = "destroyed",
    [CP_RES_FAILED] = "failed",
};

static const char *const operation_names[CP_OP_COUNT] = {[CP_OP_CREATE] = "create",
                                                         [CP_OP_UPDATE] = "update",
                                                         [CP_OP_DESTROY] = "destroy",
                                                         [CP_OP_DRIFT_CHECK] = "drift_check"};

static const char *const drift_names[CP_DRIFT_STATUS_COUNT] = {
    [CP_DRIFT_NEVER_CHECKED] = "never_checked",
    [CP_DRIFT_IN_SYNC] = "in_sync",
    [CP_DRIFT_DRIFTED] = "drifted",
    [CP_DRIFT_MISSING] = "missing",
    [CP_DRIFT_CHECK_FAILED] = "check_failed",
};

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "unknown";
}

static int index_of(const char *const *names, int n, const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

const char *cp_run_status_name(cp_run_status s)
{
    return name_of(run_names, CP_RUN_STATUS_COUNT, (int)s);
}

bool cp_run_status_parse(const char *name, cp_run_status *out)
{
    int i = index_of(run_names, CP_RUN_STATUS_COUNT, name);
    if (i >= 0) *out = (cp_run_status)i;
    return i >= 0;
}

const char *cp_resource_status_name(cp_resource_status s)
{
    return name_of(resource_names, CP_RES_STATUS_COUNT, (int)s);
}

bool cp_resource_status_parse(const char *name, cp_resource_status *out)
{
    int i = index_of(resource_names, CP_RES_STATUS_COUNT, name);
    if (i >= 0) *out = (cp_resource_status)i;
    return i >= 0;
}

const char *cp_run_operation_name(cp_run_operation op)
{
    return name_of(operation_names, CP_OP_COUNT, (int)op);
}

bool cp_run_operation_parse(const char *name, cp_run_operation *out)
{
    int i = index_of(operation_names, CP_OP_COUNT, name);
    if (i >= 0) *out = (cp_run_operation)i;
    return i >= 0;
}

bool cp_run_status_is_final(cp_run_status s)
{
    return s == CP_RUN_SUCCEEDED || s == CP_RUN_FAILED || s == CP_RUN_CANCELED;
}

bool cp_run_transition_legal(cp_run_status from, cp_run_status to)
{
    static const cp_run_status edges[][2] = {
        {CP_RUN_QUEUED, CP_RUN_PLANNING},           {CP_RUN_PLANNING, CP_RUN_PLANNED},
        {CP_RUN_PLANNED, CP_RUN_AWAITING_APPROVAL}, {CP_RUN_PLANNED, CP_RUN_APPLYING},
        {CP_RUN_PLANNED, CP_RUN_SUCCEEDED},         {CP_RUN_AWAITING_APPROVAL, CP_RUN_APPLYING},
        {CP_RUN_APPLYING, CP_RUN_SUCCEEDED},        {CP_RUN_PLANNING, CP_RUN_APPLYING},
    };
    if (cp_run_status_is_final(from)) return false;
    if (to == CP_RUN_FAILED || to == CP_RUN_CANCELED) return true;
    for (size_t i = 0; i < CP_ARRAY_LEN(edges); i++)
        if (edges[i][0] == from && edges[i][1] == to) return true;
    return false;
}

cp_resource_status cp_resource_status_busy(cp_run_operation op, cp_resource_status current)
{
    if (op == CP_OP_DRIFT_CHECK) return current;
    return op == CP_OP_CREATE ? CP_RES_PROVISIONING : op == CP_OP_UPDATE ? CP_RES_UPDATING : CP_RES_DESTROYING;
}

cp_resource_status cp_resource_status_after(cp_run_operation op, cp_run_status final, bool untouched, bool existed)
{
    if (final == CP_RUN_SUCCEEDED) return op == CP_OP_DESTROY ? CP_RES_DESTROYED : CP_RES_ACTIVE;
    /* Canceled before anything changed: the resource goes back to what it was. */
    if (final == CP_RUN_CANCELED && untouched) return existed || op != CP_OP_CREATE ? CP_RES_ACTIVE : CP_RES_FAILED;
    return CP_RES_FAILED;
}

const char *cp_drift_status_name(cp_drift_status s)
{
    return name_of(drift_names, CP_DRIFT_STATUS_COUNT, (int)s);
}

bool cp_drift_status_parse(const char *name, cp_drift_status *out)
{
    int i = index_of(drift_names, CP_DRIFT_STATUS_COUNT, name);
    if (i >= 0) *out = (cp_drift_status)i;
    return i >= 0;
}
