/* queue_redis.c: dispatch over a Redis stream with one consumer group, for
 * distributed mode. The stream carries run ids; the database decides who
 * runs what, so duplicates are harmless and losses are repaired by the
 * reconciler.
 *
 * Connections: hiredis contexts are not thread-safe and a blocking
 * XREADGROUP occupies its connection, so every call takes a connection from
 * a small pool and returns it afterwards. After an I/O failure every pooled
 * connection is presumed dead (Redis restarted) and dropped; new ones
 * recreate the consumer group, which a restart without persistence loses.
 *
 * Pending entries: all threads of a process share one consumer name, so the
 * consumer's pending list (PEL) holds both items that threads here are
 * running and items handed to us by XAUTOCLAIM. The in-flight set tells them
 * apart: pop delivers pending entries that nobody here holds, then blocks
 * for new ones. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/self.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "queue/queue_int.h"
#include "queue/redis_int.h"

#define STREAM_KEY "cloudplane:runs"
#define GROUP "workers"
#define STREAM_MAXLEN "100000"
#define CONNECT_TIMEOUT_MS 1500
/* Socket timeout for every command; a blocking read asks Redis for at most
 * BLOCK_SLICE_MS, so a healthy server always answers well within it. */
#define IO_TIMEOUT_MS 5000
#define BLOCK_SLICE_MS 1000
#define MAX_IDLE_CONNS 16
#define PEL_PAGE 16
#define RECLAIM_BATCH 100
/* Every process start adds a consumer ("host-pid"); reclaim deletes those
 * with nothing pending that have not read for this long. */
#ifndef STALE_CONSUMER_MS
#define STALE_CONSUMER_MS (6LL * 3600 * 1000)
#endif
/* How long a failed pop pauses before returning, so a caller retrying at once
 * does not spin while Redis is down. */
#define FAIL_PAUSE_MS 500

typedef struct rconn {
    struct rconn *next; /* in the idle list or the blocked list */
    redisContext *c;
    uint64_t epoch;
} rconn;

typedef enum { PUT_OK, PUT_DISCARD } put_mode;

typedef struct {
    cp_queue base;
    cp_redis_addr addr;
    char where[300];
    char consumer[128];
    pthread_mutex_t mu;
    pthread_cond_t cv; /* monotonic; signalled by wake to cut a failure pause short */
    rconn *idle;
    int n_idle;
    rconn *blocked;    /* connections inside a blocking XREADGROUP; wake shuts them down */
    uint64_t epoch;    /* bumped on I/O failure: connections from older epochs are dropped */
    uint64_t wake_gen; /* bumped by wake: pops that started earlier return CP_EAGAIN */
    uint64_t pel_gen;  /* bumped when our PEL may have gained entries nobody here runs */
    char (*inflight)[CP_QUEUE_ID_MAX];
    size_t n_inflight, cap_inflight;
    bool down; /* an outage was logged; the next successful connect says so */
} rqueue;

/* ---- in-flight set (caller holds q->mu) ---- */

static bool inflight_has(const rqueue *q, const char *id)
{
    for (size_t i = 0; i < q->n_inflight; i++)
        if (!strcmp(q->inflight[i], id)) return true;
    return false;
}

/* False if id is already held here. */
static bool inflight_add(rqueue *q, const char *id)
{
    if (inflight_has(q, id)) return false;
    if (q->n_inflight == q->cap_inflight) {
        size_t cap = q->cap_inflight ? q->cap_inflight * 2 : 16;
        q->inflight = cp_xreallocarray(q->inflight, cap, sizeof *q->inflight);
        q->cap_inflight = cap;
    }
    snprintf(q->inflight[q->n_inflight++], CP_QUEUE_ID_MAX, "%s", id);
    return true;
}

static void inflight_del(rqueue *q, const char *id)
{
    for (size_t i = 0; i < q->n_inflight; i++) {
        if (!strcmp(q->inflight[i], id)) {
            q->n_inflight--;
            if (i != q->n_inflight) memcpy(q->inflight[i], q->inflight[q->n_inflight], CP_QUEUE_ID_MAX);
            return;
        }
    }
}

/* ---- connections ---- */

static cp_result io_error(const rqueue *q, const redisContext *c, cp_error *err)
{
    return cp_error_set(err, CP_ERR, "queue_unavailable", NULL, "redis at %s: %s", q->where,
                        c->errstr[0] ? c->errstr : "connection failed");
}

static cp_result reply_error(const rqueue *q, const redisReply *r, const char *cmd, cp_error *err)
{
    return cp_error_set(err, CP_ERR, "queue_error", NULL, "redis at %s: %s: %s", q->where, cmd,
                        r->str ? r->str : "error");
}

/* XGROUP CREATE … MKSTREAM; an existing group (BUSYGROUP) is fine. Id 0, not
 * $, so items pushed before the group existed (e.g. right after a restart)
 * are still delivered. */
static bool ensure_group(const rqueue *q, redisContext *c, cp_error *err)
{
    redisReply *r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", STREAM_KEY, GROUP);
    if (!r) {
        io_error(q, c, err);
        return false;
    }
    bool ok = r->type != REDIS_REPLY_ERROR || cp_redis_is_err(r, "BUSYGROUP");
    if (!ok) reply_error(q, r, "XGROUP CREATE", err);
    freeReplyObject(r);
    return ok;
}

static rconn *conn_new(rqueue *q, uint64_t epoch, cp_error *err)
{
    redisContext *c = cp_redis_connect(&q->addr, CONNECT_TIMEOUT_MS, IO_TIMEOUT_MS, err);
    if (c && !ensure_group(q, c, err)) {
        redisFree(c);
        c = NULL;
    }
    rconn *rc = c ? cp_xcalloc(1, sizeof *rc) : NULL;
    pthread_mutex_lock(&q->mu);
    bool was_down = q->down;
    q->down = !rc;
    pthread_mutex_unlock(&q->mu);
    if (!rc) {
        if (!was_down) cp_log_warn("queue: redis unreachable: %s", err ? err->message : "connect failed");
        return NULL;
    }
    if (was_down) cp_log_info("queue: redis at %s reachable again", q->where);
    rc->c = c;
    rc->epoch = epoch;
    return rc;
}

static rconn *conn_get(rqueue *q, cp_error *err)
{
    rconn *rc = NULL;
    pthread_mutex_lock(&q->mu);
    while (q->idle && !rc) {
        rc = q->idle;
        q->idle = rc->next;
        q->n_idle--;
        if (rc->epoch != q->epoch) {
            redisFree(rc->c);
            free(rc);
            rc = NULL;
        }
    }
    uint64_t epoch = q->epoch;
    pthread_mutex_unlock(&q->mu);
    if (rc) {
        rc->next = NULL;
        return rc;
    }
    return conn_new(q, epoch, err);
}

/* Returns a connection to the pool. One that failed with an I/O error
 * invalidates its siblings too; PUT_DISCARD (wake shut it down) does not. */
static void conn_put(rqueue *q, rconn *rc, put_mode mode)
{
    bool broken = rc->c->err != 0;
    pthread_mutex_lock(&q->mu);
    if (!broken && mode == PUT_OK && rc->epoch == q->epoch && q->n_idle < MAX_IDLE_CONNS) {
        rc->next = q->idle;
        q->idle = rc;
        q->n_idle++;
        pthread_mutex_unlock(&q->mu);
        return;
    }
    /* A read that died may have had an entry delivered to us that we never saw. */
    if (broken || mode == PUT_DISCARD) q->pel_gen++;
    bool first_failure = broken && mode == PUT_OK && rc->epoch == q->epoch;
    if (first_failure) q->epoch++;
    pthread_mutex_unlock(&q->mu);
    if (first_failure) cp_log_warn("queue: redis connection failed (%s); reconnecting", rc->c->errstr);
    redisFree(rc->c);
    free(rc);
}

/* Runs one command on a pooled connection. A connection failure is retried
 * once on a fresh connection, since after a Redis restart every pooled one is
 * dead; NOGROUP (restart without persistence) recreates the group once.
 * Returns the reply (caller frees) or NULL with err set. */
static redisReply *q_cmd(rqueue *q, int argc, const char **argv, cp_error *err)
{
    bool regrouped = false;
    for (int attempt = 0; attempt < 3; attempt++) {
        rconn *rc = conn_get(q, err);
        if (!rc) return NULL;
        redisReply *r = redisCommandArgv(rc->c, argc, argv, NULL);
        if (!r) {
            io_error(q, rc->c, err);
            conn_put(q, rc, PUT_OK);
            if (attempt > 0) return NULL; /* a fresh connection failed too */
            continue;
        }
        if (cp_redis_is_err(r, "NOGROUP") && !regrouped) {
            freeReplyObject(r);
            regrouped = true;
            bool ok = ensure_group(q, rc->c, err);
            conn_put(q, rc, PUT_OK);
            if (!ok) return NULL;
            continue;
        }
        conn_put(q, rc, PUT_OK);
        if (r->type == REDIS_REPLY_ERROR) {
            reply_error(q, r, argv[0], err);
            freeReplyObject(r);
            return NULL;
        }
        return r;
    }
    return NULL;
}

/* ---- replies ---- */

/* The entries array of our stream in an XREADGROUP reply; NULL when none. */
static const redisReply *stream_entries(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) return NULL;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2) return NULL;
    const redisReply *e = s->element[1];
    return e->type == REDIS_REPLY_ARRAY ? e : NULL;
}

/* Splits [id, [field, value, …]]. *run_id is NULL when the entry was deleted
 * or has no run_id field. False if the shape is not an entry at all. */
static bool entry_parse(const redisReply *e, const char **id, const char **run_id)
{
    *id = NULL;
    *run_id = NULL;
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) return false;
    const redisReply *idr = e->element[0];
    if (idr->type != REDIS_REPLY_STRING || idr->len == 0 || idr->len >= CP_QUEUE_ID_MAX) return false;
    *id = idr->str;
    const redisReply *f = e->element[1];
    if (f->type != REDIS_REPLY_ARRAY) return true; /* nil: deleted while pending */
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const redisReply *k = f->element[i], *v = f->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && !strcmp(k->str, "run_id") && v->type == REDIS_REPLY_STRING && v->len > 0 &&
            v->len < CP_QUEUE_ID_MAX) {
            *run_id = v->str;
            break;
        }
    }
    return true;
}

/* Drops an entry nobody can run (deleted by trimming, or not ours). */
static void drop_entry(redisContext *c, const char *id)
{
    redisReply *r = redisCommand(c, "XACK %s %s %s", STREAM_KEY, GROUP, id);
    if (r) freeReplyObject(r);
    r = c->err ? NULL : redisCommand(c, "XDEL %s %s", STREAM_KEY, id);
    if (r) freeReplyObject(r);
}

/* Claims the entry for this call if no thread here holds it. The reply that
 * named it may be stale: between Redis answering and this check another
 * thread here may have taken, run and acked the same entry (a pending-list
 * scan sees entries the moment '>' delivers them). XCLAIM then asks the
 * server whether the entry is still pending for us.
 * 1: taken; 0: not ours to run; -1: connection failed. */
static int take_entry(rqueue *q, rconn *rc, const char *id, const char *run_id, char run_out[CP_QUEUE_ID_MAX],
                      char token[CP_QUEUE_ID_MAX])
{
    pthread_mutex_lock(&q->mu);
    bool mine = inflight_add(q, id);
    pthread_mutex_unlock(&q->mu);
    if (!mine) return 0;
    redisReply *r = redisCommand(rc->c, "XCLAIM %s %s %s 0 %s JUSTID", STREAM_KEY, GROUP, q->consumer, id);
    bool still = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1;
    if (r) freeReplyObject(r);
    if (!still) {
        pthread_mutex_lock(&q->mu);
        inflight_del(q, id);
        pthread_mutex_unlock(&q->mu);
        return r ? 0 : -1;
    }
    snprintf(run_out, CP_QUEUE_ID_MAX, "%s", run_id);
    snprintf(token, CP_QUEUE_ID_MAX, "%s", id);
    return 1;
}

/* ---- operations ---- */

static cp_result r_push(cp_queue *base, const char *run_id, cp_error *err)
{
    rqueue *q = (rqueue *)base;
    const char *argv[] = {"XADD", STREAM_KEY, "MAXLEN", "~", STREAM_MAXLEN, "*", "run_id", run_id};
    redisReply *r = q_cmd(q, (int)CP_ARRAY_LEN(argv), argv, err);
    if (!r) return err ? err->result : CP_ERR;
    freeReplyObject(r);
    return CP_OK;
}

/* Delivers one of this consumer's pending entries that no thread here holds.
 * CP_OK: found; CP_EAGAIN: none; CP_ERR: the connection or Redis failed. */
static cp_result scan_pending(rqueue *q, rconn *rc, char run_id[CP_QUEUE_ID_MAX], char token[CP_QUEUE_ID_MAX],
                              cp_error *err)
{
    char start[CP_QUEUE_ID_MAX] = "0";
    char count[8];
    snprintf(count, sizeof count, "%d", PEL_PAGE);
    for (int page = 0; page < 1000; page++) {
        const char *argv[] = {"XREADGROUP", "GROUP", GROUP, q->consumer, "COUNT", count, "STREAMS", STREAM_KEY, start};
        redisReply *r = redisCommandArgv(rc->c, (int)CP_ARRAY_LEN(argv), argv, NULL);
        if (!r) return io_error(q, rc->c, err);
        if (cp_redis_is_err(r, "NOGROUP")) { /* no group, no pending entries; the blocking read recreates it */
            freeReplyObject(r);
            return CP_EAGAIN;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            reply_error(q, r, "XREADGROUP", err);
            freeReplyObject(r);
            return CP_ERR;
        }
        const redisReply *entries = stream_entries(r);
        size_t n = entries ? entries->elements : 0;
        for (size_t i = 0; i < n; i++) {
            const char *id, *rid;
            if (!entry_parse(entries->element[i], &id, &rid) || !id) continue;
            snprintf(start, sizeof start, "%s", id);
            if (!rid) {
                drop_entry(rc->c, id);
                continue;
            }
            int t = take_entry(q, rc, id, rid, run_id, token);
            if (t == 0) continue;
            freeReplyObject(r);
            return t > 0 ? CP_OK : io_error(q, rc->c, err);
        }
        freeReplyObject(r);
        if (n < PEL_PAGE) break;
    }
    return CP_EAGAIN;
}

static bool woken(rqueue *q, uint64_t gen)
{
    pthread_mutex_lock(&q->mu);
    bool w = q->wake_gen != gen;
    pthread_mutex_unlock(&q->mu);
    return w;
}

/* One read of new entries, blocking up to block_ms (0: just look), visible to
 * wake while it waits. Returns the reply or NULL (the connection failed, or a
 * wake came first). *was_woken says whether a wake came before or during the
 * read; the connection may then have been shut down. */
static redisReply *read_new(rqueue *q, rconn *rc, uint64_t gen, int64_t block_ms, bool *was_woken)
{
    char block[24];
    snprintf(block, sizeof block, "%lld", (long long)block_ms);
    const char *argv[11];
    int argc = 0;
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = GROUP;
    argv[argc++] = q->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = "1";
    if (block_ms > 0) { /* BLOCK 0 would mean forever */
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = STREAM_KEY;
    argv[argc++] = ">";

    pthread_mutex_lock(&q->mu);
    *was_woken = q->wake_gen != gen;
    if (*was_woken) {
        pthread_mutex_unlock(&q->mu);
        return NULL;
    }
    rc->next = q->blocked;
    q->blocked = rc;
    pthread_mutex_unlock(&q->mu);

    redisReply *r = redisCommandArgv(rc->c, argc, argv, NULL);

    pthread_mutex_lock(&q->mu);
    for (rconn **pp = &q->blocked; *pp; pp = &(*pp)->next) {
        if (*pp == rc) {
            *pp = rc->next;
            break;
        }
    }
    rc->next = NULL;
    *was_woken = q->wake_gen != gen;
    pthread_mutex_unlock(&q->mu);
    return r;
}

/* Pops on one connection until an item, the deadline or a wake. Always gives
 * rc back. CP_ERR means the connection or Redis failed (err set). */
static cp_result pop_on(rqueue *q, rconn *rc, uint64_t gen, int64_t deadline, char run_id[CP_QUEUE_ID_MAX],
                        char token[CP_QUEUE_ID_MAX], cp_error *err)
{
    bool first = true, regrouped = false, was_woken = false;
    uint64_t pel_seen = 0;
    cp_result res = CP_ERR;
    for (;;) {
        pthread_mutex_lock(&q->mu);
        uint64_t pel_now = q->pel_gen;
        was_woken = q->wake_gen != gen;
        pthread_mutex_unlock(&q->mu);
        if (was_woken) {
            res = cp_error_set(err, CP_EAGAIN, "queue_woken", NULL, "queue woken");
            break;
        }
        /* Entries taken over by reclaim first: they have waited longest. */
        if (first || pel_now != pel_seen) {
            pel_seen = pel_now;
            res = scan_pending(q, rc, run_id, token, err);
            if (res != CP_EAGAIN) break;
        }
        int64_t left = deadline - cp_mono_ms();
        if (left <= 0 && !first) {
            res = cp_error_set(err, CP_EAGAIN, "queue_empty", NULL, "no work item arrived");
            break;
        }
        first = false;
        redisReply *r =
            read_new(q, rc, gen, left > BLOCK_SLICE_MS ? BLOCK_SLICE_MS : (left > 0 ? left : 0), &was_woken);
        if (!r) {
            res =
                was_woken ? cp_error_set(err, CP_EAGAIN, "queue_woken", NULL, "queue woken") : io_error(q, rc->c, err);
            break;
        }
        if (cp_redis_is_err(r, "NOGROUP") && !regrouped) {
            freeReplyObject(r);
            regrouped = true;
            if (!ensure_group(q, rc->c, err)) break;
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            res = reply_error(q, r, "XREADGROUP", err);
            freeReplyObject(r);
            break;
        }
        const redisReply *entries = stream_entries(r);
        const char *id = NULL, *rid = NULL;
        if (entries && entries->elements > 0) entry_parse(entries->element[0], &id, &rid);
        int t = 0;
        if (id && !rid)
            drop_entry(rc->c, id);
        else if (id)
            t = take_entry(q, rc, id, rid, run_id, token);
        freeReplyObject(r);
        if (t != 0) {
            /* Delivered even if a wake came meanwhile: it is in our PEL now. */
            res = t > 0 ? CP_OK : io_error(q, rc->c, err);
            break;
        }
        if (was_woken) {
            res = cp_error_set(err, CP_EAGAIN, "queue_woken", NULL, "queue woken");
            break;
        }
    }
    /* After a wake the socket may be shut down: never pool it, but it says
     * nothing about the health of the other connections. */
    conn_put(q, rc, was_woken ? PUT_DISCARD : PUT_OK);
    return res;
}

/* Sleeps until ms passes or a wake comes. */
static void pause_ms(rqueue *q, uint64_t gen, int64_t ms)
{
    if (ms <= 0) return;
    struct timespec until = cp_deadline_ts(ms);
    pthread_mutex_lock(&q->mu);
    while (q->wake_gen == gen)
        if (pthread_cond_timedwait(&q->cv, &q->mu, &until) != 0) break;
    pthread_mutex_unlock(&q->mu);
}

static cp_result r_pop(cp_queue *base, int timeout_ms, char run_id[CP_QUEUE_ID_MAX], char token[CP_QUEUE_ID_MAX],
                       cp_error *err)
{
    rqueue *q = (rqueue *)base;
    int64_t deadline = cp_mono_ms() + timeout_ms;
    pthread_mutex_lock(&q->mu);
    uint64_t gen = q->wake_gen;
    pthread_mutex_unlock(&q->mu);
    /* A second try covers pooled connections that died in a Redis restart. */
    for (int attempt = 0; attempt < 2; attempt++) {
        rconn *rc = conn_get(q, err);
        if (!rc) break;
        cp_result res = pop_on(q, rc, gen, deadline, run_id, token, err);

        if (res != CP_ERR) return res;
    }
    int64_t left = deadline - cp_mono_ms();
    pause_ms(q, gen, left < FAIL_PAUSE_MS ? left : FAIL_PAUSE_MS);
    if (woken(q, gen)) return cp_error_set(err, CP_EAGAIN, "queue_woken", NULL, "queue woken");
    return err ? err->result : CP_ERR;
}

static bool valid_stream_id(const char *s)
{
    /* <ms>-<seq>, both decimal. */
    const char *p = s;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') p++;
    if (*p++ != '-') return false;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') p++;
    return *p == '\0';
}

static cp_result r_ack(cp_queue *base, const char *token, cp_error *err)
{
    rqueue *q = (rqueue *)base;
    if (!valid_stream_id(token)) return cp_error_set(err, CP_EINVAL, NULL, "token", "bad queue token");
    const char *ack[] = {"XACK", STREAM_KEY, GROUP, token};
    redisReply *r = q_cmd(q, (int)CP_ARRAY_LEN(ack), ack, err);
    /* Only after XACK, so a pending-list scan elsewhere in this process either
     * still sees it held here or finds it gone from the server. Forget it
     * even if XACK failed: a later pop may hand it out again and the claim
     * in the database turns it away. */
    pthread_mutex_lock(&q->mu);
    inflight_del(q, token);
    pthread_mutex_unlock(&q->mu);
    if (!r) return err ? err->result : CP_ERR;
    freeReplyObject(r);
    /* Deleting keeps the stream short; a failure here costs only memory until MAXLEN trims it. */
    const char *del[] = {"XDEL", STREAM_KEY, token};
    cp_error ignored;
    r = q_cmd(q, (int)CP_ARRAY_LEN(del), del, &ignored);
    if (r) freeReplyObject(r);
    return CP_OK;
}

/* Resets the idle time of entries that threads here are running, so that a
 * reclaim elsewhere does not take over live work. */
static cp_result touch_inflight(rqueue *q, cp_error *err)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->n_inflight;
    char(*ids)[CP_QUEUE_ID_MAX] = n ? cp_xreallocarray(NULL, n, sizeof *ids) : NULL;
    if (ids) memcpy(ids, q->inflight, n * sizeof *ids);
    pthread_mutex_unlock(&q->mu);
    if (!ids) return CP_OK;
    cp_result res = CP_OK;
    const char *argv[5 + RECLAIM_BATCH + 1];
    for (size_t i = 0; i < n && res == CP_OK; i += RECLAIM_BATCH) {
        int argc = 0;
        argv[argc++] = "XCLAIM";
        argv[argc++] = STREAM_KEY;
        argv[argc++] = GROUP;
        argv[argc++] = q->consumer;
        argv[argc++] = "0";
        for (size_t j = i; j < n && j < i + RECLAIM_BATCH; j++) argv[argc++] = ids[j];
        argv[argc++] = "JUSTID";
        redisReply *r = q_cmd(q, argc, argv, err);
        if (r)
            freeReplyObject(r);
        else
            res = err ? err->result : CP_ERR;
    }
    free(ids);
    return res;
}

/* Field value of a flat [name, value, …] XINFO reply. */
static const redisReply *info_field(const redisReply *r, const char *name)
{
    if (r->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, name)) return r->element[i + 1];
    return NULL;
}

/* Housekeeping, best effort: drops dead processes' consumers. Only those with
 * an empty pending list go, so no entry loses its owner. */
static void forget_stale_consumers(rqueue *q)
{
    cp_error ignored;
    const char *argv[] = {"XINFO", "CONSUMERS", STREAM_KEY, GROUP};
    redisReply *r = q_cmd(q, (int)CP_ARRAY_LEN(argv), argv, &ignored);
    if (!r) return;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *name = info_field(r->element[i], "name");
        const redisReply *pending = info_field(r->element[i], "pending");
        const redisReply *idle = info_field(r->element[i], "idle");
        if (!name || name->type != REDIS_REPLY_STRING || !pending || pending->type != REDIS_REPLY_INTEGER || !idle ||
            idle->type != REDIS_REPLY_INTEGER)
            continue;
        if (pending->integer != 0 || idle->integer < STALE_CONSUMER_MS || !strcmp(name->str, q->consumer)) continue;
        const char *del[] = {"XGROUP", "DELCONSUMER", STREAM_KEY, GROUP, name->str};
        redisReply *d = q_cmd(q, (int)CP_ARRAY_LEN(del), del, &ignored);
        if (d) freeReplyObject(d);
    }
    freeReplyObject(r);
}

static cp_result r_reclaim(cp_queue *base, int64_t min_idle_ms, cp_error *err)
{
    rqueue *q = (rqueue *)base;
    cp_result res = touch_inflight(q, err);
    if (res != CP_OK) return res;
    char idle[24], count[8], cursor[CP_QUEUE_ID_MAX] = "0-0";
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(count, sizeof count, "%d", RECLAIM_BATCH);
    size_t claimed = 0;
    /* Bounded: each round moves the cursor forward; 100 rounds cover 10000 entries. */
    for (int round = 0; round < 100; round++) {
        const char *argv[] = {"XAUTOCLAIM", STREAM_KEY, GROUP, q->consumer, idle, cursor, "COUNT", count, "JUSTID"};
        redisReply *r = q_cmd(q, (int)CP_ARRAY_LEN(argv), argv, err);
        if (!r) {
            res = err ? err->result : CP_ERR;
            break;
        }
        bool more = false;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_ARRAY) {
            claimed += r->element[1]->elements;
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            more = strcmp(cursor, "0-0") != 0;
        }
        freeReplyObject(r);
        if (!more) break;
    }
    if (claimed) {
        pthread_mutex_lock(&q->mu);
        q->pel_gen++;
        pthread_mutex_unlock(&q->mu);
        cp_log_info("queue: took over %zu work items idle for more than %lld ms", claimed, (long long)min_idle_ms);
    }
    if (res == CP_OK) forget_stale_consumers(q);
    return res;
}

/* Stream entry id "ms-seq" as two numbers; false if it is not one. */
static bool parse_entry_id(const redisReply *r, unsigned long long *ms, unsigned long long *seq)
{
    return r && r->type == REDIS_REPLY_STRING && sscanf(r->str, "%llu-%llu", ms, seq) == 2;
}

/* Entries after the group's last-delivered-id were never handed out; acked
 * ones are deleted, and one whose XDEL failed is at or before that id, so it
 * cannot make this true. Anything unreadable says "none", which only costs a
 * duplicate push. */
static cp_result r_undelivered(cp_queue *base, bool *any, cp_error *err)
{
    rqueue *q = (rqueue *)base;
    const char *sargv[] = {"XINFO", "STREAM", STREAM_KEY};
    redisReply *s = q_cmd(q, (int)CP_ARRAY_LEN(sargv), sargv, err);
    if (!s) return err ? err->result : CP_ERR;
    const char *gargv[] = {"XINFO", "GROUPS", STREAM_KEY};
    redisReply *g = q_cmd(q, (int)CP_ARRAY_LEN(gargv), gargv, err);
    if (!g) {
        freeReplyObject(s);
        return err ? err->result : CP_ERR;
    }
    unsigned long long gen_ms, gen_seq, del_ms, del_seq;
    bool have_gen = parse_entry_id(info_field(s, "last-generated-id"), &gen_ms, &gen_seq);
    for (size_t i = 0; have_gen && g->type == REDIS_REPLY_ARRAY && i < g->elements; i++) {
        const redisReply *name = info_field(g->element[i], "name");
        if (!name || name->type != REDIS_REPLY_STRING || strcmp(name->str, GROUP) != 0) continue;
        if (parse_entry_id(info_field(g->element[i], "last-delivered-id"), &del_ms, &del_seq))
            *any = gen_ms > del_ms || (gen_ms == del_ms && gen_seq > del_seq);
    }
    freeReplyObject(s);
    freeReplyObject(g);
    return CP_OK;
}

static cp_result r_ping(cp_queue *base, cp_error *err)
{
    rqueue *q = (rqueue *)base;
    const char *argv[] = {"PING"};
    redisReply *r = q_cmd(q, 1, argv, err);
    if (!r) return err ? err->result : CP_ERR;
    freeReplyObject(r);
    return CP_OK;
}

static void r_wake(cp_queue *base)
{
    rqueue *q = (rqueue *)base;
    pthread_mutex_lock(&q->mu);
    q->wake_gen++;
    /* SHUT_RD ends a blocked read at once without touching the network or
     * closing an fd another thread still uses; no write can raise SIGPIPE. */
    for (rconn *rc = q->blocked; rc; rc = rc->next) shutdown(rc->c->fd, SHUT_RD);
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static void r_close(cp_queue *base)
{
    rqueue *q = (rqueue *)base;
    for (rconn *rc = q->idle, *next; rc; rc = next) {
        next = rc->next;
        redisFree(rc->c);
        free(rc);
    }
    free(q->inflight);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static const cp_queue_ops redis_ops = {
    .close = r_close,
    .push = r_push,
    .pop = r_pop,
    .ack = r_ack,
    .reclaim = r_reclaim,
    .undelivered = r_undelivered,
    .ping = r_ping,
    .wake = r_wake,
};

cp_result cp_queue_redis_open(const char *redis_url, const char *consumer, cp_queue **out, cp_error *err)
{
    cp_redis_addr addr;
    cp_result res = cp_redis_parse_url(redis_url, &addr, err);
    if (res != CP_OK) return res;
    rqueue *q = cp_xcalloc(1, sizeof *q);

    q->base.ops = &redis_ops;
    q->base.redis = true;
    q->addr = addr;
    cp_redis_describe(&addr, q->where, sizeof q->where);
    if (consumer && consumer[0]) {
        snprintf(q->consumer, sizeof q->consumer, "%s", consumer);
    } else {
        cp_self_host_id(q->consumer, sizeof q->consumer);
    }
    pthread_mutex_init(&q->mu, NULL);
    cp_cond_init_monotonic(&q->cv);
    /* Connect now so a wrong URL or a missing server fails at start-up. */
    rconn *rc = conn_new(q, 0, err);
    if (!rc) {
        r_close(&q->base);
        return err ? err->result : CP_ERR;
    }
    conn_put(q, rc, PUT_OK);
    cp_log_info("queue: redis streams at %s, stream %s, group %s, consumer %s", q->where, STREAM_KEY, GROUP,
                q->consumer);
    *out = &q->base;
    return CP_OK;
}
