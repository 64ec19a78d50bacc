/* store_webhooks.c: project webhooks, their outbox (webhook_deliveries: one
 * row per delivery, written in the same transaction as the event it tells
 * of), the delivery loop's claims and results, and the emit that turns one
 * event into deliveries and notifications (store.h, "webhooks"). */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_rows.h"

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

/* ---- waking the delivery loop ---- */

/* An emit marks its thread; cp_store_tx calls cp_store__outbox_committed
 * after the commit, so the loop wakes only for rows it can read. */
static _Thread_local bool emitted;
/* Set and called under wake_mu, so a stop never races a call in flight. */
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*wake_fn)(void *);
static void *wake_ctx;

void cp_store_outbox_on_commit(void (*fn)(void *), void *ctx)
{
    pthread_mutex_lock(&wake_mu);
    wake_fn = fn;
    wake_ctx = ctx;
    pthread_mutex_unlock(&wake_mu);
}

void cp_store__outbox_committed(bool committed)
{
    bool was = emitted;
    emitted = false;
    if (!was || !committed) return;
    pthread_mutex_lock(&wake_mu);
    if (wake_fn) wake_fn(wake_ctx);
    pthread_mutex_unlock(&wake_mu);
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
    if (r == CP_OK) emitted = true;
    return r;
}

static void fill_name(cp_dbrows *r, cp_arena *a, void *out)
{
    *(char **)out = cp_dbrows_dup(r, 0, a);
}

/* The payload of a new event: {version, id, event, created_at, project, data}. */
static char *payload_text(cp_dbconn *c, cp_arena *a, const char *project_id, const char *event, const char *event_id,
                          int64_t now, json_t *data, cp_error *err)
{
    char *name = NULL;
    cp_param p[] = {CP_PTEXT(project_id)};
    if (cp_conn_one(c, a, "SELECT name FROM projects WHERE id = ?", p, 1, fill_name, &name, err) != CP_OK) return NULL;
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

/* ---- events ---- */

/* What each event tells people: its notification kind and who gets it. */
typedef enum { TO_MEMBERS, TO_ADMINS, TO_ACTOR_ELSE_ADMINS, TO_ACTOR_AND_ADMINS } audience;
static audience audience_of(const char *kind)
{
    if (!strcmp(kind, CP_NOTE_RUN_NEEDS_APPROVAL)) return TO_ADMINS;
    if (!strcmp(kind, CP_NOTE_RUN_SUCCEEDED) || !strcmp(kind, CP_NOTE_RUN_FAILED)) return TO_ACTOR_ELSE_ADMINS;
    if (!strcmp(kind, CP_NOTE_GUARDRAIL_BLOCKED)) return TO_ACTOR_AND_ADMINS;
    return TO_MEMBERS;
}

static const char *note_kind_of(const char *event)
{
    static const struct {
        const char *event, *kind;
    } map[] = {
        {CP_EVENT_RUN_NEEDS_APPROVAL, CP_NOTE_RUN_NEEDS_APPROVAL},
        {CP_EVENT_RUN_SUCCEEDED, CP_NOTE_RUN_SUCCEEDED},
        {CP_EVENT_RUN_FAILED, CP_NOTE_RUN_FAILED},
        {CP_EVENT_RESOURCE_DRIFTED, CP_NOTE_RESOURCE_DRIFTED},
        {CP_EVENT_RESOURCE_EXPIRED, CP_NOTE_EXPIRED},
        {CP_EVENT_GUARDRAIL_BLOCKED, CP_NOTE_GUARDRAIL_BLOCKED},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(map); i++)
        if (!strcmp(map[i].event, event)) return map[i].kind;
    return NULL;
}

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

/* Project tokens' service users (store_tokens.c) read no notifications: people do. */
#define PEOPLE " AND user_id NOT IN (SELECT service_user_id FROM api_tokens WHERE service_user_id IS NOT NULL)"

static cp_result notify(cp_dbconn *c, cp_arena *a, const cp_outbox_event *ev, const char *kind, int64_t now,
                        cp_error *err)
{
    static const char *const members =
        "SELECT user_id FROM memberships WHERE project_id = ?" PEOPLE " ORDER BY user_id";
    static const char *const admins = "SELECT user_id FROM memberships WHERE project_id = ?"
                                      " AND role IN ('owner', 'admin')" PEOPLE " ORDER BY user_id";
    static const char *const actor_only = "SELECT user_id FROM memberships WHERE project_id = ? AND user_id = ?";
    static const char *const actor_and_admins =
        "SELECT user_id FROM memberships WHERE project_id = ?"
        " AND (role IN ('owner', 'admin') OR user_id = ?)" PEOPLE " ORDER BY user_id";
    audience who = audience_of(kind);
    const char *sql = members;
    /* What a service token did is told as if nobody did it: to the admins. */
    double service = 0;
    if (ev->actor_id) {
        cp_param a1[] = {CP_PTEXT(ev->actor_id)};
        cp_result sr =
            cp_conn_scalar(c, "SELECT COUNT(*) FROM api_tokens WHERE service_user_id = ?", a1, 1, &service, err);
        if (sr != CP_OK) return sr;
    }
    bool no_actor = !ev->actor_id || service > 0;
    if (who == TO_ADMINS || ((who == TO_ACTOR_ELSE_ADMINS || who == TO_ACTOR_AND_ADMINS) && no_actor))
        sql = admins;
    else if (who == TO_ACTOR_ELSE_ADMINS)
        sql = actor_only;
    else if (who == TO_ACTOR_AND_ADMINS)
        sql = actor_and_admins;
    cp_param p[] = {CP_PTEXT(ev->project_id), CP_PTEXT(ev->actor_id)};
    int np = sql == actor_only || sql == actor_and_admins ? 2 : 1;
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, sql, p, np, &rows, err);
    if (r != CP_OK) return r;
    /* Read them all before writing on the same connection. */
    size_t cap = 8, n = 0;
    char **users = cp_arena_alloc(a, cap * sizeof *users);
    while (cp_dbrows_next(rows)) {
        if (n == cap) {
            char **more = cp_arena_alloc(a, 2 * cap * sizeof *more);
            memcpy(more, users, n * sizeof *users);
            users = more;
            cap *= 2;
        }
        users[n++] = cp_dbrows_dup(rows, 0, a);
    }
    cp_dbrows_free(rows);
    for (size_t i = 0; r == CP_OK && i < n; i++) {
        char id[CP_ID_LEN + 1];
        cp_id_new(id);
        cp_param q[] = {CP_PTEXT(id),
                        CP_PTEXT(users[i]),
                        CP_PTEXT(ev->project_id),
                        CP_PTEXT(ev->resource_id),
                        CP_PTEXT(kind),
                        ev->expires_at ? CP_PINT(ev->expires_at) : CP_PNULL,
                        CP_PINT(now),
                        CP_PTEXT(ev->run_id),
                        CP_PTEXT(ev->message ? ev->message : ""),
                        CP_PTEXT(ev->resource_name)};
        r = cp_db_exec(c,
                       "INSERT INTO notifications (id, user_id, project_id, resource_id, kind, expires_at, created_at,"
                       " run_id, message, resource_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       q, 10, NULL, err);
    }
    if (r == CP_OK && n) emitted = true;
    return r;
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

cp_result cp_conn_event_emit(cp_dbconn *c, cp_arena *a, const cp_outbox_event *ev, cp_error *err)
{
    if (!cp_webhook_event_known(ev->event))
        return cp_error_set(err, CP_EINVAL, "invalid_event", NULL, "unknown event %s", ev->event);
    int64_t now = cp_now_ms();
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
    if (r != CP_OK) return r;
    const char *kind = ev->note_kind ? ev->note_kind : note_kind_of(ev->event);
    return kind ? notify(c, a, ev, kind, now, err) : CP_OK;
}

typedef struct {
    const char *project_id, *event;
    json_t *data;
} emit_ctx;

static const char *data_str(json_t *data, const char *obj, const char *key)
{
    json_t *o = obj ? json_object_get(data, obj) : data;
    return json_string_value(json_object_get(o, key));
}

static cp_result tx_emit(cp_dbconn *c, void *ctx, cp_error *err)
{
    emit_ctx *ec = ctx;
    cp_arena *a = cp_arena_new(4096);
    /* Who it is about and who asked, as far as the data says. */
    const char *resource_id = data_str(ec->data, "resource", "id");
    if (!resource_id) resource_id = data_str(ec->data, "run", "resource_id");
    const char *actor = data_str(ec->data, "run", "created_by");
    if (!actor) actor = data_str(ec->data, "order", "created_by");
    if (!actor) actor = data_str(ec->data, NULL, "user_id");
    const char *name = data_str(ec->data, "resource", "name");
    if (!name) name = data_str(ec->data, "order", "name");
    /* A resource id that names no resource of the project is left out of the
     * notification (its foreign key); the payload keeps what it was given. */
    char *known = NULL;
    cp_result r = CP_OK;
    if (resource_id) {
        cp_param p[] = {CP_PTEXT(resource_id), CP_PTEXT(ec->project_id)};
        r = cp_conn_one(c, a, "SELECT id FROM resources WHERE id = ? AND project_id = ?", p, 2, fill_name, &known, err);
        if (r == CP_ENOTFOUND) r = CP_OK;
    }
    const char *stage = data_str(ec->data, NULL, "stage");
    const char *run_id = data_str(ec->data, "run", "id");
    char *message;
    if (!strcmp(ec->event, CP_EVENT_GUARDRAIL_BLOCKED))
        message = cp_arena_printf(a, "Guardrails blocked %s%s%s", name ? name : "an order", stage ? " at " : "",
                                  stage ? stage : "");
    else
        message = cp_arena_printf(a, "%s%s%s", ec->event, name ? ": " : "", name ? name : "");
    cp_outbox_event ev = {.event = ec->event,
                          .project_id = ec->project_id,
                          .resource_id = known,
                          .resource_name = name,
                          .run_id = run_id,
                          .actor_id = actor,
                          .message = message,
                          .data = ec->data};
    if (r == CP_OK) r = cp_conn_event_emit(c, a, &ev, err);
    cp_arena_free(a);
    return r;
}

cp_result cp_store_event_emit(cp_store *s, const char *project_id, const char *event, json_t *data, cp_error *err)
{
    emit_ctx ec = {project_id, event, data};
    return cp_store_tx(s, tx_emit, &ec, err);
}

/* ---- the events of runs, drift and expiry ---- */

static json_t *time_or_null(int64_t ms)
{
    if (ms <= 0) return json_null();
    char buf[40];
    cp_time_iso(ms, buf, sizeof buf);
    return json_string(buf);
}

typedef struct {
    char *id, *name, *cloud, *kind, *project_id;
} res_brief;

static void fill_res_brief(cp_dbrows *r, cp_arena *a, void *out)
{
    res_brief *b = out;
    b->id = cp_dbrows_dup(r, 0, a);
    b->name = cp_dbrows_dup(r, 1, a);
    b->cloud = cp_dbrows_dup(r, 2, a);
    b->kind = cp_dbrows_dup(r, 3, a);
    b->project_id = cp_dbrows_dup(r, 4, a);
}

static cp_result res_read(cp_dbconn *c, cp_arena *a, const char *resource_id, res_brief *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(resource_id)};
    return cp_conn_one(c, a, "SELECT id, name, cloud, kind, project_id FROM resources WHERE id = ?", p, 1,
                       fill_res_brief, out, err);
}

static json_t *res_json(const res_brief *b)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "id", b->id, "name", b->name ? b->name : "", "cloud",
                     b->cloud ? b->cloud : "", "kind", b->kind ? b->kind : "");
}

/* The Run of the API's reply (api/common.c), from the row as it stands. */
static json_t *run_json(const cp_run *r)
{
    json_t *summary = r->plan_summary ? json_loads(r->plan_summary, 0, NULL) : NULL;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:b, s:s, s:o}", "id", r->id,
                          "resource_id", r->resource_id, "resource_name", r->resource_name ? r->resource_name : "",
                          "operation", cp_run_operation_name(r->operation), "status", cp_run_status_name(r->status),
                          "attempt", (json_int_t)r->attempt, "plan_summary", summary ? summary : json_null(), "error",
                          r->error ? json_string(r->error) : json_null(), "queued_at", time_or_null(r->queued_at),
                          "started_at", time_or_null(r->started_at), "finished_at", time_or_null(r->finished_at),
                          "approved_by", r->approved_by ? json_string(r->approved_by) : json_null(), "cancel_requested",
                          r->cancel_requested, "source", r->source ? r->source : CP_SOURCE_USER, "created_by",
                          r->created_by ? json_string(r->created_by) : json_null());
    return j;
}

cp_result cp_conn_run_event(cp_dbconn *c, const char *run_id, const char *event, cp_error *err)
{
    cp_arena *a = cp_arena_new(4096);
    cp_run run;
    res_brief res;
    cp_result r = cp_conn_run_by_id(c, a, run_id, &run, err);
    if (r == CP_OK) r = res_read(c, a, run.resource_id, &res, err);
    if (r != CP_OK) goto out;
    const char *op = cp_run_operation_name(run.operation);
    const char *msg;
    if (!strcmp(event, CP_EVENT_RUN_NEEDS_APPROVAL))
        msg = cp_arena_printf(a, "The %s of %s needs approval", op, res.name);
    else if (!strcmp(event, CP_EVENT_RUN_SUCCEEDED))
        msg = cp_arena_printf(a, "The %s of %s succeeded", op, res.name);
    else
        msg = cp_arena_printf(a, "The %s of %s failed%s%.200s", op, res.name, run.error ? ": " : "",
                              run.error ? run.error : "");
    json_t *data = json_pack("{s:o, s:o}", "run", run_json(&run), "resource", res_json(&res));
    /* A scheduler's run was asked for by no person: its owners and admins hear of it. */
    cp_outbox_event ev = {.event = event,
                          .project_id = res.project_id,
                          .resource_id = res.id,
                          .resource_name = res.name,
                          .run_id = run.id,
                          .actor_id = run.created_by,
                          .message = msg,
                          .data = data};
    r = cp_conn_event_emit(c, a, &ev, err);
    json_decref(data);
out:
    cp_arena_free(a);
    return r;
}

cp_result cp_conn_resource_event(cp_dbconn *c, const char *resource_id, const char *event, const char *note_kind,
                                 const char *drift_status, int64_t expires_at, const char *run_id, cp_error *err)
{
    cp_arena *a = cp_arena_new(4096);
    res_brief res;
    cp_result r = res_read(c, a, resource_id, &res, err);
    if (r != CP_OK) goto out;
    json_t *data = json_pack("{s:o}", "resource", res_json(&res));
    if (drift_status) json_object_set_new(data, "drift_status", json_string(drift_status));
    if (expires_at) json_object_set_new(data, "expires_at", time_or_null(expires_at));
    if (run_id) json_object_set_new(data, "run_id", json_string(run_id));
    const char *msg;
    if (drift_status)
        msg = cp_arena_printf(a, "%s has drifted from its order (%s)", res.name, drift_status);
    else if (!strcmp(event, CP_EVENT_RESOURCE_EXPIRED))
        msg = cp_arena_printf(a, "%s expired and is being destroyed", res.name);
    else
        msg = cp_arena_printf(a, "%s expires in %s", res.name,
                              note_kind && !strcmp(note_kind, CP_NOTE_EXPIRING_1H) ? "1 hour" : "24 hours");
    if (note_kind && !strcmp(note_kind, CP_NOTE_EXPIRING_1H)) json_object_set_new(data, "remaining", json_string("1h"));
    if (note_kind && !strcmp(note_kind, CP_NOTE_EXPIRING_24H))
        json_object_set_new(data, "remaining", json_string("24h"));
    cp_outbox_event ev = {.event = event,
                          .project_id = res.project_id,
                          .resource_id = res.id,
                          .resource_name = res.name,
                          .run_id = run_id,
                          .expires_at = expires_at,
                          .note_kind = note_kind,
                          .message = msg,
                          .data = data};
    r = cp_conn_event_emit(c, a, &ev, err);
    json_decref(data);
out:
    cp_arena_free(a);
    return r;
}

/* ---- notifications by mail ---- */

static void fill_note_mail(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_note_mail *m = out;
    m->id = cp_dbrows_dup(r, 0, a);
    m->email = cp_dbrows_dup(r, 1, a);
    m->kind = cp_dbrows_dup(r, 2, a);
    m->message = cp_dbrows_dup(r, 3, a);
    m->project_name = cp_dbrows_dup(r, 4, a);
    m->attempts = cp_dbrows_int(r, 5);
}

#define MAIL_WHERE                                                                                                     \
    " FROM notifications n JOIN users u ON u.id = n.user_id JOIN projects p ON p.id = n.project_id"                    \
    " WHERE n.mailed_at IS NULL AND n.created_at > ? AND n.mail_attempts < ?"                                          \
    " AND (n.mail_lease_expires_at IS NULL OR n.mail_lease_expires_at < ?) ORDER BY n.created_at, n.id LIMIT ?"
#define MAIL_COLS "n.id, u.email, n.kind, n.message, p.name, n.mail_attempts"
static const char *const mail_due_sql[2] = {
    "SELECT " MAIL_COLS MAIL_WHERE,
    "SELECT " MAIL_COLS MAIL_WHERE " FOR UPDATE OF n SKIP LOCKED",
};

typedef struct {
    cp_arena *a;
    const char *owner;
    int64_t now, lease_ms;
    int limit;
    cp_note_mail *items;
    size_t n;
} mail_claim_ctx;

static cp_result tx_mail_claim(cp_dbconn *c, void *ctx, cp_error *err)
{
    mail_claim_ctx *mc = ctx;
    bool pg = cp_dbconn_kind(c) == CP_DB_PG;
    cp_param p[] = {CP_PINT(mc->now - DAY_MS), CP_PINT(CP_NOTE_MAIL_ATTEMPTS), CP_PINT(mc->now), CP_PINT(mc->limit)};
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, mail_due_sql[pg], p, 4, &rows, err);
    if (r != CP_OK) return r;
    mc->items = cp_arena_alloc(mc->a, (size_t)mc->limit * sizeof *mc->items);
    mc->n = 0;
    while (mc->n < (size_t)mc->limit && cp_dbrows_next(rows)) fill_note_mail(rows, mc->a, &mc->items[mc->n++]);
    cp_dbrows_free(rows);
    for (size_t i = 0; r == CP_OK && i < mc->n; i++) {
        cp_param q[] = {CP_PTEXT(mc->owner), CP_PINT(mc->now + mc->lease_ms), CP_PTEXT(mc->items[i].id)};
        r = cp_db_exec(c, "UPDATE notifications SET mail_lease_owner = ?, mail_lease_expires_at = ? WHERE id = ?", q, 3,
                       NULL, err);
    }
    return r;
}

cp_result cp_store_note_mails_claim(cp_store *s, cp_arena *a, const char *owner, int64_t now, int64_t lease_ms,
                                    int limit, cp_note_mail **items, size_t *n, cp_error *err)
{
    if (limit < 1) limit = 1;
    mail_claim_ctx mc = {a, owner, now, lease_ms, limit, NULL, 0};
    cp_result r = cp_store_tx(s, tx_mail_claim, &mc, err);
    *items = mc.items;
    *n = r == CP_OK ? mc.n : 0;
    return r;
}

cp_result cp_store_note_mail_done(cp_store *s, const char *id, const char *owner, bool sent, int64_t now, cp_error *err)
{
    cp_param p[] = {sent ? CP_PINT(now) : CP_PNULL, CP_PTEXT(id), CP_PTEXT(owner)};
    return cp_store_exec(s,
                         "UPDATE notifications SET mailed_at = ?, mail_attempts = mail_attempts + 1,"
                         " mail_lease_owner = NULL, mail_lease_expires_at = NULL WHERE id = ? AND mail_lease_owner = ?",
                         p, 3, NULL, err);
}
