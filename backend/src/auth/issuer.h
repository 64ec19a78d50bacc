/* issuer.h: cloudplane as an OIDC issuer for runs (workload identity). Owns
 * the issuer's signing keys (RS256, a private JWK Set: the first key signs,
 * every key is published, so a rotated-out key still verifies the tokens it
 * signed until they expire), the public JWKS and discovery documents, and the
 * tokens the worker mints per run phase. Every JWS/JWK operation goes through
 * cjose. Thread-safe after load: the keys are read-only. */
#ifndef CP_ISSUER_H
#define CP_ISSUER_H

#include <jansson.h>

#include "core/error.h"

#define CP_ISSUER_MAX_KEYS 8
#define CP_ISSUER_MAX_LIFETIME 7200 /* seconds: a token never outlives 2 h */
#define CP_ISSUER_ALG "RS256"

typedef struct cp_issuer cp_issuer;

/* A private JWK Set ({"keys":[...]}, RSA keys with kid) into an issuer.
 * CP_EINVAL naming what is wrong (never a key's value). */
cp_result cp_issuer_load(const char *jwks_text, cp_issuer **out, cp_error *err) CP_MUST_CHECK;
void cp_issuer_free(cp_issuer *iss);
/* A new private JWK Set: a fresh key first, then the keys of old_text (may be
 * NULL), at most CP_ISSUER_MAX_KEYS in all. Caller wipes and frees. NULL with
 * err set when old_text does not load. */
char *cp_issuer_rotate(const char *old_text, cp_error *err);
/* The kid of the signing key (static to iss). */
const char *cp_issuer_kid(const cp_issuer *iss);

/* {"keys":[public JWKs with kid, use, alg]}. Caller owns the reference. */
json_t *cp_issuer_jwks(const cp_issuer *iss);
/* The discovery document of issuer_url (no trailing slash). Caller owns. */
json_t *cp_issuer_discovery(const char *issuer_url);

/* The claims of one run-phase token. */
typedef struct {
    const char *issuer;     /* the public URL */
    const char *audience;   /* the account's */
    const char *project_id; /* platform ids */
    const char *account_id;
    const char *run_id;
    const char *resource_id;
    const char *phase; /* "plan" | "apply" | "destroy" */
    int64_t now;       /* seconds since the epoch */
    int64_t lifetime;  /* seconds; capped at CP_ISSUER_MAX_LIFETIME, at least 60 */
} cp_issuer_claims;

/* The subject of a run-phase token: project:<id>:account:<id>:run_phase:<phase>. */
void cp_issuer_subject(char *out, size_t cap, const char *project_id, const char *account_id, const char *phase);
/* Signs {iss, sub, aud, exp, iat, nbf, jti, project_id, account_id, run_id,
 * resource_id, run_phase} with the first key. Caller wipes and frees the
 * compact token. NULL with err set on a bad phase or a signing failure. */
char *cp_issuer_mint(const cp_issuer *iss, const cp_issuer_claims *c, cp_error *err);
/* Checks a token against the published keys (kid, RS256, signature) and its
 * iss and time window at now; *claims (caller owns) gets the payload. */
cp_result cp_issuer_verify(const cp_issuer *iss, const char *token, const char *issuer_url, int64_t now,
                           json_t **claims, cp_error *err) CP_MUST_CHECK;

#endif
