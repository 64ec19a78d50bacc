/* apitoken.h: the API token format, cpt_<id>_<secret>: <id> is the token's
 * row id (26 characters), <secret> 32 random bytes in lower-case hex. Only
 * BLAKE2b-256 of the secret is stored: the secret carries 256 bits of
 * entropy, so a fast unkeyed hash cannot be searched, and no server key has
 * to outlive a key rotation for tokens to keep working. */
#ifndef CP_APITOKEN_H
#define CP_APITOKEN_H

#include "core/cp.h"
#include "core/ids.h"

#define CP_APITOKEN_PREFIX "cpt_"
#define CP_APITOKEN_SECRET_HEX 64
/* cpt_ + id + _ + secret */
#define CP_APITOKEN_LEN (4 + CP_ID_LEN + 1 + CP_APITOKEN_SECRET_HEX)
#define CP_APITOKEN_HASH_HEX 65 /* BLAKE2b-256 in hex, with its NUL */

/* True when s starts like an API token (the guard then never tries it as a JWT). */
bool cp_apitoken_is(const char *s);
/* Splits a token into its id and the hash of its secret. False for anything
 * but exactly the format above (length, prefix, id alphabet, hex secret). */
bool cp_apitoken_parse(const char *token, char id[CP_ID_LEN + 1], char hash[CP_APITOKEN_HASH_HEX]);
/* A new token for row id: out gets the token (shown once), hash what is stored. */
void cp_apitoken_new(const char *id, char out[CP_APITOKEN_LEN + 1], char hash[CP_APITOKEN_HASH_HEX]);
/* Constant-time equality of two stored-form hashes. */
bool cp_apitoken_hash_eq(const char *a, const char *b);

#endif
