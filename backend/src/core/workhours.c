/* workhours.c: working-hours schedules over core/cron. */
#include "core/workhours.h"

#include <string.h>

#include "core/json.h"

static cp_result one_cron(json_t *obj, const char *key, const char *prefix, cp_cron *out, bool *has, cp_error *err)
{
    char field[48];
    snprintf(field, sizeof field, "%s%s", prefix, key);
    json_t *v = json_object_get(obj, key);
    *has = v && !json_is_null(v);
    if (!*has) return CP_OK;
    if (!json_is_string(v))
        return cp_error_set(err, CP_EUNPROC, "invalid_cron", field, "%s must be a cron expression or null", field);
    return cp_cron_parse(json_string_value(v), field, out, err);
}

cp_result cp_workhours_parse(json_t *obj, const char *prefix, cp_workhours *out, cp_error *err)
{
    memset(out, 0, sizeof *out);
    char field[48];
    if (!json_is_object(obj))
        return cp_error_set(err, CP_EUNPROC, "invalid_schedule", prefix[0] ? "schedule" : NULL,
                            "a schedule is an object {stop, start, timezone}");
    cp_result r = one_cron(obj, "stop", prefix, &out->stop, &out->has_stop, err);
    if (r == CP_OK) r = one_cron(obj, "start", prefix, &out->start, &out->has_start, err);
    if (r != CP_OK) return r;
    if (!out->has_stop && !out->has_start) {
        snprintf(field, sizeof field, "%sstop", prefix);
        return cp_error_set(err, CP_EUNPROC, "invalid_schedule", field, "a schedule needs a stop or a start cron");
    }
    const char *tz = json_string_value(json_object_get(obj, "timezone"));
    snprintf(field, sizeof field, "%stimezone", prefix);
    if (!tz || !cp_cron_tz_valid(tz))
        return cp_error_set(err, CP_EUNPROC, "invalid_timezone", field,
                            "%s must be an IANA time zone such as Europe/Berlin or UTC", field);
    snprintf(out->timezone, sizeof out->timezone, "%s", tz);
    return CP_OK;
}

cp_result cp_workhours_next(const cp_workhours *w, int64_t after_ms, int64_t *at, bool *is_stop, cp_error *err)
{
    int64_t stop = 0, start = 0;
    cp_result r;
    if (w->has_stop && (r = cp_cron_next(&w->stop, w->timezone, after_ms, &stop, err)) != CP_OK && r != CP_ENOTFOUND)
        return r;
    if (w->has_start && (r = cp_cron_next(&w->start, w->timezone, after_ms, &start, err)) != CP_OK && r != CP_ENOTFOUND)
        return r;
    if (!stop && !start) return cp_error_set(err, CP_ENOTFOUND, "cron_never_fires", NULL, "the schedule never fires");
    *is_stop = stop && (!start || stop < start);
    *at = *is_stop ? stop : start;
    return CP_OK;
}

char *cp_workhours_text(json_t *obj)
{
    json_t *o = json_pack("{s:O?, s:O?, s:O?}", "stop", json_object_get(obj, "stop"), "start",
                          json_object_get(obj, "start"), "timezone", json_object_get(obj, "timezone"));
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return t;
}
