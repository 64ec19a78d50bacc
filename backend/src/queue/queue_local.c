/* queue_local.c: the in-process queue of embedded mode. A FIFO under a mutex;
 * pops wait on a condition variable. Items live only in memory: the database
 * reconciler re-enqueues whatever a restart loses. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/timeutil.h"
#include "core/xalloc.h"
#include "queue/queue_int.h"

/* A cap keeps a runaway producer from eating memory; the reconciler re-pushes
 * what a full queue refuses. */
#define LOCAL_MAX_ITEMS 100000

typedef struct lnode {
    struct lnode *next;
    char run_id[CP_QUEUE_ID_MAX];
} lnode;

typedef struct {
    cp_queue base;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC, so wall-clock jumps do not stretch waits */
    lnode *head, *tail;
    size_t len;
    uint64_t wake_gen; /* bumped by wake: pops that started earlier return CP_EAGAIN */
    uint64_t seq;      /* token source; tokens only exist for symmetry with Redis */
} lqueue;

static void l_close(cp_queue *base)
{
    lqueue *q = (lqueue *)base;
    for (lnode *n = q->head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

static cp_result l_push(cp_queue *base, const char *run_id, cp_error *err)
{
    lqueue *q = (lqueue *)base;
    lnode *n = cp_xcalloc(1, sizeof *n);
    snprintf(n->run_id, sizeof n->run_id, "%s", run_id);
    pthread_mutex_lock(&q->mu);
    if (q->len >= LOCAL_MAX_ITEMS) {
        pthread_mutex_unlock(&q->mu);
        free(n);
        return cp_error_set(err, CP_EAGAIN, "queue_full", NULL, "the run queue is full");
    }
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->len++;
    pthread_cond_signal(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return CP_OK;
}

static cp_result l_pop(cp_queue *base, int timeout_ms, char run_id[CP_QUEUE_ID_MAX], char token[CP_QUEUE_ID_MAX],
                       cp_error *err)
{
    lqueue *q = (lqueue *)base;
    struct timespec until = cp_deadline_ts(timeout_ms);
    pthread_mutex_lock(&q->mu);
    uint64_t gen = q->wake_gen;
    while (!q->head && q->wake_gen == gen) {
        if (pthread_cond_timedwait(&q->cv, &q->mu, &until) != 0) break; /* ETIMEDOUT */
    }
    lnode *n = q->wake_gen == gen ? q->head : NULL;
    if (n) {
        q->head = n->next;
        if (!q->head) q->tail = NULL;
        q->len--;
        q->seq++;
        snprintf(token, CP_QUEUE_ID_MAX, "local-%llu", (unsigned long long)q->seq);
        /* Another waiter may be able to take the next item right away. */
        if (q->head) pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
    if (!n) return cp_error_set(err, CP_EAGAIN, "queue_empty", NULL, "no work item arrived");
    memcpy(run_id, n->run_id, CP_QUEUE_ID_MAX);
    free(n);
    return CP_OK;
}

static cp_result l_ack(cp_queue *base, const char *token, cp_error *err)
{
    CP_UNUSED(base);
    CP_UNUSED(token);
    CP_UNUSED(err);
    return CP_OK;
}

static cp_result l_reclaim(cp_queue *base, int64_t min_idle_ms, cp_error *err)
{
    CP_UNUSED(base);
    CP_UNUSED(min_idle_ms);
    CP_UNUSED(err);
    return CP_OK;
}

static cp_result l_undelivered(cp_queue *base, bool *any, cp_error *err)
{
    CP_UNUSED(err);
    lqueue *q = (lqueue *)base;
    pthread_mutex_lock(&q->mu);
    *any = q->len > 0;
    pthread_mutex_unlock(&q->mu);
    return CP_OK;
}

static cp_result l_ping(cp_queue *base, cp_error *err)
{
    CP_UNUSED(base);
    CP_UNUSED(err);
    return CP_OK;
}

static void l_wake(cp_queue *base)
{
    lqueue *q = (lqueue *)base;
    pthread_mutex_lock(&q->mu);
    q->wake_gen++;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

static const cp_queue_ops local_ops = {
    .close = l_close,
    .push = l_push,
    .pop = l_pop,
    .ack = l_ack,
    .reclaim = l_reclaim,
    .undelivered = l_undelivered,
    .ping = l_ping,
    .wake = l_wake,
};

cp_result cp_queue_local_open(cp_queue **out, cp_error *err)
{
    CP_UNUSED(err); /* cannot fail; the signature matches cp_queue_redis_open */
    lqueue *q = cp_xcalloc(1, sizeof *q);

    q->base.ops = &local_ops;
    q->base.redis = false;
    pthread_mutex_init(&q->mu, NULL);
    cp_cond_init_monotonic(&q->cv);
    *out = &q->base;
    return CP_OK;
}
