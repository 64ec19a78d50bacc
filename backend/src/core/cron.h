/* cron.h: five-field cron expressions (minute hour day-of-month month
 * day-of-week) and their next fire time in an IANA time zone. ICU holds the
 * zone rules. A wall time skipped by a DST gap fires once, at the end of the
 * gap; a wall time that happens twice in a DST overlap fires once, at its
 * first occurrence. */
#ifndef CP_CRON_H
#define CP_CRON_H

#include <stdint.h>

#include "core/error.h"

#define CP_CRON_EXPR_MAX 128 /* bytes of an expression we accept */
#define CP_CRON_TZ_MAX 64    /* bytes of a zone id we accept */

typedef struct {
    uint64_t minute; /* bit i: minute i (0-59) */
    uint32_t hour;   /* 0-23 */
    uint32_t dom;    /* 1-31 */
    uint32_t month;  /* 1-12 */
    uint32_t dow;    /* 0-6, Sunday 0 (7 is read as Sunday) */
    /* Day-of-month and day-of-week both restricted (neither is exactly
     * '*'): a day matches either, as croniter does; a step over '*' restricts. */
    bool dom_star, dow_star;
} cp_cron;

/* Fields: numbers, '*', ranges a-b, steps (*, a-b or a followed by /n),
 * comma lists; month names JAN-DEC and day names SUN-SAT, any case.
 * CP_EUNPROC invalid_cron (field given by the caller) with a message naming
 * the bad field. */
cp_result cp_cron_parse(const char *expr, const char *field, cp_cron *out, cp_error *err) CP_MUST_CHECK;

/* True if tz is an IANA zone id ICU knows ("Europe/Berlin", "UTC"). */
bool cp_cron_tz_valid(const char *tz);

/* The first fire time strictly after after_ms (Unix ms), in zone tz, as Unix
 * ms. CP_ENOTFOUND when none comes within 8 years (e.g. "0 0 30 2 *");
 * CP_EUNPROC for an unknown zone. */
cp_result cp_cron_next(const cp_cron *c, const char *tz, int64_t after_ms, int64_t *out_ms,
                       cp_error *err) CP_MUST_CHECK;

#endif
