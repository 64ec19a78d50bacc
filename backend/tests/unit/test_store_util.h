/* Shared by the store suites: each runs every case on SQLite (a fresh file)
 * and on PostgreSQL (CP_TEST_PG_URL, a clean schema), and records the
 * PostgreSQL cases as skipped when no server is configured. */
#ifndef CP_TEST_STORE_UTIL_H
#define CP_TEST_STORE_UTIL_H

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/ids.h"
#include "store/store.h"
#include "test.h"

/* A clean schema per run: drop everything the migrations created. */
static inline void tsu_reset_pg(const char *url)
{
    cp_db *db;
    cp_error e;
    if (cp_db_open(url, 1, &db, &e) != CP_OK) return;
    cp_dbconn *c = cp_db_acquire(db);
    if (cp_db_exec_script(c, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;", &e) != CP_OK)
        fprintf(stderr, "cannot reset the PostgreSQL schema: %s\n", e.message);
    cp_db_release(db, c);
    cp_db_close(db);
}

/* A sandbox account in project_id (the sealed fields are placeholders); its id, in a. */
static inline char *tsu_account_new(cp_store *s, cp_arena *a, const char *project_id)
{
    char *id = cp_arena_alloc(a, CP_ID_LEN + 1);
    cp_id_new(id);
    cp_account acc = {.id = id,
                      .project_id = (char *)project_id,
                      .cloud = "sandbox",
                      .name = "sb",
                      .hint = "",
                      .key_id = "k1",
                      .nonce = "n",
                      .ciphertext = "c",
                      .created_at = 1};
    cp_error e;
    CHECK_EQ(cp_store_account_create(s, &acc, &e), CP_OK);
    return id;
}

/* A user, their project and its sandbox account, made by each suite. */
typedef struct {
    char *user_id, *project_id, *account_id;
} tsu_fixture;

/* A sandbox VM in f's project costing cost a month, with its queued create
 * run (run may be NULL). */
static inline cp_result tsu_resource_new(cp_store *s, cp_arena *a, const tsu_fixture *f, double cost, cp_resource *res,
                                         cp_run *run, cp_error *e)
{
    char *id = cp_arena_alloc(a, CP_ID_LEN + 1);
    cp_id_new(id);
    cp_resource in = {.id = id,
                      .project_id = f->project_id,
                      .account_id = f->account_id,
                      .cloud = "sandbox",
                      .kind = "vm",
                      .name = "vm",
                      .region = "local",
                      .size = "small",
                      .config = "{}",
                      .monthly_cost_usd = cost,
                      .created_by = f->user_id};
    cp_run ignored;
    return cp_store_resource_create(s, a, &in, "{}", res, run ? run : &ignored, e);
}

/* A store suite: its cases, each run on a store of pool connections in *st,
 * first on SQLite (a fresh file), then on PostgreSQL (CP_TEST_PG_URL, a clean
 * schema; the cases are skipped without it). *backend (may be NULL) names the
 * backend being run, for fixtures that must differ between the two. */
typedef struct {
    const char *tag;
    int pool;
    cp_store **st;
    const char **backend;
    const t_case *cases;
    size_t n;
} tsu_suite;

/* One backend; url NULL skips every case for skip_reason. 1 if the store did not open. */
static inline int tsu_run_on(const tsu_suite *s, const char *name, const char *url, const char *skip_reason)
{
    cp_error e;
    if (s->backend) *s->backend = name;
    printf("# %s\n", name);
    if (url && cp_store_open(url, s->pool, true, s->st, &e) != CP_OK) {
        fprintf(stderr, "cannot open %s store: %s\n", name, e.message);
        return 1;
    }
    for (size_t i = 0; i < s->n; i++)
        if (url)
            t_run(s->cases[i].name, s->cases[i].fn);
        else
            t_skip(s->cases[i].name, skip_reason);
    if (url) cp_store_close(*s->st);
    return 0;
}

/* main() of a store suite: both backends, then the summary (TEST_END). */
static inline int tsu_main(const tsu_suite *s)
{
    if (sodium_init() < 0) return 1;
    char path[128];
    snprintf(path, sizeof path, "/tmp/cp-%s-test-XXXXXX", s->tag);
    if (!mkdtemp(path)) return 1;
    char db[192];
    snprintf(db, sizeof db, "%s/t.db", path);
    if (tsu_run_on(s, "sqlite", db, NULL)) t_failed++;
    const char *pg = getenv("CP_TEST_PG_URL");
    if (pg && !*pg) pg = NULL;
    if (pg) tsu_reset_pg(pg);
    if (tsu_run_on(s, "postgres", pg, "CP_TEST_PG_URL not set (make test starts PostgreSQL)")) t_failed++;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", path);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
    return t_end();
}

/* ---- races: n threads released together on one store call ---- */

#define TSU_MAX_THREADS 20

typedef struct tsu_race tsu_race;
typedef cp_result (*tsu_race_fn)(tsu_race *r, int i, cp_arena *a);

struct tsu_race {
    pthread_barrier_t go;
    tsu_race_fn fn;
    void *ctx;
    cp_result res[TSU_MAX_THREADS];
};

typedef struct {
    tsu_race *r;
    int i;
} tsu_race_arg;

static inline void *tsu_race_thread(void *p)
{
    tsu_race_arg *ra = p;
    cp_arena *a = cp_arena_new(8192);
    pthread_barrier_wait(&ra->r->go);
    ra->r->res[ra->i] = ra->r->fn(ra->r, ra->i, a);
    cp_arena_free(a);
    return NULL;
}

/* Runs fn(r, i, arena) on n threads released together; returns how many returned CP_OK. */
static inline int tsu_race_run(tsu_race *r, int n, tsu_race_fn fn, void *ctx)
{
    pthread_t th[TSU_MAX_THREADS];
    tsu_race_arg args[TSU_MAX_THREADS];
    r->fn = fn;
    r->ctx = ctx;
    pthread_barrier_init(&r->go, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        args[i] = (tsu_race_arg){r, i};
        if (pthread_create(&th[i], NULL, tsu_race_thread, &args[i]) != 0) abort();
    }
    int ok = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        if (r->res[i] == CP_OK) ok++;
    }
    pthread_barrier_destroy(&r->go);
    return ok;
}

#endif
