#include "auth/hashpool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "core/xalloc.h"

#define HASH_NICE 10

struct cp_hashpool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cp_hashjob *head, *tail;
    int waiting, queue, nthreads;
    bool stop;
    int64_t avg_ms; /* moving average of one job, for Retry-After */
    pthread_t *threads;
};

static void run(cp_hashjob *j)
{
    switch (j->kind) {
    case CP_HASHJOB_HASH:
        j->result = cp_password_hash(j->password, j->out);
        break;
    case CP_HASHJOB_VERIFY:
        j->ok = cp_password_verify(j->hash, j->password);
        j->result = CP_OK;
        break;
    case CP_HASHJOB_DUMMY:
        cp_password_dummy_verify(j->password);
        j->ok = false;
        j->result = CP_OK;
        break;
    case CP_HASHJOB_REHASH:
        j->ok = cp_password_verify(j->hash, j->password);
        j->result = j->ok ? cp_password_hash(j->fresh, j->out) : CP_OK;
        break;
    }
}

static void *worker(void *arg)
{
    cp_hashpool *p = arg;
    /* On Linux nice is per thread: a hash yields the CPU to this process's
     * HTTP threads, so a flood slows the sign-ups, not /healthz. Best effort:
     * the bounded queue is what caps the work. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HASH_NICE);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        cp_hashjob *j = p->head;
        if (!j) break; /* stopping and drained */
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        p->waiting--;
        pthread_mutex_unlock(&p->mu);
        int64_t t0 = cp_mono_ms();
        cp_trace_set(j->trace);
        run(j);
        int64_t took = cp_mono_ms() - t0;
        pthread_mutex_lock(&p->mu);
        p->avg_ms = (p->avg_ms * 7 + took) / 8;
        pthread_mutex_unlock(&p->mu);
        j->done(j, j->cls); /* last touch of j: it may be freed from here on */
        cp_trace_set(NULL);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cp_hashpool *cp_hashpool_new(int threads, int queue)
{
    cp_hashpool *p = cp_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->queue = queue < 1 ? 1 : queue;
    p->avg_ms = 100;
    p->threads = cp_xcalloc((size_t)(threads < 1 ? 1 : threads), sizeof *p->threads);
    for (int i = 0; i < (threads < 1 ? 1 : threads); i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) break;
        p->nthreads++;
    }
    if (p->nthreads == 0) {
        cp_hashpool_free(p);
        return NULL;
    }
    return p;
}

void cp_hashpool_free(cp_hashpool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

bool cp_hashpool_submit(cp_hashpool *p, cp_hashjob *job)
{
    bool ok = false;
    pthread_mutex_lock(&p->mu);
    if (!p->stop && p->waiting < p->queue) {
        const char *trace = cp_trace_get();
        if (trace)
            memcpy(job->trace, trace, strlen(trace) + 1);
        else
            job->trace[0] = '\0';
        job->next = NULL;
        if (p->tail)
            p->tail->next = job;
        else
            p->head = job;
        p->tail = job;
        p->waiting++;
        pthread_cond_signal(&p->cv);
        ok = true;
    }
    pthread_mutex_unlock(&p->mu);
    return ok;
}

int cp_hashpool_retry_after(cp_hashpool *p)
{
    pthread_mutex_lock(&p->mu);
    int64_t ms = p->avg_ms * (p->waiting + p->nthreads) / p->nthreads;
    pthread_mutex_unlock(&p->mu);
    int s = (int)((ms + 999) / 1000);
    return s < 1 ? 1 : s;
}
