#include "auth/password.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

_Static_assert(crypto_pwhash_STRBYTES <= CP_PASSWORD_HASH_MAX, "hash buffer too small");

cp_result cp_password_hash(const char *password, char out[CP_PASSWORD_HASH_MAX])
{
    if (crypto_pwhash_str_alg(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return CP_ERR;
    return CP_OK;
}

bool cp_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static char dummy_hash[CP_PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
    if (cp_password_hash("cloudplane-dummy-password", dummy_hash) != CP_OK) dummy_hash[0] = '\0';
}

void cp_password_dummy_verify(const char *password)
{
    pthread_once(&dummy_once, make_dummy);
    if (dummy_hash[0]) (void)cp_password_verify(dummy_hash, password);
}
