/* duration.c: "30m", "8h", "3d", "2w" (duration.h). */
#include "core/duration.h"

bool cp_duration_parse(const char *s, int64_t *seconds)
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
    if (s[1] != '\0') return false;
    if (n > CP_DURATION_MAX_S / unit) return false;
    *seconds = n * unit;
    return true;
}
