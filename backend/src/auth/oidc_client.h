/* oidc_client.h: what a login asks of an OIDC provider over HTTP (libcurl):
 * its discovery document, its JWKS (cached; refetched on an unknown kid, at
 * most once per the provider's jwks_refetch_seconds) and the code exchange.
 * Addresses go through the outbound policy (http/outbound.h): loopback and
 * private providers need CLOUDPLANE_OIDC_ALLOW_CIDRS. Errors name the step,
 * never the client secret, the code or a token. */
#ifndef CP_OIDC_CLIENT_H
#define CP_OIDC_CLIENT_H

#include "auth/oidc.h"

/* Fetches and checks the discovery document once (issuer must match),
 * caching its endpoints. The authorization endpoint is copied into auth_url
 * (cap bytes). CP_EAGAIN idp_unavailable when the provider cannot be read. */
cp_result cp_oidc_discover(const cp_oidc *o, cp_oidc_provider *p, char *auth_url, size_t cap,
                           cp_error *err) CP_MUST_CHECK;

/* Whether discovery was done: then the authorization endpoint is copied
 * into auth_url, with no network call. */
bool cp_oidc_discovered(cp_oidc_provider *p, char *auth_url, size_t cap);

/* Exchanges code (with the PKCE verifier) at the token endpoint and returns
 * the ID token's verified claims (signature only; cp_oidc_check_claims does
 * the rest). Caller owns *claims. */
cp_result cp_oidc_exchange(const cp_oidc *o, cp_oidc_provider *p, const char *code, const char *verifier,
                           const char *redirect_uri, json_t **claims, cp_error *err) CP_MUST_CHECK;

/* Verifies an ID token's signature against the cached JWKS, fetching it when
 * there is none yet or when the token's kid is unknown (rate-limited). */
cp_result cp_oidc_verify_id_token(const cp_oidc *o, cp_oidc_provider *p, const char *token, json_t **claims,
                                  cp_error *err) CP_MUST_CHECK;

#endif
