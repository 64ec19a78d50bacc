/* sandbox_cloud.h: the sandbox cloud's API keys. A key is "sbx_" and 32
 * lower-case hex digits; the platform keeps only its SHA-256 (the tenant its
 * objects belong to). The handlers are declared in api/api.h. */
#ifndef CP_API_SANDBOX_CLOUD_H
#define CP_API_SANDBOX_CLOUD_H

#include "core/cp.h"

#define CP_SANDBOX_KEY_LEN 36  /* "sbx_" + 32 hex */
#define CP_SANDBOX_HASH_LEN 64 /* hex SHA-256 */

/* True if key has the sandbox key format. */
bool cp_sandbox_key_valid(const char *key);
/* A new random key (libsodium randombytes). */
void cp_sandbox_key_new(char out[CP_SANDBOX_KEY_LEN + 1]);
/* The tenant of a key: its hex SHA-256. */
void cp_sandbox_key_hash(const char *key, char out[CP_SANDBOX_HASH_LEN + 1]);

#endif
