/* error.h: the one error value carried from where a failure is known to the
 * HTTP reply: result code, stable machine code, user message, optional field. */
#ifndef CP_ERROR_H
#define CP_ERROR_H

#include "core/cp.h"

#define CP_ERR_MSG_MAX 256

/* Why a call failed, for callers that branch on it (strings stay at the edge:
 * cp_reason_code gives the code the API returns). CP_REASON_NONE when the
 * result and code say all a caller needs. */
typedef enum {
    CP_REASON_NONE = 0,
    CP_REASON_CANCELED,     /* "canceled": stopped on request */
    CP_REASON_TIMED_OUT,    /* "timed_out": ran past its time limit */
    CP_REASON_STATE_LOCKED, /* "state_locked": another holder has the state lock */
    CP_REASON_TOFU_FAILED,  /* "tofu_failed": the engine ran and failed */
    CP_REASON_LEASE_LOST,   /* "lease_lost": a fenced write found the run's lease held by another */
} cp_reason;

typedef struct {
    cp_result result;
    cp_reason reason; /* CP_REASON_NONE unless set by cp_error_set_reason */
    char code[48];    /* e.g. "validation_failed" */
    char message[CP_ERR_MSG_MAX];
    char field[64]; /* empty when not about one field */
} cp_error;

/* Sets err (if not NULL) and returns result, so callers can `return cp_error_set(...)`. */
cp_result cp_error_set(cp_error *err, cp_result result, const char *code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* cp_error_set with a reason; the code is the reason's (cp_reason_code). */
cp_result cp_error_set_reason(cp_error *err, cp_result result, cp_reason reason, const char *field, const char *fmt,
                              ...) __attribute__((format(printf, 5, 6)));
void cp_error_clear(cp_error *err);
/* Machine code of a reason ("canceled", ...); NULL for CP_REASON_NONE. */
const char *cp_reason_code(cp_reason reason);

/* HTTP status for a result code; the only such mapping in the program. */
int cp_result_http(cp_result r);
/* Default machine code for a result ("not_found", ...). */
const char *cp_result_code(cp_result r);

#endif
