/* issuer_key.h: where the run-token issuer's keys come from (like the JWT and
 * vault keys): CLOUDPLANE_ISSUER_KEYS, else the file setting, else
 * <data>/keys/issuer.jwks, generated once with mode 0600; and the issuer URL
 * tokens carry. */
#ifndef CP_APP_ISSUER_KEY_H
#define CP_APP_ISSUER_KEY_H

#include "app/app.h"
#include "auth/issuer.h"

#define CP_ISSUER_KEYS_MAX 32768 /* bytes of a private JWK Set of CP_ISSUER_MAX_KEYS keys */
#define CP_ISSUER_KEYS_NAME "issuer.jwks"

/* Loads (or generates) the keys into *out. */
cp_result cp_app_issuer_load(const cp_config *cfg, const char *keydir, cp_issuer **out, cp_error *err) CP_MUST_CHECK;
/* `admin rotate-issuer-key`: puts a new key first in the key file (the
 * setting's or the generated one), keeping the old ones published. Refuses
 * when the keys come from the environment. Prints the new kid to say. */
cp_result cp_app_issuer_rotate(const cp_config *cfg, FILE *say, cp_error *err) CP_MUST_CHECK;
/* The issuer URL: CLOUDPLANE_PUBLIC_URL, else the listen address serve
 * announced (app->public_url), without a trailing slash; "" when neither. */
void cp_app_issuer_url(const cp_app *app, char *out, size_t cap);

#endif
