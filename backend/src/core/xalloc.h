/* xalloc.h: allocation that does not fail. On out-of-memory (or a size that
 * overflows) these log one line and abort, in one place, as redis's zmalloc
 * does: most callers have no sensible way to recover. Use plain malloc only
 * where the caller can really recover, and say so; sizes taken from a request
 * are bounded before they get here (cp_buf's max, the body limit).
 *
 * Ownership: every pointer returned is the caller's, released with free(). */
#ifndef CP_XALLOC_H
#define CP_XALLOC_H

#include <stdarg.h>

#include "core/cp.h"

/* Never NULL; a request for 0 bytes still returns a unique pointer. */
void *cp_xmalloc(size_t n) CP_MUST_CHECK __attribute__((malloc));
/* Zeroed; nmemb * size is checked for overflow. */
void *cp_xcalloc(size_t nmemb, size_t size) CP_MUST_CHECK __attribute__((malloc));
/* As realloc, but never NULL and never frees on n == 0. */
void *cp_xrealloc(void *p, size_t n) CP_MUST_CHECK;
/* cp_xrealloc(p, nmemb * size) with the product checked for overflow. */
void *cp_xreallocarray(void *p, size_t nmemb, size_t size) CP_MUST_CHECK;
char *cp_xstrdup(const char *s) CP_MUST_CHECK __attribute__((malloc, nonnull));
/* At most n bytes of s, always NUL-terminated. */
char *cp_xstrndup(const char *s, size_t n) CP_MUST_CHECK __attribute__((malloc, nonnull));
/* A formatted string; also aborts on a format the C library cannot render. */
char *cp_xasprintf(const char *fmt, ...) CP_MUST_CHECK __attribute__((malloc, format(printf, 1, 2)));
/* cp_xasprintf over a va_list; ap is left as va_copy found it (unconsumed). */
char *cp_xvasprintf(const char *fmt, va_list ap) CP_MUST_CHECK __attribute__((malloc, format(printf, 1, 0)));

#endif
