/* store_sandbox.c: the sandbox cloud's key registry, instances and buckets.
 * Every read and write is scoped by tenant (a key hash) and sees live rows
 * only; a delete stamps deleted_at. */
#include <string.h>

#include "store/store_int.h"
#include "store/store_sandbox.h"

/* ---- keys ---- */

static cp_result conn_key_register(cp_dbconn *c, const char *key_hash, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(key_hash), CP_PINT(now)};
    return cp_db_exec(c,
                      "INSERT INTO sandbox_keys (key_hash, created_at) VALUES (?, ?)"
                      " ON CONFLICT (key_hash) DO NOTHING",
                      p, 2, NULL, err);
}

cp_result cp_store_sandbox_key_register(cp_store *s, const char *key_hash, int64_t now, cp_error *err)
{
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_result r = conn_key_register(c, key_hash, now, err);
    cp_db_release(s->db, c);
    return r;
}

static void fill_nothing(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(r);
    CP_UNUSED(a);
    CP_UNUSED(out);
}

cp_result cp_store_sandbox_key_known(cp_store *s, const char *key_hash, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(key_hash)};
    return cp_store_one(s, NULL, "SELECT 1 FROM sandbox_keys WHERE key_hash = ?", p, 1, fill_nothing, NULL, "key", err);
}

typedef struct {
    const cp_account *acc;
    const char *key_hash;
} sandbox_account_new;

static cp_result tx_sandbox_account_create(cp_dbconn *c, void *ctx, cp_error *err)
{
    const sandbox_account_new *n = ctx;
    cp_result r = conn_key_register(c, n->key_hash, n->acc->created_at, err);
    if (r == CP_OK) r = cp_conn_account_insert(c, n->acc, err);
    return r;
}

cp_result cp_store_sandbox_account_create(cp_store *s, const cp_account *acc, const char *key_hash, cp_error *err)
{
    sandbox_account_new n = {acc, key_hash};
    return cp_store_tx(s, tx_sandbox_account_create, &n, err);
}

/* ---- instances ---- */

#define INSTANCE_COLS                                                                                                  \
    "id, tenant, name, region, size, ssh_public_key, allowed_cidrs, tags, status, created_at, updated_at, power_state"

static void fill_instance(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_sbx_instance *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->tenant = cp_dbrows_dup(r, 1, a);
    x->name = cp_dbrows_dup(r, 2, a);
    x->region = cp_dbrows_dup(r, 3, a);
    x->size = cp_dbrows_dup(r, 4, a);
    x->ssh_public_key = cp_dbrows_dup(r, 5, a);
    x->allowed_cidrs = cp_dbrows_dup(r, 6, a);
    x->tags = cp_dbrows_dup(r, 7, a);
    x->status = cp_dbrows_dup(r, 8, a);
    x->created_at = cp_dbrows_int(r, 9);
    x->updated_at = cp_dbrows_int(r, 10);
    x->power_state = cp_dbrows_dup(r, 11, a);
}

cp_result cp_store_sandbox_instance_create(cp_store *s, const cp_sbx_instance *x, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(x->id),
                    CP_PTEXT(x->tenant),
                    CP_PTEXT(x->name),
                    CP_PTEXT(x->region),
                    CP_PTEXT(x->size),
                    CP_PTEXT(x->ssh_public_key),
                    CP_PTEXT(x->allowed_cidrs),
                    CP_PTEXT(x->tags),
                    CP_PTEXT(x->status),
                    CP_PINT(x->created_at),
                    CP_PINT(x->updated_at),
                    CP_PTEXT(x->power_state ? x->power_state : "running")};
    return cp_store_exec(
        s, "INSERT INTO sandbox_instances (" INSTANCE_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, 12, NULL,
        err);
}

cp_result cp_store_sandbox_instance_get(cp_store *s, cp_arena *a, const char *tenant, const char *id,
                                        cp_sbx_instance *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id), CP_PTEXT(tenant)};
    return cp_store_one(s, a,
                        "SELECT " INSTANCE_COLS " FROM sandbox_instances WHERE id = ? AND tenant = ?"
                        " AND deleted_at IS NULL",
                        p, 2, fill_instance, out, "instance", err);
}

/* An UPDATE that touched no live row of the tenant: not found. */
static cp_result changed_or_missing(cp_result r, int64_t changed, const char *what, cp_error *err)
{
    if (r == CP_OK && changed == 0) return cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "%s not found", what);
    return r;
}

cp_result cp_store_sandbox_instance_update(cp_store *s, const char *tenant, const char *id,
                                           const cp_sbx_instance_patch *x, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(x->size),
                    CP_PTEXT(x->ssh_public_key),
                    CP_PTEXT(x->allowed_cidrs),
                    CP_PTEXT(x->tags),
                    CP_PTEXT(x->power_state),
                    CP_PINT(now),
                    CP_PTEXT(id),
                    CP_PTEXT(tenant)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE sandbox_instances SET size = COALESCE(?, size),"
                                " ssh_public_key = COALESCE(?, ssh_public_key),"
                                " allowed_cidrs = COALESCE(?, allowed_cidrs), tags = COALESCE(?, tags),"
                                " power_state = COALESCE(?, power_state), updated_at = ?"
                                " WHERE id = ? AND tenant = ? AND deleted_at IS NULL",
                                p, 8, &changed, err);
    return changed_or_missing(r, changed, "instance", err);
}

cp_result cp_store_sandbox_instance_delete(cp_store *s, const char *tenant, const char *id, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PINT(now), CP_PTEXT(id), CP_PTEXT(tenant)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE sandbox_instances SET deleted_at = ?, updated_at = ?, status = 'terminated'"
                                " WHERE id = ? AND tenant = ? AND deleted_at IS NULL",
                                p, 4, &changed, err);
    return changed_or_missing(r, changed, "instance", err);
}

/* ---- buckets ---- */

#define BUCKET_COLS "id, tenant, name, region, tags, versioning, public, created_at, updated_at"

static void fill_bucket(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_sbx_bucket *x = out;
    x->id = cp_dbrows_dup(r, 0, a);
    x->tenant = cp_dbrows_dup(r, 1, a);
    x->name = cp_dbrows_dup(r, 2, a);
    x->region = cp_dbrows_dup(r, 3, a);
    x->tags = cp_dbrows_dup(r, 4, a);
    x->versioning = cp_dbrows_int(r, 5) != 0;
    x->public_read = cp_dbrows_int(r, 6) != 0;
    x->created_at = cp_dbrows_int(r, 7);
    x->updated_at = cp_dbrows_int(r, 8);
}

cp_result cp_store_sandbox_bucket_create(cp_store *s, const cp_sbx_bucket *x, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(x->id),         CP_PTEXT(x->tenant),    CP_PTEXT(x->name),
                    CP_PTEXT(x->region),     CP_PTEXT(x->tags),      CP_PINT(x->versioning),
                    CP_PINT(x->public_read), CP_PINT(x->created_at), CP_PINT(x->updated_at)};
    cp_result r = cp_store_exec(s, "INSERT INTO sandbox_buckets (" BUCKET_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                p, 9, NULL, err);
    /* The id is 64 random bits: a conflict is the live-name index. */
    if (r == CP_ECONFLICT)
        return cp_error_set(err, CP_ECONFLICT, "bucket_name_taken", "name", "a bucket named %.63s already exists",
                            x->name);
    return r;
}

cp_result cp_store_sandbox_bucket_get(cp_store *s, cp_arena *a, const char *tenant, const char *id, cp_sbx_bucket *out,
                                      cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id), CP_PTEXT(tenant)};
    return cp_store_one(s, a,
                        "SELECT " BUCKET_COLS " FROM sandbox_buckets WHERE id = ? AND tenant = ?"
                        " AND deleted_at IS NULL",
                        p, 2, fill_bucket, out, "bucket", err);
}

cp_result cp_store_sandbox_bucket_update(cp_store *s, const char *tenant, const char *id, const cp_sbx_bucket_patch *x,
                                         int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(x->tags),
                    x->versioning ? CP_PINT(*x->versioning) : CP_PNULL,
                    x->public_read ? CP_PINT(*x->public_read) : CP_PNULL,
                    CP_PINT(now),
                    CP_PTEXT(id),
                    CP_PTEXT(tenant)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE sandbox_buckets SET tags = COALESCE(?, tags),"
                                " versioning = COALESCE(?, versioning), public = COALESCE(?, public), updated_at = ?"
                                " WHERE id = ? AND tenant = ? AND deleted_at IS NULL",
                                p, 6, &changed, err);
    return changed_or_missing(r, changed, "bucket", err);
}

cp_result cp_store_sandbox_bucket_delete(cp_store *s, const char *tenant, const char *id, int64_t now, cp_error *err)
{
    cp_param p[] = {CP_PINT(now), CP_PINT(now), CP_PTEXT(id), CP_PTEXT(tenant)};
    int64_t changed = 0;
    cp_result r = cp_store_exec(s,
                                "UPDATE sandbox_buckets SET deleted_at = ?, updated_at = ?"
                                " WHERE id = ? AND tenant = ? AND deleted_at IS NULL",
                                p, 4, &changed, err);
    return changed_or_missing(r, changed, "bucket", err);
}
