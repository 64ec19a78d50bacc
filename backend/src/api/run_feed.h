/* run_feed.h: what every event stream of one run in this process shares: one
 * hub subscription (notices reach the run's streams through it), and a window
 * of the run's newest events, already written as SSE frames, read from the
 * store once per notice however many streams follow the run. A stream copies
 * the events it has not sent from the window; only a stream behind the
 * window (a replay from far back) reads the store itself. Feeds are counted
 * references, made by the first stream of a run and freed with its last. */
#ifndef CP_RUN_FEED_H
#define CP_RUN_FEED_H

#include "core/buf.h"
#include "queue/events.h"
#include "store/store.h"

typedef struct cp_run_feed cp_run_feed;

/* A stream's place in its feed, embedded in the stream. fn gets every notice
 * for the run and every access or resync notice (events.h rules: quick, on a
 * hub thread). */
typedef struct cp_run_feed_member {
    struct cp_run_feed_member *prev, *next;
    cp_events_fn fn;
    void *ctx;
} cp_run_feed_member;

/* What one read of a feed appended. */
typedef struct {
    size_t n;         /* events appended */
    int64_t last_seq; /* seq of the last one appended (unchanged when n = 0) */
    bool status_seen; /* a status event was among them; then: */
    bool status_known;
    cp_run_status status; /* the last status event's run_status */
    bool more;            /* more events may follow at once: read again */
} cp_run_feed_page;

/* The run, as the shared settle read it. */
typedef struct {
    bool read_ok;
    cp_run_status status;
    int64_t finished_at, events_dropped;
    int64_t events_pruned_at; /* retention removed the log then (0: never) */
} cp_run_feed_run;

/* Joins the feed of run_id (made on first use), with m->fn and m->ctx set by
 * the caller. events may be NULL (no notices: callers poll). Never fails. */
cp_run_feed *cp_run_feed_join(cp_store *store, cp_events *events, const char *run_id, cp_run_feed_member *m);
/* After this returns, m->fn is not running and will not be called again. */
void cp_run_feed_leave(cp_run_feed *f, cp_run_feed_member *m);

/* Appends, as SSE frames, up to limit events after seq `after`, from the
 * window (refreshed first if a notice came since it was read, or it is older
 * than max_age_ms when max_age_ms > 0). CP_EDECLINED: `after` is older than
 * the window; the caller reads the store itself. CP_ERR: the read failed
 * (nothing appended). Frames stop early if out is full (pg->more set). */
cp_result cp_run_feed_events(cp_run_feed *f, int64_t after, int limit, int64_t max_age_ms, cp_buf *out,
                             cp_run_feed_page *pg) CP_MUST_CHECK;
/* As cp_run_feed_events, but first reads the run (once per notice for all
 * the feed's streams) and the events after that read, so that "the run is
 * final and no event follows" holds as if the caller had read both itself. */
cp_result cp_run_feed_settle(cp_run_feed *f, int64_t after, int limit, int64_t max_age_ms, cp_buf *out,
                             cp_run_feed_page *pg, cp_run_feed_run *run) CP_MUST_CHECK;

/* The SSE frame of one event ("id: …\nevent: …\ndata: …\n\n"). */
cp_result cp_run_feed_frame(cp_buf *out, int64_t seq, const char *type, const char *data) CP_MUST_CHECK;
/* Reads a status event's run_status; false when the data names none. */
bool cp_run_feed_status_of(const char *data, cp_run_status *st);

#endif
