/* oidc.c: the providers file, PKCE, and the checks of an ID token (oidc.h). */
#include "auth/oidc.h"

#include <cjose/cjose.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/secretfile.h"
#include "core/xalloc.h"
#include "http/clientaddr.h"
#include "store/store.h"

#define SECRET_MAX 1024
#define FILE_MAX (256 * 1024)

/* ---- the providers file ---- */

static void provider_free(cp_oidc_provider *p)
{
    free(p->id);
    free(p->name);
    free(p->issuer);
    free(p->client_id);
    if (p->client_secret) {
        sodium_memzero(p->client_secret, strlen(p->client_secret));
        free(p->client_secret);
    }
    free(p->scopes);
    free(p->email_claim);
    for (size_t i = 0; i < p->ndomains; i++) free(p->domains[i]);
    free(p->domains);
    free(p->groups_claim);
    for (size_t i = 0; i < p->ngroup_roles; i++) {
        free(p->group_roles[i].group);
        free(p->group_roles[i].project);
    }
    free(p->group_roles);
    free(p->authorization_endpoint);
    free(p->token_endpoint);
    free(p->jwks_uri);
    json_decref(p->jwks);
    pthread_mutex_destroy(&p->mu);
}

void cp_oidc_free(cp_oidc *o)
{
    if (!o) return;
    for (size_t i = 0; i < o->n; i++) provider_free(&o->providers[i]);
    free(o->providers);
    cp_proxies_free(o->allow);
    free(o);
}

cp_oidc_provider *cp_oidc_find(const cp_oidc *o, const char *id)
{
    if (!o || !id) return NULL;
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->providers[i].id, id)) return &o->providers[i];
    return NULL;
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > CP_OIDC_ID_MAX) return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-' && *s != '_') return false;
    return true;
}

#define BAD(err, idx, ...) cp_error_set((err), CP_EINVAL, "bad_config", NULL, "OIDC provider #%zu: " __VA_ARGS__)

static cp_result read_secret(json_t *j, size_t idx, cp_oidc_provider *p, cp_error *err)
{
    const char *file = json_string_value(json_object_get(j, "client_secret_file"));
    const char *env = json_string_value(json_object_get(j, "client_secret_env"));
    if (json_object_get(j, "client_secret"))
        return BAD(err, idx,
                   "client_secret may not be in the providers file: use client_secret_file or "
                   "client_secret_env",
                   idx + 1);
    if (!file == !env) return BAD(err, idx, "set one of client_secret_file and client_secret_env", idx + 1);
    char buf[SECRET_MAX];
    if (file) {
        cp_error e;
        if (cp_secret_read(file, buf, sizeof buf, &e) != CP_OK)
            return BAD(err, idx, "cannot read client_secret_file: %s", idx + 1, e.message);
    } else {
        const char *v = getenv(env);
        if (!v || !*v)
            return BAD(err, idx, "the environment variable %.64s (client_secret_env) is empty", idx + 1, env);
        snprintf(buf, sizeof buf, "%s", v);
    }
    if (!buf[0]) return BAD(err, idx, "the client secret is empty", idx + 1);
    p->client_secret = cp_xstrdup(buf);
    sodium_memzero(buf, sizeof buf);
    return CP_OK;
}

static char *str_field(json_t *j, const char *name, const char *def)
{
    const char *v = json_string_value(json_object_get(j, name));
    return v ? cp_xstrdup(v) : def ? cp_xstrdup(def) : NULL;
}

static cp_result parse_scopes(json_t *j, size_t idx, cp_oidc_provider *p, cp_error *err)
{
    json_t *s = json_object_get(j, "scopes");
    char buf[512] = "openid";
    if (s) {
        if (!json_is_array(s)) return BAD(err, idx, "scopes must be an array of strings", idx + 1);
        size_t i;
        json_t *v;
        json_array_foreach(s, i, v)
        {
            const char *t = json_string_value(v);
            if (!t || !*t || strchr(t, ' ')) return BAD(err, idx, "scopes must be words", idx + 1);
            if (!strcmp(t, "openid")) continue;
            size_t n = strlen(buf);
            if (n + 1 + strlen(t) + 1 > sizeof buf) return BAD(err, idx, "too many scopes", idx + 1);
            snprintf(buf + n, sizeof buf - n, " %s", t);
        }
    } else {
        snprintf(buf, sizeof buf, "openid email profile");
    }
    p->scopes = cp_xstrdup(buf);
    return CP_OK;
}

static cp_result parse_domains(json_t *j, size_t idx, cp_oidc_provider *p, cp_error *err)
{
    json_t *d = json_object_get(j, "allowed_domains");
    if (!d) return CP_OK;
    if (!json_is_array(d)) return BAD(err, idx, "allowed_domains must be an array of strings", idx + 1);
    p->domains = cp_xcalloc(json_array_size(d) + 1, sizeof *p->domains);
    size_t i;
    json_t *v;
    json_array_foreach(d, i, v)
    {
        const char *t = json_string_value(v);
        if (!t || !*t) return BAD(err, idx, "allowed_domains must be an array of strings", idx + 1);
        char *low = cp_xstrdup(t);
        for (char *c = low; *c; c++) *c = (char)tolower((unsigned char)*c);
        p->domains[p->ndomains++] = low;
    }
    return CP_OK;
}

static cp_result parse_group_roles(json_t *j, size_t idx, cp_oidc_provider *p, cp_error *err)
{
    json_t *g = json_object_get(j, "group_roles");
    if (!g) return CP_OK;
    if (!json_is_array(g)) return BAD(err, idx, "group_roles must be an array", idx + 1);
    if (!p->groups_claim) p->groups_claim = cp_xstrdup("groups");
    p->group_roles = cp_xcalloc(json_array_size(g) + 1, sizeof *p->group_roles);
    size_t i;
    json_t *v;
    json_array_foreach(g, i, v)
    {
        const char *group = json_string_value(json_object_get(v, "group"));
        const char *project = json_string_value(json_object_get(v, "project"));
        const char *role = json_string_value(json_object_get(v, "role"));
        cp_role r = role ? cp_role_parse(role) : CP_ROLE_NONE;
        if (!group || !*group || !project || !*project)
            return BAD(err, idx, "group_roles[%zu] needs group and project", idx + 1, i);
        if (r == CP_ROLE_NONE || r == CP_ROLE_OWNER)
            return BAD(err, idx, "group_roles[%zu].role must be admin, member or viewer", idx + 1, i);
        cp_oidc_group_role *gr = &p->group_roles[p->ngroup_roles++];
        gr->group = cp_xstrdup(group);
        gr->project = cp_xstrdup(project);
        gr->role = (int)r;
    }
    return CP_OK;
}

static const char *const known_keys[] = {
    "id",
    "name",
    "issuer",
    "client_id",
    "client_secret_file",
    "client_secret_env",
    "scopes",
    "email_claim",
    "allowed_domains",
    "groups_claim",
    "group_roles",
    "linking",
    "create_users",
    "client_secret",
    "email_verified_default",
    "jwks_refetch_seconds",
};

static cp_result parse_provider(json_t *j, size_t idx, cp_oidc_provider *p, cp_error *err)
{
    if (!json_is_object(j)) return BAD(err, idx, "must be an object", idx + 1);
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < CP_ARRAY_LEN(known_keys) && !known; i++) known = !strcmp(key, known_keys[i]);
        if (!known) return BAD(err, idx, "unknown field %.64s", idx + 1, key);
    }
    p->id = str_field(j, "id", NULL);
    p->issuer = str_field(j, "issuer", NULL);
    p->client_id = str_field(j, "client_id", NULL);
    if (!p->id || !id_ok(p->id)) return BAD(err, idx, "id must be 1-32 of a-z, 0-9, - and _", idx + 1);
    if (!p->issuer || (strncmp(p->issuer, "https://", 8) && strncmp(p->issuer, "http://", 7)))
        return BAD(err, idx, "issuer must be an http(s) URL", idx + 1);
    size_t il = strlen(p->issuer);
    if (il > 1 && p->issuer[il - 1] == '/') p->issuer[il - 1] = '\0'; /* discovery appends the path */
    if (!p->client_id || !*p->client_id) return BAD(err, idx, "client_id is required", idx + 1);
    p->name = str_field(j, "name", p->id);
    p->email_claim = str_field(j, "email_claim", "email");
    p->groups_claim = str_field(j, "groups_claim", NULL);
    const char *linking = json_string_value(json_object_get(j, "linking"));
    if (!linking || !strcmp(linking, "create_only"))
        p->linking = CP_OIDC_CREATE_ONLY;
    else if (!strcmp(linking, "link_verified_email"))
        p->linking = CP_OIDC_LINK_VERIFIED_EMAIL;
    else
        return BAD(err, idx, "linking must be link_verified_email or create_only", idx + 1);
    json_t *cu = json_object_get(j, "create_users");
    if (cu && !json_is_boolean(cu)) return BAD(err, idx, "create_users must be true or false", idx + 1);
    p->create_users = !cu || json_is_true(cu);
    p->email_verified_default = json_is_true(json_object_get(j, "email_verified_default"));
    json_t *rf = json_object_get(j, "jwks_refetch_seconds");
    p->jwks_refetch_seconds = rf ? (long)json_integer_value(rf) : 10;
    if (rf && (!json_is_integer(rf) || p->jwks_refetch_seconds < 0 || p->jwks_refetch_seconds > 86400))
        return BAD(err, idx, "jwks_refetch_seconds must be an integer in [0, 86400]", idx + 1);
    cp_result r = parse_scopes(j, idx, p, err);
    if (r == CP_OK) r = parse_domains(j, idx, p, err);
    if (r == CP_OK) r = parse_group_roles(j, idx, p, err);
    if (r == CP_OK) r = read_secret(j, idx, p, err);
    return r;
}

cp_result cp_oidc_parse(const char *text, cp_oidc **out, cp_error *err)
{
    *out = NULL;
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "OIDC providers file: line %d: %.100s", je.line,
                            je.text);
    cp_result r = CP_OK;
    json_t *list = json_object_get(root, "providers");
    cp_oidc *o = cp_xcalloc(1, sizeof *o);
    o->timeout_ms = 10000;
    if (!json_is_array(list) || json_object_size(root) != 1) {
        r = cp_error_set(err, CP_EINVAL, "bad_config", NULL,
                         "OIDC providers file: want {\"providers\": [...]} and nothing else");
        goto out;
    }
    o->providers = cp_xcalloc(json_array_size(list) + 1, sizeof *o->providers);
    for (size_t i = 0; i < json_array_size(list) && r == CP_OK; i++) {
        cp_oidc_provider *p = &o->providers[o->n++];
        pthread_mutex_init(&p->mu, NULL);
        r = parse_provider(json_array_get(list, i), i, p, err);
        for (size_t k = 0; k + 1 < o->n && r == CP_OK; k++)
            if (!strcmp(o->providers[k].id, p->id)) r = BAD(err, i, "id %s is used twice", i + 1, p->id);
    }
out:
    json_decref(root);
    if (r != CP_OK)
        cp_oidc_free(o);
    else
        *out = o;
    return r;
}

cp_result cp_oidc_load(const char *path, const char *allow_cidrs, cp_oidc **out, cp_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f) return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "cannot open the OIDC providers file %s", path);
    char *text = cp_xmalloc(FILE_MAX + 1);
    size_t n = fread(text, 1, FILE_MAX + 1, f);
    fclose(f);
    cp_result r;
    if (n > FILE_MAX) {
        r = cp_error_set(err, CP_EINVAL, "bad_config", NULL, "the OIDC providers file %s is too large", path);
        goto out;
    }
    text[n] = '\0';
    if ((r = cp_oidc_parse(text, out, err)) != CP_OK) goto out;
    if (allow_cidrs && *allow_cidrs && (r = cp_proxies_parse(allow_cidrs, &(*out)->allow, err)) != CP_OK) {
        cp_error_set(err, CP_EINVAL, "bad_config", NULL, "CLOUDPLANE_OIDC_ALLOW_CIDRS: %s", err->message);
        cp_oidc_free(*out);
        *out = NULL;
    }
out:
    free(text);
    return r;
}

cp_result cp_oidc_configure(const cp_config *cfg, cp_oidc **out, cp_error *err)
{
    *out = NULL;
    if (cfg->oidc_providers_file && *cfg->oidc_providers_file) {
        cp_result r = cp_oidc_load(cfg->oidc_providers_file, cfg->oidc_allow_cidrs, out, err);
        if (r != CP_OK) return r;
    }
    if (!cfg->local_passwords && (!*out || !(*out)->n))
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL,
                            "CLOUDPLANE_LOCAL_PASSWORDS=false needs CLOUDPLANE_OIDC_PROVIDERS_FILE with a provider: "
                            "nobody could sign in");
    return CP_OK;
}

/* ---- PKCE, state, nonce ---- */

void cp_oidc_random(char out[CP_OIDC_RANDOM_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, CP_OIDC_RANDOM_LEN + 1, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

void cp_oidc_pkce_challenge(const char *verifier, char out[CP_OIDC_RANDOM_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)verifier, strlen(verifier));
    sodium_bin2base64(out, CP_OIDC_RANDOM_LEN + 1, h, sizeof h, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* ---- the ID token's signature ---- */

/* The key of jwks for this alg and kid (kid NULL: the only key of the type). */
static cjose_jwk_t *pick_key(json_t *jwks, const char *kty, const char *kid, bool *ambiguous)
{
    json_t *keys = json_object_get(jwks, "keys"), *k;
    size_t i, matches = 0;
    cjose_jwk_t *found = NULL;
    *ambiguous = false;
    json_array_foreach(keys, i, k)
    {
        const char *t = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *id = json_string_value(json_object_get(k, "kid"));
        if (!t || strcmp(t, kty) || (use && strcmp(use, "sig"))) continue;
        if (kid && (!id || strcmp(id, kid))) continue;
        if (++matches > 1) {
            *ambiguous = true;
            break;
        }
        cjose_err ce;
        found = cjose_jwk_import_json((cjose_header_t *)k, &ce);
    }
    if (*ambiguous && found) {
        cjose_jwk_release(found);
        found = NULL;
    }
    return found;
}

cp_result cp_oidc_verify_jws(const char *token, json_t *jwks, json_t **claims, cp_error *err)
{
    *claims = NULL;
    cjose_err ce;
    cp_result r = CP_EAUTH;
    cjose_jwk_t *key = NULL;
    cjose_jws_t *jws = cjose_jws_import(token, strlen(token), &ce);
    if (!jws) return cp_error_set(err, CP_EAUTH, "invalid_id_token", NULL, "the ID token is not a signed JWT");
    cjose_header_t *hdr = cjose_jws_get_protected(jws);
    const char *alg = cjose_header_get(hdr, CJOSE_HDR_ALG, &ce);
    const char *kid = cjose_header_get(hdr, CJOSE_HDR_KID, &ce);
    const char *kty = !alg ? NULL : !strcmp(alg, "RS256") ? "RSA" : !strcmp(alg, "ES256") ? "EC" : NULL;
    if (!kty) {
        r = cp_error_set(err, CP_EAUTH, "invalid_id_token", NULL, "the ID token's algorithm is not RS256 or ES256");
        goto out;
    }
    bool ambiguous;
    key = pick_key(jwks, kty, kid, &ambiguous);
    if (!key) {
        r = ambiguous ? cp_error_set(err, CP_EAUTH, "invalid_id_token", NULL,
                                     "the ID token names no key and the provider has several")
                      : cp_error_set(err, CP_ENOTFOUND, "unknown_kid", NULL,
                                     "the ID token is signed with a key the provider does not publish");
        goto out;
    }
    if (!cjose_jws_verify(jws, key, &ce)) {
        r = cp_error_set(err, CP_EAUTH, "invalid_signature", NULL, "the ID token's signature is not valid");
        goto out;
    }
    uint8_t *plain = NULL;
    size_t plen = 0;
    if (!cjose_jws_get_plaintext(jws, &plain, &plen, &ce) ||
        !(*claims = json_loadb((const char *)plain, plen, JSON_REJECT_DUPLICATES, NULL)) || !json_is_object(*claims)) {
        json_decref(*claims);
        *claims = NULL;
        r = cp_error_set(err, CP_EAUTH, "invalid_id_token", NULL, "the ID token's claims are not a JSON object");
        goto out;
    }
    r = CP_OK;
out:
    if (key) cjose_jwk_release(key);
    cjose_jws_release(jws);
    return r;
}

/* ---- the claims ---- */

static bool aud_has(json_t *aud, const char *client_id, size_t *count)
{
    *count = 0;
    if (json_is_string(aud)) {
        *count = 1;
        return !strcmp(json_string_value(aud), client_id);
    }
    bool found = false;
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v)
    {
        (*count)++;
        if (json_is_string(v) && !strcmp(json_string_value(v), client_id)) found = true;
    }
    return found;
}

static cp_result refuse(cp_error *err, const char *code, const char *msg)
{
    return cp_error_set(err, CP_EAUTH, code, NULL, "%s", msg);
}

static bool domain_allowed(const cp_oidc_provider *p, const char *email)
{
    if (!p->ndomains) return true;
    const char *at = strrchr(email, '@');
    if (!at) return false;
    for (size_t i = 0; i < p->ndomains; i++)
        if (!strcmp(at + 1, p->domains[i])) return true;
    return false;
}

cp_result cp_oidc_check_claims(const cp_oidc_provider *p, json_t *claims, const char *nonce, int64_t now_s,
                               int64_t skew_s, cp_oidc_identity *out, cp_error *err)
{
    memset(out, 0, sizeof *out);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    if (!iss || strcmp(iss, p->issuer)) return refuse(err, "wrong_issuer", "the ID token is from another issuer");
    size_t naud;
    json_t *aud = json_object_get(claims, "aud");
    if (!aud || !aud_has(aud, p->client_id, &naud))
        return refuse(err, "wrong_audience", "the ID token is not meant for this client");
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    if (json_object_get(claims, "azp") && (!azp || strcmp(azp, p->client_id)))
        return refuse(err, "wrong_audience", "the ID token was issued to another party (azp)");
    if (naud > 1 && !azp) return refuse(err, "wrong_audience", "the ID token has several audiences and no azp");
    json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
    if (!json_is_number(exp) || !json_is_number(iat))
        return refuse(err, "invalid_id_token", "the ID token lacks exp or iat");
    if ((int64_t)json_number_value(exp) + skew_s <= now_s)
        return refuse(err, "token_expired", "the ID token has expired");
    if ((int64_t)json_number_value(iat) - skew_s > now_s)
        return refuse(err, "token_not_yet_valid", "the ID token is issued in the future");
    json_t *nbf = json_object_get(claims, "nbf");
    if (json_is_number(nbf) && (int64_t)json_number_value(nbf) - skew_s > now_s)
        return refuse(err, "token_not_yet_valid", "the ID token is not valid yet");
    const char *tn = json_string_value(json_object_get(claims, "nonce"));
    if (!tn || !nonce || strlen(tn) != strlen(nonce) || sodium_memcmp(tn, nonce, strlen(nonce)) != 0)
        return refuse(err, "wrong_nonce", "the ID token does not answer this sign-in (nonce)");
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!sub || !*sub || strlen(sub) > 255) return refuse(err, "invalid_id_token", "the ID token has no subject");
    const char *email = json_string_value(json_object_get(claims, p->email_claim));
    if (!email || !*email || strlen(email) > 254 || !strchr(email, '@'))
        return refuse(err, "no_email", "the identity provider gave no email address");
    char *low = cp_xstrdup(email);
    for (char *c = low; *c; c++) *c = (char)tolower((unsigned char)*c);
    out->email = low;
    if (!domain_allowed(p, low)) {
        cp_oidc_identity_free(out);
        return cp_error_set(err, CP_EFORBIDDEN, "domain_not_allowed", NULL, "this email domain may not sign in here");
    }
    json_t *ev = json_object_get(claims, "email_verified");
    /* Some providers send "true" as a string. */
    out->email_verified = ev ? (json_is_true(ev) || (json_is_string(ev) && !strcmp(json_string_value(ev), "true")))
                             : p->email_verified_default;
    out->subject = sub;
    out->name = json_string_value(json_object_get(claims, "name"));
    if (p->groups_claim) {
        json_t *g = json_object_get(claims, p->groups_claim);
        out->groups = json_is_array(g) ? g : NULL;
    }
    return CP_OK;
}

void cp_oidc_identity_free(cp_oidc_identity *id)
{
    free((char *)id->email);
    id->email = NULL;
}

void cp_oidc_each_group_role(const cp_oidc_provider *p, const cp_oidc_identity *id,
                             void (*fn)(const cp_oidc_group_role *gr, void *ctx), void *ctx)
{
    if (!id->groups) return;
    for (size_t k = 0; k < p->ngroup_roles; k++) {
        size_t i;
        json_t *v;
        json_array_foreach(id->groups, i, v)
        {
            if (json_is_string(v) && !strcmp(json_string_value(v), p->group_roles[k].group)) {
                fn(&p->group_roles[k], ctx);
                break;
            }
        }
    }
}
