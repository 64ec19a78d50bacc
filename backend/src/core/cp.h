/* cp.h: result codes and small macros shared by every module. */
#ifndef CP_H
#define CP_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* One result enum for the whole program. cp_result_http() in core/error.c is
 * the only place that maps it to an HTTP status. */
typedef enum {
    CP_OK = 0,
    CP_ERR,        /* internal failure */
    CP_EINVAL,     /* bad request shape: malformed JSON, unknown field (400) */
    CP_EUNPROC,    /* well-formed but invalid value (422) */
    CP_EAUTH,      /* not authenticated (401) */
    CP_EFORBIDDEN, /* authenticated but not allowed (403) */
    CP_ENOTFOUND,  /* 404 */
    CP_EMETHOD,    /* 405 */
    CP_ECONFLICT,  /* 409 */
    CP_ETOOBIG,    /* 413 */
    CP_EMEDIA,     /* 415 */
    CP_ERATE,      /* 429 */
    CP_EAGAIN,     /* try again later (503) */
    CP_EDECLINED   /* handler passes: not mine */
} cp_result;

#define CP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CP_UNUSED(x) ((void)(x))
/* On a declaration whose result must not be ignored (an allocation, a
 * cp_result that can fail). Ignoring it is an error: the build adds
 * -Werror=unused-result. A deliberate discard says why, in a comment. */
#define CP_MUST_CHECK __attribute__((warn_unused_result))
/* That deliberate discard: GCC does not accept a plain (void) cast for it. */
#define CP_IGNORE(expr) ((void)!(expr))

#endif
