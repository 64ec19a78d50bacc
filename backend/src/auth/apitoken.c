/* apitoken.c: the API token format (see apitoken.h). */
#include "auth/apitoken.h"

#include <sodium.h>
#include <string.h>

#define SECRET_BYTES (CP_APITOKEN_SECRET_HEX / 2)

static void secret_hash(const char *secret, char out[CP_APITOKEN_HASH_HEX])
{
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)secret, CP_APITOKEN_SECRET_HEX, NULL, 0);
    sodium_bin2hex(out, CP_APITOKEN_HASH_HEX, h, sizeof h);
}

bool cp_apitoken_is(const char *s)
{
    return s && strncmp(s, CP_APITOKEN_PREFIX, 4) == 0;
}

bool cp_apitoken_parse(const char *token, char id[CP_ID_LEN + 1], char hash[CP_APITOKEN_HASH_HEX])
{
    id[0] = hash[0] = '\0';
    if (!cp_apitoken_is(token) || strnlen(token, CP_APITOKEN_LEN + 1) != CP_APITOKEN_LEN) return false;
    if (token[4 + CP_ID_LEN] != '_') return false;
    memcpy(id, token + 4, CP_ID_LEN);
    id[CP_ID_LEN] = '\0';
    const char *secret = token + 4 + CP_ID_LEN + 1;
    for (int i = 0; i < CP_APITOKEN_SECRET_HEX; i++)
        if (!strchr("0123456789abcdef", secret[i])) return id[0] = '\0', false;
    if (!cp_id_valid(id)) return id[0] = '\0', false;
    secret_hash(secret, hash);
    return true;
}

void cp_apitoken_new(const char *id, char out[CP_APITOKEN_LEN + 1], char hash[CP_APITOKEN_HASH_HEX])
{
    unsigned char raw[SECRET_BYTES];
    char secret[CP_APITOKEN_SECRET_HEX + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(secret, sizeof secret, raw, sizeof raw);
    memcpy(out, CP_APITOKEN_PREFIX, 4);
    memcpy(out + 4, id, CP_ID_LEN);
    out[4 + CP_ID_LEN] = '_';
    memcpy(out + 4 + CP_ID_LEN + 1, secret, CP_APITOKEN_SECRET_HEX);
    out[CP_APITOKEN_LEN] = '\0';
    secret_hash(secret, hash);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(secret, sizeof secret);
}

bool cp_apitoken_hash_eq(const char *a, const char *b)
{
    if (strlen(a) != CP_APITOKEN_HASH_HEX - 1 || strlen(b) != CP_APITOKEN_HASH_HEX - 1) return false;
    return sodium_memcmp(a, b, CP_APITOKEN_HASH_HEX - 1) == 0;
}
