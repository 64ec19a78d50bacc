/* run_feed.c: the per-run event window shared by a run's streams (run_feed.h).
 *
 * A notice that the run has new events only marks the window stale (gen) and
 * wakes the streams; the first stream that finds nothing newer in the window
 * reads the store for all of them, under the feed's lock, while the others
 * wait for that read rather than making their own. The window keeps every
 * event with base < seq <= top, so a stream at or past base copies from it
 * and a stream behind base reads the store itself. */
#include "api/run_feed.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

#define FEED_PAGE 200             /* events per store read */
#define WINDOW_EVENTS 256         /* the window keeps at most this many events */
#define WINDOW_BYTES (256 * 1024) /* and about this many bytes of frames */
#define BUCKETS 256               /* feeds by run id */
#define RUN_ID_MAX 64

typedef struct {
    int64_t seq;
    char *frame; /* the SSE text, NUL-terminated */
    size_t len;
    int8_t status; /* -1: not a status event; -2: a status event naming no known status; else cp_run_status */
} feed_event;

struct cp_run_feed {
    cp_run_feed *next; /* bucket chain; next and refs under reg_mu */
    int refs;
    char run_id[RUN_ID_MAX];
    cp_store *store;
    cp_events *events;
    cp_events_sub *sub;
    atomic_uint_fast64_t gen; /* notices that the run has new events (or may have: resync) */

    pthread_mutex_t members_mu;
    cp_run_feed_member *members;

    pthread_mutex_t mu; /* everything below: the window and the run read */
    bool have;          /* base/top set (by the first read) */
    int64_t base, top;
    feed_event *ev;
    size_t n, cap, bytes;
    bool win_read; /* the window was read once */
    uint64_t win_gen;
    int64_t win_at; /* mono ms of the last read */
    bool win_more;  /* the last read was a full page: more may follow */
    bool have_run;
    uint64_t run_gen;
    int64_t run_at;
    cp_run_feed_run run;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static cp_run_feed *buckets[BUCKETS];

static unsigned bucket_of(const char *run_id)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)run_id; *p; p++) h = (h ^ *p) * 16777619u;
    return h % BUCKETS;
}

cp_result cp_run_feed_frame(cp_buf *out, int64_t seq, const char *type, const char *data)
{
    return cp_buf_printf(out, "id: %lld\nevent: %s\ndata: %s\n\n", (long long)seq, type, data);
}

bool cp_run_feed_status_of(const char *data, cp_run_status *st)
{
    json_t *d = json_loads(data, 0, NULL);
    bool known = cp_run_status_parse(cp_json_str(d, "run_status", ""), st);
    json_decref(d);
    return known;
}

/* ---- notices ---- */

static void on_notice(void *ctx, const char *subject, cp_notice_kind kind, int64_t seq)
{
    cp_run_feed *f = ctx;
    if (kind == CP_NOTICE_CANCEL) return; /* for whoever runs it, not for readers */
    if (kind == CP_NOTICE_EVENTS || kind == CP_NOTICE_RESYNC) atomic_fetch_add(&f->gen, 1);
    pthread_mutex_lock(&f->members_mu);
    for (cp_run_feed_member *m = f->members; m; m = m->next) m->fn(m->ctx, subject, kind, seq);
    pthread_mutex_unlock(&f->members_mu);
}

/* ---- membership ---- */

cp_run_feed *cp_run_feed_join(cp_store *store, cp_events *events, const char *run_id, cp_run_feed_member *m)
{
    unsigned b = bucket_of(run_id);
    pthread_mutex_lock(&reg_mu);
    cp_run_feed *f = buckets[b];
    while (f && (f->store != store || strcmp(f->run_id, run_id) != 0)) f = f->next;
    if (!f) {
        f = cp_xcalloc(1, sizeof *f);
        snprintf(f->run_id, sizeof f->run_id, "%s", run_id);
        f->store = store;
        f->events = events;
        atomic_init(&f->gen, 0);
        pthread_mutex_init(&f->members_mu, NULL);
        pthread_mutex_init(&f->mu, NULL);
        /* The hub never calls back into reg_mu: subscribing under it is safe. */
        if (events) f->sub = cp_events_subscribe(events, f->run_id, on_notice, f);
        f->next = buckets[b];
        buckets[b] = f;
    }
    f->refs++;
    pthread_mutex_unlock(&reg_mu);

    pthread_mutex_lock(&f->members_mu);
    m->prev = NULL;
    m->next = f->members;
    if (f->members) f->members->prev = m;
    f->members = m;
    pthread_mutex_unlock(&f->members_mu);
    return f;
}

static void feed_free(cp_run_feed *f)
{
    if (f->sub) cp_events_unsubscribe(f->events, f->sub);
    for (size_t i = 0; i < f->n; i++) free(f->ev[i].frame);
    free(f->ev);
    pthread_mutex_destroy(&f->members_mu);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void cp_run_feed_leave(cp_run_feed *f, cp_run_feed_member *m)
{
    /* Notices call members under members_mu: once out, m is never called. */
    pthread_mutex_lock(&f->members_mu);
    if (m->prev)
        m->prev->next = m->next;
    else
        f->members = m->next;
    if (m->next) m->next->prev = m->prev;
    pthread_mutex_unlock(&f->members_mu);

    pthread_mutex_lock(&reg_mu);
    bool last = --f->refs == 0;
    if (last) {
        cp_run_feed **pp = &buckets[bucket_of(f->run_id)];
        while (*pp != f) pp = &(*pp)->next;
        *pp = f->next;
    }
    pthread_mutex_unlock(&reg_mu);
    if (last) feed_free(f);
}

/* ---- the window (all under f->mu) ---- */

static void trim(cp_run_feed *f)
{
    size_t drop = 0;
    size_t bytes = f->bytes;
    /* The newest event always stays, whatever its size. */
    while (f->n - drop > 1 && (f->n - drop > WINDOW_EVENTS || bytes > WINDOW_BYTES)) {
        bytes -= f->ev[drop].len;
        f->base = f->ev[drop].seq;
        free(f->ev[drop].frame);
        drop++;
    }
    if (!drop) return;
    memmove(f->ev, f->ev + drop, (f->n - drop) * sizeof *f->ev);
    f->n -= drop;
    f->bytes = bytes;
}

static void append(cp_run_feed *f, const cp_event *e)
{
    cp_buf b;
    /* The store holds the event, so it is far below this cap: cannot fail. */
    cp_buf_init(&b, (size_t)1 << 30);
    CP_IGNORE(cp_run_feed_frame(&b, e->seq, e->type, e->data));
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 16;
        f->ev = cp_xreallocarray(f->ev, f->cap, sizeof *f->ev);
    }
    feed_event *fe = &f->ev[f->n++];
    fe->seq = e->seq;
    fe->frame = cp_buf_steal(&b, &fe->len);
    fe->status = -1;
    cp_run_status st;
    if (!strcmp(e->type, "status")) fe->status = cp_run_feed_status_of(e->data, &st) ? (int8_t)st : -2;
    f->bytes += fe->len;
    f->top = e->seq;
}

/* One page of events after top, read for every stream of the run. */
static cp_result refresh(cp_run_feed *f)
{
    uint64_t g = atomic_load(&f->gen); /* before the read: a notice during it leaves the window stale */
    cp_arena *a = cp_arena_new(16384);
    cp_event *items;
    size_t n = 0;
    cp_error e;
    cp_result r = cp_store_events_list(f->store, a, f->run_id, f->top, FEED_PAGE, &items, &n, &e);
    if (r == CP_OK) {
        for (size_t i = 0; i < n; i++) append(f, &items[i]);
        trim(f);
        f->win_read = true;
        f->win_gen = g;
        f->win_at = cp_mono_ms();
        f->win_more = n == FEED_PAGE;
    }
    cp_arena_free(a);
    return r;
}

static bool stale(const cp_run_feed *f, int64_t max_age_ms)
{
    return !f->win_read || f->win_gen != atomic_load(&f->gen) || f->win_more ||
           (max_age_ms > 0 && cp_mono_ms() - f->win_at >= max_age_ms);
}

/* Appends the window's events after `after`; refreshed_failed: a read was
 * tried and failed (then "more" would only spin). */
static void copy(cp_run_feed *f, int64_t after, int limit, int64_t max_age_ms, bool read_failed, cp_buf *out,
                 cp_run_feed_page *pg)
{
    size_t lo = 0, hi = f->n; /* first event with seq > after */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->ev[mid].seq <= after)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    for (; i < f->n; i++) {
        if (pg->n == (size_t)limit || cp_buf_add(out, f->ev[i].frame, f->ev[i].len) != CP_OK) break;
        pg->n++;
        pg->last_seq = f->ev[i].seq;
        if (f->ev[i].status != -1) {
            pg->status_seen = true;
            pg->status_known = f->ev[i].status >= 0;
            if (pg->status_known) pg->status = (cp_run_status)f->ev[i].status;
        }
    }
    if (i < f->n)
        pg->more = pg->n > 0; /* the limit, or out is full: the caller sends this first */
    else
        pg->more = !read_failed && stale(f, max_age_ms);
}

static cp_result start(cp_run_feed *f, int64_t after, cp_run_feed_page *pg)
{
    memset(pg, 0, sizeof *pg);
    if (!f->have) {
        f->have = true;
        f->base = f->top = after;
    }
    return after < f->base ? CP_EDECLINED : CP_OK;
}

cp_result cp_run_feed_events(cp_run_feed *f, int64_t after, int limit, int64_t max_age_ms, cp_buf *out,
                             cp_run_feed_page *pg)
{
    pthread_mutex_lock(&f->mu);
    cp_result r = start(f, after, pg);
    if (r == CP_OK) {
        /* A stream behind top copies first; the read is for whoever has caught up. */
        if (after >= f->top && stale(f, max_age_ms)) r = refresh(f);
        copy(f, after, limit, max_age_ms, r != CP_OK, out, pg);
        if (r != CP_OK && pg->n > 0) r = CP_OK;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}

cp_result cp_run_feed_settle(cp_run_feed *f, int64_t after, int limit, int64_t max_age_ms, cp_buf *out,
                             cp_run_feed_page *pg, cp_run_feed_run *run)
{
    memset(run, 0, sizeof *run);
    pthread_mutex_lock(&f->mu);
    cp_result r = start(f, after, pg);
    if (r == CP_OK) {
        uint64_t g = atomic_load(&f->gen);
        if (!f->have_run || f->run_gen != g || (max_age_ms > 0 && cp_mono_ms() - f->run_at >= max_age_ms)) {
            /* The run, then its events: events are committed before a run's
             * final status, so "final, and nothing newer" means nothing comes. */
            cp_arena *a = cp_arena_new(4096);
            cp_run cur;
            cp_error e;
            memset(&f->run, 0, sizeof f->run);
            if (cp_store_run_get(f->store, a, f->run_id, &cur, &e) == CP_OK) {
                f->run.read_ok = true;
                f->run.status = cur.status;
                f->run.finished_at = cur.finished_at;
                f->run.events_dropped = cur.events_dropped;
                f->run.events_pruned_at = cur.events_pruned_at;
            }
            cp_arena_free(a);
            r = refresh(f);
            /* Only a run read followed by a window read may be shared. */
            f->have_run = r == CP_OK;
            f->run_gen = g;
            f->run_at = cp_mono_ms();
        } else if (after >= f->top && stale(f, max_age_ms)) {
            r = refresh(f);
        }
        copy(f, after, limit, max_age_ms, r != CP_OK, out, pg);
        *run = f->run;
        if (r != CP_OK) run->read_ok = false;
    }
    pthread_mutex_unlock(&f->mu);
    return r;
}
