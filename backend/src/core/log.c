#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "core/trace.h"

static volatile cp_log_level min_level = CP_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void cp_log_set_level(cp_log_level lvl)
{
    min_level = lvl;
}

bool cp_log_parse_level(const char *name, cp_log_level *out)
{
    for (size_t i = 0; i < CP_ARRAY_LEN(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (cp_log_level)i;
            return true;
        }
    }
    return false;
}

void cp_log(cp_log_level lvl, const char *msg, json_t *fields)
{
    if (lvl < min_level) {
        json_decref(fields);
        return;
    }
    char ts[40];
    cp_time_iso(cp_now_ms(), ts, sizeof ts);
    json_t *o = json_object();
    json_object_set_new(o, "ts", json_string(ts));
    json_object_set_new(o, "level", json_string(level_names[lvl]));
    json_object_set_new(o, "msg", json_string(msg ? msg : ""));
    /* The thread's trace id (core/trace.h), unless the line names one itself
     * (the access log does). One thread-local read when there is none. */
    const char *trace = cp_trace_get();
    if (trace && !json_object_get(fields, "request_id")) json_object_set_new(o, "request_id", json_string(trace));
    if (fields) json_object_update(o, fields);
    json_decref(fields);
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (line) {
        flockfile(stderr);
        fputs(line, stderr);
        fputc('\n', stderr);
        funlockfile(stderr);
        free(line);
    }
}

void cp_logf(cp_log_level lvl, const char *fmt, ...)
{
    if (lvl < min_level) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cp_log(lvl, msg, NULL);
}
