/* store_rows.c: filling resource and run records from their rows, and
 * reading status and operation columns (store_rows.h). */
#include "store/store_rows.h"

#include "core/log.h"

static void unknown_value(const char *text)
{
    cp_log_warn("store: unknown value '%s' in a status or operation column", text);
}

cp_run_status cp_run_status_col(cp_dbrows *r, int col)
{
    cp_run_status v = CP_RUN_FAILED;
    const char *t = cp_dbrows_text(r, col);
    if (t && !cp_run_status_parse(t, &v)) unknown_value(t);
    return v;
}

cp_resource_status cp_resource_status_col(cp_dbrows *r, int col)
{
    cp_resource_status v = CP_RES_FAILED;
    const char *t = cp_dbrows_text(r, col);
    if (t && !cp_resource_status_parse(t, &v)) unknown_value(t);
    return v;
}

cp_run_operation cp_run_operation_col(cp_dbrows *r, int col)
{
    cp_run_operation v = CP_OP_CREATE;
    const char *t = cp_dbrows_text(r, col);
    if (t && !cp_run_operation_parse(t, &v)) unknown_value(t);
    return v;
}

/* Text columns copied into a, or borrowed from the row when a is NULL. */
static char *text_col(cp_dbrows *r, int col, cp_arena *a)
{
    return a ? cp_dbrows_dup(r, col, a) : (char *)cp_dbrows_text(r, col);
}

static void fill_resource(cp_dbrows *r, cp_arena *a, cp_resource *x)
{
    x->id = text_col(r, 0, a);
    x->project_id = text_col(r, 1, a);
    x->account_id = text_col(r, 2, a);
    x->account_name = text_col(r, 3, a);
    x->cloud = text_col(r, 4, a);
    x->kind = text_col(r, 5, a);
    x->name = text_col(r, 6, a);
    x->region = text_col(r, 7, a);
    x->size = text_col(r, 8, a);
    x->config = text_col(r, 9, a);
    x->status = cp_resource_status_col(r, 10);
    x->outputs = text_col(r, 11, a);
    x->monthly_cost_usd = cp_dbrows_real(r, 12);
    x->created_by = text_col(r, 13, a);
    x->created_at = cp_dbrows_int(r, 14);
    x->updated_at = cp_dbrows_int(r, 15);
    x->run_id = text_col(r, 16, a);
    x->run_operation = cp_run_operation_col(r, 17);
    x->run_status = cp_run_status_col(r, 18);
    x->schedule = text_col(r, 19, a);
    x->power_state = text_col(r, 20, a);
    x->schedule_next_at = cp_dbrows_int(r, 21);
    x->expires_at = cp_dbrows_isnull(r, 22) ? 0 : cp_dbrows_int(r, 22);
    x->drift_status = CP_DRIFT_NEVER_CHECKED;
    const char *d = cp_dbrows_text(r, 23);
    if (d && !cp_drift_status_parse(d, &x->drift_status)) unknown_value(d);
    x->drift_checked_at = cp_dbrows_int(r, 24);
    x->is_protected = cp_dbrows_int(r, 25) != 0;
}

void cp_fill_resource(cp_dbrows *r, cp_arena *a, void *out)
{
    fill_resource(r, a, out);
}

void cp_fill_resource_view(cp_dbrows *r, cp_resource *out)
{
    fill_resource(r, NULL, out);
}

void cp_fill_text(cp_dbrows *r, cp_arena *a, void *out)
{
    *(char **)out = cp_dbrows_dup(r, 0, a);
}

void cp_fill_run(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_run *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->resource_id = cp_dbrows_dup(r, 1, a);
    x->resource_name = cp_dbrows_dup(r, 2, a);
    x->project_id = cp_dbrows_dup(r, 3, a);
    x->operation = cp_run_operation_col(r, 4);
    x->status = cp_run_status_col(r, 5);
    x->attempt = cp_dbrows_int(r, 6);
    x->params = cp_dbrows_dup(r, 7, a);
    x->lease_owner = cp_dbrows_dup(r, 8, a);
    x->lease_expires_at = cp_dbrows_int(r, 9);
    x->lock_id = cp_dbrows_dup(r, 10, a);
    x->tofu_started = cp_dbrows_int(r, 11) != 0;
    x->cancel_requested = cp_dbrows_int(r, 12) != 0;
    x->plan_summary = cp_dbrows_dup(r, 13, a);
    x->approved_by = cp_dbrows_dup(r, 14, a);
    x->error = cp_dbrows_dup(r, 15, a);
    x->event_count = cp_dbrows_int(r, 16);
    x->events_dropped = cp_dbrows_int(r, 17);
    x->created_by = cp_dbrows_dup(r, 18, a);
    x->queued_at = cp_dbrows_int(r, 19);
    x->started_at = cp_dbrows_int(r, 20);
    x->finished_at = cp_dbrows_int(r, 21);
    x->source = cp_dbrows_dup(r, 22, a);
    x->override_required = cp_dbrows_int(r, 23) != 0;
    x->request_id = cp_dbrows_dup(r, 24, a);
    x->events_pruned_at = cp_dbrows_int(r, 25);
}

cp_result cp_conn_run_by_id(cp_dbconn *c, cp_arena *a, const char *id, cp_run *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    cp_result r = cp_conn_one(c, a, "SELECT " RUN_COLS RUN_FROM " WHERE u.id = ?", p, 1, cp_fill_run, out, err);
    if (r == CP_ENOTFOUND) cp_error_set(err, r, "not_found", NULL, "run not found");
    return r;
}
