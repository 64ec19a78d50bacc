/* store_invitations.c: sign-up tokens and project invitations. Every
 * single-use step is one conditional UPDATE (still unused, unexpired), so two
 * concurrent uses of one token cannot both succeed on either backend. */
#include <string.h>

#include "core/ids.h"
#include "store/store_rows.h"
#include "store/store_invitations.h"

static const char *const inv_status_names[] = {"pending", "accepted", "declined", "revoked"};

const char *cp_inv_status_name(cp_inv_status st)
{
    return (size_t)st < CP_ARRAY_LEN(inv_status_names) ? inv_status_names[st] : "";
}

static cp_inv_status inv_status_parse(const char *s)
{
    for (size_t i = 0; s && i < CP_ARRAY_LEN(inv_status_names); i++)
        if (!strcmp(s, inv_status_names[i])) return (cp_inv_status)i;
    return CP_INV_REVOKED; /* unknown reads as ended: fails closed */
}

/* ---- sign-up tokens ---- */

cp_result cp_store_signup_token_add(cp_store *s, const char *token_hash, const char *email, int64_t now,
                                    int64_t expires_at, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(token_hash), CP_PTEXT(email), CP_PINT(now), CP_PINT(expires_at), CP_PINT(now)};
    /* Expired rows go with each new one, so the table holds only live requests. */
    cp_result r = cp_store_exec(s,
                                "INSERT INTO signup_tokens (token_hash, email, created_at, expires_at)"
                                " VALUES (?, ?, ?, ?)",
                                p, 4, NULL, err);
    if (r == CP_OK) r = cp_store_exec(s, "DELETE FROM signup_tokens WHERE expires_at < ?", &p[4], 1, NULL, err);
    return r;
}

static void fill_none(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(r);
    CP_UNUSED(a);
    CP_UNUSED(out);
}

cp_result cp_store_token_live(cp_store *s, bool invitation, const char *token_hash, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(token_hash), CP_PINT(now)};
    return cp_store_one(s, NULL,
                        invitation ? "SELECT 1 FROM invitations WHERE token_hash = ? AND status = 'pending'"
                                     " AND expires_at > ?"
                                   : "SELECT 1 FROM signup_tokens WHERE token_hash = ? AND used_at IS NULL"
                                     " AND expires_at > ?",
                        p, 2, fill_none, NULL, "token", err);
}

typedef struct {
    cp_arena *a;
    const char *token_hash, *name, *password_hash;
    int64_t now;
    cp_user *user;
    cp_invitation *inv;
    const cp_inv_key *key;
    const char *user_id;
} inv_tx;

static cp_result tx_signup_complete(cp_dbconn *c, void *ctx, cp_error *err)
{
    inv_tx *t = ctx;
    cp_param p[] = {CP_PINT(t->now), CP_PTEXT(t->token_hash), CP_PINT(t->now)};
    int64_t changed = 0;
    cp_result r = cp_db_exec(c,
                             "UPDATE signup_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                             " AND expires_at > ?",
                             p, 3, &changed, err);
    if (r != CP_OK) return r;
    if (changed != 1) return cp_error_set(err, CP_ENOTFOUND, "invalid_token", NULL, "invalid token");
    char *email = NULL;
    if ((r = cp_conn_one(c, t->a, "SELECT email FROM signup_tokens WHERE token_hash = ?", &p[1], 1, cp_fill_text,
                         &email, err)) != CP_OK)
        return r;
    return cp_conn_user_insert(c, t->a, email, t->name, t->password_hash, t->now, t->user, err);
}

cp_result cp_store_signup_complete(cp_store *s, cp_arena *a, const char *token_hash, int64_t now, const char *name,
                                   const char *password_hash, cp_user *out, cp_error *err)
{
    inv_tx t = {
        .a = a, .token_hash = token_hash, .name = name, .password_hash = password_hash, .now = now, .user = out};
    return cp_store_tx(s, tx_signup_complete, &t, err);
}

/* ---- invitations ---- */

#define INV_COLS                                                                                                       \
    "i.id, i.project_id, p.name, i.email, i.invited_by, u.email, i.role, i.status, i.created_at, i.expires_at"
#define INV_FROM " FROM invitations i JOIN projects p ON p.id = i.project_id LEFT JOIN users u ON u.id = i.invited_by"

static void fill_inv(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_invitation *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->project_id = cp_dbrows_dup(r, 1, a);
    x->project_name = cp_dbrows_dup(r, 2, a);
    x->email = cp_dbrows_dup(r, 3, a);
    x->invited_by = cp_dbrows_isnull(r, 4) ? NULL : cp_dbrows_dup(r, 4, a);
    x->invited_by_email = cp_dbrows_isnull(r, 5) ? NULL : cp_dbrows_dup(r, 5, a);
    x->role = cp_role_parse(cp_dbrows_text(r, 6));
    x->status = inv_status_parse(cp_dbrows_text(r, 7));
    x->created_at = cp_dbrows_int(r, 8);
    x->expires_at = cp_dbrows_int(r, 9);
}

typedef struct {
    const char *project_id, *email, *token_hash, *invited_by;
    cp_role role;
    int64_t now, expires_at;
    char id[CP_ID_LEN + 1];
} inv_new;

static cp_result tx_invitation_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    inv_new *n = ctx;
    double members = 0;
    cp_result r = cp_conn_lock(c, CP_LOCK_PROJECT, n->project_id, err);
    if (r == CP_OK) {
        cp_param who[] = {CP_PTEXT(n->project_id), CP_PTEXT(n->email)};
        r = cp_conn_scalar(c,
                           "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id"
                           " WHERE m.project_id = ? AND u.email = ?",
                           who, 2, &members, err);
    }
    if (r != CP_OK) return r;
    if (members > 0)
        return cp_error_set(err, CP_ECONFLICT, "already_member", "email", "this email belongs to a member already");
    cp_param old[] = {CP_PINT(n->now), CP_PTEXT(n->project_id), CP_PTEXT(n->email)};
    r = cp_db_exec(c,
                   "UPDATE invitations SET status = 'revoked', ended_at = ? WHERE project_id = ? AND email = ?"
                   " AND status = 'pending'",
                   old, 3, NULL, err);
    if (r != CP_OK) return r;
    cp_param p[] = {
        CP_PTEXT(n->id),         CP_PTEXT(n->project_id), CP_PTEXT(n->email), CP_PTEXT(cp_role_name(n->role)),
        CP_PTEXT(n->token_hash), CP_PTEXT(n->invited_by), CP_PINT(n->now),    CP_PINT(n->expires_at)};
    return cp_db_exec(c,
                      "INSERT INTO invitations (id, project_id, email, role, token_hash, invited_by, created_at,"
                      " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      p, 8, NULL, err);
}

static cp_result inv_get(cp_store *s, cp_arena *a, const char *id, cp_invitation *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    return cp_store_one(s, a, "SELECT " INV_COLS INV_FROM " WHERE i.id = ?", p, 1, fill_inv, out, "invitation", err);
}

cp_result cp_store_invitation_create(cp_store *s, cp_arena *a, const char *project_id, const char *email, cp_role role,
                                     const char *token_hash, const char *invited_by, int64_t now, int64_t expires_at,
                                     cp_invitation *out, cp_error *err)
{
    inv_new n = {.project_id = project_id,
                 .email = email,
                 .token_hash = token_hash,
                 .invited_by = invited_by,
                 .role = role,
                 .now = now,
                 .expires_at = expires_at};
    cp_id_new(n.id);
    cp_result r = cp_store_tx(s, tx_invitation_create, &n, err);
    if (r != CP_OK) return r;
    return inv_get(s, a, n.id, out, err);
}

cp_result cp_store_invitations_list(cp_store *s, cp_arena *a, const char *project_id, int64_t now,
                                    cp_invitation **items, size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id), CP_PINT(now)};
    return cp_store_many(s, a,
                         "SELECT " INV_COLS INV_FROM " WHERE i.project_id = ? AND i.status = 'pending'"
                         " AND i.expires_at > ? ORDER BY i.id DESC",
                         p, 2, fill_inv, sizeof(cp_invitation), 1000, (void **)items, n, err);
}

cp_result cp_store_invitations_for_email(cp_store *s, cp_arena *a, const char *email, int64_t now,
                                         cp_invitation **items, size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(email), CP_PINT(now)};
    return cp_store_many(s, a,
                         "SELECT " INV_COLS INV_FROM " WHERE i.email = ? AND i.status = 'pending'"
                         " AND i.expires_at > ? ORDER BY i.id DESC",
                         p, 2, fill_inv, sizeof(cp_invitation), 1000, (void **)items, n, err);
}

cp_result cp_store_invitation_get(cp_store *s, cp_arena *a, const char *project_id, const char *id, int64_t now,
                                  cp_invitation *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id), CP_PTEXT(project_id), CP_PINT(now)};
    return cp_store_one(s, a,
                        "SELECT " INV_COLS INV_FROM " WHERE i.id = ? AND i.project_id = ? AND i.status = 'pending'"
                        " AND i.expires_at > ?",
                        p, 3, fill_inv, out, "invitation", err);
}

cp_result cp_store_invitation_revoke(cp_store *s, const char *project_id, const char *id, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PTEXT(id), CP_PTEXT(project_id)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE invitations SET status = 'revoked', ended_at = ? WHERE id = ?"
                                " AND project_id = ? AND status = 'pending'",
                                p, 3, &changed, err);
    if (r == CP_OK && changed != 1) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "invitation not found");
    return r;
}

/* Statements are literals: the SQLite driver caches prepared statements by
 * the address of their text. [0] by token hash, [1] by id. */
static const char *const end_sql[] = {
    "UPDATE invitations SET status = ?, ended_at = ? WHERE token_hash = ? AND email = ? AND status = 'pending'"
    " AND expires_at > ?",
    "UPDATE invitations SET status = ?, ended_at = ? WHERE id = ? AND email = ? AND status = 'pending'"
    " AND expires_at > ?",
};
static const char *const get_sql[] = {
    "SELECT " INV_COLS INV_FROM " WHERE i.token_hash = ?",
    "SELECT " INV_COLS INV_FROM " WHERE i.id = ?",
};

/* Ends the pending, unexpired invitation key names with status to; the
 * one row that moved is read back into *out. */
static cp_result conn_inv_end(cp_dbconn *c, cp_arena *a, const cp_inv_key *key, cp_inv_status to, int64_t now,
                              cp_invitation *out, cp_error *err)
{
    int by_id = key->token_hash ? 0 : 1;
    const char *val = key->token_hash ? key->token_hash : key->id;
    cp_param p[] = {CP_PTEXT(cp_inv_status_name(to)), CP_PINT(now), CP_PTEXT(val), CP_PTEXT(key->email), CP_PINT(now)};
    int64_t changed = 0;
    cp_result r = cp_db_exec(c, end_sql[by_id], p, 5, &changed, err);
    if (r != CP_OK) return r;
    if (changed != 1) return cp_error_set(err, CP_ENOTFOUND, "invalid_invitation", NULL, "invalid invitation");
    return cp_conn_one(c, a, get_sql[by_id], &p[2], 1, fill_inv, out, err);
}

static cp_result conn_join(cp_dbconn *c, const cp_invitation *inv, const char *user_id, int64_t now, cp_error *err)
{
    cp_param who[] = {CP_PTEXT(inv->project_id), CP_PTEXT(user_id)};
    double member = 0;
    cp_result r = cp_conn_scalar(c, "SELECT COUNT(*) FROM memberships WHERE project_id = ? AND user_id = ?", who, 2,
                                 &member, err);
    if (r != CP_OK || member > 0) return r;
    cp_param p[] = {CP_PTEXT(inv->project_id), CP_PTEXT(user_id), CP_PTEXT(cp_role_name(inv->role)), CP_PINT(now)};
    return cp_db_exec(c, "INSERT INTO memberships (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)", p, 4,
                      NULL, err);
}

static cp_result tx_invitation_accept(cp_dbconn *c, void *ctx, cp_error *err)
{
    inv_tx *t = ctx;
    cp_result r = conn_inv_end(c, t->a, t->key, CP_INV_ACCEPTED, t->now, t->inv, err);
    if (r == CP_OK) r = conn_join(c, t->inv, t->user_id, t->now, err);
    return r;
}

cp_result cp_store_invitation_accept(cp_store *s, cp_arena *a, const cp_inv_key *key, const char *user_id, int64_t now,
                                     cp_invitation *out, cp_error *err)
{
    cp_invitation tmp = {0};
    inv_tx t = {.a = a, .key = key, .user_id = user_id, .now = now, .inv = out ? out : &tmp};
    return cp_store_tx(s, tx_invitation_accept, &t, err);
}

static cp_result tx_invitation_decline(cp_dbconn *c, void *ctx, cp_error *err)
{
    inv_tx *t = ctx;
    return conn_inv_end(c, t->a, t->key, CP_INV_DECLINED, t->now, t->inv, err);
}

cp_result cp_store_invitation_decline(cp_store *s, cp_arena *a, const cp_inv_key *key, int64_t now, cp_invitation *out,
                                      cp_error *err)
{
    cp_invitation tmp = {0};
    inv_tx t = {.a = a, .key = key, .now = now, .inv = out ? out : &tmp};
    return cp_store_tx(s, tx_invitation_decline, &t, err);
}

static cp_result tx_invitation_signup(cp_dbconn *c, void *ctx, cp_error *err)
{
    inv_tx *t = ctx;
    cp_param p[] = {CP_PTEXT(t->token_hash), CP_PINT(t->now)};
    char *email = NULL;
    cp_result r = cp_conn_one(c, t->a,
                              "SELECT email FROM invitations WHERE token_hash = ? AND status = 'pending'"
                              " AND expires_at > ?",
                              p, 2, cp_fill_text, &email, err);
    if (r == CP_ENOTFOUND) return cp_error_set(err, CP_ENOTFOUND, "invalid_invitation", NULL, "invalid invitation");
    if (r != CP_OK) return r;
    cp_inv_key key = {.token_hash = t->token_hash, .email = email};
    if ((r = conn_inv_end(c, t->a, &key, CP_INV_ACCEPTED, t->now, t->inv, err)) != CP_OK) return r;
    r = cp_conn_user_insert(c, t->a, email, t->name, t->password_hash, t->now, t->user, err);
    if (r == CP_ECONFLICT)
        return cp_error_set(err, CP_ECONFLICT, "account_exists", NULL,
                            "this email has an account: sign in to accept the invitation");
    if (r == CP_OK) r = conn_join(c, t->inv, t->user->id, t->now, err);
    return r;
}

cp_result cp_store_invitation_signup(cp_store *s, cp_arena *a, const char *token_hash, int64_t now, const char *name,
                                     const char *password_hash, cp_user *user, cp_invitation *inv, cp_error *err)
{
    inv_tx t = {.a = a,
                .token_hash = token_hash,
                .name = name,
                .password_hash = password_hash,
                .now = now,
                .user = user,
                .inv = inv};
    return cp_store_tx(s, tx_invitation_signup, &t, err);
}
