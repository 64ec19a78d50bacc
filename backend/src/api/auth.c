/* auth.c: signup, login, me, and the bearer-token guard. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api/common.h"
#include "api/tokens.h"
#include "auth/apitoken.h"
#include "auth/onetime.h"
#include "core/log.h"
#include "core/mail.h"
#include "auth/password.h"
#include "core/timeutil.h"
#include "store/store_invitations.h"
#include "store/store_sessions.h"

#define BAD_LOGIN "invalid email or password"

static json_t *user_json(const cp_user *u)
{
    return json_pack("{s:s, s:s, s:s}", "id", u->id, "email", u->email, "name", u->name);
}

/* The one place a sign-in issues tokens: a new session, its refresh cookie,
 * and an access token bound to it (api/sessions.c). */
static cp_result token_reply(cp_req *req, int status, const cp_user *u)
{
    cp_app *app = CP_APP(req);
    char token[CP_JWT_MAX];
    cp_result r = cp_api_session_start(req, u->id, token);
    if (r != CP_OK) return r;
    return cp_reply(req, status,
                    json_pack("{s:o, s:s, s:s, s:I}", "user", user_json(u), "access_token", token, "token_type",
                              "bearer", "expires_in", (json_int_t)app->cfg->token_ttl_seconds));
}

/* What POST /auth/signup answers, for a new email and a taken one alike. */
#define SIGNUP_SENT "if this address can sign up, a link to finish is on its way: check your email"

cp_result cp_api_signup_closed(cp_req *req, cp_signup_policy policy)
{
    if (policy == CP_SIGNUP_INVITE)
        return cp_req_fail(req, CP_EFORBIDDEN, "signup_invite_only", NULL,
                           "sign-up is by invitation only: ask a project owner to invite you");
    return cp_req_fail(req, CP_EFORBIDDEN, "signup_disabled", NULL,
                       "sign-up is turned off on this server: ask its administrator for an account");
}

cp_result cp_api_local_passwords_off(cp_req *req)
{
    return cp_req_fail(req, CP_EFORBIDDEN, "local_passwords_disabled", NULL,
                       "passwords are turned off on this server: sign in with single sign-on");
}

cp_result cp_api_invalid_link(cp_req *req)
{
    return cp_req_fail(req, CP_ENOTFOUND, "invalid_token", "token", "this link is invalid, used or expired");
}

/* Both answers take the same path: one lookup, one token stored, one mail;
 * only the mail's words differ. The token of a taken email is stored but
 * never mailed, so nobody holds it. No password is hashed here. */
cp_result cp_api_signup(cp_req *req)
{
    static const cp_json_field fields[] = {{.name = "email", .type = CP_JF_STRING, .required = true, .max_len = 254}};
    cp_app *app = CP_APP(req);
    json_t *body;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &body);
    if (r != CP_OK) return r;
    if (!app->cfg->local_passwords) return cp_api_local_passwords_off(req);
    cp_signup_policy policy = cp_config_signup_policy(app->cfg);
    if (policy != CP_SIGNUP_OPEN) return cp_api_signup_closed(req, policy);
    char *email = cp_api_normalize_email(req->arena, cp_json_str(body, "email", ""));
    if (!email) return cp_req_fail(req, CP_EUNPROC, "invalid_email", "email", "enter a valid email address");

    if ((r = cp_api_limit(req, CP_LIMIT_SIGNUP, email)) != CP_OK) return r;
    cp_user u;
    r = cp_store_user_by_email(app->store, req->arena, email, &u, &req->err);
    if (r != CP_OK && r != CP_ENOTFOUND) return r;
    bool taken = r == CP_OK;
    cp_error_clear(&req->err);
    char token[CP_ONETIME_MAX + 1], hash[CP_ONETIME_HASH_LEN + 1];
    cp_onetime_new("cps_", token, hash);
    int64_t now = cp_now_ms();
    r = cp_store_signup_token_add(app->store, hash, email, now, now + app->cfg->signup_token_ttl_seconds * 1000,
                                  &req->err);
    if (r != CP_OK) return r;
    cp_mail m = {.to = email, .kind = "signup"};
    if (taken) {
        m.subject = "Your cloudplane account";
        m.text = "Someone asked to sign up with this email, which already has a cloudplane account. Sign in with "
                 "it, or reset its password with the server's administrator. If this was not you, ignore this mail.";
    } else {
        m.subject = "Finish signing up to cloudplane";
        m.link = cp_api_link(req, "/signup/complete", token);
        m.text = cp_arena_printf(req->arena,
                                 "Open this link to choose your name and password (it works once, for %ld hours):"
                                 "\n\n%s\n\nIf this was not you, ignore this mail.",
                                 app->cfg->signup_token_ttl_seconds / 3600, m.link);
    }
    sodium_memzero(token, sizeof token);
    if ((r = cp_mail_send(app->cfg->mail_outbox, &m, &req->err)) != CP_OK) return r;
    return cp_reply(req, 202, json_pack("{s:s, s:s}", "status", "check_email", "message", SIGNUP_SENT));
}

static cp_result signup_fields(cp_req *req, json_t **body)
{
    static const cp_json_field fields[] = {
        {.name = "token", .type = CP_JF_STRING, .required = true, .max_len = 256},
        {.name = "password", .type = CP_JF_STRING, .required = true, .max_len = 1024},
        {.name = "name", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 100},
    };
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), body);
    if (r != CP_OK) return r;
    const char *password = cp_json_str(*body, "password", "");
    if (cp_utf8_len(password, strlen(password)) < 10)
        return cp_req_fail(req, CP_EUNPROC, "weak_password", "password", "password must be at least 10 characters");
    bool blank = true;
    for (const char *p = cp_json_str(*body, "name", ""); *p && blank; p++) blank = isspace((unsigned char)*p) != 0;
    if (blank) return cp_req_fail(req, CP_EUNPROC, "missing_field", "name", "name is required");
    return CP_OK;
}

/* A sign-up token (cps_) works under `open`; an invitation token (cpi_)
 * under `open` and `invite`. `off` means no new accounts at all: an
 * invitation then reaches existing users only (an operator creates accounts
 * with `cloudplane admin`). */
cp_result cp_api_signup_complete(cp_req *req)
{
    cp_app *app = CP_APP(req);
    json_t *body;
    cp_result r = signup_fields(req, &body);
    if (r != CP_OK) return r;
    if (!app->cfg->local_passwords) return cp_api_local_passwords_off(req);
    const char *token = cp_json_str(body, "token", "");
    char hash[CP_ONETIME_HASH_LEN + 1];
    bool invitation = !strncmp(token, "cpi_", 4);
    if ((!invitation && strncmp(token, "cps_", 4) != 0) || !cp_onetime_hash(token, hash))
        return cp_api_invalid_link(req);
    cp_signup_policy policy = cp_config_signup_policy(app->cfg);
    if (policy == CP_SIGNUP_OFF || (policy == CP_SIGNUP_INVITE && !invitation))
        return cp_api_signup_closed(req, policy);

    int64_t now = cp_now_ms();
    r = cp_store_token_live(app->store, invitation, hash, now, &req->err);
    if (r == CP_ENOTFOUND) return cp_api_invalid_link(req);
    if (r != CP_OK) return r;
    char pw[CP_PASSWORD_HASH_MAX];
    if ((r = cp_api_password_hash(req, cp_json_str(body, "password", ""), pw)) != CP_OK) return r;
    const char *name = cp_json_str(body, "name", "");
    cp_user u;
    cp_invitation inv;
    if (invitation)
        r = cp_store_invitation_signup(app->store, req->arena, hash, now, name, pw, &u, &inv, &req->err);
    else
        r = cp_store_signup_complete(app->store, req->arena, hash, now, name, pw, &u, &req->err);
    /* A sign-up link whose email got an account meanwhile is just a dead link. */
    if (r == CP_ENOTFOUND || (r == CP_ECONFLICT && !invitation)) return cp_api_invalid_link(req);
    if (r != CP_OK) return r;
    req->user_id = u.id;
    if (invitation)
        cp_api_audit(req, inv.project_id, "invitation.accept", inv.id,
                     json_pack("{s:s, s:s}", "email", inv.email, "role", cp_role_name(inv.role)));
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
    if (!app->cfg->local_passwords) return cp_api_local_passwords_off(req);
    const char *raw = cp_json_str(body, "email", "");
    char *email = cp_api_normalize_email(req->arena, raw);
    const char *ekey = cp_arena_printf(req->arena, "e:%s", email ? email : raw);
    const char *ikey = cp_arena_printf(req->arena, "i:%s", req->client_key);
    int64_t now = cp_now_ms();
    int wait = 0;
    if (cp_ratelimit_blocked(app->login_by_ip, ikey, now, &wait) ||
        cp_ratelimit_blocked(app->login_by_email, ekey, now, &wait))
        return rate_limited(req, wait);
    /* Every attempt counts, successful ones too: a stolen password list is
     * tried at this pace at most. */
    if ((r = cp_api_limit(req, CP_LIMIT_LOGIN, ekey)) != CP_OK) return r;

    const char *password = cp_json_str(body, "password", "");
    cp_user u;
    cp_error lookup;
    cp_error_clear(&lookup);
    r = email ? cp_store_user_by_email(app->store, req->arena, email, &u, &lookup) : CP_ENOTFOUND;
    if (r != CP_OK && r != CP_ENOTFOUND) {
        req->err = lookup;
        return r;
    }
    bool found = r == CP_OK, ok = false;
    /* An unknown email costs a verification too, so timing tells nothing. */
    if ((r = cp_api_password_verify(req, found ? u.password_hash : NULL, password, &ok)) != CP_OK) return r;
    r = found ? CP_OK : CP_ENOTFOUND;
    if (!ok) {
        cp_ratelimit_fail(app->login_by_email, ekey, now);
        cp_ratelimit_fail(app->login_by_ip, ikey, now);
        if (r == CP_OK) audit_login(req, u.id, "auth.login_failed");
        /* Never the email or password: the account when there is one. */
        cp_log(CP_LOG_INFO, "sign-in failed",
               json_pack("{s:s, s:o}", "ip", req->client_ip, "user_id", cp_json_str_or_null(r == CP_OK ? u.id : NULL)));
        return cp_req_fail(req, CP_EAUTH, "invalid_credentials", NULL, BAD_LOGIN);
    }
    cp_ratelimit_reset(app->login_by_email, ekey);
    audit_login(req, u.id, "auth.login");
    return token_reply(req, 200, &u);
}

/* The user came with the session check (cp_api_authenticate), in the same
 * statement: a gone account has no live session, so it is a 401 there. */
cp_result cp_api_me(cp_req *req)
{
    cp_buf b;
    cp_buf_init(&b, 4096);
    cp_jsonw w;
    cp_jsonw_init(&w, &b);
    cp_jsonw_obj_begin(&w);
    CP_JSONW_KEY(&w, "id");
    cp_jsonw_str(&w, req->user_id);
    CP_JSONW_KEY(&w, "email");
    cp_jsonw_str(&w, req->user_email ? req->user_email : "");
    CP_JSONW_KEY(&w, "name");
    cp_jsonw_str(&w, req->user_name ? req->user_name : "");
    cp_jsonw_obj_end(&w);
    if (cp_jsonw_result(&w) != CP_OK) {
        cp_buf_free(&b);
        return cp_req_fail(req, CP_ERR, NULL, NULL, "user record too long");
    }
    size_t len;
    char *body = cp_buf_steal(&b, &len);
    return cp_reply_bytes(req, 200, "application/json", body, len, free, body);
}

static cp_result bad_token(cp_req *req)
{
    return cp_req_fail(req, CP_EAUTH, "invalid_token", NULL, "the access token is invalid or expired");
}

/* The bearer token, or (on stream routes) a stream ticket for the run in the
 * path; then the session either belongs to must still be live. */
cp_result cp_api_authenticate(cp_req *req, bool allow_ticket)
{
    cp_app *app = CP_APP(req);
    /* Proxies and browsers log URLs: a token there is refused, not used. */
    if (cp_req_query(req, "access_token"))
        return cp_req_fail(
            req, CP_EAUTH, "token_in_url", NULL,
            "access tokens are not accepted in the URL; use the Authorization header or a stream ticket");
    const char *h = cp_req_header(req, "Authorization");
    const char *ticket = allow_ticket ? cp_req_query(req, "ticket") : NULL;
    int64_t now = cp_now_ms();
    cp_jwt_claims c;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *token = h + 7;
        while (*token == ' ') token++;
        if (cp_apitoken_is(token)) return cp_api_token_authenticate(req, token);
        if (cp_jwt_verify(&app->jwt, token, CP_JWT_AUD_API, now, &c) != CP_OK) return bad_token(req);
    } else if (ticket) {
        const char *run = cp_req_param(req, "id");
        if (cp_jwt_verify(&app->jwt, ticket, CP_JWT_AUD_STREAM, now, &c) != CP_OK || !run || strcmp(c.run, run) != 0)
            return cp_req_fail(req, CP_EAUTH, "invalid_ticket", NULL,
                               "the stream ticket is invalid, expired, or for another run");
    } else {
        return cp_req_fail(req, CP_EAUTH, "unauthorized", NULL, "missing bearer token");
    }
    cp_user u;
    int64_t version = 0;
    cp_result r = cp_store_session_user(app->store, req->arena, c.sid, c.sub, now, &u, &version, &req->err);
    if (r == CP_EAUTH)
        return cp_req_fail(req, CP_EAUTH, "session_ended", NULL, "this sign-in has ended; sign in again");
    if (r != CP_OK) return r;
    req->user_id = u.id;
    req->user_email = u.email;
    req->user_name = u.name;
    req->session_id = cp_arena_strdup(req->arena, c.sid);
    req->data_version = version;
    req->has_data_version = true;
    if (!strncmp(c.sid, "t:", 2)) { /* a stream ticket a token asked for */
        req->token_id = req->session_id + 2;
        req->token_scopes = CP_SCOPE_READ;
        return cp_api_token_check_route(req);
    }
    return CP_OK;
}
