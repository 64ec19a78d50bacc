/* onetime.h: single-use tokens mailed in links (sign-up, invitations). The
 * token is prefix + 32 random bytes in URL-safe base64; only its hex SHA-256
 * is stored, and lookups go by that hash, so nothing compares secrets. */
#ifndef CP_ONETIME_H
#define CP_ONETIME_H

#include "core/cp.h"

#define CP_ONETIME_PREFIX_MAX 8
#define CP_ONETIME_MAX (CP_ONETIME_PREFIX_MAX + 44)
#define CP_ONETIME_HASH_LEN 64

/* A fresh token with prefix (at most CP_ONETIME_PREFIX_MAX chars) and its hash. */
void cp_onetime_new(const char *prefix, char token[CP_ONETIME_MAX + 1], char hash[CP_ONETIME_HASH_LEN + 1]);
/* The hash of a presented token; false when it cannot be one we issued
 * (wrong length or alphabet), so it needs no lookup. */
bool cp_onetime_hash(const char *token, char hash[CP_ONETIME_HASH_LEN + 1]);

#endif
