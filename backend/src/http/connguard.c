#include "http/connguard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "http/clientaddr.h"

#define TICK_MS 200

static atomic_uint_fast64_t total_refused, total_cut;

void cp_connguard_totals(uint64_t *refused, uint64_t *cut)
{
    *refused = atomic_load(&total_refused);
    *cut = atomic_load(&total_cut);
}

struct cp_guarded {
    cp_guarded *prev, *next;
    int fd;
    bool counted;
    bool cut;            /* already shut down */
    int64_t deadline_ms; /* 0: not reading a request */
    char key[CP_ADDR_MAX];
};

struct cp_connguard {
    pthread_mutex_t mu;
    cp_guarded *conns; /* every open connection */
    int per_ip;
    int64_t read_ms;
    pthread_t ticker;
    atomic_bool stop;
};

/* Open connections under key. A scan: the server holds at most a few
 * thousand connections, and an accept is far costlier than this. */
static int count_locked(cp_connguard *g, const char *key)
{
    int n = 0;
    for (cp_guarded *c = g->conns; c; c = c->next) n += c->counted && !strcmp(c->key, key);
    return n;
}

static void *tick(void *arg)
{
    cp_connguard *g = arg;
    while (!atomic_load(&g->stop)) {
        struct timespec ts = {0, TICK_MS * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = cp_mono_ms();
        pthread_mutex_lock(&g->mu);
        /* Under the lock: cp_connguard_close runs before libmicrohttpd closes
         * the fd, so an fd seen here is still this connection's. */
        for (cp_guarded *c = g->conns; c; c = c->next) {
            if (c->cut || !c->deadline_ms || now < c->deadline_ms) continue;
            c->cut = true;
            shutdown(c->fd, SHUT_RDWR);
            atomic_fetch_add(&total_cut, 1);
            cp_log(CP_LOG_INFO, "slow client disconnected", json_pack("{s:s}", "ip", c->key));
        }
        pthread_mutex_unlock(&g->mu);
    }
    return NULL;
}

cp_connguard *cp_connguard_new(int per_ip, int read_timeout_s)
{
    cp_connguard *g = cp_xcalloc(1, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    g->per_ip = per_ip;
    g->read_ms = (int64_t)read_timeout_s * 1000;
    if (pthread_create(&g->ticker, NULL, tick, g) != 0) {
        pthread_mutex_destroy(&g->mu);
        free(g);
        return NULL;
    }
    return g;
}

void cp_connguard_free(cp_connguard *g)
{
    if (!g) return;
    atomic_store(&g->stop, true);
    pthread_join(g->ticker, NULL);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

bool cp_connguard_admit(cp_connguard *g, const char *key, bool exempt)
{
    if (exempt || g->per_ip <= 0) return true;
    pthread_mutex_lock(&g->mu);
    bool ok = count_locked(g, key) < g->per_ip;
    pthread_mutex_unlock(&g->mu);
    if (!ok) {
        atomic_fetch_add(&total_refused, 1);
        /* Debug only: a flood of refused connections must not become a flood of log lines. */
        cp_log(CP_LOG_DEBUG, "connection refused: per-IP limit", json_pack("{s:s}", "ip", key));
    }
    return ok;
}

cp_guarded *cp_connguard_open(cp_connguard *g, const char *key, bool exempt, int fd)
{
    cp_guarded *c = cp_xcalloc(1, sizeof *c);
    c->fd = fd;
    c->counted = !exempt;
    snprintf(c->key, sizeof c->key, "%s", key);
    c->deadline_ms = cp_mono_ms() + g->read_ms;
    pthread_mutex_lock(&g->mu);
    c->next = g->conns;
    if (g->conns) g->conns->prev = c;
    g->conns = c;
    pthread_mutex_unlock(&g->mu);
    return c;
}

void cp_connguard_close(cp_connguard *g, cp_guarded *c)
{
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    pthread_mutex_unlock(&g->mu);
    free(c);
}

void cp_connguard_arm(cp_connguard *g, cp_guarded *c)
{
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    c->deadline_ms = cp_mono_ms() + g->read_ms;
    pthread_mutex_unlock(&g->mu);
}

void cp_connguard_disarm(cp_connguard *g, cp_guarded *c)
{
    if (!c) return;
    pthread_mutex_lock(&g->mu);
    c->deadline_ms = 0;
    pthread_mutex_unlock(&g->mu);
}
