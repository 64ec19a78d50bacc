/* identity.h: how a workload-identity account reaches its cloud's provider,
 * from the catalog's "workload_identity" data: the token's default audience,
 * the child env (role, tenant, the token file's path, ARM_USE_OIDC, ...), a
 * credentials file for a cloud that reads one (GCP's external_account JSON,
 * whose credential_source.file is the token file), and tfvars extras. No
 * value here is secret; the token itself is written by the runner. */
#ifndef CP_IDENTITY_H
#define CP_IDENTITY_H

#include <jansson.h>

#include "core/error.h"
#include "engine/proc.h"

/* The token's audience: the account's own when set, else the cloud's default
 * with {field} filled from the account's fields. Caller frees; NULL for a
 * cloud without workload identity. */
char *cp_identity_audience(const char *cloud, json_t *fields, const char *account_audience);
/* Adds the child env for an account of cloud with these fields to env. For a
 * cloud that reads a credentials file, *cred_text (caller frees) is that file,
 * to be written at cred_path, and the env names it; else *cred_text = NULL. */
cp_result cp_identity_env(const char *cloud, json_t *fields, const char *audience, const char *token_path,
                          const char *cred_path, cp_strv *env, char **cred_text, cp_error *err) CP_MUST_CHECK;
/* The fields that become tfvars extras (GCP's project_id) into extra. */
void cp_identity_extra(const char *cloud, json_t *fields, json_t *extra);

#endif
