/* trace.h: the trace id of the work a thread does now: an HTTP request's id
 * (X-Request-Id, taken from the caller when sane), a run's (the id of the
 * request that queued it, kept on the run), or a scheduler sweep's. cp_log
 * adds it to every line as request_id, so one id follows an order from the
 * click through the API, the store and the worker to tofu. Thread-local:
 * whoever hands work to another thread hands the id with it. */
#ifndef CP_TRACE_H
#define CP_TRACE_H

#include "core/cp.h"

#define CP_TRACE_ID_MAX 64 /* characters; buffers take CP_TRACE_ID_MAX + 1 */

/* 1 to CP_TRACE_ID_MAX characters of [A-Za-z0-9._:-]: safe in a header, a
 * log line, an env value and a URL. NULL is not valid. */
bool cp_trace_id_valid(const char *s);
/* prefix (may be "") followed by 16 random hex characters; prefix is cut so
 * the id fits. out takes CP_TRACE_ID_MAX + 1 bytes. */
void cp_trace_id_new(const char *prefix, char out[CP_TRACE_ID_MAX + 1]);
/* Makes id (copied; NULL, "" or an invalid id: none) this thread's trace id. */
void cp_trace_set(const char *id);
/* This thread's trace id, NULL when none. Valid until the next cp_trace_set
 * on this thread. */
const char *cp_trace_get(void);

#endif
