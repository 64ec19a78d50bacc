/* queue.h: dispatch of run ids to workers. Two implementations behind one
 * handle: an in-process queue (embedded mode) and Redis Streams with a
 * consumer group (distributed mode). The database stays the truth: the queue
 * carries only wake-ups and work items, and a reconciler re-enqueues queued
 * runs nobody holds, so a lost message loses no run. */
#ifndef CP_QUEUE_H
#define CP_QUEUE_H

#include "core/error.h"

#define CP_QUEUE_ID_MAX 64

typedef struct cp_queue cp_queue;

/* redis_url NULL or "" selects the in-process queue. consumer names this
 * process in the consumer group (e.g. "host-pid"). */
cp_result cp_queue_open(const char *redis_url, const char *consumer, cp_queue **out, cp_error *err) CP_MUST_CHECK;
void cp_queue_close(cp_queue *q);
bool cp_queue_is_redis(const cp_queue *q);

/* Appends a work item (call after the run's row is committed). */
cp_result cp_queue_push(cp_queue *q, const char *run_id, cp_error *err) CP_MUST_CHECK;
/* Waits up to timeout_ms for an item. CP_OK: run_id and token (pass to ack)
 * are set. CP_EAGAIN: nothing arrived (or cp_queue_wake was called). Other
 * results: the backend is unreachable (the caller retries later). */
cp_result cp_queue_pop(cp_queue *q, int timeout_ms, char run_id[CP_QUEUE_ID_MAX], char token[CP_QUEUE_ID_MAX],
                       cp_error *err) CP_MUST_CHECK;
/* Acknowledges an item when its run has ended (XACK). */
cp_result cp_queue_ack(cp_queue *q, const char *token, cp_error *err) CP_MUST_CHECK;
/* Takes over items delivered to consumers that have been idle longer than
 * min_idle_ms (XAUTOCLAIM); later pops return them. No-op in-process. */
cp_result cp_queue_reclaim(cp_queue *q, int64_t min_idle_ms, cp_error *err) CP_MUST_CHECK;
/* Whether items wait that no worker has been handed yet (*any). The
 * reconciler re-pushes a long-waiting run only when none do: while they do,
 * the run's own item may simply be among them, and a re-push would only queue
 * a duplicate behind them. */
cp_result cp_queue_has_undelivered(cp_queue *q, bool *any, cp_error *err) CP_MUST_CHECK;
/* Round trip to the backend, for /readyz. */
cp_result cp_queue_ping(cp_queue *q, cp_error *err) CP_MUST_CHECK;
/* Makes blocked pops return CP_EAGAIN promptly (shutdown). */
void cp_queue_wake(cp_queue *q);

#endif
