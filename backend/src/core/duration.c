/* duration.c: "30m", "8h", "3d", "2w" (duration.h). */
#include "core/duration.h"

#include <string.h>

/* digits (no sign, no leading zero, at most 6), then one unit of units;
 * positive and at most max. */
static bool parse(const char *s, const char *units, int64_t max, int64_t *seconds)
{
    if (!s || *s < '1' || *s > '9') return false;
    int64_t n = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (++digits > 6) return false;
        n = n * 10 + (*s - '0');
    }
    int64_t unit;
    switch (*s) {
    case 's':
        unit = 1;
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 7 * 86400;
        break;
    default:
        return false;
    }
    if (!strchr(units, *s) || s[1] != '\0') return false;
    if (n > max / unit) return false;
    *seconds = n * unit;
    return true;
}

bool cp_duration_parse(const char *s, int64_t *seconds)
{
    return parse(s, "mhdw", CP_DURATION_MAX_S, seconds);
}

bool cp_duration_parse_age(const char *s, int64_t *seconds)
{
    if (s && (!strcmp(s, "0") || !strcmp(s, "off"))) {
        *seconds = 0;
        return true;
    }
    return parse(s, "smhdw", CP_AGE_MAX_S, seconds);
}
