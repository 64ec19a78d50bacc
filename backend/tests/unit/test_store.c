/* Store tests. Every test runs against SQLite and, when CP_TEST_PG_URL is set,
 * PostgreSQL: the same calls must behave the same on both. */
#include <sodium.h>
#include <unistd.h>

#include "core/ids.h"
#include "store/store.h"
#include "test.h"

static cp_store *st;
static const char *backend_name;

static void reset_pg(const char *url)
{
    /* A clean schema per run: drop everything the migrations created. */
    cp_db *db;
    cp_error e;
    if (cp_db_open(url, 1, &db, &e) != CP_OK) return;
    cp_dbconn *c = cp_db_acquire(db);
    cp_db_exec_script(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;", &e);
    cp_db_release(db, c);
    cp_db_close(db);
}

TEST(migrations_apply_once)
{
    int applied = -1;
    cp_error e;
    CHECK_EQ(cp_store_migrate(st, &applied, &e), CP_OK);
    CHECK_EQ(applied, 0); /* opening already migrated */
    CHECK_EQ(cp_store_ping(st, &e), CP_OK);
}

TEST(users_create_and_lookup)
{
    cp_arena *a = cp_arena_new(1024);
    cp_error e;
    cp_user u, v;
    CHECK_EQ(cp_store_user_create(st, a, "x@example.com", "X", "$argon2id$fake", &u, &e), CP_OK);
    CHECK(cp_id_valid(u.id));
    CHECK_EQ(cp_store_user_by_email(st, a, "x@example.com", &v, &e), CP_OK);
    CHECK_STR(v.id, u.id);
    CHECK_STR(v.name, "X");
    CHECK_STR(v.password_hash, "$argon2id$fake");
    CHECK_EQ(v.created_at, u.created_at);
    CHECK_EQ(cp_store_user_by_id(st, a, u.id, &v, &e), CP_OK);
    CHECK_STR(v.email, "x@example.com");
    CHECK_EQ(cp_store_user_create(st, a, "x@example.com", "Y", "h", &v, &e), CP_ECONFLICT);
    CHECK_STR(e.field, "email");
    CHECK_EQ(cp_store_user_by_email(st, a, "nobody@example.com", &v, &e), CP_ENOTFOUND);
    /* quotes and question marks in values are data, not SQL */
    CHECK_EQ(cp_store_user_create(st, a, "q'?\"@example.com", "O'Brien ? $1", "h", &u, &e), CP_OK);
    CHECK_EQ(cp_store_user_by_id(st, a, u.id, &v, &e), CP_OK);
    CHECK_STR(v.name, "O'Brien ? $1");
    cp_arena_free(a);
}

/* Runs every case on one backend; with no url, records them as skipped. */
static int run_suite(const char *name, const char *url, const char *skip_reason)
{
    backend_name = name;
    cp_error e;
    printf("# %s\n", name);
    if (url && cp_store_open(url, 4, true, &st, &e) != CP_OK) {
        fprintf(stderr, "cannot open %s store: %s\n", name, e.message);
        return 1;
    }
    RUN_IF(url, skip_reason, migrations_apply_once);
    RUN_IF(url, skip_reason, users_create_and_lookup);
    if (url) cp_store_close(st);
    return 0;
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    char path[] = "/tmp/cp-store-test-XXXXXX";
    if (!mkdtemp(path)) return 1;
    char db[128];
    snprintf(db, sizeof db, "%s/t.db", path);
    if (run_suite("sqlite", db, NULL)) t_failed++;
    const char *pg = getenv("CP_TEST_PG_URL");
    if (pg && !*pg) pg = NULL;
    if (pg) reset_pg(pg);
    if (run_suite("postgres", pg, "CP_TEST_PG_URL not set (make test starts PostgreSQL)")) t_failed++;
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", path);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    TEST_END();
}
