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

cp_result cp_jwt_sign(const cp_jwt_key *k, cp_jwt_claims *c, int64_t now, int64_t ttl, char out[CP_JWT_MAX])
{
    cp_rand_hex(c->jti, 16);
    c->iat = now / 1000;
    c->exp = now / 1000 + ttl;
    json_t *payload = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "sub", c->sub, "sid", c->sid, "aud", c->aud, "iat",
                                (json_int_t)c->iat, "exp", (json_int_t)c->exp, "jti", c->jti);
    if (payload && c->run[0]) json_object_set_new(payload, "run", json_string(c->run));
    char *pj = payload ? json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
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
    return CP_OK;
}

/* Copies a string claim into dst; false when missing or too long. An absent
 * optional claim leaves dst empty. */
static bool str_claim(json_t *p, const char *name, bool required, char *dst, size_t cap)
{
    json_t *v = json_object_get(p, name);
    dst[0] = '\0';
    if (!v) return !required;
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= cap || (required && !*s)) return false;
    memcpy(dst, s, strlen(s) + 1);
    return true;
}

static cp_result claims_from(json_t *p, const char *aud, int64_t now, cp_jwt_claims *out)
{
    json_t *exp = json_object_get(p, "exp"), *iat = json_object_get(p, "iat");
    if (!json_is_object(p) || !str_claim(p, "sub", true, out->sub, sizeof out->sub) ||
        !str_claim(p, "sid", true, out->sid, sizeof out->sid) ||
        !str_claim(p, "aud", true, out->aud, sizeof out->aud) ||
        !str_claim(p, "jti", true, out->jti, sizeof out->jti) || !str_claim(p, "run", false, out->run, sizeof out->run))
        return CP_EAUTH;
    if (strcmp(out->aud, aud) != 0 || !json_is_integer(exp) || !json_is_integer(iat) ||
        json_integer_value(exp) <= now / 1000)
        return CP_EAUTH;
    out->exp = json_integer_value(exp);
    out->iat = json_integer_value(iat);
    return CP_OK;
}

static json_t *decode_json(const char *b64, size_t len)
{
    unsigned char buf[CP_JWT_MAX];
    size_t n = 0;
    if (sodium_base642bin(buf, sizeof buf, b64, len, NULL, &n, NULL, B64) != 0) return NULL;
    return json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
}

cp_result cp_jwt_verify(const cp_jwt_key *k, const char *token, const char *aud, int64_t now, cp_jwt_claims *out)
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
    cp_result r = claims_from(p, aud, now, out);
    json_decref(p);
    return r;
}
