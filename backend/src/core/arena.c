#include "core/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

struct cleanup {
    struct cleanup *next;
    void (*fn)(void *);
    void *ptr;
};

struct cp_arena {
    struct chunk *head;
    struct cleanup *cleanups;
    size_t chunk_size;
};

cp_arena *cp_arena_new(size_t chunk_size)
{
    cp_arena *a = cp_xmalloc(sizeof *a);
    a->head = NULL;
    a->cleanups = NULL;
    a->chunk_size = chunk_size ? chunk_size : 4096;
    return a;
}

void cp_arena_free(cp_arena *a)
{
    if (!a) return;
    for (struct cleanup *c = a->cleanups; c;) {
        struct cleanup *n = c->next;
        c->fn(c->ptr);
        c = n;
    }
    for (struct chunk *c = a->head; c;) {
        struct chunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

void *cp_arena_alloc(cp_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->size - a->head->used < n) {
        size_t sz = n > a->chunk_size ? n : a->chunk_size;
        struct chunk *c = cp_xmalloc(sizeof *c + sz);
        c->size = sz;
        c->used = 0;
        /* An oversize block goes behind the head so the head's free space stays usable. */
        if (a->head && n > a->chunk_size) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
        c->used = n;
        memset(c->data, 0, n);
        return c->data;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

char *cp_arena_strndup(cp_arena *a, const char *s, size_t n)
{
    char *p = cp_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cp_arena_strdup(cp_arena *a, const char *s)
{
    return s ? cp_arena_strndup(a, s, strlen(s)) : NULL;
}

char *cp_arena_printf(cp_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return cp_arena_strdup(a, "");
    char *p = cp_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void cp_arena_defer(cp_arena *a, void (*fn)(void *), void *ptr)
{
    struct cleanup *c = cp_arena_alloc(a, sizeof *c);
    c->fn = fn;
    c->ptr = ptr;
    c->next = a->cleanups;
    a->cleanups = c;
}
