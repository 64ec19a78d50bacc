/* store_notify.c: the emit that turns one event into webhook deliveries
 * (store_webhooks.c) and notifications for the project's people, the events
 * of runs, drift and expiry, and the notification mails' claims (store.h,
 * "webhooks"). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_rows.h"
#include "store/store_webhooks.h"
#include "store/store_expiry.h"

#define DAY_MS (24LL * 3600 * 1000)

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
    if (r == CP_OK && n) cp_store__outbox_written();
    return r;
}

cp_result cp_conn_event_emit(cp_dbconn *c, cp_arena *a, const cp_outbox_event *ev, cp_error *err)
{
    if (!cp_webhook_event_known(ev->event))
        return cp_error_set(err, CP_EINVAL, "invalid_event", NULL, "unknown event %s", ev->event);
    int64_t now = cp_now_ms();
    cp_result r = cp_conn__webhook_fanout(c, a, ev, now, err);
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
        r = cp_conn_one(c, a, "SELECT id FROM resources WHERE id = ? AND project_id = ?", p, 2, cp_fill_text, &known,
                        err);
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
