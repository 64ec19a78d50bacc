/* Single sign-on's pure parts (auth/oidc.c): the providers file, PKCE
 * against RFC 7636's vector, ID token signatures (RS256 and ES256 keys made
 * with cjose, tampered tokens, unknown kids, algorithms that are refused)
 * and each claim check. */
#include <cjose/cjose.h>
#include <stdlib.h>
#include <string.h>

#include "auth/oidc.h"
#include "store/store.h"
#include "test.h"

#define ISS "https://idp.example"

static cp_oidc *parse_ok(const char *text)
{
    cp_oidc *o = NULL;
    cp_error e;
    cp_error_clear(&e);
    if (cp_oidc_parse(text, &o, &e) != CP_OK) fprintf(stderr, "  parse: %s\n", e.message);
    return o;
}

static const char *parse_err(const char *text)
{
    static cp_error e;
    cp_oidc *o = NULL;
    cp_error_clear(&e);
    if (cp_oidc_parse(text, &o, &e) == CP_OK) {
        cp_oidc_free(o);
        return NULL;
    }
    return e.message;
}

TEST(providers_file)
{
    setenv("TEST_OIDC_SECRET", "s3cret-value", 1);
    cp_oidc *o = parse_ok("{\"providers\": [{\"id\": \"corp\", \"name\": \"Corp\", \"issuer\": \"" ISS "/\","
                          " \"client_id\": \"cp\", \"client_secret_env\": \"TEST_OIDC_SECRET\","
                          " \"scopes\": [\"openid\", \"email\", \"groups\"], \"allowed_domains\": [\"Corp.Example\"],"
                          " \"group_roles\": [{\"group\": \"ops\", \"project\": \"infra\", \"role\": \"admin\"}],"
                          " \"linking\": \"link_verified_email\"}]}");
    CHECK(o != NULL);
    if (!o) return;
    CHECK_EQ(o->n, 1u);
    cp_oidc_provider *p = cp_oidc_find(o, "corp");
    CHECK(p != NULL);
    CHECK(cp_oidc_find(o, "other") == NULL);
    CHECK_STR(p->issuer, ISS); /* trailing slash dropped */
    CHECK_STR(p->scopes, "openid email groups");
    CHECK_STR(p->client_secret, "s3cret-value");
    CHECK_STR(p->email_claim, "email");
    CHECK_STR(p->groups_claim, "groups");
    CHECK_STR(p->domains[0], "corp.example");
    CHECK_EQ(p->group_roles[0].role, (int)CP_ROLE_ADMIN);
    CHECK_EQ(p->linking, CP_OIDC_LINK_VERIFIED_EMAIL);
    CHECK_EQ(p->jwks_refetch_seconds, 10);
    cp_oidc_free(o);

    /* Each mistake is refused with a message; the secret never in it. */
    static const char *const bad[] = {
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"" ISS
        "\", \"client_id\": \"c\", \"client_secret\": \"inline\"}]}",
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"" ISS "\", \"client_id\": \"c\"}]}",
        "{\"providers\": [{\"id\": \"A!\", \"issuer\": \"" ISS "\", \"client_id\": \"c\", \"client_secret_env\": "
        "\"TEST_OIDC_SECRET\"}]}",
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"ftp://x\", \"client_id\": \"c\", \"client_secret_env\": "
        "\"TEST_OIDC_SECRET\"}]}",
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"" ISS "\", \"client_id\": \"c\", \"client_secret_env\": "
        "\"TEST_OIDC_SECRET\", \"surprise\": 1}]}",
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"" ISS "\", \"client_id\": \"c\", \"client_secret_env\": "
        "\"TEST_OIDC_SECRET\", \"group_roles\": [{\"group\": \"g\", \"project\": \"p\", \"role\": \"owner\"}]}]}",
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"" ISS "\", \"client_id\": \"c\", \"client_secret_env\": "
        "\"TEST_OIDC_SECRET\", \"linking\": \"always\"}]}",
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"" ISS "\", \"client_id\": \"c\", \"client_secret_env\": "
        "\"TEST_OIDC_SECRET\"}, {\"id\": \"a\", \"issuer\": \"" ISS "\", \"client_id\": \"c\", "
        "\"client_secret_env\": \"TEST_OIDC_SECRET\"}]}",
        "{\"providers\": [{\"id\": \"a\", \"issuer\": \"" ISS "\", \"client_id\": \"c\", \"client_secret_env\": "
        "\"NO_SUCH_VAR_FOR_OIDC\"}]}",
        "{\"providers\": {}}",
        "not json",
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        const char *m = parse_err(bad[i]);
        CHECK(m != NULL);
        if (m) CHECK(strstr(m, "inline") == NULL && strstr(m, "s3cret") == NULL);
    }
}

TEST(pkce_rfc7636_vector)
{
    char out[CP_OIDC_RANDOM_LEN + 1];
    cp_oidc_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out);
    CHECK_STR(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    char a[CP_OIDC_RANDOM_LEN + 1], b[CP_OIDC_RANDOM_LEN + 1];
    cp_oidc_random(a);
    cp_oidc_random(b);
    CHECK_EQ(strlen(a), (size_t)CP_OIDC_RANDOM_LEN);
    CHECK(strcmp(a, b) != 0);
}

/* A compact JWS of claims signed by key with alg and kid (kid NULL: none). */
static char *sign(cjose_jwk_t *key, const char *alg, const char *kid, const char *claims)
{
    cjose_err ce;
    cjose_header_t *h = cjose_header_new(&ce);
    CHECK(cjose_header_set(h, CJOSE_HDR_ALG, alg, &ce));
    if (kid) CHECK(cjose_header_set(h, CJOSE_HDR_KID, kid, &ce));
    cjose_jws_t *jws = cjose_jws_sign(key, h, (const uint8_t *)claims, strlen(claims), &ce);
    cjose_header_release(h);
    if (!jws) return NULL;
    const char *ser = NULL;
    CHECK(cjose_jws_export(jws, &ser, &ce));
    char *out = strdup(ser);
    cjose_jws_release(jws);
    return out;
}

/* {"keys": [public JWKs]} with kids. */
static json_t *jwks_of(cjose_jwk_t **keys, const char **kids, size_t n)
{
    json_t *arr = json_array();
    cjose_err ce;
    for (size_t i = 0; i < n; i++) {
        char *j = cjose_jwk_to_json(keys[i], false, &ce);
        json_t *k = json_loads(j, 0, NULL);
        free(j);
        json_object_set_new(k, "kid", json_string(kids[i]));
        json_object_set_new(k, "use", json_string("sig"));
        json_array_append_new(arr, k);
    }
    return json_pack("{s:o}", "keys", arr);
}

static cp_result verify(const char *tok, json_t *jwks, const char **code)
{
    static cp_error e;
    cp_error_clear(&e);
    json_t *claims = NULL;
    cp_result r = cp_oidc_verify_jws(tok, jwks, &claims, &e);
    if (r == CP_OK) {
        CHECK_STR(json_string_value(json_object_get(claims, "sub")), "u1");
        json_decref(claims);
    } else {
        CHECK(claims == NULL);
    }
    *code = e.code;
    return r;
}

TEST(id_token_signatures)
{
    cjose_err ce;
    static const uint8_t e65537[] = {1, 0, 1};
    cjose_jwk_t *rsa = cjose_jwk_create_RSA_random(2048, e65537, sizeof e65537, &ce);
    cjose_jwk_t *rsa2 = cjose_jwk_create_RSA_random(2048, e65537, sizeof e65537, &ce);
    cjose_jwk_t *ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &ce);
    CHECK(rsa && rsa2 && ec);
    if (!rsa || !rsa2 || !ec) return;
    cjose_jwk_t *pub[] = {rsa, ec};
    const char *kids[] = {"r1", "e1"};
    json_t *jwks = jwks_of(pub, kids, 2);
    const char *claims = "{\"sub\": \"u1\"}", *code;

    char *t = sign(rsa, "RS256", "r1", claims);
    CHECK_EQ(verify(t, jwks, &code), CP_OK);
    /* A changed payload byte breaks the signature. */
    char *dot = strchr(t, '.');
    dot[2] = dot[2] == 'A' ? 'B' : 'A';
    CHECK_EQ(verify(t, jwks, &code), CP_EAUTH);
    free(t);

    t = sign(ec, "ES256", "e1", claims);
    CHECK_EQ(verify(t, jwks, &code), CP_OK);
    free(t);
    /* Another key with a published kid: the signature fails. */
    t = sign(rsa2, "RS256", "r1", claims);
    CHECK_EQ(verify(t, jwks, &code), CP_EAUTH);
    CHECK_STR(code, "invalid_signature");
    free(t);
    /* An unknown kid: the caller may refetch the JWKS. */
    t = sign(rsa2, "RS256", "r2", claims);
    CHECK_EQ(verify(t, jwks, &code), CP_ENOTFOUND);
    CHECK_STR(code, "unknown_kid");
    free(t);
    /* No kid: the only key of the type. */
    t = sign(rsa, "RS256", NULL, claims);
    CHECK_EQ(verify(t, jwks, &code), CP_OK);
    free(t);
    /* An EC key named by an RSA kid: the algorithm decides the key type. */
    t = sign(ec, "ES256", "r1", claims);
    CHECK(verify(t, jwks, &code) != CP_OK);
    free(t);
    /* Only RS256 and ES256. */
    t = sign(rsa, "RS512", "r1", claims);
    CHECK_EQ(verify(t, jwks, &code), CP_EAUTH);
    free(t);
    cjose_jwk_t *oct = cjose_jwk_create_oct_random(32, &ce);
    t = sign(oct, "HS256", "r1", claims);
    CHECK_EQ(verify(t, jwks, &code), CP_EAUTH);
    free(t);
    CHECK_EQ(verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.", jwks, &code), CP_EAUTH);
    CHECK_EQ(verify("not a token", jwks, &code), CP_EAUTH);
    json_decref(jwks);
    cjose_jwk_release(oct);
    cjose_jwk_release(rsa);
    cjose_jwk_release(rsa2);
    cjose_jwk_release(ec);
}

static cp_oidc_provider provider(void)
{
    static char *domains[] = {"corp.example"};
    static cp_oidc_group_role roles[] = {{"ops", "infra", CP_ROLE_ADMIN}, {"dev", "app", CP_ROLE_MEMBER}};
    cp_oidc_provider p;
    memset(&p, 0, sizeof p);
    p.id = "corp";
    p.issuer = ISS;
    p.client_id = "cp";
    p.email_claim = "email";
    p.domains = domains;
    p.ndomains = 1;
    p.groups_claim = "groups";
    p.group_roles = roles;
    p.ngroup_roles = 2;
    return p;
}

#define NOW 1700000000

/* The claims of a good token, changed by patch (a JSON object merged in; a
 * null value removes the claim). */
static const char *check(const cp_oidc_provider *p, const char *patch, cp_oidc_identity *id)
{
    static cp_error e;
    cp_error_clear(&e);
    json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:b, s:[s, s]}", "iss", ISS, "aud", "cp", "sub", "u1",
                          "exp", (json_int_t)NOW + 300, "iat", (json_int_t)NOW - 5, "nonce", "n-1", "email",
                          "Ann@Corp.Example", "email_verified", 1, "groups", "ops", "other");
    if (patch) {
        json_t *pj = json_loads(patch, 0, NULL);
        const char *k;
        json_t *v;
        json_object_foreach(pj, k, v)
        {
            if (json_is_null(v))
                json_object_del(c, k);
            else
                json_object_set(c, k, v);
        }
        json_decref(pj);
    }
    cp_result r = cp_oidc_check_claims(p, c, "n-1", NOW, 60, id, &e);
    if (r == CP_OK) {
        json_incref(id->groups); /* outlives c for the caller */
        cp_oidc_identity_free(id);
    }
    json_decref(c);
    return r == CP_OK ? "ok" : e.code;
}

static void count_role(const cp_oidc_group_role *gr, void *ctx)
{
    CHECK_STR(gr->project, "infra");
    (*(int *)ctx)++;
}

TEST(claims)
{
    cp_oidc_provider p = provider();
    cp_oidc_identity id;
    CHECK_STR(check(&p, NULL, &id), "ok");
    json_decref(id.groups);
    static const struct {
        const char *patch, *code;
    } cases[] = {
        {"{\"iss\": \"https://evil.example\"}", "wrong_issuer"},
        {"{\"iss\": null}", "wrong_issuer"},
        {"{\"aud\": \"other\"}", "wrong_audience"},
        {"{\"aud\": [\"other\", \"cp\"]}", "wrong_audience"}, /* several audiences and no azp */
        {"{\"aud\": [\"other\", \"cp\"], \"azp\": \"cp\"}", "ok"},
        {"{\"azp\": \"other\"}", "wrong_audience"},
        {"{\"exp\": 1699999000}", "token_expired"},
        {"{\"exp\": 1699999950}", "ok"}, /* within the skew */
        {"{\"exp\": null}", "invalid_id_token"},
        {"{\"iat\": 1700003600}", "token_not_yet_valid"},
        {"{\"nbf\": 1700003600}", "token_not_yet_valid"},
        {"{\"nonce\": \"n-2\"}", "wrong_nonce"},
        {"{\"nonce\": null}", "wrong_nonce"},
        {"{\"sub\": \"\"}", "invalid_id_token"},
        {"{\"email\": null}", "no_email"},
        {"{\"email\": \"ann@elsewhere.example\"}", "domain_not_allowed"},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        const char *got = check(&p, cases[i].patch, &id);
        if (strcmp(got, cases[i].code)) fprintf(stderr, "  case %s: got %s\n", cases[i].patch, got);
        CHECK_STR(got, cases[i].code);
        if (!strcmp(got, "ok")) json_decref(id.groups);
    }

    /* The identity: email lower-cased, verified, groups mapped. */
    static cp_error e;
    json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:[s]}", "iss", ISS, "aud", "cp", "sub", "u1",
                          "exp", (json_int_t)NOW + 300, "iat", (json_int_t)NOW, "nonce", "n-1", "email",
                          "Ann@Corp.Example", "email_verified", "true", "groups", "ops");
    CHECK_EQ(cp_oidc_check_claims(&p, c, "n-1", NOW, 60, &id, &e), CP_OK);
    CHECK_STR(id.email, "ann@corp.example");
    CHECK(id.email_verified);
    int n = 0;
    cp_oidc_each_group_role(&p, &id, count_role, &n);
    CHECK_EQ(n, 1);
    cp_oidc_identity_free(&id);
    /* A missing email_verified means the provider's default. */
    json_object_del(c, "email_verified");
    CHECK_EQ(cp_oidc_check_claims(&p, c, "n-1", NOW, 60, &id, &e), CP_OK);
    CHECK(!id.email_verified);
    cp_oidc_identity_free(&id);
    p.email_verified_default = true;
    CHECK_EQ(cp_oidc_check_claims(&p, c, "n-1", NOW, 60, &id, &e), CP_OK);
    CHECK(id.email_verified);
    cp_oidc_identity_free(&id);
    json_decref(c);
}

int main(void)
{
    RUN(providers_file);
    RUN(pkce_rfc7636_vector);
    RUN(id_token_signatures);
    RUN(claims);
    TEST_END();
}
