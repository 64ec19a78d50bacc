/* buf.h: growable byte buffer with a mandatory maximum size. The cap doubles
 * as a DoS guard: request bodies, log lines and tofu output all go through it. */
#ifndef CP_BUF_H
#define CP_BUF_H

#include "core/cp.h"

typedef struct {
    char *data; /* always NUL-terminated when len > 0 or after cp_buf_cstr() */
    size_t len;
    size_t cap;
    size_t max; /* hard limit on len */
    bool wipe;  /* secret bytes: zeroed on growth and on free */
} cp_buf;

void cp_buf_init(cp_buf *b, size_t max);
/* A buffer for bytes that may be secret (request bodies): no copy survives
 * it. hint, when known (Content-Length), sizes it once so it never moves. */
void cp_buf_init_wiped(cp_buf *b, size_t max, size_t hint);
/* Appends n bytes; CP_ETOOBIG when len would exceed max (buffer unchanged). */
cp_result cp_buf_add(cp_buf *b, const void *p, size_t n);
/* Makes room for n more bytes (within max) so the next adds do not move it. */
cp_result cp_buf_reserve(cp_buf *b, size_t n) CP_MUST_CHECK;
cp_result cp_buf_adds(cp_buf *b, const char *s) CP_MUST_CHECK;
cp_result cp_buf_printf(cp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns a NUL-terminated view (empty string when nothing was added). */
const char *cp_buf_cstr(cp_buf *b);
void cp_buf_reset(cp_buf *b);
void cp_buf_free(cp_buf *b);
/* Moves the data out; caller owns it (free()). The buffer is reset. */
char *cp_buf_steal(cp_buf *b, size_t *len);

#endif
