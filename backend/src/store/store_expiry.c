/* store_expiry.c: resources that end on their own. A project's expiry
 * settings, moving a resource's expires_at, the scheduler's sweep that
 * queues expiry destroys and sends reminders (as resource.expiring and
 * resource.expired events: store_webhooks.c writes their deliveries and
 * notifications), and the notification list (store.h, "expiry and
 * reminders"). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/run_params.h"
#include "store/store_rows.h"
#include "store/store_webhooks.h"
#include "store/store_expiry.h"

#define HOUR_MS (3600LL * 1000)

/* ---- settings ---- */

cp_result cp_store_project_expiry_set(cp_store *s, const char *project_id, const cp_expiry_settings *x, cp_error *err)
{
    cp_param p[] = {CP_PINT(x->default_ttl_set),
                    x->default_ttl_seconds ? CP_PINT(*x->default_ttl_seconds) : CP_PNULL,
                    CP_PINT(x->max_ttl_set),
                    x->max_ttl_seconds ? CP_PINT(*x->max_ttl_seconds) : CP_PNULL,
                    x->auto_approve ? CP_PINT(*x->auto_approve) : CP_PNULL,
                    CP_PTEXT(project_id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE projects SET"
                                " default_ttl_seconds = CASE WHEN ? = 1 THEN ? ELSE default_ttl_seconds END,"
                                " max_ttl_seconds = CASE WHEN ? = 1 THEN ? ELSE max_ttl_seconds END,"
                                " expiry_auto_approve = COALESCE(?, expiry_auto_approve)"
                                " WHERE id = ?",
                                p, 6, &changed, err);
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "project not found");
    return r;
}

cp_result cp_store_resource_expiry_move(cp_store *s, const char *resource_id, int64_t old_ms, int64_t new_ms,
                                        cp_error *err)
{
    cp_param p[] = {CP_PINT(new_ms), CP_PINT(cp_now_ms()), CP_PTEXT(resource_id), CP_PINT(old_ms)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE resources SET expires_at = ?, updated_at = ?"
                                " WHERE id = ? AND expires_at = ? AND status <> 'destroyed'",
                                p, 4, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "expiry_changed", NULL,
                            "the resource's expiry changed meanwhile, or it was destroyed; reload and try again");
    return r;
}

/* ---- notifications ---- */

#define NOTE_COLS                                                                                                      \
    "n.id, n.kind, n.resource_id, COALESCE(r.name, n.resource_name), n.project_id, n.expires_at, n.created_at,"        \
    " n.read_at IS NOT NULL, n.run_id, n.message"
#define NOTE_FROM                                                                                                      \
    " FROM notifications n LEFT JOIN resources r ON r.id = n.resource_id"                                              \
    " JOIN memberships m ON m.project_id = n.project_id AND m.user_id = n.user_id WHERE n.user_id = ?"

static void fill_note(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_notification *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->kind = cp_dbrows_dup(r, 1, a);
    x->resource_id = cp_dbrows_dup(r, 2, a);
    x->resource_name = cp_dbrows_dup(r, 3, a);
    x->project_id = cp_dbrows_dup(r, 4, a);
    x->expires_at = cp_dbrows_isnull(r, 5) ? 0 : cp_dbrows_int(r, 5);
    x->created_at = cp_dbrows_int(r, 6);
    x->read = cp_dbrows_int(r, 7) != 0;
    x->run_id = cp_dbrows_dup(r, 8, a);
    x->message = cp_dbrows_dup(r, 9, a);
}

cp_result cp_store_notifications_list(cp_store *s, cp_arena *a, const char *user_id, int limit, const char *cursor,
                                      cp_notification **items, size_t *n, char **next, int64_t *unread, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(cursor ? cursor : ""), CP_PTEXT(cursor ? cursor : ""),
                    CP_PINT(limit + 1)};
    cp_result r =
        cp_store_many(s, a, "SELECT " NOTE_COLS NOTE_FROM " AND (? = '' OR n.id < ?) ORDER BY n.id DESC LIMIT ?", p, 4,
                      fill_note, sizeof(cp_notification), (size_t)limit + 1, (void **)items, n, err);
    if (r != CP_OK) return r;
    FINISH_PAGE(items, n, next, limit, id);
    double count = 0;
    cp_dbconn *c = cp_db_acquire(cp_store_db(s));
    r = cp_conn_scalar(c, "SELECT COUNT(*)" NOTE_FROM " AND n.read_at IS NULL", p, 1, &count, err);
    cp_db_release(cp_store_db(s), c);
    *unread = (int64_t)count;
    return r;
}

cp_result cp_store_notification_read(cp_store *s, const char *user_id, const char *id, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PTEXT(id), CP_PTEXT(user_id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(
        s, "UPDATE notifications SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ?", p, 3, &changed, err);
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "notification not found");
    return r;
}

/* ---- the sweep ---- */

/* A resource the sweep claimed, with what its destroy run needs. */
typedef struct {
    char *id, *project_id, *name, *region, *size, *config;
    double monthly_cost_usd;
    int64_t expires_at;
} due_row;

static void fill_due(cp_dbrows *r, cp_arena *a, void *out)
{
    due_row *d = out;
    d->id = cp_dbrows_dup(r, 0, a);
    d->project_id = cp_dbrows_dup(r, 1, a);
    d->name = cp_dbrows_dup(r, 2, a);
    d->region = cp_dbrows_dup(r, 3, a);
    d->size = cp_dbrows_dup(r, 4, a);
    d->config = cp_dbrows_dup(r, 5, a);
    d->monthly_cost_usd = cp_dbrows_real(r, 6);
    d->expires_at = cp_dbrows_int(r, 7);
}

#define DUE_COLS "r.id, r.project_id, r.name, r.region, r.size, r.config, r.monthly_cost_usd, r.expires_at"
/* Past due, not yet queued for this expires_at, and no unfinished run (which
 * postpones it to a later sweep). The first two terms are the partial
 * index's (resources_expiry). */
#define DUE_DESTROY_WHERE                                                                                              \
    " WHERE r.expires_at IS NOT NULL AND r.status <> 'destroyed' AND r.expires_at <= ?"                                \
    " AND (r.expiry_queued_for IS NULL OR r.expiry_queued_for <> r.expires_at)"                                        \
    " AND NOT EXISTS (SELECT 1 FROM runs u WHERE u.resource_id = r.id AND u.status IN " CP_RUN_SQL_IN_PROGRESS ")"     \
    " ORDER BY r.expires_at, r.id LIMIT ?"
/* PostgreSQL claims the project row with the resource (lock order: project,
 * then resource), skipping what another sweep or a request holds: nothing
 * waits, so no deadlock, and a skipped row is due again next sweep. */
static const char *const due_destroy_sql[2] = {
    "SELECT " DUE_COLS " FROM resources r" DUE_DESTROY_WHERE,
    "SELECT " DUE_COLS " FROM resources r JOIN projects p ON p.id = r.project_id" DUE_DESTROY_WHERE
    " FOR NO KEY UPDATE OF p, r SKIP LOCKED",
};

/* The reminders: [from, to) before expires_at, and the column that says it
 * was sent for this expires_at. A resource whose 1 h reminder is due gets
 * that one only. */
typedef struct {
    const char *kind;
    const char *sql[2];
} reminder;

#define DUE_REMIND(col)                                                                                                \
    " FROM resources r WHERE r.expires_at IS NOT NULL AND r.status <> 'destroyed' AND r.expires_at > ?"                \
    " AND r.expires_at <= ? AND (r." col " IS NULL OR r." col " <> r.expires_at) ORDER BY r.expires_at, r.id LIMIT ?"
static const reminder reminders[] = {
    {CP_NOTE_EXPIRING_1H,
     {"SELECT " DUE_COLS DUE_REMIND("reminded_1h_for"),
      "SELECT " DUE_COLS DUE_REMIND("reminded_1h_for") " FOR NO KEY UPDATE OF r SKIP LOCKED"}},
    {CP_NOTE_EXPIRING_24H,
     {"SELECT " DUE_COLS DUE_REMIND("reminded_24h_for"),
      "SELECT " DUE_COLS DUE_REMIND("reminded_24h_for") " FOR NO KEY UPDATE OF r SKIP LOCKED"}},
};
static const char *const reminded_sql[] = {
    "UPDATE resources SET reminded_1h_for = expires_at WHERE id = ? AND expires_at = ?",
    "UPDATE resources SET reminded_24h_for = expires_at WHERE id = ? AND expires_at = ?",
};

typedef struct {
    cp_arena *a;
    int64_t now;
    int limit;
    char **ids;
    size_t n;
} sweep_ctx;

/* The destroy run's params: the resource as it stands (store/run_params.h). */
static char *destroy_params(const due_row *d)
{
    json_t *config = d->config ? json_loads(d->config, 0, NULL) : NULL;
    cp_run_params params = {.name = d->name,
                            .region = d->region,
                            .size = d->size,
                            .config = config,
                            .monthly_cost_usd = d->monthly_cost_usd};
    char *text = cp_run_params_encode(&params);
    json_decref(config);
    return text;
}

static cp_result tx_sweep_destroys(cp_dbconn *c, void *ctx, cp_error *err)
{
    sweep_ctx *sc = ctx;
    bool pg = cp_dbconn_kind(c) == CP_DB_PG;
    cp_param p[] = {CP_PINT(sc->now), CP_PINT(sc->limit)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, due_destroy_sql[pg], p, 2, &rows, err);
    if (r != CP_OK) return r;
    due_row *due = cp_arena_alloc(sc->a, (size_t)sc->limit * sizeof *due);
    size_t n = 0;
    while (n < (size_t)sc->limit && cp_dbrows_next(rows)) fill_due(rows, sc->a, &due[n++]);
    cp_dbrows_free(rows);
    sc->ids = cp_arena_alloc(sc->a, (n ? n : 1) * sizeof *sc->ids);
    sc->n = 0;
    for (size_t i = 0; r == CP_OK && i < n; i++) {
        char *params = destroy_params(&due[i]);
        cp_run run;
        cp_error e;
        r = cp_conn_destroy_enqueue(c, sc->a, due[i].id, params, CP_SOURCE_EXPIRY, &run, &e);
        free(params);
        if (r == CP_OK) {
            sc->ids[sc->n++] = run.id;
            r = cp_conn_resource_event(c, due[i].id, CP_EVENT_RESOURCE_EXPIRED, CP_NOTE_EXPIRED, NULL,
                                       due[i].expires_at, run.id, err);
        } else if (r == CP_ECONFLICT) {
            /* Destroyed, or a destroy is queued already: that one ends it. */
            r = CP_OK;
        } else {
            *err = e;
        }
        if (r != CP_OK) break;
        cp_param q[] = {CP_PTEXT(due[i].id), CP_PINT(due[i].expires_at)};
        r = cp_db_exec(c, "UPDATE resources SET expiry_queued_for = expires_at WHERE id = ? AND expires_at = ?", q, 2,
                       NULL, err);
    }
    return r;
}

static cp_result tx_sweep_reminders(cp_dbconn *c, void *ctx, cp_error *err)
{
    sweep_ctx *sc = ctx;
    bool pg = cp_dbconn_kind(c) == CP_DB_PG;
    cp_result r = CP_OK;
    for (size_t k = 0; r == CP_OK && k < CP_ARRAY_LEN(reminders); k++) {
        /* 1 h: (now, now + 1 h]; 24 h: (now + 1 h, now + 24 h]. */
        int64_t from = k == 0 ? sc->now : sc->now + HOUR_MS, to = k == 0 ? sc->now + HOUR_MS : sc->now + 24 * HOUR_MS;
        cp_param p[] = {CP_PINT(from), CP_PINT(to), CP_PINT(sc->limit)};
        cp_dbrows *rows;
        if ((r = cp_db_query(c, reminders[k].sql[pg], p, 3, &rows, err)) != CP_OK) break;
        due_row *due = cp_arena_alloc(sc->a, (size_t)sc->limit * sizeof *due);
        size_t n = 0;
        while (n < (size_t)sc->limit && cp_dbrows_next(rows)) fill_due(rows, sc->a, &due[n++]);
        cp_dbrows_free(rows);
        for (size_t i = 0; r == CP_OK && i < n; i++) {
            r = cp_conn_resource_event(c, due[i].id, CP_EVENT_RESOURCE_EXPIRING, reminders[k].kind, NULL,
                                       due[i].expires_at, NULL, err);
            if (r == CP_OK) {
                cp_param q[] = {CP_PTEXT(due[i].id), CP_PINT(due[i].expires_at)};
                r = cp_db_exec(c, reminded_sql[k], q, 2, NULL, err);
            }
        }
    }
    return r;
}

cp_result cp_store_expiry_sweep(cp_store *s, cp_arena *a, int64_t now_ms, int limit, char ***ids, size_t *n,
                                cp_error *err)
{
    *ids = NULL;
    *n = 0;
    if (limit < 1) limit = 1;
    sweep_ctx sc = {a, now_ms, limit, NULL, 0};
    cp_result r = cp_store_tx(s, tx_sweep_destroys, &sc, err);
    if (r != CP_OK) return r;
    *ids = sc.ids;
    *n = sc.n;
    /* The destroys are committed; reminders failing now lose nothing. */
    return cp_store_tx(s, tx_sweep_reminders, &sc, err);
}
