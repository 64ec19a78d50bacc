/* store.c: opening, migrations, health and users, and the transaction
 * wrapper (with its wake-up of the webhook delivery loop). */
#include "store/store.h"
#include "store/store_webhooks.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/embed.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "store/store_int.h"

cp_result cp_store_exec(cp_store *s, const char *sql, const cp_param *p, int n, int64_t *changes, cp_error *err)
{
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_result r = cp_db_exec(c, sql, p, n, changes, err);
    cp_db_release(s->db, c);
    return r;
}

cp_result cp_store_one(cp_store *s, cp_arena *a, const char *sql, const cp_param *p, int n, cp_row_fn fill, void *out,
                       const char *what, cp_error *err)
{
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, sql, p, n, &rows, err);
    if (r == CP_OK) {
        if (cp_dbrows_next(rows))
            fill(rows, a, out);
        else
            r = cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "%s not found", what);
        cp_dbrows_free(rows);
    }
    cp_db_release(s->db, c);
    return r;
}

cp_result cp_store_many(cp_store *s, cp_arena *a, const char *sql, const cp_param *p, int n, cp_row_fn fill,
                        size_t elem_size, size_t max, void **items, size_t *count, cp_error *err)
{
    *items = NULL;
    *count = 0;
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, sql, p, n, &rows, err);
    if (r == CP_OK) {
        size_t cap = 0;
        char *arr = NULL;
        while (*count < max && cp_dbrows_next(rows)) {
            if (*count == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                char *na = cp_arena_alloc(a, ncap * elem_size);
                if (arr) memcpy(na, arr, cap * elem_size);
                arr = na;
                cap = ncap;
            }
            fill(rows, a, arr + *count * elem_size);
            (*count)++;
        }
        *items = arr;
        cp_dbrows_free(rows);
    }
    cp_db_release(s->db, c);
    return r;
}

/* ---- waking the webhook delivery loop after a commit ---- */

/* A write to the outbox marks its thread; cp_store_tx wakes the loop after
 * the commit, so the loop wakes only for rows it can read. */
static _Thread_local bool outbox_written;
/* Set and called under wake_mu, so a stop never races a call in flight. */
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*wake_fn)(void *);
static void *wake_ctx;

void cp_store_outbox_on_commit(void (*fn)(void *), void *ctx)
{
    pthread_mutex_lock(&wake_mu);
    wake_fn = fn;
    wake_ctx = ctx;
    pthread_mutex_unlock(&wake_mu);
}

void cp_store__outbox_written(void)
{
    outbox_written = true;
}

static void outbox_tx_ended(bool committed)
{
    bool was = outbox_written;
    outbox_written = false;
    if (!was || !committed) return;
    pthread_mutex_lock(&wake_mu);
    if (wake_fn) wake_fn(wake_ctx);
    pthread_mutex_unlock(&wake_mu);
}

cp_result cp_store_tx(cp_store *s, cp_tx_fn fn, void *ctx, cp_error *err)
{
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_result r = cp_db_begin(c, true, err);
    if (r == CP_OK) {
        r = fn(c, ctx, err);
        if (r == CP_OK) r = cp_db_commit(c, err);
        if (r != CP_OK) cp_db_rollback(c);
    }
    outbox_tx_ended(r == CP_OK);
    cp_db_release(s->db, c);
    return r;
}

cp_result cp_conn_one(cp_dbconn *c, cp_arena *a, const char *sql, const cp_param *p, int n, cp_row_fn fill, void *out,
                      cp_error *err)
{
    cp_dbrows *rows;
    cp_result r = cp_db_query(c, sql, p, n, &rows, err);
    if (r != CP_OK) return r;
    if (cp_dbrows_next(rows))
        fill(rows, a, out);
    else
        r = cp_error_set(err, CP_ENOTFOUND, "not_found", NULL, "not found");
    cp_dbrows_free(rows);
    return r;
}

cp_result cp_conn_scalar(cp_dbconn *c, const char *sql, const cp_param *p, int n, double *out, cp_error *err)
{
    cp_dbrows *rows;
    *out = 0;
    cp_result r = cp_db_query(c, sql, p, n, &rows, err);
    if (r != CP_OK) return r;
    if (cp_dbrows_next(rows)) *out = cp_dbrows_real(rows, 0);
    cp_dbrows_free(rows);
    return CP_OK;
}

/* FOR NO KEY UPDATE, not FOR UPDATE: it excludes every other locker and
 * writer of the row, but not the FOR KEY SHARE a foreign key check takes when
 * a child row (membership, run, cost period, event) is inserted, so locking a
 * parent does not stall, or deadlock with, writers that only add children. */
static const char *const lock_sql[] = {
    [CP_LOCK_PROJECT] = "SELECT 1 FROM projects WHERE id = ? FOR NO KEY UPDATE",
    [CP_LOCK_PROJECT_OF_RESOURCE] =
        "SELECT 1 FROM projects WHERE id = (SELECT project_id FROM resources WHERE id = ?) FOR NO KEY UPDATE",
    [CP_LOCK_RESOURCE] = "SELECT 1 FROM resources WHERE id = ? FOR NO KEY UPDATE",
    [CP_LOCK_RUN] = "SELECT 1 FROM runs WHERE id = ? FOR NO KEY UPDATE",
};

cp_result cp_conn_lock(cp_dbconn *c, cp_lock_row what, const char *id, cp_error *err)
{
    if (cp_dbconn_kind(c) != CP_DB_PG) return CP_OK;
    cp_dbrows *rows;
    cp_param p[] = {CP_PTEXT(id)};
    cp_result r = cp_db_query(c, lock_sql[what], p, 1, &rows, err);
    cp_dbrows_free(rows);
    return r;
}

int cp_store_page_limit(int limit)
{
    return limit < 1 ? 50 : limit > 200 ? 200 : limit;
}

cp_result cp_store_open(const char *url, int pool_size, bool migrate, cp_store **out, cp_error *err)
{
    cp_store *s = calloc(1, sizeof *s);
    if (!s) return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    cp_result r = cp_db_open(url, pool_size, &s->db, err);
    if (r != CP_OK) {
        free(s);
        return r;
    }
    if (migrate) {
        int applied = 0;
        if ((r = cp_store_migrate(s, &applied, err)) != CP_OK) {
            cp_store_close(s);
            return r;
        }
        if (applied) cp_log_info("applied %d migration(s)", applied);
    }
    *out = s;
    return CP_OK;
}

void cp_store_close(cp_store *s)
{
    if (!s) return;
    cp_db_close(s->db);
    free(s);
}

cp_db *cp_store_db(cp_store *s)
{
    return s->db;
}

static int cmp_files(const void *a, const void *b)
{
    return strcmp((*(const cp_embedded_file *const *)a)->name, (*(const cp_embedded_file *const *)b)->name);
}

cp_result cp_store_migrate(cp_store *s, int *applied, cp_error *err)
{
    bool pg = cp_db_kind_of(s->db) == CP_DB_PG;
    const char *prefix = pg ? "src/store/migrations/postgres/" : "src/store/migrations/sqlite/";
    const cp_embedded_file *files[128] = {0};
    size_t nfiles = 0;
    for (size_t i = 0; i < cp_embedded_count && nfiles < CP_ARRAY_LEN(files); i++)
        if (!strncmp(cp_embedded_files[i].name, prefix, strlen(prefix))) files[nfiles++] = &cp_embedded_files[i];
    qsort(files, nfiles, sizeof files[0], cmp_files);

    *applied = 0;
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_result r = cp_db_exec_script(c,
                                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                                    err);
    /* Serialize concurrent migrators (several processes starting at once). */
    if (r == CP_OK && pg) r = cp_db_exec(c, "SELECT pg_advisory_lock(727274)", NULL, 0, NULL, err);
    for (size_t i = 0; r == CP_OK && i < nfiles; i++) {
        const char *base = files[i]->name + strlen(prefix);
        long version = strtol(base, NULL, 10);
        if ((r = cp_db_begin(c, true, err)) != CP_OK) break;
        cp_dbrows *rows;
        cp_param p[] = {CP_PINT(version)};
        r = cp_db_query(c, "SELECT 1 FROM schema_migrations WHERE version = ?", p, 1, &rows, err);
        bool done = r == CP_OK && cp_dbrows_next(rows);
        cp_dbrows_free(rows);
        if (r == CP_OK && !done) {
            r = cp_db_exec_script(c, (const char *)files[i]->data, err);
            if (r == CP_OK) {
                cp_param q[] = {CP_PINT(version), CP_PTEXT(base), CP_PINT(cp_now_ms())};
                r = cp_db_exec(c, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", q, 3,
                               NULL, err);
            }
            if (r == CP_OK) (*applied)++;
        }
        if (r == CP_OK)
            r = cp_db_commit(c, err);
        else
            cp_db_rollback(c);
        if (r != CP_OK && err) {
            char msg[CP_ERR_MSG_MAX];
            memcpy(msg, err->message, sizeof msg);
            cp_error_set(err, r, "migration", NULL, "migration %s failed: %s", base, msg);
        }
    }
    /* The connection goes back to the pool: a lock left on it would stall every later migrator. */
    if (pg && cp_db_exec(c, "SELECT pg_advisory_unlock(727274)", NULL, 0, NULL, NULL) != CP_OK)
        cp_log_error("could not release the migration lock");
    cp_db_release(s->db, c);
    return r;
}

static void fill_version(cp_dbrows *r, cp_arena *a, void *out)
{
    CP_UNUSED(a);
    *(int64_t *)out = cp_dbrows_int(r, 0);
}

cp_result cp_store_data_version(cp_store *s, int64_t *v, cp_error *err)
{
    return cp_store_one(s, NULL, "SELECT n FROM data_version WHERE id = 1", NULL, 0, fill_version, v, "data version",
                        err);
}

cp_result cp_store_ping(cp_store *s, cp_error *err)
{
    return cp_store_exec(s, "SELECT 1", NULL, 0, NULL, err);
}

#define USER_COLS "id, email, name, password_hash, created_at"

static void fill_user(cp_dbrows *r, cp_arena *a, void *out)
{
    cp_user *u = out;
    u->id = cp_dbrows_dup(r, 0, a);
    u->email = cp_dbrows_dup(r, 1, a);
    u->name = cp_dbrows_dup(r, 2, a);
    u->password_hash = cp_dbrows_dup(r, 3, a);
    u->created_at = cp_dbrows_int(r, 4);
}

cp_result cp_conn_user_insert(cp_dbconn *c, cp_arena *a, const char *email, const char *name, const char *password_hash,
                              int64_t now, cp_user *out, cp_error *err)
{
    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    cp_param p[] = {CP_PTEXT(id), CP_PTEXT(email), CP_PTEXT(name), CP_PTEXT(password_hash), CP_PINT(now)};
    cp_result r = cp_db_exec(c, "INSERT INTO users (" USER_COLS ") VALUES (?, ?, ?, ?, ?)", p, 5, NULL, err);
    if (r == CP_ECONFLICT)
        return cp_error_set(err, CP_ECONFLICT, "email_taken", "email", "an account with this email already exists");
    if (r != CP_OK) return r;
    out->id = cp_arena_strdup(a, id);
    out->email = cp_arena_strdup(a, email);
    out->name = cp_arena_strdup(a, name);
    out->password_hash = cp_arena_strdup(a, password_hash);
    out->created_at = now;
    return CP_OK;
}

cp_result cp_store_user_create(cp_store *s, cp_arena *a, const char *email, const char *name, const char *password_hash,
                               cp_user *out, cp_error *err)
{
    cp_dbconn *c = cp_db_acquire(s->db);
    cp_result r = cp_conn_user_insert(c, a, email, name, password_hash, cp_now_ms(), out, err);
    cp_db_release(s->db, c);
    return r;
}

cp_result cp_store_user_by_email(cp_store *s, cp_arena *a, const char *email, cp_user *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(email)};
    return cp_store_one(s, a, "SELECT " USER_COLS " FROM users WHERE email = ?", p, 1, fill_user, out, "user", err);
}

cp_result cp_store_user_by_id(cp_store *s, cp_arena *a, const char *id, cp_user *out, cp_error *err)
{
    cp_param p[] = {CP_PTEXT(id)};
    return cp_store_one(s, a, "SELECT " USER_COLS " FROM users WHERE id = ?", p, 1, fill_user, out, "user", err);
}
