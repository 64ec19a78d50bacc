/* store_sso.c: single sign-on: sign-ins in flight through a provider, the
 * identities providers vouch for, and the project roles their groups give. */
#include <string.h>

#include "store/store_int.h"
#include "store/store_sso.h"

/* Users made by single sign-on have no password: this hash verifies none. */
#define NO_PASSWORD "!sso"

cp_result cp_store_oidc_login_add(cp_store *s, const cp_oidc_login *l, cp_error *err)
{
    cp_param old[] = {CP_PINT(l->created_at)};
    cp_result r = cp_store_exec(s, "DELETE FROM oidc_logins WHERE expires_at < ?", old, 1, NULL, err);
    if (r != CP_OK) return r;
    cp_param p[] = {CP_PTEXT(l->state_hash), CP_PTEXT(l->provider_id), CP_PTEXT(l->nonce),    CP_PTEXT(l->verifier),
                    CP_PTEXT(l->return_to),  CP_PINT(l->created_at),   CP_PINT(l->expires_at)};
    return cp_store_exec(s,
                         "INSERT INTO oidc_logins (state_hash, provider_id, nonce, verifier, return_to, created_at,"
                         " expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         p, 7, NULL, err);
}

static void fill_login(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_oidc_login *l = out;
    l->state_hash = cp_dbrows_dup(r, 0, a);
    l->provider_id = cp_dbrows_dup(r, 1, a);
    l->nonce = cp_dbrows_dup(r, 2, a);
    l->verifier = cp_dbrows_dup(r, 3, a);
    l->return_to = cp_dbrows_dup(r, 4, a);
    l->created_at = cp_dbrows_int(r, 5);
    l->expires_at = cp_dbrows_int(r, 6);
}

/* DELETE ... RETURNING: of two callbacks with one state, one gets the row. */
cp_result cp_store_oidc_login_take(cp_store *s, cp_arena *a, const char *state_hash, int64_t now, cp_oidc_login *out,
                                   cp_error *err)
{
    cp_param p[] = {CP_PTEXT(state_hash)};
    cp_result r = cp_store_one(s, a,
                               "DELETE FROM oidc_logins WHERE state_hash = ? RETURNING state_hash, provider_id, nonce,"
                               " verifier, return_to, created_at, expires_at",
                               p, 1, fill_login, out, "sign-in", err);
    if (r == CP_OK && out->expires_at < now)
        return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "sign-in expired");
    return r;
}

typedef struct {
    cp_arena *a;
    const cp_sso_identity *id;
    int64_t now;
    cp_user *out;
    cp_sso_outcome *outcome;
} sso_tx;

static void fill_id(cp_dbrows *r, cp_arena *a, void *out)
{
    *(char **)out = cp_dbrows_dup(r, 0, a);
}

static void fill_user(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_user *u = out;
    u->id = cp_dbrows_dup(r, 0, a);
    u->email = cp_dbrows_dup(r, 1, a);
    u->name = cp_dbrows_dup(r, 2, a);
    u->password_hash = NULL; /* never needed here */
    u->created_at = cp_dbrows_int(r, 3);
}

/* Literal SQL only: the driver caches statements by the SQL's address. */
#define USER_BY_ID "SELECT id, email, name, created_at FROM users WHERE id = ?"
#define USER_BY_EMAIL "SELECT id, email, name, created_at FROM users WHERE email = ?"

static cp_result user_by(cp_dbconn *c, cp_arena *a, const char *sql, const char *v, cp_user *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(v)};
    return cp_conn_one(c, a, sql, p, 1, fill_user, out, err);
}

static cp_result link_identity(cp_dbconn *c, const sso_tx *t, const char *user_id, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(t->id->issuer), CP_PTEXT(t->id->subject), CP_PTEXT(user_id), CP_PTEXT(t->id->provider_id),
                    CP_PTEXT(t->id->email),  CP_PINT(t->now),          CP_PINT(t->now)};
    return cp_db_exec(c,
                      "INSERT INTO user_identities (issuer, subject, user_id, provider_id, email, created_at,"
                      " last_login_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                      p, 7, NULL, err);
}

static cp_result tx_sso_user(cp_dbconn *c, void *ctx, cp_error *err)
{
    sso_tx *t = ctx;
    char *user_id = NULL;
    cp_param key[] = {CP_PTEXT(t->id->issuer), CP_PTEXT(t->id->subject)};
    cp_result r = cp_conn_one(c, t->a, "SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?", key, 2,
                              fill_id, &user_id, err);
    if (r == CP_OK) {
        cp_param seen[] = {CP_PINT(t->now), CP_PTEXT(t->id->issuer), CP_PTEXT(t->id->subject)};
        r = cp_db_exec(c, "UPDATE user_identities SET last_login_at = ? WHERE issuer = ? AND subject = ?", seen, 3,
                       NULL, err);
        if (r == CP_OK) r = user_by(c, t->a, USER_BY_ID, user_id, t->out, err);
        *t->outcome = CP_SSO_KNOWN;
        return r;
    }
    if (r != CP_ENOTFOUND) return r;
    cp_error_clear(err);
    r = user_by(c, t->a, USER_BY_EMAIL, t->id->email, t->out, err);
    if (r == CP_OK) {
        if (!t->id->may_link)
            return cp_error_set(err, CP_ECONFLICT, "email_taken", NULL,
                                "an account with this email already exists and this sign-in may not be linked to it");
        *t->outcome = CP_SSO_LINKED;
        return link_identity(c, t, t->out->id, err);
    }
    if (r != CP_ENOTFOUND) return r;
    cp_error_clear(err);
    if (!t->id->may_create)
        return cp_error_set(err, CP_EFORBIDDEN, "sso_signup_disabled", NULL,
                            "this sign-in has no account here and this provider does not create accounts");
    const char *name = t->id->name && *t->id->name ? t->id->name : t->id->email;
    r = cp_conn_user_insert(c, t->a, t->id->email, name, NO_PASSWORD, t->now, t->out, err);
    if (r != CP_OK) return r;
    *t->outcome = CP_SSO_CREATED;
    return link_identity(c, t, t->out->id, err);
}

cp_result cp_store_sso_user(cp_store *s, cp_arena *a, const cp_sso_identity *id, int64_t now, cp_user *out,
                            cp_sso_outcome *outcome, cp_error *err)
{
    sso_tx t = {a, id, now, out, outcome};
    return cp_store_tx(s, tx_sso_user, &t, err);
}

typedef struct {
    cp_arena *a;
    const char *user_id, *project;
    cp_role role;
    int64_t now;
    bool *changed;
    const char **project_id;
} grant_tx;

static void fill_role(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(cp_role *)out = cp_role_parse(cp_dbrows_text(r, 0));
}

static cp_result tx_grant(cp_dbconn *c, void *ctx, cp_error *err)
{
    grant_tx *g = ctx;
    /* An id matches first; a name only when one live project has it. */
    char *pid = NULL;
    cp_param byid[] = {CP_PTEXT(g->project)};
    cp_result r = cp_conn_one(c, g->a, "SELECT id FROM projects WHERE id = ? AND deleted_at IS NULL", byid, 1, fill_id,
                              &pid, err);
    if (r == CP_ENOTFOUND) {
        double n = 0;
        r = cp_conn_scalar(c, "SELECT COUNT(*) FROM projects WHERE name = ? AND deleted_at IS NULL", byid, 1, &n, err);
        if (r != CP_OK) return r;
        if (n != 1) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "no single project is named so");
        r = cp_conn_one(c, g->a, "SELECT id FROM projects WHERE name = ? AND deleted_at IS NULL", byid, 1, fill_id,
                        &pid, err);
    }
    if (r != CP_OK) return r;
    *g->project_id = pid;
    if ((r = cp_conn_lock(c, CP_LOCK_PROJECT, pid, err)) != CP_OK) return r;
    cp_role have = CP_ROLE_NONE;
    cp_param who[] = {CP_PTEXT(pid), CP_PTEXT(g->user_id)};
    r = cp_conn_one(c, g->a, "SELECT role FROM memberships WHERE project_id = ? AND user_id = ?", who, 2, fill_role,
                    &have, err);
    if (r != CP_OK && r != CP_ENOTFOUND) return r;
    cp_error_clear(err);
    *g->changed = false;
    if (have >= g->role) return CP_OK;
    *g->changed = true;
    cp_param p[] = {CP_PTEXT(cp_role_name(g->role)), CP_PTEXT(pid), CP_PTEXT(g->user_id), CP_PINT(g->now)};
    if (have == CP_ROLE_NONE)
        return cp_db_exec(c, "INSERT INTO memberships (role, project_id, user_id, created_at) VALUES (?, ?, ?, ?)", p,
                          4, NULL, err);
    return cp_db_exec(c, "UPDATE memberships SET role = ? WHERE project_id = ? AND user_id = ?", p, 3, NULL, err);
}

cp_result cp_store_sso_grant(cp_store *s, cp_arena *a, const char *user_id, const char *project, cp_role role,
                             int64_t now, bool *changed, const char **project_id, cp_error *err)
{
    *changed = false;
    *project_id = NULL;
    grant_tx g = {a, user_id, project, role, now, changed, project_id};
    return cp_store_tx(s, tx_grant, &g, err);
}
