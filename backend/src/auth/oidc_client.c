/* oidc_client.c: discovery, JWKS and code exchange over libcurl (oidc_client.h). */
#include "auth/oidc_client.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "http/outbound.h"

#define BODY_MAX (512 * 1024)

typedef struct {
    const cp_proxies *allow;
    bool refused;
} sock_ctx;

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *address)
{
    sock_ctx *sc = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN || !cp_outbound_allowed(&address->addr, sc->allow)) {
        sc->refused = true;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

/* A body past BODY_MAX fails the transfer (the buffer's cap). */
static size_t collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    size_t n = size * nmemb;
    return cp_buf_add(userdata, ptr, n) == CP_OK ? n : 0;
}

/* GET url (form NULL) or POST form (application/x-www-form-urlencoded), and
 * parse the JSON answer into *out. what names the step in errors. */
static cp_result fetch_json(const cp_oidc *o, const char *url, const char *form, const char *what, json_t **out,
                            long *status, cp_error *err)
{
    *out = NULL;
    *status = 0;
    if (!cp_outbound_url_ok(url))
        return cp_error_set(err, CP_EAGAIN, "idp_unavailable", NULL, "the provider's %s URL is not usable", what);
    cp_outbound_init();
    CURL *h = curl_easy_init();
    if (!h) return cp_error_set(err, CP_ERR, NULL, NULL, "cannot start a request");
    cp_buf body; /* the token answer holds tokens: wiped */
    cp_buf_init_wiped(&body, BODY_MAX, 8192);
    sock_ctx sc = {o->allow, false};
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
    /* Options fail only on an unknown option or no memory; the request then fails. */
    (void)curl_easy_setopt(h, CURLOPT_URL, url);
    (void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    (void)curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    (void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    (void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
    (void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    (void)curl_easy_setopt(h, CURLOPT_USERAGENT, "cloudplane-sso/1");
    (void)curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    (void)curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &sc);
    (void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    (void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    (void)curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    if (form) {
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, form);
        (void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form));
    }
    CURLcode rc = curl_easy_perform(h);
    cp_result r = CP_OK;
    if (rc != CURLE_OK) {
        cp_log(CP_LOG_WARN, "OIDC provider request failed",
               json_pack("{s:s, s:s, s:s}", "step", what, "url", url, "error",
                         sc.refused ? "address not allowed (CLOUDPLANE_OIDC_ALLOW_CIDRS)" : curl_easy_strerror(rc)));
        r = cp_error_set(err, CP_EAGAIN, "idp_unavailable", NULL, "the identity provider could not be reached (%s)",
                         what);
        goto out;
    }
    (void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    *out = json_loadb(cp_buf_cstr(&body), body.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        r = cp_error_set(err, CP_EAGAIN, "idp_unavailable", NULL, "the identity provider's %s answer is not JSON",
                         what);
    }
out:
    cp_buf_free(&body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return r;
}

static void set_str(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? cp_xstrdup(v) : NULL;
}

bool cp_oidc_discovered(cp_oidc_provider *p, char *auth_url, size_t cap)
{
    pthread_mutex_lock(&p->mu);
    bool have = p->authorization_endpoint != NULL;
    if (have) snprintf(auth_url, cap, "%s", p->authorization_endpoint);
    pthread_mutex_unlock(&p->mu);
    return have;
}

cp_result cp_oidc_discover(const cp_oidc *o, cp_oidc_provider *p, char *auth_url, size_t cap, cp_error *err)
{
    if (cp_oidc_discovered(p, auth_url, cap)) return CP_OK;
    char url[1024];
    snprintf(url, sizeof url, "%s/.well-known/openid-configuration", p->issuer);
    json_t *d;
    long status;
    cp_result r = fetch_json(o, url, NULL, "discovery", &d, &status, err);
    if (r != CP_OK) return r;
    const char *iss = json_string_value(json_object_get(d, "issuer"));
    const char *az = json_string_value(json_object_get(d, "authorization_endpoint"));
    const char *tok = json_string_value(json_object_get(d, "token_endpoint"));
    const char *jw = json_string_value(json_object_get(d, "jwks_uri"));
    if (status != 200 || !iss || strcmp(iss, p->issuer) || !az || !tok || !jw || !cp_outbound_url_ok(az) ||
        !cp_outbound_url_ok(tok) || !cp_outbound_url_ok(jw)) {
        cp_log(CP_LOG_WARN, "OIDC discovery document refused",
               json_pack("{s:s, s:I, s:o}", "provider", p->id, "status", (json_int_t)status, "issuer",
                         iss ? json_string(iss) : json_null()));
        json_decref(d);
        return cp_error_set(err, CP_EAGAIN, "idp_unavailable", NULL,
                            "the identity provider's discovery document is not usable");
    }
    pthread_mutex_lock(&p->mu);
    set_str(&p->authorization_endpoint, az);
    set_str(&p->token_endpoint, tok);
    set_str(&p->jwks_uri, jw);
    pthread_mutex_unlock(&p->mu);
    snprintf(auth_url, cap, "%s", az);
    json_decref(d);
    return CP_OK;
}

/* Fetches the JWKS unless one was fetched less than jwks_refetch_seconds
 * ago (force: the token's kid is unknown). *jwks gets a reference. */
static cp_result jwks_get(const cp_oidc *o, cp_oidc_provider *p, bool force, json_t **jwks, cp_error *err)
{
    pthread_mutex_lock(&p->mu);
    int64_t now = cp_mono_ms();
    bool fresh = p->jwks && (!force || now - p->jwks_fetched_ms < p->jwks_refetch_seconds * 1000);
    char *uri = p->jwks_uri ? cp_xstrdup(p->jwks_uri) : NULL;
    if (fresh) {
        *jwks = json_incref(p->jwks);
        pthread_mutex_unlock(&p->mu);
        free(uri);
        return force ? CP_EAGAIN : CP_OK; /* EAGAIN: refetch refused by the rate limit */
    }
    /* Counted as fetched now, so concurrent logins with an unknown kid share one fetch. */
    p->jwks_fetched_ms = now;
    pthread_mutex_unlock(&p->mu);
    if (!uri) return cp_error_set(err, CP_EAGAIN, "idp_unavailable", NULL, "the provider was not discovered");
    json_t *k;
    long status;
    cp_result r = fetch_json(o, uri, NULL, "jwks", &k, &status, err);
    free(uri);
    if (r != CP_OK) return r;
    if (status != 200 || !json_is_array(json_object_get(k, "keys"))) {
        json_decref(k);
        return cp_error_set(err, CP_EAGAIN, "idp_unavailable", NULL, "the identity provider's JWKS is not usable");
    }
    pthread_mutex_lock(&p->mu);
    json_decref(p->jwks);
    p->jwks = json_incref(k);
    pthread_mutex_unlock(&p->mu);
    cp_log(CP_LOG_INFO, "OIDC provider keys fetched",
           json_pack("{s:s, s:I}", "provider", p->id, "keys", (json_int_t)json_array_size(json_object_get(k, "keys"))));
    *jwks = k;
    return CP_OK;
}

cp_result cp_oidc_verify_id_token(const cp_oidc *o, cp_oidc_provider *p, const char *token, json_t **claims,
                                  cp_error *err)
{
    json_t *jwks;
    cp_result r = jwks_get(o, p, false, &jwks, err);
    if (r != CP_OK) return r;
    r = cp_oidc_verify_jws(token, jwks, claims, err);
    json_decref(jwks);
    if (r != CP_ENOTFOUND) return r;
    /* An unknown kid: the provider may have rotated its keys. */
    cp_result g = jwks_get(o, p, true, &jwks, err);
    if (g == CP_EAGAIN && !strcmp(err->code, "idp_unavailable")) return g;
    if (g == CP_EAGAIN) { /* refetched too recently: the key stays unknown */
        json_decref(jwks);
        return cp_error_set(err, CP_EAUTH, "unknown_kid", NULL,
                            "the ID token is signed with a key the provider does not publish");
    }
    if (g != CP_OK) return g;
    r = cp_oidc_verify_jws(token, jwks, claims, err);
    json_decref(jwks);
    if (r == CP_ENOTFOUND) err->result = r = CP_EAUTH;
    return r;
}

/* application/x-www-form-urlencoded value. */
static char *form_escape(CURL *h, const char *v)
{
    char *e = curl_easy_escape(h, v, 0);
    char *out = cp_xstrdup(e ? e : "");
    curl_free(e);
    return out;
}

cp_result cp_oidc_exchange(const cp_oidc *o, cp_oidc_provider *p, const char *code, const char *verifier,
                           const char *redirect_uri, json_t **claims, cp_error *err)
{
    *claims = NULL;
    char auth[8];
    cp_result r = cp_oidc_discover(o, p, auth, sizeof auth, err);
    if (r != CP_OK) return r;
    pthread_mutex_lock(&p->mu);
    char *token_url = cp_xstrdup(p->token_endpoint);
    pthread_mutex_unlock(&p->mu);
    CURL *h = curl_easy_init();
    if (!h) {
        free(token_url);
        return cp_error_set(err, CP_ERR, NULL, NULL, "cannot start a request");
    }
    /* client_secret_post: the secret goes in the body, never in a URL or log. */
    char *c = form_escape(h, code), *v = form_escape(h, verifier), *ru = form_escape(h, redirect_uri),
         *id = form_escape(h, p->client_id), *sec = form_escape(h, p->client_secret);
    curl_easy_cleanup(h);
    char *form = cp_xasprintf("grant_type=authorization_code&code=%s&redirect_uri=%s&code_verifier=%s&client_id=%s"
                              "&client_secret=%s",
                              c, ru, v, id, sec);
    sodium_memzero(sec, strlen(sec));
    free(c), free(v), free(ru), free(id), free(sec);
    json_t *tr;
    long status;
    r = fetch_json(o, token_url, form, "token", &tr, &status, err);
    sodium_memzero(form, strlen(form));
    free(form);
    free(token_url);
    if (r != CP_OK) return r;
    const char *idt = json_string_value(json_object_get(tr, "id_token"));
    if (status != 200 || !idt) {
        const char *e = json_string_value(json_object_get(tr, "error"));
        cp_log(CP_LOG_WARN, "OIDC code exchange refused",
               json_pack("{s:s, s:I, s:s}", "provider", p->id, "status", (json_int_t)status, "error", e ? e : "-"));
        json_decref(tr);
        return cp_error_set(err, CP_EAUTH, "code_exchange_failed", NULL,
                            "the identity provider refused the sign-in code");
    }
    r = cp_oidc_verify_id_token(o, p, idt, claims, err);
    json_decref(tr);
    return r;
}
