/* issuer.c: the run-token issuer's keys, documents, and tokens (issuer.h),
 * on cjose for every JWK and JWS operation. */
#include "auth/issuer.h"

#include <cjose/cjose.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"

#define RSA_BITS 2048

struct cp_issuer {
    cjose_jwk_t *keys[CP_ISSUER_MAX_KEYS];
    size_t n;
};

/* The RFC 7638 thumbprint of an RSA public key: SHA-256 over its required
 * members in lexical order, base64url. A kid that names the key, not a counter. */
static bool thumbprint(const cjose_jwk_t *jwk, char *out, size_t cap)
{
    cjose_err ce;
    char *pub = cjose_jwk_to_json(jwk, false, &ce);
    json_t *j = pub ? json_loads(pub, 0, NULL) : NULL;
    free(pub);
    const char *e = json_string_value(json_object_get(j, "e")), *n = json_string_value(json_object_get(j, "n"));
    bool ok = e && n;
    if (ok) {
        json_t *req = json_pack("{s:s, s:s, s:s}", "e", e, "kty", "RSA", "n", n);
        char *canon = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)canon, strlen(canon));
        ok = cap >= sodium_base64_ENCODED_LEN(sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        if (ok) sodium_bin2base64(out, cap, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        free(canon);
        json_decref(req);
    }
    json_decref(j);
    return ok;
}

static cjose_jwk_t *new_key(void)
{
    static const uint8_t e[] = {0x01, 0x00, 0x01};
    cjose_err ce;
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(RSA_BITS, e, sizeof e, &ce);
    char kid[64];
    if (!k || !thumbprint(k, kid, sizeof kid) || !cjose_jwk_set_kid(k, kid, strlen(kid), &ce)) {
        cjose_jwk_release(k);
        return NULL;
    }
    return k;
}

void cp_issuer_free(cp_issuer *iss)
{
    if (!iss) return;
    for (size_t i = 0; i < iss->n; i++) cjose_jwk_release(iss->keys[i]);
    free(iss);
}

cp_result cp_issuer_load(const char *jwks_text, cp_issuer **out, cp_error *err)
{
    *out = NULL;
    json_t *doc = json_loads(jwks_text ? jwks_text : "", JSON_REJECT_DUPLICATES, NULL);
    json_t *keys = json_object_get(doc, "keys");
    cp_result r = CP_OK;
    cp_issuer *iss = calloc(1, sizeof *iss);
    if (!iss) abort();
    if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > CP_ISSUER_MAX_KEYS) {
        r = cp_error_set(err, CP_EINVAL, "issuer_keys", NULL,
                         "the issuer keys must be a JWK Set {\"keys\":[...]} of 1 to %d keys", CP_ISSUER_MAX_KEYS);
        goto out;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        char *text = json_dumps(k, JSON_COMPACT);
        cjose_err ce;
        cjose_jwk_t *jwk = text ? cjose_jwk_import(text, strlen(text), &ce) : NULL;
        if (text) sodium_memzero(text, strlen(text));
        free(text);
        const char *kid = jwk ? cjose_jwk_get_kid(jwk, &ce) : NULL;
        /* Only private RSA keys with a kid: a public key cannot sign, and a
         * verifier picks the key by kid. */
        if (!jwk || cjose_jwk_get_kty(jwk, &ce) != CJOSE_JWK_KTY_RSA || !kid || !kid[0] || !json_object_get(k, "d")) {
            cjose_jwk_release(jwk);
            r = cp_error_set(err, CP_EINVAL, "issuer_keys", NULL, "issuer key %zu is not a private RSA JWK with a kid",
                             i + 1);
            goto out;
        }
        iss->keys[iss->n++] = jwk;
    }
out:
    json_decref(doc);
    if (r != CP_OK) {
        cp_issuer_free(iss);
        return r;
    }
    *out = iss;
    return CP_OK;
}

char *cp_issuer_rotate(const char *old_text, cp_error *err)
{
    cp_issuer *old = NULL;
    if (old_text && cp_issuer_load(old_text, &old, err) != CP_OK) return NULL;
    cjose_jwk_t *fresh = new_key();
    if (!fresh) {
        cp_issuer_free(old);
        cp_error_set(err, CP_ERR, "issuer_keys", NULL, "cannot generate an issuer key");
        return NULL;
    }
    json_t *arr = json_array();
    cjose_jwk_t *all[CP_ISSUER_MAX_KEYS];
    size_t n = 0;
    all[n++] = fresh;
    for (size_t i = 0; old && i < old->n && n < CP_ISSUER_MAX_KEYS; i++) all[n++] = old->keys[i];
    for (size_t i = 0; i < n; i++) {
        cjose_err ce;
        char *priv = cjose_jwk_to_json(all[i], true, &ce);
        json_t *j = priv ? json_loads(priv, 0, NULL) : NULL;
        if (priv) sodium_memzero(priv, strlen(priv));
        free(priv);
        if (j) json_array_append_new(arr, j);
    }
    json_t *doc = json_pack("{s:o}", "keys", arr);
    char *text = json_dumps(doc, JSON_INDENT(1));
    json_decref(doc); /* jansson does not wipe; the text below is what is kept */
    cjose_jwk_release(fresh);
    cp_issuer_free(old);
    return text;
}

const char *cp_issuer_kid(const cp_issuer *iss)
{
    cjose_err ce;
    return cjose_jwk_get_kid(iss->keys[0], &ce);
}

json_t *cp_issuer_jwks(const cp_issuer *iss)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < iss->n; i++) {
        cjose_err ce;
        char *pub = cjose_jwk_to_json(iss->keys[i], false, &ce);
        json_t *j = pub ? json_loads(pub, 0, NULL) : NULL;
        free(pub);
        if (!j) continue;
        json_object_set_new(j, "use", json_string("sig"));
        json_object_set_new(j, "alg", json_string(CP_ISSUER_ALG));
        json_array_append_new(arr, j);
    }
    return json_pack("{s:o}", "keys", arr);
}

json_t *cp_issuer_discovery(const char *issuer_url)
{
    char jwks[1100];
    snprintf(jwks, sizeof jwks, "%.1000s/.well-known/jwks.json", issuer_url);
    return json_pack("{s:s, s:s, s:[s], s:[s], s:[s], s:[s], s:[s], s:[s,s,s,s,s,s,s,s,s,s,s,s]}", "issuer", issuer_url,
                     "jwks_uri", jwks, "id_token_signing_alg_values_supported", CP_ISSUER_ALG,
                     "subject_types_supported", "public", "response_types_supported", "id_token", "scopes_supported",
                     "openid", "grant_types_supported", "urn:ietf:params:oauth:grant-type:jwt-bearer",
                     "claims_supported", "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "project_id", "account_id",
                     "run_id", "resource_id", "run_phase");
}

void cp_issuer_subject(char *out, size_t cap, const char *project_id, const char *account_id, const char *phase)
{
    snprintf(out, cap, "project:%s:account:%s:run_phase:%s", project_id, account_id, phase);
}

char *cp_issuer_mint(const cp_issuer *iss, const cp_issuer_claims *c, cp_error *err)
{
    if (!c->phase || (strcmp(c->phase, "plan") && strcmp(c->phase, "apply") && strcmp(c->phase, "destroy"))) {
        cp_error_set(err, CP_EINVAL, "bad_request", NULL, "a run token is for plan, apply or destroy");
        return NULL;
    }
    int64_t life = c->lifetime > CP_ISSUER_MAX_LIFETIME ? CP_ISSUER_MAX_LIFETIME : c->lifetime < 60 ? 60 : c->lifetime;
    char sub[256], jti[CP_ID_LEN + 1];
    cp_issuer_subject(sub, sizeof sub, c->project_id, c->account_id, c->phase);
    cp_id_new(jti);
    json_t *claims =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "iss", c->issuer, "sub", sub, "aud",
                  c->audience, "iat", (json_int_t)c->now, "nbf", (json_int_t)c->now, "exp", (json_int_t)(c->now + life),
                  "jti", jti, "project_id", c->project_id, "account_id", c->account_id, "run_id", c->run_id,
                  "resource_id", c->resource_id, "run_phase", c->phase);
    char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    cjose_err ce;
    cjose_header_t *h = cjose_header_new(&ce);
    char *token = NULL;
    if (payload && h && cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, &ce) &&
        cjose_header_set(h, CJOSE_HDR_KID, cp_issuer_kid(iss), &ce) && cjose_header_set(h, "typ", "JWT", &ce)) {
        cjose_jws_t *jws = cjose_jws_sign(iss->keys[0], h, (const uint8_t *)payload, strlen(payload), &ce);
        const char *ser = NULL;
        if (jws && cjose_jws_export(jws, &ser, &ce)) token = strdup(ser);
        cjose_jws_release(jws);
    }
    cjose_header_release(h);
    free(payload);
    if (!token) cp_error_set(err, CP_ERR, "issuer", NULL, "cannot sign the run token");
    return token;
}

cp_result cp_issuer_verify(const cp_issuer *iss, const char *token, const char *issuer_url, int64_t now,
                           json_t **claims, cp_error *err)
{
    *claims = NULL;
    cjose_err ce;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &ce);
    cp_result r = cp_error_set(err, CP_EINVAL, "invalid_token", NULL, "the token does not verify");
    if (!jws) return r;
    cjose_header_t *h = cjose_jws_get_protected(jws);
    const char *alg = cjose_header_get(h, CJOSE_HDR_ALG, &ce), *kid = cjose_header_get(h, CJOSE_HDR_KID, &ce);
    const cjose_jwk_t *key = NULL;
    for (size_t i = 0; kid && i < iss->n && !key; i++) {
        const char *k = cjose_jwk_get_kid(iss->keys[i], &ce);
        if (k && !strcmp(k, kid)) key = iss->keys[i];
    }
    uint8_t *plain = NULL;
    size_t len = 0;
    json_t *j = NULL;
    if (alg && !strcmp(alg, CP_ISSUER_ALG) && key && cjose_jws_verify(jws, key, &ce) &&
        cjose_jws_get_plaintext(jws, &plain, &len, &ce))
        j = json_loadb((const char *)plain, len, 0, NULL);
    json_t *exp = json_object_get(j, "exp"), *nbf = json_object_get(j, "nbf");
    const char *got_iss = json_string_value(json_object_get(j, "iss"));
    if (j && got_iss && !strcmp(got_iss, issuer_url) && json_is_integer(exp) && json_integer_value(exp) > now &&
        (!nbf || json_integer_value(nbf) <= now)) {
        *claims = j;
        j = NULL;
        cp_error_clear(err);
        r = CP_OK;
    }
    json_decref(j);
    cjose_jws_release(jws);
    return r;
}
