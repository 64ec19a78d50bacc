/* store_webhooks.c: project webhooks, their outbox (webhook_deliveries: one
 * row per delivery, written in the same transaction as the event it tells
 * of, store_notify.c) and the delivery loop's claims and results (store.h,
 * "webhooks"). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_rows.h"
#include "store/store_webhooks.h"

#define DAY_MS (24LL * 3600 * 1000)

static const char *const delivery_status_names[] = {"pending", "succeeded", "failed"};

const char *cp_delivery_status_name(cp_delivery_status st)
{
    return (unsigned)st < CP_ARRAY_LEN(delivery_status_names) ? delivery_status_names[st] : "failed";
}

static cp_delivery_status delivery_status_parse(const char *s)
{
    for (size_t i = 0; s && i < CP_ARRAY_LEN(delivery_status_names); i++)
        if (!strcmp(s, delivery_status_names[i])) return (cp_delivery_status)i;
    return CP_DELIVERY_FAILED;
}

/* ---- webhooks ---- */

#define HOOK_COLS                                                                                                      \
    "id, project_id, url, events, secret_key_id, secret_nonce, secret_ciphertext, secret_hint, enabled,"               \
    " created_by, created_at, updated_at"

static void fill_hook(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_webhook *w = out;
    w->id = cp_dbrows_dup(r, 0, a);
    w->project_id = cp_dbrows_dup(r, 1, a);
    w->url = cp_dbrows_dup(r, 2, a);
    w->events = cp_dbrows_dup(r, 3, a);
    w->secret_key_id = cp_dbrows_dup(r, 4, a);
    w->secret_nonce = cp_dbrows_dup(r, 5, a);
    w->secret_ciphertext = cp_dbrows_dup(r, 6, a);
    w->secret_hint = cp_dbrows_dup(r, 7, a);
    w->enabled = cp_dbrows_int(r, 8) != 0;
    w->created_by = cp_dbrows_dup(r, 9, a);
    w->created_at = cp_dbrows_int(r, 10);
    w->updated_at = cp_dbrows_int(r, 11);
}

static cp_result tx_hook_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    const cp_webhook *w = ctx;
    cp_result r = cp_conn_lock(c, CP_LOCK_PROJECT, w->project_id, err);
    if (r != CP_OK) return r;
    double count = 0;
    cp_param q[] = {CP_PTEXT(w->project_id)};
    if ((r = cp_conn_scalar(c, "SELECT COUNT(*) FROM webhooks WHERE project_id = ?", q, 1, &count, err)) != CP_OK)
        return r;
    if (count >= CP_WEBHOOKS_PER_PROJECT)
        return cp_error_set(err, CP_ECONFLICT, "too_many_webhooks", NULL, "a project has at most %d webhooks",
                            CP_WEBHOOKS_PER_PROJECT);
    cp_param p[] = {CP_PTEXT(w->id),
                    CP_PTEXT(w->project_id),
                    CP_PTEXT(w->url),
                    CP_PTEXT(w->events),
                    CP_PTEXT(w->secret_key_id),
                    CP_PTEXT(w->secret_nonce),
                    CP_PTEXT(w->secret_ciphertext),
                    CP_PTEXT(w->secret_hint),
                    CP_PINT(w->enabled),
                    CP_PTEXT(w->created_by),
                    CP_PINT(w->created_at),
                    CP_PINT(w->updated_at)};
    return cp_db_exec(c, "INSERT INTO webhooks (" HOOK_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 12,
                      NULL, err);
}

cp_result cp_store_webhook_create(cp_store *s, const cp_webhook *w, cp_error *err)
{
    return cp_store_tx(s, tx_hook_create, (void *)w, err);
}

cp_result cp_store_webhook_get(cp_store *s, cp_arena *a, const char *id, cp_webhook *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    return cp_store_one(s, a, "SELECT " HOOK_COLS " FROM webhooks WHERE id = ?", p, 1, fill_hook, out, "webhook", err);
}

cp_result cp_store_webhooks_list(cp_store *s, cp_arena *a, const char *project_id, cp_webhook **items, size_t *n,
                                 cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id)};
    return cp_store_many(s, a, "SELECT " HOOK_COLS " FROM webhooks WHERE project_id = ? ORDER BY id", p, 1, fill_hook,
                         sizeof(cp_webhook), CP_WEBHOOKS_PER_PROJECT * 2, (void **)items, n, err);
}

cp_result cp_store_webhook_update(cp_store *s, const cp_webhook *w, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(w->url),
                    CP_PTEXT(w->events),
                    CP_PTEXT(w->secret_key_id),
                    CP_PTEXT(w->secret_nonce),
                    CP_PTEXT(w->secret_ciphertext),
                    CP_PTEXT(w->secret_hint),
                    CP_PINT(w->enabled),
                    CP_PINT(w->updated_at),
                    CP_PTEXT(w->id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE webhooks SET url = ?, events = ?, secret_key_id = ?, secret_nonce = ?,"
                                " secret_ciphertext = ?, secret_hint = ?, enabled = ?, updated_at = ? WHERE id = ?",
                                p, 9, &changed, err);
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "webhook not found");
    return r;
}

cp_result cp_store_webhook_delete(cp_store *s, const char *id, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s, "DELETE FROM webhooks WHERE id = ?", p, 1, &changed, err);
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "webhook not found");
    return r;
}

cp_result cp_store_webhooks_not_under(cp_store *s, cp_arena *a, const char *key_id, cp_webhook **items, size_t *n,
                                      cp_error *err)
{
    cp_param p[] = {CP_PTEXT(key_id)};
    return cp_store_many(s, a, "SELECT " HOOK_COLS " FROM webhooks WHERE secret_key_id <> ? ORDER BY id", p, 1,
                         fill_hook, sizeof(cp_webhook), 1000000, (void **)items, n, err);
}

cp_result cp_store_webhook_reseal(cp_store *s, const char *id, const char *old_ciphertext, const char *key_id,
                                  const char *nonce, const char *ciphertext, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(key_id), CP_PTEXT(nonce), CP_PTEXT(ciphertext), CP_PTEXT(id), CP_PTEXT(old_ciphertext)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE webhooks SET secret_key_id = ?, secret_nonce = ?, secret_ciphertext = ?"
                                " WHERE id = ? AND secret_ciphertext = ?",
                                p, 5, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "conflict", NULL, "the webhook's secret changed meanwhile");
    return r;
}

/* ---- deliveries ---- */

#define DELIVERY_COLS                                                                                                  \
    "d.id, d.webhook_id, d.project_id, d.event, d.event_id, d.payload, d.status, d.attempts, d.next_attempt_at,"       \
    " d.give_up_at, d.response_code, d.error, d.duration_ms, d.created_at, d.delivered_at, d.redelivery_of"

static void fill_delivery(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_delivery *d = out;
    d->id = cp_dbrows_dup(r, 0, a);
    d->webhook_id = cp_dbrows_dup(r, 1, a);
    d->project_id = cp_dbrows_dup(r, 2, a);
    d->event = cp_dbrows_dup(r, 3, a);
    d->event_id = cp_dbrows_dup(r, 4, a);
    d->payload = cp_dbrows_dup(r, 5, a);
    d->status = delivery_status_parse(cp_dbrows_text(r, 6));
    d->attempts = cp_dbrows_int(r, 7);
    d->next_attempt_at = cp_dbrows_isnull(r, 8) ? 0 : cp_dbrows_int(r, 8);
    d->give_up_at = cp_dbrows_int(r, 9);
    d->response_code = cp_dbrows_isnull(r, 10) ? 0 : cp_dbrows_int(r, 10);
    d->error = cp_dbrows_dup(r, 11, a);
    d->duration_ms = cp_dbrows_isnull(r, 12) ? -1 : cp_dbrows_int(r, 12);
    d->created_at = cp_dbrows_int(r, 13);
    d->delivered_at = cp_dbrows_isnull(r, 14) ? 0 : cp_dbrows_int(r, 14);
    d->redelivery_of = cp_dbrows_dup(r, 15, a);
}

cp_result cp_store_deliveries_list(cp_store *s, cp_arena *a, const char *webhook_id, int limit, const char *cursor,
                                   cp_delivery **items, size_t *n, char **next, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(webhook_id), CP_PTEXT(cursor ? cursor : ""), CP_PTEXT(cursor ? cursor : ""),
                    CP_PINT(limit + 1)};
    cp_result r = cp_store_many(s, a,
                                "SELECT " DELIVERY_COLS " FROM webhook_deliveries d WHERE d.webhook_id = ?"
                                " AND (? = '' OR d.id < ?) ORDER BY d.id DESC LIMIT ?",
                                p, 4, fill_delivery, sizeof(cp_delivery), (size_t)limit + 1, (void **)items, n, err);
    if (r == CP_OK) FINISH_PAGE(items, n, next, limit, id);
    return r;
}

cp_result cp_store_delivery_get(cp_store *s, cp_arena *a, const char *webhook_id, const char *id, cp_delivery *out,
                                cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id), CP_PTEXT(webhook_id)};
    return cp_store_one(s, a, "SELECT " DELIVERY_COLS " FROM webhook_deliveries d WHERE d.id = ? AND d.webhook_id = ?",
                        p, 2, fill_delivery, out, "delivery", err);
}

cp_result cp_store_webhook_last_delivery(cp_store *s, cp_arena *a, const char *webhook_id, cp_delivery *out,
                                         cp_error *err)
{
    cp_param p[] = {CP_PTEXT(webhook_id)};
    return cp_store_one(s, a,
                        "SELECT " DELIVERY_COLS " FROM webhook_deliveries d WHERE d.webhook_id = ?"
                        " ORDER BY d.id DESC LIMIT 1",
                        p, 1, fill_delivery, out, "delivery", err);
}

/* One pending delivery of payload to webhook_id, due now. */
static cp_result insert_delivery(cp_dbconn *c, const char *webhook_id, const char *project_id, const char *event,
                                 const char *event_id, const char *payload, const char *redelivery_of, int64_t now,
                                 char id[CP_ID_LEN + 1], cp_error *err)
{
    cp_id_new(id);
    cp_param p[] = {CP_PTEXT(id),       CP_PTEXT(webhook_id),   CP_PTEXT(project_id), CP_PTEXT(event),
                    CP_PTEXT(event_id), CP_PTEXT(payload),      CP_PINT(now),         CP_PINT(now + DAY_MS),
                    CP_PINT(now),       CP_PTEXT(redelivery_of)};
    cp_result r = cp_db_exec(c,
                             "INSERT INTO webhook_deliveries (id, webhook_id, project_id, event, event_id, payload,"
                             " next_attempt_at, give_up_at, created_at, redelivery_of)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             p, 10, NULL, err);
    if (r == CP_OK) cp_store__outbox_written();
    return r;
}

/* The payload of a new event: {version, id, event, created_at, project, data}. */
static char *payload_text(cp_dbconn *c, cp_arena *a, const char *project_id, const char *event, const char *event_id,
                          int64_t now, json_t *data, cp_error *err)
{
    char *name = NULL;
    cp_param p[] = {CP_PTEXT(project_id)};
    if (cp_conn_one(c, a, "SELECT name FROM projects WHERE id = ?", p, 1, cp_fill_text, &name, err) != CP_OK)
        return NULL;
    char ts[40];
    cp_time_iso(now, ts, sizeof ts);
    json_t *j =
        json_pack("{s:i, s:s, s:s, s:s, s:{s:s, s:s}, s:O}", "version", 1, "id", event_id, "event", event, "created_at",
                  ts, "project", "id", project_id, "name", name ? name : "", "data", data ? data : json_object());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        cp_error_set(err, CP_ERR, NULL, NULL, "cannot build the webhook payload");
        return NULL;
    }
    char *out = cp_arena_strdup(a, text);
    free(text);
    return out;
}

typedef struct {
    cp_arena *a;
    const char *webhook_id, *delivery_id; /* redeliver: the one sent again */
    cp_delivery *out;
} again_ctx;

static cp_result tx_ping(cp_dbconn *c, void *ctx, cp_error *err)
{
    again_ctx *g = ctx;
    cp_webhook w;
    cp_param p[] = {CP_PTEXT(g->webhook_id)};
    cp_result r = cp_conn_one(c, g->a, "SELECT " HOOK_COLS " FROM webhooks WHERE id = ?", p, 1, fill_hook, &w, err);
    if (r == CP_ENOTFOUND) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "webhook not found");
    if (r != CP_OK) return r;
    if (!w.enabled) return cp_error_set(err, CP_ECONFLICT, "webhook_disabled", NULL, "the webhook is disabled");
    int64_t now = cp_now_ms();
    char event_id[CP_ID_LEN + 1], id[CP_ID_LEN + 1];
    cp_id_new(event_id);
    const char *payload = NULL, *event = "ping", *redelivery_of = NULL;
    if (g->delivery_id) {
        cp_delivery old;
        cp_param q[] = {CP_PTEXT(g->delivery_id), CP_PTEXT(g->webhook_id)};
        r = cp_conn_one(c, g->a,
                        "SELECT " DELIVERY_COLS " FROM webhook_deliveries d WHERE d.id = ? AND d.webhook_id = ?", q, 2,
                        fill_delivery, &old, err);
        if (r == CP_ENOTFOUND) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "delivery not found");
        if (r != CP_OK) return r;
        payload = old.payload;
        event = old.event;
        memcpy(event_id, old.event_id, strnlen(old.event_id, CP_ID_LEN));
        event_id[strnlen(old.event_id, CP_ID_LEN)] = '\0';
        redelivery_of = old.id;
    } else {
        json_t *data = json_pack("{s:s}", "webhook_id", w.id);
        payload = payload_text(c, g->a, w.project_id, "ping", event_id, now, data, err);
        json_decref(data);
        if (!payload) return err->result;
    }
    if ((r = insert_delivery(c, w.id, w.project_id, event, event_id, payload, redelivery_of, now, id, err)) != CP_OK)
        return r;
    cp_param q[] = {CP_PTEXT(id)};
    return cp_conn_one(c, g->a, "SELECT " DELIVERY_COLS " FROM webhook_deliveries d WHERE d.id = ?", q, 1,
                       fill_delivery, g->out, err);
}

cp_result cp_store_webhook_ping(cp_store *s, cp_arena *a, const char *webhook_id, cp_delivery *out, cp_error *err)
{
    again_ctx g = {a, webhook_id, NULL, out};
    return cp_store_tx(s, tx_ping, &g, err);
}

cp_result cp_store_delivery_redeliver(cp_store *s, cp_arena *a, const char *webhook_id, const char *delivery_id,
                                      cp_delivery *out, cp_error *err)
{
    again_ctx g = {a, webhook_id, delivery_id, out};
    return cp_store_tx(s, tx_ping, &g, err);
}

/* ---- the delivery loop's side ---- */

/* A disabled webhook's deliveries wait (not due) until it is enabled again,
 * or until their 24 hours are up: then they are due only to be failed. */
#define DUE_COND                                                                                                       \
    " d.status = 'pending' AND d.next_attempt_at <= ? AND (d.lease_expires_at IS NULL OR d.lease_expires_at < ?)"      \
    " AND (d.give_up_at < ? OR EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id AND w.enabled = 1))"
#define DUE_WHERE " WHERE" DUE_COND " ORDER BY d.next_attempt_at, d.id LIMIT ?"
/* PostgreSQL: rows another loop is claiming are skipped, not waited for. */
static const char *const due_sql[2] = {
    "SELECT " DELIVERY_COLS " FROM webhook_deliveries d" DUE_WHERE,
    "SELECT " DELIVERY_COLS " FROM webhook_deliveries d" DUE_WHERE " FOR UPDATE SKIP LOCKED",
};

typedef struct {
    cp_arena *a;
    const char *owner;
    int64_t now, lease_ms;
    int limit;
    cp_delivery_job *items;
    size_t n;
} claim_ctx;

static cp_result tx_claim(cp_dbconn *c, void *ctx, cp_error *err)
{
    claim_ctx *cc = ctx;
    bool pg = cp_dbconn_kind(c) == CP_DB_PG;
    cp_param p[] = {CP_PINT(cc->now), CP_PINT(cc->now), CP_PINT(cc->now), CP_PINT(cc->limit)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, due_sql[pg], p, 4, &rows, err);
    if (r != CP_OK) return r;
    cc->items = cp_arena_alloc(cc->a, (size_t)cc->limit * sizeof *cc->items);
    cc->n = 0;
    while (cc->n < (size_t)cc->limit && cp_dbrows_next(rows)) {
        memset(&cc->items[cc->n], 0, sizeof cc->items[cc->n]);
        fill_delivery(rows, cc->a, &cc->items[cc->n++].d);
    }
    cp_dbrows_free(rows);
    size_t kept = 0;
    for (size_t i = 0; r == CP_OK && i < cc->n; i++) {
        cp_delivery_job *j = &cc->items[kept];
        if (kept != i) *j = cc->items[i];
        cp_webhook w;
        cp_param h[] = {CP_PTEXT(j->d.webhook_id)};
        r = cp_conn_one(c, cc->a, "SELECT " HOOK_COLS " FROM webhooks WHERE id = ?", h, 1, fill_hook, &w, err);
        if (r != CP_OK) break;
        if (!w.enabled) {
            /* Past its 24 hours while disabled: failed, never sent. Disabled
             * since the due query read it (PostgreSQL): it waits. */
            if (cc->now > j->d.give_up_at) {
                cp_param f[] = {CP_PTEXT(j->d.id)};
                r = cp_db_exec(c,
                               "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,"
                               " error = 'gave up after 24 hours: the webhook was disabled', lease_owner = NULL,"
                               " lease_expires_at = NULL WHERE id = ? AND status = 'pending'",
                               f, 1, NULL, err);
            }
            continue;
        }
        cp_param q[] = {CP_PTEXT(cc->owner), CP_PINT(cc->now + cc->lease_ms), CP_PTEXT(j->d.id)};
        if ((r = cp_db_exec(c, "UPDATE webhook_deliveries SET lease_owner = ?, lease_expires_at = ? WHERE id = ?", q, 3,
                            NULL, err)) != CP_OK)
            break;
        kept++;
        j->url = w.url;
        j->enabled = w.enabled;
        j->secret_key_id = w.secret_key_id;
        j->secret_nonce = w.secret_nonce;
        j->secret_ciphertext = w.secret_ciphertext;
    }
    cc->n = kept;
    return r;
}

cp_result cp_store_deliveries_claim(cp_store *s, cp_arena *a, const char *owner, int64_t now, int64_t lease_ms,
                                    int limit, cp_delivery_job **items, size_t *n, cp_error *err)
{
    if (limit < 1) limit = 1;
    *items = NULL;
    *n = 0;
    /* An idle loop looks without a write transaction (no write lock on
     * SQLite, one cheap indexed read on PostgreSQL). */
    double due = 0;
    cp_param p[] = {CP_PINT(now), CP_PINT(now), CP_PINT(now)};
    cp_dbconn *c = cp_db_acquire(cp_store_db(s));
    cp_result r = cp_conn_scalar(
        c, "SELECT COUNT(*) FROM (SELECT 1 FROM webhook_deliveries d WHERE" DUE_COND " LIMIT 1) x", p, 3, &due, err);
    cp_db_release(cp_store_db(s), c);
    if (r != CP_OK || due == 0) return r;
    claim_ctx cc = {a, owner, now, lease_ms, limit, NULL, 0};
    r = cp_store_tx(s, tx_claim, &cc, err);
    *items = cc.items;
    *n = r == CP_OK ? cc.n : 0;
    return r;
}

cp_result cp_store_delivery_record(cp_store *s, const char *id, const char *owner, const cp_delivery_result *res,
                                   cp_error *err)
{
    bool done = res->status != CP_DELIVERY_PENDING;
    cp_param p[] = {CP_PTEXT(cp_delivery_status_name(res->status)),
                    res->response_code ? CP_PINT(res->response_code) : CP_PNULL,
                    CP_PTEXT(res->error),
                    CP_PINT(res->duration_ms),
                    done ? CP_PNULL : CP_PINT(res->next_attempt_at),
                    res->status == CP_DELIVERY_SUCCEEDED ? CP_PINT(res->at) : CP_PNULL,
                    CP_PTEXT(id),
                    CP_PTEXT(owner)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, response_code = ?,"
                                " error = ?, duration_ms = ?, next_attempt_at = ?, delivered_at = ?,"
                                " lease_owner = NULL, lease_expires_at = NULL"
                                " WHERE id = ? AND lease_owner = ? AND status = 'pending'",
                                p, 8, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "lease_lost", NULL, "delivery %s: lease lost", id);
    return r;
}

cp_result cp_store_deliveries_prune(cp_store *s, int64_t before, int limit, int64_t *removed, cp_error *err)
{
    cp_param p[] = {CP_PINT(before), CP_PINT(limit)};
    return cp_store_exec(s,
                         "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries"
                         " WHERE status <> 'pending' AND created_at < ? LIMIT ?)",
                         p, 2, removed, err);
}

/* ---- the deliveries of one event ---- */

static const char *const events_known[] = {
    CP_EVENT_RUN_NEEDS_APPROVAL, CP_EVENT_RUN_SUCCEEDED,    CP_EVENT_RUN_FAILED,        CP_EVENT_RESOURCE_DRIFTED,
    CP_EVENT_RESOURCE_EXPIRING,  CP_EVENT_RESOURCE_EXPIRED, CP_EVENT_GUARDRAIL_BLOCKED,
};

bool cp_webhook_event_known(const char *event)
{
    for (size_t i = 0; event && i < CP_ARRAY_LEN(events_known); i++)
        if (!strcmp(events_known[i], event)) return true;
    return false;
}

static bool subscribed(const char *events_json, const char *event)
{
    json_t *arr = events_json ? json_loads(events_json, 0, NULL) : NULL;
    bool yes = false;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), event)) yes = true;
    json_decref(arr);
    return yes;
}

typedef struct {
    char *id, *events;
} hook_row;

static void fill_hook_row(cp_dbrows *r, cp_arena *a, void *out)
{
    hook_row *h = out;
    h->id = cp_dbrows_dup(r, 0, a);
    h->events = cp_dbrows_dup(r, 1, a);
}

cp_result cp_conn__webhook_fanout(cp_dbconn *c, cp_arena *a, const cp_outbox_event *ev, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(ev->project_id)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, "SELECT id, events FROM webhooks WHERE project_id = ? AND enabled = 1 ORDER BY id", p,
                              1, &rows, err);
    if (r != CP_OK) return r;
    size_t cap = 4, n = 0;
    hook_row *hooks = cp_arena_alloc(a, cap * sizeof *hooks);
    while (cp_dbrows_next(rows)) {
        if (n == cap) {
            hook_row *more = cp_arena_alloc(a, 2 * cap * sizeof *more);
            memcpy(more, hooks, n * sizeof *hooks);
            hooks = more;
            cap *= 2;
        }
        fill_hook_row(rows, a, &hooks[n++]);
    }
    cp_dbrows_free(rows);
    char event_id[CP_ID_LEN + 1];
    cp_id_new(event_id);
    char *payload = NULL;
    for (size_t i = 0; r == CP_OK && i < n; i++) {
        if (!subscribed(hooks[i].events, ev->event)) continue;
        if (!payload && !(payload = payload_text(c, a, ev->project_id, ev->event, event_id, now, ev->data, err)))
            return err->result;
        char id[CP_ID_LEN + 1];
        r = insert_delivery(c, hooks[i].id, ev->project_id, ev->event, event_id, payload, NULL, now, id, err);
    }
    return r;
}
