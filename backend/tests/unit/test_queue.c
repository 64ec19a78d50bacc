/* Queue tests. The generic tests run on the in-process queue and, when
 * CP_TEST_REDIS_URL is set, on Redis Streams; then Redis-only behaviour
 * (consumer group, reclaim, lost group) and a restart of a private
 * redis-server started by this test. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "queue/events.h"
#include "queue/queue.h"
#include "queue/redis_int.h"
#include "core/json.h"
#include "test.h"

static const char *url;     /* "" = in-process */
static char redis_url[300]; /* the Redis suite's URL (its own database) */

static cp_queue *open_q(const char *u, const char *consumer)
{
    cp_queue *q = NULL;
    cp_error e;
    if (cp_queue_open(u, consumer, &q, &e) != CP_OK) fprintf(stderr, "  open %s: %s\n", u, e.message);
    return q;
}

/* Pops one item (acking it) and returns its run id in out; false on none. */
static bool pop_ack(cp_queue *q, int timeout_ms, char out[CP_QUEUE_ID_MAX])
{
    char tok[CP_QUEUE_ID_MAX];
    cp_error e;
    if (cp_queue_pop(q, timeout_ms, out, tok, &e) != CP_OK) return false;
    return cp_queue_ack(q, tok, &e) == CP_OK;
}

/* Raw connection for inspecting and disturbing Redis from the test. */
static redisContext *raw(const char *u)
{
    cp_redis_addr a;
    cp_error e;
    if (cp_redis_parse_url(u, &a, &e) != CP_OK) return NULL;
    return cp_redis_connect(&a, 2000, 5000, &e);
}

static long long raw_int(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

/* ---- URL parsing (no server needed) ---- */

TEST(redis_url_parsing)
{
    cp_redis_addr a;
    cp_error e;
    CHECK_EQ(cp_redis_parse_url("redis://127.0.0.1:6390", &a, &e), CP_OK);
    CHECK_STR(a.host, "127.0.0.1");
    CHECK_EQ(a.port, 6390);
    CHECK_EQ(a.db, 0);
    CHECK_EQ(a.pass[0], '\0');
    CHECK_EQ(cp_redis_parse_url("redis://cache.internal", &a, &e), CP_OK);
    CHECK_STR(a.host, "cache.internal");
    CHECK_EQ(a.port, 6379);
    CHECK_EQ(cp_redis_parse_url("redis://:p%40ss@h:1/3", &a, &e), CP_OK);
    CHECK_STR(a.pass, "p@ss");
    CHECK_STR(a.user, "");
    CHECK_EQ(a.db, 3);
    CHECK_EQ(cp_redis_parse_url("redis://worker:s:e@cr@et@[::1]:7000/", &a, &e), CP_OK);
    CHECK_STR(a.user, "worker");
    CHECK_STR(a.pass, "s:e@cr@et");
    CHECK_STR(a.host, "::1");
    CHECK_EQ(a.port, 7000);
    CHECK_EQ(cp_redis_parse_url("unix:///run/redis.sock?db=2", &a, &e), CP_OK);
    CHECK(a.unix_socket);
    CHECK_STR(a.host, "/run/redis.sock");
    CHECK_EQ(a.db, 2);
    const char *bad[] = {"",
                         "http://h:1",
                         "rediss://h:6379",
                         "redis://",
                         "redis://h:0",
                         "redis://h:x",
                         "redis://h:1/a",
                         "redis://:%zz@h",
                         "unix://relative",
                         "redis://[::1"};
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        if (cp_redis_parse_url(bad[i], &a, &e) != CP_EINVAL) {
            fprintf(stderr, "  accepted bad url %s\n", bad[i]);
            t_cur_failed = 1;
        }
    }
    cp_queue *q = NULL;
    CHECK_EQ(cp_queue_open("rediss://h:1", "c", &q, &e), CP_EINVAL);
    CHECK(q == NULL);
}

/* ---- generic: both backends ---- */

TEST(fifo_order)
{
    cp_queue *q = open_q(url, "fifo");
    if (!q) {
        CHECK(0);
        return;
    }
    cp_error e;
    CHECK_EQ(cp_queue_is_redis(q), url[0] != '\0');
    CHECK_EQ(cp_queue_ping(q, &e), CP_OK);
    const char *ids[] = {"run-a", "run-b", "run-c", "run-a"}; /* duplicates are allowed */
    for (size_t i = 0; i < CP_ARRAY_LEN(ids); i++) CHECK_EQ(cp_queue_push(q, ids[i], &e), CP_OK);
    for (size_t i = 0; i < CP_ARRAY_LEN(ids); i++) {
        char id[CP_QUEUE_ID_MAX] = "";
        CHECK(pop_ack(q, 2000, id));
        CHECK_STR(id, ids[i]);
    }
    char id[CP_QUEUE_ID_MAX], tok[CP_QUEUE_ID_MAX];
    CHECK_EQ(cp_queue_pop(q, 0, id, tok, &e), CP_EAGAIN);
    CHECK_EQ(cp_queue_reclaim(q, 60000, &e), CP_OK);
    /* bad input */
    char big[CP_QUEUE_ID_MAX + 1];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_EQ(cp_queue_push(q, "", &e), CP_EINVAL);
    CHECK_EQ(cp_queue_push(q, big, &e), CP_EINVAL);
    CHECK_EQ(cp_queue_push(q, NULL, &e), CP_EINVAL);
    cp_queue_close(q);
}

/* Items not handed out yet count; popped ones (acked or still running) do not. */
TEST(undelivered_items_are_seen)
{
    cp_queue *q = open_q(url, "undeliv");
    if (!q) {
        CHECK(0);
        return;
    }
    cp_error e;
    bool any = true;
    char id[CP_QUEUE_ID_MAX], tok[CP_QUEUE_ID_MAX], tok2[CP_QUEUE_ID_MAX];
    while (cp_queue_pop(q, 0, id, tok, &e) == CP_OK) CHECK_EQ(cp_queue_ack(q, tok, &e), CP_OK); /* drain */
    CHECK_EQ(cp_queue_has_undelivered(q, &any, &e), CP_OK);
    CHECK(!any);
    CHECK_EQ(cp_queue_push(q, "run-u1", &e), CP_OK);
    CHECK_EQ(cp_queue_push(q, "run-u2", &e), CP_OK);
    CHECK_EQ(cp_queue_has_undelivered(q, &any, &e), CP_OK);
    CHECK(any);
    CHECK_EQ(cp_queue_pop(q, 2000, id, tok, &e), CP_OK);
    CHECK_EQ(cp_queue_has_undelivered(q, &any, &e), CP_OK);
    CHECK(any); /* run-u2 still waits */
    CHECK_EQ(cp_queue_pop(q, 2000, id, tok2, &e), CP_OK);
    CHECK_EQ(cp_queue_has_undelivered(q, &any, &e), CP_OK);
    CHECK(!any); /* both handed out, neither acked yet */
    CHECK_EQ(cp_queue_ack(q, tok, &e), CP_OK);
    CHECK_EQ(cp_queue_ack(q, tok2, &e), CP_OK);
    CHECK_EQ(cp_queue_has_undelivered(q, &any, &e), CP_OK);
    CHECK(!any);
    cp_queue_close(q);
}

TEST(pop_times_out)
{
    cp_queue *q = open_q(url, "timeout");
    if (!q) {
        CHECK(0);
        return;
    }
    char id[CP_QUEUE_ID_MAX], tok[CP_QUEUE_ID_MAX];
    cp_error e;
    int64_t t0 = cp_mono_ms();
    CHECK_EQ(cp_queue_pop(q, 300, id, tok, &e), CP_EAGAIN);
    int64_t dt = cp_mono_ms() - t0;
    CHECK(dt < 5000);
    CHECK_STR(id, "");
    /* Longer than one BLOCK slice on Redis. */
    t0 = cp_mono_ms();
    CHECK_EQ(cp_queue_pop(q, 1300, id, tok, &e), CP_EAGAIN);
    CHECK(cp_mono_ms() - t0 < 6000);
    cp_queue_close(q);
}

typedef struct {
    cp_queue *q;
    int timeout_ms;
    cp_result res;
    char id[CP_QUEUE_ID_MAX];
    char tok[CP_QUEUE_ID_MAX];
    volatile int done;
} popper;

static void *popper_main(void *arg)
{
    popper *p = arg;
    cp_error e;
    p->res = cp_queue_pop(p->q, p->timeout_ms, p->id, p->tok, &e);
    __atomic_store_n(&p->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

TEST(wake_unblocks_pop)
{
    cp_queue *q = open_q(url, "wake");
    if (!q) {
        CHECK(0);
        return;
    }
    popper p = {.q = q, .timeout_ms = 60000};
    pthread_t th;
    int64_t t0 = cp_mono_ms();
    pthread_create(&th, NULL, popper_main, &p);
    /* Wake repeatedly: a wake only affects pops already waiting. */
    while (!__atomic_load_n(&p.done, __ATOMIC_SEQ_CST) && cp_mono_ms() - t0 < 10000) {
        usleep(50 * 1000);
        cp_queue_wake(q);
    }
    pthread_join(th, NULL);
    CHECK_EQ(p.res, CP_EAGAIN);
    CHECK(cp_mono_ms() - t0 < 5000);
    /* The queue still works afterwards. */
    cp_error e;
    char id[CP_QUEUE_ID_MAX];
    CHECK_EQ(cp_queue_push(q, "after-wake", &e), CP_OK);
    CHECK(pop_ack(q, 2000, id));
    CHECK_STR(id, "after-wake");
    cp_queue_close(q);
}

#define PRODUCERS 4
#define PER_PRODUCER 500
#define CONSUMERS 3

typedef struct {
    cp_queue *q;
    int idx;
} producer_arg;

static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;
static int seen[PRODUCERS][PER_PRODUCER];
static int seen_total, seen_bad, push_failures;

static void *producer_main(void *arg)
{
    producer_arg *a = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        char id[32];
        snprintf(id, sizeof id, "p%d-%d", a->idx, i);
        cp_error e;
        if (cp_queue_push(a->q, id, &e) != CP_OK) __atomic_add_fetch(&push_failures, 1, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void *consumer_main(void *arg)
{
    cp_queue *q = arg;
    int64_t deadline = cp_mono_ms() + 120000;
    while (cp_mono_ms() < deadline) {
        pthread_mutex_lock(&seen_mu);
        bool all = seen_total + seen_bad >= PRODUCERS * PER_PRODUCER;
        pthread_mutex_unlock(&seen_mu);
        if (all) break;
        char id[CP_QUEUE_ID_MAX];
        if (!pop_ack(q, 200, id)) continue;
        char *end;
        long p = strtol(id + 1, &end, 10);
        long n = *end == '-' ? strtol(end + 1, &end, 10) : -1;
        pthread_mutex_lock(&seen_mu);
        if (id[0] == 'p' && p >= 0 && p < PRODUCERS && n >= 0 && n < PER_PRODUCER && !*end) {
            seen[p][n]++;
            seen_total++;
        } else {
            seen_bad++;
        }
        pthread_mutex_unlock(&seen_mu);
    }
    return NULL;
}

TEST(many_threads_exactly_once)
{
    /* On Redis one consumer runs on a second handle (another consumer name). */
    cp_queue *q = open_q(url, "stress-1");
    cp_queue *q2 = url[0] ? open_q(url, "stress-2") : q;
    if (!q || !q2) {
        CHECK(0);
        return;
    }
    memset(seen, 0, sizeof seen);
    seen_total = seen_bad = push_failures = 0;
    pthread_t prod[PRODUCERS], cons[CONSUMERS];
    producer_arg pa[PRODUCERS];
    for (int i = 0; i < CONSUMERS; i++) pthread_create(&cons[i], NULL, consumer_main, i == CONSUMERS - 1 ? q2 : q);
    for (int i = 0; i < PRODUCERS; i++) {
        pa[i] = (producer_arg){.q = q, .idx = i};
        pthread_create(&prod[i], NULL, producer_main, &pa[i]);
    }
    for (int i = 0; i < PRODUCERS; i++) pthread_join(prod[i], NULL);
    for (int i = 0; i < CONSUMERS; i++) pthread_join(cons[i], NULL);
    CHECK_EQ(push_failures, 0);
    CHECK_EQ(seen_bad, 0);
    CHECK_EQ(seen_total, PRODUCERS * PER_PRODUCER);
    int wrong = 0;
    for (int p = 0; p < PRODUCERS; p++)
        for (int n = 0; n < PER_PRODUCER; n++)
            if (seen[p][n] != 1) wrong++;
    CHECK_EQ(wrong, 0);
    if (wrong) fprintf(stderr, "  seen %d of %d, %d not exactly once\n", seen_total, PRODUCERS * PER_PRODUCER, wrong);
    char id[CP_QUEUE_ID_MAX], tok[CP_QUEUE_ID_MAX];
    cp_error e;
    CHECK_EQ(cp_queue_pop(q, 0, id, tok, &e), CP_EAGAIN);
    if (q2 != q) cp_queue_close(q2);
    cp_queue_close(q);
}

/* ---- Redis only ---- */

TEST(redis_push_pop_ack)
{
    cp_queue *q = open_q(url, "ppa");
    redisContext *c = raw(url);
    if (!q || !c) {
        CHECK(0);
        if (q) cp_queue_close(q);
        if (c) redisFree(c);
        return;
    }
    cp_error e;
    CHECK_EQ(cp_queue_push(q, "run-1", &e), CP_OK);
    char id[CP_QUEUE_ID_MAX], tok[CP_QUEUE_ID_MAX];
    CHECK_EQ(cp_queue_pop(q, 2000, id, tok, &e), CP_OK);
    CHECK_STR(id, "run-1");
    CHECK(strchr(tok, '-') != NULL); /* a stream id */
    CHECK_EQ(raw_int(c, "XLEN cloudplane:runs"), 1);
    redisReply *r = redisCommand(c, "XPENDING cloudplane:runs workers");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->integer == 1);
    if (r) freeReplyObject(r);
    CHECK_EQ(cp_queue_ack(q, tok, &e), CP_OK);
    CHECK_EQ(raw_int(c, "XLEN cloudplane:runs"), 0); /* acked entries are deleted */
    r = redisCommand(c, "XPENDING cloudplane:runs workers");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->integer == 0);
    if (r) freeReplyObject(r);
    CHECK_EQ(cp_queue_ack(q, "not-a-token", &e), CP_EINVAL);
    /* An entry without run_id (someone else's) is dropped, not returned. */
    r = redisCommand(c, "XADD cloudplane:runs * other x");
    if (r) freeReplyObject(r);
    CHECK_EQ(cp_queue_push(q, "run-2", &e), CP_OK);
    CHECK_EQ(cp_queue_pop(q, 2000, id, tok, &e), CP_OK);
    CHECK_STR(id, "run-2");
    CHECK_EQ(cp_queue_ack(q, tok, &e), CP_OK);
    redisFree(c);
    cp_queue_close(q);
}

TEST(redis_consumers_share_work)
{
    cp_queue *a = open_q(url, "cons-A"), *b = open_q(url, "cons-B");
    if (!a || !b) {
        CHECK(0);
        cp_queue_close(a);
        cp_queue_close(b);
        return;
    }
    cp_error e;
    CHECK_EQ(cp_queue_push(a, "share-1", &e), CP_OK);
    CHECK_EQ(cp_queue_push(a, "share-2", &e), CP_OK);
    char ia[CP_QUEUE_ID_MAX], ta[CP_QUEUE_ID_MAX], ib[CP_QUEUE_ID_MAX], tb[CP_QUEUE_ID_MAX];
    CHECK_EQ(cp_queue_pop(a, 2000, ia, ta, &e), CP_OK);
    CHECK_EQ(cp_queue_pop(b, 2000, ib, tb, &e), CP_OK);
    CHECK(strcmp(ia, ib) != 0);
    CHECK(strcmp(ta, tb) != 0);
    /* Nothing left for either; A's own unacked item is not handed out again. */
    char x[CP_QUEUE_ID_MAX], xt[CP_QUEUE_ID_MAX];
    CHECK_EQ(cp_queue_pop(a, 100, x, xt, &e), CP_EAGAIN);
    CHECK_EQ(cp_queue_pop(b, 100, x, xt, &e), CP_EAGAIN);
    CHECK_EQ(cp_queue_ack(a, ta, &e), CP_OK);
    CHECK_EQ(cp_queue_ack(b, tb, &e), CP_OK);
    cp_queue_close(a);
    cp_queue_close(b);
}

TEST(redis_reclaim_takes_over_idle_items)
{
    cp_queue *a = open_q(url, "recl-A"), *b = open_q(url, "recl-B");
    if (!a || !b) {
        CHECK(0);
        cp_queue_close(a);
        cp_queue_close(b);
        return;
    }
    cp_error e;
    char id[CP_QUEUE_ID_MAX], tok[CP_QUEUE_ID_MAX], id2[CP_QUEUE_ID_MAX], tok2[CP_QUEUE_ID_MAX];
    CHECK_EQ(cp_queue_push(a, "orphan", &e), CP_OK);
    CHECK_EQ(cp_queue_pop(a, 2000, id, tok, &e), CP_OK); /* A "dies" holding it */
    CHECK_STR(id, "orphan");
    CHECK_EQ(cp_queue_pop(b, 100, id2, tok2, &e), CP_EAGAIN);
    CHECK_EQ(cp_queue_reclaim(b, 60000, &e), CP_OK); /* not idle long enough yet */
    CHECK_EQ(cp_queue_pop(b, 100, id2, tok2, &e), CP_EAGAIN);
    usleep(400 * 1000);
    CHECK_EQ(cp_queue_reclaim(b, 200, &e), CP_OK);
    CHECK_EQ(cp_queue_pop(b, 2000, id2, tok2, &e), CP_OK);
    CHECK_STR(id2, "orphan");
    CHECK_STR(tok2, tok);
    CHECK_EQ(cp_queue_ack(b, tok2, &e), CP_OK);

    /* A live consumer's reclaim refreshes its own items, so others leave them. */
    CHECK_EQ(cp_queue_push(a, "alive", &e), CP_OK);
    CHECK_EQ(cp_queue_pop(a, 2000, id, tok, &e), CP_OK);
    CHECK_STR(id, "alive");
    usleep(400 * 1000);
    CHECK_EQ(cp_queue_reclaim(a, 60000, &e), CP_OK);
    CHECK_EQ(cp_queue_reclaim(b, 300, &e), CP_OK);
    CHECK_EQ(cp_queue_pop(b, 100, id2, tok2, &e), CP_EAGAIN);
    CHECK_EQ(cp_queue_ack(a, tok, &e), CP_OK);
    cp_queue_close(a);
    cp_queue_close(b);
}

TEST(redis_lost_group_is_recreated)
{
    cp_queue *q = open_q(url, "lost");
    redisContext *c = raw(url);
    if (!q || !c) {
        CHECK(0);
        if (q) cp_queue_close(q);
        if (c) redisFree(c);
        return;
    }
    cp_error e;
    /* Same as a restart without persistence, but with connections intact. */
    CHECK_EQ(raw_int(c, "DEL cloudplane:runs"), 1);
    CHECK_EQ(cp_queue_push(q, "after-loss", &e), CP_OK);
    char id[CP_QUEUE_ID_MAX];
    CHECK(pop_ack(q, 2000, id));
    CHECK_STR(id, "after-loss");
    CHECK_EQ(raw_int(c, "DEL cloudplane:runs"), 1);
    CHECK_EQ(cp_queue_reclaim(q, 1000, &e), CP_OK);
    CHECK_EQ(cp_queue_push(q, "after-loss-2", &e), CP_OK);
    CHECK(pop_ack(q, 2000, id));
    CHECK_STR(id, "after-loss-2");
    redisFree(c);
    cp_queue_close(q);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

TEST(redis_unreachable_fails_fast)
{
    int port = free_port();
    char u[64];
    snprintf(u, sizeof u, "redis://127.0.0.1:%d", port);
    cp_queue *q = NULL;
    cp_error e;
    int64_t t0 = cp_mono_ms();
    CHECK(cp_queue_open(u, "c", &q, &e) != CP_OK);
    CHECK(q == NULL);
    CHECK_STR(e.code, "queue_unavailable");
    cp_events *ev = NULL;
    CHECK(cp_events_open(u, &ev, &e) != CP_OK);
    CHECK(ev == NULL);
    CHECK(cp_mono_ms() - t0 < 10000);
}

/* ---- a private redis-server, restarted mid-test ---- */

typedef struct {
    char bin[256];
    char dir[64];
    int port;
    pid_t pid;
} own_redis;

static bool find_redis_server(char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, cap, "%.*s/redis-server", (int)n, path);
        if (access(out, X_OK) == 0) return true;
        path += n + (colon ? 1 : 0);
    }
    return false;
}

static bool own_redis_start(own_redis *r)
{
    char port[16], log[128];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        char *argv[] = {r->bin,         "--port", port,    "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no",     "--dir", r->dir,   "--logfile", log,      NULL};
        execv(r->bin, argv);
        _exit(127);
    }
    r->pid = pid;
    char u[64];
    snprintf(u, sizeof u, "redis://127.0.0.1:%d", r->port);
    for (int i = 0; i < 100; i++) {
        redisContext *c = raw(u);
        if (c) {
            redisFree(c);
            return true;
        }
        usleep(50 * 1000);
    }
    return false;
}

static void own_redis_stop(own_redis *r)
{
    if (r->pid <= 0) return;
    kill(r->pid, SIGTERM);
    int st;
    for (int i = 0; i < 100; i++) {
        if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
            r->pid = 0;
            return;
        }
        usleep(50 * 1000);
    }
    kill(r->pid, SIGKILL);
    waitpid(r->pid, &st, 0);
    r->pid = 0;
}

typedef struct {
    pthread_mutex_t mu;
    int count; /* run notices */
    int resyncs;
    int64_t seq;
} counter;

static void count_cb(void *ctx, const char *run_id, cp_notice_kind kind, int64_t seq)
{
    CP_UNUSED(run_id);
    counter *c = ctx;
    pthread_mutex_lock(&c->mu);
    if (kind == CP_NOTICE_RESYNC) {
        c->resyncs++;
    } else {
        c->count++;
        c->seq = seq;
    }
    pthread_mutex_unlock(&c->mu);
}

static int counter_get(counter *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

TEST(redis_restart_reconnects)
{
    own_redis r = {.port = free_port()};
    snprintf(r.dir, sizeof r.dir, "/tmp/cp-queue-redis-XXXXXX");
    if (!find_redis_server(r.bin, sizeof r.bin)) SKIP("redis-server not found in PATH");
    if (!mkdtemp(r.dir)) {
        CHECK(!"mkdtemp failed");
        return;
    }
    char u[64];
    snprintf(u, sizeof u, "redis://127.0.0.1:%d", r.port);
    cp_queue *q = NULL;
    cp_events *ev1 = NULL, *ev2 = NULL;
    cp_events_sub *sub = NULL;
    counter got = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cp_error e;
    char id[CP_QUEUE_ID_MAX];
    if (!own_redis_start(&r)) {
        CHECK(!"redis-server did not start");
        goto out;
    }
    q = open_q(u, "restart");
    CHECK_EQ(cp_events_open(u, &ev1, &e), CP_OK);
    CHECK_EQ(cp_events_open(u, &ev2, &e), CP_OK);
    if (!q || !ev1 || !ev2) {
        CHECK(0);
        goto out;
    }
    sub = cp_events_subscribe(ev2, "restart-run", count_cb, &got);
    CHECK_EQ(cp_queue_push(q, "before", &e), CP_OK);
    CHECK(pop_ack(q, 2000, id));
    CHECK_STR(id, "before");

    /* A pop blocked while the server goes away returns instead of hanging. */
    popper p = {.q = q, .timeout_ms = 20000};
    pthread_t th;
    pthread_create(&th, NULL, popper_main, &p);
    usleep(200 * 1000);
    int64_t t0 = cp_mono_ms();
    own_redis_stop(&r);
    pthread_join(th, NULL);
    CHECK(p.res != CP_OK);
    CHECK(cp_mono_ms() - t0 < 5000);

    /* While down: errors, quickly; publishing stays cheap and local delivery goes on. */
    t0 = cp_mono_ms();
    CHECK(cp_queue_push(q, "lost", &e) != CP_OK);
    CHECK(cp_queue_ping(q, &e) != CP_OK);
    char tok[CP_QUEUE_ID_MAX];
    CHECK(cp_queue_pop(q, 200, id, tok, &e) != CP_OK);
    counter local = {.mu = PTHREAD_MUTEX_INITIALIZER};
    cp_events_sub *lsub = cp_events_subscribe(ev1, "down-run", count_cb, &local);
    for (int i = 0; i < 50; i++) cp_events_publish(ev1, "down-run", CP_NOTICE_EVENTS, i);
    CHECK_EQ(counter_get(&local), 50);
    cp_events_unsubscribe(ev1, lsub);
    CHECK(cp_mono_ms() - t0 < 10000);

    if (!own_redis_start(&r)) {
        CHECK(!"redis-server did not restart");
        goto out;
    }
    /* Same port, empty server: no stream, no group. */
    cp_result pr = CP_ERR;
    for (int i = 0; i < 50 && pr != CP_OK; i++) {
        pr = cp_queue_push(q, "after", &e);
        if (pr != CP_OK) usleep(100 * 1000);
    }
    CHECK_EQ(pr, CP_OK);
    CHECK(pop_ack(q, 5000, id));
    CHECK_STR(id, "after");
    CHECK_EQ(cp_queue_ping(q, &e), CP_OK);

    /* The subscriber reconnects with back-off; publish until a notice gets through. */
    t0 = cp_mono_ms();
    while (counter_get(&got) == 0 && cp_mono_ms() - t0 < 15000) {
        cp_events_publish(ev1, "restart-run", CP_NOTICE_EVENTS, 42);
        usleep(100 * 1000);
    }
    CHECK(counter_get(&got) > 0);
    CHECK_EQ(got.seq, 42);
    /* Notices published while ev2 was away are lost: it told its subscribers
     * to re-read (and ev1, which dropped notices, asked every process to). */
    pthread_mutex_lock(&got.mu);
    CHECK(got.resyncs >= 1);
    pthread_mutex_unlock(&got.mu);
out:
    if (sub) cp_events_unsubscribe(ev2, sub);
    cp_events_close(ev1);
    cp_events_close(ev2);
    cp_queue_close(q);
    own_redis_stop(&r);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", r.dir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", r.dir);
}

/* With a skip reason the cases are recorded as skipped, not run. */
static void run_generic(const char *name, const char *skip_reason)
{
    bool run = skip_reason == NULL;
    printf("# %s\n", name);
    RUN_IF(run, skip_reason, fifo_order);
    RUN_IF(run, skip_reason, undelivered_items_are_seen);
    RUN_IF(run, skip_reason, pop_times_out);
    RUN_IF(run, skip_reason, wake_unblocks_pop);
    RUN_IF(run, skip_reason, many_threads_exactly_once);
}

int main(void)
{
    cp_json_init();           /* as main.c does */
    signal(SIGPIPE, SIG_IGN); /* as the server does */
    if (sodium_init() < 0) return 1;
    RUN(redis_url_parsing);
    url = "";
    run_generic("in-process", NULL);

    const char *env = getenv("CP_TEST_REDIS_URL");
    bool shared = env && *env;
    const char *why = shared ? NULL : "CP_TEST_REDIS_URL not set (make test starts Redis)";
    if (shared) {
        /* A database of our own, so parallel tests on the same server do not mix. */
        snprintf(redis_url, sizeof redis_url, strchr(env + 8, '/') ? "%s" : "%s/9", env);
        url = redis_url;
        redisContext *c = raw(url);
        if (!c) {
            fprintf(stderr, "cannot reach %s\n", url);
            return 1;
        }
        redisReply *r = redisCommand(c, "FLUSHDB");
        if (r) freeReplyObject(r);
        redisFree(c);
    }
    run_generic("redis", why);
    RUN_IF(shared, why, redis_push_pop_ack);
    RUN_IF(shared, why, redis_consumers_share_work);
    RUN_IF(shared, why, redis_reclaim_takes_over_idle_items);
    RUN_IF(shared, why, redis_lost_group_is_recreated);
    /* These two need no shared server: a closed port, and a redis-server of their own. */
    RUN(redis_unreachable_fails_fast);
    RUN(redis_restart_reconnects);
    TEST_END();
}
