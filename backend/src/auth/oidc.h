/* oidc.h: single sign-on through OpenID Connect, cloudplane as the relying
 * party. This module owns the operator's providers (CLOUDPLANE_OIDC_PROVIDERS_FILE)
 * and the pure parts of a login: PKCE, ID token signature checks against a
 * JWKS (cjose) and claim checks. Fetching discovery, the JWKS and tokens is
 * oidc_client.h; the HTTP routes are api/oidc.c.
 *
 * The providers file is JSON:
 *   {"providers": [{
 *      "id": "corp",                       [a-z0-9_-], at most 32
 *      "name": "Corp SSO",                 shown on the login button
 *      "issuer": "https://idp.example",    discovery: <issuer>/.well-known/openid-configuration
 *      "client_id": "cloudplane",
 *      "client_secret_file": "/run/secrets/corp" | "client_secret_env": "CORP_OIDC_SECRET",
 *      "scopes": ["openid", "email", "profile"],      optional; openid is always sent
 *      "email_claim": "email",                        optional
 *      "allowed_domains": ["example.com"],            optional; empty = any
 *      "groups_claim": "groups",                      optional, with group_roles
 *      "group_roles": [{"group": "platform", "project": "<name or id>", "role": "admin"}],
 *      "linking": "link_verified_email" | "create_only",   default create_only
 *      "create_users": true,                false: only people who already have
 *                                           an account (signed in before, or
 *                                           linked) may sign in
 *      "email_verified_default": false,     what a missing email_verified claim means
 *      "jwks_refetch_seconds": 10           at most one JWKS fetch per this many seconds
 *   }]}
 * The client secret is never in the file itself, never logged, never in a
 * reply. */
#ifndef CP_OIDC_H
#define CP_OIDC_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

#include "core/config.h"
#include "core/error.h"

struct cp_proxies;

#define CP_OIDC_ID_MAX 32
/* PKCE verifier, state and nonce: 32 random bytes, base64url (43 chars). */
#define CP_OIDC_RANDOM_LEN 43

typedef enum { CP_OIDC_CREATE_ONLY, CP_OIDC_LINK_VERIFIED_EMAIL } cp_oidc_linking;

typedef struct {
    char *group;
    char *project; /* a project's id or name */
    int role;      /* cp_role (store/store.h) */
} cp_oidc_group_role;

typedef struct cp_oidc_provider {
    char *id, *name, *issuer, *client_id;
    char *client_secret; /* secret: zeroed on free */
    char *scopes;        /* space-separated, openid first */
    char *email_claim;
    char **domains;
    size_t ndomains;
    char *groups_claim; /* NULL: no group mapping */
    cp_oidc_group_role *group_roles;
    size_t ngroup_roles;
    cp_oidc_linking linking;
    bool create_users;
    bool email_verified_default;
    long jwks_refetch_seconds;

    /* What oidc_client.c learns and caches, under mu. */
    pthread_mutex_t mu;
    char *authorization_endpoint, *token_endpoint, *jwks_uri;
    json_t *jwks;
    int64_t jwks_fetched_ms; /* monotonic; 0 = never */
} cp_oidc_provider;

typedef struct cp_oidc {
    cp_oidc_provider *providers;
    size_t n;
    struct cp_proxies *allow; /* CLOUDPLANE_OIDC_ALLOW_CIDRS; may be NULL */
    long timeout_ms;
} cp_oidc;

/* Parses the providers file text; secrets are read from their file or env
 * var. On failure err says which provider and field. Caller owns *out
 * (cp_oidc_free). */
cp_result cp_oidc_parse(const char *text, cp_oidc **out, cp_error *err) CP_MUST_CHECK;
/* Reads path and parses it (cp_oidc_parse); allow_cidrs may be "". */
cp_result cp_oidc_load(const char *path, const char *allow_cidrs, cp_oidc **out, cp_error *err) CP_MUST_CHECK;
void cp_oidc_free(cp_oidc *o);
/* The providers the config names (*out NULL when none). Refuses
 * CLOUDPLANE_LOCAL_PASSWORDS=false without a provider: nobody could sign in. */
cp_result cp_oidc_configure(const cp_config *cfg, cp_oidc **out, cp_error *err) CP_MUST_CHECK;
cp_oidc_provider *cp_oidc_find(const cp_oidc *o, const char *id);

/* 32 random bytes as base64url without padding (state, nonce, verifier). */
void cp_oidc_random(char out[CP_OIDC_RANDOM_LEN + 1]);
/* The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
void cp_oidc_pkce_challenge(const char *verifier, char out[CP_OIDC_RANDOM_LEN + 1]);

/* Verifies a compact JWS against a JWKS ({"keys": [...]}): alg RS256 or
 * ES256 with a key of the matching type, the key picked by kid (or the only
 * key of that type when the token names none). *claims gets the payload
 * (caller owns). CP_ENOTFOUND (code unknown_kid) when no key matches: the
 * caller may refetch the JWKS and try again; CP_EAUTH for anything else. */
cp_result cp_oidc_verify_jws(const char *token, json_t *jwks, json_t **claims, cp_error *err) CP_MUST_CHECK;

/* Who the ID token says signed in, after cp_oidc_check_claims. Strings point
 * into the claims object. */
typedef struct {
    const char *subject;
    const char *email; /* lower-cased copy, heap: cp_oidc_identity_free */
    const char *name;  /* may be NULL */
    bool email_verified;
    json_t *groups; /* the groups claim (array of strings), or NULL */
} cp_oidc_identity;

/* Checks iss, aud (and azp when present), exp and iat (each with skew
 * seconds of leeway), nonce, an email in the configured claim, and the
 * allowed domains. CP_EAUTH with a code saying which check failed. */
cp_result cp_oidc_check_claims(const cp_oidc_provider *p, json_t *claims, const char *nonce, int64_t now_s,
                               int64_t skew_s, cp_oidc_identity *out, cp_error *err) CP_MUST_CHECK;
void cp_oidc_identity_free(cp_oidc_identity *id);

/* The roles the identity's groups give: for each group_roles entry whose
 * group is in the groups claim, calls fn. */
void cp_oidc_each_group_role(const cp_oidc_provider *p, const cp_oidc_identity *id,
                             void (*fn)(const cp_oidc_group_role *gr, void *ctx), void *ctx);

#endif
