/* db.h: the SQL driver layer under the store. One connection pool, two
 * drivers (SQLite, PostgreSQL). Queries are written once with `?`
 * placeholders; the PostgreSQL driver numbers them. Statements are prepared
 * once per connection and cached by their SQL text pointer, so SQL passed here
 * must be a string literal (static storage). */
#ifndef CP_DB_H
#define CP_DB_H

#include "core/arena.h"
#include "core/error.h"

typedef struct cp_db cp_db;
typedef struct cp_dbconn cp_dbconn;
typedef struct cp_dbrows cp_dbrows;

typedef enum { CP_DB_SQLITE, CP_DB_PG } cp_db_kind;

typedef enum { CP_P_NULL, CP_P_TEXT, CP_P_INT, CP_P_REAL } cp_param_type;
typedef struct {
    cp_param_type t;
    const char *s;
    int64_t i;
    double d;
} cp_param;

static inline cp_param cp_ptext(const char *s)
{
    return (cp_param){.t = s ? CP_P_TEXT : CP_P_NULL, .s = s};
}
#define CP_PTEXT(x) cp_ptext(x)
#define CP_PINT(x) ((cp_param){.t = CP_P_INT, .i = (int64_t)(x)})
#define CP_PREAL(x) ((cp_param){.t = CP_P_REAL, .d = (x)})
#define CP_PNULL ((cp_param){.t = CP_P_NULL})

/* url: "postgres://..." / "postgresql://..." selects PostgreSQL, anything else
 * is a SQLite file path. pool_size connections are opened lazily. */
cp_result cp_db_open(const char *url, int pool_size, cp_db **out, cp_error *err) CP_MUST_CHECK;
void cp_db_close(cp_db *db);
cp_db_kind cp_db_kind_of(cp_db *db);
cp_db_kind cp_dbconn_kind(cp_dbconn *c);

/* Longest a statement may run, in ms (0 = no limit), on every connection of
 * the pool from its next use on; a statement cut short fails with CP_EAGAIN.
 * PostgreSQL only (statement_timeout); SQLite statements are not cut.
 * Migration scripts (cp_db_exec_script) always run without a limit. */
void cp_db_set_statement_timeout(cp_db *db, int ms);

/* Blocks until a connection is free. Never returns NULL; errors surface on use. */
cp_dbconn *cp_db_acquire(cp_db *db);
void cp_db_release(cp_db *db, cp_dbconn *c);

/* Runs a statement; *changes (may be NULL) gets the affected row count.
 * Unique violations map to CP_ECONFLICT, a busy/locked database to CP_EAGAIN. */
cp_result cp_db_exec(cp_dbconn *c, const char *sql, const cp_param *p, int n, int64_t *changes,
                     cp_error *err) CP_MUST_CHECK;
/* Runs a query; rows are read with cp_dbrows_next and freed with cp_dbrows_free. */
cp_result cp_db_query(cp_dbconn *c, const char *sql, const cp_param *p, int n, cp_dbrows **rows,
                      cp_error *err) CP_MUST_CHECK;
/* Runs a script of several statements without parameters (migrations). */
cp_result cp_db_exec_script(cp_dbconn *c, const char *sql, cp_error *err) CP_MUST_CHECK;

bool cp_dbrows_next(cp_dbrows *r);
bool cp_dbrows_isnull(cp_dbrows *r, int col);
/* Valid until the next cp_dbrows_next/free; NULL for SQL NULL. */
const char *cp_dbrows_text(cp_dbrows *r, int col);
int64_t cp_dbrows_int(cp_dbrows *r, int col);
double cp_dbrows_real(cp_dbrows *r, int col);
void cp_dbrows_free(cp_dbrows *r);
/* Copies the text column into the arena (NULL stays NULL). */
char *cp_dbrows_dup(cp_dbrows *r, int col, cp_arena *a);

/* Transactions. begin_write takes the write lock up front (SQLite BEGIN IMMEDIATE). */
cp_result cp_db_begin(cp_dbconn *c, bool write, cp_error *err) CP_MUST_CHECK;
cp_result cp_db_commit(cp_dbconn *c, cp_error *err) CP_MUST_CHECK;
void cp_db_rollback(cp_dbconn *c);

/* Statements sent to a database by this process since start (every pool,
 * every driver; BEGIN/COMMIT/ROLLBACK and scripts count one each). Read by
 * /metrics as cloudplane_db_statements_total, so tests and benches can see
 * that idle streams cost no queries. */
uint64_t cp_db_statements_total(void);
/* The same, of the calling thread only (the scheduler's cost per sweep). */
uint64_t cp_db_statements_thread(void);

/* Driver vtable, implemented by db_sqlite.c and db_pg.c. */
typedef struct {
    cp_result (*connect)(const char *url, void **handle, cp_error *err);
    void (*disconnect)(void *handle);
    cp_result (*exec)(void *h, const char *sql, const cp_param *p, int n, int64_t *changes, cp_error *err);
    cp_result (*query)(void *h, const char *sql, const cp_param *p, int n, cp_dbrows **rows, cp_error *err);
    cp_result (*script)(void *h, const char *sql, cp_error *err);
    cp_result (*set_timeout)(void *h, int ms, cp_error *err); /* NULL: statements are not cut */
    bool (*next)(cp_dbrows *r);
    bool (*isnull)(cp_dbrows *r, int col);
    const char *(*text)(cp_dbrows *r, int col);
    int64_t (*integer)(cp_dbrows *r, int col);
    double (*real)(cp_dbrows *r, int col);
    void (*free_rows)(cp_dbrows *r);
    const char *begin_read, *begin_write;
} cp_db_driver;

extern const cp_db_driver cp_db_sqlite_driver;
extern const cp_db_driver cp_db_pg_driver;

/* Every driver's rows struct starts with this header. */
struct cp_dbrows {
    const cp_db_driver *drv;
};

#endif
