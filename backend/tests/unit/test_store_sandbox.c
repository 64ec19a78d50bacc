/* Store tests of the sandbox cloud: the key registry, tenant scoping of
 * instances and buckets, soft delete, the live-bucket-name rule across
 * tenants, and the account insert that registers its key in the same
 * transaction. Every case runs against SQLite and, when CP_TEST_PG_URL is
 * set, PostgreSQL. */
#include <sodium.h>
#include <unistd.h>

#include "core/ids.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_sandbox.h"

static cp_store *st;
static const char *backend_name;
static int serial;

/* A registered tenant (a fake key hash), new per call. */
static const char *tenant_new(cp_arena *a)
{
    char *t = cp_arena_printf(a, "%064d", ++serial);
    cp_error e;
    CHECK_EQ(cp_store_sandbox_key_register(st, t, 1, &e), CP_OK);
    return t;
}

/* An object id of kind 'i' or 'b', new per call. */
static char *obj_id(cp_arena *a, char kind)
{
    return cp_arena_printf(a, "%c-%016x", kind, (unsigned)++serial);
}

static cp_sbx_instance instance(cp_arena *a, const char *tenant)
{
    return (cp_sbx_instance){.id = obj_id(a, 'i'),
                             .tenant = (char *)tenant,
                             .name = "web-1",
                             .region = "sandbox-east-1",
                             .size = "sandbox.small",
                             .ssh_public_key = "",
                             .allowed_cidrs = "[\"10.0.0.0/8\"]",
                             .tags = "{\"env\":\"test\"}",
                             .status = "running",
                             .created_at = 10,
                             .updated_at = 10};
}

static cp_sbx_bucket bucket(cp_arena *a, const char *tenant, const char *name)
{
    return (cp_sbx_bucket){.id = obj_id(a, 'b'),
                           .tenant = (char *)tenant,
                           .name = (char *)name,
                           .region = "sandbox-east-1",
                           .tags = "{}",
                           .created_at = 10,
                           .updated_at = 10};
}

TEST(key_registry_is_idempotent)
{
    cp_arena *a = cp_arena_new(1024);
    cp_error e;
    const char *t = tenant_new(a);
    CHECK_EQ(cp_store_sandbox_key_known(st, t, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_key_register(st, t, 2, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_key_known(st, t, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_key_known(st, cp_arena_printf(a, "%064d", 0), &e), CP_ENOTFOUND);
    cp_arena_free(a);
}

TEST(instance_crud_is_scoped_by_tenant)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    const char *t1 = tenant_new(a), *t2 = tenant_new(a);
    cp_sbx_instance in = instance(a, t1), out;
    CHECK_EQ(cp_store_sandbox_instance_create(st, &in, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_instance_get(st, a, t1, in.id, &out, &e), CP_OK);
    CHECK_STR(out.name, "web-1");
    CHECK_STR(out.allowed_cidrs, "[\"10.0.0.0/8\"]");
    CHECK_STR(out.tags, "{\"env\":\"test\"}");
    CHECK_EQ(out.created_at, 10);

    /* Another tenant sees nothing and changes nothing. */
    cp_sbx_instance_patch big = {.size = "sandbox.large"};
    CHECK_EQ(cp_store_sandbox_instance_get(st, a, t2, in.id, &out, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_sandbox_instance_update(st, t2, in.id, &big, 20, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_sandbox_instance_delete(st, t2, in.id, 20, &e), CP_ENOTFOUND);

    /* A patch changes only what it names. */
    CHECK_EQ(cp_store_sandbox_instance_update(st, t1, in.id, &big, 30, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_instance_get(st, a, t1, in.id, &out, &e), CP_OK);
    CHECK_STR(out.size, "sandbox.large");
    CHECK_STR(out.tags, "{\"env\":\"test\"}");
    CHECK_EQ(out.updated_at, 30);
    cp_sbx_instance_patch rest = {.ssh_public_key = "ssh-ed25519 AAAA x", .allowed_cidrs = "[]", .tags = "{}"};
    CHECK_EQ(cp_store_sandbox_instance_update(st, t1, in.id, &rest, 40, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_instance_get(st, a, t1, in.id, &out, &e), CP_OK);
    CHECK_STR(out.size, "sandbox.large");
    CHECK_STR(out.ssh_public_key, "ssh-ed25519 AAAA x");
    CHECK_STR(out.allowed_cidrs, "[]");
    CHECK_STR(out.power_state, "running"); /* the default */

    /* A stop changes the power state alone. */
    cp_sbx_instance_patch stop = {.power_state = "stopped"};
    CHECK_EQ(cp_store_sandbox_instance_update(st, t1, in.id, &stop, 45, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_instance_get(st, a, t1, in.id, &out, &e), CP_OK);
    CHECK_STR(out.power_state, "stopped");
    CHECK_STR(out.size, "sandbox.large");

    /* Deleted is gone for every call, and a second delete is not found. */
    CHECK_EQ(cp_store_sandbox_instance_delete(st, t1, in.id, 50, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_instance_get(st, a, t1, in.id, &out, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_sandbox_instance_update(st, t1, in.id, &big, 60, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_sandbox_instance_delete(st, t1, in.id, 60, &e), CP_ENOTFOUND);

    /* An unregistered tenant cannot own anything. */
    cp_sbx_instance orphan = instance(a, cp_arena_printf(a, "%064d", 0));
    CHECK(cp_store_sandbox_instance_create(st, &orphan, &e) != CP_OK);
    cp_arena_free(a);
}

TEST(bucket_names_are_unique_among_live_buckets)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    const char *t1 = tenant_new(a), *t2 = tenant_new(a);
    const char *name = cp_arena_printf(a, "shared-%s-%d", backend_name, serial);
    cp_sbx_bucket b1 = bucket(a, t1, name), b2 = bucket(a, t2, name), out;
    CHECK_EQ(cp_store_sandbox_bucket_create(st, &b1, &e), CP_OK);
    /* Another tenant, same name: taken, as in real object stores. */
    CHECK_EQ(cp_store_sandbox_bucket_create(st, &b2, &e), CP_ECONFLICT);
    CHECK_STR(e.code, "bucket_name_taken");
    CHECK_STR(e.field, "name");
    CHECK_EQ(cp_store_sandbox_bucket_get(st, a, t2, b1.id, &out, &e), CP_ENOTFOUND);
    /* Once deleted the name is free again; the old row stays invisible. */
    CHECK_EQ(cp_store_sandbox_bucket_delete(st, t1, b1.id, 20, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_bucket_create(st, &b2, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_bucket_get(st, a, t2, b2.id, &out, &e), CP_OK);
    CHECK_STR(out.name, name);
    CHECK_EQ(cp_store_sandbox_bucket_get(st, a, t1, b1.id, &out, &e), CP_ENOTFOUND);
    cp_arena_free(a);
}

TEST(bucket_patch_leaves_absent_fields)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    const char *t = tenant_new(a);
    cp_sbx_bucket b = bucket(a, t, cp_arena_printf(a, "patch-%s-%d", backend_name, serial)), out;
    b.versioning = true;
    CHECK_EQ(cp_store_sandbox_bucket_create(st, &b, &e), CP_OK);
    bool yes = true, no = false;
    cp_sbx_bucket_patch pub = {.public_read = &yes};
    CHECK_EQ(cp_store_sandbox_bucket_update(st, t, b.id, &pub, 20, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_bucket_get(st, a, t, b.id, &out, &e), CP_OK);
    CHECK(out.versioning && out.public_read);
    CHECK_STR(out.tags, "{}");
    cp_sbx_bucket_patch rest = {.tags = "{\"a\":\"b\"}", .versioning = &no};
    CHECK_EQ(cp_store_sandbox_bucket_update(st, t, b.id, &rest, 30, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_bucket_get(st, a, t, b.id, &out, &e), CP_OK);
    CHECK(!out.versioning && out.public_read);
    CHECK_STR(out.tags, "{\"a\":\"b\"}");
    CHECK_EQ(out.updated_at, 30);
    cp_arena_free(a);
}

/* A user and a project for account rows; their ids in *project_id. */
static void project_new(cp_arena *a, char **project_id)
{
    cp_error e;
    cp_user u;
    cp_project p;
    char *email = cp_arena_printf(a, "u%d-%s@example.com", ++serial, backend_name);
    CHECK_EQ(cp_store_user_create(st, a, email, "U", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, NULL, &p, &e), CP_OK);
    *project_id = p.id;
}

TEST(account_and_key_registration_are_one_transaction)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    char *project_id = NULL;
    project_new(a, &project_id);
    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    cp_account acc = {.id = id,
                      .project_id = project_id,
                      .cloud = "sandbox",
                      .name = "sb",
                      .hint = "sbx_…abcd",
                      .key_id = "k1",
                      .nonce = "n",
                      .ciphertext = "c",
                      .created_at = 1};
    const char *h1 = cp_arena_printf(a, "%064d", ++serial), *h2 = cp_arena_printf(a, "%064d", ++serial);
    CHECK_EQ(cp_store_sandbox_account_create(st, &acc, h1, &e), CP_OK);
    CHECK_EQ(cp_store_sandbox_key_known(st, h1, &e), CP_OK);
    cp_account got;
    CHECK_EQ(cp_store_account_get(st, a, id, &got, &e), CP_OK);
    CHECK_STR(got.hint, "sbx_…abcd");
    /* The same account id again fails, and its key is not registered either. */
    CHECK_EQ(cp_store_sandbox_account_create(st, &acc, h2, &e), CP_ECONFLICT);
    CHECK_EQ(cp_store_sandbox_key_known(st, h2, &e), CP_ENOTFOUND);
    /* Two accounts may share a key: they share its tenant. */
    char id2[CP_ID_LEN + 1];
    cp_id_new(id2);
    acc.id = id2;
    CHECK_EQ(cp_store_sandbox_account_create(st, &acc, h1, &e), CP_OK);
    cp_arena_free(a);
}

/* Runs every case on one backend; with no url, records them as skipped. */
int main(void)
{
    static const t_case cases[] = {
        T_CASE(key_registry_is_idempotent),
        T_CASE(instance_crud_is_scoped_by_tenant),
        T_CASE(bucket_names_are_unique_among_live_buckets),
        T_CASE(bucket_patch_leaves_absent_fields),
        T_CASE(account_and_key_registration_are_one_transaction),
    };
    return tsu_main(&(tsu_suite){"store-sandbox", 4, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
