#include "store/db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Relaxed: a count, not a synchronisation point. */
static _Atomic uint64_t statements;
static _Thread_local uint64_t thread_statements;

static void count_statement(void)
{
    atomic_fetch_add_explicit(&statements, 1, memory_order_relaxed);
    thread_statements++;
}

uint64_t cp_db_statements_thread(void)
{
    return thread_statements;
}

uint64_t cp_db_statements_total(void)
{
    return atomic_load_explicit(&statements, memory_order_relaxed);
}

struct cp_dbconn {
    void *h; /* driver handle; NULL until first use */
    cp_dbconn *next_free;
    cp_db *db;
    int timeout_ms; /* statement timeout the session has; -1 = unknown */
};

struct cp_db {
    const cp_db_driver *drv;
    cp_db_kind kind;
    char *url;
    int size;
    int timeout_ms; /* wanted statement timeout; 0 = none */
    cp_dbconn *conns;
    cp_dbconn *free_list;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

cp_result cp_db_open(const char *url, int pool_size, cp_db **out, cp_error *err)
{
    if (pool_size < 1) pool_size = 1;
    cp_db *db = calloc(1, sizeof *db);
    if (!db) return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    bool pg = !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13);
    db->drv = pg ? &cp_db_pg_driver : &cp_db_sqlite_driver;
    db->kind = pg ? CP_DB_PG : CP_DB_SQLITE;
    db->url = strdup(url);
    db->size = pool_size;
    db->conns = calloc((size_t)pool_size, sizeof *db->conns);
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    for (int i = 0; i < pool_size; i++) {
        db->conns[i].db = db;
        db->conns[i].timeout_ms = -1;
        db->conns[i].next_free = db->free_list;
        db->free_list = &db->conns[i];
    }
    /* Open one connection now so a bad URL fails at start-up, not on first request. */
    cp_dbconn *c = db->free_list;
    cp_result r = db->drv->connect(db->url, &c->h, err);
    if (r != CP_OK) {
        cp_db_close(db);
        return r;
    }
    *out = db;
    return CP_OK;
}

void cp_db_close(cp_db *db)
{
    if (!db) return;
    for (int i = 0; i < db->size; i++)
        if (db->conns[i].h) db->drv->disconnect(db->conns[i].h);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    free(db->conns);
    free(db->url);
    free(db);
}

cp_db_kind cp_db_kind_of(cp_db *db)
{
    return db->kind;
}

cp_db_kind cp_dbconn_kind(cp_dbconn *c)
{
    return c->db->kind;
}

cp_dbconn *cp_db_acquire(cp_db *db)
{
    pthread_mutex_lock(&db->mu);
    while (!db->free_list) pthread_cond_wait(&db->cv, &db->mu);
    cp_dbconn *c = db->free_list;
    db->free_list = c->next_free;
    pthread_mutex_unlock(&db->mu);
    return c;
}

void cp_db_release(cp_db *db, cp_dbconn *c)
{
    pthread_mutex_lock(&db->mu);
    c->next_free = db->free_list;
    db->free_list = c;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

/* Connects lazily; a connection the driver reports broken is dropped so the
 * next use reconnects (PostgreSQL restarts, network blips). */
static cp_result ensure(cp_dbconn *c, cp_error *err)
{
    cp_result r = CP_OK;
    if (!c->h) {
        c->timeout_ms = -1;
        r = c->db->drv->connect(c->db->url, &c->h, err);
    }
    int want = __atomic_load_n(&c->db->timeout_ms, __ATOMIC_RELAXED);
    if (r == CP_OK && c->timeout_ms != want && c->db->drv->set_timeout) {
        if ((r = c->db->drv->set_timeout(c->h, want, err)) == CP_OK) c->timeout_ms = want;
    }
    return r;
}

void cp_db_set_statement_timeout(cp_db *db, int ms)
{
    __atomic_store_n(&db->timeout_ms, ms < 0 ? 0 : ms, __ATOMIC_RELAXED);
}

static void drop_if_broken(cp_dbconn *c, cp_result r)
{
    if (r == CP_EAGAIN && c->db->kind == CP_DB_PG && c->h) {
        c->db->drv->disconnect(c->h);
        c->h = NULL;
    }
}

cp_result cp_db_exec(cp_dbconn *c, const char *sql, const cp_param *p, int n, int64_t *changes, cp_error *err)
{
    cp_result r = ensure(c, err);
    if (r == CP_OK) {
        count_statement();
        r = c->db->drv->exec(c->h, sql, p, n, changes, err);
    }
    drop_if_broken(c, r);
    return r;
}

cp_result cp_db_query(cp_dbconn *c, const char *sql, const cp_param *p, int n, cp_dbrows **rows, cp_error *err)
{
    *rows = NULL;
    cp_result r = ensure(c, err);
    if (r == CP_OK) {
        count_statement();
        r = c->db->drv->query(c->h, sql, p, n, rows, err);
    }
    drop_if_broken(c, r);
    return r;
}

cp_result cp_db_exec_script(cp_dbconn *c, const char *sql, cp_error *err)
{
    cp_result r = ensure(c, err);
    /* Migrations may rewrite big tables: no statement timeout while they run. */
    if (r == CP_OK && c->db->drv->set_timeout && c->timeout_ms != 0) {
        if ((r = c->db->drv->set_timeout(c->h, 0, err)) == CP_OK) c->timeout_ms = 0;
    }
    if (r == CP_OK) {
        count_statement();
        r = c->db->drv->script(c->h, sql, err);
    }
    return r;
}

bool cp_dbrows_next(cp_dbrows *r)
{
    return r->drv->next(r);
}
bool cp_dbrows_isnull(cp_dbrows *r, int col)
{
    return r->drv->isnull(r, col);
}
const char *cp_dbrows_text(cp_dbrows *r, int col)
{
    return r->drv->text(r, col);
}
int64_t cp_dbrows_int(cp_dbrows *r, int col)
{
    return r->drv->integer(r, col);
}
double cp_dbrows_real(cp_dbrows *r, int col)
{
    return r->drv->real(r, col);
}

void cp_dbrows_free(cp_dbrows *r)
{
    if (r) r->drv->free_rows(r);
}

char *cp_dbrows_dup(cp_dbrows *r, int col, cp_arena *a)
{
    const char *s = cp_dbrows_text(r, col);
    return s ? cp_arena_strdup(a, s) : NULL;
}

cp_result cp_db_begin(cp_dbconn *c, bool write, cp_error *err)
{
    const cp_db_driver *d = c->db->drv;
    return cp_db_exec(c, write ? d->begin_write : d->begin_read, NULL, 0, NULL, err);
}

cp_result cp_db_commit(cp_dbconn *c, cp_error *err)
{
    return cp_db_exec(c, "COMMIT", NULL, 0, NULL, err);
}

void cp_db_rollback(cp_dbconn *c)
{
    if (!c->h) return;
    count_statement();
    c->db->drv->exec(c->h, "ROLLBACK", NULL, 0, NULL, NULL);
}
