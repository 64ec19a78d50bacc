#include "auth/jwt.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static bool hmac256(const cp_jwt_key *k, const char *data, size_t len, unsigned char mac[32])
{
    unsigned int maclen = 0;
    return HMAC(EVP_sha256(), k->key, (int)k->key_len, (const unsigned char *)data, len, mac, &maclen) && maclen == 32;
}

/* Fixed header: {"alg":"HS256","typ":"JWT"} */
static const char header_b64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

cp_result cp_jwt_sign(const cp_jwt_key *k, const char *sub, int64_t now, int64_t ttl, char out[CP_JWT_MAX],
                      cp_jwt_claims *claims)
{
    char jti[33];
    cp_rand_hex(jti, 16);
    json_t *payload = json_pack("{s:s, s:I, s:I, s:s}", "sub", sub, "iat", (json_int_t)(now / 1000), "exp",
                                (json_int_t)(now / 1000 + ttl), "jti", jti);
    char *pj = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(payload);
    if (!pj) return CP_ERR;
    size_t plen = strlen(pj);
    if (sodium_base64_ENCODED_LEN(plen, B64) + sizeof header_b64 + 48 > CP_JWT_MAX) {
        free(pj);
        return CP_ERR;
    }
    size_t pos = (size_t)snprintf(out, CP_JWT_MAX, "%s.", header_b64);
    sodium_bin2base64(out + pos, CP_JWT_MAX - pos, (const unsigned char *)pj, plen, B64);
    free(pj);
    pos += strlen(out + pos);
    unsigned char mac[32];
    if (!hmac256(k, out, pos, mac)) return CP_ERR;
    out[pos++] = '.';
    sodium_bin2base64(out + pos, CP_JWT_MAX - pos, mac, sizeof mac, B64);
    if (claims) {
        snprintf(claims->sub, sizeof claims->sub, "%s", sub);
        memcpy(claims->jti, jti, sizeof jti);
        claims->iat = now / 1000;
        claims->exp = now / 1000 + ttl;
    }
    return CP_OK;
}

static json_t *decode_json(const char *b64, size_t len)
{
    unsigned char buf[CP_JWT_MAX];
    size_t n = 0;
    if (sodium_base642bin(buf, sizeof buf, b64, len, NULL, &n, NULL, B64) != 0) return NULL;
    return json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
}

cp_result cp_jwt_verify(const cp_jwt_key *k, const char *token, int64_t now, cp_jwt_claims *out)
{
    size_t tlen = strnlen(token, CP_JWT_MAX);
    if (tlen == 0 || tlen >= CP_JWT_MAX) return CP_EAUTH;
    const char *d1 = memchr(token, '.', tlen);
    if (!d1) return CP_EAUTH;
    const char *d2 = memchr(d1 + 1, '.', tlen - (size_t)(d1 + 1 - token));
    if (!d2 || memchr(d2 + 1, '.', tlen - (size_t)(d2 + 1 - token))) return CP_EAUTH;

    /* Header first: pinned algorithm, nothing else accepted. */
    json_t *hdr = decode_json(token, (size_t)(d1 - token));
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    bool alg_ok = alg && strcmp(alg, "HS256") == 0;
    json_decref(hdr);
    if (!alg_ok) return CP_EAUTH;

    unsigned char sig[64];
    size_t siglen = 0;
    if (sodium_base642bin(sig, sizeof sig, d2 + 1, tlen - (size_t)(d2 + 1 - token), NULL, &siglen, NULL, B64) != 0 ||
        siglen != 32)
        return CP_EAUTH;
    unsigned char mac[32];
    if (!hmac256(k, token, (size_t)(d2 - token), mac) || CRYPTO_memcmp(mac, sig, 32) != 0) return CP_EAUTH;

    json_t *p = decode_json(d1 + 1, (size_t)(d2 - d1 - 1));
    const char *sub = json_string_value(json_object_get(p, "sub"));
    const char *jti = json_string_value(json_object_get(p, "jti"));
    json_t *exp = json_object_get(p, "exp"), *iat = json_object_get(p, "iat");
    cp_result r = CP_EAUTH;
    if (sub && jti && json_is_integer(exp) && json_is_integer(iat) && strlen(sub) < sizeof out->sub &&
        strlen(jti) < sizeof out->jti && json_integer_value(exp) > now / 1000) {
        snprintf(out->sub, sizeof out->sub, "%s", sub);
        snprintf(out->jti, sizeof out->jti, "%s", jti);
        out->exp = json_integer_value(exp);
        out->iat = json_integer_value(iat);
        r = CP_OK;
    }
    json_decref(p);
    return r;
}
