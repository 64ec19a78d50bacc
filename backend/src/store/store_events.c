/* store_events.c: run events: appending a batch in one transaction under the
 * per-run cap (what passes it is dropped and counted) and reading them back
 * in seq order. */
#include <jansson.h>
#include <stdlib.h>

#include "store/store_int.h"

#include "core/timeutil.h"

typedef struct {
    const char *run_id;
    const cp_event_new *ev;
    size_t n;
    int64_t max, last_seq;
} event_ctx;

/* The batch as one JSON array of [ts, type, data] for the INSERT below:
 * one statement and one round trip whatever the batch's size. */
static char *batch_json(const cp_event_new *ev, size_t n)
{
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; i < n && ok; i++) /* fails on text that is not UTF-8: nothing is stored then */
        ok = json_array_append_new(arr, json_pack("[I, s, s]", (json_int_t)ev[i].ts, ev[i].type, ev[i].data)) == 0;
    char *text = ok ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return text;
}

/* SQLite: one write transaction (the database's only writer meanwhile, so
 * the next seq is event_count + 1), the rows of the array in one INSERT. */
static const char *const sqlite_insert_sql =
    "INSERT INTO run_events (run_id, seq, ts, type, data)"
    " SELECT ?, ? + key, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]')"
    " FROM json_each(?) ORDER BY key";

static cp_result tx_events(cp_dbconn *c, void *ctx, cp_error *err)
{
    event_ctx *ec = ctx;
    cp_param p[] = {CP_PTEXT(ec->run_id)};
    double count = 0;
    cp_result r = cp_conn_scalar(c, "SELECT event_count FROM runs WHERE id = ?", p, 1, &count, err);
    if (r != CP_OK) return r;
    int64_t have = (int64_t)count;
    size_t keep = have >= ec->max ? 0 : (size_t)(ec->max - have) < ec->n ? (size_t)(ec->max - have) : ec->n;
    ec->last_seq = 0;
    if (keep > 0) {
        char *text = batch_json(ec->ev, keep);
        if (!text) return cp_error_set(err, CP_EINVAL, NULL, NULL, "an event is not valid UTF-8 JSON text");
        cp_param q[] = {CP_PTEXT(ec->run_id), CP_PINT(have + 1), CP_PTEXT(text)};
        r = cp_db_exec(c, sqlite_insert_sql, q, 3, NULL, err);
        free(text);
        if (r != CP_OK) return r;
    }
    cp_param u[] = {CP_PINT(keep), CP_PINT(ec->n - keep), CP_PTEXT(ec->run_id)};
    r = cp_db_exec(c, "UPDATE runs SET event_count = event_count + ?, events_dropped = events_dropped + ? WHERE id = ?",
                   u, 3, NULL, err);
    if (r == CP_OK && keep > 0) ec->last_seq = have + (int64_t)keep;
    return r;
}

/* PostgreSQL: the whole append as one statement, so one round trip and no
 * BEGIN/COMMIT. `cur` locks the run's row (a concurrent appender waits, then
 * reads the count it committed); the UPDATE of that row in the same statement
 * takes the same newest version. Returns the last seq stored (0: none). */
static const char *const pg_append_sql =
    "WITH cur AS (SELECT event_count AS c FROM runs WHERE id = ? FOR NO KEY UPDATE),"
    " ins AS (INSERT INTO run_events (run_id, seq, ts, type, data)"
    " SELECT ?, cur.c + x.i, (x.e->>0)::bigint, x.e->>1, x.e->>2"
    " FROM cur, json_array_elements(?::json) WITH ORDINALITY AS x(e, i) WHERE cur.c + x.i <= ? RETURNING seq)"
    " UPDATE runs SET event_count = event_count + (SELECT COUNT(*) FROM ins),"
    " events_dropped = events_dropped + ? - (SELECT COUNT(*) FROM ins)"
    " WHERE id = ? RETURNING (SELECT COALESCE(MAX(seq), 0) FROM ins)";

static void fill_int(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(int64_t *)out = cp_dbrows_int(r, 0);
}

static cp_result pg_append(cp_store *s, const char *run_id, const cp_event_new *ev, size_t n, int64_t max,
                           int64_t *last_seq, cp_error *err)
{
    char *text = batch_json(ev, n);
    if (!text) return cp_error_set(err, CP_EINVAL, NULL, NULL, "an event is not valid UTF-8 JSON text");
    cp_param p[] = {CP_PTEXT(run_id), CP_PTEXT(run_id), CP_PTEXT(text), CP_PINT(max), CP_PINT(n), CP_PTEXT(run_id)};
    cp_result r = cp_store_one(s, NULL, pg_append_sql, p, 6, fill_int, last_seq, "run", err);
    free(text);
    return r;
}

cp_result cp_store_events_append(cp_store *s, const char *run_id, const cp_event_new *ev, size_t n, int64_t max_events,
                                 int64_t *last_seq, cp_error *err)
{
    int64_t seq = 0;
    if (last_seq) *last_seq = 0;
    if (n == 0) return CP_OK;
    if (n > CP_EVENTS_APPEND_MAX)
        return cp_error_set(err, CP_EINVAL, NULL, NULL, "at most %d events at once", CP_EVENTS_APPEND_MAX);
    cp_result r;
    if (cp_db_kind_of(s->db) == CP_DB_PG) {
        r = pg_append(s, run_id, ev, n, max_events, &seq, err);
    } else {
        event_ctx ec = {run_id, ev, n, max_events, 0};
        r = cp_store_tx(s, tx_events, &ec, err);
        seq = ec.last_seq;
    }
    if (r == CP_OK && last_seq) *last_seq = seq;
    return r;
}

cp_result cp_store_event_append(cp_store *s, const char *run_id, const char *type, const char *data_json,
                                int64_t max_events, int64_t *seq, cp_error *err)
{
    cp_event_new ev = {type, data_json, cp_now_ms()};
    return cp_store_events_append(s, run_id, &ev, 1, max_events, seq, err);
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
