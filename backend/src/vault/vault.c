#include "vault/vault.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define B64 sodium_base64_VARIANT_ORIGINAL

typedef struct {
    char id[CP_VAULT_KEY_ID_MAX + 1];
    unsigned char key[KEY_LEN];
} vkey;

struct cp_vault {
    vkey keys[CP_VAULT_MAX_KEYS];
    int nkeys;
};

cp_result cp_vault_new(const char *spec, cp_vault **out, cp_error *err)
{
    cp_vault *v = sodium_malloc(sizeof *v);
    if (!v) return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    memset(v, 0, sizeof *v);
    const char *p = spec;
    cp_result r = CP_OK;
    while (*p && r == CP_OK) {
        while (*p == ',' || *p == '\n' || *p == ' ' || *p == '\r') p++;
        if (!*p) break;
        size_t len = strcspn(p, ",\n\r ");
        const char *colon = memchr(p, ':', len);
        if (v->nkeys == CP_VAULT_MAX_KEYS) {
            r = cp_error_set(err, CP_EINVAL, "vault_keys", NULL, "at most %d vault keys", CP_VAULT_MAX_KEYS);
            break;
        }
        vkey *k = &v->keys[v->nkeys];
        size_t idlen = colon ? (size_t)(colon - p) : 0;
        size_t klen = 0;
        if (!colon || idlen == 0 || idlen > CP_VAULT_KEY_ID_MAX ||
            sodium_base642bin(k->key, KEY_LEN, colon + 1, len - idlen - 1, NULL, &klen, NULL, B64) != 0 ||
            klen != KEY_LEN) {
            r = cp_error_set(err, CP_EINVAL, "vault_keys", NULL,
                             "vault key #%d is malformed: want id:base64 of exactly 32 bytes", v->nkeys + 1);
            break;
        }
        memcpy(k->id, p, idlen);
        for (int i = 0; i < v->nkeys; i++)
            if (!strcmp(v->keys[i].id, k->id))
                r = cp_error_set(err, CP_EINVAL, "vault_keys", NULL, "vault key id '%s' appears twice", k->id);
        v->nkeys++;
        p += len;
    }
    if (r == CP_OK && v->nkeys == 0) r = cp_error_set(err, CP_EINVAL, "vault_keys", NULL, "no vault key configured");
    if (r != CP_OK) {
        sodium_free(v);
        return r;
    }
    *out = v;
    return CP_OK;
}

void cp_vault_free(cp_vault *v)
{
    if (v) sodium_free(v); /* zeroes the pages */
}

const char *cp_vault_current_key_id(const cp_vault *v)
{
    return v->keys[0].id;
}

void cp_vault_generate_key_line(const char *id, char *out, size_t cap)
{
    unsigned char k[KEY_LEN];
    randombytes_buf(k, sizeof k);
    char b64[sodium_base64_ENCODED_LEN(KEY_LEN, B64)];
    sodium_bin2base64(b64, sizeof b64, k, sizeof k, B64);
    sodium_memzero(k, sizeof k);
    snprintf(out, cap, "%s:%s", id, b64);
    sodium_memzero(b64, sizeof b64);
}

static const vkey *find_key(const cp_vault *v, const char *id)
{
    for (int i = 0; i < v->nkeys; i++)
        if (!strcmp(v->keys[i].id, id)) return &v->keys[i];
    return NULL;
}

/* AAD = domain "|" owner_id "|" project_id. The domain keeps a credential
 * and a plan apart even if their ids collided. Caller frees. */
#define AAD_CREDENTIALS "cloudplane/v1"
#define AAD_PLAN "cloudplane/plan/v1"
#define AAD_WEBHOOK "cloudplane/webhook/v1"
static char *make_aad(const char *domain, const char *owner_id, const char *project_id, int *len)
{
    char *aad = cp_xasprintf("%s|%s|%s", domain, owner_id, project_id);
    *len = (int)strlen(aad);
    return aad;
}

static char *b64enc(cp_arena *a, const unsigned char *bin, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, B64);
    char *out = cp_arena_alloc(a, cap);
    sodium_bin2base64(out, cap, bin, len, B64);
    return out;
}

static cp_result seal(const cp_vault *v, cp_arena *a, const char *plaintext, size_t len, const char *domain,
                      const char *account_id, const char *project_id, cp_vault_sealed *out, cp_error *err)
{
    const vkey *k = &v->keys[0];
    unsigned char nonce[NONCE_LEN];
    randombytes_buf(nonce, sizeof nonce);
    int aadlen = 0;
    char *aad = make_aad(domain, account_id, project_id, &aadlen);
    unsigned char *ct = cp_xmalloc(len + TAG_LEN);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, finl = 0;
    bool ok = ctx && len <= INT32_MAX && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_EncryptInit_ex(ctx, NULL, NULL, k->key, nonce) == 1 &&
              EVP_EncryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, aadlen) == 1 &&
              EVP_EncryptUpdate(ctx, ct, &outl, (const unsigned char *)plaintext, (int)len) == 1 &&
              EVP_EncryptFinal_ex(ctx, ct + outl, &finl) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, ct + outl + finl) == 1;
    if (ok) {
        snprintf(out->key_id, sizeof out->key_id, "%s", k->id);
        out->nonce_b64 = b64enc(a, nonce, sizeof nonce);
        out->ciphertext_b64 = b64enc(a, ct, (size_t)(outl + finl) + TAG_LEN);
    }
    EVP_CIPHER_CTX_free(ctx);
    free(aad);
    free(ct);
    return ok ? CP_OK : cp_error_set(err, CP_ERR, "vault", NULL, "encryption failed");
}

static cp_result open_sealed(const cp_vault *v, const char *key_id, const char *nonce_b64, const char *ciphertext_b64,
                             const char *domain, const char *account_id, const char *project_id, char **plaintext,
                             size_t *len, cp_error *err)
{
    *plaintext = NULL;
    const vkey *k = find_key(v, key_id);
    if (!k)
        return cp_error_set(err, CP_ERR, "vault_key_unknown", NULL,
                            "a record is sealed with vault key '%.32s', which is not configured", key_id);
    cp_result res;
    unsigned char nonce[NONCE_LEN];
    size_t nlen = 0, clen = 0, ptlen = 0;
    size_t clen_b64 = strlen(ciphertext_b64);
    unsigned char *ct = cp_xmalloc(clen_b64 + 1);
    char *aad = NULL, *pt = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    int aadlen = 0, outl = 0, finl = 0;
    if (sodium_base642bin(nonce, sizeof nonce, nonce_b64, strlen(nonce_b64), NULL, &nlen, NULL, B64) != 0 ||
        nlen != NONCE_LEN ||
        sodium_base642bin(ct, clen_b64 + 1, ciphertext_b64, clen_b64, NULL, &clen, NULL, B64) != 0 || clen < TAG_LEN) {
        res = cp_error_set(err, CP_ERR, "vault_corrupt", NULL, "a sealed record is corrupt (bad encoding)");
        goto out;
    }
    ptlen = clen - TAG_LEN;
    aad = make_aad(domain, account_id, project_id, &aadlen);
    pt = cp_xmalloc(ptlen + 1);
    ctx = EVP_CIPHER_CTX_new();
    bool ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
              EVP_DecryptInit_ex(ctx, NULL, NULL, k->key, nonce) == 1 &&
              EVP_DecryptUpdate(ctx, NULL, &outl, (const unsigned char *)aad, aadlen) == 1 &&
              EVP_DecryptUpdate(ctx, (unsigned char *)pt, &outl, ct, (int)ptlen) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, ct + ptlen) == 1 &&
              EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + outl, &finl) == 1;
    if (!ok) {
        res = cp_error_set(err, CP_ERR, "vault_decrypt_failed", NULL,
                           "a sealed record failed authentication: wrong key, tampered data or moved record");
        goto out;
    }
    pt[ptlen] = '\0';
    *plaintext = pt;
    *len = ptlen;
    pt = NULL; /* the caller's now */
    res = CP_OK;
out:
    cp_vault_wipe(pt, ptlen);
    EVP_CIPHER_CTX_free(ctx);
    free(aad);
    free(ct);
    return res;
}

cp_result cp_vault_seal(const cp_vault *v, cp_arena *a, const char *plaintext, size_t len, const char *account_id,
                        const char *project_id, cp_vault_sealed *out, cp_error *err)
{
    return seal(v, a, plaintext, len, AAD_CREDENTIALS, account_id, project_id, out, err);
}

cp_result cp_vault_open(const cp_vault *v, const char *key_id, const char *nonce_b64, const char *ciphertext_b64,
                        const char *account_id, const char *project_id, char **plaintext, size_t *len, cp_error *err)
{
    return open_sealed(v, key_id, nonce_b64, ciphertext_b64, AAD_CREDENTIALS, account_id, project_id, plaintext, len,
                       err);
}

cp_result cp_vault_seal_plan(const cp_vault *v, cp_arena *a, const void *plan, size_t len, const char *run_id,
                             const char *project_id, cp_vault_sealed *out, cp_error *err)
{
    return seal(v, a, plan, len, AAD_PLAN, run_id, project_id, out, err);
}

cp_result cp_vault_open_plan(const cp_vault *v, const char *key_id, const char *nonce_b64, const char *ciphertext_b64,
                             const char *run_id, const char *project_id, char **plan, size_t *len, cp_error *err)
{
    return open_sealed(v, key_id, nonce_b64, ciphertext_b64, AAD_PLAN, run_id, project_id, plan, len, err);
}

cp_result cp_vault_seal_webhook(const cp_vault *v, cp_arena *a, const char *secret, size_t len, const char *webhook_id,
                                const char *project_id, cp_vault_sealed *out, cp_error *err)
{
    return seal(v, a, secret, len, AAD_WEBHOOK, webhook_id, project_id, out, err);
}

cp_result cp_vault_open_webhook(const cp_vault *v, const char *key_id, const char *nonce_b64,
                                const char *ciphertext_b64, const char *webhook_id, const char *project_id,
                                char **secret, size_t *len, cp_error *err)
{
    return open_sealed(v, key_id, nonce_b64, ciphertext_b64, AAD_WEBHOOK, webhook_id, project_id, secret, len, err);
}

void cp_vault_wipe(char *plaintext, size_t len)
{
    if (!plaintext) return;
    sodium_memzero(plaintext, len);
    free(plaintext);
}
