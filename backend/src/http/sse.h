/* sse.h: Server-Sent Events streams on suspended libmicrohttpd connections.
 * A stream's fill callback appends SSE text; when it has nothing, the
 * connection is suspended (no thread is held) until cp_sse_wake() or the
 * ticker, which wakes every stream every poll interval so fills can poll the
 * store and write heartbeats. */
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
/* Thread-safe; resumes the stream if it waits. */
void cp_sse_wake(cp_sse *s);
/* Ends every stream (server shutdown). */
void cp_sse_shutdown(void);
/* An event id as the client sends it back (Last-Event-ID, ?after=, also
 * ?limit=): a non-negative decimal integer. strtoll's syntax, so leading
 * blanks and a '+' pass; values past INT64_MAX clamp to it. False (out
 * untouched) for an empty or malformed value. */
bool cp_sse_parse_seq(const char *s, int64_t *out);
/* Seconds between ticker wake-ups (poll + heartbeat opportunities). */
#define CP_SSE_POLL_MS 2000

#endif
