/* onetime.c: single-use mailed tokens (see onetime.h). */
#include "auth/onetime.h"

#include <sodium.h>
#include <string.h>

static void hash_hex(const char *token, char hash[CP_ONETIME_HASH_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(hash, CP_ONETIME_HASH_LEN + 1, h, sizeof h);
}

void cp_onetime_new(const char *prefix, char token[CP_ONETIME_MAX + 1], char hash[CP_ONETIME_HASH_LEN + 1])
{
    unsigned char raw[32];
    size_t pl = strnlen(prefix, CP_ONETIME_PREFIX_MAX);
    memcpy(token, prefix, pl);
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(token + pl, CP_ONETIME_MAX + 1 - pl, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    hash_hex(token, hash);
}

bool cp_onetime_hash(const char *token, char hash[CP_ONETIME_HASH_LEN + 1])
{
    size_t n = strnlen(token, CP_ONETIME_MAX + 1);
    if (n < 43 || n > CP_ONETIME_MAX) return false;
    for (const char *p = token; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    hash_hex(token, hash);
    return true;
}
