/* arena.h: per-request / per-job memory pool. Allocations live until
 * cp_arena_free(); cleanup hooks release foreign objects (json_t, PGresult,
 * redis replies) at the same moment, so handlers rarely call free. */
#ifndef CP_ARENA_H
#define CP_ARENA_H

#include "core/cp.h"

typedef struct cp_arena cp_arena;

cp_arena *cp_arena_new(size_t chunk_size);
void cp_arena_free(cp_arena *a);
/* Zeroed, 16-byte aligned. Aborts on out-of-memory. */
void *cp_arena_alloc(cp_arena *a, size_t n);
char *cp_arena_strdup(cp_arena *a, const char *s);
char *cp_arena_strndup(cp_arena *a, const char *s, size_t n);
char *cp_arena_printf(cp_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Registers fn(ptr) to run when the arena is freed (last registered runs first). */
void cp_arena_defer(cp_arena *a, void (*fn)(void *), void *ptr);

#endif
