/* store_invitations.h (store.h declares the store itself and the types
 * these use): sign-up tokens and project invitations. */
#ifndef CP_STORE_INVITATIONS_H
#define CP_STORE_INVITATIONS_H

#include "store/store.h"

/* ---- sign-up tokens and project invitations (store_invitations.c) ---- */

/* Tokens are looked up by token_hash, the hex SHA-256 of the mailed token
 * (api/invitations.c makes both); the store never sees a token. Emails are
 * lower-cased by the caller. A token past expires_at, or already used, is
 * simply not found: callers answer one identical error for all of them. */

/* Records a sign-up request for email. */
cp_result cp_store_signup_token_add(cp_store *s, const char *token_hash, const char *email, int64_t now,
                                    int64_t expires_at, cp_error *err) CP_MUST_CHECK;
/* CP_OK while a sign-up (invitation false) or invitation token hash is
 * unused and unexpired, else CP_ENOTFOUND: a cheap check before the caller
 * spends an argon2id hash on a sign-up that cannot succeed. */
cp_result cp_store_token_live(cp_store *s, bool invitation, const char *token_hash, int64_t now,
                              cp_error *err) CP_MUST_CHECK;
/* In one transaction: marks the token used and creates the user with its
 * email. CP_ENOTFOUND for an unknown, used or expired token; CP_ECONFLICT
 * (email_taken) when the email got an account meanwhile. */
cp_result cp_store_signup_complete(cp_store *s, cp_arena *a, const char *token_hash, int64_t now, const char *name,
                                   const char *password_hash, cp_user *out, cp_error *err) CP_MUST_CHECK;

typedef enum { CP_INV_PENDING, CP_INV_ACCEPTED, CP_INV_DECLINED, CP_INV_REVOKED } cp_inv_status;
const char *cp_inv_status_name(cp_inv_status st);

typedef struct {
    char *id;
    char *project_id;
    char *project_name;
    char *email;
    char *invited_by;       /* user id; NULL once that user is gone */
    char *invited_by_email; /* NULL likewise */
    cp_role role;
    cp_inv_status status;
    int64_t created_at, expires_at;
} cp_invitation;

/* A pending invitation; older pending ones to the same email in the project
 * are revoked (the newest link is the one that works). CP_ECONFLICT
 * (already_member) when the email belongs to a member: the inviter sees the
 * member list anyway, so this reveals nothing about other accounts. */
cp_result cp_store_invitation_create(cp_store *s, cp_arena *a, const char *project_id, const char *email, cp_role role,
                                     const char *token_hash, const char *invited_by, int64_t now, int64_t expires_at,
                                     cp_invitation *out, cp_error *err) CP_MUST_CHECK;
/* Pending, unexpired invitations of a project, newest first. */
cp_result cp_store_invitations_list(cp_store *s, cp_arena *a, const char *project_id, int64_t now,
                                    cp_invitation **items, size_t *n, cp_error *err) CP_MUST_CHECK;
/* Pending, unexpired invitations addressed to email, newest first. */
cp_result cp_store_invitations_for_email(cp_store *s, cp_arena *a, const char *email, int64_t now,
                                         cp_invitation **items, size_t *n, cp_error *err) CP_MUST_CHECK;
/* A pending, unexpired invitation of the project; CP_ENOTFOUND otherwise. */
cp_result cp_store_invitation_get(cp_store *s, cp_arena *a, const char *project_id, const char *id, int64_t now,
                                  cp_invitation *out, cp_error *err) CP_MUST_CHECK;
/* CP_ENOTFOUND unless the invitation is pending in that project. */
cp_result cp_store_invitation_revoke(cp_store *s, const char *project_id, const char *id, int64_t now,
                                     cp_error *err) CP_MUST_CHECK;

/* Which pending invitation an accept or decline names: by the mailed token's
 * hash, or by id (from the invitee's own list). Either way it must be
 * addressed to email and unexpired, else CP_ENOTFOUND. */
typedef struct {
    const char *token_hash; /* or NULL */
    const char *id;         /* or NULL */
    const char *email;
} cp_inv_key;
/* Makes user_id a member with the invitation's role (an existing member
 * keeps the role they have) and ends the invitation, in one transaction.
 * *out (may be NULL) gets the invitation. */
cp_result cp_store_invitation_accept(cp_store *s, cp_arena *a, const cp_inv_key *key, const char *user_id, int64_t now,
                                     cp_invitation *out, cp_error *err) CP_MUST_CHECK;
/* Ends the invitation as declined; *out (may be NULL) gets it. */
cp_result cp_store_invitation_decline(cp_store *s, cp_arena *a, const cp_inv_key *key, int64_t now, cp_invitation *out,
                                      cp_error *err) CP_MUST_CHECK;
/* Sign-up through an invitation link: creates the user with the invited
 * email, the membership, and ends the invitation, in one transaction.
 * CP_ENOTFOUND for an unknown, ended or expired token; CP_ECONFLICT
 * (account_exists) when the email already has an account (only the holder
 * of the mailed link can learn that). */
cp_result cp_store_invitation_signup(cp_store *s, cp_arena *a, const char *token_hash, int64_t now, const char *name,
                                     const char *password_hash, cp_user *user, cp_invitation *inv,
                                     cp_error *err) CP_MUST_CHECK;

#endif
