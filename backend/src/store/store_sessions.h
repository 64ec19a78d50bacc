/* store_sessions.h (store.h declares the store itself and the types
 * these use): sign-in sessions and refresh tokens. */
#ifndef CP_STORE_SESSIONS_H
#define CP_STORE_SESSIONS_H

#include "store/store.h"

/* ---- sign-in sessions and refresh tokens (store_sessions.c) ---- */

typedef struct {
    char *id;
    char *user_agent;
    int64_t created_at, last_used_at, expires_at;
} cp_session;

typedef enum {
    CP_REFRESH_ROTATED, /* the token was live: spent now, its successor stored */
    CP_REFRESH_INVALID, /* unknown, expired, or its session has ended */
    CP_REFRESH_REUSED,  /* already spent: its whole session is now revoked */
} cp_refresh_outcome;

/* A new session for user_id with its first refresh token (only its hash is
 * stored); both expire at expires_at. id needs CP_ID_LEN + 1 bytes. */
cp_result cp_store_session_create(cp_store *s, const char *user_id, const char *user_agent, const char *token_hash,
                                  int64_t now, int64_t expires_at, char *id, cp_error *err) CP_MUST_CHECK;
/* Spends the refresh token old_hash and stores new_hash in its place, in one
 * transaction. *outcome says what happened; sid and user_id (CP_ID_LEN + 1
 * and 64 bytes) get the session's when it is not CP_REFRESH_INVALID. A reuse
 * commits the revocation and still returns CP_OK. */
cp_result cp_store_session_refresh(cp_store *s, const char *old_hash, const char *new_hash, int64_t now,
                                   int64_t expires_at, cp_refresh_outcome *outcome, char *sid, char *user_id,
                                   cp_error *err) CP_MUST_CHECK;
/* CP_OK when the session is user_id's, not revoked, not expired, and the user
 * still exists; CP_EAUTH when not; CP_ERR (err set) when the read failed. */
cp_result cp_store_session_check(cp_store *s, const char *sid, const char *user_id, int64_t now,
                                 cp_error *err) CP_MUST_CHECK;
/* The same check, in the same one statement, also reading the user (id,
 * email, name, created_at; password_hash NULL) into out, in a, and the data
 * version (cp_store_data_version) into *data_version (may be NULL): what
 * every authenticated request needs, so none reads them again. */
cp_result cp_store_session_user(cp_store *s, cp_arena *a, const char *sid, const char *user_id, int64_t now,
                                cp_user *out, int64_t *data_version, cp_error *err) CP_MUST_CHECK;
/* The same; on CP_OK *expires_at gets the session's end (ms) as it stands:
 * a refresh moves it later, so at that time check again. */
cp_result cp_store_session_check_until(cp_store *s, const char *sid, const char *user_id, int64_t now,
                                       int64_t *expires_at, cp_error *err) CP_MUST_CHECK;
/* Ends one of user_id's sessions (CP_ENOTFOUND when it is not one of theirs
 * or has already ended). */
cp_result cp_store_session_revoke(cp_store *s, const char *sid, const char *user_id, const char *reason, int64_t now,
                                  cp_error *err) CP_MUST_CHECK;
/* Ends every live session of user_id except keep_sid (NULL = all); *n gets
 * how many. */
cp_result cp_store_sessions_revoke_all(cp_store *s, const char *user_id, const char *keep_sid, const char *reason,
                                       int64_t now, int64_t *n, cp_error *err) CP_MUST_CHECK;
/* The live sessions of user_id, newest first, at most 200. */
cp_result cp_store_sessions_list(cp_store *s, cp_arena *a, const char *user_id, int64_t now, cp_session **items,
                                 size_t *n, cp_error *err) CP_MUST_CHECK;

#endif
