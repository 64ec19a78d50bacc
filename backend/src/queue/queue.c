/* queue.c: argument checks shared by both queue implementations, and the
 * choice between them. */
#include "queue/queue_int.h"

#include <string.h>

cp_result cp_queue_open(const char *redis_url, const char *consumer, cp_queue **out, cp_error *err)
{
    *out = NULL;
    if (!redis_url || !redis_url[0]) return cp_queue_local_open(out, err);
    return cp_queue_redis_open(redis_url, consumer, out, err);
}

void cp_queue_close(cp_queue *q)
{
    if (q) q->ops->close(q);
}

bool cp_queue_is_redis(const cp_queue *q)
{
    return q && q->redis;
}

cp_result cp_queue_push(cp_queue *q, const char *run_id, cp_error *err)
{
    if (!run_id || !run_id[0] || strnlen(run_id, CP_QUEUE_ID_MAX) >= CP_QUEUE_ID_MAX)
        return cp_error_set(err, CP_EINVAL, NULL, "run_id", "run id must be 1..%d bytes", CP_QUEUE_ID_MAX - 1);
    return q->ops->push(q, run_id, err);
}

cp_result cp_queue_pop(cp_queue *q, int timeout_ms, char run_id[CP_QUEUE_ID_MAX], char token[CP_QUEUE_ID_MAX],
                       cp_error *err)
{
    run_id[0] = '\0';
    token[0] = '\0';
    if (timeout_ms < 0) timeout_ms = 0;
    return q->ops->pop(q, timeout_ms, run_id, token, err);
}

cp_result cp_queue_ack(cp_queue *q, const char *token, cp_error *err)
{
    if (!token || strnlen(token, CP_QUEUE_ID_MAX) >= CP_QUEUE_ID_MAX)
        return cp_error_set(err, CP_EINVAL, NULL, "token", "bad queue token");
    return q->ops->ack(q, token, err);
}

cp_result cp_queue_reclaim(cp_queue *q, int64_t min_idle_ms, cp_error *err)
{
    if (min_idle_ms < 0) min_idle_ms = 0;
    return q->ops->reclaim(q, min_idle_ms, err);
}

cp_result cp_queue_has_undelivered(cp_queue *q, bool *any, cp_error *err)
{
    *any = false;
    return q->ops->undelivered(q, any, err);
}

cp_result cp_queue_ping(cp_queue *q, cp_error *err)
{
    return q->ops->ping(q, err);
}

void cp_queue_wake(cp_queue *q)
{
    if (q) q->ops->wake(q);
}
