/* timeutil.h: wall and monotonic clocks in milliseconds, ISO-8601 formatting. */
#ifndef CP_TIMEUTIL_H
#define CP_TIMEUTIL_H

#include "core/cp.h"

int64_t cp_now_ms(void);   /* wall clock, Unix epoch ms */
int64_t cp_mono_ms(void);  /* monotonic ms, for durations and deadlines */
/* "2026-11-25T20:56:33.123Z"; buf needs 25 bytes. */
void cp_time_iso(int64_t ms, char *buf, size_t cap);
/* Parses the form above (fraction optional); false if malformed. */
bool cp_time_parse_iso(const char *s, int64_t *ms);

#endif
