/* vault.h: the credential vault. AES-256-GCM (OpenSSL EVP) with a random
 * 96-bit nonce per record and AAD binding the ciphertext to its account and
 * project ids, so a ciphertext copied to another row does not decrypt. Several
 * master keys may be active; each record names its key id, and new records use
 * the first (current) key. */
#ifndef CP_VAULT_H
#define CP_VAULT_H

#include "core/arena.h"
#include "core/error.h"

#define CP_VAULT_MAX_KEYS 8
#define CP_VAULT_KEY_ID_MAX 32

typedef struct cp_vault cp_vault;

/* spec: "id:base64key[,id:base64key...]" or newline separated; keys are 32 bytes. */
cp_result cp_vault_new(const char *spec, cp_vault **out, cp_error *err) CP_MUST_CHECK;
void cp_vault_free(cp_vault *v);
const char *cp_vault_current_key_id(const cp_vault *v);
/* A fresh key spec line "id:base64" for a new key (used to generate a keyring). */
void cp_vault_generate_key_line(const char *id, char *out, size_t cap);

typedef struct {
    char key_id[CP_VAULT_KEY_ID_MAX + 1];
    char *nonce_b64;      /* arena */
    char *ciphertext_b64; /* arena; includes the 16-byte GCM tag */
} cp_vault_sealed;

cp_result cp_vault_seal(const cp_vault *v, cp_arena *a, const char *plaintext, size_t len, const char *account_id,
                        const char *project_id, cp_vault_sealed *out, cp_error *err) CP_MUST_CHECK;
/* Plaintext is allocated with sodium_malloc-like care: the caller must call
 * cp_vault_wipe() on it when done. Fails with a clear message on a wrong key,
 * unknown key id, tampering or a swapped row. */
cp_result cp_vault_open(const cp_vault *v, const char *key_id, const char *nonce_b64, const char *ciphertext_b64,
                        const char *account_id, const char *project_id, char **plaintext, size_t *len,
                        cp_error *err) CP_MUST_CHECK;
void cp_vault_wipe(char *plaintext, size_t len);

/* A saved plan awaiting approval (it embeds prior state and sensitive
 * values), sealed like a credential but with its own AAD domain bound to
 * the run and project ids: a sealed plan copied to another run, or into a
 * credential row, does not open. *plan as for cp_vault_open (wipe it). */
cp_result cp_vault_seal_plan(const cp_vault *v, cp_arena *a, const void *plan, size_t len, const char *run_id,
                             const char *project_id, cp_vault_sealed *out, cp_error *err) CP_MUST_CHECK;
cp_result cp_vault_open_plan(const cp_vault *v, const char *key_id, const char *nonce_b64, const char *ciphertext_b64,
                             const char *run_id, const char *project_id, char **plan, size_t *len,
                             cp_error *err) CP_MUST_CHECK;

/* A webhook's signing secret, sealed like a credential in its own AAD
 * domain bound to the webhook and project ids. *secret as for cp_vault_open. */
cp_result cp_vault_seal_webhook(const cp_vault *v, cp_arena *a, const char *secret, size_t len, const char *webhook_id,
                                const char *project_id, cp_vault_sealed *out, cp_error *err) CP_MUST_CHECK;
cp_result cp_vault_open_webhook(const cp_vault *v, const char *key_id, const char *nonce_b64,
                                const char *ciphertext_b64, const char *webhook_id, const char *project_id,
                                char **secret, size_t *len, cp_error *err) CP_MUST_CHECK;

#endif
