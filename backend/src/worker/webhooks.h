/* webhooks.h: the delivery loop every worker process runs (embedded: serve's
 * workers; distributed: each `cloudplane worker`). It leases due deliveries
 * from the outbox (store.h, "webhooks"), signs each with its webhook's
 * secret and POSTs it (http/outbound.h), and records the outcome: 2xx
 * succeeded; 429, 5xx, timeouts and connection errors retried with
 * exponential backoff until 24 h after the event; any other answer, or an
 * address that is not allowed, failed at once. It wakes when any process
 * commits an event (cp_webhooks_announce: a notice on the event hub, Redis
 * pub/sub in distributed mode), and polls every second in case a notice
 * was lost. */
#ifndef CP_WORKER_WEBHOOKS_H
#define CP_WORKER_WEBHOOKS_H

#include "app/app.h"

typedef struct cp_webhooks cp_webhooks;

/* owner: this process's worker id (leases name it). A malformed
 * CLOUDPLANE_WEBHOOK_ALLOW_CIDRS is an error. */
cp_result cp_webhooks_start(cp_app *app, const char *owner, cp_webhooks **out, cp_error *err) CP_MUST_CHECK;
/* Every process that writes events (serve, worker) calls this once at
 * start: from then on each commit that wrote deliveries or notifications
 * publishes a notice that wakes the delivery loops, here and in other
 * processes. NULL (at stop, before the hub closes): no more notices. */
void cp_webhooks_announce(cp_app *app);

/* Lets the attempt in flight end (at most the timeout) and joins. NULL: nothing. */
void cp_webhooks_stop(cp_webhooks *h);

/* The wait before attempt number `attempt` + 1 after `attempt` failed ones
 * (base_ms doubling, at most an hour or 360 bases); retry_after_s (> 0)
 * from a 429 wins when it is at most an hour. Exposed for tests. */
int64_t cp_webhooks_backoff_ms(int64_t base_ms, int64_t attempt, long retry_after_s);

/* The X-Cloudplane-Signature value: "sha256=" and the hex HMAC-SHA256 of
 * secret over timestamp "." body (libsodium). out needs CP_WEBHOOK_SIG_LEN. */
#define CP_WEBHOOK_SIG_LEN (7 + 64 + 1)
void cp_webhooks_sign(const char *secret, size_t secret_len, const char *timestamp, const char *body, size_t body_len,
                      char out[CP_WEBHOOK_SIG_LEN]);

#endif
