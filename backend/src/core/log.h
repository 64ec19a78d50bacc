/* log.h: structured logging as JSON lines on stderr. Never pass secrets here:
 * credentials are only ever held by the vault and the runner's child env. */
#ifndef CP_LOG_H
#define CP_LOG_H

#include <jansson.h>

#include "core/cp.h"

typedef enum { CP_LOG_DEBUG, CP_LOG_INFO, CP_LOG_WARN, CP_LOG_ERROR } cp_log_level;

void cp_log_set_level(cp_log_level lvl);
/* Returns false for an unknown name. */
bool cp_log_parse_level(const char *name, cp_log_level *out);
/* Emits {"ts","level","msg","request_id",...fields}; steals the reference to
 * fields (may be NULL). request_id is the thread's trace id (core/trace.h),
 * left out when there is none or fields has its own. */
void cp_log(cp_log_level lvl, const char *msg, json_t *fields);
void cp_logf(cp_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cp_log_info(...) cp_logf(CP_LOG_INFO, __VA_ARGS__)
#define cp_log_warn(...) cp_logf(CP_LOG_WARN, __VA_ARGS__)
#define cp_log_error(...) cp_logf(CP_LOG_ERROR, __VA_ARGS__)
#define cp_log_debug(...) cp_logf(CP_LOG_DEBUG, __VA_ARGS__)

#endif
