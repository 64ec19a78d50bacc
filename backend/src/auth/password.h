/* password.h: argon2id password hashing (libsodium, interactive limits). */
#ifndef CP_PASSWORD_H
#define CP_PASSWORD_H

#include "core/cp.h"

#define CP_PASSWORD_HASH_MAX 128

/* out gets an encoded "$argon2id$..." string. CP_ERR when out of memory. */
cp_result cp_password_hash(const char *password, char out[CP_PASSWORD_HASH_MAX]) CP_MUST_CHECK;
bool cp_password_verify(const char *hash, const char *password);
/* Burns the time of one verification, so unknown emails cost what wrong passwords cost. */
void cp_password_dummy_verify(const char *password);

#endif
