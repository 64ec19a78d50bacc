/* jwt.h: HS256 tokens: access tokens (aud "api") and stream tickets (aud
 * "stream"). The algorithm is pinned: a token whose header says anything but
 * {"alg":"HS256"} (including "none") is rejected before the signature is
 * looked at, and a token is only accepted for the audience it was made for. */
#ifndef CP_JWT_H
#define CP_JWT_H

#include "core/cp.h"

#define CP_JWT_KEY_MIN 32
#define CP_JWT_MAX 1024

typedef struct {
    unsigned char key[64];
    size_t key_len;
} cp_jwt_key;

#define CP_JWT_AUD_API "api"
#define CP_JWT_AUD_STREAM "stream"

typedef struct {
    char sub[64]; /* user id */
    char sid[32]; /* session id */
    char aud[16];
    char run[32]; /* stream tickets: the one run they open; "" otherwise (not in the token) */
    char jti[33];
    int64_t iat, exp;
} cp_jwt_claims;

/* Signs {sub, sid, aud, [run], iat, exp, jti} from c's sub, sid, aud and run;
 * fills c's jti, iat and exp. out gets the compact token. */
cp_result cp_jwt_sign(const cp_jwt_key *k, cp_jwt_claims *c, int64_t now, int64_t ttl,
                      char out[CP_JWT_MAX]) CP_MUST_CHECK;
/* CP_OK only for a well-formed, correctly signed, unexpired HS256 token with
 * a sid and exactly the audience aud. */
cp_result cp_jwt_verify(const cp_jwt_key *k, const char *token, const char *aud, int64_t now,
                        cp_jwt_claims *out) CP_MUST_CHECK;

#endif
