/* store_webhooks.h (store.h declares the store itself and the types
 * these use): webhooks, their outbox and deliveries, and the events and notifications behind them. */
#ifndef CP_STORE_WEBHOOKS_H
#define CP_STORE_WEBHOOKS_H

#include "store/store.h"

/* ---- webhooks, their outbox and the events behind them (store_webhooks.c) ---- */

/* The events a webhook may choose (openapi.yaml WebhookEvent). */
#define CP_EVENT_RUN_NEEDS_APPROVAL "run.needs_approval"
#define CP_EVENT_RUN_SUCCEEDED "run.succeeded"
#define CP_EVENT_RUN_FAILED "run.failed"
#define CP_EVENT_RESOURCE_DRIFTED "resource.drifted"
#define CP_EVENT_RESOURCE_EXPIRING "resource.expiring"
#define CP_EVENT_RESOURCE_EXPIRED "resource.expired"
#define CP_EVENT_GUARDRAIL_BLOCKED "guardrail.blocked"
bool cp_webhook_event_known(const char *event);
#define CP_WEBHOOKS_PER_PROJECT 20

typedef struct {
    char *id, *project_id, *url;
    char *events; /* JSON array text of CP_EVENT_* */
    /* The secret as cp_vault_seal_webhook sealed it; never leaves the store
     * but to the delivery loop. */
    char *secret_key_id, *secret_nonce, *secret_ciphertext;
    char *secret_hint;
    bool enabled;
    char *created_by;
    int64_t created_at, updated_at;
} cp_webhook;

typedef enum { CP_DELIVERY_PENDING, CP_DELIVERY_SUCCEEDED, CP_DELIVERY_FAILED } cp_delivery_status;
const char *cp_delivery_status_name(cp_delivery_status st);

typedef struct {
    char *id, *webhook_id, *project_id;
    char *event, *event_id; /* a CP_EVENT_* or "ping"; the payload's id */
    char *payload;          /* the WebhookPayload JSON text, sent as is */
    cp_delivery_status status;
    int64_t attempts;
    int64_t response_code;                                         /* the last attempt's; 0: none */
    char *error;                                                   /* the last attempt's; NULL: none */
    int64_t next_attempt_at, give_up_at, created_at, delivered_at; /* ms; 0: none */
    int64_t duration_ms;                                           /* -1: never tried */
    char *redelivery_of;
} cp_delivery;

/* CP_ECONFLICT too_many_webhooks past CP_WEBHOOKS_PER_PROJECT. w is complete. */
cp_result cp_store_webhook_create(cp_store *s, const cp_webhook *w, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_webhook_get(cp_store *s, cp_arena *a, const char *id, cp_webhook *out, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_webhooks_list(cp_store *s, cp_arena *a, const char *project_id, cp_webhook **items, size_t *n,
                                 cp_error *err) CP_MUST_CHECK;
/* Writes url, events, the sealed secret and its hint, enabled, updated_at. */
cp_result cp_store_webhook_update(cp_store *s, const cp_webhook *w, cp_error *err) CP_MUST_CHECK;
/* For key rotation: webhooks whose secret is sealed under a key other than
 * key_id; reseal is conditional on the ciphertext seen (CP_ECONFLICT when
 * the secret changed meanwhile). */
cp_result cp_store_webhooks_not_under(cp_store *s, cp_arena *a, const char *key_id, cp_webhook **items, size_t *n,
                                      cp_error *err) CP_MUST_CHECK;
cp_result cp_store_webhook_reseal(cp_store *s, const char *id, const char *old_ciphertext, const char *key_id,
                                  const char *nonce, const char *ciphertext, cp_error *err) CP_MUST_CHECK;
/* The webhook and its delivery log. */
cp_result cp_store_webhook_delete(cp_store *s, const char *id, cp_error *err) CP_MUST_CHECK;
/* The newest delivery; CP_ENOTFOUND when none. */
cp_result cp_store_webhook_last_delivery(cp_store *s, cp_arena *a, const char *webhook_id, cp_delivery *out,
                                         cp_error *err) CP_MUST_CHECK;
/* The delivery log, newest first (keyset by id). */
cp_result cp_store_deliveries_list(cp_store *s, cp_arena *a, const char *webhook_id, int limit, const char *cursor,
                                   cp_delivery **items, size_t *n, char **next, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_delivery_get(cp_store *s, cp_arena *a, const char *webhook_id, const char *id, cp_delivery *out,
                                cp_error *err) CP_MUST_CHECK;
/* Queues a ping (a fresh event id), or a delivery's payload again (same
 * event id, redelivery_of set); CP_ECONFLICT webhook_disabled. */
cp_result cp_store_webhook_ping(cp_store *s, cp_arena *a, const char *webhook_id, cp_delivery *out,
                                cp_error *err) CP_MUST_CHECK;
cp_result cp_store_delivery_redeliver(cp_store *s, cp_arena *a, const char *webhook_id, const char *delivery_id,
                                      cp_delivery *out, cp_error *err) CP_MUST_CHECK;

/* An event raised outside any store transaction (guardrail.blocked): in one
 * transaction, a delivery to each enabled webhook of project_id subscribed
 * to event, and the notifications of its people. data (borrowed) becomes the
 * payload's data; run.created_by, order.created_by or user_id in it names
 * who asked, resource.id (or run.resource_id) and resource.name (or
 * order.name) what it is about, stage where it happened. */
cp_result cp_store_event_emit(cp_store *s, const char *project_id, const char *event, json_t *data,
                              cp_error *err) CP_MUST_CHECK;

/* The delivery loop (worker/webhooks.c). A due delivery with what sending it needs. */
typedef struct {
    cp_delivery d;
    char *url;
    bool enabled;
    char *secret_key_id, *secret_nonce, *secret_ciphertext;
} cp_delivery_job;
/* Leases up to limit pending deliveries due at now to owner for lease_ms
 * (FOR UPDATE SKIP LOCKED on PostgreSQL): only the owner may record them.
 * A disabled webhook's deliveries are not leased: they wait for it to be
 * enabled, and are failed once past give_up_at. */
cp_result cp_store_deliveries_claim(cp_store *s, cp_arena *a, const char *owner, int64_t now, int64_t lease_ms,
                                    int limit, cp_delivery_job **items, size_t *n, cp_error *err) CP_MUST_CHECK;
typedef struct {
    cp_delivery_status status; /* pending: retry at next_attempt_at */
    int64_t response_code;     /* 0: no response */
    const char *error;         /* NULL: none */
    int64_t duration_ms, next_attempt_at, at;
} cp_delivery_result;
/* One attempt's outcome (attempts + 1), releasing the lease; CP_ECONFLICT
 * when owner no longer holds it. */
cp_result cp_store_delivery_record(cp_store *s, const char *id, const char *owner, const cp_delivery_result *res,
                                   cp_error *err) CP_MUST_CHECK;
/* Removes up to limit settled deliveries created before `before` (ms); *removed gets how many. */
cp_result cp_store_deliveries_prune(cp_store *s, int64_t before, int limit, int64_t *removed,
                                    cp_error *err) CP_MUST_CHECK;
/* Notifications not mailed yet (at most a day old, fewer than
 * CP_NOTE_MAIL_ATTEMPTS tries), leased to owner like deliveries; done
 * records a try (sent: for good). */
#define CP_NOTE_MAIL_ATTEMPTS 5
typedef struct {
    char *id, *email, *kind, *message, *project_name;
    int64_t attempts;
} cp_note_mail;
cp_result cp_store_note_mails_claim(cp_store *s, cp_arena *a, const char *owner, int64_t now, int64_t lease_ms,
                                    int limit, cp_note_mail **items, size_t *n, cp_error *err) CP_MUST_CHECK;
cp_result cp_store_note_mail_done(cp_store *s, const char *id, const char *owner, bool sent, int64_t now,
                                  cp_error *err) CP_MUST_CHECK;
/* fn(ctx) after each commit of a transaction that wrote deliveries or
 * notifications in this process (the delivery loop's wake-up). Set once at
 * start. */
void cp_store_outbox_on_commit(void (*fn)(void *), void *ctx);

#endif
