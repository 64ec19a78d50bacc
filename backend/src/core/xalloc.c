#include "core/xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/timeutil.h"

/* The one exit for allocation failure. It cannot use cp_log, which allocates
 * (jansson), so it writes the same JSON line shape from the stack. n is the
 * size asked for, 0 when unknown (an overflowing product, a format error). */
static void __attribute__((noreturn)) fail(const char *call, const char *why, size_t n)
{
    char ts[40], bytes[40] = "", line[256];
    cp_time_iso(cp_now_ms(), ts, sizeof ts);
    if (n) snprintf(bytes, sizeof bytes, ",\"bytes\":%zu", n);
    int len = snprintf(line, sizeof line,
                       "{\"ts\":\"%s\",\"level\":\"error\",\"msg\":\"allocation failed, aborting\","
                       "\"call\":\"%s\",\"reason\":\"%s\"%s}\n",
                       ts, call, why, bytes);
    if (len > 0) {
        size_t left = (size_t)len < sizeof line ? (size_t)len : sizeof line - 1;
        const char *p = line;
        while (left > 0) {
            ssize_t w = write(STDERR_FILENO, p, left);
            if (w <= 0) break; /* nothing more to do: we abort either way */
            p += w;
            left -= (size_t)w;
        }
    }
    abort();
}

static size_t mul_or_fail(const char *call, size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) fail(call, "size overflow", 0);
    return total;
}

void *cp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) fail("cp_xmalloc", "out of memory", n);
    return p;
}

void *cp_xcalloc(size_t nmemb, size_t size)
{
    size_t total = mul_or_fail("cp_xcalloc", nmemb, size);
    void *p = calloc(total ? total : 1, 1);
    if (!p) fail("cp_xcalloc", "out of memory", total);
    return p;
}

void *cp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) fail("cp_xrealloc", "out of memory", n);
    return q;
}

void *cp_xreallocarray(void *p, size_t nmemb, size_t size)
{
    size_t total = mul_or_fail("cp_xreallocarray", nmemb, size);
    void *q = realloc(p, total ? total : 1);
    if (!q) fail("cp_xreallocarray", "out of memory", total);
    return q;
}

char *cp_xstrdup(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (!p) fail("cp_xstrdup", "out of memory", n + 1);
    memcpy(p, s, n + 1);
    return p;
}

char *cp_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = malloc(len + 1);
    if (!p) fail("cp_xstrndup", "out of memory", len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *cp_xasprintf(const char *fmt, ...)
{
    /* Two passes over the arguments, each with its own va_start: measure, then write. */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) fail("cp_xasprintf", "format error", 0);
    char *p = malloc((size_t)n + 1);
    if (!p) fail("cp_xasprintf", "out of memory", (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

char *cp_xvasprintf(const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) fail("cp_xvasprintf", "format error", 0);
    char *p = malloc((size_t)n + 1);
    if (!p) fail("cp_xvasprintf", "out of memory", (size_t)n + 1);
    va_copy(aq, ap);
    vsnprintf(p, (size_t)n + 1, fmt, aq);
    va_end(aq);
    return p;
}
