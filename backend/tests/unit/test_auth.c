/* Unit tests for auth/: JWT, passwords, rate limits. */
#include <jansson.h>
#include <sodium.h>

#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/ratelimit.h"
#include "auth/slots.h"
#include "core/json.h"
#include "test.h"

static cp_jwt_key key(const char *s)
{
    cp_jwt_key k;
    k.key_len = strlen(s);
    memcpy(k.key, s, k.key_len);
    return k;
}

static void b64(const char *in, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, (const unsigned char *)in, strlen(in), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static cp_jwt_claims claims(const char *aud, const char *run)
{
    cp_jwt_claims c;
    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "user-1");
    snprintf(c.sid, sizeof c.sid, "01hsessionsessionsession00");
    snprintf(c.aud, sizeof c.aud, "%s", aud);
    snprintf(c.run, sizeof c.run, "%s", run);
    return c;
}

TEST(jwt_round_trip)
{
    cp_jwt_key k = key("0123456789abcdef0123456789abcdef");
    char tok[CP_JWT_MAX];
    cp_jwt_claims c = claims(CP_JWT_AUD_API, ""), v;
    CHECK_EQ(cp_jwt_sign(&k, &c, 1000000, 60, tok), CP_OK);
    CHECK_EQ(cp_jwt_verify(&k, tok, CP_JWT_AUD_API, 1000000 + 59000, &v), CP_OK);
    CHECK_STR(v.sub, "user-1");
    CHECK_STR(v.sid, "01hsessionsessionsession00");
    CHECK_STR(v.run, "");
    CHECK_STR(v.jti, c.jti);
    CHECK_EQ(v.exp, 1000 + 60);
    CHECK_EQ(strlen(v.jti), 32u);
    /* expired at exp */
    CHECK_EQ(cp_jwt_verify(&k, tok, CP_JWT_AUD_API, 1000000 + 60000, &v), CP_EAUTH);
    /* other key */
    cp_jwt_key k2 = key("0123456789abcdef0123456789abcdeX");
    CHECK_EQ(cp_jwt_verify(&k2, tok, CP_JWT_AUD_API, 1000000, &v), CP_EAUTH);
    /* two tokens differ by jti */
    char tok2[CP_JWT_MAX];
    CHECK_EQ(cp_jwt_sign(&k, &c, 1000000, 60, tok2), CP_OK);
    CHECK(strcmp(tok, tok2) != 0);
}

TEST(jwt_audience_is_enforced)
{
    cp_jwt_key k = key("0123456789abcdef0123456789abcdef");
    char api[CP_JWT_MAX], ticket[CP_JWT_MAX];
    cp_jwt_claims a = claims(CP_JWT_AUD_API, ""), t = claims(CP_JWT_AUD_STREAM, "01hrunrunrunrunrunrunrun00"), v;
    CHECK_EQ(cp_jwt_sign(&k, &a, 1000000, 60, api), CP_OK);
    CHECK_EQ(cp_jwt_sign(&k, &t, 1000000, 60, ticket), CP_OK);
    /* A stream ticket is no access token, and an access token opens no stream. */
    CHECK_EQ(cp_jwt_verify(&k, ticket, CP_JWT_AUD_API, 1000000, &v), CP_EAUTH);
    CHECK_EQ(cp_jwt_verify(&k, api, CP_JWT_AUD_STREAM, 1000000, &v), CP_EAUTH);
    CHECK_EQ(cp_jwt_verify(&k, ticket, CP_JWT_AUD_STREAM, 1000000, &v), CP_OK);
    CHECK_STR(v.run, "01hrunrunrunrunrunrunrun00");
}

TEST(jwt_rejects_tampering_and_other_algorithms)
{
    cp_jwt_key k = key("0123456789abcdef0123456789abcdef");
    char tok[CP_JWT_MAX];
    cp_jwt_claims c = claims(CP_JWT_AUD_API, ""), v;
    CHECK_EQ(cp_jwt_sign(&k, &c, 1000000, 60, tok), CP_OK);
    char bad[CP_JWT_MAX];
    memcpy(bad, tok, sizeof bad);
    char *dot = strchr(bad, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A'; /* flip a payload char */
    CHECK_EQ(cp_jwt_verify(&k, bad, CP_JWT_AUD_API, 1000000, &v), CP_EAUTH);
    memcpy(bad, tok, sizeof bad);
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A'; /* flip signature */
    CHECK_EQ(cp_jwt_verify(&k, bad, CP_JWT_AUD_API, 1000000, &v), CP_EAUTH);

    /* alg none with the original payload and an empty signature */
    char hdr[128], none[CP_JWT_MAX];
    b64("{\"alg\":\"none\",\"typ\":\"JWT\"}", hdr, sizeof hdr);
    const char *payload = strchr(tok, '.') + 1;
    const char *sig = strrchr(tok, '.');
    snprintf(none, sizeof none, "%s.%.*s.", hdr, (int)(sig - payload), payload);
    CHECK_EQ(cp_jwt_verify(&k, none, CP_JWT_AUD_API, 1000000, &v), CP_EAUTH);
    /* alg HS512 header with the valid HS256 signature */
    b64("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", hdr, sizeof hdr);
    snprintf(none, sizeof none, "%s.%s", hdr, payload);
    CHECK_EQ(cp_jwt_verify(&k, none, CP_JWT_AUD_API, 1000000, &v), CP_EAUTH);

    const char *junk[] = {"", ".", "..", "a.b.c", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9..", NULL};
    for (int i = 0; junk[i]; i++) CHECK_EQ(cp_jwt_verify(&k, junk[i], CP_JWT_AUD_API, 1000000, &v), CP_EAUTH);
}

TEST(password_hash_and_verify)
{
    char h[CP_PASSWORD_HASH_MAX];
    CHECK_EQ(cp_password_hash("correct horse", h), CP_OK);
    CHECK(strncmp(h, "$argon2id$", 10) == 0);
    CHECK(cp_password_verify(h, "correct horse"));
    CHECK(!cp_password_verify(h, "correct horsE"));
    CHECK(!cp_password_verify("not-a-hash", "x"));
    char h2[CP_PASSWORD_HASH_MAX];
    CHECK_EQ(cp_password_hash("correct horse", h2), CP_OK);
    CHECK(strcmp(h, h2) != 0); /* salted */
}

TEST(ratelimit_window)
{
    cp_ratelimit *rl = cp_ratelimit_new(3, 60000, 100);
    int wait = 0;
    for (int i = 0; i < 3; i++) {
        CHECK(!cp_ratelimit_blocked(rl, "k", 1000 + i, &wait));
        cp_ratelimit_fail(rl, "k", 1000 + i);
    }
    CHECK(cp_ratelimit_blocked(rl, "k", 2000, &wait));
    CHECK_EQ(wait, 59);
    CHECK(!cp_ratelimit_blocked(rl, "other", 2000, &wait));
    /* the oldest failure leaves the window */
    CHECK(!cp_ratelimit_blocked(rl, "k", 61000, &wait));
    cp_ratelimit_fail(rl, "k", 61000);
    CHECK(cp_ratelimit_blocked(rl, "k", 61000, &wait));
    cp_ratelimit_reset(rl, "k");
    CHECK(!cp_ratelimit_blocked(rl, "k", 61002, &wait));
    cp_ratelimit_free(rl);
}

TEST(ratelimit_bounded_keys)
{
    cp_ratelimit *rl = cp_ratelimit_new(1, 1000, 10);
    char k[32];
    for (int i = 0; i < 50; i++) {
        snprintf(k, sizeof k, "key%d", i);
        cp_ratelimit_fail(rl, k, 0);
    }
    int wait;
    CHECK(cp_ratelimit_blocked(rl, "key0", 10, &wait));
    CHECK(!cp_ratelimit_blocked(rl, "key49", 10, &wait)); /* table full: not tracked */
    /* once old entries expire, new keys are tracked again */
    cp_ratelimit_fail(rl, "late", 5000);
    CHECK(cp_ratelimit_blocked(rl, "late", 5001, &wait));
    cp_ratelimit_free(rl);
}

TEST(slots_cap_per_key)
{
    cp_slots *s = cp_slots_new();
    CHECK(cp_slots_acquire(s, "alice", 2));
    CHECK(cp_slots_acquire(s, "alice", 2));
    CHECK(!cp_slots_acquire(s, "alice", 2));
    CHECK(cp_slots_acquire(s, "bob", 2)); /* keys are independent */
    CHECK_EQ(cp_slots_held(s, "alice"), 2);
    cp_slots_release(s, "alice");
    CHECK_EQ(cp_slots_held(s, "alice"), 1);
    CHECK(cp_slots_acquire(s, "alice", 2));
    cp_slots_release(s, "alice");
    cp_slots_release(s, "alice");
    CHECK_EQ(cp_slots_held(s, "alice"), 0);
    cp_slots_release(s, "nobody"); /* harmless */
    CHECK(!cp_slots_acquire(s, "carol", 0));
    CHECK_EQ(cp_slots_held(s, "bob"), 1);
    cp_slots_free(s);
}

int main(void)
{
    cp_json_init(); /* as main.c does */
    if (sodium_init() < 0) return 1;
    RUN(jwt_round_trip);
    RUN(jwt_audience_is_enforced);
    RUN(jwt_rejects_tampering_and_other_algorithms);
    RUN(password_hash_and_verify);
    RUN(ratelimit_window);
    RUN(ratelimit_bounded_keys);
    RUN(slots_cap_per_key);
    TEST_END();
}
