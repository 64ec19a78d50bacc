/* timeutil.h: wall and monotonic clocks in milliseconds, deadlines for
 * timed waits, ISO-8601 formatting. */
#ifndef CP_TIMEUTIL_H
#define CP_TIMEUTIL_H

#include <pthread.h>
#include <time.h>

#include "core/cp.h"

int64_t cp_now_ms(void);  /* wall clock, Unix epoch ms */
int64_t cp_mono_ms(void); /* monotonic ms, for durations and deadlines */
/* The monotonic clock ms from now (ms <= 0: now), as the absolute time that
 * pthread_cond_timedwait takes; the condition variable must be made by
 * cp_cond_init_monotonic. */
struct timespec cp_deadline_ts(int64_t ms);
/* pthread_cond_init on CLOCK_MONOTONIC, the clock of cp_deadline_ts. */
void cp_cond_init_monotonic(pthread_cond_t *cv);
/* "2026-11-25T20:56:33.123Z"; buf needs 25 bytes. */
void cp_time_iso(int64_t ms, char *buf, size_t cap);
/* Parses the form above (fraction optional); false if malformed. */
bool cp_time_parse_iso(const char *s, int64_t *ms);

#endif
