/* store_tokens.c: API tokens (personal and project service tokens), stored
 * as hashes, and the service users project tokens act as. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "store/store_int.h"
#include "store/store_tokens.h"

#define TOKEN_COLS                                                                                                     \
    "t.id, t.kind, t.user_id, t.project_id, t.service_user_id, t.role, t.scopes, t.name, t.created_at, t.expires_at,"  \
    " t.last_used_at, t.revoked_at"

static void fill_token(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_api_token *t = out;
    t->id = cp_dbrows_dup(r, 0, a);
    t->kind = cp_dbrows_dup(r, 1, a);
    t->user_id = cp_dbrows_isnull(r, 2) ? NULL : cp_dbrows_dup(r, 2, a);
    t->project_id = cp_dbrows_isnull(r, 3) ? NULL : cp_dbrows_dup(r, 3, a);
    t->service_user_id = cp_dbrows_isnull(r, 4) ? NULL : cp_dbrows_dup(r, 4, a);
    t->role = cp_dbrows_isnull(r, 5) ? CP_ROLE_NONE : cp_role_parse(cp_dbrows_text(r, 5));
    t->scopes = cp_dbrows_dup(r, 6, a);
    t->name = cp_dbrows_dup(r, 7, a);
    t->created_at = cp_dbrows_int(r, 8);
    t->expires_at = cp_dbrows_int(r, 9);
    t->last_used_at = cp_dbrows_isnull(r, 10) ? 0 : cp_dbrows_int(r, 10);
    t->revoked_at = cp_dbrows_isnull(r, 11) ? 0 : cp_dbrows_int(r, 11);
    t->secret_hash = NULL;
}

/* A project token's service user and its membership. The user cannot sign
 * in: its password hash verifies nothing, and its address is in a reserved
 * domain no mail reaches. */
static cp_result add_service_user(cp_dbconn *c, const cp_api_token *t, cp_error *err)
{
    char email[96], name[160];
    snprintf(email, sizeof email, "token-%s@service.cloudplane.invalid", t->id);
    snprintf(name, sizeof name, "token %.100s", t->name);
    cp_param u[] = {CP_PTEXT(t->service_user_id), CP_PTEXT(email), CP_PTEXT(name), CP_PTEXT("!service-token"),
                    CP_PINT(t->created_at)};
    cp_result r = cp_db_exec(c, "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                             u, 5, NULL, err);
    if (r != CP_OK) return r;
    cp_param m[] = {CP_PTEXT(t->project_id), CP_PTEXT(t->service_user_id), CP_PTEXT(cp_role_name(t->role)),
                    CP_PINT(t->created_at)};
    return cp_db_exec(c, "INSERT INTO memberships (project_id, user_id, role, created_at) VALUES (?, ?, ?, ?)", m, 4,
                      NULL, err);
}

static cp_result tx_token_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    const cp_api_token *t = ctx;
    bool proj = !strcmp(t->kind, "project");
    if (proj) {
        cp_result r = add_service_user(c, t, err);
        if (r != CP_OK) return r;
    }
    cp_param p[] = {CP_PTEXT(t->id),
                    CP_PTEXT(t->kind),
                    CP_PTEXT(t->user_id),
                    CP_PTEXT(t->project_id),
                    CP_PTEXT(t->service_user_id),
                    proj ? CP_PTEXT(cp_role_name(t->role)) : CP_PNULL,
                    CP_PTEXT(t->scopes),
                    CP_PTEXT(t->name),
                    CP_PTEXT(t->secret_hash),
                    CP_PINT(t->created_at),
                    CP_PINT(t->expires_at)};
    return cp_db_exec(c,
                      "INSERT INTO api_tokens (id, kind, user_id, project_id, service_user_id, role, scopes, name,"
                      " secret_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      p, 11, NULL, err);
}

cp_result cp_store_token_create(cp_store *s, const cp_api_token *t, cp_error *err)
{
    return cp_store_tx(s, tx_token_create, (void *)t, err);
}

typedef struct {
    cp_api_token *t;
    cp_user *u;
    int64_t data_version;
} auth_row;

static void fill_auth(cp_dbrows *r, cp_arena *a, void *out)
{
    auth_row *ar = out;
    fill_token(r, a, ar->t);
    ar->t->secret_hash = cp_dbrows_dup(r, 12, a);
    ar->u->id = cp_dbrows_dup(r, 13, a);
    ar->u->email = cp_dbrows_dup(r, 14, a);
    ar->u->name = cp_dbrows_dup(r, 15, a);
    ar->u->password_hash = NULL;
    ar->u->created_at = cp_dbrows_int(r, 16);
    ar->data_version = cp_dbrows_int(r, 17);
}

cp_result cp_store_token_auth(cp_store *s, cp_arena *a, const char *id, int64_t now, cp_api_token *t, cp_user *as,
                              int64_t *data_version, cp_error *err)
{
    auth_row ar = {t, as, 0};
    cp_param p[] = {CP_PTEXT(id), CP_PINT(now)};
    /* The user acted as: the owner (personal) or the service user (project). */
    cp_result r = cp_store_one(s, a,
                               "SELECT " TOKEN_COLS ", t.secret_hash, u.id, u.email, u.name, u.created_at,"
                               " (SELECT n FROM data_version WHERE id = 1) FROM api_tokens t"
                               " JOIN users u ON u.id = COALESCE(t.service_user_id, t.user_id)"
                               " WHERE t.id = ? AND t.revoked_at IS NULL AND t.expires_at > ?",
                               p, 2, fill_auth, &ar, "token", err);
    if (r == CP_OK && data_version) *data_version = ar.data_version;
    return r == CP_ENOTFOUND ? CP_EAUTH : r;
}

cp_result cp_store_token_touch(cp_store *s, const char *id, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PTEXT(id), CP_PINT(now - 60000)};
    return cp_store_exec(s,
                         "UPDATE api_tokens SET last_used_at = ? WHERE id = ?"
                         " AND (last_used_at IS NULL OR last_used_at < ?)",
                         p, 3, NULL, err);
}

cp_result cp_store_tokens_list(cp_store *s, cp_arena *a, const char *user_id, const char *project_id,
                               cp_api_token **items, size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(project_id ? project_id : user_id)};
    const char *sql = project_id ? "SELECT " TOKEN_COLS " FROM api_tokens t WHERE t.kind = 'project'"
                                   " AND t.project_id = ? AND t.revoked_at IS NULL ORDER BY t.id DESC"
                                 : "SELECT " TOKEN_COLS " FROM api_tokens t WHERE t.kind = 'personal'"
                                   " AND t.user_id = ? AND t.revoked_at IS NULL ORDER BY t.id DESC";
    return cp_store_many(s, a, sql, p, 1, fill_token, sizeof(cp_api_token), 1000, (void **)items, n, err);
}

typedef struct {
    cp_arena *a;
    const char *id, *user_id, *project_id;
    int64_t now;
    char *acting_user;
} token_revoke;

static void fill_acting(cp_dbrows *r, cp_arena *a, void *out)
{
    *(char **)out = cp_dbrows_dup(r, 0, a);
}

static cp_result tx_token_revoke(cp_dbconn *c, void *ctx, cp_error *err)
{
    token_revoke *tr = ctx;
    int64_t changed = 0;
    cp_result r;
    if (tr->project_id) {
        cp_param p[] = {CP_PINT(tr->now), CP_PTEXT(tr->id), CP_PTEXT(tr->project_id)};
        r = cp_db_exec(c,
                       "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND kind = 'project' AND project_id = ?"
                       " AND revoked_at IS NULL",
                       p, 3, &changed, err);
    } else {
        cp_param p[] = {CP_PINT(tr->now), CP_PTEXT(tr->id), CP_PTEXT(tr->user_id)};
        r = cp_db_exec(c,
                       "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND kind = 'personal' AND user_id = ?"
                       " AND revoked_at IS NULL",
                       p, 3, &changed, err);
    }
    if (r != CP_OK) return r;
    if (changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "token not found");
    cp_param q[] = {CP_PTEXT(tr->id)};
    if ((r = cp_conn_one(c, tr->a, "SELECT COALESCE(service_user_id, user_id) FROM api_tokens WHERE id = ?", q, 1,
                         fill_acting, &tr->acting_user, err)) != CP_OK)
        return r;
    if (!tr->project_id) return CP_OK;
    cp_param m[] = {CP_PTEXT(tr->project_id), CP_PTEXT(tr->id)};
    return cp_db_exec(c,
                      "DELETE FROM memberships WHERE project_id = ? AND user_id ="
                      " (SELECT service_user_id FROM api_tokens WHERE id = ?)",
                      m, 2, NULL, err);
}

cp_result cp_store_token_revoke(cp_store *s, cp_arena *a, const char *id, const char *user_id, const char *project_id,
                                int64_t now, char **acting_user, cp_error *err)
{
    token_revoke tr = {a, id, user_id, project_id, now, NULL};
    cp_result r = cp_store_tx(s, tx_token_revoke, &tr, err);
    *acting_user = r == CP_OK ? tr.acting_user : NULL;
    return r;
}
