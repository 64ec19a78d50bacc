/* Unit tests for auth/issuer.c: run-token claims, the signature checked
 * against the published JWKS (imported back with cjose as a verifier would),
 * key rotation with overlap, and what is refused. */
#include <cjose/cjose.h>
#include <sodium.h>

#include "auth/issuer.h"
#include "test.h"

#define ISS "https://cloudplane.example.com"
#define NOW 1800000000

static char *keys_one, *keys_two; /* private JWK Sets: one key; a new key before it */

static cp_issuer_claims claims(const char *phase)
{
    return (cp_issuer_claims){.issuer = ISS,
                              .audience = "sts.amazonaws.com",
                              .project_id = "01hproject0000000000000000",
                              .account_id = "01haccount0000000000000000",
                              .run_id = "01hrun00000000000000000000",
                              .resource_id = "01hresource000000000000000",
                              .phase = phase,
                              .now = NOW,
                              .lifetime = 3600};
}

static cp_issuer *load(const char *text)
{
    cp_issuer *iss = NULL;
    cp_error e;
    return cp_issuer_load(text, &iss, &e) == CP_OK ? iss : NULL;
}

/* Verifies token with the public keys of a JWKS only, as a cloud does. */
static bool verify_with_jwks(json_t *jwks, const char *token)
{
    cjose_err ce;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &ce);
    if (!jws) return false;
    const char *kid = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_KID, &ce);
    bool ok = false;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(jwks, "keys"), i, k)
    {
        if (!kid || strcmp(json_string_value(json_object_get(k, "kid")), kid)) continue;
        char *text = json_dumps(k, JSON_COMPACT);
        cjose_jwk_t *pub = cjose_jwk_import(text, strlen(text), &ce);
        ok = pub && cjose_jws_verify(jws, pub, &ce);
        cjose_jwk_release(pub);
        free(text);
    }
    cjose_jws_release(jws);
    return ok;
}

TEST(claims_and_signature)
{
    cp_issuer *iss = load(keys_one);
    CHECK(iss != NULL);
    if (!iss) return;
    cp_issuer_claims c = claims("apply");
    cp_error e;
    char *tok = cp_issuer_mint(iss, &c, &e);
    CHECK(tok != NULL);
    json_t *got = NULL;
    CHECK_EQ(cp_issuer_verify(iss, tok, ISS, NOW + 10, &got, &e), CP_OK);
    CHECK_STR(json_string_value(json_object_get(got, "iss")), ISS);
    CHECK_STR(json_string_value(json_object_get(got, "sub")),
              "project:01hproject0000000000000000:account:01haccount0000000000000000:run_phase:apply");
    CHECK_STR(json_string_value(json_object_get(got, "aud")), "sts.amazonaws.com");
    CHECK_STR(json_string_value(json_object_get(got, "run_id")), "01hrun00000000000000000000");
    CHECK_STR(json_string_value(json_object_get(got, "run_phase")), "apply");
    CHECK_EQ(json_integer_value(json_object_get(got, "iat")), NOW);
    CHECK_EQ(json_integer_value(json_object_get(got, "nbf")), NOW);
    CHECK_EQ(json_integer_value(json_object_get(got, "exp")), NOW + 3600);
    CHECK(strlen(json_string_value(json_object_get(got, "jti"))) == 26);
    json_t *jwks = cp_issuer_jwks(iss);
    CHECK(verify_with_jwks(jwks, tok));
    /* The published keys are public only. */
    json_t *k0 = json_array_get(json_object_get(jwks, "keys"), 0);
    CHECK(json_object_get(k0, "d") == NULL && json_object_get(k0, "p") == NULL);
    CHECK_STR(json_string_value(json_object_get(k0, "alg")), "RS256");
    CHECK_STR(json_string_value(json_object_get(k0, "use")), "sig");
    CHECK_STR(json_string_value(json_object_get(k0, "kid")), cp_issuer_kid(iss));
    json_decref(jwks);
    json_decref(got);
    free(tok);
    cp_issuer_free(iss);
}

TEST(lifetime_capped_at_two_hours)
{
    cp_issuer *iss = load(keys_one);
    cp_issuer_claims c = claims("plan");
    c.lifetime = 86400;
    cp_error e;
    char *tok = cp_issuer_mint(iss, &c, &e);
    json_t *got = NULL;
    CHECK_EQ(cp_issuer_verify(iss, tok, ISS, NOW, &got, &e), CP_OK);
    CHECK_EQ(json_integer_value(json_object_get(got, "exp")), NOW + 7200);
    json_decref(got);
    free(tok);
    cp_issuer_free(iss);
}

TEST(refused)
{
    cp_issuer *iss = load(keys_one);
    cp_issuer_claims c = claims("apply");
    cp_error e;
    char *tok = cp_issuer_mint(iss, &c, &e);
    json_t *got = NULL;
    CHECK_EQ(cp_issuer_verify(iss, tok, ISS, NOW + 3600, &got, &e), CP_EINVAL);          /* expired */
    CHECK_EQ(cp_issuer_verify(iss, tok, ISS, NOW - 5, &got, &e), CP_EINVAL);             /* not yet */
    CHECK_EQ(cp_issuer_verify(iss, tok, "https://other", NOW + 1, &got, &e), CP_EINVAL); /* issuer */
    /* A changed payload byte breaks the signature. */
    char *dot = strchr(tok, '.');
    dot[5] = dot[5] == 'A' ? 'B' : 'A';
    CHECK_EQ(cp_issuer_verify(iss, tok, ISS, NOW + 1, &got, &e), CP_EINVAL);
    CHECK(got == NULL);
    c.phase = "init";
    CHECK(cp_issuer_mint(iss, &c, &e) == NULL);
    free(tok);
    /* Another issuer's key (same kid scheme) does not verify our tokens. */
    cp_issuer *other = load(keys_two);
    c.phase = "plan";
    tok = cp_issuer_mint(other, &c, &e);
    CHECK_EQ(cp_issuer_verify(iss, tok, ISS, NOW + 1, &got, &e), CP_EINVAL);
    free(tok);
    cp_issuer_free(other);
    cp_issuer_free(iss);
    /* Key sets that are not private RSA keys with a kid. */
    cp_issuer *bad = NULL;
    CHECK_EQ(cp_issuer_load("{\"keys\":[]}", &bad, &e), CP_EINVAL);
    CHECK_EQ(cp_issuer_load("not json", &bad, &e), CP_EINVAL);
    /* The published (public) set cannot sign. */
    cp_issuer *one = load(keys_one);
    json_t *pub = cp_issuer_jwks(one);
    char *text = json_dumps(pub, JSON_COMPACT);
    CHECK_EQ(cp_issuer_load(text, &bad, &e), CP_EINVAL);
    free(text);
    json_decref(pub);
    cp_issuer_free(one);
}

TEST(rotation_overlap)
{
    cp_issuer *old = load(keys_one), *cur = load(keys_two);
    CHECK(old && cur);
    if (!old || !cur) return;
    cp_issuer_claims c = claims("plan");
    cp_error e;
    char *before = cp_issuer_mint(old, &c, &e), *after = cp_issuer_mint(cur, &c, &e);
    json_t *jwks = cp_issuer_jwks(cur);
    CHECK_EQ(json_array_size(json_object_get(jwks, "keys")), 2);
    /* The new key signs; the old one is still published and verifies. */
    CHECK(strcmp(cp_issuer_kid(cur), cp_issuer_kid(old)) != 0);
    CHECK(verify_with_jwks(jwks, before));
    CHECK(verify_with_jwks(jwks, after));
    json_t *got = NULL;
    CHECK_EQ(cp_issuer_verify(cur, before, ISS, NOW + 1, &got, &e), CP_OK);
    json_decref(got);
    json_t *old_jwks = cp_issuer_jwks(old);
    CHECK(!verify_with_jwks(old_jwks, after)); /* signed by the new key */
    json_decref(old_jwks);
    json_decref(jwks);
    free(before);
    free(after);
    cp_issuer_free(old);
    cp_issuer_free(cur);
}

int main(void)
{
    cp_error e;
    if (sodium_init() < 0) return 1;
    keys_one = cp_issuer_rotate(NULL, &e);
    keys_two = keys_one ? cp_issuer_rotate(keys_one, &e) : NULL;
    if (!keys_one || !keys_two) return 1;
    RUN(claims_and_signature);
    RUN(lifetime_capped_at_two_hours);
    RUN(refused);
    RUN(rotation_overlap);
    free(keys_one);
    free(keys_two);
    TEST_END();
}
