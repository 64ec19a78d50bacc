#include "http/sse.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/metrics.h"
#include "core/timeutil.h"
#include "core/trace.h"
#include "core/xalloc.h"

struct cp_sse {
    struct MHD_Connection *conn;
    cp_sse_fill_fn fill;
    void (*free_ctx)(void *);
    void *ctx;
    char trace[CP_TRACE_ID_MAX + 1]; /* the request's id: what fill logs carries it */
    cp_buf out;
    size_t off;
    bool ending;
    /* The rest is guarded by mu: the ticker and wakers read them. */
    bool suspended;
    bool pending_fill; /* woken: call fill */
    bool pending_beat; /* the ticker asks for a heartbeat */
    int64_t wake_at;   /* mono ms the last fill asked to be filled again; 0 = never */
    int64_t last_write;
    cp_sse *prev, *next;
};

bool cp_sse_parse_seq(const char *s, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < 0) return false;
    *out = v;
    return true;
}

/* MHD's own buffer for a callback response: used only for HTTP/1.0 clients
 * (chunked replies are written straight into the connection's buffer), and
 * 10,000 idle streams hold 10,000 of them. */
#define SSE_BLOCK 256

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static cp_sse *streams;
static bool stopping;
static pthread_t ticker;
static bool ticker_started;

static void resume_locked(cp_sse *s)
{
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

void cp_sse_wake(cp_sse *s)
{
    pthread_mutex_lock(&mu);
    s->pending_fill = true;
    resume_locked(s);
    pthread_mutex_unlock(&mu);
}

void cp_sse_wake_at(cp_sse *s, int64_t mono_ms)
{
    pthread_mutex_lock(&mu);
    if (!s->wake_at || mono_ms < s->wake_at) s->wake_at = mono_ms;
    pthread_mutex_unlock(&mu);
}

/* Only timers: every other wake-up comes from a notice. One pass over the
 * streams per tick, with no I/O, so 10,000 idle streams cost a few
 * microseconds a tick. */
static void *tick(void *arg)
{
    CP_UNUSED(arg);
    for (;;) {
        struct timespec ts = {0, CP_SSE_TICK_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = cp_mono_ms();
        pthread_mutex_lock(&mu);
        for (cp_sse *s = streams; s; s = s->next) {
            if (!s->suspended) continue; /* busy: it sees its flags when it next runs out */
            if (s->wake_at && now >= s->wake_at) {
                s->wake_at = 0;
                s->pending_fill = true;
            } else if (now - s->last_write >= CP_SSE_HEARTBEAT_MS) {
                s->pending_beat = true;
            } else {
                continue;
            }
            resume_locked(s);
        }
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

void cp_sse_shutdown(void)
{
    pthread_mutex_lock(&mu);
    stopping = true;
    for (cp_sse *s = streams; s; s = s->next) resume_locked(s);
    pthread_mutex_unlock(&mu);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    CP_UNUSED(pos);
    cp_sse *s = cls;
    if (s->off == s->out.len) {
        cp_buf_reset(&s->out);
        s->off = 0;
        pthread_mutex_lock(&mu);
        bool stop = stopping, fill = s->pending_fill, beat = s->pending_beat;
        s->pending_fill = s->pending_beat = false;
        if (fill) s->wake_at = 0;
        pthread_mutex_unlock(&mu);
        if (s->ending || stop) return MHD_CONTENT_READER_END_OF_STREAM;
        if (fill) {
            /* Called by MHD outside the request's handler (server.c clears the id there). */
            cp_trace_set(s->trace);
            if (s->fill(s->ctx, &s->out) == CP_EDECLINED) s->ending = true;
            cp_trace_set(NULL);
        }
        if (s->out.len == 0 && s->ending) return MHD_CONTENT_READER_END_OF_STREAM;
        /* out is empty here: the comment fits. */
        if (s->out.len == 0 && beat) CP_IGNORE(cp_buf_adds(&s->out, ": heartbeat\n\n"));
        pthread_mutex_lock(&mu);
        if (s->out.len) {
            s->last_write = cp_mono_ms();
        } else if (!s->pending_fill && !s->pending_beat && !stopping) {
            s->suspended = true;
            MHD_suspend_connection(s->conn);
        }
        /* A waiting stream keeps no buffer: most streams wait most of the time. */
        if (!s->out.len) cp_buf_free(&s->out);
        pthread_mutex_unlock(&mu);
        if (s->out.len == 0) return 0;
    }
    size_t n = s->out.len - s->off;
    if (n > max) n = max;
    memcpy(buf, s->out.data + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void release(void *cls)
{
    cp_sse *s = cls;
    pthread_mutex_lock(&mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        streams = s->next;
    if (s->next) s->next->prev = s->prev;
    pthread_mutex_unlock(&mu);
    cp_metrics_dec(event_streams);
    if (s->free_ctx) s->free_ctx(s->ctx);
    cp_buf_free(&s->out);
    free(s);
}

cp_result cp_sse_begin(cp_req *req, cp_sse_fill_fn fill, void (*free_ctx)(void *ctx), void *ctx, cp_sse **out)
{
    cp_sse *s = cp_xcalloc(1, sizeof *s);

    s->conn = req->conn;
    s->fill = fill;
    s->free_ctx = free_ctx;
    s->ctx = ctx;
    memcpy(s->trace, req->id, sizeof s->trace);
    s->pending_fill = true; /* the first fill replays and goes live */
    s->last_write = cp_mono_ms();
    cp_buf_init(&s->out, 4 << 20);
    /* MHD allocates (and zeroes) block_size bytes with every response and
     * keeps them for its life: small, as 10,000 idle streams hold 10,000.
     * The reader is called again as long as there is more to send. */
    struct MHD_Response *res = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK, reader, s, release);
    if (!res) {
        free(s);
        return cp_req_fail(req, CP_ERR, NULL, NULL, "cannot create stream");
    }
    MHD_add_response_header(res, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(res, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(res, "X-Accel-Buffering", "no");
    cp_metrics_inc(event_streams);
    pthread_mutex_lock(&mu);
    s->next = streams;
    if (streams) streams->prev = s;
    streams = s;
    if (!ticker_started && pthread_create(&ticker, NULL, tick, NULL) == 0) {
        pthread_detach(ticker);
        ticker_started = true;
    }
    pthread_mutex_unlock(&mu);
    req->raw = res;
    req->status = 200;
    req->stream = true;
    *out = s;
    return CP_OK;
}
