/* sessions.c: sign-in sessions: starting one (access token + refresh cookie),
 * refresh with rotation and reuse detection, logout, listing and revoking
 * sessions, and password change.
 *
 * A session is a family of refresh tokens. The refresh token is 32 random
 * bytes (libsodium) in an HttpOnly, SameSite=Strict cookie scoped to the auth
 * routes; the store keeps only its BLAKE2b hash. Each refresh spends the token
 * and issues the next; a spent token presented again means two parties hold
 * the family, so the whole session is revoked. Access tokens carry the
 * session id (sid), and the auth guard checks that session on every request
 * (a primary-key read, no cache), so a revocation holds on every API instance
 * at once. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "api/common.h"
#include "auth/password.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "queue/events.h"
#include "store/store_sessions.h"

#define REFRESH_COOKIE "cp_refresh"
#define REFRESH_BYTES 32
#define REFRESH_PATH "/api/v1/auth"
#define HASH_HEX CP_API_TOKEN_HASH_HEX
_Static_assert(HASH_HEX == crypto_generichash_BYTES * 2 + 1, "the token hash is BLAKE2b-256 in hex");
#define UA_MAX 200

void cp_api_token_hash(const char *token, char out[CP_API_TOKEN_HASH_HEX])
{
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(out, HASH_HEX, h, sizeof h);
}

bool cp_api_cookie_secure(const cp_app *app)
{
    return app->cfg->public_url && strncmp(app->cfg->public_url, "https://", 8) == 0;
}

static void set_refresh_cookie(cp_req *req, const char *token)
{
    cp_app *app = CP_APP(req);
    req->set_cookie = cp_arena_printf(
        req->arena, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Strict%s", REFRESH_COOKIE, token ? token : "",
        REFRESH_PATH, token ? app->cfg->refresh_ttl_seconds : 0L, cp_api_cookie_secure(app) ? "; Secure" : "");
}

/* The User-Agent as shown in the session list: printable ASCII, bounded. */
static const char *user_agent(cp_req *req)
{
    const char *ua = cp_req_header(req, "User-Agent");
    if (!ua) return "";
    size_t n = strnlen(ua, UA_MAX);
    char *out = cp_arena_strndup(req->arena, ua, n);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) *p = '?';
    return out;
}

static cp_result sign_access(cp_req *req, const char *user_id, const char *sid, char out[CP_JWT_MAX])
{
    cp_app *app = CP_APP(req);
    cp_jwt_claims c;
    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "%s", user_id);
    snprintf(c.sid, sizeof c.sid, "%s", sid);
    snprintf(c.aud, sizeof c.aud, "%s", CP_JWT_AUD_API);
    if (cp_jwt_sign(&app->jwt, &c, cp_now_ms(), app->cfg->token_ttl_seconds, out) != CP_OK)
        return cp_req_fail(req, CP_ERR, NULL, NULL, "token signing failed");
    return CP_OK;
}

static void new_refresh_token(char *token, size_t cap, char hash[HASH_HEX])
{
    unsigned char raw[REFRESH_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token, cap, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    cp_api_token_hash(token, hash);
}

#define REFRESH_B64 sodium_base64_ENCODED_LEN(REFRESH_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)

cp_result cp_api_session_start(cp_req *req, const char *user_id, char access[CP_JWT_MAX])
{
    cp_app *app = CP_APP(req);
    char refresh[REFRESH_B64], hash[HASH_HEX], sid[CP_ID_LEN + 1];
    new_refresh_token(refresh, sizeof refresh, hash);
    int64_t now = cp_now_ms();
    cp_result r = cp_store_session_create(app->store, user_id, user_agent(req), hash, now,
                                          now + app->cfg->refresh_ttl_seconds * 1000, sid, &req->err);
    if (r == CP_OK) r = sign_access(req, user_id, sid, access);
    if (r == CP_OK) set_refresh_cookie(req, refresh);
    sodium_memzero(refresh, sizeof refresh);
    return r;
}

static json_t *token_json(const cp_user *u, const char *access, long ttl)
{
    return json_pack("{s:{s:s, s:s, s:s}, s:s, s:s, s:I}", "user", "id", u->id, "email", u->email, "name", u->name,
                     "access_token", access, "token_type", "bearer", "expires_in", (json_int_t)ttl);
}

static cp_result refresh_refused(cp_req *req, const char *code, const char *msg)
{
    set_refresh_cookie(req, NULL);
    return cp_req_fail(req, CP_EAUTH, code, NULL, "%s", msg);
}

cp_result cp_api_refresh(cp_req *req)
{
    cp_app *app = CP_APP(req);
    const char *old = cp_req_cookie(req, REFRESH_COOKIE);
    if (!old || strlen(old) != REFRESH_B64 - 1)
        return refresh_refused(req, "invalid_refresh", "no valid refresh token; sign in again");
    char old_hash[HASH_HEX], next[REFRESH_B64], next_hash[HASH_HEX], sid[CP_ID_LEN + 1], user_id[64];
    cp_api_token_hash(old, old_hash);
    new_refresh_token(next, sizeof next, next_hash);
    int64_t now = cp_now_ms();
    cp_refresh_outcome outcome;
    cp_result r =
        cp_store_session_refresh(app->store, old_hash, next_hash, now, now + app->cfg->refresh_ttl_seconds * 1000,
                                 &outcome, sid, user_id, &req->err);
    if (r == CP_OK && outcome == CP_REFRESH_REUSED) {
        /* Never the token: the session and user say enough to follow up. */
        cp_log(CP_LOG_WARN, "refresh token reused; session revoked",
               json_pack("{s:s, s:s, s:s}", "session_id", sid, "user_id", user_id, "ip", req->client_ip));
        cp_error e;
        /* Best effort, as every audit write. */
        CP_IGNORE(cp_store_audit_add(app->store, user_id, NULL, "auth.refresh_reuse", sid, NULL, &e));
        cp_events_access_user(app->events, user_id); /* its open streams end */
        r = refresh_refused(req, "refresh_reused", "this sign-in was ended because its refresh token was reused");
    } else if (r == CP_OK && outcome == CP_REFRESH_INVALID) {
        r = refresh_refused(req, "invalid_refresh", "the refresh token is invalid or expired; sign in again");
    }
    cp_user u;
    if (r == CP_OK && cp_store_user_by_id(app->store, req->arena, user_id, &u, &req->err) != CP_OK)
        r = refresh_refused(req, "invalid_refresh", "the account no longer exists");
    char access[CP_JWT_MAX];
    if (r == CP_OK) r = sign_access(req, user_id, sid, access);
    if (r == CP_OK) {
        set_refresh_cookie(req, next);
        r = cp_reply(req, 200, token_json(&u, access, app->cfg->token_ttl_seconds));
    }
    sodium_memzero(next, sizeof next);
    return r;
}

static void audit_self(cp_req *req, const char *action, json_t *detail)
{
    cp_api_audit(req, NULL, action, req->user_id, detail);
}

cp_result cp_api_logout(cp_req *req)
{
    cp_result r =
        cp_store_session_revoke(CP_APP(req)->store, req->session_id, req->user_id, "logout", cp_now_ms(), &req->err);
    /* The guard saw the session live a moment ago: a concurrent revoke ended it. */
    if (r != CP_OK && r != CP_ENOTFOUND) return r;
    cp_events_access_user(CP_APP(req)->events, req->user_id);
    set_refresh_cookie(req, NULL);
    audit_self(req, "auth.logout", NULL);
    return cp_reply(req, 204, NULL);
}

cp_result cp_api_sessions_revoke_all(cp_req *req)
{
    int64_t n;
    cp_result r =
        cp_store_sessions_revoke_all(CP_APP(req)->store, req->user_id, NULL, "revoke_all", cp_now_ms(), &n, &req->err);
    if (r != CP_OK) return r;
    cp_events_access_user(CP_APP(req)->events, req->user_id);
    set_refresh_cookie(req, NULL);
    audit_self(req, "auth.sessions_revoked", json_pack("{s:I}", "sessions", (json_int_t)n));
    return cp_reply(req, 200, json_pack("{s:I}", "revoked", (json_int_t)n));
}

cp_result cp_api_sessions_revoke(cp_req *req)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    r = cp_store_session_revoke(CP_APP(req)->store, id, req->user_id, "revoked", cp_now_ms(), &req->err);
    if (r != CP_OK) return r;
    cp_events_access_user(CP_APP(req)->events, req->user_id);
    if (!strcmp(id, req->session_id)) set_refresh_cookie(req, NULL);
    audit_self(req, "auth.session_revoked", json_pack("{s:s}", "session_id", id));
    return cp_reply(req, 204, NULL);
}

cp_result cp_api_sessions_list(cp_req *req)
{
    cp_session *items;
    size_t n;
    cp_result r =
        cp_store_sessions_list(CP_APP(req)->store, req->arena, req->user_id, cp_now_ms(), &items, &n, &req->err);
    if (r != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o, s:s, s:b}", "id", items[i].id, "created_at",
                                             cp_api_time(items[i].created_at), "last_used_at",
                                             cp_api_time(items[i].last_used_at), "expires_at",
                                             cp_api_time(items[i].expires_at), "user_agent", items[i].user_agent,
                                             "current", !strcmp(items[i].id, req->session_id)));
    return cp_reply(req, 200, cp_api_page_json(arr, NULL));
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

cp_result cp_api_password_change(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "current_password", .type = CP_JF_STRING, .required = true, .max_len = 1024},
        {.name = "new_password", .type = CP_JF_STRING, .required = true, .max_len = 1024},
    };
    cp_app *app = CP_APP(req);
    json_t *body;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &body);
    if (r != CP_OK) return r;
    if (!app->cfg->local_passwords) return cp_api_local_passwords_off(req);
    const char *key = cp_arena_printf(req->arena, "p:%s", req->user_id);
    int64_t now = cp_now_ms();
    int wait = 0;
    if (cp_ratelimit_blocked(app->login_by_email, key, now, &wait)) {
        req->extra_header[0] = "Retry-After";
        req->extra_header[1] = cp_arena_printf(req->arena, "%d", wait);
        return cp_req_fail(req, CP_ERATE, "rate_limited", NULL, "too many wrong passwords; try again in %d seconds",
                           wait);
    }
    const char *fresh = cp_json_str(body, "new_password", "");
    if (utf8_chars(fresh) < 10)
        return cp_req_fail(req, CP_EUNPROC, "weak_password", "new_password", "password must be at least 10 characters");
    cp_user u;
    if ((r = cp_store_user_by_id(app->store, req->arena, req->user_id, &u, &req->err)) != CP_OK) return r;
    bool ok = false;
    char hash[CP_PASSWORD_HASH_MAX];
    if ((r = cp_api_password_rehash(req, u.password_hash, cp_json_str(body, "current_password", ""), fresh, &ok,
                                    hash)) != CP_OK)
        return r;
    if (!ok) {
        cp_ratelimit_fail(app->login_by_email, key, now);
        return cp_req_fail(req, CP_EUNPROC, "wrong_password", "current_password", "the current password is wrong");
    }
    cp_ratelimit_reset(app->login_by_email, key);
    if ((r = cp_store_user_set_password(app->store, req->user_id, hash, &req->err)) != CP_OK) return r;
    int64_t n = 0;
    /* Whoever knew the old password may hold other sessions: end them. */
    if ((r = cp_store_sessions_revoke_all(app->store, req->user_id, req->session_id, "password_change", now, &n,
                                          &req->err)) != CP_OK)
        return r;
    cp_events_access_user(app->events, req->user_id);
    audit_self(req, "auth.password_changed", json_pack("{s:I}", "sessions_revoked", (json_int_t)n));
    return cp_reply(req, 200, json_pack("{s:I}", "sessions_revoked", (json_int_t)n));
}
