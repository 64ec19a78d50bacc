/* db_sqlite.c: SQLite driver. WAL, busy timeout, foreign keys; statements are
 * prepared once per connection and cached by SQL pointer. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/db.h"

#define CACHE_SLOTS 512 /* power of two; far more than the store's statement count */

typedef struct {
    sqlite3 *db;
    const char *keys[CACHE_SLOTS];
    sqlite3_stmt *stmts[CACHE_SLOTS];
} lite;

typedef struct {
    cp_dbrows base;
    sqlite3_stmt *st;
    lite *l;
    bool owned; /* not from the cache: finalize on free */
} lite_rows;

static cp_result fail(lite *l, int rc, const char *what, cp_error *err)
{
    int ext = sqlite3_extended_errcode(l->db);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
        return cp_error_set(err, CP_ECONFLICT, "conflict", NULL, "already exists");
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return cp_error_set(err, CP_EAGAIN, "unavailable", NULL, "database is busy, try again");
    cp_log(CP_LOG_ERROR, "sqlite error",
           json_pack("{s:s, s:i, s:s}", "op", what, "code", ext, "detail", sqlite3_errmsg(l->db)));
    return cp_error_set(err, CP_ERR, "internal", NULL, "database error");
}

static cp_result lite_connect(const char *url, void **handle, cp_error *err)
{
    lite *l = calloc(1, sizeof *l);
    if (!l) return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    int rc = sqlite3_open_v2(url, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cp_error_set(err, CP_ERR, "db_open", NULL, "cannot open SQLite database %s: %s", url,
                     l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
        sqlite3_close(l->db);
        free(l);
        return CP_ERR;
    }
    sqlite3_busy_timeout(l->db, 5000);
    char *msg = NULL;
    rc = sqlite3_exec(l->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                      "PRAGMA temp_store=MEMORY;",
                      NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        cp_error_set(err, CP_ERR, "db_open", NULL, "cannot configure SQLite database %s: %s", url, msg ? msg : "");
        sqlite3_free(msg);
        sqlite3_close(l->db);
        free(l);
        return CP_ERR;
    }
    *handle = l;
    return CP_OK;
}

static void lite_disconnect(void *h)
{
    lite *l = h;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (l->stmts[i]) sqlite3_finalize(l->stmts[i]);
    sqlite3_close(l->db);
    free(l);
}

static sqlite3_stmt *prepare(lite *l, const char *sql, bool *owned, int *rc)
{
    uintptr_t k = (uintptr_t)sql;
    size_t slot = (size_t)((k >> 4) ^ (k >> 12)) & (CACHE_SLOTS - 1);
    for (size_t probe = 0; probe < CACHE_SLOTS; probe++) {
        size_t i = (slot + probe) & (CACHE_SLOTS - 1);
        if (l->keys[i] == sql) {
            *owned = false;
            *rc = SQLITE_OK;
            return l->stmts[i];
        }
        if (!l->keys[i]) {
            sqlite3_stmt *st = NULL;
            *rc = sqlite3_prepare_v3(l->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
            if (*rc != SQLITE_OK) return NULL;
            l->keys[i] = sql;
            l->stmts[i] = st;
            *owned = false;
            return st;
        }
    }
    sqlite3_stmt *st = NULL;
    *rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
    *owned = true;
    return st;
}

static void finish(sqlite3_stmt *st, bool owned)
{
    if (owned) {
        sqlite3_finalize(st);
    } else {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static int bind_all(sqlite3_stmt *st, const cp_param *p, int n)
{
    for (int i = 0; i < n; i++) {
        int rc;
        switch (p[i].t) {
        case CP_P_TEXT:
            rc = sqlite3_bind_text(st, i + 1, p[i].s, -1, SQLITE_TRANSIENT);
            break;
        case CP_P_INT:
            rc = sqlite3_bind_int64(st, i + 1, p[i].i);
            break;
        case CP_P_REAL:
            rc = sqlite3_bind_double(st, i + 1, p[i].d);
            break;
        default:
            rc = sqlite3_bind_null(st, i + 1);
            break;
        }
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

static cp_result lite_exec(void *h, const char *sql, const cp_param *p, int n, int64_t *changes, cp_error *err)
{
    lite *l = h;
    bool owned;
    int rc;
    sqlite3_stmt *st = prepare(l, sql, &owned, &rc);
    if (!st) return fail(l, rc, "prepare", err);
    rc = bind_all(st, p, n);
    if (rc == SQLITE_OK) {
        do rc = sqlite3_step(st);
        while (rc == SQLITE_ROW);
    }
    cp_result r = CP_OK;
    if (rc != SQLITE_DONE)
        r = fail(l, rc, "exec", err);
    else if (changes)
        *changes = sqlite3_changes64(l->db);
    finish(st, owned);
    return r;
}

static cp_result lite_query(void *h, const char *sql, const cp_param *p, int n, cp_dbrows **rows, cp_error *err)
{
    lite *l = h;
    bool owned;
    int rc;
    sqlite3_stmt *st = prepare(l, sql, &owned, &rc);
    if (!st) return fail(l, rc, "prepare", err);
    if ((rc = bind_all(st, p, n)) != SQLITE_OK) {
        finish(st, owned);
        return fail(l, rc, "bind", err);
    }
    lite_rows *r = calloc(1, sizeof *r);
    if (!r) {
        finish(st, owned);
        return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    }
    r->base.drv = &cp_db_sqlite_driver;
    r->st = st;
    r->l = l;
    r->owned = owned;
    *rows = &r->base;
    return CP_OK;
}

static cp_result lite_script(void *h, const char *sql, cp_error *err)
{
    lite *l = h;
    char *msg = NULL;
    int rc = sqlite3_exec(l->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        cp_error_set(err, CP_ERR, "migration", NULL, "SQL script failed: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return CP_ERR;
    }
    return CP_OK;
}

static bool lite_next(cp_dbrows *rows)
{
    lite_rows *r = (lite_rows *)rows;
    int rc = sqlite3_step(r->st);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(r->l, rc, "step", NULL);
    return false;
}

static bool lite_isnull(cp_dbrows *rows, int col)
{
    return sqlite3_column_type(((lite_rows *)rows)->st, col) == SQLITE_NULL;
}

static const char *lite_text(cp_dbrows *rows, int col)
{
    return (const char *)sqlite3_column_text(((lite_rows *)rows)->st, col);
}

static int64_t lite_int(cp_dbrows *rows, int col)
{
    return sqlite3_column_int64(((lite_rows *)rows)->st, col);
}

static double lite_real(cp_dbrows *rows, int col)
{
    return sqlite3_column_double(((lite_rows *)rows)->st, col);
}

static void lite_free_rows(cp_dbrows *rows)
{
    lite_rows *r = (lite_rows *)rows;
    finish(r->st, r->owned);
    free(r);
}

const cp_db_driver cp_db_sqlite_driver = {
    .connect = lite_connect,
    .disconnect = lite_disconnect,
    .exec = lite_exec,
    .query = lite_query,
    .script = lite_script,
    .next = lite_next,
    .isnull = lite_isnull,
    .text = lite_text,
    .integer = lite_int,
    .real = lite_real,
    .free_rows = lite_free_rows,
    .begin_read = "BEGIN",
    .begin_write = "BEGIN IMMEDIATE",
};
