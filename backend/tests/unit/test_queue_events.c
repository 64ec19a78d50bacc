/* Events hub tests: in-process always; Redis pub/sub when CP_TEST_REDIS_URL is
 * set, including two handles standing in for two processes. Run ids are
 * random per run, so other users of the same server's channel do not count. */
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "queue/events.h"
#include "core/json.h"
#include "test.h"

static const char *url; /* "" = in-process */

typedef struct {
    pthread_mutex_t mu;
    const char *only; /* count only this run id (the all-runs subscriber) */
    int count;
    int events, cancels, users, projects;
    int64_t last_seq;
    char last_run[64];
} rec;

static void rec_init(rec *r, const char *only)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->only = only;
}

static void rec_cb(void *ctx, const char *run_id, cp_notice_kind kind, int64_t seq)
{
    rec *r = ctx;
    pthread_mutex_lock(&r->mu);
    if (!r->only || !strncmp(run_id, r->only, strlen(r->only))) {
        r->count++;
        if (kind == CP_NOTICE_EVENTS) r->events++;
        if (kind == CP_NOTICE_CANCEL) r->cancels++;
        if (kind == CP_NOTICE_ACCESS_USER) r->users++;
        if (kind == CP_NOTICE_ACCESS_PROJECT) r->projects++;
        r->last_seq = seq;
        snprintf(r->last_run, sizeof r->last_run, "%s", run_id);
    }
    pthread_mutex_unlock(&r->mu);
}

static int rec_count(rec *r)
{
    pthread_mutex_lock(&r->mu);
    int n = r->count;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Waits up to ms for r to reach n notices. */
static bool rec_wait(rec *r, int n, int ms)
{
    int64_t until = cp_mono_ms() + ms;
    while (rec_count(r) < n && cp_mono_ms() < until) usleep(10 * 1000);
    return rec_count(r) >= n;
}

static char prefix[16]; /* random per test run */

static void run_name(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "%s-%s", prefix, tag);
}

TEST(subscribe_publish_unsubscribe)
{
    cp_events *ev = NULL;
    cp_error e;
    CHECK_EQ(cp_events_open(url, &ev, &e), CP_OK);
    if (!ev) return;
    char a[64], b[64];
    run_name(a, sizeof a, "a");
    run_name(b, sizeof b, "b");
    rec ra, rall;
    rec_init(&ra, NULL);
    rec_init(&rall, prefix);
    cp_events_sub *sa = cp_events_subscribe(ev, a, rec_cb, &ra);
    cp_events_sub *sall = cp_events_subscribe(ev, NULL, rec_cb, &rall);
    CHECK(sa && sall);
    cp_events_publish(ev, a, CP_NOTICE_EVENTS, 5);
    cp_events_publish(ev, b, CP_NOTICE_CANCEL, 0);
    /* Same-process delivery is synchronous in both modes. */
    CHECK_EQ(rec_count(&ra), 1);
    CHECK_EQ(ra.events, 1);
    CHECK_EQ(ra.last_seq, 5);
    CHECK_STR(ra.last_run, a);
    CHECK_EQ(rec_count(&rall), 2);
    CHECK_EQ(rall.events, 1);
    CHECK_EQ(rall.cancels, 1);
    CHECK_STR(rall.last_run, b);

    cp_events_unsubscribe(ev, sa);
    cp_events_publish(ev, a, CP_NOTICE_EVENTS, 6);
    CHECK_EQ(rec_count(&ra), 1);
    CHECK_EQ(rec_count(&rall), 3);
    CHECK_EQ(rall.last_seq, 6);
    if (url[0]) {
        /* Our own notices come back over Redis; they must not be delivered twice. */
        usleep(300 * 1000);
        CHECK_EQ(rec_count(&rall), 3);
    }
    /* Malformed input is refused, not sent. */
    CHECK(cp_events_subscribe(ev, "has space", rec_cb, &ra) == NULL);
    cp_events_publish(ev, "has space", CP_NOTICE_EVENTS, 1);
    cp_events_publish(ev, "", CP_NOTICE_EVENTS, 1);
    CHECK_EQ(rec_count(&rall), 3);
    cp_events_unsubscribe(ev, sall);
    cp_events_close(ev);
}

/* Access notices name a user or project, not a run: every subscriber gets
 * them (each stream decides whether it is concerned), in every process. */
TEST(access_notices_reach_every_subscriber)
{
    cp_events *ev1 = NULL, *ev2 = NULL;
    cp_error e;
    CHECK_EQ(cp_events_open(url, &ev1, &e), CP_OK);
    CHECK_EQ(cp_events_open(url, &ev2, &e), CP_OK);
    if (!ev1 || !ev2) goto out;
    char run[64], user[64], project[64];
    run_name(run, sizeof run, "r");
    run_name(user, sizeof user, "u");
    run_name(project, sizeof project, "p");
    rec local, remote;
    rec_init(&local, prefix);
    rec_init(&remote, prefix);
    cp_events_sub *sl = cp_events_subscribe(ev1, run, rec_cb, &local);
    cp_events_sub *sr = cp_events_subscribe(ev2, run, rec_cb, &remote);
    cp_events_access_user(ev1, user);
    cp_events_access_project(ev1, project);
    CHECK_EQ(rec_count(&local), 2); /* same process: synchronous */
    CHECK_EQ(local.users, 1);
    CHECK_EQ(local.projects, 1);
    CHECK_STR(local.last_run, project);
    if (url[0]) {
        CHECK(rec_wait(&remote, 2, 5000));
        CHECK_EQ(remote.users, 1);
        CHECK_EQ(remote.projects, 1);
        usleep(200 * 1000);
        CHECK_EQ(rec_count(&local), 2); /* our own echo is dropped */
    } else {
        CHECK_EQ(rec_count(&remote), 0); /* two in-process hubs share nothing */
    }
    /* A resync is the hub's own: callers cannot publish one. */
    cp_events_publish(ev1, "*", CP_NOTICE_RESYNC, 0);
    CHECK_EQ(rec_count(&local), 2);
    cp_events_unsubscribe(ev1, sl);
    cp_events_unsubscribe(ev2, sr);
out:
    cp_events_close(ev1);
    cp_events_close(ev2);
}

typedef struct {
    cp_events *ev;
    const char *run;
    volatile int stop;
} pubber;

static void *pub_main(void *arg)
{
    pubber *p = arg;
    int64_t seq = 0;
    while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) cp_events_publish(p->ev, p->run, CP_NOTICE_EVENTS, ++seq);
    return NULL;
}

typedef struct {
    pthread_mutex_t mu;
    int calls;
    bool *freed; /* set once the owner released this; a later call is a bug */
    int late;
} slow;

static void slow_cb(void *ctx, const char *run_id, cp_notice_kind kind, int64_t seq)
{
    CP_UNUSED(run_id);
    CP_UNUSED(kind);
    CP_UNUSED(seq);
    slow *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    if (*s->freed) s->late++;
    pthread_mutex_unlock(&s->mu);
    usleep(200); /* widen the window in which unsubscribe must wait */
}

TEST(unsubscribe_waits_for_running_callbacks)
{
    cp_events *ev = NULL;
    cp_error e;
    CHECK_EQ(cp_events_open(url, &ev, &e), CP_OK);
    if (!ev) return;
    char run[64];
    run_name(run, sizeof run, "busy");
    pubber p[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        p[i] = (pubber){.ev = ev, .run = run};
        pthread_create(&th[i], NULL, pub_main, &p[i]);
    }
    bool freed_flags[50] = {false};
    int total_late = 0, total_calls = 0;
    for (int round = 0; round < 50; round++) {
        /* Heap context: if a call came after unsubscribe, ASan would see a use after free. */
        slow *s = calloc(1, sizeof *s);
        pthread_mutex_init(&s->mu, NULL);
        s->freed = &freed_flags[round];
        cp_events_sub *sub = cp_events_subscribe(ev, round % 2 ? run : NULL, slow_cb, s);
        usleep(2000);
        cp_events_unsubscribe(ev, sub);
        pthread_mutex_lock(&s->mu);
        freed_flags[round] = true;
        total_calls += s->calls;
        total_late += s->late;
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_destroy(&s->mu);
        free(s);
    }
    for (int i = 0; i < 3; i++) __atomic_store_n(&p[i].stop, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
    CHECK(total_calls > 0);
    CHECK_EQ(total_late, 0);
    cp_events_close(ev);
}

TEST(redis_two_processes_see_each_other)
{
    cp_events *ev1 = NULL, *ev2 = NULL;
    cp_error e;
    CHECK_EQ(cp_events_open(url, &ev1, &e), CP_OK);
    CHECK_EQ(cp_events_open(url, &ev2, &e), CP_OK);
    if (!ev1 || !ev2) {
        cp_events_close(ev1);
        cp_events_close(ev2);
        return;
    }
    char x[64], y[64];
    run_name(x, sizeof x, "x");
    run_name(y, sizeof y, "y");
    rec r1, r2, r2all;
    rec_init(&r1, NULL);
    rec_init(&r2, NULL);
    rec_init(&r2all, prefix);
    cp_events_sub *s1 = cp_events_subscribe(ev1, y, rec_cb, &r1);
    cp_events_sub *s2 = cp_events_subscribe(ev2, x, rec_cb, &r2);
    cp_events_sub *s2all = cp_events_subscribe(ev2, NULL, rec_cb, &r2all);

    cp_events_publish(ev1, x, CP_NOTICE_EVENTS, 7);
    CHECK(rec_wait(&r2, 1, 5000));
    CHECK_EQ(r2.last_seq, 7);
    CHECK_EQ(r2.events, 1);
    CHECK_STR(r2.last_run, x);
    cp_events_publish(ev2, y, CP_NOTICE_CANCEL, 0);
    CHECK(rec_wait(&r1, 1, 5000));
    CHECK_EQ(r1.cancels, 1);
    CHECK_STR(r1.last_run, y);
    /* ev2's all-runs subscriber saw x (remote) and y (local), once each. */
    CHECK(rec_wait(&r2all, 2, 5000));
    usleep(300 * 1000);
    CHECK_EQ(rec_count(&r2all), 2);
    CHECK_EQ(rec_count(&r1), 1);
    CHECK_EQ(rec_count(&r2), 1);

    /* Order within one publisher is kept. */
    for (int i = 1; i <= 100; i++) cp_events_publish(ev1, x, CP_NOTICE_EVENTS, 100 + i);
    CHECK(rec_wait(&r2, 101, 5000));
    CHECK_EQ(r2.last_seq, 200);

    cp_events_unsubscribe(ev2, s2);
    cp_events_publish(ev1, x, CP_NOTICE_EVENTS, 300);
    CHECK(rec_wait(&r2all, 103, 5000)); /* proves the notice arrived */
    CHECK_EQ(rec_count(&r2), 101);
    cp_events_unsubscribe(ev1, s1);
    cp_events_unsubscribe(ev2, s2all);
    cp_events_close(ev1);
    cp_events_close(ev2);
}

int main(void)
{
    cp_json_init(); /* as main.c does */
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0) return 1;
    cp_rand_hex(prefix, 4);
    url = "";
    printf("# in-process\n");
    RUN(subscribe_publish_unsubscribe);
    RUN(unsubscribe_waits_for_running_callbacks);
    RUN(access_notices_reach_every_subscriber);
    const char *env = getenv("CP_TEST_REDIS_URL");
    bool shared = env && *env;
    const char *why = shared ? NULL : "CP_TEST_REDIS_URL not set (make test starts Redis)";
    url = shared ? env : "";
    printf("# redis\n");
    RUN_IF(shared, why, subscribe_publish_unsubscribe);
    RUN_IF(shared, why, unsubscribe_waits_for_running_callbacks);
    RUN_IF(shared, why, redis_two_processes_see_each_other);
    RUN_IF(shared, why, access_notices_reach_every_subscriber);
    TEST_END();
}
