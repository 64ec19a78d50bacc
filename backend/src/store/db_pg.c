/* db_pg.c: PostgreSQL driver over libpq. `?` placeholders become $n; each
 * statement is prepared once per connection (named by cache slot). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "store/db.h"

#define CACHE_SLOTS 512
#define MAX_PARAMS 32

typedef struct {
    PGconn *conn;
    const char *keys[CACHE_SLOTS];
} pg;

typedef struct {
    cp_dbrows base;
    PGresult *res;
    int row, nrows;
} pg_rows;

static cp_result fail_res(pg *c, PGresult *res, const char *what, cp_error *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (state && !strcmp(state, "23505")) return cp_error_set(err, CP_ECONFLICT, "conflict", NULL, "already exists");
    if (state && !strcmp(state, "57014")) /* statement_timeout: the query ran past cp_db_set_statement_timeout */
        return cp_error_set(err, CP_EAGAIN, "unavailable", NULL, "the database took too long, try again");
    if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01") || !strcmp(state, "55P03")))
        return cp_error_set(err, CP_EAGAIN, "unavailable", NULL, "database is busy, try again");
    bool broken = PQstatus(c->conn) != CONNECTION_OK;
    cp_log(CP_LOG_ERROR, "postgres error",
           json_pack("{s:s, s:s, s:s}", "op", what, "sqlstate", state ? state : "", "detail",
                     res ? PQresultErrorMessage(res) : PQerrorMessage(c->conn)));
    if (broken) return cp_error_set(err, CP_EAGAIN, "unavailable", NULL, "database connection lost, try again");
    return cp_error_set(err, CP_ERR, "internal", NULL, "database error");
}

static cp_result pg_connect(const char *url, void **handle, cp_error *err)
{
    PGconn *conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) {
        /* libpq's message can echo the URL's password; keep only the first line, which does not. */
        char msg[200];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
        char *nl = strchr(msg, '\n');
        if (nl) *nl = '\0';
        PQfinish(conn);
        return cp_error_set(err, CP_EAGAIN, "db_open", NULL, "cannot connect to PostgreSQL: %s", msg);
    }
    /* OLTP only: JIT compiles for hundreds of ms to save a few on big scans
     * (the projects list paid ~320 ms a call), and custom plans are cheap to
     * make; no statement here is big enough to earn either back. */
    PGresult *set = PQexec(conn, "SET client_min_messages TO warning; SET jit = off");
    bool set_ok = PQresultStatus(set) == PGRES_COMMAND_OK;
    PQclear(set);
    if (!set_ok) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
        PQfinish(conn);
        return cp_error_set(err, CP_EAGAIN, "db_open", NULL, "cannot configure the PostgreSQL session: %s", msg);
    }
    pg *c = calloc(1, sizeof *c);
    if (!c) {
        PQfinish(conn);
        return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    }
    c->conn = conn;
    *handle = c;
    return CP_OK;
}

static void pg_disconnect(void *h)
{
    pg *c = h;
    PQfinish(c->conn);
    free(c);
}

/* `?` -> `$n`, skipping quoted literals. */
static char *number_params(const char *sql)
{
    cp_buf b;
    cp_buf_init(&b, 1 << 20);
    int n = 0;
    char q = 0;
    for (const char *p = sql; *p; p++) {
        if (q) {
            if (*p == q) q = 0;
            cp_buf_add(&b, p, 1);
        } else if (*p == '\'' || *p == '"') {
            q = *p;
            cp_buf_add(&b, p, 1);
        } else if (*p == '?') {
            cp_buf_printf(&b, "$%d", ++n);
        } else {
            cp_buf_add(&b, p, 1);
        }
    }
    return cp_buf_steal(&b, NULL);
}

/* Returns the statement name for sql, preparing it on first use; NULL with
 * *res set on failure. Statements that do not fit the cache run unnamed. */
static const char *prepare(pg *c, const char *sql, char name[16], PGresult **res)
{
    uintptr_t k = (uintptr_t)sql;
    size_t slot = (size_t)((k >> 4) ^ (k >> 12)) & (CACHE_SLOTS - 1);
    for (size_t probe = 0; probe < CACHE_SLOTS; probe++) {
        size_t i = (slot + probe) & (CACHE_SLOTS - 1);
        snprintf(name, 16, "s%zu", i);
        if (c->keys[i] == sql) return name;
        if (!c->keys[i]) {
            char *text = number_params(sql);
            *res = PQprepare(c->conn, name, text, 0, NULL);
            free(text);
            if (PQresultStatus(*res) != PGRES_COMMAND_OK) return NULL;
            PQclear(*res);
            *res = NULL;
            c->keys[i] = sql;
            return name;
        }
    }
    *res = NULL;
    return "";
}

static PGresult *run(pg *c, const char *sql, const cp_param *p, int n, cp_error *err, cp_result *r)
{
    if (n > MAX_PARAMS) {
        *r = cp_error_set(err, CP_ERR, NULL, NULL, "too many parameters");
        return NULL;
    }
    char name[16];
    PGresult *res = NULL;
    const char *stmt = prepare(c, sql, name, &res);
    if (!stmt) {
        *r = fail_res(c, res, "prepare", err);
        PQclear(res);
        return NULL;
    }
    const char *vals[MAX_PARAMS];
    char tmp[MAX_PARAMS][32];
    for (int i = 0; i < n; i++) {
        switch (p[i].t) {
        case CP_P_TEXT:
            vals[i] = p[i].s;
            break;
        case CP_P_INT:
            snprintf(tmp[i], sizeof tmp[i], "%lld", (long long)p[i].i);
            vals[i] = tmp[i];
            break;
        case CP_P_REAL:
            snprintf(tmp[i], sizeof tmp[i], "%.17g", p[i].d);
            vals[i] = tmp[i];
            break;
        default:
            vals[i] = NULL;
            break;
        }
    }
    if (*stmt) {
        res = PQexecPrepared(c->conn, stmt, n, vals, NULL, NULL, 0);
    } else {
        char *text = number_params(sql);
        res = PQexecParams(c->conn, text, n, NULL, vals, NULL, NULL, 0);
        free(text);
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        *r = fail_res(c, res, "exec", err);
        PQclear(res);
        return NULL;
    }
    *r = CP_OK;
    return res;
}

static cp_result pg_exec(void *h, const char *sql, const cp_param *p, int n, int64_t *changes, cp_error *err)
{
    cp_result r;
    PGresult *res = run(h, sql, p, n, err, &r);
    if (!res) return r;
    if (changes) {
        const char *t = PQcmdTuples(res);
        *changes = (t && *t) ? strtoll(t, NULL, 10) : 0;
    }
    PQclear(res);
    return CP_OK;
}

static cp_result pg_query(void *h, const char *sql, const cp_param *p, int n, cp_dbrows **rows, cp_error *err)
{
    cp_result r;
    PGresult *res = run(h, sql, p, n, err, &r);
    if (!res) return r;
    pg_rows *pr = calloc(1, sizeof *pr);
    if (!pr) {
        PQclear(res);
        return cp_error_set(err, CP_ERR, NULL, NULL, "out of memory");
    }
    pr->base.drv = &cp_db_pg_driver;
    pr->res = res;
    pr->row = -1;
    pr->nrows = PQntuples(res);
    *rows = &pr->base;
    return CP_OK;
}

static cp_result pg_set_timeout(void *h, int ms, cp_error *err)
{
    char v[24];
    snprintf(v, sizeof v, "%d", ms < 0 ? 0 : ms);
    cp_param p[] = {CP_PTEXT(v)};
    return pg_exec(h, "SELECT set_config('statement_timeout', ?, false)", p, 1, NULL, err);
}

static cp_result pg_script(void *h, const char *sql, cp_error *err)
{
    pg *c = h;
    PGresult *res = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    cp_result r = CP_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        r = cp_error_set(err, CP_ERR, "migration", NULL, "SQL script failed: %s", PQresultErrorMessage(res));
    PQclear(res);
    return r;
}

static bool pg_next(cp_dbrows *rows)
{
    pg_rows *r = (pg_rows *)rows;
    return ++r->row < r->nrows;
}

static bool pg_isnull(cp_dbrows *rows, int col)
{
    pg_rows *r = (pg_rows *)rows;
    return PQgetisnull(r->res, r->row, col);
}

static const char *pg_text(cp_dbrows *rows, int col)
{
    pg_rows *r = (pg_rows *)rows;
    return PQgetisnull(r->res, r->row, col) ? NULL : PQgetvalue(r->res, r->row, col);
}

static int64_t pg_int(cp_dbrows *rows, int col)
{
    const char *s = pg_text(rows, col);
    if (!s) return 0;
    if (!strcmp(s, "t")) return 1;
    if (!strcmp(s, "f")) return 0;
    return strtoll(s, NULL, 10);
}

static double pg_real(cp_dbrows *rows, int col)
{
    const char *s = pg_text(rows, col);
    return s ? strtod(s, NULL) : 0.0;
}

static void pg_free_rows(cp_dbrows *rows)
{
    pg_rows *r = (pg_rows *)rows;
    PQclear(r->res);
    free(r);
}

const cp_db_driver cp_db_pg_driver = {
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .query = pg_query,
    .script = pg_script,
    .set_timeout = pg_set_timeout,
    .next = pg_next,
    .isnull = pg_isnull,
    .text = pg_text,
    .integer = pg_int,
    .real = pg_real,
    .free_rows = pg_free_rows,
    .begin_read = "BEGIN",
    .begin_write = "BEGIN",
};
