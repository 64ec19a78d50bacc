/* Unit tests for vault/: sealing, tampering, wrong keys, swapped rows, rotation. */
#include <sodium.h>

#include "vault/vault.h"
#include "core/json.h"
#include "test.h"

static cp_vault *make(const char *spec)
{
    cp_vault *v = NULL;
    cp_error e;
    if (cp_vault_new(spec, &v, &e) != CP_OK) return NULL;
    return v;
}

static char line_a[128], line_b[128];

TEST(seal_and_open)
{
    cp_vault *v = make(line_a);
    CHECK(v != NULL);
    cp_arena *a = cp_arena_new(1024);
    cp_vault_sealed s;
    cp_error e;
    const char *secret = "{\"secret_access_key\":\"wJalrXUtnFEMI/K7MDENG\"}";
    CHECK_EQ(cp_vault_seal(v, a, secret, strlen(secret), "acct1", "proj1", &s, &e), CP_OK);
    CHECK_STR(s.key_id, "a");
    CHECK(strstr(s.ciphertext_b64, "wJalr") == NULL);
    char *pt;
    size_t len;
    CHECK_EQ(cp_vault_open(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "acct1", "proj1", &pt, &len, &e), CP_OK);
    CHECK_STR(pt, secret);
    CHECK_EQ(len, strlen(secret));
    cp_vault_wipe(pt, len);
    /* fresh nonce per record */
    cp_vault_sealed s2;
    CHECK_EQ(cp_vault_seal(v, a, secret, strlen(secret), "acct1", "proj1", &s2, &e), CP_OK);
    CHECK(strcmp(s.nonce_b64, s2.nonce_b64) != 0);
    CHECK(strcmp(s.ciphertext_b64, s2.ciphertext_b64) != 0);
    cp_arena_free(a);
    cp_vault_free(v);
}

TEST(tampering_wrong_key_and_swapped_rows_fail_cleanly)
{
    cp_vault *v = make(line_a);
    cp_arena *a = cp_arena_new(1024);
    cp_vault_sealed s;
    cp_error e;
    CHECK_EQ(cp_vault_seal(v, a, "top secret", 10, "acct1", "proj1", &s, &e), CP_OK);
    char *pt = NULL;
    size_t len;
    /* every single-byte change of the ciphertext fails authentication */
    size_t n = strlen(s.ciphertext_b64);
    int failures = 0;
    for (size_t i = 0; i + 2 < n; i++) { /* skip '=' padding */
        char *ct = cp_arena_strdup(a, s.ciphertext_b64);
        ct[i] = ct[i] == 'A' ? 'B' : 'A';
        if (cp_vault_open(v, s.key_id, s.nonce_b64, ct, "acct1", "proj1", &pt, &len, &e) != CP_OK)
            failures++;
        else
            cp_vault_wipe(pt, len);
    }
    CHECK_EQ((size_t)failures, n - 2);
    CHECK_STR(e.code, "vault_decrypt_failed");
    char *nonce = cp_arena_strdup(a, s.nonce_b64);
    nonce[0] = nonce[0] == 'A' ? 'B' : 'A';
    CHECK(cp_vault_open(v, s.key_id, nonce, s.ciphertext_b64, "acct1", "proj1", &pt, &len, &e) != CP_OK);
    CHECK(cp_vault_open(v, s.key_id, "!!", s.ciphertext_b64, "acct1", "proj1", &pt, &len, &e) != CP_OK);
    CHECK_STR(e.code, "vault_corrupt");
    /* swapped row: same ciphertext, other account or project */
    CHECK(cp_vault_open(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "acct2", "proj1", &pt, &len, &e) != CP_OK);
    CHECK(cp_vault_open(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "acct1", "proj2", &pt, &len, &e) != CP_OK);
    CHECK(pt == NULL);
    /* a different key under the same id */
    char other[160];
    snprintf(other, sizeof other, "a:%s", strchr(line_b, ':') + 1);
    cp_vault *w = make(other);
    CHECK(cp_vault_open(w, s.key_id, s.nonce_b64, s.ciphertext_b64, "acct1", "proj1", &pt, &len, &e) != CP_OK);
    /* an unknown key id */
    CHECK(cp_vault_open(v, "zz", s.nonce_b64, s.ciphertext_b64, "acct1", "proj1", &pt, &len, &e) != CP_OK);
    CHECK_STR(e.code, "vault_key_unknown");
    cp_vault_free(w);
    cp_arena_free(a);
    cp_vault_free(v);
}

/* A sealed plan opens only for the run and project it was sealed for, and
 * never as a credential (its own AAD domain). */
TEST(plan_opens_only_for_its_run_and_project)
{
    cp_vault *v = make(line_a);
    CHECK(v != NULL);
    cp_arena *a = cp_arena_new(1024);
    cp_vault_sealed s;
    cp_error e;
    const unsigned char plan[] = {'P', 'K', 3, 4, 0, 's', 'e', 'c', 'r', 'e', 't', '-', 's', 't', 'a', 't', 'e'};
    CHECK_EQ(cp_vault_seal_plan(v, a, plan, sizeof plan, "run1", "proj1", &s, &e), CP_OK);
    CHECK_STR(s.key_id, "a");
    char *pt = NULL;
    size_t len = 0;
    CHECK_EQ(cp_vault_open_plan(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "run1", "proj1", &pt, &len, &e), CP_OK);
    CHECK_EQ(len, sizeof plan);
    CHECK(pt && memcmp(pt, plan, sizeof plan) == 0);
    cp_vault_wipe(pt, len);
    CHECK_EQ(cp_vault_open_plan(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "run2", "proj1", &pt, &len, &e), CP_ERR);
    CHECK_STR(e.code, "vault_decrypt_failed");
    CHECK(pt == NULL);
    CHECK_EQ(cp_vault_open_plan(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "run1", "proj2", &pt, &len, &e), CP_ERR);
    CHECK_EQ(cp_vault_open_plan(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "proj1", "run1", &pt, &len, &e), CP_ERR);
    /* the same ids as a credential record: refused */
    CHECK_EQ(cp_vault_open(v, s.key_id, s.nonce_b64, s.ciphertext_b64, "run1", "proj1", &pt, &len, &e), CP_ERR);
    cp_arena_free(a);
    cp_vault_free(v);
}

TEST(rotation_keyring)
{
    cp_vault *old = make(line_a);
    char both[300];
    snprintf(both, sizeof both, "%s,%s", line_b, line_a);
    cp_vault *ring = make(both);
    CHECK_STR(cp_vault_current_key_id(ring), "b");
    cp_arena *a = cp_arena_new(1024);
    cp_vault_sealed s, s2;
    cp_error e;
    CHECK_EQ(cp_vault_seal(old, a, "rotate me", 9, "x", "y", &s, &e), CP_OK);
    char *pt;
    size_t len;
    /* the ring still opens records of the old key, and seals new ones under the new key */
    CHECK_EQ(cp_vault_open(ring, s.key_id, s.nonce_b64, s.ciphertext_b64, "x", "y", &pt, &len, &e), CP_OK);
    CHECK_EQ(cp_vault_seal(ring, a, pt, len, "x", "y", &s2, &e), CP_OK);
    cp_vault_wipe(pt, len);
    CHECK_STR(s2.key_id, "b");
    CHECK(cp_vault_open(old, s2.key_id, s2.nonce_b64, s2.ciphertext_b64, "x", "y", &pt, &len, &e) != CP_OK);
    cp_arena_free(a);
    cp_vault_free(old);
    cp_vault_free(ring);
}

TEST(bad_key_specs)
{
    cp_vault *v;
    cp_error e;
    CHECK(cp_vault_new("", &v, &e) != CP_OK);
    CHECK(cp_vault_new("nocolon", &v, &e) != CP_OK);
    CHECK(cp_vault_new("a:c2hvcnQ=", &v, &e) != CP_OK); /* 5 bytes */
    char dup[300];
    snprintf(dup, sizeof dup, "%s\n%s", line_a, line_a);
    CHECK(cp_vault_new(dup, &v, &e) != CP_OK);
    CHECK(strstr(e.message, "twice") != NULL);
    /* messages never echo key material */
    CHECK(strstr(e.message, strchr(line_a, ':') + 1) == NULL);
}

int main(void)
{
    cp_json_init(); /* as main.c does */
    if (sodium_init() < 0) return 1;
    cp_vault_generate_key_line("a", line_a, sizeof line_a);
    cp_vault_generate_key_line("b", line_b, sizeof line_b);
    RUN(seal_and_open);
    RUN(tampering_wrong_key_and_swapped_rows_fail_cleanly);
    RUN(plan_opens_only_for_its_run_and_project);
    RUN(rotation_keyring);
    RUN(bad_key_specs);
    TEST_END();
}
