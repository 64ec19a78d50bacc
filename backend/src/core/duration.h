/* duration.h: the short durations people type for a resource's lifetime:
 * "30m", "8h", "3d", "2w" (a positive count and one unit). */
#ifndef CP_DURATION_H
#define CP_DURATION_H

#include "core/cp.h"

/* The longest duration accepted: a year. Longer lifetimes are not temporary. */
#define CP_DURATION_MAX_S (366LL * 24 * 3600)

/* Parses s into *seconds: digits (no sign, no leading zero, at most 6) then
 * one of m, h, d, w; positive and at most CP_DURATION_MAX_S. false (and
 * *seconds untouched) on anything else. */
bool cp_duration_parse(const char *s, int64_t *seconds);

/* The longest age a retention setting takes: a century. */
#define CP_AGE_MAX_S (36500LL * 24 * 3600)

/* How long data is kept (the retention settings): the same form with
 * seconds too ("45s") and up to CP_AGE_MAX_S, or "0" or "off" for forever,
 * which gives *seconds = 0. */
bool cp_duration_parse_age(const char *s, int64_t *seconds);

#endif
