/* invitations.c: project invitations. Members join only by accepting one.
 * Inviting answers the same whether or not the email has an account: only
 * the mail's words differ, and the mail goes to the owner of the address. */
#include <sodium.h>
#include <string.h>

#include "api/common.h"
#include "auth/onetime.h"
#include "core/mail.h"
#include "core/timeutil.h"
#include "store/store_invitations.h"

static json_t *invitation_json(const cp_invitation *x)
{
    json_t *by = x->invited_by
                     ? json_pack("{s:s, s:o}", "id", x->invited_by, "email", cp_json_str_or_null(x->invited_by_email))
                     : json_null();
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "id", x->id, "project_id", x->project_id,
                     "project_name", x->project_name, "email", x->email, "role", cp_role_name(x->role), "invited_by",
                     by, "status", cp_inv_status_name(x->status), "created_at", cp_api_time(x->created_at),
                     "expires_at", cp_api_time(x->expires_at));
}

static json_t *invitations_page(const cp_invitation *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, invitation_json(&items[i]));
    return cp_api_page_json(arr, NULL);
}

/* The mail's words depend on whether the address has an account and on the
 * policy; the link is the same page either way (it offers sign-in or
 * sign-up). */
static cp_result send_invitation(cp_req *req, const cp_invitation *inv, bool has_account, const char *token)
{
    cp_app *app = CP_APP(req);
    cp_mail m = {.to = inv->email, .kind = "invitation"};
    m.subject = cp_arena_printf(req->arena, "You are invited to the cloudplane project %s", inv->project_name);
    m.link = cp_api_link(req, "/invite", token);
    const char *how = has_account ? "Sign in with this email and open the link to accept"
                      : cp_config_signup_policy(app->cfg) == CP_SIGNUP_OFF
                          ? "This server creates no accounts by sign-up: ask its administrator for an account for "
                            "this email, then sign in and open the link to accept"
                          : "Open the link to create your account and join";
    char until[40];
    cp_time_iso(inv->expires_at, until, sizeof until);
    m.text = cp_arena_printf(req->arena,
                             "%s invited you to the project %s as %s. %s (it works once, until %s):\n\n%s\n\n"
                             "If you do not expect this, ignore this mail.",
                             inv->invited_by_email ? inv->invited_by_email : "A project owner", inv->project_name,
                             cp_role_name(inv->role), how, until, m.link);
    return cp_mail_send(app->cfg->mail_outbox, &m, &req->err);
}

cp_result cp_api_invitations_create(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "email", .type = CP_JF_STRING, .required = true, .max_len = 254},
        {.name = "role", .type = CP_JF_STRING, .required = true, .max_len = 16},
    };
    cp_app *app = CP_APP(req);
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    json_t *b;
    cp_role role;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if ((r = cp_api_parse_role(req, b, &role)) != CP_OK) return r;
    if ((r = cp_api_may_assign(req, &p, CP_ROLE_NONE, role)) != CP_OK) return r;
    char *email = cp_api_normalize_email(req->arena, cp_json_str(b, "email", ""));
    if (!email) return cp_req_fail(req, CP_EUNPROC, "invalid_email", "email", "enter a valid email address");
    if ((r = cp_api_limit(req, CP_LIMIT_INVITE, req->user_id)) != CP_OK) return r;

    cp_user u;
    r = cp_store_user_by_email(app->store, req->arena, email, &u, &req->err);
    if (r != CP_OK && r != CP_ENOTFOUND) return r;
    bool has_account = r == CP_OK;
    cp_error_clear(&req->err);
    char token[CP_ONETIME_MAX + 1], hash[CP_ONETIME_HASH_LEN + 1];
    cp_onetime_new("cpi_", token, hash);
    int64_t now = cp_now_ms();
    cp_invitation inv;
    r = cp_store_invitation_create(app->store, req->arena, p.id, email, role, hash, req->user_id, now,
                                   now + app->cfg->invitation_ttl_seconds * 1000, &inv, &req->err);
    if (r == CP_OK) r = send_invitation(req, &inv, has_account, token);
    sodium_memzero(token, sizeof token);
    if (r != CP_OK) return r;
    cp_api_audit(req, p.id, "invitation.create", inv.id,
                 json_pack("{s:s, s:s}", "email", inv.email, "role", cp_role_name(role)));
    return cp_reply(req, 202, invitation_json(&inv));
}

cp_result cp_api_invitations_list(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_ADMIN, &p);
    if (r != CP_OK) return r;
    cp_invitation *items;
    size_t n;
    r = cp_store_invitations_list(CP_APP(req)->store, req->arena, p.id, cp_now_ms(), &items, &n, &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, invitations_page(items, n));
}

cp_result cp_api_invitations_revoke(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_ADMIN, &p);
    if (r != CP_OK) return r;
    const char *id;
    if ((r = cp_api_id(req, "invitation_id", &id)) != CP_OK) return r;
    cp_invitation inv;
    int64_t now = cp_now_ms();
    r = cp_store_invitation_get(CP_APP(req)->store, req->arena, p.id, id, now, &inv, &req->err);
    /* Only owners take back what only owners may grant. */
    if (r == CP_OK) r = cp_api_may_assign(req, &p, inv.role, CP_ROLE_NONE);
    if (r == CP_OK) r = cp_store_invitation_revoke(CP_APP(req)->store, p.id, id, now, &req->err);
    if (r == CP_ENOTFOUND) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "invitation not found");
    if (r != CP_OK) return r;
    cp_api_audit(req, p.id, "invitation.revoke", id,
                 json_pack("{s:s, s:s}", "email", inv.email, "role", cp_role_name(inv.role)));
    return cp_reply(req, 204, NULL);
}

/* The caller's email: invitations are addressed to it. */
static cp_result my_email(cp_req *req, const char **email)
{
    cp_user u;
    cp_result r = cp_store_user_by_id(CP_APP(req)->store, req->arena, req->user_id, &u, &req->err);
    if (r == CP_ENOTFOUND) return cp_req_fail(req, CP_EAUTH, "unauthorized", NULL, "the account no longer exists");
    if (r == CP_OK) *email = u.email;
    return r;
}

cp_result cp_api_my_invitations(cp_req *req)
{
    const char *email;
    cp_result r = my_email(req, &email);
    if (r != CP_OK) return r;
    cp_invitation *items;
    size_t n;
    r = cp_store_invitations_for_email(CP_APP(req)->store, req->arena, email, cp_now_ms(), &items, &n, &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, invitations_page(items, n));
}

/* Accepts the invitation key names (its email filled in here); 200 with
 * the project, as the new member sees it. */
static cp_result accept(cp_req *req, cp_inv_key *key)
{
    cp_app *app = CP_APP(req);
    cp_result r = my_email(req, &key->email);
    if (r != CP_OK) return r;
    cp_invitation inv;
    r = cp_store_invitation_accept(app->store, req->arena, key, req->user_id, cp_now_ms(), &inv, &req->err);
    if (r == CP_ENOTFOUND) return cp_api_invalid_link(req);
    if (r != CP_OK) return r;
    cp_api_audit(req, inv.project_id, "invitation.accept", inv.id,
                 json_pack("{s:s, s:s}", "email", inv.email, "role", cp_role_name(inv.role)));
    cp_project p;
    if ((r = cp_store_project_get(app->store, req->arena, inv.project_id, req->user_id, &p, &req->err)) != CP_OK)
        return r;
    return cp_reply(req, 200, cp_api_project_json(&p));
}

cp_result cp_api_invitations_accept_token(cp_req *req)
{
    static const cp_json_field fields[] = {{.name = "token", .type = CP_JF_STRING, .required = true, .max_len = 256}};
    json_t *b;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r != CP_OK) return r;
    const char *token = cp_json_str(b, "token", "");
    char hash[CP_ONETIME_HASH_LEN + 1];
    if (strncmp(token, "cpi_", 4) != 0 || !cp_onetime_hash(token, hash)) return cp_api_invalid_link(req);
    cp_inv_key key = {.token_hash = hash};
    return accept(req, &key);
}

cp_result cp_api_invitations_accept(cp_req *req)
{
    cp_inv_key key = {0};
    cp_result r = cp_api_id(req, "id", &key.id);
    if (r != CP_OK) return r;
    return accept(req, &key);
}

cp_result cp_api_invitations_decline(cp_req *req)
{
    cp_inv_key key = {0};
    cp_result r = cp_api_id(req, "id", &key.id);
    if (r == CP_OK) r = my_email(req, &key.email);
    if (r != CP_OK) return r;
    cp_invitation inv;
    r = cp_store_invitation_decline(CP_APP(req)->store, req->arena, &key, cp_now_ms(), &inv, &req->err);
    if (r == CP_ENOTFOUND) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "invitation not found");
    if (r != CP_OK) return r;
    cp_api_audit(req, inv.project_id, "invitation.decline", inv.id,
                 json_pack("{s:s, s:s}", "email", inv.email, "role", cp_role_name(inv.role)));
    return cp_reply(req, 204, NULL);
}
