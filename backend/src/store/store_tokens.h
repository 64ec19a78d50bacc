/* store_tokens.h (store.h declares the store itself and the types
 * these use): API tokens. */
#ifndef CP_STORE_TOKENS_H
#define CP_STORE_TOKENS_H

#include "store/store.h"

/* ---- API tokens (store_tokens.c) ---- */

typedef struct {
    char *id;
    char *kind;            /* "personal" or "project" */
    char *user_id;         /* personal: the owner; project: the creator (NULL once gone) */
    char *project_id;      /* project tokens */
    char *service_user_id; /* project tokens: the user the token acts as */
    cp_role role;          /* project tokens; CP_ROLE_NONE for personal ones */
    char *scopes;          /* JSON array text */
    char *name;
    char *secret_hash; /* filled by cp_store_token_auth only */
    int64_t created_at, expires_at, last_used_at, revoked_at;
} cp_api_token;

/* Stores a new token (id and secret_hash made by the caller). A project
 * token also gets its service user and that user's membership with role, in
 * the same transaction. */
cp_result cp_store_token_create(cp_store *s, const cp_api_token *t, cp_error *err) CP_MUST_CHECK;
/* The token with this id if it is live at now (not revoked, not expired),
 * with the user it acts as; CP_EAUTH otherwise. One read per request, so a
 * revocation holds on every instance at once. */
cp_result cp_store_token_auth(cp_store *s, cp_arena *a, const char *id, int64_t now, cp_api_token *t, cp_user *as,
                              int64_t *data_version, cp_error *err) CP_MUST_CHECK;
/* last_used_at = now unless it was set less than a minute ago. */
cp_result cp_store_token_touch(cp_store *s, const char *id, int64_t now, cp_error *err) CP_MUST_CHECK;
/* Live (unrevoked) personal tokens of user_id, or project tokens of project_id, newest first. */
cp_result cp_store_tokens_list(cp_store *s, cp_arena *a, const char *user_id, const char *project_id,
                               cp_api_token **items, size_t *n, cp_error *err) CP_MUST_CHECK;
/* Revokes a personal token of user_id (project_id NULL) or a project token of
 * project_id; a project token's service user leaves the project. acting_user
 * gets the user the token acted as (in a). CP_ENOTFOUND when there is no such
 * live token. */
cp_result cp_store_token_revoke(cp_store *s, cp_arena *a, const char *id, const char *user_id, const char *project_id,
                                int64_t now, char **acting_user, cp_error *err) CP_MUST_CHECK;

#endif
