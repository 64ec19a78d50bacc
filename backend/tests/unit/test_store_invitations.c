/* Sign-up tokens and invitations in the store, on SQLite and PostgreSQL:
 * single use, expiry, email match, revocation, supersession. */
#include <string.h>

#include "auth/onetime.h"
#include "store/store.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_invitations.h"

static cp_store *st;
static const int64_t NOW = 1800000000000;
static const int64_t DAY = 86400000;

static void user(cp_arena *a, const char *email, cp_user *u)
{
    cp_error e;
    CHECK_EQ(cp_store_user_create(st, a, email, "N", "h", u, &e), CP_OK);
}

static void token(char hash[CP_ONETIME_HASH_LEN + 1], const char *prefix)
{
    char t[CP_ONETIME_MAX + 1];
    cp_onetime_new(prefix, t, hash);
    char again[CP_ONETIME_HASH_LEN + 1];
    CHECK(cp_onetime_hash(t, again));
    CHECK_STR(again, hash);
}

TEST(onetime_tokens)
{
    char t1[CP_ONETIME_MAX + 1], t2[CP_ONETIME_MAX + 1], h1[CP_ONETIME_HASH_LEN + 1], h2[CP_ONETIME_HASH_LEN + 1];
    cp_onetime_new("cps_", t1, h1);
    cp_onetime_new("cps_", t2, h2);
    CHECK(strncmp(t1, "cps_", 4) == 0);
    CHECK_EQ(strlen(t1), 47u);
    CHECK(strcmp(t1, t2) != 0 && strcmp(h1, h2) != 0);
    CHECK_EQ(strlen(h1), 64u);
    char h[CP_ONETIME_HASH_LEN + 1];
    CHECK(!cp_onetime_hash("", h));
    CHECK(!cp_onetime_hash("cps_short", h));
    CHECK(!cp_onetime_hash("cps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", h)); /* padding is not ours */
    CHECK(!cp_onetime_hash("cps_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", h)); /* too long */
}

TEST(signup_token_single_use_and_expiry)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    cp_user u;
    char h[CP_ONETIME_HASH_LEN + 1], old[CP_ONETIME_HASH_LEN + 1], taken[CP_ONETIME_HASH_LEN + 1];
    token(h, "cps_");
    token(old, "cps_");
    token(taken, "cps_");
    CHECK_EQ(cp_store_signup_token_add(st, h, "new@example.com", NOW, NOW + DAY, &e), CP_OK);
    CHECK_EQ(cp_store_signup_token_add(st, old, "old@example.com", NOW - 2 * DAY, NOW - DAY, &e), CP_OK);
    CHECK_EQ(cp_store_token_live(st, false, h, NOW, &e), CP_OK);
    CHECK_EQ(cp_store_token_live(st, true, h, NOW, &e), CP_ENOTFOUND); /* not an invitation's */
    CHECK_EQ(cp_store_token_live(st, false, old, NOW, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_signup_complete(st, a, old, NOW, "O", "h", &u, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_user_by_email(st, a, "old@example.com", &u, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_signup_complete(st, a, h, NOW + 1, "New", "hash", &u, &e), CP_OK);
    CHECK_STR(u.email, "new@example.com");
    CHECK_STR(u.name, "New");
    CHECK_EQ(cp_store_signup_complete(st, a, h, NOW + 2, "Again", "hash", &u, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_token_live(st, false, h, NOW + 2, &e), CP_ENOTFOUND);
    /* A token whose email got an account: refused, and the token stays unused
     * (the rollback), which does not matter: it can never succeed. */
    CHECK_EQ(cp_store_signup_token_add(st, taken, "new@example.com", NOW, NOW + DAY, &e), CP_OK);
    CHECK_EQ(cp_store_signup_complete(st, a, taken, NOW + 3, "Dup", "hash", &u, &e), CP_ECONFLICT);
    CHECK_EQ(cp_store_signup_complete(st, a, "0000", NOW, "X", "h", &u, &e), CP_ENOTFOUND);
    cp_arena_free(a);
}

typedef struct {
    cp_user owner, bob;
    cp_project p;
} fixture;

static void setup(cp_arena *a, fixture *f, const char *tag)
{
    cp_error e;
    char email[64];
    snprintf(email, sizeof email, "owner-%s@example.com", tag);
    user(a, email, &f->owner);
    snprintf(email, sizeof email, "bob-%s@example.com", tag);
    user(a, email, &f->bob);
    CHECK_EQ(cp_store_project_create(st, a, f->owner.id, tag, false, NULL, &f->p, &e), CP_OK);
}

TEST(invitation_accept_by_token_once)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    setup(a, &f, "acc");
    char h[CP_ONETIME_HASH_LEN + 1];
    token(h, "cpi_");
    cp_invitation inv;
    CHECK_EQ(
        cp_store_invitation_create(st, a, f.p.id, f.bob.email, CP_ROLE_ADMIN, h, f.owner.id, NOW, NOW + DAY, &inv, &e),
        CP_OK);
    CHECK_STR(inv.email, f.bob.email);
    CHECK_STR(inv.invited_by_email, f.owner.email);
    CHECK_STR(inv.project_name, "acc");
    CHECK_EQ(inv.role, CP_ROLE_ADMIN);
    CHECK_EQ(inv.status, CP_INV_PENDING);
    cp_invitation *items;
    size_t n;
    CHECK_EQ(cp_store_invitations_list(st, a, f.p.id, NOW, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 1u);
    CHECK_EQ(cp_store_invitations_for_email(st, a, f.bob.email, NOW, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 1u);
    /* Wrong email: not found, and nothing changed. */
    cp_inv_key wrong = {.token_hash = h, .email = f.owner.email};
    CHECK_EQ(cp_store_invitation_accept(st, a, &wrong, f.owner.id, NOW, NULL, &e), CP_ENOTFOUND);
    cp_inv_key key = {.token_hash = h, .email = f.bob.email};
    cp_invitation got;
    CHECK_EQ(cp_store_invitation_accept(st, a, &key, f.bob.id, NOW + 1, &got, &e), CP_OK);
    CHECK_STR(got.id, inv.id);
    CHECK_EQ(got.status, CP_INV_ACCEPTED);
    CHECK_EQ(cp_store_member_role(st, f.p.id, f.bob.id), CP_ROLE_ADMIN);
    CHECK_EQ(cp_store_invitation_accept(st, a, &key, f.bob.id, NOW + 2, NULL, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_invitations_list(st, a, f.p.id, NOW, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 0u);
    /* Inviting a member is a conflict, not a second membership. */
    token(h, "cpi_");
    CHECK_EQ(
        cp_store_invitation_create(st, a, f.p.id, f.bob.email, CP_ROLE_VIEWER, h, f.owner.id, NOW, NOW + DAY, &inv, &e),
        CP_ECONFLICT);
    CHECK_STR(e.code, "already_member");
    cp_arena_free(a);
}

TEST(invitation_refusals)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    setup(a, &f, "ref");
    char h1[CP_ONETIME_HASH_LEN + 1], h2[CP_ONETIME_HASH_LEN + 1], h3[CP_ONETIME_HASH_LEN + 1];
    token(h1, "cpi_");
    token(h2, "cpi_");
    token(h3, "cpi_");
    cp_invitation i1, i2;
    CHECK_EQ(
        cp_store_invitation_create(st, a, f.p.id, f.bob.email, CP_ROLE_MEMBER, h1, f.owner.id, NOW, NOW + DAY, &i1, &e),
        CP_OK);
    /* A newer invitation to the same email supersedes the older one. */
    CHECK_EQ(
        cp_store_invitation_create(st, a, f.p.id, f.bob.email, CP_ROLE_VIEWER, h2, f.owner.id, NOW, NOW + DAY, &i2, &e),
        CP_OK);
    cp_inv_key k1 = {.token_hash = h1, .email = f.bob.email};
    CHECK_EQ(cp_store_invitation_accept(st, a, &k1, f.bob.id, NOW, NULL, &e), CP_ENOTFOUND);
    /* Expired. */
    cp_inv_key k2 = {.token_hash = h2, .email = f.bob.email};
    CHECK_EQ(cp_store_invitation_accept(st, a, &k2, f.bob.id, NOW + DAY, NULL, &e), CP_ENOTFOUND);
    /* Revoked: only in its own project, only once. */
    CHECK_EQ(cp_store_invitation_revoke(st, "01abcdefghjkmnpqrstvwxyz00", i2.id, NOW, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_invitation_revoke(st, f.p.id, i2.id, NOW, &e), CP_OK);
    CHECK_EQ(cp_store_invitation_revoke(st, f.p.id, i2.id, NOW, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_invitation_accept(st, a, &k2, f.bob.id, NOW, NULL, &e), CP_ENOTFOUND);
    /* Declined, by id from the invitee's list. */
    cp_invitation i3;
    CHECK_EQ(
        cp_store_invitation_create(st, a, f.p.id, f.bob.email, CP_ROLE_VIEWER, h3, f.owner.id, NOW, NOW + DAY, &i3, &e),
        CP_OK);
    cp_inv_key by_id_wrong = {.id = i3.id, .email = f.owner.email};
    CHECK_EQ(cp_store_invitation_decline(st, a, &by_id_wrong, NOW, NULL, &e), CP_ENOTFOUND);
    cp_invitation got;
    CHECK_EQ(cp_store_invitation_get(st, a, f.p.id, i3.id, NOW, &got, &e), CP_OK);
    CHECK_EQ(got.role, CP_ROLE_VIEWER);
    CHECK_EQ(cp_store_invitation_get(st, a, "01abcdefghjkmnpqrstvwxyz00", i3.id, NOW, &got, &e), CP_ENOTFOUND);
    cp_inv_key by_id = {.id = i3.id, .email = f.bob.email};
    CHECK_EQ(cp_store_invitation_decline(st, a, &by_id, NOW, &got, &e), CP_OK);
    CHECK_EQ(got.status, CP_INV_DECLINED);
    CHECK_STR(got.project_id, f.p.id);
    CHECK_EQ(cp_store_invitation_get(st, a, f.p.id, i3.id, NOW, &got, &e), CP_ENOTFOUND);
    cp_inv_key k3 = {.token_hash = h3, .email = f.bob.email};
    CHECK_EQ(cp_store_invitation_accept(st, a, &k3, f.bob.id, NOW, NULL, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_member_role(st, f.p.id, f.bob.id), CP_ROLE_NONE);
    cp_arena_free(a);
}

TEST(invitation_signup)
{
    cp_arena *a = cp_arena_new(8192);
    cp_error e;
    fixture f;
    setup(a, &f, "sig");
    char h[CP_ONETIME_HASH_LEN + 1], hb[CP_ONETIME_HASH_LEN + 1];
    token(h, "cpi_");
    token(hb, "cpi_");
    cp_invitation inv;
    CHECK_EQ(cp_store_invitation_create(st, a, f.p.id, "carol-sig@example.com", CP_ROLE_MEMBER, h, f.owner.id, NOW,
                                        NOW + DAY, &inv, &e),
             CP_OK);
    cp_user u;
    cp_invitation got;
    CHECK_EQ(cp_store_token_live(st, true, h, NOW, &e), CP_OK);
    CHECK_EQ(cp_store_token_live(st, true, h, NOW + DAY, &e), CP_ENOTFOUND); /* expired */
    CHECK_EQ(cp_store_invitation_signup(st, a, h, NOW, "Carol", "hash", &u, &got, &e), CP_OK);
    CHECK_EQ(cp_store_token_live(st, true, h, NOW, &e), CP_ENOTFOUND); /* used */
    CHECK_STR(u.email, "carol-sig@example.com");
    CHECK_EQ(cp_store_member_role(st, f.p.id, u.id), CP_ROLE_MEMBER);
    CHECK_EQ(cp_store_invitation_signup(st, a, h, NOW, "Carol", "hash", &u, &got, &e), CP_ENOTFOUND);
    /* An invited email that has an account: refused, the invitation still pending. */
    CHECK_EQ(cp_store_invitation_create(st, a, f.p.id, f.bob.email, CP_ROLE_MEMBER, hb, f.owner.id, NOW, NOW + DAY,
                                        &inv, &e),
             CP_OK);
    CHECK_EQ(cp_store_invitation_signup(st, a, hb, NOW, "Bob2", "hash", &u, &got, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "account_exists");
    cp_inv_key k = {.token_hash = hb, .email = f.bob.email};
    CHECK_EQ(cp_store_invitation_accept(st, a, &k, f.bob.id, NOW, NULL, &e), CP_OK);
    /* Deleting the project drops its invitations. */
    token(h, "cpi_");
    CHECK_EQ(cp_store_invitation_create(st, a, f.p.id, "dan-sig@example.com", CP_ROLE_MEMBER, h, f.owner.id, NOW,
                                        NOW + DAY, &inv, &e),
             CP_OK);
    CHECK_EQ(cp_store_project_delete(st, f.p.id, &e), CP_OK);
    cp_invitation *items;
    size_t n;
    CHECK_EQ(cp_store_invitations_for_email(st, a, "dan-sig@example.com", NOW, &items, &n, &e), CP_OK);
    CHECK_EQ(n, 0u);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(onetime_tokens),
        T_CASE(signup_token_single_use_and_expiry),
        T_CASE(invitation_accept_by_token_once),
        T_CASE(invitation_refusals),
        T_CASE(invitation_signup),
    };
    return tsu_main(&(tsu_suite){"invitations", 4, &st, NULL, cases, CP_ARRAY_LEN(cases)});
}
