/* app.h: the application context shared by the HTTP API and the workers:
 * config, store, queue, event hub, keys, vault, rate limiters. Built once at
 * start by cp_app_init. It sits below api/ and worker/ so that neither has to
 * include the other. */
#ifndef CP_APP_H
#define CP_APP_H

#include "auth/hashpool.h"
#include "auth/jwt.h"
#include "auth/oidc.h"
#include "auth/ratelimit.h"
#include "auth/slots.h"
#include "auth/throttle.h"
#include "core/config.h"
#include "store/store.h"
#include "vault/vault.h"

struct cp_queue;
struct cp_events;
struct cp_gr_cache;
struct cp_issuer;

/* Request kinds with their own rate limits, per client address and per
 * account (api.h: cp_api_limit). */
typedef enum { CP_LIMIT_SIGNUP, CP_LIMIT_LOGIN, CP_LIMIT_INVITE, CP_LIMIT_COUNT } cp_limit_kind;

typedef struct cp_app {
    cp_config *cfg;
    cp_store *store;
    struct cp_queue *queue; /* NULL in `migrate`/`admin` */
    struct cp_events *events;
    cp_vault *vault;
    cp_jwt_key jwt;
    cp_ratelimit *login_by_email;
    cp_ratelimit *login_by_ip;
    cp_throttle *sandbox_throttle;              /* per sandbox API key; NULL = unlimited */
    cp_throttle *limit_ip[CP_LIMIT_COUNT];      /* keyed by cp_req.client_key */
    cp_throttle *limit_account[CP_LIMIT_COUNT]; /* keyed by email or user id */
    cp_hashpool *hashpool;                      /* argon2id off the HTTP threads */
    _Atomic uint64_t limited[CP_LIMIT_COUNT];   /* requests refused by each rate limit (/metrics) */
    _Atomic uint64_t hash_busy;                 /* requests refused by a full hashing pool */
    cp_slots *streams_by_user;                  /* open run event streams */
    struct cp_gr_cache *guardrails;             /* parsed rules per project (engine/guardrails_cache.h) */
    cp_oidc *oidc;                              /* single sign-on providers; NULL = none */
    struct cp_issuer *issuer;                   /* run-token signing keys (app/issuer_key.h) */
    int64_t started_at_ms;
    /* Base of links in mails when CLOUDPLANE_PUBLIC_URL is unset: the listen
     * address. serve writes it once, before it announces the port (so before
     * any request can read it). */
    char public_url[256];
    int dir_lock; /* the data dir's lock, held shared while the app is open; -1: none */
} cp_app;

/* Creates the data dir, loads or generates keys, opens the store (migrating
 * when `migrate`). Returns a clear message in err on any failure. */
cp_result cp_app_init(cp_app *app, cp_config *cfg, bool migrate, cp_error *err) CP_MUST_CHECK;
void cp_app_close(cp_app *app);
/* Locks dir (made if missing): shared for a process that uses it (serve,
 * worker, migrate, admin), exclusive for one that replaces it (restore), so
 * a restore never swaps the store under a running server. Never waits:
 * CP_ECONFLICT when the other kind is held. Returns the lock's fd in *fd
 * (the lock ends when it is closed, or with the process). */
cp_result cp_app_lock_dir(const char *dir, bool exclusive, int *fd, cp_error *err) CP_MUST_CHECK;
/* The database URL the config selects (PostgreSQL URL or SQLite path); static buffer. */
const char *cp_app_database_url(const cp_config *cfg, char *buf, size_t cap);

#endif
