/* status.h: the run and resource state machines. Statuses and operations are
 * enums; their names exist only at the edges (SQL text columns, JSON, SSE
 * events) and come from the one name table of each enum in status.c, which
 * also holds the one transition table and the one is_final. */
#ifndef CP_STATUS_H
#define CP_STATUS_H

#include <stdbool.h>

typedef enum {
    CP_RUN_QUEUED = 0,
    CP_RUN_PLANNING,
    CP_RUN_PLANNED,
    CP_RUN_AWAITING_APPROVAL,
    CP_RUN_APPLYING,
    CP_RUN_SUCCEEDED,
    CP_RUN_FAILED,
    CP_RUN_CANCELED,
    CP_RUN_STATUS_COUNT
} cp_run_status;

typedef enum {
    CP_RES_PENDING = 0,
    CP_RES_PROVISIONING,
    CP_RES_ACTIVE,
    CP_RES_UPDATING,
    CP_RES_DESTROYING,
    CP_RES_DESTROYED,
    CP_RES_FAILED,
    CP_RES_STATUS_COUNT
} cp_resource_status;

/* What a run does to its resource. A drift check changes nothing: it
 * refreshes into a plan and reads what drifted, and the resource's status
 * stays as it is while it runs. */
typedef enum { CP_OP_CREATE = 0, CP_OP_UPDATE, CP_OP_DESTROY, CP_OP_DRIFT_CHECK, CP_OP_COUNT } cp_run_operation;

/* Names as stored and shown ("awaiting_approval"); parse is their inverse
 * and returns false (leaving *out alone) for any other text, NULL included. */
const char *cp_run_status_name(cp_run_status s);
bool cp_run_status_parse(const char *name, cp_run_status *out);
const char *cp_resource_status_name(cp_resource_status s);
bool cp_resource_status_parse(const char *name, cp_resource_status *out);
const char *cp_run_operation_name(cp_run_operation op);
bool cp_run_operation_parse(const char *name, cp_run_operation *out);

/* succeeded, failed, canceled: nothing moves the run again. */
bool cp_run_status_is_final(cp_run_status s);
/* The run state machine: queued -> planning -> planned -> (awaiting_approval)
 * -> applying -> succeeded; any unfinished run may fail or be canceled. */
bool cp_run_transition_legal(cp_run_status from, cp_run_status to);

/* The resource while a run of operation op holds it (provisioning, ...);
 * for a drift check, the status it had (current), which the check leaves. */
cp_resource_status cp_resource_status_busy(cp_run_operation op, cp_resource_status current);
/* The resource once a run of operation op ended in final. untouched: the run
 * was canceled before it changed anything; existed: the resource had a cost
 * period open (it exists in the cloud). */
cp_resource_status cp_resource_status_after(cp_run_operation op, cp_run_status final, bool untouched, bool existed);

/* What a resource's last drift check found. */
typedef enum {
    CP_DRIFT_NEVER_CHECKED = 0,
    CP_DRIFT_IN_SYNC,
    CP_DRIFT_DRIFTED,
    CP_DRIFT_MISSING,
    CP_DRIFT_CHECK_FAILED,
    CP_DRIFT_STATUS_COUNT
} cp_drift_status;
const char *cp_drift_status_name(cp_drift_status s);
bool cp_drift_status_parse(const char *name, cp_drift_status *out);

/* SQL fragments over the same sets (statuses are text columns). The unit
 * tests check them against the table: IN_PROGRESS is every status that is
 * not final, FINAL the others, LEASED the ones a worker holds a lease in.
 * FINAL is also the text of migration 0018's partial index on runs. */
#define CP_RUN_SQL_IN_PROGRESS "('queued', 'planning', 'planned', 'awaiting_approval', 'applying')"
#define CP_RUN_SQL_FINAL "('succeeded', 'failed', 'canceled')"
#define CP_RUN_SQL_LEASED "('planning', 'planned', 'applying')"

#endif
