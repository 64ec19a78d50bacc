/* common.h: helpers shared by the API handlers: access checks, paging,
 * timestamps, audit, and the JSON shape of each record. */
#ifndef CP_API_COMMON_H
#define CP_API_COMMON_H

#include "api/api.h"
#include "core/jsonw.h"

/* ?limit= (1..200, default 50) and ?cursor= (an id). 422/400 on bad values. */
cp_result cp_api_page(cp_req *req, int *limit, const char **cursor) CP_MUST_CHECK;
/* A path id that cannot exist is simply not found. */
cp_result cp_api_id(cp_req *req, const char *name, const char **out) CP_MUST_CHECK;
/* The project if the caller is a member (404 otherwise, so existence is not
 * revealed), and 403 if the caller's role is below min. */
cp_result cp_api_project(cp_req *req, const char *project_id, cp_role min, cp_project *out) CP_MUST_CHECK;
cp_result cp_api_need_role(cp_req *req, cp_role have, cp_role min) CP_MUST_CHECK;
/* Lower-cases and checks the shape local@domain.tld; NULL when invalid. */
char *cp_api_normalize_email(cp_arena *a, const char *in);
/* The body's "role" (422 when it is not one). */
cp_result cp_api_parse_role(cp_req *req, json_t *b, cp_role *out) CP_MUST_CHECK;
/* Admins manage members below owner; only owners grant or take owner. */
cp_result cp_api_may_assign(cp_req *req, const cp_project *p, cp_role target_now, cp_role wanted) CP_MUST_CHECK;
/* A link for a mail: <public URL><path>#token=<token>. The token rides in
 * the fragment, which browsers never send, so it stays out of access logs
 * and Referer headers. In the request arena. */
const char *cp_api_link(cp_req *req, const char *path, const char *token);
/* 403 for a sign-up the policy refuses (auth.c). */
cp_result cp_api_signup_closed(cp_req *req, cp_signup_policy policy) CP_MUST_CHECK;
/* 403 local_passwords_disabled: CLOUDPLANE_LOCAL_PASSWORDS=false (auth.c). */
cp_result cp_api_local_passwords_off(cp_req *req) CP_MUST_CHECK;
/* The one answer for an unknown, used, expired, revoked or someone else's
 * mailed token (404 invalid_token), so a token reveals nothing (auth.c). */
cp_result cp_api_invalid_link(cp_req *req) CP_MUST_CHECK;
/* Records who did what; failures are logged, never fatal to the request. */
void cp_api_audit(cp_req *req, const char *project_id, const char *action, const char *target, json_t *detail);

json_t *cp_api_time(int64_t ms);            /* ISO-8601 or null for 0 */
json_t *cp_api_json_text(const char *text); /* parses stored JSON text; {} if broken */
json_t *cp_api_project_json(const cp_project *p);
json_t *cp_api_account_json(const cp_account *a);
/* A resource's JSON object (one owner: cp_api_resource_write). Stored config
 * and outputs are bounded by what the API accepts; CP_API_RESOURCE_MAX caps
 * one rendered resource. */
#define CP_API_RESOURCE_MAX (4u << 20)
void cp_api_resource_write(cp_jsonw *w, const cp_resource *r);
json_t *cp_api_resource_json(const cp_resource *r);
json_t *cp_api_run_json(const cp_run *r);
json_t *cp_api_member_json(const cp_member *m);
json_t *cp_api_page_json(json_t *items, const char *next);

/* The hex BLAKE2b hash by which a random secret (refresh token, sign-in
 * state) is stored and looked up (sessions.c). */
#define CP_API_TOKEN_HASH_HEX (32 * 2 + 1)
void cp_api_token_hash(const char *token, char out[CP_API_TOKEN_HASH_HEX]);
/* Cookies are Secure when users reach the server over https (the public
 * URL says so; TLS may end at a proxy). */
bool cp_api_cookie_secure(const cp_app *app);
/* Starts a session for user_id (api/sessions.c): stores it, sets the refresh
 * cookie on the reply and signs an access token bound to it into access. */
cp_result cp_api_session_start(cp_req *req, const char *user_id, char access[CP_JWT_MAX]) CP_MUST_CHECK;

/* After a run is queued (or may now run): wake a worker. */
void cp_api_dispatch(cp_req *req, const char *run_id);

#endif
