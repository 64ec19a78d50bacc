/* events.h: live fan-out of "run X has new events" notices to whoever streams
 * that run (SSE), "cancel run X" notices to whoever runs it, and "access of
 * user U / project P changed" notices to open streams, which re-check their
 * session and membership only then. In-process in
 * embedded mode; Redis pub/sub (one channel) in distributed mode, so any API
 * instance can stream any run. Notices carry no event data: subscribers read
 * the events from the store, which stays the truth. */
#ifndef CP_EVENTS_H
#define CP_EVENTS_H

#include "core/error.h"

typedef struct cp_events cp_events;
typedef struct cp_events_sub cp_events_sub;

typedef enum {
    CP_NOTICE_EVENTS = 1, /* subject: a run id; it has new events */
    CP_NOTICE_CANCEL = 2, /* subject: a run id; whoever runs it should stop */
    /* Access notices go to every subscriber, whatever run it subscribed to:
     * whoever holds something on the subject's behalf re-checks it. */
    CP_NOTICE_ACCESS_USER = 3,    /* subject: a user id; a session or membership of theirs changed */
    CP_NOTICE_ACCESS_PROJECT = 4, /* subject: a project id; it is gone, so are its memberships */
    /* Subject "*": notices may have been lost (the Redis subscription or a
     * publish connection dropped); re-read and re-check everything. Sent by
     * the hub itself, never published by callers. */
    CP_NOTICE_RESYNC = 5,
} cp_notice_kind;

/* Called on a hub thread; must be quick and must not call back into the hub.
 * subject is a run id, user id or project id as kind says. */
typedef void (*cp_events_fn)(void *ctx, const char *subject, cp_notice_kind kind, int64_t seq);

cp_result cp_events_open(const char *redis_url, cp_events **out, cp_error *err) CP_MUST_CHECK;
void cp_events_close(cp_events *ev);
/* Notifies every subscriber of subject (in every process). Best effort: a
 * notice lost in Redis is made up for by a RESYNC once the connection that
 * lost it is back. seq: the run's newest event (EVENTS), else 0. */
void cp_events_publish(cp_events *ev, const char *subject, cp_notice_kind kind, int64_t seq);
/* Tells every instance that user_id's access changed (session ended,
 * password changed, membership removed or changed), or that project_id is
 * gone. NULL-safe on ev. */
void cp_events_access_user(cp_events *ev, const char *user_id);
void cp_events_access_project(cp_events *ev, const char *project_id);
/* True when notices reach other processes (Redis): without that, a store
 * other processes write (PostgreSQL) must be polled. */
bool cp_events_is_shared(const cp_events *ev);
/* run_id NULL subscribes to every run. Access and resync notices reach every
 * subscriber. */
cp_events_sub *cp_events_subscribe(cp_events *ev, const char *run_id, cp_events_fn fn, void *ctx);
/* After this returns, fn is not running and will not be called again. */
void cp_events_unsubscribe(cp_events *ev, cp_events_sub *sub);

#endif
