/* oidc.c: single sign-on routes: the providers the login page offers, the
 * start of a sign-in (a redirect to the provider with PKCE, state and
 * nonce) and its callback (code exchange, ID token checks, the user created
 * or linked, group roles, then a session as a password login starts one).
 *
 * The state is single use: only its hash is stored, with the PKCE verifier
 * and nonce, and the callback deletes it. It is also bound to the browser
 * that started the sign-in by a short-lived cookie (SameSite=Lax: the
 * provider's redirect back is a cross-site navigation), so a callback link
 * made by someone else signs nobody in. */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "auth/oidc_client.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_sso.h"

#define STATE_COOKIE "cp_oidc_state"
#define STATE_PATH "/api/v1/auth/oidc"
#define STATE_TTL_S 600
#define CLOCK_SKEW_S 60
#define RETURN_MAX 512

/* The public base URL without a trailing slash. */
static const char *base_url(cp_req *req)
{
    const cp_app *app = CP_APP(req);
    const char *base = app->cfg->public_url[0] ? app->cfg->public_url : app->public_url;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    return cp_arena_strndup(req->arena, base, n);
}

static const char *redirect_uri(cp_req *req, const cp_oidc_provider *p)
{
    return cp_arena_printf(req->arena, "%s" STATE_PATH "/%s/callback", base_url(req), p->id);
}

static cp_result redirect(cp_req *req, const char *location)
{
    req->extra_header[0] = "Location";
    req->extra_header[1] = location;
    return cp_reply(req, 302, json_pack("{s:s}", "location", location));
}

static cp_oidc_provider *provider(cp_req *req)
{
    return cp_oidc_find(CP_APP(req)->oidc, cp_req_param(req, "id"));
}

static cp_result unknown_provider(cp_req *req)
{
    return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "no such sign-in provider");
}

cp_result cp_api_oidc_providers(cp_req *req)
{
    const cp_app *app = CP_APP(req);
    json_t *list = json_array();
    for (size_t i = 0; app->oidc && i < app->oidc->n; i++) {
        const cp_oidc_provider *p = &app->oidc->providers[i];
        json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "id", p->id, "name", p->name, "start_url",
                                              cp_arena_printf(req->arena, STATE_PATH "/%s/start", p->id)));
    }
    return cp_reply(req, 200, json_pack("{s:o, s:b}", "providers", list, "local_passwords", app->cfg->local_passwords));
}

/* Where the UI goes after the sign-in: a path of this site, never another. */
static const char *return_to(cp_req *req)
{
    const char *r = cp_req_query(req, "return_to");
    if (!r || r[0] != '/' || r[1] == '/' || r[1] == '\\' || strlen(r) > RETURN_MAX) return "/";
    for (const char *c = r; *c; c++)
        if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e) return "/";
    return r;
}

static const char *esc(cp_req *req, const char *v)
{
    char *e = curl_easy_escape(NULL, v, 0);
    const char *out = cp_arena_strdup(req->arena, e ? e : "");
    curl_free(e);
    return out;
}

/* Every refusal: a log line (never a code, token or secret), then for a
 * browser the login page with the reason, for other clients the error. */
static cp_result refused(cp_req *req, const cp_oidc_provider *p, cp_result r)
{
    cp_log(r == CP_EAGAIN || r == CP_ERR ? CP_LOG_WARN : CP_LOG_INFO, "single sign-on refused",
           json_pack("{s:s, s:s, s:s, s:s}", "provider", p->id, "code", req->err.code[0] ? req->err.code : "error",
                     "reason", req->err.message, "ip", req->client_ip));
    const char *accept = cp_req_header(req, "Accept");
    if (!accept || !strstr(accept, "text/html")) return r;
    const char *loc = cp_arena_printf(req->arena, "%s/login?sso_error=%s", base_url(req),
                                      esc(req, req->err.code[0] ? req->err.code : "error"));
    cp_error_clear(&req->err);
    return redirect(req, loc);
}

/* The provider's own error code (e.g. access_denied), kept to a safe word. */
static const char *idp_error(cp_req *req, const char *e)
{
    char *w = cp_arena_strndup(req->arena, e, 64);
    for (char *c = w; *c; c++)
        if (!(*c >= 'a' && *c <= 'z') && *c != '_') *c = '_';
    return w;
}

typedef struct {
    cp_req *req;
    const char *user_id;
    const char *provider_id;
} grant_ctx;

static void grant(const cp_oidc_group_role *gr, void *ctx)
{
    grant_ctx *g = ctx;
    cp_req *req = g->req;
    bool changed = false;
    const char *pid = NULL;
    cp_error e;
    cp_error_clear(&e);
    cp_result r = cp_store_sso_grant(CP_APP(req)->store, req->arena, g->user_id, gr->project, (cp_role)gr->role,
                                     cp_now_ms(), &changed, &pid, &e);
    if (r != CP_OK) {
        /* The sign-in goes on: a mapping to a missing project is the operator's to fix. */
        cp_log(CP_LOG_WARN, "single sign-on group role not applied",
               json_pack("{s:s, s:s, s:s, s:s}", "provider", g->provider_id, "group", gr->group, "project", gr->project,
                         "reason", e.message));
        return;
    }
    if (changed)
        cp_api_audit(req, pid, "member.sso_role", g->user_id,
                     json_pack("{s:s, s:s, s:s}", "provider", g->provider_id, "group", gr->group, "role",
                               cp_role_name((cp_role)gr->role)));
}

static const char *const outcome_names[] = {"known", "linked", "created"};

static cp_result sign_in(cp_req *req, cp_oidc_provider *p, const cp_oidc_login *l, json_t *claims)
{
    cp_app *app = CP_APP(req);
    cp_oidc_identity id;
    cp_result r = cp_oidc_check_claims(p, claims, l->nonce, cp_now_ms() / 1000, CLOCK_SKEW_S, &id, &req->err);
    if (r != CP_OK) return r;
    if (!id.email_verified) {
        cp_oidc_identity_free(&id);
        return cp_req_fail(req, CP_EFORBIDDEN, "email_not_verified", NULL,
                           "the identity provider has not verified this email address");
    }
    cp_sso_identity si = {.issuer = p->issuer,
                          .subject = id.subject,
                          .provider_id = p->id,
                          .email = id.email,
                          .name = id.name,
                          .may_link = p->linking == CP_OIDC_LINK_VERIFIED_EMAIL && id.email_verified,
                          .may_create = p->create_users};
    cp_user u;
    cp_sso_outcome outcome;
    r = cp_store_sso_user(app->store, req->arena, &si, cp_now_ms(), &u, &outcome, &req->err);
    if (r == CP_OK) {
        req->user_id = u.id;
        grant_ctx g = {req, u.id, p->id};
        cp_oidc_each_group_role(p, &id, grant, &g);
        cp_api_audit(
            req, NULL, "auth.sso_login", u.id,
            json_pack("{s:s, s:s, s:s}", "provider", p->id, "account", outcome_names[outcome], "ip", req->client_ip));
    }
    cp_oidc_identity_free(&id);
    if (r != CP_OK) return r;
    char token[CP_JWT_MAX];
    r = cp_api_session_start(req, u.id, token);
    sodium_memzero(token, sizeof token);
    if (r != CP_OK) return r;
    return redirect(req, cp_arena_printf(req->arena, "%s%s", base_url(req), l->return_to));
}

/* Discovery, the code exchange and the provider's JWKS are network round
 * trips (up to the client's timeout each): they run on a thread of their
 * own while the connection waits suspended (cp_req_await), never on an HTTP
 * thread. The handler runs again, woken, and finds the job done. */
typedef struct {
    cp_req *req;
    cp_oidc_provider *p;
    bool exchange; /* the code exchange; else discovery only */
    const char *code, *redirect_uri;
    cp_oidc_login login;
    char auth_url[1024]; /* discovery: the authorization endpoint */
    json_t *claims;
    cp_result result;
    cp_error err;
} idp_job;

#define IDP_JOBS_MAX 32
static _Atomic int idp_jobs;

static void *idp_thread(void *arg)
{
    idp_job *job = arg;
    cp_app *app = CP_APP(job->req);
    if (job->exchange) {
        job->result = cp_oidc_exchange(app->oidc, job->p, job->code, job->login.verifier, job->redirect_uri,
                                       &job->claims, &job->err);
        sodium_memzero((char *)job->login.verifier, strlen(job->login.verifier));
    } else {
        job->result = cp_oidc_discover(app->oidc, job->p, job->auth_url, sizeof job->auth_url, &job->err);
    }
    atomic_fetch_sub(&idp_jobs, 1);
    cp_req_wake(job->req); /* the request (and job, in its arena) may be gone after this */
    return NULL;
}

/* job (in the request's arena) runs on its own thread: CP_EDECLINED, or
 * 503 busy when too many run or no thread starts. */
static cp_result idp_job_start(cp_req *req, idp_job *job)
{
    if (atomic_fetch_add(&idp_jobs, 1) >= IDP_JOBS_MAX) {
        atomic_fetch_sub(&idp_jobs, 1);
        cp_api_retry_after(req, 1);
        return cp_req_fail(req, CP_EAGAIN, "busy", NULL, "too many sign-ins at once; try again");
    }
    job->req = req;
    req->await_ctx = job;
    cp_req_await(req);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, idp_thread, job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        req->await_ctx = NULL; /* the server stops waiting: this returns other than CP_EDECLINED */
        atomic_fetch_sub(&idp_jobs, 1);
        cp_api_retry_after(req, 1);
        return cp_req_fail(req, CP_EAGAIN, "busy", NULL, "the server is busy; try again");
    }
    return CP_EDECLINED;
}

static idp_job *idp_job_new(cp_req *req, cp_oidc_provider *p)
{
    idp_job *job = cp_arena_alloc(req->arena, sizeof *job);
    memset(job, 0, sizeof *job);
    job->p = p;
    return job;
}

static cp_result exchange_start(cp_req *req, cp_oidc_provider *p, const char *code, const cp_oidc_login *l)
{
    idp_job *job = idp_job_new(req, p);
    job->exchange = true;
    job->code = code;
    job->redirect_uri = redirect_uri(req, p);
    job->login = *l;
    return idp_job_start(req, job);
}

/* Called twice: first it checks and spends the state and starts the
 * exchange; then, woken with the exchange's result, it signs the user in. */
cp_result cp_api_oidc_callback(cp_req *req)
{
    cp_app *app = CP_APP(req);
    cp_oidc_provider *p = provider(req);
    if (!p) return unknown_provider(req);
    idp_job *job = req->await_ctx;
    if (job) {
        req->await_ctx = NULL;
        cp_result r = job->result;
        if (r == CP_OK)
            r = sign_in(req, p, &job->login, job->claims);
        else
            req->err = job->err;
        json_decref(job->claims);
        return r == CP_OK ? r : refused(req, p, r);
    }
    const char *e = cp_req_query(req, "error");
    if (e)
        return refused(req, p,
                       cp_req_fail(req, CP_EAUTH, "idp_refused", NULL, "the identity provider refused the sign-in (%s)",
                                   idp_error(req, e)));
    const char *code = cp_req_query(req, "code"), *state = cp_req_query(req, "state");
    if (!code || !*code || !state || strlen(state) != CP_OIDC_RANDOM_LEN)
        return refused(
            req, p,
            cp_req_fail(req, CP_EAUTH, "invalid_state", NULL, "this sign-in is unknown, used or expired: start again"));
    const char *bound = cp_req_cookie(req, STATE_COOKIE);
    if (!bound || strlen(bound) != CP_OIDC_RANDOM_LEN || sodium_memcmp(bound, state, CP_OIDC_RANDOM_LEN) != 0)
        return refused(req, p,
                       cp_req_fail(req, CP_EAUTH, "state_mismatch", NULL,
                                   "this sign-in was started in another browser: start again"));
    char hash[CP_API_TOKEN_HASH_HEX];
    cp_api_token_hash(state, hash);
    cp_oidc_login l;
    cp_result r = cp_store_oidc_login_take(app->store, req->arena, hash, cp_now_ms(), &l, &req->err);
    if (r == CP_ENOTFOUND || (r == CP_OK && strcmp(l.provider_id, p->id)))
        return refused(
            req, p,
            cp_req_fail(req, CP_EAUTH, "invalid_state", NULL, "this sign-in is unknown, used or expired: start again"));
    if (r != CP_OK) return r;
    return exchange_start(req, p, code, &l);
}

cp_result cp_api_oidc_start(cp_req *req)
{
    cp_app *app = CP_APP(req);
    cp_oidc_provider *p = provider(req);
    if (!p) return unknown_provider(req);
    /* Rate-limited as a login attempt: each start stores a row. */
    cp_result r = cp_api_limit(req, CP_LIMIT_LOGIN, NULL);
    if (r != CP_OK) return r;
    char auth[1024];
    idp_job *job = req->await_ctx;
    if (job) { /* woken: discovery is done */
        req->await_ctx = NULL;
        if ((r = job->result) != CP_OK) {
            req->err = job->err;
            return refused(req, p, r);
        }
        snprintf(auth, sizeof auth, "%s", job->auth_url);
    } else if (!cp_oidc_discovered(p, auth, sizeof auth)) {
        return idp_job_start(req, idp_job_new(req, p));
    }
    char state[CP_OIDC_RANDOM_LEN + 1], nonce[CP_OIDC_RANDOM_LEN + 1], verifier[CP_OIDC_RANDOM_LEN + 1];
    char challenge[CP_OIDC_RANDOM_LEN + 1], hash[CP_API_TOKEN_HASH_HEX];
    cp_oidc_random(state);
    cp_oidc_random(nonce);
    cp_oidc_random(verifier);
    cp_oidc_pkce_challenge(verifier, challenge);
    cp_api_token_hash(state, hash);
    int64_t now = cp_now_ms();
    cp_oidc_login l = {hash, p->id, nonce, verifier, return_to(req), now, now + STATE_TTL_S * 1000};
    r = cp_store_oidc_login_add(app->store, &l, &req->err);
    sodium_memzero(verifier, sizeof verifier);
    if (r != CP_OK) return r;
    const char *loc = cp_arena_printf(
        req->arena,
        "%s%cresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s&code_challenge=%s"
        "&code_challenge_method=S256",
        auth, strchr(auth, '?') ? '&' : '?', esc(req, p->client_id), esc(req, redirect_uri(req, p)),
        esc(req, p->scopes), state, nonce, challenge);
    req->set_cookie =
        cp_arena_printf(req->arena, STATE_COOKIE "=%s; Path=" STATE_PATH "; Max-Age=%d; HttpOnly; SameSite=Lax%s",
                        state, STATE_TTL_S, cp_api_cookie_secure(CP_APP(req)) ? "; Secure" : "");
    return redirect(req, loc);
}
