/* store_sso.h (store.h declares the store itself and the types
 * these use): single sign-on sign-ins and identities. */
#ifndef CP_STORE_SSO_H
#define CP_STORE_SSO_H

#include "store/store.h"

/* ---- single sign-on (store_sso.c) ---- */

/* A sign-in on its way through an OIDC provider, keyed by its state's hash. */
typedef struct {
    const char *state_hash, *provider_id, *nonce, *verifier, *return_to;
    int64_t created_at, expires_at;
} cp_oidc_login;
/* Stores l (and drops expired ones). */
cp_result cp_store_oidc_login_add(cp_store *s, const cp_oidc_login *l, cp_error *err) CP_MUST_CHECK;
/* Takes l back once: deletes it and reads it into out (strings in a).
 * CP_ENOTFOUND for an unknown, used or expired state. */
cp_result cp_store_oidc_login_take(cp_store *s, cp_arena *a, const char *state_hash, int64_t now, cp_oidc_login *out,
                                   cp_error *err) CP_MUST_CHECK;

typedef struct {
    const char *issuer, *subject, *provider_id, *email, *name;
    bool may_link;   /* an account of this email may be linked (verified email, linking allowed) */
    bool may_create; /* a new user may be made */
} cp_sso_identity;
typedef enum { CP_SSO_KNOWN, CP_SSO_LINKED, CP_SSO_CREATED } cp_sso_outcome;
/* In one transaction: the user (issuer, subject) signed in as before; else,
 * when may_link, the user of the same email, now linked; else a new user
 * that has no password, when may_create. CP_ECONFLICT email_taken when the
 * email has an account that may not be linked; CP_EFORBIDDEN
 * sso_signup_disabled when a new user would be needed but may not be made. */
cp_result cp_store_sso_user(cp_store *s, cp_arena *a, const cp_sso_identity *id, int64_t now, cp_user *out,
                            cp_sso_outcome *outcome, cp_error *err) CP_MUST_CHECK;
/* Gives user_id role in the project whose id or (unique) name is project:
 * adds the membership, or raises a lower role; never lowers one. *changed
 * says whether anything was written; *project_id the project (in a).
 * CP_ENOTFOUND when no single live project matches. */
cp_result cp_store_sso_grant(cp_store *s, cp_arena *a, const char *user_id, const char *project, cp_role role,
                             int64_t now, bool *changed, const char **project_id, cp_error *err) CP_MUST_CHECK;

#endif
