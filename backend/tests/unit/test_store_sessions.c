/* Sessions in the store, on SQLite and PostgreSQL: the live check, rotation,
 * reuse revoking the family, expiry, revoke-one/all and password change. */
#include <string.h>

#include "core/ids.h"
#include "store/store.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_sessions.h"

static cp_store *st;

static char *new_user(cp_arena *a, const char *email)
{
    cp_user u;
    cp_error e;
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "$argon2id$fake", &u, &e), CP_OK);
    return u.id;
}

TEST(session_rotation_and_reuse)
{
    cp_arena *a = cp_arena_new(1024);
    cp_error e;
    char *uid = new_user(a, "rot@example.com");
    char sid[CP_ID_LEN + 1], got_sid[CP_ID_LEN + 1], got_uid[64];
    CHECK_EQ(cp_store_session_create(st, uid, "ua", "h1", 1000, 100000, sid, &e), CP_OK);
    CHECK_EQ(cp_store_session_check(st, sid, uid, 2000, &e), CP_OK);
    CHECK_EQ(cp_store_session_check(st, sid, "someone-else", 2000, &e), CP_EAUTH);
    CHECK_EQ(cp_store_session_check(st, "01nosuchsessionnosuchsessi", uid, 2000, &e), CP_EAUTH);

    cp_refresh_outcome o;
    CHECK_EQ(cp_store_session_refresh(st, "h1", "h2", 3000, 200000, &o, got_sid, got_uid, &e), CP_OK);
    CHECK_EQ(o, CP_REFRESH_ROTATED);
    CHECK_STR(got_sid, sid);
    CHECK_STR(got_uid, uid);
    /* unknown token: invalid, and nothing revoked */
    CHECK_EQ(cp_store_session_refresh(st, "nope", "h9", 3500, 200000, &o, got_sid, got_uid, &e), CP_OK);
    CHECK_EQ(o, CP_REFRESH_INVALID);
    CHECK_EQ(cp_store_session_check(st, sid, uid, 4000, &e), CP_OK);
    /* h1 again: reuse, the whole family ends, h2 with it */
    CHECK_EQ(cp_store_session_refresh(st, "h1", "h3", 5000, 200000, &o, got_sid, got_uid, &e), CP_OK);
    CHECK_EQ(o, CP_REFRESH_REUSED);
    CHECK_STR(got_sid, sid);
    CHECK_EQ(cp_store_session_check(st, sid, uid, 6000, &e), CP_EAUTH);
    CHECK_EQ(cp_store_session_refresh(st, "h2", "h4", 7000, 200000, &o, got_sid, got_uid, &e), CP_OK);
    CHECK_EQ(o, CP_REFRESH_INVALID);
    cp_arena_free(a);
}

TEST(session_expiry_slides_on_refresh)
{
    cp_arena *a = cp_arena_new(1024);
    cp_error e;
    char *uid = new_user(a, "exp@example.com");
    char sid[CP_ID_LEN + 1], got_sid[CP_ID_LEN + 1], got_uid[64];
    CHECK_EQ(cp_store_session_create(st, uid, "", "e1", 1000, 10000, sid, &e), CP_OK);
    cp_refresh_outcome o;
    CHECK_EQ(cp_store_session_refresh(st, "e1", "e2", 9000, 19000, &o, got_sid, got_uid, &e), CP_OK);
    CHECK_EQ(o, CP_REFRESH_ROTATED);
    CHECK_EQ(cp_store_session_check(st, sid, uid, 15000, &e), CP_OK); /* past the first expiry */
    CHECK_EQ(cp_store_session_check(st, sid, uid, 19000, &e), CP_EAUTH);
    /* an expired token is invalid, not reuse */
    CHECK_EQ(cp_store_session_refresh(st, "e2", "e3", 20000, 30000, &o, got_sid, got_uid, &e), CP_OK);
    CHECK_EQ(o, CP_REFRESH_INVALID);
    cp_arena_free(a);
}

TEST(session_revoke_list_and_password)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    char *uid = new_user(a, "rev@example.com");
    char *other = new_user(a, "other@example.com");
    char s1[CP_ID_LEN + 1], s2[CP_ID_LEN + 1], s3[CP_ID_LEN + 1], so[CP_ID_LEN + 1];
    CHECK_EQ(cp_store_session_create(st, uid, "A", "r1", 1000, 100000, s1, &e), CP_OK);
    CHECK_EQ(cp_store_session_create(st, uid, "B", "r2", 1001, 100000, s2, &e), CP_OK);
    CHECK_EQ(cp_store_session_create(st, uid, "C", "r3", 1002, 100000, s3, &e), CP_OK);
    CHECK_EQ(cp_store_session_create(st, other, "O", "ro", 1003, 100000, so, &e), CP_OK);
    cp_session *items;
    size_t n;
    CHECK_EQ(cp_store_sessions_list(st, a, uid, 2000, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 3u);
    CHECK_STR(items[0].id, s3); /* newest first */
    CHECK_STR(items[2].user_agent, "A");
    /* someone else's session is not found, and stays live */
    CHECK_EQ(cp_store_session_revoke(st, so, uid, "revoked", 2000, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_session_check(st, so, other, 2000, &e), CP_OK);
    CHECK_EQ(cp_store_session_revoke(st, s3, uid, "logout", 2000, &e), CP_OK);
    CHECK_EQ(cp_store_session_revoke(st, s3, uid, "logout", 2000, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_sessions_list(st, a, uid, 2000, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 2u);
    /* password change: keep s1, end the rest */
    CHECK_EQ(cp_store_user_set_password(st, uid, "$argon2id$new", &e), CP_OK);
    int64_t revoked = -1;
    CHECK_EQ(cp_store_sessions_revoke_all(st, uid, s1, "password_change", 3000, &revoked, &e), CP_OK);
    CHECK_EQ(revoked, 1);
    CHECK_EQ(cp_store_session_check(st, s1, uid, 3000, &e), CP_OK);
    CHECK_EQ(cp_store_session_check(st, s2, uid, 3000, &e), CP_EAUTH);
    CHECK_EQ(cp_store_sessions_revoke_all(st, uid, NULL, "revoke_all", 4000, &revoked, &e), CP_OK);
    CHECK_EQ(revoked, 1);
    CHECK_EQ(cp_store_session_check(st, s1, uid, 4000, &e), CP_EAUTH);
    CHECK_EQ(cp_store_session_check(st, so, other, 4000, &e), CP_OK);
    cp_user u;
    CHECK_EQ(cp_store_user_by_id(st, a, uid, &u, &e), CP_OK);
    CHECK_STR(u.password_hash, "$argon2id$new");
    CHECK_EQ(cp_store_user_set_password(st, "01nosuchusernosuchusernosu", "x", &e), CP_ENOTFOUND);
    cp_arena_free(a);
}

static int64_t rows_of(const char *sql, const char *id)
{
    cp_db *db = cp_store_db(st);
    cp_dbconn *c = cp_db_acquire(db);
    cp_dbrows *rows;
    cp_error e;
    cp_param p[] = {CP_PTEXT(id)};
    int64_t n = -1;
    if (cp_db_query(c, sql, p, 1, &rows, &e) == CP_OK) {
        if (cp_dbrows_next(rows)) n = cp_dbrows_int(rows, 0);
        cp_dbrows_free(rows);
    }
    cp_db_release(db, c);
    return n;
}

TEST(ended_sessions_are_dropped_at_the_next_sign_in)
{
    cp_arena *a = cp_arena_new(1024);
    cp_error e;
    char *uid = new_user(a, "purge@example.com");
    const int64_t day = 24LL * 3600 * 1000;
    char gone[CP_ID_LEN + 1], recent[CP_ID_LEN + 1], live[CP_ID_LEN + 1], fresh[CP_ID_LEN + 1];
    CHECK_EQ(cp_store_session_create(st, uid, "", "p1", 1000, 2 * day, gone, &e), CP_OK);
    CHECK_EQ(cp_store_session_create(st, uid, "", "p2", 1000, 40 * day, recent, &e), CP_OK);
    CHECK_EQ(cp_store_session_create(st, uid, "", "p3", 1000, 40 * day, live, &e), CP_OK);
    CHECK_EQ(cp_store_session_revoke(st, recent, uid, "logout", 5 * day, &e), CP_OK);
    /* day 10: the first expired 8 days ago, the second was revoked 5 days ago */
    CHECK_EQ(cp_store_session_create(st, uid, "", "p4", 10 * day, 40 * day, fresh, &e), CP_OK);
    CHECK_EQ(rows_of("SELECT COUNT(*) FROM sessions WHERE id = ?", gone), 0);
    CHECK_EQ(rows_of("SELECT COUNT(*) FROM refresh_tokens WHERE session_id = ?", gone), 0);
    CHECK_EQ(rows_of("SELECT COUNT(*) FROM sessions WHERE id = ?", recent), 1);
    CHECK_EQ(rows_of("SELECT COUNT(*) FROM sessions WHERE id = ?", live), 1);
    CHECK_EQ(cp_store_session_check(st, live, uid, 10 * day, &e), CP_OK);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(session_rotation_and_reuse),
        T_CASE(session_expiry_slides_on_refresh),
        T_CASE(session_revoke_list_and_password),
        T_CASE(ended_sessions_are_dropped_at_the_next_sign_in),
    };
    return tsu_main(&(tsu_suite){"sessions", 4, &st, NULL, cases, CP_ARRAY_LEN(cases)});
}
