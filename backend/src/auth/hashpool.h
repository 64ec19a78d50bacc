/* hashpool.h: the threads that run argon2id. Each hash costs ~64 MiB and tens
 * of milliseconds of CPU; run on HTTP threads, a burst of sign-ups or logins
 * stalls every other request. Here a fixed set of threads takes jobs from a
 * bounded queue; a full queue refuses at once (the API answers 503), so
 * memory and latency stay bounded whatever arrives. */
#ifndef CP_HASHPOOL_H
#define CP_HASHPOOL_H

#include "auth/password.h"
#include "core/trace.h"

typedef enum {
    CP_HASHJOB_HASH,   /* password -> out */
    CP_HASHJOB_VERIFY, /* hash + password -> ok */
    CP_HASHJOB_DUMMY,  /* burn one verification's time (unknown account) */
    CP_HASHJOB_REHASH, /* hash + password -> ok; when ok, fresh -> out (a password change) */
} cp_hashjob_kind;

typedef struct cp_hashjob {
    cp_hashjob_kind kind;
    const char *password; /* caller-owned until done runs */
    const char *hash;     /* CP_HASHJOB_VERIFY, REHASH */
    const char *fresh;    /* CP_HASHJOB_REHASH: the new password; caller-owned */
    char out[CP_PASSWORD_HASH_MAX];
    bool ok;          /* VERIFY, REHASH: matched */
    cp_result result; /* HASH, REHASH: CP_ERR when out of memory */
    /* Called on a pool thread when the job is done; the job is the caller's again. */
    void (*done)(struct cp_hashjob *job, void *cls);
    void *cls;
    char trace[CP_TRACE_ID_MAX + 1]; /* the submitter's trace id (set by submit): the pool thread's meanwhile */
    struct cp_hashjob *next;
} cp_hashjob;

typedef struct cp_hashpool cp_hashpool;

/* threads >= 1 workers, at most queue jobs waiting. The caller owns it. */
cp_hashpool *cp_hashpool_new(int threads, int queue) CP_MUST_CHECK;
/* Runs what is queued, then stops the threads. */
void cp_hashpool_free(cp_hashpool *p);
/* Queues job; false (and job untouched) when the queue is full. */
bool cp_hashpool_submit(cp_hashpool *p, cp_hashjob *job) CP_MUST_CHECK;
/* Seconds a refused caller should wait: the queue's drain time, at least 1. */
int cp_hashpool_retry_after(cp_hashpool *p);

#endif
