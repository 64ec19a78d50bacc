#include "auth/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

#define MAX_LIMIT 64

typedef struct entry {
    struct entry *next;
    int64_t times[MAX_LIMIT]; /* ring of failure times */
    int count, head;
    char key[];
} entry;

struct cp_ratelimit {
    pthread_mutex_t mu;
    int limit;
    int64_t window;
    size_t max_keys, nkeys, nbuckets;
    entry **buckets;
};

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

cp_ratelimit *cp_ratelimit_new(int limit, int64_t window_ms, size_t max_keys)
{
    cp_ratelimit *rl = cp_xcalloc(1, sizeof *rl);
    pthread_mutex_init(&rl->mu, NULL);
    rl->limit = limit < 1 ? 1 : limit > MAX_LIMIT ? MAX_LIMIT : limit;
    rl->window = window_ms;
    rl->max_keys = max_keys;
    rl->nbuckets = 1024;
    rl->buckets = cp_xcalloc(rl->nbuckets, sizeof *rl->buckets);
    return rl;
}

void cp_ratelimit_free(cp_ratelimit *rl)
{
    if (!rl) return;
    for (size_t i = 0; i < rl->nbuckets; i++)
        for (entry *e = rl->buckets[i]; e;) {
            entry *n = e->next;
            free(e);
            e = n;
        }
    free(rl->buckets);
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

/* Drops failures older than the window; returns the live count. */
static int prune(cp_ratelimit *rl, entry *e, int64_t now)
{
    while (e->count > 0) {
        int oldest = (e->head - e->count + MAX_LIMIT) % MAX_LIMIT;
        if (now - e->times[oldest] < rl->window) break;
        e->count--;
    }
    return e->count;
}

static void purge_expired(cp_ratelimit *rl, int64_t now)
{
    for (size_t i = 0; i < rl->nbuckets; i++) {
        entry **pp = &rl->buckets[i];
        while (*pp) {
            entry *e = *pp;
            if (prune(rl, e, now) == 0) {
                *pp = e->next;
                free(e);
                rl->nkeys--;
            } else {
                pp = &e->next;
            }
        }
    }
}

static entry **find(cp_ratelimit *rl, const char *key)
{
    entry **pp = &rl->buckets[hash(key) % rl->nbuckets];
    while (*pp && strcmp((*pp)->key, key) != 0) pp = &(*pp)->next;
    return pp;
}

bool cp_ratelimit_blocked(cp_ratelimit *rl, const char *key, int64_t now_ms, int *retry_after_s)
{
    pthread_mutex_lock(&rl->mu);
    entry *e = *find(rl, key);
    bool blocked = false;
    if (e && prune(rl, e, now_ms) >= rl->limit) {
        int oldest = (e->head - e->count + MAX_LIMIT) % MAX_LIMIT;
        int64_t wait = rl->window - (now_ms - e->times[oldest]);
        *retry_after_s = (int)((wait + 999) / 1000);
        if (*retry_after_s < 1) *retry_after_s = 1;
        blocked = true;
    }
    pthread_mutex_unlock(&rl->mu);
    return blocked;
}

void cp_ratelimit_fail(cp_ratelimit *rl, const char *key, int64_t now_ms)
{
    pthread_mutex_lock(&rl->mu);
    entry **pp = find(rl, key);
    if (!*pp) {
        if (rl->nkeys >= rl->max_keys) purge_expired(rl, now_ms);
        /* Still full: a flood of distinct keys. Forget this failure rather than grow without bound. */
        if (rl->nkeys >= rl->max_keys) goto out;
        size_t klen = strlen(key);
        entry *e = cp_xcalloc(1, sizeof *e + klen + 1);

        memcpy(e->key, key, klen + 1);
        pp = find(rl, key);
        *pp = e;
        rl->nkeys++;
    }
    entry *e = *pp;
    prune(rl, e, now_ms);
    e->times[e->head] = now_ms;
    e->head = (e->head + 1) % MAX_LIMIT;
    if (e->count < MAX_LIMIT) e->count++;
out:
    pthread_mutex_unlock(&rl->mu);
}

void cp_ratelimit_reset(cp_ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->mu);
    entry **pp = find(rl, key);
    if (*pp) {
        entry *e = *pp;
        *pp = e->next;
        free(e);
        rl->nkeys--;
    }
    pthread_mutex_unlock(&rl->mu);
}
