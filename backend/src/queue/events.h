/* events.h: live fan-out of "run X has new events" notices to whoever streams
 * that run (SSE) and "cancel run X" notices to whoever runs it. In-process in
 * embedded mode; Redis pub/sub (one channel) in distributed mode, so any API
 * instance can stream any run. Notices carry no event data: subscribers read
 * the events from the store, which stays the truth. */
#ifndef CP_EVENTS_H
#define CP_EVENTS_H

#include "core/error.h"

typedef struct cp_events cp_events;
typedef struct cp_events_sub cp_events_sub;

typedef enum { CP_NOTICE_EVENTS = 1, CP_NOTICE_CANCEL = 2 } cp_notice_kind;

/* Called on a hub thread; must be quick and must not call back into the hub. */
typedef void (*cp_events_fn)(void *ctx, const char *run_id, cp_notice_kind kind, int64_t seq);

cp_result cp_events_open(const char *redis_url, cp_events **out, cp_error *err) CP_MUST_CHECK;
void cp_events_close(cp_events *ev);
/* Notifies every subscriber of run_id (in every process). Best effort: a lost
 * notice only delays a stream until its next poll. */
void cp_events_publish(cp_events *ev, const char *run_id, cp_notice_kind kind, int64_t seq);
/* run_id NULL subscribes to every run. */
cp_events_sub *cp_events_subscribe(cp_events *ev, const char *run_id, cp_events_fn fn, void *ctx);
/* After this returns, fn is not running and will not be called again. */
void cp_events_unsubscribe(cp_events *ev, cp_events_sub *sub);

#endif
