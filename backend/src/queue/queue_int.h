/* queue_int.h: the two queue implementations behind cp_queue. queue.c checks
 * arguments and dispatches; queue_local.c and queue_redis.c do the work. */
#ifndef CP_QUEUE_INT_H
#define CP_QUEUE_INT_H

#include "queue/queue.h"

typedef struct {
    void (*close)(cp_queue *q);
    cp_result (*push)(cp_queue *q, const char *run_id, cp_error *err);
    cp_result (*pop)(cp_queue *q, int timeout_ms, char run_id[CP_QUEUE_ID_MAX], char token[CP_QUEUE_ID_MAX],
                     cp_error *err);
    cp_result (*ack)(cp_queue *q, const char *token, cp_error *err);
    cp_result (*reclaim)(cp_queue *q, int64_t min_idle_ms, cp_error *err);
    cp_result (*undelivered)(cp_queue *q, bool *any, cp_error *err);
    cp_result (*ping)(cp_queue *q, cp_error *err);
    void (*wake)(cp_queue *q);
} cp_queue_ops;

/* Each implementation's handle starts with this. */
struct cp_queue {
    const cp_queue_ops *ops;
    bool redis;
};

cp_result cp_queue_local_open(cp_queue **out, cp_error *err) CP_MUST_CHECK;
cp_result cp_queue_redis_open(const char *redis_url, const char *consumer, cp_queue **out, cp_error *err) CP_MUST_CHECK;

#endif
