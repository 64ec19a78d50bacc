/* events.c: the notice hub. Local subscribers are called directly by
 * cp_events_publish. In Redis mode every publish also goes out on one pub/sub
 * channel, tagged with this process's origin id; a subscriber thread with its
 * own connection feeds notices from other processes to local subscribers and
 * drops its own echo. Local delivery thus never waits for Redis, and a Redis
 * outage only costs cross-process notices. Streams do not poll, so lost
 * notices are made up for by RESYNC ("re-read everything"): delivered
 * locally when the subscriber connects again, and published by a process
 * whose publish connection dropped a notice, once it publishes again.
 *
 * Callbacks run on the publishing thread (local notices) or on the
 * subscriber thread (remote ones), so one callback may run on two threads at
 * once.
 *
 * Payload: "<origin> <kind letter> <subject> <seq>" (letters in kind_letter). */
#include "queue/events.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "queue/redis_int.h"

#define CHANNEL "cloudplane:notices"
#define RUN_ID_MAX 64  /* any subject: run, user or project id, or "*" */
#define ORIGIN_BYTES 8 /* 16 hex chars */
#define ORIGIN_LEN (ORIGIN_BYTES * 2)
/* Publishing must never hold up a run: short timeouts, and after a failure no
 * new connection attempt until the back-off has passed. */
#define PUB_TIMEOUT_MS 300
#define PUB_BACKOFF_MIN_MS 250
#define PUB_BACKOFF_MAX_MS 5000
#define SUB_CONNECT_TIMEOUT_MS 2000
#define SUB_IO_TIMEOUT_MS 2000
#define SUB_BACKOFF_MIN_MS 100
#define SUB_BACKOFF_MAX_MS 5000
/* Silence this long makes the subscriber send PING; no answer within another
 * interval means the connection is dead even if TCP has not noticed. */
#define SUB_PING_MS 15000
#define OPEN_WAIT_MS 3000

struct cp_events_sub {
    cp_events_sub *next;
    char run_id[RUN_ID_MAX]; /* "" = every run */
    cp_events_fn fn;
    void *ctx;
    int busy; /* dispatches that may be calling fn right now */
    bool dead;
};

struct cp_events {
    pthread_mutex_t mu; /* subs, busy, dead */
    pthread_cond_t idle_cv;
    cp_events_sub *subs;

    bool redis;
    cp_redis_addr addr;
    char where[300];
    char origin[ORIGIN_LEN + 1];

    pthread_mutex_t pub_mu; /* the publish connection and its back-off */
    redisContext *pub;
    int64_t pub_retry_at; /* monotonic ms */
    int pub_backoff_ms;
    bool pub_down;
    bool pub_lost; /* a notice was dropped: publish RESYNC once we can */

    pthread_t thread;
    bool thread_started;
    int wake_fd[2]; /* close writes a byte so the subscriber's poll returns */
    atomic_bool stopping;
    pthread_mutex_t ready_mu;
    pthread_cond_t ready_cv;
    int ready; /* 0 starting, 1 subscribed once, -1 first attempt failed */
    cp_error ready_err;
};

static bool valid_run_id(const char *s)
{
    if (!s || !s[0]) return false;
    size_t n = strnlen(s, RUN_ID_MAX);
    if (n >= RUN_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ') return false; /* the payload is space-separated */
    return true;
}

static const char kind_letters[] = {[CP_NOTICE_EVENTS] = 'E',
                                    [CP_NOTICE_CANCEL] = 'C',
                                    [CP_NOTICE_ACCESS_USER] = 'U',
                                    [CP_NOTICE_ACCESS_PROJECT] = 'P',
                                    [CP_NOTICE_RESYNC] = 'R'};

static bool valid_kind(int kind)
{
    return kind >= CP_NOTICE_EVENTS && kind <= CP_NOTICE_RESYNC;
}

static bool kind_of_letter(char c, cp_notice_kind *kind)
{
    for (int k = CP_NOTICE_EVENTS; k <= CP_NOTICE_RESYNC; k++)
        if (kind_letters[k] == c) {
            *kind = (cp_notice_kind)k;
            return true;
        }
    return false;
}

/* Access and resync notices concern whoever holds anything, not one run. */
static bool broadcast(cp_notice_kind kind)
{
    return kind == CP_NOTICE_ACCESS_USER || kind == CP_NOTICE_ACCESS_PROJECT || kind == CP_NOTICE_RESYNC;
}

/* Calls every matching subscriber without holding mu, so a callback that
 * takes its own locks cannot deadlock against subscribe/unsubscribe. busy
 * keeps each called subscriber alive until its call has returned. */
static void dispatch(cp_events *ev, const char *run_id, cp_notice_kind kind, int64_t seq)
{
    cp_events_sub *stack[32];
    cp_events_sub **list = stack;
    size_t n = 0, cap = CP_ARRAY_LEN(stack);
    pthread_mutex_lock(&ev->mu);
    for (cp_events_sub *s = ev->subs; s; s = s->next) {
        if (s->dead || (!broadcast(kind) && s->run_id[0] && strcmp(s->run_id, run_id) != 0)) continue;
        if (n == cap) {
            cp_events_sub **bigger = cp_xreallocarray(NULL, cap * 2, sizeof *bigger);
            memcpy(bigger, list, n * sizeof *bigger);
            if (list != stack) free(list);
            list = bigger;
            cap *= 2;
        }
        s->busy++;
        list[n++] = s;
    }
    pthread_mutex_unlock(&ev->mu);

    for (size_t i = 0; i < n; i++) list[i]->fn(list[i]->ctx, run_id, kind, seq);

    pthread_mutex_lock(&ev->mu);
    bool wake = false;
    for (size_t i = 0; i < n; i++)
        if (--list[i]->busy == 0 && list[i]->dead) wake = true;
    if (wake) pthread_cond_broadcast(&ev->idle_cv);
    pthread_mutex_unlock(&ev->mu);
    if (list != stack) free(list);
}

/* ---- Redis publish side ---- */

static void pub_send(cp_events *ev, const char *payload)
{
    bool sent = false;
    pthread_mutex_lock(&ev->pub_mu);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!ev->pub) {
            if (cp_mono_ms() < ev->pub_retry_at) break; /* backing off: drop the notice */
            cp_error err;
            ev->pub = cp_redis_connect(&ev->addr, PUB_TIMEOUT_MS, PUB_TIMEOUT_MS, &err);
            if (!ev->pub) {
                ev->pub_backoff_ms = ev->pub_backoff_ms ? ev->pub_backoff_ms * 2 : PUB_BACKOFF_MIN_MS;
                if (ev->pub_backoff_ms > PUB_BACKOFF_MAX_MS) ev->pub_backoff_ms = PUB_BACKOFF_MAX_MS;
                ev->pub_retry_at = cp_mono_ms() + ev->pub_backoff_ms;
                if (!ev->pub_down) cp_log_warn("events: cannot publish notices: %s", err.message);
                ev->pub_down = true;
                break;
            }
            if (ev->pub_down) cp_log_info("events: publishing to redis at %s again", ev->where);
            ev->pub_down = false;
            ev->pub_backoff_ms = 0;
        }
        redisReply *r = redisCommand(ev->pub, "PUBLISH %s %s", CHANNEL, payload);
        if (r) {
            sent = r->type != REDIS_REPLY_ERROR;
            if (!sent && !ev->pub_down) cp_log_warn("events: PUBLISH failed: %s", r->str ? r->str : "error");
            freeReplyObject(r);
            break;
        }
        /* A pooled connection from before a Redis restart fails once; retry on a new one. */
        if (!ev->pub_down) cp_log_warn("events: lost publish connection: %s", ev->pub->errstr);
        redisFree(ev->pub);
        ev->pub = NULL;
    }
    if (!sent) {
        ev->pub_lost = true;
    } else if (ev->pub_lost) {
        /* Other processes missed what we dropped: they re-read everything. */
        char resync[ORIGIN_LEN + 16];
        snprintf(resync, sizeof resync, "%s R * 0", ev->origin);
        redisReply *r = redisCommand(ev->pub, "PUBLISH %s %s", CHANNEL, resync);
        if (r && r->type != REDIS_REPLY_ERROR) {
            ev->pub_lost = false;
            cp_log_info("events: notices were lost while publishing failed; asked every instance to re-read");
        }
        if (r) freeReplyObject(r);
    }
    pthread_mutex_unlock(&ev->pub_mu);
}

/* ---- Redis subscribe side ---- */

static bool parse_payload(const char *p, size_t len, char origin[ORIGIN_LEN + 1], char run_id[RUN_ID_MAX],
                          cp_notice_kind *kind, int64_t *seq)
{
    char buf[ORIGIN_LEN + RUN_ID_MAX + 48];
    if (len >= sizeof buf) return false;
    memcpy(buf, p, len);
    buf[len] = '\0';
    /* origin */
    if (len < ORIGIN_LEN + 4 || buf[ORIGIN_LEN] != ' ') return false;
    memcpy(origin, buf, ORIGIN_LEN);
    origin[ORIGIN_LEN] = '\0';
    /* kind */
    const char *k = buf + ORIGIN_LEN + 1;
    if (!kind_of_letter(k[0], kind) || k[1] != ' ') return false;
    /* run id */
    const char *r = k + 2;
    const char *sp = strchr(r, ' ');
    if (!sp || sp == r || (size_t)(sp - r) >= RUN_ID_MAX) return false;
    memcpy(run_id, r, (size_t)(sp - r));
    run_id[sp - r] = '\0';
    /* seq */
    char *end;
    errno = 0;
    long long v = strtoll(sp + 1, &end, 10);
    if (errno || end == sp + 1 || *end) return false;
    *seq = v;
    return true;
}

static void handle_reply(cp_events *ev, const redisReply *r)
{
    /* ["message", channel, payload]; subscribe confirmations and ["pong", ""] are ignored. */
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) return;
    const redisReply *t = r->element[0], *p = r->element[2];
    if (t->type != REDIS_REPLY_STRING || strcmp(t->str, "message") != 0 || p->type != REDIS_REPLY_STRING) return;
    char origin[ORIGIN_LEN + 1], run_id[RUN_ID_MAX];
    cp_notice_kind kind;
    int64_t seq;
    if (!parse_payload(p->str, p->len, origin, run_id, &kind, &seq)) {
        cp_log_debug("events: ignoring malformed notice");
        return;
    }
    if (!strcmp(origin, ev->origin)) return; /* our own, already delivered locally */
    dispatch(ev, run_id, kind, seq);
}

static void set_ready(cp_events *ev, int state, const cp_error *err)
{
    pthread_mutex_lock(&ev->ready_mu);
    if (ev->ready == 0) {
        ev->ready = state;
        if (err) ev->ready_err = *err;
        pthread_cond_broadcast(&ev->ready_cv);
    }
    pthread_mutex_unlock(&ev->ready_mu);
}

/* Reads notices until the connection fails or close is asked for. Returns
 * why it stopped (empty when stopping). */
static void read_loop(cp_events *ev, redisContext *c, char *why, size_t cap)
{
    bool ping_sent = false;
    for (;;) {
        void *reply = NULL;
        /* Replies already buffered by the last read come first. */
        while (redisGetReplyFromReader(c, &reply) == REDIS_OK && reply) {
            handle_reply(ev, reply);
            freeReplyObject(reply);
            reply = NULL;
        }
        if (c->err) {
            snprintf(why, cap, "%s", c->errstr);
            return;
        }
        struct pollfd fds[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = ev->wake_fd[0], .events = POLLIN}};
        int n = poll(fds, 2, SUB_PING_MS);
        if (atomic_load(&ev->stopping)) {
            why[0] = '\0';
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(why, cap, "poll: %s", strerror(errno));
            return;
        }
        if (n == 0) {
            if (ping_sent) {
                snprintf(why, cap, "no answer to PING");
                return;
            }
            int done = 0;
            if (redisAppendCommand(c, "PING") != REDIS_OK) {
                snprintf(why, cap, "%s", c->errstr);
                return;
            }
            while (!done)
                if (redisBufferWrite(c, &done) != REDIS_OK) {
                    snprintf(why, cap, "%s", c->errstr);
                    return;
                }
            ping_sent = true;
            continue;
        }
        if (fds[0].revents) {
            if (redisBufferRead(c) != REDIS_OK) {
                snprintf(why, cap, "%s", c->errstr[0] ? c->errstr : "connection closed");
                return;
            }
            ping_sent = false; /* anything at all proves the connection alive */
        }
    }
}

/* Waits ms or until close. */
static void sub_sleep(cp_events *ev, int ms)
{
    struct pollfd pfd = {.fd = ev->wake_fd[0], .events = POLLIN};
    int64_t until = cp_mono_ms() + ms;
    while (!atomic_load(&ev->stopping)) {
        int64_t left = until - cp_mono_ms();
        if (left <= 0) return;
        poll(&pfd, 1, (int)left);
    }
}

static void *sub_main(void *arg)
{
    cp_events *ev = arg;
    int backoff = SUB_BACKOFF_MIN_MS;
    bool down = false;
    while (!atomic_load(&ev->stopping)) {
        cp_error err;
        cp_error_clear(&err);
        char why[256] = "";
        redisContext *c = cp_redis_connect(&ev->addr, SUB_CONNECT_TIMEOUT_MS, SUB_IO_TIMEOUT_MS, &err);
        if (c) {
            redisReply *r = redisCommand(c, "SUBSCRIBE %s", CHANNEL);
            if (r && r->type == REDIS_REPLY_ARRAY) {
                freeReplyObject(r);
                set_ready(ev, 1, NULL);
                if (down) {
                    cp_log_info("events: subscribed to redis at %s again; streams re-read", ev->where);
                    /* Notices published while we were away are lost. */
                    dispatch(ev, "*", CP_NOTICE_RESYNC, 0);
                }
                down = false;
                backoff = SUB_BACKOFF_MIN_MS;
                read_loop(ev, c, why, sizeof why);
            } else {
                snprintf(why, sizeof why, "SUBSCRIBE failed: %s", r && r->str ? r->str : c->errstr);
                if (r) freeReplyObject(r);
            }
            redisFree(c);
        } else {
            snprintf(why, sizeof why, "%s", err.message);
        }
        if (atomic_load(&ev->stopping)) break;
        pthread_mutex_lock(&ev->ready_mu);
        bool first = ev->ready == 0;
        pthread_mutex_unlock(&ev->ready_mu);
        if (first) {
            cp_error_set(&err, CP_ERR, "events_unavailable", NULL, "%s", why);
            set_ready(ev, -1, &err);
            break; /* open reports it; no thread keeps running */
        }
        if (!down) cp_log_warn("events: redis subscriber lost (%s); reconnecting", why);
        down = true;
        sub_sleep(ev, backoff);
        backoff = backoff * 2 > SUB_BACKOFF_MAX_MS ? SUB_BACKOFF_MAX_MS : backoff * 2;
    }
    return NULL;
}

/* ---- public ---- */

static void events_free(cp_events *ev)
{
    if (ev->pub) redisFree(ev->pub);
    for (cp_events_sub *s = ev->subs, *next; s; s = next) {
        next = s->next;
        free(s);
    }
    if (ev->redis) {
        if (ev->wake_fd[0] >= 0) close(ev->wake_fd[0]);
        if (ev->wake_fd[1] >= 0) close(ev->wake_fd[1]);
        pthread_mutex_destroy(&ev->pub_mu);
        pthread_mutex_destroy(&ev->ready_mu);
        pthread_cond_destroy(&ev->ready_cv);
    }
    pthread_cond_destroy(&ev->idle_cv);
    pthread_mutex_destroy(&ev->mu);
    free(ev);
}

static void stop_thread(cp_events *ev)
{
    if (!ev->thread_started) return;
    atomic_store(&ev->stopping, true);
    char b = 1;
    if (write(ev->wake_fd[1], &b, 1) < 0) {
        /* The pipe is non-blocking and the reader checks stopping after every poll. */
    }
    pthread_join(ev->thread, NULL);
    ev->thread_started = false;
}

cp_result cp_events_open(const char *redis_url, cp_events **out, cp_error *err)
{
    *out = NULL;
    cp_redis_addr addr;
    bool redis = redis_url && redis_url[0];
    if (redis) {
        cp_result r = cp_redis_parse_url(redis_url, &addr, err);
        if (r != CP_OK) return r;
    }
    cp_events *ev = cp_xcalloc(1, sizeof *ev);
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->idle_cv, NULL);
    ev->redis = redis;
    if (!redis) {
        *out = ev;
        return CP_OK;
    }
    ev->addr = addr;
    cp_redis_describe(&addr, ev->where, sizeof ev->where);
    cp_rand_hex(ev->origin, ORIGIN_BYTES);
    pthread_mutex_init(&ev->pub_mu, NULL);
    pthread_mutex_init(&ev->ready_mu, NULL);
    cp_cond_init_monotonic(&ev->ready_cv);
    ev->wake_fd[0] = ev->wake_fd[1] = -1;
    if (pipe2(ev->wake_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        events_free(ev);
        return cp_error_set(err, CP_ERR, NULL, NULL, "pipe: %s", strerror(errno));
    }
    if (pthread_create(&ev->thread, NULL, sub_main, ev) != 0) {
        events_free(ev);
        return cp_error_set(err, CP_ERR, NULL, NULL, "cannot start the events thread");
    }
    ev->thread_started = true;

    /* Wait for the first SUBSCRIBE so notices published right after open are
     * not missed, and so a wrong URL fails at start-up. */
    struct timespec until = cp_deadline_ts(OPEN_WAIT_MS);
    pthread_mutex_lock(&ev->ready_mu);
    while (ev->ready == 0)
        if (pthread_cond_timedwait(&ev->ready_cv, &ev->ready_mu, &until) != 0) break;
    int ready = ev->ready;
    cp_error ready_err = ev->ready_err;
    pthread_mutex_unlock(&ev->ready_mu);
    if (ready != 1) {
        stop_thread(ev);
        events_free(ev);
        if (ready == 0) return cp_error_set(err, CP_ERR, "events_unavailable", NULL, "redis: no answer in time");
        if (err) *err = ready_err;
        return CP_ERR;
    }
    cp_log_info("events: redis pub/sub at %s, channel %s", ev->where, CHANNEL);
    *out = ev;
    return CP_OK;
}

void cp_events_close(cp_events *ev)
{
    if (!ev) return;
    stop_thread(ev);
    events_free(ev);
}

void cp_events_publish(cp_events *ev, const char *subject, cp_notice_kind kind, int64_t seq)
{
    if (!ev) return;
    if (!valid_run_id(subject) || !valid_kind(kind) || kind == CP_NOTICE_RESYNC) {
        cp_log_warn("events: not publishing a notice with a malformed subject or kind");
        return;
    }
    dispatch(ev, subject, kind, seq);
    if (!ev->redis) return;
    char payload[ORIGIN_LEN + RUN_ID_MAX + 48];
    snprintf(payload, sizeof payload, "%s %c %s %lld", ev->origin, kind_letters[kind], subject, (long long)seq);
    pub_send(ev, payload);
}

bool cp_events_is_shared(const cp_events *ev)
{
    return ev && ev->redis;
}

void cp_events_access_user(cp_events *ev, const char *user_id)
{
    cp_events_publish(ev, user_id, CP_NOTICE_ACCESS_USER, 0);
}

void cp_events_access_project(cp_events *ev, const char *project_id)
{
    cp_events_publish(ev, project_id, CP_NOTICE_ACCESS_PROJECT, 0);
}

cp_events_sub *cp_events_subscribe(cp_events *ev, const char *run_id, cp_events_fn fn, void *ctx)
{
    if (!ev || !fn || (run_id && !valid_run_id(run_id))) return NULL;
    cp_events_sub *s = cp_xcalloc(1, sizeof *s);

    if (run_id) snprintf(s->run_id, sizeof s->run_id, "%s", run_id);
    s->fn = fn;
    s->ctx = ctx;
    pthread_mutex_lock(&ev->mu);
    s->next = ev->subs;
    ev->subs = s;
    pthread_mutex_unlock(&ev->mu);
    return s;
}

void cp_events_unsubscribe(cp_events *ev, cp_events_sub *sub)
{
    if (!ev || !sub) return;
    pthread_mutex_lock(&ev->mu);
    for (cp_events_sub **pp = &ev->subs; *pp; pp = &(*pp)->next) {
        if (*pp == sub) {
            *pp = sub->next;
            break;
        }
    }
    sub->dead = true;
    while (sub->busy > 0) pthread_cond_wait(&ev->idle_cv, &ev->mu);
    pthread_mutex_unlock(&ev->mu);
    free(sub);
}
