/* auth.c: signup, login, me, and the bearer-token guard. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "auth/password.h"
#include "core/timeutil.h"

#define BAD_LOGIN "invalid email or password"

/* Lower-cases and checks the shape local@domain.tld; NULL when invalid. */
static char *normalize_email(cp_arena *a, const char *in)
{
    size_t len = strlen(in);
    if (len < 3 || len > 254) return NULL;
    char *e = cp_arena_strndup(a, in, len);
    int ats = 0;
    for (char *p = e; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || strchr("()<>,;:\\\"[]", c)) return NULL;
        if (c == '@') ats++;
        *p = (char)tolower(c);
    }
    const char *at = strchr(e, '@');
    if (ats != 1 || at == e || at - e > 64) return NULL;
    const char *dom = at + 1;
    const char *dot = strrchr(dom, '.');
    if (!dot || dot == dom || !dot[1] || strstr(dom, "..") || dom[0] == '-') return NULL;
    return e;
}

static json_t *user_json(const cp_user *u)
{
    return json_pack("{s:s, s:s, s:s}", "id", u->id, "email", u->email, "name", u->name);
}

static cp_result token_reply(cp_req *req, int status, const cp_user *u)
{
    cp_app *app = CP_APP(req);
    char token[CP_JWT_MAX];
    if (cp_jwt_sign(&app->jwt, u->id, cp_now_ms(), app->cfg->token_ttl_seconds, token, NULL) != CP_OK)
        return cp_req_fail(req, CP_ERR, NULL, NULL, "token signing failed");
    return cp_reply(req, status,
                    json_pack("{s:o, s:s, s:s, s:I}", "user", user_json(u), "access_token", token, "token_type",
                              "bearer", "expires_in", (json_int_t)app->cfg->token_ttl_seconds));
}

cp_result cp_api_signup(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "email", .type = CP_JF_STRING, .required = true, .max_len = 254},
        {.name = "password", .type = CP_JF_STRING, .required = true, .max_len = 1024},
        {.name = "name", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 100},
    };
    json_t *body;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &body);
    if (r != CP_OK) return r;
    char *email = normalize_email(req->arena, cp_json_str(body, "email", ""));
    if (!email) return cp_req_fail(req, CP_EUNPROC, "invalid_email", "email", "enter a valid email address");
    const char *password = cp_json_str(body, "password", "");
    if (cp_utf8_len(password, strlen(password)) < 10)
        return cp_req_fail(req, CP_EUNPROC, "weak_password", "password", "password must be at least 10 characters");
    const char *name = cp_json_str(body, "name", "");
    bool blank = true;
    for (const char *p = name; *p && blank; p++) blank = isspace((unsigned char)*p) != 0;
    if (blank) return cp_req_fail(req, CP_EUNPROC, "missing_field", "name", "name is required");

    char hash[CP_PASSWORD_HASH_MAX];
    if (cp_password_hash(password, hash) != CP_OK)
        return cp_req_fail(req, CP_ERR, NULL, NULL, "password hashing failed");
    cp_user u;
    r = cp_store_user_create(CP_APP(req)->store, req->arena, email, name, hash, &u, &req->err);
    if (r != CP_OK) return r;
    return token_reply(req, 201, &u);
}

/* Logins belong to no project: the audit row carries only the actor. */
static void audit_login(cp_req *req, const char *user_id, const char *action)
{
    cp_error e;
    json_t *d = json_pack("{s:s}", "ip", req->client_ip);
    char *text = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    /* Best effort: the store logs a failed audit write; the login itself is done. */
    CP_IGNORE(cp_store_audit_add(CP_APP(req)->store, user_id, NULL, action, user_id, text, &e));
    free(text);
}

static cp_result rate_limited(cp_req *req, int retry_after)
{
    req->extra_header[0] = "Retry-After";
    req->extra_header[1] = cp_arena_printf(req->arena, "%d", retry_after);
    return cp_req_fail(req, CP_ERATE, "rate_limited", NULL, "too many failed logins; try again in %d seconds",
                       retry_after);
}

cp_result cp_api_login(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "email", .type = CP_JF_STRING, .required = true, .max_len = 254},
        {.name = "password", .type = CP_JF_STRING, .required = true, .max_len = 1024},
    };
    cp_app *app = CP_APP(req);
    json_t *body;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &body);
    if (r != CP_OK) return r;
    const char *raw = cp_json_str(body, "email", "");
    char *email = normalize_email(req->arena, raw);
    const char *ekey = cp_arena_printf(req->arena, "e:%s", email ? email : raw);
    const char *ikey = cp_arena_printf(req->arena, "i:%s", req->client_ip);
    int64_t now = cp_now_ms();
    int wait = 0;
    if (cp_ratelimit_blocked(app->login_by_ip, ikey, now, &wait) ||
        cp_ratelimit_blocked(app->login_by_email, ekey, now, &wait))
        return rate_limited(req, wait);

    const char *password = cp_json_str(body, "password", "");
    cp_user u;
    cp_error lookup;
    cp_error_clear(&lookup);
    r = email ? cp_store_user_by_email(app->store, req->arena, email, &u, &lookup) : CP_ENOTFOUND;
    if (r != CP_OK && r != CP_ENOTFOUND) {
        req->err = lookup;
        return r;
    }
    bool ok;
    if (r == CP_OK) {
        ok = cp_password_verify(u.password_hash, password);
    } else {
        cp_password_dummy_verify(password);
        ok = false;
    }
    if (!ok) {
        cp_ratelimit_fail(app->login_by_email, ekey, now);
        cp_ratelimit_fail(app->login_by_ip, ikey, now);
        if (r == CP_OK) audit_login(req, u.id, "auth.login_failed");
        return cp_req_fail(req, CP_EAUTH, "invalid_credentials", NULL, BAD_LOGIN);
    }
    cp_ratelimit_reset(app->login_by_email, ekey);
    audit_login(req, u.id, "auth.login");
    return token_reply(req, 200, &u);
}

cp_result cp_api_me(cp_req *req)
{
    cp_user u;
    cp_result r = cp_store_user_by_id(CP_APP(req)->store, req->arena, req->user_id, &u, &req->err);
    if (r == CP_ENOTFOUND) return cp_req_fail(req, CP_EAUTH, "unauthorized", NULL, "the account no longer exists");
    if (r != CP_OK) return r;
    return cp_reply(req, 200, user_json(&u));
}

cp_result cp_api_authenticate(cp_req *req, bool allow_query_token)
{
    const char *token = NULL;
    const char *h = cp_req_header(req, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        token = h + 7;
        while (*token == ' ') token++;
    } else if (allow_query_token) {
        token = cp_req_query(req, "access_token");
    }
    if (!token || !*token) return cp_req_fail(req, CP_EAUTH, "unauthorized", NULL, "missing bearer token");
    cp_jwt_claims c;
    if (cp_jwt_verify(&CP_APP(req)->jwt, token, cp_now_ms(), &c) != CP_OK)
        return cp_req_fail(req, CP_EAUTH, "invalid_token", NULL, "the access token is invalid or expired");
    req->user_id = cp_arena_strdup(req->arena, c.sub);
    return CP_OK;
}
