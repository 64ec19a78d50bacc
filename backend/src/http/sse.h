/* sse.h: Server-Sent Events streams on suspended libmicrohttpd connections.
 * A stream's fill callback appends SSE text; when it has nothing, the
 * connection is suspended (no thread is held). Fill runs again only when
 * something asks for it: cp_sse_wake() (a notice) or the time the last fill
 * set with cp_sse_wake_at(). Heartbeats are written here, without a fill, so
 * an idle stream costs no work beyond its heartbeat. */
#ifndef CP_SSE_H
#define CP_SSE_H

#include "http/http.h"

typedef struct cp_sse cp_sse;

/* Appends the next SSE text to out. CP_OK with nothing appended: wait.
 * CP_EDECLINED: the stream ends after what was appended. */
typedef cp_result (*cp_sse_fill_fn)(void *ctx, cp_buf *out);

/* Turns req into an SSE response. free_ctx runs when the stream is gone (after
 * it, the stream is never woken or filled again). */
cp_result cp_sse_begin(cp_req *req, cp_sse_fill_fn fill, void (*free_ctx)(void *ctx), void *ctx,
                       cp_sse **out) CP_MUST_CHECK;
/* Thread-safe; the stream is filled again soon (resumed if it waits). */
void cp_sse_wake(cp_sse *s);
/* From a fill only: fill again at mono_ms (cp_mono_ms clock) even if nothing
 * wakes the stream before. Each fill starts with no such time; the earliest
 * one set in a fill counts. The ticker's resolution is CP_SSE_TICK_MS. */
void cp_sse_wake_at(cp_sse *s, int64_t mono_ms);
/* Ends every stream (server shutdown). */
void cp_sse_shutdown(void);
/* An event id as the client sends it back (Last-Event-ID, ?after=, also
 * ?limit=): a non-negative decimal integer. strtoll's syntax, so leading
 * blanks and a '+' pass; values past INT64_MAX clamp to it. False (out
 * untouched) for an empty or malformed value. */
bool cp_sse_parse_seq(const char *s, int64_t *out);
/* A stream with nothing written for this long gets a comment line, so
 * proxies and clients see it alive. */
#define CP_SSE_HEARTBEAT_MS 15000
/* How often the ticker looks for heartbeats and wake_at times that are due. */
#define CP_SSE_TICK_MS 250

#endif
