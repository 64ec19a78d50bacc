/* cron.c: five-field cron parsing and the next fire time in a time zone.
 * Days are walked in the proleptic Gregorian calendar (no zone needed); only
 * a matching wall time is turned into an instant, by ICU with the zone's
 * rules, so a search costs one ucal call per candidate, not per minute. */
#include "core/cron.h"

#include <ctype.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define SEARCH_DAYS (8 * 366 + 1) /* a Feb 29 comes within 8 years (2096 -> 2104) */

typedef struct {
    const char *name;
    int min, max;
    const char *const *names; /* names[i] is value min+i; NULL: numbers only */
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static const field_def fields[5] = {
    {"minute", 0, 59, NULL},          {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, day_names},
};

/* A number or (where the field has them) a three-letter name at *p. */
static bool parse_value(const field_def *f, const char **p, int *out)
{
    const char *s = *p;
    if (isdigit((unsigned char)*s)) {
        int v = 0, digits = 0;
        while (isdigit((unsigned char)*s) && digits < 3) v = v * 10 + (*s++ - '0'), digits++;
        if (isdigit((unsigned char)*s) || v < f->min || v > f->max) return false;
        *out = v;
        *p = s;
        return true;
    }
    if (!f->names) return false;
    for (int i = 0; i <= f->max - f->min; i++)
        if (strncasecmp(s, f->names[i], 3) == 0 && !isalpha((unsigned char)s[3])) {
            *out = f->min + i;
            *p = s + 3;
            return true;
        }
    return false;
}

/* One field (text of len bytes) into bits; *star when it is exactly '*'. */
static bool parse_field(const field_def *f, const char *text, size_t len, uint64_t *bits, bool *star)
{
    char buf[CP_CRON_EXPR_MAX + 1];
    if (len == 0 || len > CP_CRON_EXPR_MAX) return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    *bits = 0;
    *star = len == 1 && buf[0] == '*';
    const char *p = buf;
    for (;;) {
        int lo, hi, step = 1;
        bool item_star = *p == '*';
        if (item_star) {
            lo = f->min, hi = f->max;
            p++;
        } else {
            if (!parse_value(f, &p, &lo)) return false;
            hi = lo;
            if (*p == '-') {
                p++;
                if (!parse_value(f, &p, &hi) || hi < lo) return false;
            }
        }
        if (*p == '/') {
            p++;
            if (!isdigit((unsigned char)*p)) return false;
            step = 0;
            while (isdigit((unsigned char)*p) && step <= f->max) step = step * 10 + (*p++ - '0');
            if (step < 1 || step > f->max) return false;
            if (lo == hi && !item_star) hi = f->max; /* "a/n": from a to the end */
        }
        for (int v = lo; v <= hi; v += step) *bits |= 1ULL << v;
        if (*p == '\0') break;
        if (*p++ != ',' || *p == '\0') return false;
    }
    return true;
}

cp_result cp_cron_parse(const char *expr, const char *field, cp_cron *out, cp_error *err)
{
    memset(out, 0, sizeof *out);
    if (!expr || strlen(expr) > CP_CRON_EXPR_MAX)
        return cp_error_set(err, CP_EUNPROC, "invalid_cron", field, "%s must be a cron expression of at most %d bytes",
                            field, CP_CRON_EXPR_MAX);
    const char *p = expr;
    uint64_t bits[5];
    bool star[5];
    for (int i = 0; i < 5; i++) {
        while (*p == ' ' || *p == '\t') p++;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (p == start)
            return cp_error_set(err, CP_EUNPROC, "invalid_cron", field,
                                "%s must have 5 fields (minute hour day-of-month month day-of-week)", field);
        if (!parse_field(&fields[i], start, (size_t)(p - start), &bits[i], &star[i]))
            return cp_error_set(err, CP_EUNPROC, "invalid_cron", field, "%s: the %s field '%.*s' is not valid (%d-%d)",
                                field, fields[i].name, (int)(p - start > 32 ? 32 : p - start), start, fields[i].min,
                                fields[i].max);
    }
    while (*p == ' ' || *p == '\t') p++;
    if (*p)
        return cp_error_set(err, CP_EUNPROC, "invalid_cron", field,
                            "%s must have 5 fields (minute hour day-of-month month day-of-week)", field);
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint32_t)bits[3];
    out->dow = (uint32_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday */
    out->dom_star = star[2];
    out->dow_star = star[4];
    return CP_OK;
}

/* ---- zones ---- */

static bool tz_chars_ok(const char *tz)
{
    size_t n = tz ? strlen(tz) : 0;
    if (n == 0 || n > CP_CRON_TZ_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)tz[i]) && !strchr("/_+-", tz[i])) return false;
    return true;
}

bool cp_cron_tz_valid(const char *tz)
{
    if (!tz_chars_ok(tz)) return false;
    UChar id[CP_CRON_TZ_MAX + 1], canon[128];
    u_uastrncpy(id, tz, CP_CRON_TZ_MAX + 1);
    UBool system = false;
    UErrorCode st = U_ZERO_ERROR;
    ucal_getCanonicalTimeZoneID(id, -1, canon, CP_ARRAY_LEN(canon), &system, &st);
    return U_SUCCESS(st) && system;
}

/* ---- civil dates (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms") ---- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool day_matches(const cp_cron *c, int m, int d, int64_t days)
{
    if (!(c->month & (1u << m))) return false;
    int wd = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    bool dom = c->dom & (1u << d), dow = c->dow & (1u << wd);
    return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

cp_result cp_cron_next(const cp_cron *c, const char *tz, int64_t after_ms, int64_t *out_ms, cp_error *err)
{
    if (!cp_cron_tz_valid(tz))
        return cp_error_set(err, CP_EUNPROC, "invalid_timezone", "timezone", "timezone must be an IANA zone id");
    UChar id[CP_CRON_TZ_MAX + 1];
    u_uastrncpy(id, tz, CP_CRON_TZ_MAX + 1);
    UErrorCode st = U_ZERO_ERROR;
    UCalendar *cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st)) return cp_error_set(err, CP_ERR, NULL, NULL, "ICU: %s", u_errorName(st));
    ucal_setAttribute(cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
    ucal_setAttribute(cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
    cp_result r = CP_OK;

    /* The wall time of after_ms: earlier wall times on that day are skipped
     * without asking ICU. */
    ucal_setMillis(cal, (UDate)after_ms, &st);
    int64_t y0 = ucal_get(cal, UCAL_EXTENDED_YEAR, &st);
    int m0 = ucal_get(cal, UCAL_MONTH, &st) + 1, d0 = ucal_get(cal, UCAL_DATE, &st);
    int mod0 = ucal_get(cal, UCAL_HOUR_OF_DAY, &st) * 60 + ucal_get(cal, UCAL_MINUTE, &st);
    if (U_FAILURE(st)) {
        r = cp_error_set(err, CP_ERR, NULL, NULL, "ICU: %s", u_errorName(st));
        goto out;
    }
    int64_t first = days_from_civil(y0, m0, d0);
    for (int64_t day = first; day <= first + SEARCH_DAYS; day++) {
        int64_t y;
        int m, d;
        civil_from_days(day, &y, &m, &d);
        if (!day_matches(c, m, d, day)) continue;
        for (int h = 0; h < 24; h++) {
            if (!(c->hour & (1u << h))) continue;
            for (int mi = 0; mi < 60; mi++) {
                if (!(c->minute & (1ULL << mi)) || (day == first && h * 60 + mi < mod0)) continue;
                ucal_clear(cal);
                ucal_set(cal, UCAL_EXTENDED_YEAR, (int32_t)y);
                ucal_set(cal, UCAL_MONTH, m - 1);
                ucal_set(cal, UCAL_DATE, d);
                ucal_set(cal, UCAL_HOUR_OF_DAY, h);
                ucal_set(cal, UCAL_MINUTE, mi);
                UDate at = ucal_getMillis(cal, &st);
                if (U_FAILURE(st)) {
                    r = cp_error_set(err, CP_ERR, NULL, NULL, "ICU: %s", u_errorName(st));
                    goto out;
                }
                if ((int64_t)at > after_ms) {
                    *out_ms = (int64_t)at;
                    goto out;
                }
            }
        }
    }
    r = cp_error_set(err, CP_ENOTFOUND, "cron_never_fires", NULL, "the cron expression never fires");
out:
    ucal_close(cal);
    return r;
}
