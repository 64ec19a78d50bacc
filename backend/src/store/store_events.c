/* store_events.c: run events: appending under the per-run cap (what passes
 * it is dropped and counted) and reading them back in seq order. */
#include "store/store_int.h"

#include "core/timeutil.h"

typedef struct {
    const char *run_id, *type, *data;
    int64_t max, seq;
} event_ctx;

static cp_result tx_event(cp_dbconn *c, void *ctx, cp_error *err)
{
    event_ctx *ec = ctx;
    cp_param p[] = {CP_PTEXT(ec->run_id)};
    double count = 0;
    /* The next seq is event_count + 1: concurrent appenders take turns. */
    cp_result r = cp_conn_lock(c, CP_LOCK_RUN, ec->run_id, err);
    if (r == CP_OK) r = cp_conn_scalar(c, "SELECT event_count FROM runs WHERE id = ?", p, 1, &count, err);
    if (r != CP_OK) return r;
    if ((int64_t)count >= ec->max) {
        ec->seq = 0;
        return cp_db_exec(c, "UPDATE runs SET events_dropped = events_dropped + 1 WHERE id = ?", p, 1, NULL, err);
    }
    ec->seq = (int64_t)count + 1;
    cp_param q[] = {CP_PTEXT(ec->run_id), CP_PINT(ec->seq), CP_PINT(cp_now_ms()), CP_PTEXT(ec->type),
                    CP_PTEXT(ec->data)};
    r = cp_db_exec(c, "INSERT INTO run_events (run_id, seq, ts, type, data) VALUES (?, ?, ?, ?, ?)", q, 5, NULL, err);
    if (r == CP_OK) r = cp_db_exec(c, "UPDATE runs SET event_count = event_count + 1 WHERE id = ?", p, 1, NULL, err);
    return r;
}

cp_result cp_store_event_append(cp_store *s, const char *run_id, const char *type, const char *data_json,
                                int64_t max_events, int64_t *seq, cp_error *err)
{
    event_ctx ec = {run_id, type, data_json, max_events, 0};
    cp_result r = cp_store_tx(s, tx_event, &ec, err);
    if (seq) *seq = ec.seq;
    return r;
}

static void fill_event(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_event *e = out;
    e->seq = cp_dbrows_int(r, 0);
    e->ts = cp_dbrows_int(r, 1);
    e->type = cp_dbrows_dup(r, 2, a);
    e->data = cp_dbrows_dup(r, 3, a);
}

cp_result cp_store_events_list(cp_store *s, cp_arena *a, const char *run_id, int64_t after_seq, int limit,
                               cp_event **items, size_t *n, cp_error *err)
{
    if (limit < 1 || limit > 1000) limit = 1000;
    cp_param p[] = {CP_PTEXT(run_id), CP_PINT(after_seq), CP_PINT(limit)};
    return cp_store_many(s, a,
                         "SELECT seq, ts, type, data FROM run_events WHERE run_id = ? AND seq > ?"
                         " ORDER BY seq LIMIT ?",
                         p, 3, fill_event, sizeof(cp_event), (size_t)limit, (void **)items, n, err);
}
