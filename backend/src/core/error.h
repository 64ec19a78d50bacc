/* error.h: the one error value carried from where a failure is known to the
 * HTTP reply: result code, stable machine code, user message, optional field. */
#ifndef CP_ERROR_H
#define CP_ERROR_H

#include "core/cp.h"

#define CP_ERR_MSG_MAX 256

typedef struct {
    cp_result result;
    char code[48];               /* e.g. "validation_failed" */
    char message[CP_ERR_MSG_MAX];
    char field[64];              /* empty when not about one field */
} cp_error;

/* Sets err (if not NULL) and returns result, so callers can `return cp_error_set(...)`. */
cp_result cp_error_set(cp_error *err, cp_result result, const char *code, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void cp_error_clear(cp_error *err);

/* HTTP status for a result code; the only such mapping in the program. */
int cp_result_http(cp_result r);
/* Default machine code for a result ("not_found", ...). */
const char *cp_result_code(cp_result r);

#endif
