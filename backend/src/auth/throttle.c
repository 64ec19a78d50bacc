#include "auth/throttle.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

typedef struct bucket {
    struct bucket *next;
    double tokens;
    int64_t at_ms; /* when tokens was last brought up to date */
    char key[];
} bucket;

struct cp_throttle {
    pthread_mutex_t mu;
    double rate, burst; /* tokens per ms, tokens */
    size_t max_keys, nkeys, nbuckets;
    bucket **table;
};

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

cp_throttle *cp_throttle_new(double rate, double burst, size_t max_keys)
{
    cp_throttle *t = cp_xcalloc(1, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->rate = (rate > 0 ? rate : 1) / 1000.0;
    t->burst = burst >= 1 ? burst : 1;
    t->max_keys = max_keys;
    t->nbuckets = 1024;
    t->table = cp_xcalloc(t->nbuckets, sizeof *t->table);
    return t;
}

void cp_throttle_free(cp_throttle *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (bucket *b = t->table[i]; b;) {
            bucket *n = b->next;
            free(b);
            b = n;
        }
    free(t->table);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static void refill(cp_throttle *t, bucket *b, int64_t now)
{
    if (now > b->at_ms) b->tokens = fmin(t->burst, b->tokens + (double)(now - b->at_ms) * t->rate);
    b->at_ms = now;
}

/* A full bucket is the same as no bucket: forget those to make room. */
static void purge_full(cp_throttle *t, int64_t now)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        bucket **pp = &t->table[i];
        while (*pp) {
            bucket *b = *pp;
            refill(t, b, now);
            if (b->tokens >= t->burst) {
                *pp = b->next;
                free(b);
                t->nkeys--;
            } else {
                pp = &b->next;
            }
        }
    }
}

bool cp_throttle_take(cp_throttle *t, const char *key, int64_t now_ms, int *retry_after_s)
{
    bool ok = true;
    pthread_mutex_lock(&t->mu);
    bucket **pp = &t->table[hash(key) % t->nbuckets];
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    if (!*pp) {
        if (t->nkeys >= t->max_keys) purge_full(t, now_ms);
        /* Still full: more keys busy at once than we track. Let this request
         * through rather than grow without bound or refuse a key unfairly. */
        if (t->nkeys >= t->max_keys) goto out;
        size_t klen = strlen(key);
        bucket *b = cp_xcalloc(1, sizeof *b + klen + 1);
        memcpy(b->key, key, klen + 1);
        b->tokens = t->burst;
        b->at_ms = now_ms;
        b->next = t->table[hash(key) % t->nbuckets];
        t->table[hash(key) % t->nbuckets] = b;
        t->nkeys++;
        pp = &t->table[hash(key) % t->nbuckets];
    }
    bucket *b = *pp;
    refill(t, b, now_ms);
    if (b->tokens >= 1) {
        b->tokens -= 1;
    } else {
        ok = false;
        double wait_ms = (1 - b->tokens) / t->rate;
        *retry_after_s = (int)ceil(wait_ms / 1000.0);
        if (*retry_after_s < 1) *retry_after_s = 1;
    }
out:
    pthread_mutex_unlock(&t->mu);
    return ok;
}
