/* store_sessions.c: sign-in sessions, their refresh tokens (hashes only) and
 * password changes. */
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "store/store_int.h"
#include "store/store_ops.h"
#include "store/store_tokens.h"
#include "store/store_sessions.h"

cp_result cp_store_user_set_password(cp_store *s, const char *user_id, const char *password_hash, cp_error *err)
{
    int64_t changes = 0;
    cp_param p[] = {CP_PTEXT(password_hash), CP_PTEXT(user_id)};
    cp_result r = cp_store_exec(s, "UPDATE users SET password_hash = ? WHERE id = ?", p, 2, &changes, err);
    if (r == CP_OK && changes == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "user not found");
    return r;
}

typedef struct {
    const char *user_id, *user_agent, *hash;
    int64_t now, expires_at;
    char *id;
} session_new;

/* Sessions that ended (revoked or expired) CP_SESSION_CP_SESSION_ENDED_KEEP_MS ago are
 * dropped, their tokens with them, when their user next signs in, or by the
 * retention sweep for users who never come back. */

static cp_result tx_session_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    session_new *sn = ctx;
    cp_param old[] = {CP_PTEXT(sn->user_id), CP_PINT(sn->now - CP_SESSION_ENDED_KEEP_MS),
                      CP_PINT(sn->now - CP_SESSION_ENDED_KEEP_MS)};
    cp_result pr = cp_db_exec(c, "DELETE FROM sessions WHERE user_id = ? AND (revoked_at < ? OR expires_at < ?)", old,
                              3, NULL, err);
    if (pr != CP_OK) return pr;
    cp_param p[] = {CP_PTEXT(sn->id), CP_PTEXT(sn->user_id), CP_PTEXT(sn->user_agent),
                    CP_PINT(sn->now), CP_PINT(sn->now),      CP_PINT(sn->expires_at)};
    cp_result r = cp_db_exec(c,
                             "INSERT INTO sessions (id, user_id, user_agent, created_at, last_used_at, expires_at)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             p, 6, NULL, err);
    if (r != CP_OK) return r;
    cp_param q[] = {CP_PTEXT(sn->hash), CP_PTEXT(sn->id), CP_PINT(sn->now), CP_PINT(sn->expires_at)};
    return cp_db_exec(c, "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)", q,
                      4, NULL, err);
}

cp_result cp_store_session_create(cp_store *s, const char *user_id, const char *user_agent, const char *token_hash,
                                  int64_t now, int64_t expires_at, char *id, cp_error *err)
{
    cp_id_new(id);
    session_new sn = {user_id, user_agent ? user_agent : "", token_hash, now, expires_at, id};
    return cp_store_tx(s, tx_session_create, &sn, err);
}

typedef struct {
    const char *old_hash, *new_hash;
    int64_t now, expires_at;
    cp_refresh_outcome outcome;
    char *sid, *user_id;
} session_rotate;

typedef struct {
    char sid[CP_ID_LEN + 1];
    char user_id[64];
    int64_t expires_at;
    bool spent, session_live;
} token_row;

static void fill_token(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    token_row *t = out;
    snprintf(t->sid, sizeof t->sid, "%s", cp_dbrows_text(r, 0) ? cp_dbrows_text(r, 0) : "");
    snprintf(t->user_id, sizeof t->user_id, "%s", cp_dbrows_text(r, 1) ? cp_dbrows_text(r, 1) : "");
    t->expires_at = cp_dbrows_int(r, 2);
    t->spent = !cp_dbrows_isnull(r, 3);
    t->session_live = cp_dbrows_int(r, 4) != 0;
}

static cp_result revoke_in_tx(cp_dbconn *c, const char *sid, const char *reason, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PTEXT(reason), CP_PTEXT(sid)};
    return cp_db_exec(c, "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL", p,
                      3, NULL, err);
}

static cp_result tx_session_refresh(cp_dbconn *c, void *ctx, cp_error *err)
{
    session_rotate *sr = ctx;
    token_row t;
    sr->outcome = CP_REFRESH_INVALID;
    cp_param p[] = {CP_PINT(sr->now), CP_PTEXT(sr->old_hash)};
    cp_result r = cp_conn_one(c, NULL,
                              "SELECT t.session_id, s.user_id, t.expires_at, t.spent_at,"
                              " CASE WHEN s.revoked_at IS NULL AND s.expires_at > ? THEN 1 ELSE 0 END"
                              " FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id WHERE t.hash = ?",
                              p, 2, fill_token, &t, err);
    if (r == CP_ENOTFOUND) return CP_OK;
    if (r != CP_OK) return r;
    if (!t.session_live) return CP_OK;
    snprintf(sr->sid, CP_ID_LEN + 1, "%s", t.sid);
    snprintf(sr->user_id, 64, "%s", t.user_id);
    int64_t changes = 0;
    if (!t.spent && t.expires_at > sr->now) {
        /* Conditional: of two concurrent refreshes with one token, one spends it
         * and the other (on PostgreSQL, after waiting for the first) sees 0 rows. */
        cp_param q[] = {CP_PINT(sr->now), CP_PTEXT(sr->old_hash)};
        if ((r = cp_db_exec(c, "UPDATE refresh_tokens SET spent_at = ? WHERE hash = ? AND spent_at IS NULL", q, 2,
                            &changes, err)) != CP_OK)
            return r;
    } else if (!t.spent) {
        return CP_OK; /* expired, never used: simply invalid */
    }
    if (changes == 0) {
        sr->outcome = CP_REFRESH_REUSED;
        return revoke_in_tx(c, t.sid, "refresh_reuse", sr->now, err);
    }
    cp_param ins[] = {CP_PTEXT(sr->new_hash), CP_PTEXT(t.sid), CP_PINT(sr->now), CP_PINT(sr->expires_at)};
    if ((r = cp_db_exec(c, "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                        ins, 4, NULL, err)) != CP_OK)
        return r;
    cp_param up[] = {CP_PINT(sr->now), CP_PINT(sr->expires_at), CP_PTEXT(t.sid)};
    if ((r = cp_db_exec(c, "UPDATE sessions SET last_used_at = ?, expires_at = ? WHERE id = ?", up, 3, NULL, err)) !=
        CP_OK)
        return r;
    /* Spent tokens of this session older than the one just spent are kept
     * only as long as they could still be replayed (their own expiry). */
    cp_param del[] = {CP_PTEXT(t.sid), CP_PINT(sr->now)};
    if ((r = cp_db_exec(c, "DELETE FROM refresh_tokens WHERE session_id = ? AND expires_at < ?", del, 2, NULL, err)) !=
        CP_OK)
        return r;
    sr->outcome = CP_REFRESH_ROTATED;
    return CP_OK;
}

cp_result cp_store_session_refresh(cp_store *s, const char *old_hash, const char *new_hash, int64_t now,
                                   int64_t expires_at, cp_refresh_outcome *outcome, char *sid, char *user_id,
                                   cp_error *err)
{
    session_rotate sr = {old_hash, new_hash, now, expires_at, CP_REFRESH_INVALID, sid, user_id};
    sid[0] = user_id[0] = '\0';
    cp_result r = cp_store_tx(s, tx_session_refresh, &sr, err);
    *outcome = sr.outcome;
    return r;
}

typedef struct {
    cp_user *user; /* NULL: only the check */
    int64_t expires_at;
    int64_t data_version;
} session_row;

static void fill_session_user(cp_dbrows *r, cp_arena *a, void *out)
{
    session_row *row = out;
    row->expires_at = cp_dbrows_int(r, 4);
    row->data_version = cp_dbrows_int(r, 5);
    cp_user *u = row->user;
    if (!u) return;
    u->id = cp_dbrows_dup(r, 0, a);
    u->email = cp_dbrows_dup(r, 1, a);
    u->name = cp_dbrows_dup(r, 2, a);
    u->password_hash = NULL;
    u->created_at = cp_dbrows_int(r, 3);
}

/* One prepared statement per request, by both primary keys. The join
 * refuses a session whose user row is gone, whatever the foreign-key
 * settings of whoever deleted it. The data version comes along (one more
 * primary-key read, no round trip): the page cache needs it, read after
 * every write this request could have been told of, on any instance. */
/* A stream ticket or event stream opened with an API token carries "t:<token
 * id>" as its session: the token must still be live, for the same user. */
static cp_result token_session_read(cp_store *s, cp_arena *a, const char *token_id, const char *user_id, int64_t now,
                                    session_row *row, cp_error *err)
{
    cp_arena *tmp = a ? a : cp_arena_new(1024);
    cp_api_token t;
    cp_user u;
    cp_result r = cp_store_token_auth(s, tmp, token_id, now, &t, &u, &row->data_version, err);
    if (r == CP_OK && strcmp(u.id, user_id) != 0) r = CP_EAUTH;
    if (r == CP_OK) {
        row->expires_at = t.expires_at;
        if (row->user) *row->user = u;
    }
    if (!a) cp_arena_free(tmp);
    return r;
}

static cp_result session_read(cp_store *s, cp_arena *a, const char *sid, const char *user_id, int64_t now,
                              session_row *row, cp_error *err)
{
    if (!strncmp(sid, "t:", 2)) return token_session_read(s, a, sid + 2, user_id, now, row, err);
    cp_param p[] = {CP_PTEXT(sid), CP_PTEXT(user_id), CP_PINT(now)};
    cp_result r = cp_store_one(s, row->user ? a : NULL,
                               "SELECT u.id, u.email, u.name, u.created_at, s.expires_at,"
                               " (SELECT n FROM data_version WHERE id = 1) FROM sessions s"
                               " JOIN users u ON u.id = s.user_id"
                               " WHERE s.id = ? AND s.user_id = ? AND s.revoked_at IS NULL AND s.expires_at > ?",
                               p, 3, fill_session_user, row, "session", err);
    return r == CP_ENOTFOUND ? CP_EAUTH : r;
}

cp_result cp_store_session_user(cp_store *s, cp_arena *a, const char *sid, const char *user_id, int64_t now,
                                cp_user *out, int64_t *data_version, cp_error *err)
{
    session_row row = {.user = out};
    cp_result r = session_read(s, a, sid, user_id, now, &row, err);
    if (r == CP_OK && data_version) *data_version = row.data_version;
    return r;
}

cp_result cp_store_session_check_until(cp_store *s, const char *sid, const char *user_id, int64_t now,
                                       int64_t *expires_at, cp_error *err)
{
    session_row row = {0};
    cp_result r = session_read(s, NULL, sid, user_id, now, &row, err);
    if (r == CP_OK && expires_at) *expires_at = row.expires_at;
    return r;
}

cp_result cp_store_session_check(cp_store *s, const char *sid, const char *user_id, int64_t now, cp_error *err)
{
    return cp_store_session_check_until(s, sid, user_id, now, NULL, err);
}

cp_result cp_store_session_revoke(cp_store *s, const char *sid, const char *user_id, const char *reason, int64_t now,
                                  cp_error *err)
{
    int64_t changes = 0;
    cp_param p[] = {CP_PINT(now), CP_PTEXT(reason), CP_PTEXT(sid), CP_PTEXT(user_id)};
    cp_result r = cp_store_exec(s,
                                "UPDATE sessions SET revoked_at = ?, revoke_reason = ?"
                                " WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                                p, 4, &changes, err);
    if (r == CP_OK && changes == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "session not found");
    return r;
}

cp_result cp_store_sessions_revoke_all(cp_store *s, const char *user_id, const char *keep_sid, const char *reason,
                                       int64_t now, int64_t *n, cp_error *err)
{
    *n = 0;
    cp_param p[] = {CP_PINT(now), CP_PTEXT(reason), CP_PTEXT(user_id), CP_PTEXT(keep_sid ? keep_sid : "")};
    return cp_store_exec(s,
                         "UPDATE sessions SET revoked_at = ?, revoke_reason = ?"
                         " WHERE user_id = ? AND revoked_at IS NULL AND id <> ?",
                         p, 4, n, err);
}

static void fill_session(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_session *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->user_agent = cp_dbrows_dup(r, 1, a);
    x->created_at = cp_dbrows_int(r, 2);
    x->last_used_at = cp_dbrows_int(r, 3);
    x->expires_at = cp_dbrows_int(r, 4);
}

cp_result cp_store_sessions_list(cp_store *s, cp_arena *a, const char *user_id, int64_t now, cp_session **items,
                                 size_t *n, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(user_id), CP_PINT(now)};
    return cp_store_many(
        s, a,
        "SELECT id, user_agent, created_at, last_used_at, expires_at FROM sessions"
        " WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC",
        p, 2, fill_session, sizeof(cp_session), 200, (void **)items, n, err);
}
