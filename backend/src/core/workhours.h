/* workhours.h: a working-hours schedule, {"stop": cron|null, "start":
 * cron|null, "timezone": IANA id}, and the change it makes next. The API
 * checks and stores it; the scheduler steps through it. */
#ifndef CP_WORKHOURS_H
#define CP_WORKHOURS_H

#include <jansson.h>

#include "core/cron.h"

typedef struct {
    cp_cron stop, start;
    bool has_stop, has_start;
    char timezone[CP_CRON_TZ_MAX + 1];
} cp_workhours;

/* Reads obj; fields are named prefix+"stop" etc. in errors ("schedule." for
 * the order body, "" for PUT .../schedule). CP_EUNPROC invalid_cron,
 * invalid_timezone, or invalid_schedule (neither stop nor start). */
cp_result cp_workhours_parse(json_t *obj, const char *prefix, cp_workhours *out, cp_error *err) CP_MUST_CHECK;

/* The first change strictly after after_ms: its time and whether it is the
 * stop (a start and a stop in the same minute: the start wins, so a VM is
 * never left stopped by a tie). CP_ENOTFOUND when neither ever fires. */
cp_result cp_workhours_next(const cp_workhours *w, int64_t after_ms, int64_t *at, bool *is_stop,
                            cp_error *err) CP_MUST_CHECK;

/* {"start", "stop", "timezone"} as compact JSON text with sorted keys, from
 * obj's own strings (nulls kept). Caller frees. */
char *cp_workhours_text(json_t *obj);

#endif
