/* store_projects.c: projects, memberships, cloud accounts and the audit log. */
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_int.h"
#include "store/store_expiry.h"

static const char *const role_names[] = {"", "viewer", "member", "admin", "owner"};

cp_role cp_role_parse(const char *s)
{
    for (int i = 1; s && i < (int)CP_ARRAY_LEN(role_names); i++)
        if (!strcmp(s, role_names[i])) return (cp_role)i;
    return CP_ROLE_NONE;
}

const char *cp_role_name(cp_role r)
{
    return r > CP_ROLE_NONE && r <= CP_ROLE_OWNER ? role_names[r] : "";
}

/* A resource counts against the budget while it exists or is being created:
 * not destroyed, and not a create that failed before it ever became active
 * (a failed resource counts only while it holds an open cost period). The
 * first part is read from resource_totals (migration 0007), the second by
 * the partial indexes on failed resources and open periods. */
#define BUDGET_USED_SQL                                                                                                \
    "((SELECT COALESCE(SUM(t.monthly_cost_usd), 0) FROM resource_totals t WHERE t.project_id = p.id"                   \
    " AND t.status NOT IN ('destroyed', 'failed'))"                                                                    \
    " + (SELECT COALESCE(SUM(r.monthly_cost_usd), 0) FROM resources r WHERE r.project_id = p.id"                       \
    " AND r.status = 'failed' AND EXISTS (SELECT 1 FROM cost_periods c"                                                \
    " WHERE c.resource_id = r.id AND c.ended_at IS NULL)))"

#define PROJECT_COLS                                                                                                   \
    "p.id, p.name, p.require_approval, p.monthly_budget_usd, p.created_at, m.role, " BUDGET_USED_SQL                   \
    ", p.default_ttl_seconds, p.max_ttl_seconds, p.expiry_auto_approve, p.drift_interval_minutes"

static void fill_project(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_project *p = out;
    p->id = cp_dbrows_dup(r, 0, a);
    p->name = cp_dbrows_dup(r, 1, a);
    p->require_approval = cp_dbrows_int(r, 2) != 0;
    p->has_budget = !cp_dbrows_isnull(r, 3);
    p->monthly_budget_usd = cp_dbrows_real(r, 3);
    p->created_at = cp_dbrows_int(r, 4);
    p->role = cp_role_parse(cp_dbrows_text(r, 5));
    p->budget_used_usd = cp_dbrows_real(r, 6);
    p->default_ttl_seconds = cp_dbrows_isnull(r, 7) ? 0 : cp_dbrows_int(r, 7);
    p->max_ttl_seconds = cp_dbrows_isnull(r, 8) ? 0 : cp_dbrows_int(r, 8);
    p->expiry_auto_approve = cp_dbrows_int(r, 9) != 0;
    p->drift_interval_minutes = (long)cp_dbrows_int(r, 10);
}

typedef struct {
    const char *owner_id, *name;
    bool require_approval;
    const double *budget;
    char id[CP_ID_LEN + 1];
    int64_t now;
} project_new;

static cp_result tx_project_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    project_new *pn = ctx;
    cp_param p[] = {CP_PTEXT(pn->id), CP_PTEXT(pn->name), CP_PINT(pn->require_approval),
                    pn->budget ? CP_PREAL(*pn->budget) : CP_PNULL, CP_PINT(pn->now)};
    cp_result r = cp_db_exec(c,
                             "INSERT INTO projects (id, name, require_approval, monthly_budget_usd, created_at)"
                             " VALUES (?, ?, ?, ?, ?)",
                             p, 5, NULL, err);
    if (r != CP_OK) return r;
    cp_param m[] = {CP_PTEXT(pn->id), CP_PTEXT(pn->owner_id), CP_PINT(pn->now)};
    return cp_db_exec(c, "INSERT INTO memberships (project_id, user_id, role, created_at) VALUES (?, ?, 'owner', ?)", m,
                      3, NULL, err);
}

cp_result cp_store_project_create(cp_store *s, cp_arena *a, const char *owner_id, const char *name,
                                  bool require_approval, const double *budget, cp_project *out, cp_error *err)
{
    project_new pn = {
        .owner_id = owner_id, .name = name, .require_approval = require_approval, .budget = budget, .now = cp_now_ms()};
    cp_id_new(pn.id);
    cp_result r = cp_store_tx(s, tx_project_create, &pn, err);
    if (r != CP_OK) return r;
    return cp_store_project_get(s, a, pn.id, owner_id, out, err);
}

cp_result cp_store_project_get(cp_store *s, cp_arena *a, const char *project_id, const char *user_id, cp_project *out,
                               cp_error *err)
{
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(project_id)};
    return cp_store_one(s, a,
                        "SELECT " PROJECT_COLS " FROM projects p JOIN memberships m ON m.project_id = p.id"
                        " AND m.user_id = ? WHERE p.id = ?",
                        p, 2, fill_project, out, "project", err);
}

static void fill_bool(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(bool *)out = cp_dbrows_int(r, 0) != 0;
}

bool cp_store_project_requires_approval(cp_store *s, const char *project_id)
{
    bool v = true;
    cp_param p[] = {CP_PTEXT(project_id)};
    if (cp_store_one(s, NULL, "SELECT require_approval FROM projects WHERE id = ?", p, 1, fill_bool, &v, "project",
                     NULL) != CP_OK)
        return true;
    return v;
}

bool cp_store_run_requires_approval(cp_store *s, const cp_run *run)
{
    bool v = true;
    cp_param p[] = {CP_PTEXT(run->source ? run->source : CP_SOURCE_USER), CP_PTEXT(run->project_id)};
    if (cp_store_one(s, NULL,
                     "SELECT CASE WHEN ? = '" CP_SOURCE_EXPIRY
                     "' THEN 1 - expiry_auto_approve ELSE require_approval END"
                     " FROM projects WHERE id = ?",
                     p, 2, fill_bool, &v, "project", NULL) != CP_OK)
        return true;
    return v;
}

cp_result cp_store_projects_list(cp_store *s, cp_arena *a, const char *user_id, int limit, const char *cursor,
                                 cp_project **items, size_t *n, char **next, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(user_id), CP_PTEXT(cursor ? cursor : "~"), CP_PINT(limit + 1)};
    cp_result r = cp_store_many(s, a,
                                /* Paged along memberships (user_id, project_id): the user's own rows. */
                                "SELECT " PROJECT_COLS " FROM memberships m JOIN projects p ON p.id = m.project_id"
                                " WHERE m.user_id = ? AND m.project_id < ? ORDER BY m.project_id DESC LIMIT ?",
                                p, 3, fill_project, sizeof(cp_project), (size_t)limit + 1, (void **)items, n, err);
    if (r == CP_OK) FINISH_PAGE(items, n, next, limit, id);
    return r;
}

cp_result cp_store_project_update(cp_store *s, const char *id, const char *name, const bool *require_approval,
                                  bool budget_set, const double *budget, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(name), require_approval ? CP_PINT(*require_approval) : CP_PNULL, CP_PINT(budget_set),
                    budget ? CP_PREAL(*budget) : CP_PNULL, CP_PTEXT(id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE projects SET name = COALESCE(?, name),"
                                " require_approval = COALESCE(?, require_approval),"
                                " monthly_budget_usd = CASE WHEN ? = 1 THEN ? ELSE monthly_budget_usd END"
                                " WHERE id = ?",
                                p, 5, &changed, err);
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "project not found");
    return r;
}

static cp_result tx_project_delete(cp_dbconn *c, void *ctx, cp_error *err)
{
    const char *id = ctx;
    cp_param p[] = {CP_PTEXT(id)};
    double live = 0;
    /* The project first, as every locker does (cp_conn_lock), and no resource
     * created between the count and the deletes. */
    cp_result r = cp_conn_lock(c, CP_LOCK_PROJECT, id, err);
    if (r == CP_OK)
        r = cp_conn_scalar(c, "SELECT COUNT(*) FROM resources WHERE project_id = ? AND status <> 'destroyed'", p, 1,
                           &live, err);
    if (r != CP_OK) return r;
    if (live > 0)
        return cp_error_set(err, CP_ECONFLICT, "project_not_empty", NULL,
                            "the project still has %.0f resource(s) that are not destroyed", live);
    /* Children first: the history rows reference resources. */
    static const char *const deletes[] = {
        "DELETE FROM run_events WHERE run_id IN (SELECT id FROM runs WHERE project_id = ?)",
        "DELETE FROM runs WHERE project_id = ?",
        "DELETE FROM cost_periods WHERE project_id = ?",
        "DELETE FROM resources WHERE project_id = ?",
        "DELETE FROM cloud_accounts WHERE project_id = ?",
        "DELETE FROM memberships WHERE project_id = ?",
        "DELETE FROM invitations WHERE project_id = ?",
        "DELETE FROM projects WHERE id = ?",
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(deletes) && r == CP_OK; i++) r = cp_db_exec(c, deletes[i], p, 1, NULL, err);
    return r;
}

cp_result cp_store_project_delete(cp_store *s, const char *id, cp_error *err)
{
    return cp_store_tx(s, tx_project_delete, (void *)id, err);
}

/* ---- members ---- */

static void fill_member(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_member *m = out;
    m->user_id = cp_dbrows_dup(r, 0, a);
    m->email = cp_dbrows_dup(r, 1, a);
    m->name = cp_dbrows_dup(r, 2, a);
    m->role = cp_role_parse(cp_dbrows_text(r, 3));
}

cp_result cp_store_members_list(cp_store *s, cp_arena *a, const char *project_id, cp_member **items, size_t *n,
                                cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id)};
    return cp_store_many(s, a,
                         "SELECT u.id, u.email, u.name, m.role FROM memberships m JOIN users u ON u.id = m.user_id"
                         " WHERE m.project_id = ?"
                         /* Project tokens' service users are listed with the tokens, not here. */
                         " AND NOT EXISTS (SELECT 1 FROM api_tokens t WHERE t.service_user_id = u.id)"
                         " ORDER BY m.created_at, u.email",
                         p, 1, fill_member, sizeof(cp_member), 10000, (void **)items, n, err);
}

cp_result cp_store_member_add(cp_store *s, cp_arena *a, const char *project_id, const char *email, cp_role role,
                              cp_member *out, cp_error *err)
{
    cp_user u;
    cp_result r = cp_store_user_by_email(s, a, email, &u, err);
    if (r == CP_ENOTFOUND) /* 422, not 404: the project exists; it is the email in the body that names nobody. */
        return cp_error_set(err, CP_EUNPROC, "user_not_found", "email", "no user with this email has signed up");
    if (r != CP_OK) return r;
    cp_param p[] = {CP_PTEXT(project_id), CP_PTEXT(u.id), CP_PTEXT(cp_role_name(role)), CP_PINT(cp_now_ms())};
    r = cp_store_exec(s, "INSERT INTO memberships (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)", p, 4,
                      NULL, err);
    if (r == CP_ECONFLICT)
        return cp_error_set(err, CP_ECONFLICT, "already_member", "email", "this user is already a member");
    if (r != CP_OK) return r;
    out->user_id = u.id;
    out->email = u.email;
    out->name = u.name;
    out->role = role;
    return CP_OK;
}

typedef struct {
    const char *project_id, *user_id;
    cp_role role; /* NONE = remove */
} member_change;

static cp_result tx_member_change(cp_dbconn *c, void *ctx, cp_error *err)
{
    member_change *mc = ctx;
    cp_param who[] = {CP_PTEXT(mc->project_id), CP_PTEXT(mc->user_id)};
    double is_owner = 0, owners = 0;
    /* Two owners demoting each other must not both count two owners. */
    cp_result r = cp_conn_lock(c, CP_LOCK_PROJECT, mc->project_id, err);
    if (r == CP_OK)
        r = cp_conn_scalar(c,
                           "SELECT COUNT(*) FROM memberships WHERE project_id = ? AND user_id = ?"
                           " AND role = 'owner'",
                           who, 2, &is_owner, err);
    if (r == CP_OK)
        r = cp_conn_scalar(c, "SELECT COUNT(*) FROM memberships WHERE project_id = ? AND role = 'owner'", who, 1,
                           &owners, err);
    if (r != CP_OK) return r;
    if (is_owner > 0 && owners <= 1 && mc->role != CP_ROLE_OWNER)
        return cp_error_set(err, CP_ECONFLICT, "last_owner", NULL, "a project must keep at least one owner");
    int64_t changed = 0;
    /* A project token's service user keeps the role its token was made with. */
    double service = 0;
    if ((r = cp_conn_scalar(c, "SELECT COUNT(*) FROM api_tokens WHERE service_user_id = ?", who + 1, 1, &service,
                            err)) != CP_OK)
        return r;
    if (service > 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "member not found");
    if (mc->role == CP_ROLE_NONE) {
        r = cp_db_exec(c, "DELETE FROM memberships WHERE project_id = ? AND user_id = ?", who, 2, &changed, err);
    } else {
        cp_param p[] = {CP_PTEXT(cp_role_name(mc->role)), CP_PTEXT(mc->project_id), CP_PTEXT(mc->user_id)};
        r = cp_db_exec(c, "UPDATE memberships SET role = ? WHERE project_id = ? AND user_id = ?", p, 3, &changed, err);
    }
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "member not found");
    return r;
}

cp_result cp_store_member_set_role(cp_store *s, const char *project_id, const char *user_id, cp_role role,
                                   cp_error *err)
{
    member_change mc = {project_id, user_id, role};
    return cp_store_tx(s, tx_member_change, &mc, err);
}

cp_result cp_store_member_remove(cp_store *s, const char *project_id, const char *user_id, cp_error *err)
{
    member_change mc = {project_id, user_id, CP_ROLE_NONE};
    return cp_store_tx(s, tx_member_change, &mc, err);
}

static void fill_role(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(cp_role *)out = cp_role_parse(cp_dbrows_text(r, 0));
}

cp_role cp_store_member_role(cp_store *s, const char *project_id, const char *user_id)
{
    cp_role role = CP_ROLE_NONE;
    cp_param p[] = {CP_PTEXT(project_id), CP_PTEXT(user_id)};
    /* Not a member, or the read failed: CP_ROLE_NONE either way, which refuses (fails closed). */
    CP_IGNORE(cp_store_one(s, NULL, "SELECT role FROM memberships WHERE project_id = ? AND user_id = ?", p, 2,
                           fill_role, &role, "member", NULL));
    return role;
}

/* ---- accounts ---- */

#define ACCOUNT_COLS                                                                                                   \
    "id, project_id, cloud, name, hint, key_id, nonce, ciphertext, created_at, kind, identity, audience"
#define ACCOUNT_READ ACCOUNT_COLS ", CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END"

static void fill_account(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_account *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->project_id = cp_dbrows_dup(r, 1, a);
    x->cloud = cp_dbrows_dup(r, 2, a);
    x->name = cp_dbrows_dup(r, 3, a);
    x->hint = cp_dbrows_dup(r, 4, a);
    x->key_id = cp_dbrows_dup(r, 5, a);
    x->nonce = cp_dbrows_dup(r, 6, a);
    x->ciphertext = cp_dbrows_dup(r, 7, a);
    x->created_at = cp_dbrows_int(r, 8);
    x->kind = cp_dbrows_dup(r, 9, a);
    x->identity = cp_dbrows_dup(r, 10, a);
    x->audience = cp_dbrows_dup(r, 11, a);
    x->deleted = cp_dbrows_int(r, 12) != 0;
}

cp_result cp_conn_account_insert(cp_dbconn *c, const cp_account *x, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(x->id),        CP_PTEXT(x->project_id),
                    CP_PTEXT(x->cloud),     CP_PTEXT(x->name),
                    CP_PTEXT(x->hint),      CP_PTEXT(x->key_id),
                    CP_PTEXT(x->nonce),     CP_PTEXT(x->ciphertext),
                    CP_PINT(x->created_at), CP_PTEXT(x->kind ? x->kind : "credentials"),
                    CP_PTEXT(x->identity),  CP_PTEXT(x->audience)};
    return cp_db_exec(c, "INSERT INTO cloud_accounts (" ACCOUNT_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p,
                      12, NULL, err);
}

cp_result cp_store_account_create(cp_store *s, const cp_account *x, cp_error *err)
{
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_result r = cp_conn_account_insert(c, x, err);
    cp_db_release(s->db, c);
    return r;
}

cp_result cp_store_account_get(cp_store *s, cp_arena *a, const char *id, cp_account *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    return cp_store_one(s, a, "SELECT " ACCOUNT_READ " FROM cloud_accounts WHERE id = ?", p, 1, fill_account, out,
                        "account", err);
}

cp_result cp_store_accounts_list(cp_store *s, cp_arena *a, const char *project_id, cp_account **items, size_t *n,
                                 cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id)};
    return cp_store_many(s, a, "SELECT " ACCOUNT_READ " FROM cloud_accounts WHERE project_id = ? ORDER BY id", p, 1,
                         fill_account, sizeof(cp_account), 10000, (void **)items, n, err);
}

cp_result cp_store_accounts_all(cp_store *s, cp_arena *a, cp_account **items, size_t *n, cp_error *err)
{
    return cp_store_many(s, a, "SELECT " ACCOUNT_READ " FROM cloud_accounts ORDER BY id", NULL, 0, fill_account,
                         sizeof(cp_account), (size_t)1 << 30, (void **)items, n, err);
}

static cp_result tx_account_delete(cp_dbconn *c, void *ctx, cp_error *err)
{
    cp_param p[] = {CP_PTEXT((const char *)ctx)};
    double used = 0;
    cp_result r = cp_conn_scalar(c, "SELECT COUNT(*) FROM resources WHERE account_id = ? AND status <> 'destroyed'", p,
                                 1, &used, err);
    if (r != CP_OK) return r;
    if (used > 0)
        return cp_error_set(err, CP_ECONFLICT, "account_in_use", NULL,
                            "%.0f resource(s) that are not destroyed use this account", used);
    /* Destroyed resources keep their history; they point at a tombstone-free id, so detach nothing. */
    double history = 0;
    r = cp_conn_scalar(c, "SELECT COUNT(*) FROM resources WHERE account_id = ?", p, 1, &history, err);
    if (r != CP_OK) return r;
    int64_t changed = 0;
    if (history > 0) /* Keep the row for the history's foreign key, but drop the sealed secret. */
        r = cp_db_exec(c,
                       "UPDATE cloud_accounts SET deleted_at = 1, ciphertext = '', nonce = '' WHERE id = ?"
                       " AND deleted_at IS NULL",
                       p, 1, &changed, err);
    else
        r = cp_db_exec(c, "DELETE FROM cloud_accounts WHERE id = ?", p, 1, &changed, err);
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "account not found");
    return r;
}

cp_result cp_store_account_delete(cp_store *s, const char *id, cp_error *err)
{
    return cp_store_tx(s, tx_account_delete, (void *)id, err);
}

cp_result cp_store_account_reseal(cp_store *s, const char *id, const char *old_key_id, const char *key_id,
                                  const char *nonce, const char *ciphertext, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(key_id), CP_PTEXT(nonce), CP_PTEXT(ciphertext), CP_PTEXT(id), CP_PTEXT(old_key_id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE cloud_accounts SET key_id = ?, nonce = ?, ciphertext = ?"
                                " WHERE id = ? AND key_id = ?",
                                p, 5, &changed, err);
    if (r == CP_OK && changed == 0)
        return cp_error_set(err, CP_ECONFLICT, "conflict", NULL, "account changed during rotation");
    return r;
}

/* ---- audit ---- */

cp_result cp_store_audit_add(cp_store *s, const char *actor_id, const char *project_id, const char *action,
                             const char *target, const char *detail_json, cp_error *err)
{
    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    cp_param p[] = {
        CP_PTEXT(id),         CP_PINT(cp_now_ms()), CP_PTEXT(actor_id), CP_PTEXT(actor_id),
        CP_PTEXT(project_id), CP_PTEXT(action),     CP_PTEXT(target),   CP_PTEXT(detail_json ? detail_json : "{}")};
    cp_result r = cp_store_exec(s,
                                "INSERT INTO audit_events (id, ts, actor_id, actor_email, project_id, action, target,"
                                " detail) VALUES (?, ?, ?, (SELECT email FROM users WHERE id = ?), ?, ?, ?, ?)",
                                p, 8, NULL, err);
    if (r != CP_OK) cp_log_error("audit write failed for %s", action);
    return r;
}

static void fill_audit(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_audit *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->ts = cp_dbrows_int(r, 1);
    x->actor_id = cp_dbrows_dup(r, 2, a);
    x->actor_email = cp_dbrows_dup(r, 3, a);
    x->project_id = cp_dbrows_dup(r, 4, a);
    x->action = cp_dbrows_dup(r, 5, a);
    x->target = cp_dbrows_dup(r, 6, a);
    x->detail = cp_dbrows_dup(r, 7, a);
}

cp_result cp_store_audit_list(cp_store *s, cp_arena *a, const char *project_id, int limit, const char *cursor,
                              cp_audit **items, size_t *n, char **next, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(project_id), CP_PTEXT(cursor ? cursor : "~"), CP_PINT(limit + 1)};
    cp_result r = cp_store_many(s, a,
                                "SELECT id, ts, actor_id, actor_email, project_id, action, target, detail"
                                " FROM audit_events WHERE project_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
                                p, 3, fill_audit, sizeof(cp_audit), (size_t)limit + 1, (void **)items, n, err);
    if (r == CP_OK) FINISH_PAGE(items, n, next, limit, id);
    return r;
}

cp_result cp_store_audit_list_actor(cp_store *s, cp_arena *a, const char *actor_id, int limit, const char *cursor,
                                    cp_audit **items, size_t *n, char **next, cp_error *err)
{
    limit = cp_store_page_limit(limit);
    cp_param p[] = {CP_PTEXT(actor_id), CP_PTEXT(cursor ? cursor : "~"), CP_PINT(limit + 1)};
    cp_result r = cp_store_many(s, a,
                                "SELECT id, ts, actor_id, actor_email, project_id, action, target, detail"
                                " FROM audit_events WHERE actor_id = ? AND project_id IS NULL AND id < ?"
                                " ORDER BY id DESC LIMIT ?",
                                p, 3, fill_audit, sizeof(cp_audit), (size_t)limit + 1, (void **)items, n, err);
    if (r == CP_OK) FINISH_PAGE(items, n, next, limit, id);
    return r;
}
