#include "auth/jwt.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stddef.h>
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

/* The general path (jansson), for tokens not in cp_jwt_sign's exact form:
 * a correctly signed token is valid however its JSON is spaced. */
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

/* The claims are read by a small strict parser instead of a jansson tree (a
 * tree per request cost more than the rest of the check). It runs only after
 * the signature matched, so it nearly always meets what cp_jwt_sign wrote: a
 * flat compact object of plain strings and integers. Anything else
 * (whitespace, escapes, other names) goes to the jansson path. */
enum { C_SUB = 1, C_SID = 2, C_AUD = 4, C_JTI = 8, C_RUN = 16, C_IAT = 32, C_EXP = 64 };

static bool claim_string(const char **pp, const char *end, char *dst, size_t cap)
{
    const char *p = *pp;
    if (p >= end || *p != '"') return false;
    const char *s = ++p;
    while (p < end && *p != '"') {
        if (*p == '\\' || (unsigned char)*p < 0x20) return false;
        p++;
    }
    if (p >= end || (size_t)(p - s) >= cap) return false;
    memcpy(dst, s, (size_t)(p - s));
    dst[p - s] = '\0';
    *pp = p + 1;
    return true;
}

static bool claim_int(const char **pp, const char *end, int64_t *out)
{
    const char *p = *pp;
    bool neg = p < end && *p == '-';
    if (neg) p++;
    int64_t v = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 18) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (!digits || (p < end && *p >= '0' && *p <= '9')) return false;
    *out = neg ? -v : v;
    *pp = p;
    return true;
}

static cp_result parse_claims(const char *p, size_t len, cp_jwt_claims *out)
{
    const char *end = p + len;
    unsigned seen = 0;
    out->run[0] = '\0';
    if (p >= end || *p++ != '{') return CP_EAUTH;
    for (;;) {
        char name[8];
        if (!claim_string(&p, end, name, sizeof name) || p >= end || *p++ != ':') return CP_EAUTH;
        static const struct {
            const char *name;
            unsigned bit;
            size_t off, cap;
        } strs[] = {
            {"sub", C_SUB, offsetof(cp_jwt_claims, sub), sizeof out->sub},
            {"sid", C_SID, offsetof(cp_jwt_claims, sid), sizeof out->sid},
            {"aud", C_AUD, offsetof(cp_jwt_claims, aud), sizeof out->aud},
            {"jti", C_JTI, offsetof(cp_jwt_claims, jti), sizeof out->jti},
            {"run", C_RUN, offsetof(cp_jwt_claims, run), sizeof out->run},
        };
        unsigned bit = 0;
        bool ok = false;
        for (size_t i = 0; i < sizeof strs / sizeof strs[0] && !bit; i++)
            if (!strcmp(name, strs[i].name)) {
                bit = strs[i].bit;
                ok = claim_string(&p, end, (char *)out + strs[i].off, strs[i].cap);
            }
        if (!bit && !strcmp(name, "iat")) {
            bit = C_IAT;
            ok = claim_int(&p, end, &out->iat);
        } else if (!bit && !strcmp(name, "exp")) {
            bit = C_EXP;
            ok = claim_int(&p, end, &out->exp);
        }
        if (!ok || (seen & bit)) return CP_EAUTH;
        seen |= bit;
        if (p >= end) return CP_EAUTH;
        if (*p == '}') break;
        if (*p++ != ',') return CP_EAUTH;
    }
    if (p + 1 != end) return CP_EAUTH;
    unsigned need = C_SUB | C_SID | C_AUD | C_JTI | C_IAT | C_EXP;
    if ((seen & need) != need || !out->sub[0] || !out->sid[0] || !out->aud[0] || !out->jti[0]) return CP_EAUTH;
    return CP_OK;
}

cp_result cp_jwt_verify(const cp_jwt_key *k, const char *token, const char *aud, int64_t now, cp_jwt_claims *out)
{
    size_t tlen = strnlen(token, CP_JWT_MAX);
    if (tlen == 0 || tlen >= CP_JWT_MAX) return CP_EAUTH;
    const char *d1 = memchr(token, '.', tlen);
    if (!d1) return CP_EAUTH;
    const char *d2 = memchr(d1 + 1, '.', tlen - (size_t)(d1 + 1 - token));
    if (!d2 || memchr(d2 + 1, '.', tlen - (size_t)(d2 + 1 - token))) return CP_EAUTH;

    /* Header first: pinned algorithm, nothing else accepted. The one
     * cp_jwt_sign writes is recognised without parsing it. */
    if ((size_t)(d1 - token) != sizeof header_b64 - 1 || memcmp(token, header_b64, sizeof header_b64 - 1) != 0) {
        json_t *hdr = decode_json(token, (size_t)(d1 - token));
        const char *alg = json_string_value(json_object_get(hdr, "alg"));
        bool alg_ok = alg && strcmp(alg, "HS256") == 0;
        json_decref(hdr);
        if (!alg_ok) return CP_EAUTH;
    }

    unsigned char sig[64];
    size_t siglen = 0;
    if (sodium_base642bin(sig, sizeof sig, d2 + 1, tlen - (size_t)(d2 + 1 - token), NULL, &siglen, NULL, B64) != 0 ||
        siglen != 32)
        return CP_EAUTH;
    unsigned char mac[32];
    if (!hmac256(k, token, (size_t)(d2 - token), mac) || CRYPTO_memcmp(mac, sig, 32) != 0) return CP_EAUTH;

    unsigned char buf[CP_JWT_MAX];
    size_t n = 0;
    if (sodium_base642bin(buf, sizeof buf, d1 + 1, (size_t)(d2 - d1 - 1), NULL, &n, NULL, B64) != 0) return CP_EAUTH;
    if (parse_claims((const char *)buf, n, out) != CP_OK) {
        json_t *p = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL);
        cp_result r = claims_from(p, aud, now, out);
        json_decref(p);
        return r;
    }
    if (strcmp(out->aud, aud) != 0 || out->exp <= now / 1000) return CP_EAUTH;
    return CP_OK;
}
