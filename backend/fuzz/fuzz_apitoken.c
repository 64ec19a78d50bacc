/* fuzz_apitoken.c: any Authorization value through cp_apitoken_parse. It
 * accepts exactly cpt_ + a valid id + _ + 64 lower-case hex digits; an
 * accepted token yields its id and a 64-hex-digit hash that differs from the
 * secret; a refused one leaves both empty. */
#include <ctype.h>

#include "auth/apitoken.h"
#include "fuzz.h"

#include <sodium.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return sodium_init() < 0 ? 1 : 0;
}

static bool shaped(const char *s)
{
    if (strlen(s) != CP_APITOKEN_LEN || strncmp(s, "cpt_", 4) != 0 || s[4 + CP_ID_LEN] != '_') return false;
    char id[CP_ID_LEN + 1];
    memcpy(id, s + 4, CP_ID_LEN);
    id[CP_ID_LEN] = '\0';
    if (!cp_id_valid(id)) return false;
    for (const char *p = s + 4 + CP_ID_LEN + 1; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p)) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    char id[CP_ID_LEN + 1], hash[CP_APITOKEN_HASH_HEX];
    bool ok = cp_apitoken_parse(s, id, hash);
    FUZZ_CHECK(ok == shaped(s));
    if (ok) {
        FUZZ_CHECK(!strncmp(id, s + 4, CP_ID_LEN) && strlen(id) == CP_ID_LEN);
        FUZZ_CHECK(strlen(hash) == 64 && strcmp(hash, s + 4 + CP_ID_LEN + 1) != 0);
        FUZZ_CHECK(cp_apitoken_hash_eq(hash, hash));
    } else {
        FUZZ_CHECK(id[0] == '\0' && hash[0] == '\0');
    }
    free(s);
    return 0;
}
