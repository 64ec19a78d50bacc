/* store_sandbox.h (store.h declares the store itself and the types
 * these use): the sandbox cloud's own records. */
#ifndef CP_STORE_SANDBOX_H
#define CP_STORE_SANDBOX_H

#include "store/store.h"

/* ---- the sandbox cloud (store_sandbox.c) ---- */

/* The sandbox cloud's objects belong to a tenant: the hex SHA-256 of the API
 * key that made them (api/sandbox_cloud.h). The store never sees a key.
 * Reads and writes name the tenant, so another tenant's object is simply not
 * found. Deleted objects keep their row and are invisible. */
typedef struct {
    char *id;
    char *tenant;
    char *name, *region, *size, *ssh_public_key;
    char *allowed_cidrs; /* JSON array text */
    char *tags;          /* JSON object text */
    char *status;
    int64_t created_at, updated_at;
    char *power_state; /* running | stopped (migration 0013) */
} cp_sbx_instance;

typedef struct {
    char *id;
    char *tenant;
    char *name, *region;
    char *tags; /* JSON object text */
    bool versioning, public_read;
    int64_t created_at, updated_at;
} cp_sbx_bucket;

/* What a PATCH changes; NULL = unchanged. */
typedef struct {
    const char *size, *ssh_public_key, *allowed_cidrs, *tags;
    const char *power_state;
} cp_sbx_instance_patch;
typedef struct {
    const char *tags;
    const bool *versioning, *public_read;
} cp_sbx_bucket_patch;

/* Registers a key hash; registering a known one again is not an error. */
cp_result cp_store_sandbox_key_register(cp_store *s, const char *key_hash, int64_t now, cp_error *err) CP_MUST_CHECK;
/* CP_OK when the key hash is registered, CP_ENOTFOUND when not. */
cp_result cp_store_sandbox_key_known(cp_store *s, const char *key_hash, cp_error *err) CP_MUST_CHECK;
/* A sandbox cloud account and the registration of its key hash, in one
 * transaction (cp_store_account_create plus cp_store_sandbox_key_register). */
cp_result cp_store_sandbox_account_create(cp_store *s, const cp_account *acc, const char *key_hash,
                                          cp_error *err) CP_MUST_CHECK;

/* in is complete (id, tenant, timestamps); the tenant must be registered. */
cp_result cp_store_sandbox_instance_create(cp_store *s, const cp_sbx_instance *in, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_sandbox_instance_get(cp_store *s, cp_arena *a, const char *tenant, const char *id,
                                        cp_sbx_instance *out, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_sandbox_instance_update(cp_store *s, const char *tenant, const char *id,
                                           const cp_sbx_instance_patch *p, int64_t now, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_sandbox_instance_delete(cp_store *s, const char *tenant, const char *id, int64_t now,
                                           cp_error *err) CP_MUST_CHECK;

/* CP_ECONFLICT (code bucket_name_taken, field name) when a live bucket of
 * any tenant has the name. */
cp_result cp_store_sandbox_bucket_create(cp_store *s, const cp_sbx_bucket *b, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_sandbox_bucket_get(cp_store *s, cp_arena *a, const char *tenant, const char *id, cp_sbx_bucket *out,
                                      cp_error *err) CP_MUST_CHECK;
cp_result cp_store_sandbox_bucket_update(cp_store *s, const char *tenant, const char *id, const cp_sbx_bucket_patch *p,
                                         int64_t now, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_sandbox_bucket_delete(cp_store *s, const char *tenant, const char *id, int64_t now,
                                         cp_error *err) CP_MUST_CHECK;

#endif
