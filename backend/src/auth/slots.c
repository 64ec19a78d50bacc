#include "auth/slots.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define NBUCKETS 256

typedef struct slot {
    struct slot *next;
    long held;
    char key[];
} slot;

struct cp_slots {
    pthread_mutex_t mu;
    slot *buckets[NBUCKETS];
};

static slot **find(cp_slots *s, const char *key)
{
    size_t h = 1469598103934665603ULL;
    for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    slot **pp = &s->buckets[h % NBUCKETS];
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    return pp;
}

cp_slots *cp_slots_new(void)
{
    cp_slots *s = cp_xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

void cp_slots_free(cp_slots *s)
{
    if (!s) return;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (slot *e = s->buckets[i]; e;) {
            slot *n = e->next;
            free(e);
            e = n;
        }
    pthread_mutex_destroy(&s->mu);
    free(s);
}

bool cp_slots_acquire(cp_slots *s, const char *key, long cap)
{
    pthread_mutex_lock(&s->mu);
    slot **pp = find(s, key);
    bool ok = (*pp ? (*pp)->held : 0) < cap;
    if (ok && !*pp) {
        size_t len = strlen(key);
        slot *e = cp_xcalloc(1, sizeof *e + len + 1);
        memcpy(e->key, key, len + 1);
        *pp = e;
    }
    if (ok) (*pp)->held++;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

void cp_slots_release(cp_slots *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    slot **pp = find(s, key);
    if (*pp && --(*pp)->held <= 0) {
        slot *e = *pp;
        *pp = e->next;
        free(e);
    }
    pthread_mutex_unlock(&s->mu);
}

long cp_slots_held(cp_slots *s, const char *key)
{
    pthread_mutex_lock(&s->mu);
    slot **pp = find(s, key);
    long n = *pp ? (*pp)->held : 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}
