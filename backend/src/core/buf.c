#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void cp_buf_init(cp_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->wipe = false;
}

void cp_buf_init_wiped(cp_buf *b, size_t max, size_t hint)
{
    cp_buf_init(b, max);
    b->wipe = true;
    if (hint > 0 && hint <= max) {
        b->data = cp_xmalloc(hint + 1);
        b->data[0] = '\0';
        b->cap = hint + 1;
    }
}

/* realloc may leave the old block's bytes in freed memory; a wiped buffer
 * copies and zeroes instead. */
static void *move_wiped(cp_buf *b, size_t ncap)
{
    char *n = cp_xmalloc(ncap);
    if (b->data) {
        memcpy(n, b->data, b->len + 1); /* NUL-terminated whenever allocated */
        explicit_bzero(b->data, b->cap);
        free(b->data);
    }
    return n;
}

static cp_result grow(cp_buf *b, size_t need)
{
    if (need > b->max) return CP_ETOOBIG;
    if (need + 1 <= b->cap) return CP_OK;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need + 1) ncap *= 2;
    if (ncap > b->max + 1) ncap = b->max + 1;
    b->data = b->wipe ? move_wiped(b, ncap) : cp_xrealloc(b->data, ncap);
    b->cap = ncap;
    return CP_OK;
}

cp_result cp_buf_reserve(cp_buf *b, size_t n)
{
    if (n > b->max - b->len) return CP_ETOOBIG;
    cp_result r = grow(b, b->len + n);
    if (r == CP_OK) b->data[b->len] = '\0';
    return r;
}

cp_result cp_buf_add(cp_buf *b, const void *p, size_t n)
{
    if (n > b->max - b->len) return CP_ETOOBIG;
    cp_result r = grow(b, b->len + n);
    if (r != CP_OK) return r;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CP_OK;
}

cp_result cp_buf_adds(cp_buf *b, const char *s)
{
    return cp_buf_add(b, s, strlen(s));
}

cp_result cp_buf_printf(cp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return CP_ERR;
    if ((size_t)n > b->max - b->len) return CP_ETOOBIG;
    cp_result r = grow(b, b->len + (size_t)n);
    if (r != CP_OK) return r;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CP_OK;
}

const char *cp_buf_cstr(cp_buf *b)
{
    return b->data ? b->data : "";
}

void cp_buf_reset(cp_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void cp_buf_free(cp_buf *b)
{
    if (b->wipe && b->data) explicit_bzero(b->data, b->cap);
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *cp_buf_steal(cp_buf *b, size_t *len)
{
    char *p = b->data;
    if (len) *len = b->len;
    if (!p) p = cp_xcalloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
