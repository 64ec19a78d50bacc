/* Expiry in the store (store/store_expiry.c): the sweep queues each expiry
 * destroy once, even with sweeps racing (SQLite and PostgreSQL), an
 * unfinished run postpones it, reminders are sent once per expires_at, and
 * approval of an expiry destroy follows the project's expiry_auto_approve. */
#include <sodium.h>
#include <stdlib.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_expiry.h"

#define HOUR_MS (3600LL * 1000)

static cp_store *st;
static const char *backend_name;
static int fixtures;

typedef struct {
    tsu_fixture f;
    char *member_id; /* a second member of the project */
} fixture;

static void fixture_new(cp_arena *a, fixture *fx)
{
    cp_error e;
    cp_user u, m;
    cp_project p;
    CHECK_EQ(cp_store_user_create(st, a, cp_arena_printf(a, "x%d-%s@example.com", ++fixtures, backend_name), "U", "h",
                                  &u, &e),
             CP_OK);
    CHECK_EQ(
        cp_store_user_create(st, a, cp_arena_printf(a, "y%d-%s@example.com", fixtures, backend_name), "M", "h", &m, &e),
        CP_OK);
    CHECK_EQ(cp_store_project_create(st, a, u.id, "p", false, NULL, &p, &e), CP_OK);
    cp_member mem;
    CHECK_EQ(cp_store_member_add(st, a, p.id, m.email, CP_ROLE_VIEWER, &mem, &e), CP_OK);
    fx->f = (tsu_fixture){u.id, p.id, tsu_account_new(st, a, p.id)};
    fx->member_id = m.id;
}

static void sql(const char *text, const char *id)
{
    cp_error e;
    cp_param p[] = {CP_PTEXT(id)};
    cp_dbconn *c = cp_db_acquire(cp_store_db(st));
    CHECK_EQ(cp_db_exec(c, text, p, id ? 1 : 0, NULL, &e), CP_OK);
    cp_db_release(cp_store_db(st), c);
}

/* Ends the resource's runs as succeeded and makes it active. */
static void settle(const char *resource_id)
{
    sql("UPDATE runs SET status = 'succeeded', finished_at = 1 WHERE resource_id = ?", resource_id);
    sql("UPDATE resources SET status = 'active' WHERE id = ?", resource_id);
}

/* An active resource in fx's project expiring at expires_at; its id in a. */
static char *resource_new(cp_arena *a, const fixture *fx, int64_t expires_at, bool settled)
{
    char *id = cp_arena_alloc(a, CP_ID_LEN + 1);
    cp_id_new(id);
    cp_resource in = {.id = id,
                      .project_id = fx->f.project_id,
                      .account_id = fx->f.account_id,
                      .cloud = "sandbox",
                      .kind = "vm",
                      .name = "vm",
                      .region = "local",
                      .size = "small",
                      .config = "{}",
                      .created_by = fx->f.user_id,
                      .expires_at = expires_at};
    cp_resource res;
    cp_run run;
    cp_error e;
    CHECK_EQ(cp_store_resource_create(st, a, &in, "{}", &res, &run, &e), CP_OK);
    CHECK_EQ(res.expires_at, expires_at);
    if (settled) settle(id);
    return id;
}

/* Expiry destroys of one resource (source expiry). */
static int expiry_destroys(cp_arena *a, const char *resource_id)
{
    cp_run *runs;
    size_t n;
    char *next;
    cp_error e;
    CHECK_EQ(cp_store_runs_list(st, a, resource_id, 50, NULL, &runs, &n, &next, &e), CP_OK);
    int k = 0;
    for (size_t i = 0; i < n; i++) k += runs[i].operation == CP_OP_DESTROY && !strcmp(runs[i].source, CP_SOURCE_EXPIRY);
    return k;
}

/* Notifications of kind about resource_id that user_id has. */
static int notes(cp_arena *a, const char *user_id, const char *resource_id, const char *kind)
{
    cp_notification *items;
    char *next_page;
    size_t n;
    int64_t unread;
    cp_error e;
    CHECK_EQ(cp_store_notifications_list(st, a, user_id, 200, NULL, &items, &n, &next_page, &unread, &e), CP_OK);
    int k = 0;
    for (size_t i = 0; i < n; i++) k += !strcmp(items[i].resource_id, resource_id) && !strcmp(items[i].kind, kind);
    return k;
}

/* ---- racing sweeps ---- */

#define RESOURCES 24
#define SWEEPERS 4

/* Small batches, several times each: the sweeps interleave. ctx: the
 * number queued by each thread. */
static cp_result sweep_some(tsu_race *r, int i, cp_arena *a)
{
    int *queued = r->ctx;
    for (int k = 0; k < 8; k++) {
        char **ids;
        size_t n;
        cp_error e;
        cp_result res = cp_store_expiry_sweep(st, a, cp_now_ms(), 5, &ids, &n, &e);
        if (res != CP_OK) {
            fprintf(stderr, "  sweep: %s\n", e.message);
            return res;
        }
        queued[i] += (int)n;
    }
    return CP_OK;
}

TEST(racing_sweeps_queue_each_destroy_once)
{
    cp_arena *a = cp_arena_new(8192);
    fixture fx;
    fixture_new(a, &fx);
    char *ids[RESOURCES];
    int64_t past = cp_now_ms() - 1000;
    for (int i = 0; i < RESOURCES; i++) ids[i] = resource_new(a, &fx, past, true);
    tsu_race race;
    int each[SWEEPERS] = {0};
    CHECK_EQ(tsu_race_run(&race, SWEEPERS, sweep_some, each), SWEEPERS);
    int queued = 0;
    for (int i = 0; i < SWEEPERS; i++) queued += each[i];
    /* A row another sweep held was skipped, not waited for: it is due at the
     * next sweep. Drain what is left on one thread. */
    int raced = queued;
    for (int i = 0; i < RESOURCES; i++) {
        char **more;
        size_t n;
        cp_error e;
        CHECK_EQ(cp_store_expiry_sweep(st, a, cp_now_ms(), 5, &more, &n, &e), CP_OK);
        if (n == 0) break;
        queued += (int)n;
    }
    int wrong = 0;
    for (int i = 0; i < RESOURCES; i++) {
        if (expiry_destroys(a, ids[i]) != 1) wrong++;
        CHECK_EQ(notes(a, fx.f.user_id, ids[i], CP_NOTE_EXPIRED), 1);
        CHECK_EQ(notes(a, fx.member_id, ids[i], CP_NOTE_EXPIRED), 1);
    }
    printf("# %s: %d racing sweepers queued %d expiry destroys, %d in all, of %d resources; %d resource(s) wrong\n",
           backend_name, SWEEPERS, raced, queued, RESOURCES, wrong);
    CHECK_EQ(queued, RESOURCES);
    CHECK_EQ(wrong, 0);
    /* The destroys are unfinished now; once they fail, nothing is queued again for the same expires_at. */
    for (int i = 0; i < RESOURCES; i++)
        sql("UPDATE runs SET status = 'failed', finished_at = 1 WHERE resource_id = ?", ids[i]);
    char **more;
    size_t n;
    cp_error e;
    CHECK_EQ(cp_store_expiry_sweep(st, a, cp_now_ms(), 100, &more, &n, &e), CP_OK);
    CHECK_EQ(n, 0);
    cp_arena_free(a);
}

TEST(unfinished_run_postpones)
{
    cp_arena *a = cp_arena_new(8192);
    fixture fx;
    fixture_new(a, &fx);
    char *id = resource_new(a, &fx, cp_now_ms() - 1000, false); /* its create run is still queued */
    char **ids;
    size_t n;
    cp_error e;
    CHECK_EQ(cp_store_expiry_sweep(st, a, cp_now_ms(), 100, &ids, &n, &e), CP_OK);
    CHECK_EQ(expiry_destroys(a, id), 0);
    settle(id);
    CHECK_EQ(cp_store_expiry_sweep(st, a, cp_now_ms(), 100, &ids, &n, &e), CP_OK);
    CHECK_EQ(expiry_destroys(a, id), 1);
    /* A user's destroy after it is refused: one destroy at a time. */
    cp_run run;
    CHECK_EQ(cp_store_run_enqueue(st, a, id, CP_OP_DESTROY, "{}", 0, fx.f.user_id, &run, &e), CP_ECONFLICT);
    cp_arena_free(a);
}

TEST(reminders_once_per_expires_at)
{
    cp_arena *a = cp_arena_new(8192);
    fixture fx;
    fixture_new(a, &fx);
    int64_t now = cp_now_ms(), exp = now + HOUR_MS / 2;
    char *soon = resource_new(a, &fx, exp, true);
    char *later = resource_new(a, &fx, now + 3 * HOUR_MS, true);
    char *far = resource_new(a, &fx, now + 48 * HOUR_MS, true);
    char **ids;
    size_t n;
    cp_error e;
    for (int i = 0; i < 3; i++) CHECK_EQ(cp_store_expiry_sweep(st, a, cp_now_ms(), 100, &ids, &n, &e), CP_OK);
    CHECK_EQ(notes(a, fx.f.user_id, soon, CP_NOTE_EXPIRING_1H), 1);
    CHECK_EQ(notes(a, fx.member_id, soon, CP_NOTE_EXPIRING_1H), 1);
    CHECK_EQ(notes(a, fx.f.user_id, soon, CP_NOTE_EXPIRING_24H), 0); /* the nearer one only */
    CHECK_EQ(notes(a, fx.f.user_id, later, CP_NOTE_EXPIRING_24H), 1);
    CHECK_EQ(notes(a, fx.f.user_id, later, CP_NOTE_EXPIRING_1H), 0);
    CHECK_EQ(notes(a, fx.f.user_id, far, CP_NOTE_EXPIRING_24H), 0);
    /* Extended: a new expires_at is due its own reminders. */
    CHECK_EQ(cp_store_resource_expiry_move(st, soon, exp, exp + 2 * HOUR_MS, &e), CP_OK);
    CHECK_EQ(cp_store_resource_expiry_move(st, soon, exp, exp + 3 * HOUR_MS, &e), CP_ECONFLICT); /* moved already */
    CHECK_EQ(cp_store_expiry_sweep(st, a, cp_now_ms(), 100, &ids, &n, &e), CP_OK);
    CHECK_EQ(notes(a, fx.f.user_id, soon, CP_NOTE_EXPIRING_24H), 1);
    CHECK_EQ(notes(a, fx.f.user_id, soon, CP_NOTE_EXPIRING_1H), 1);
    /* Read: once, and only by its user. */
    cp_notification *items;
    char *next_page;
    int64_t unread_before, unread_after;
    CHECK_EQ(cp_store_notifications_list(st, a, fx.f.user_id, 50, NULL, &items, &n, &next_page, &unread_before, &e),
             CP_OK);
    CHECK(n >= 3);
    CHECK_EQ(cp_store_notification_read(st, fx.member_id, items[0].id, cp_now_ms(), &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_notification_read(st, fx.f.user_id, items[0].id, cp_now_ms(), &e), CP_OK);
    CHECK_EQ(cp_store_notification_read(st, fx.f.user_id, items[0].id, cp_now_ms(), &e), CP_OK);
    CHECK_EQ(cp_store_notifications_list(st, a, fx.f.user_id, 50, NULL, &items, &n, &next_page, &unread_after, &e),
             CP_OK);
    CHECK_EQ(unread_after, unread_before - 1);
    cp_arena_free(a);
}

TEST(expiry_destroy_approval_follows_auto_approve)
{
    cp_arena *a = cp_arena_new(8192);
    fixture fx;
    fixture_new(a, &fx);
    cp_run run = {.project_id = fx.f.project_id, .source = CP_SOURCE_EXPIRY};
    cp_run user_run = {.project_id = fx.f.project_id, .source = CP_SOURCE_USER};
    CHECK(cp_store_run_requires_approval(st, &run)); /* though the project requires none */
    CHECK(!cp_store_run_requires_approval(st, &user_run));
    bool yes = true;
    int64_t day = 86400, week = 7 * 86400;
    cp_expiry_settings x = {.default_ttl_set = true,
                            .max_ttl_set = true,
                            .default_ttl_seconds = &day,
                            .max_ttl_seconds = &week,
                            .auto_approve = &yes};
    cp_error e;
    CHECK_EQ(cp_store_project_expiry_set(st, fx.f.project_id, &x, &e), CP_OK);
    CHECK(!cp_store_run_requires_approval(st, &run));
    cp_project p;
    CHECK_EQ(cp_store_project_get(st, a, fx.f.project_id, fx.f.user_id, &p, &e), CP_OK);
    CHECK_EQ(p.default_ttl_seconds, day);
    CHECK_EQ(p.max_ttl_seconds, week);
    CHECK(p.expiry_auto_approve);
    cp_expiry_settings clear = {.default_ttl_set = true};
    CHECK_EQ(cp_store_project_expiry_set(st, fx.f.project_id, &clear, &e), CP_OK);
    CHECK_EQ(cp_store_project_get(st, a, fx.f.project_id, fx.f.user_id, &p, &e), CP_OK);
    CHECK_EQ(p.default_ttl_seconds, 0);
    CHECK_EQ(p.max_ttl_seconds, week);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(racing_sweeps_queue_each_destroy_once),
        T_CASE(unfinished_run_postpones),
        T_CASE(reminders_once_per_expires_at),
        T_CASE(expiry_destroy_approval_follows_auto_approve),
    };
    return tsu_main(&(tsu_suite){"store-expiry", SWEEPERS + 2, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
