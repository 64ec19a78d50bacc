/* webhooks.c: the delivery loop (webhooks.h). */
#include "worker/webhooks.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ids.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "http/outbound.h"
#include "queue/events.h"
#include "worker/notify_mail.h"
#include "store/store_webhooks.h"

#define SENDERS 2     /* threads per process: one slow receiver does not hold up the rest */
#define CLAIM_BATCH 8 /* deliveries one thread leases at a time */
_Static_assert(CP_DELIVERY_FAILED < CP_METRICS_SLOTS, "delivery statuses fit the metric's slots");

#define LEASE_MS 120000 /* longer than a batch of attempts at the longest timeout */
#define POLL_MS 1000    /* without a wake-up, the outbox is looked at this often */
#define BACKOFF_BASE_MS 10000
#define HOUR_MS 3600000LL
#define LOG_KEEP_MS (30 * 24 * HOUR_MS) /* settled deliveries stay in the log this long */
#define PRUNE_BATCH 1000
/* The event hub subject of "the outbox has new rows" (no run has this id). */
#define OUTBOX_SUBJECT "webhooks.outbox"

struct cp_webhooks {
    cp_app *app;
    char owner[SENDERS][160];
    pthread_t threads[SENDERS];
    int started;
    atomic_bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t kicks; /* guarded by mu */
    cp_proxies *allow;
    int64_t backoff_base_ms;
    long timeout_ms;
    cp_notify_mail *mail; /* NULL without SMTP */
    cp_events_sub *sub;   /* outbox notices */
};

int64_t cp_webhooks_backoff_ms(int64_t base_ms, int64_t attempt, long retry_after_s)
{
    if (retry_after_s > 0 && retry_after_s <= 3600) return (int64_t)retry_after_s * 1000;
    int64_t cap = base_ms * 360 < HOUR_MS ? base_ms * 360 : HOUR_MS;
    int64_t d = base_ms;
    for (int64_t i = 1; i < attempt && d < cap; i++) d *= 2;
    return d < cap ? d : cap;
}

void cp_webhooks_sign(const char *secret, size_t secret_len, const char *timestamp, const char *body, size_t body_len,
                      char out[CP_WEBHOOK_SIG_LEN])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)timestamp, strlen(timestamp));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, body_len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

static void wake(void *ctx)
{
    cp_webhooks *h = ctx;
    pthread_mutex_lock(&h->mu);
    h->kicks++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void on_notice(void *ctx, const char *subject, cp_notice_kind kind, int64_t seq)
{
    CP_UNUSED(subject);
    CP_UNUSED(kind);
    CP_UNUSED(seq);
    wake(ctx);
}

static void announce(void *ctx)
{
    cp_app *app = ctx;
    cp_events_publish(app->events, OUTBOX_SUBJECT, CP_NOTICE_EVENTS, 0);
}

void cp_webhooks_announce(cp_app *app)
{
    if (app && app->events)
        cp_store_outbox_on_commit(announce, app);
    else
        cp_store_outbox_on_commit(NULL, NULL);
}

/* ---- one attempt ---- */

/* What an attempt's answer means for the delivery. */
static void judge(const cp_webhooks *h, const cp_delivery_job *j, const cp_outbound_res *res, int64_t now,
                  cp_delivery_result *out, cp_arena *a)
{
    out->at = now;
    out->duration_ms = res->duration_ms;
    out->response_code = res->outcome == CP_OUT_OK ? res->status : 0;
    bool retry = false;
    long retry_after = -1;
    switch (res->outcome) {
    case CP_OUT_OK:
        if (res->status >= 200 && res->status < 300) {
            out->status = CP_DELIVERY_SUCCEEDED;
            return;
        }
        retry = res->status == 429 || res->status >= 500;
        if (res->status == 429) retry_after = res->retry_after_s;
        out->error = cp_arena_printf(a, "HTTP %ld%s", res->status,
                                     res->status >= 300 && res->status < 400 ? " (redirects are not followed)" : "");
        break;
    case CP_OUT_TIMEOUT:
    case CP_OUT_CONNECT:
        retry = true;
        out->error = cp_arena_strdup(a, res->error);
        break;
    case CP_OUT_REFUSED:
    case CP_OUT_BAD_URL:
    case CP_OUT_OTHER:
        out->error = cp_arena_strdup(a, res->error);
        break;
    }
    if (!retry) {
        out->status = CP_DELIVERY_FAILED;
        return;
    }
    int64_t next = now + cp_webhooks_backoff_ms(h->backoff_base_ms, j->d.attempts + 1, retry_after);
    if (next > j->d.give_up_at) {
        out->status = CP_DELIVERY_FAILED;
        out->error = cp_arena_printf(a, "gave up after 24 hours: %s", out->error);
        return;
    }
    out->status = CP_DELIVERY_PENDING;
    out->next_attempt_at = next;
}

static void send_one(cp_webhooks *h, const char *owner, cp_arena *a, const cp_delivery_job *j)
{
    cp_app *app = h->app;
    int64_t now = cp_now_ms();
    cp_delivery_result out = {.status = CP_DELIVERY_FAILED, .at = now};
    cp_outbound_res res = {.outcome = CP_OUT_OTHER};
    char *secret = NULL;
    size_t secret_len = 0;
    cp_error e;
    /* Never disabled here: the claim leaves a disabled webhook's deliveries waiting. */
    if (cp_vault_open_webhook(app->vault, j->secret_key_id, j->secret_nonce, j->secret_ciphertext, j->d.webhook_id,
                              j->d.project_id, &secret, &secret_len, &e) != CP_OK) {
        cp_log_warn("webhook %s: cannot open its signing secret: %s", j->d.webhook_id, e.message);
        out.error = "cannot open the signing secret";
    } else {
        char ts[32], sig[CP_WEBHOOK_SIG_LEN];
        snprintf(ts, sizeof ts, "%" PRId64, now / 1000);
        size_t len = strlen(j->d.payload);
        cp_webhooks_sign(secret, secret_len, ts, j->d.payload, len, sig);
        cp_vault_wipe(secret, secret_len);
        const char *headers[] = {
            cp_arena_printf(a, "X-Cloudplane-Event: %s", j->d.event),
            cp_arena_printf(a, "X-Cloudplane-Delivery: %s", j->d.id),
            cp_arena_printf(a, "X-Cloudplane-Timestamp: %s", ts),
            cp_arena_printf(a, "X-Cloudplane-Signature: %s", sig),
        };
        cp_outbound_req q = {.url = j->url,
                             .body = j->d.payload,
                             .len = len,
                             .headers = headers,
                             .nheaders = CP_ARRAY_LEN(headers),
                             .timeout_ms = h->timeout_ms,
                             .allow = h->allow};
        cp_outbound_post(&q, &res);
        sodium_memzero(sig, sizeof sig);
        judge(h, j, &res, now, &out, a);
    }
    /* The URL may carry a token in its path or query: the log names the webhook instead.
     * Logged before it is recorded, so whoever sees the outcome can find its line. */
    cp_log(CP_LOG_INFO, "webhook delivery",
           json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:o, s:I}", "delivery_id", j->d.id, "webhook_id", j->d.webhook_id,
                     "event", j->d.event, "attempt", (json_int_t)(j->d.attempts + 1), "status",
                     cp_delivery_status_name(out.status), "response_code", (json_int_t)out.response_code, "error",
                     out.error ? json_string(out.error) : json_null(), "duration_ms", (json_int_t)out.duration_ms));
    cp_metrics_inc(webhook_deliveries[out.status]);
    if (cp_store_delivery_record(app->store, j->d.id, owner, &out, &e) != CP_OK)
        cp_log_warn("webhook delivery %s: outcome not recorded: %s", j->d.id, e.message);
}

/* Leases and sends what is due; how many it sent. */
static size_t run_once(cp_webhooks *h, const char *owner)
{
    cp_arena *a = cp_arena_new(16384);
    cp_delivery_job *items = NULL;
    size_t n = 0;
    cp_error e;
    if (cp_store_deliveries_claim(h->app->store, a, owner, cp_now_ms(), LEASE_MS, CLAIM_BATCH, &items, &n, &e) !=
        CP_OK) {
        cp_log_warn("webhooks: claiming deliveries failed (retrying): %s", e.message);
        n = 0;
    }
    for (size_t i = 0; i < n && !atomic_load(&h->stopping); i++) send_one(h, owner, a, &items[i]);
    cp_arena_free(a);
    return n;
}

/* Settled deliveries past LOG_KEEP_MS leave the log, a batch an hour. */
static void prune(cp_webhooks *h, int64_t *next_ms)
{
    int64_t now = cp_now_ms(), removed = 0;
    if (now < *next_ms) return;
    *next_ms = now + HOUR_MS;
    cp_error e;
    if (cp_store_deliveries_prune(h->app->store, now - LOG_KEEP_MS, PRUNE_BATCH, &removed, &e) != CP_OK)
        cp_log_warn("webhooks: pruning the delivery log failed (next hour retries): %s", e.message);
    else if (removed)
        cp_log_info("webhooks: %lld settled deliveries older than 30 days removed", (long long)removed);
}

static void *sender_main(void *arg)
{
    cp_webhooks *h = ((void **)arg)[0];
    const char *owner = ((void **)arg)[1];
    free(arg);
    bool pruner = owner == h->owner[0];
    int64_t next_prune = 0;
    while (!atomic_load(&h->stopping)) {
        if (pruner) prune(h, &next_prune);
        pthread_mutex_lock(&h->mu);
        uint64_t seen = h->kicks;
        pthread_mutex_unlock(&h->mu);
        size_t sent = run_once(h, owner);
        if (h->mail) cp_notify_mail_run(h->mail, owner);
        if (sent == CLAIM_BATCH) continue; /* more may be due */
        pthread_mutex_lock(&h->mu);
        if (h->kicks == seen && !atomic_load(&h->stopping)) {
            struct timespec ts = cp_deadline_ts(POLL_MS);
            pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        }
        pthread_mutex_unlock(&h->mu);
    }
    return NULL;
}

/* ---- start and stop ---- */

static int64_t test_backoff_ms(void)
{
    const char *v = getenv("CLOUDPLANE_TEST_WEBHOOK_BACKOFF_MS");
    if (!v || !*v) return 0;
    char *end;
    long long ms = strtoll(v, &end, 10);
    int64_t out = *end == '\0' && ms > 0 && ms <= BACKOFF_BASE_MS ? ms : 0;
    cp_log_warn("CLOUDPLANE_TEST_WEBHOOK_BACKOFF_MS=%s: test hook active, webhook retries start %lld ms apart", v,
                (long long)out);
    return out;
}

cp_result cp_webhooks_start(cp_app *app, const char *owner, cp_webhooks **out, cp_error *err)
{
    *out = NULL;
    cp_proxies *allow = NULL;
    cp_result r = cp_proxies_parse(app->cfg->webhook_allow_cidrs, &allow, err);
    if (r != CP_OK)
        return cp_error_set(err, CP_EINVAL, "bad_config", NULL, "CLOUDPLANE_WEBHOOK_ALLOW_CIDRS: %s", err->message);
    cp_outbound_init();
    cp_webhooks *h = cp_xcalloc(1, sizeof *h);
    h->app = app;
    h->allow = allow;
    int64_t test = test_backoff_ms();
    h->backoff_base_ms = test ? test : BACKOFF_BASE_MS;
    h->timeout_ms = app->cfg->webhook_timeout_seconds * 1000;
    if (app->cfg->webhook_allow_cidrs[0])
        cp_log_warn("webhooks may reach the non-public addresses in CLOUDPLANE_WEBHOOK_ALLOW_CIDRS=%s",
                    app->cfg->webhook_allow_cidrs);
    if ((r = cp_notify_mail_new(app, &h->mail, err)) != CP_OK) {
        cp_proxies_free(allow);
        free(h);
        return r;
    }
    pthread_mutex_init(&h->mu, NULL);
    cp_cond_init_monotonic(&h->cv);
    char rnd[9];
    cp_rand_hex(rnd, 4);
    for (int i = 0; i < SENDERS; i++) {
        snprintf(h->owner[i], sizeof h->owner[i], "%.120s/hooks-%d-%s", owner, i, rnd);
        void **arg = cp_xmalloc(2 * sizeof *arg);
        arg[0] = h;
        arg[1] = h->owner[i];
        if (pthread_create(&h->threads[i], NULL, sender_main, arg) != 0) {
            free(arg);
            break;
        }
        h->started++;
    }
    if (h->started == 0) {
        cp_webhooks_stop(h);
        return cp_error_set(err, CP_ERR, NULL, NULL, "cannot start the webhook delivery threads");
    }
    if (app->events) h->sub = cp_events_subscribe(app->events, OUTBOX_SUBJECT, on_notice, h);
    *out = h;
    return CP_OK;
}

void cp_webhooks_stop(cp_webhooks *h)
{
    if (!h) return;
    if (h->sub) cp_events_unsubscribe(h->app->events, h->sub);
    atomic_store(&h->stopping, true);
    wake(h);
    for (int i = 0; i < h->started; i++) pthread_join(h->threads[i], NULL);
    cp_notify_mail_free(h->mail);
    cp_proxies_free(h->allow);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
