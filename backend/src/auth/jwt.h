/* jwt.h: HS256 access tokens. The algorithm is pinned: a token whose header
 * says anything but {"alg":"HS256"} (including "none") is rejected before the
 * signature is looked at. */
#ifndef CP_JWT_H
#define CP_JWT_H

#include "core/cp.h"

#define CP_JWT_KEY_MIN 32
#define CP_JWT_MAX 1024

typedef struct {
    unsigned char key[64];
    size_t key_len;
} cp_jwt_key;

typedef struct {
    char sub[64];
    char jti[33];
    int64_t iat, exp;
} cp_jwt_claims;

/* Signs {sub, iat, exp, jti}; out gets the compact token. */
cp_result cp_jwt_sign(const cp_jwt_key *k, const char *sub, int64_t now, int64_t ttl, char out[CP_JWT_MAX],
                      cp_jwt_claims *claims) CP_MUST_CHECK;
/* CP_OK only for a well-formed, correctly signed, unexpired HS256 token. */
cp_result cp_jwt_verify(const cp_jwt_key *k, const char *token, int64_t now, cp_jwt_claims *out) CP_MUST_CHECK;

#endif
