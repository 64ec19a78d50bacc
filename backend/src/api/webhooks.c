/* webhooks.c: a project's webhooks (owners and admins), their delivery log,
 * the test ping and redelivery. The signing secret is sealed in the vault
 * bound to the webhook and project ids, returned once (at creation) and
 * never again: not in replies, the audit or the log. Where a URL points is
 * judged at each delivery (http/outbound.h); here only its form. */
#include <string.h>

#include <sodium.h>

#include "api/common.h"
#include "core/ids.h"
#include "core/timeutil.h"
#include "http/outbound.h"
#include "store/store_webhooks.h"

#define SECRET_BYTES 24 /* a generated secret: "whsec_" and 48 hex digits */

/* ---- JSON ---- */

static json_t *delivery_json(const cp_delivery *d)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "id", d->id, "webhook_id", d->webhook_id, "event", d->event,
                          "event_id", d->event_id, "status", cp_delivery_status_name(d->status), "attempts",
                          (json_int_t)d->attempts);
    json_object_set_new(j, "response_code", d->response_code ? json_integer(d->response_code) : json_null());
    json_object_set_new(j, "error", cp_json_str_or_null(d->error));
    json_object_set_new(j, "next_attempt_at",
                        d->status == CP_DELIVERY_PENDING ? cp_api_time(d->next_attempt_at) : json_null());
    json_object_set_new(j, "duration_ms", d->duration_ms >= 0 ? json_integer(d->duration_ms) : json_null());
    json_object_set_new(j, "created_at", cp_api_time(d->created_at));
    json_object_set_new(j, "delivered_at", cp_api_time(d->delivered_at));
    json_object_set_new(j, "redelivery_of", cp_json_str_or_null(d->redelivery_of));
    return j;
}

static json_t *webhook_json(cp_req *req, const cp_webhook *w)
{
    json_t *events = cp_api_json_text(w->events);
    if (!json_is_array(events)) {
        json_decref(events);
        events = json_array();
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:o, s:o}", "id", w->id, "project_id", w->project_id, "url",
                          w->url, "events", events, "enabled", w->enabled, "secret_hint", w->secret_hint, "created_at",
                          cp_api_time(w->created_at), "updated_at", cp_api_time(w->updated_at));
    cp_delivery last;
    cp_error e;
    json_object_set_new(j, "last_delivery",
                        cp_store_webhook_last_delivery(CP_APP(req)->store, req->arena, w->id, &last, &e) == CP_OK
                            ? delivery_json(&last)
                            : json_null());
    return j;
}

/* ---- checks ---- */

/* The webhook at path {id} when the caller is an owner or admin of its
 * project: 404 for non-members (and unknown ids), 403 below admin. */
static cp_result load_hook(cp_req *req, cp_webhook *w, cp_project *p)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    r = cp_store_webhook_get(CP_APP(req)->store, req->arena, id, w, &req->err);
    if (r == CP_ENOTFOUND) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "webhook not found");
    if (r != CP_OK) return r;
    return cp_api_project(req, w->project_id, CP_ROLE_ADMIN, p);
}

static bool no_nul(json_t *v)
{
    return strlen(json_string_value(v)) == json_string_length(v);
}

static cp_result check_url(cp_req *req, json_t *b)
{
    json_t *v = json_object_get(b, "url");
    if (!v) return CP_OK;
    if (!no_nul(v) || !cp_outbound_url_ok(json_string_value(v)))
        return cp_req_fail(req, CP_EUNPROC, "invalid_url", "url",
                           "url must be an http or https URL with a host and no user name, password or fragment");
    return CP_OK;
}

/* The events as stored: a JSON array text of known, distinct events. */
static cp_result check_events(cp_req *req, json_t *b, char **out)
{
    *out = NULL;
    json_t *arr = json_object_get(b, "events");
    if (!arr) return CP_OK;
    size_t i, k;
    json_t *v, *u;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || !cp_webhook_event_known(json_string_value(v)) || !no_nul(v))
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "events",
                               "events are run.needs_approval, run.succeeded, run.failed, resource.drifted, "
                               "resource.expiring, resource.expired or guardrail.blocked");
        json_array_foreach(arr, k, u) if (k < i && json_equal(u, v)) return cp_req_fail(
            req, CP_EUNPROC, "invalid_value", "events", "each event at most once");
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    *out = cp_arena_strdup(req->arena, text);
    free(text);
    return CP_OK;
}

static cp_result check_secret(cp_req *req, json_t *b)
{
    json_t *v = json_object_get(b, "secret");
    if (!v || json_is_null(v)) return CP_OK;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return cp_req_fail(req, CP_EUNPROC, "invalid_format", "secret",
                               "secret must be printable ASCII without spaces");
    return CP_OK;
}

/* Seals secret for w (id and project set) into its secret_* fields. */
static cp_result seal_secret(cp_req *req, cp_webhook *w, const char *secret)
{
    cp_vault_sealed sealed;
    size_t len = strlen(secret);
    cp_result r =
        cp_vault_seal_webhook(CP_APP(req)->vault, req->arena, secret, len, w->id, w->project_id, &sealed, &req->err);
    if (r != CP_OK) return r;
    w->secret_key_id = cp_arena_strdup(req->arena, sealed.key_id);
    w->secret_nonce = sealed.nonce_b64;
    w->secret_ciphertext = sealed.ciphertext_b64;
    w->secret_hint = cp_arena_strdup(req->arena, secret + len - 4);
    return CP_OK;
}

/* The host of a URL for the audit: the URL itself may carry a token. */
static json_t *url_host(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p) return json_null();
    p += 3;
    size_t n = strcspn(p, "/?#");
    return json_stringn(p, n);
}

/* ---- handlers ---- */

cp_result cp_api_webhooks_list(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_ADMIN, &p);
    if (r != CP_OK) return r;
    cp_webhook *items;
    size_t n;
    if ((r = cp_store_webhooks_list(CP_APP(req)->store, req->arena, p.id, &items, &n, &req->err)) != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, webhook_json(req, &items[i]));
    return cp_reply(req, 200, json_pack("{s:o}", "items", arr));
}

cp_result cp_api_webhooks_create(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "url", .type = CP_JF_STRING, .required = true, .min_len = 8, .max_len = 2048},
        {.name = "events", .type = CP_JF_ARRAY, .required = true, .min_len = 1, .max_len = 7},
        {.name = "secret", .type = CP_JF_STRING, .nullable = true, .min_len = 16, .max_len = 256},
        {.name = "enabled", .type = CP_JF_BOOL},
    };
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    json_t *b;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if ((r = cp_api_need_role(req, p.role, CP_ROLE_ADMIN)) != CP_OK) return r;
    char *events;
    if ((r = check_url(req, b)) != CP_OK || (r = check_events(req, b, &events)) != CP_OK ||
        (r = check_secret(req, b)) != CP_OK)
        return r;
    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    int64_t now = cp_now_ms();
    cp_webhook w = {.id = id,
                    .project_id = p.id,
                    .url = (char *)cp_json_str(b, "url", ""),
                    .events = events,
                    .enabled = cp_json_bool(b, "enabled", true),
                    .created_by = (char *)req->user_id,
                    .created_at = now,
                    .updated_at = now};
    const char *given = cp_json_str(b, "secret", NULL);
    char fresh[6 + 2 * SECRET_BYTES + 1];
    if (!given) {
        memcpy(fresh, "whsec_", 6);
        cp_rand_hex(fresh + 6, SECRET_BYTES);
    }
    const char *secret = given ? given : fresh;
    r = seal_secret(req, &w, secret);
    if (r == CP_OK) r = cp_store_webhook_create(CP_APP(req)->store, &w, &req->err);
    if (r != CP_OK) {
        sodium_memzero(fresh, sizeof fresh);
        return r;
    }
    cp_api_audit(req, p.id, "webhook.create", id,
                 json_pack("{s:o, s:O, s:b}", "host", url_host(w.url), "events", json_object_get(b, "events"),
                           "enabled", w.enabled));
    json_t *j = webhook_json(req, &w);
    json_object_set_new(j, "secret", json_string(secret));
    sodium_memzero(fresh, sizeof fresh);
    return cp_reply(req, 201, j);
}

cp_result cp_api_webhooks_get(cp_req *req)
{
    cp_webhook w;
    cp_project p;
    cp_result r = load_hook(req, &w, &p);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, webhook_json(req, &w));
}

cp_result cp_api_webhooks_update(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "url", .type = CP_JF_STRING, .min_len = 8, .max_len = 2048},
        {.name = "events", .type = CP_JF_ARRAY, .min_len = 1, .max_len = 7},
        {.name = "secret", .type = CP_JF_STRING, .min_len = 16, .max_len = 256},
        {.name = "enabled", .type = CP_JF_BOOL},
    };
    cp_webhook w;
    cp_project p;
    cp_result r = load_hook(req, &w, &p);
    if (r != CP_OK) return r;
    json_t *b;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    char *events;
    if ((r = check_url(req, b)) != CP_OK || (r = check_events(req, b, &events)) != CP_OK ||
        (r = check_secret(req, b)) != CP_OK)
        return r;
    json_t *changed = json_array();
    if (json_object_get(b, "url")) {
        w.url = (char *)cp_json_str(b, "url", w.url);
        json_array_append_new(changed, json_string("url"));
    }
    if (events) {
        w.events = events;
        json_array_append_new(changed, json_string("events"));
    }
    if (json_object_get(b, "enabled")) {
        w.enabled = cp_json_bool(b, "enabled", w.enabled);
        json_array_append_new(changed, json_string("enabled"));
    }
    const char *secret = cp_json_str(b, "secret", NULL);
    if (secret && (r = seal_secret(req, &w, secret)) != CP_OK) {
        json_decref(changed);
        return r;
    }
    if (secret) json_array_append_new(changed, json_string("secret"));
    w.updated_at = cp_now_ms();
    if ((r = cp_store_webhook_update(CP_APP(req)->store, &w, &req->err)) != CP_OK) {
        json_decref(changed);
        return r;
    }
    cp_api_audit(req, p.id, "webhook.update", w.id,
                 json_pack("{s:o, s:o, s:b}", "changed", changed, "host", url_host(w.url), "enabled", w.enabled));
    return cp_reply(req, 200, webhook_json(req, &w));
}

cp_result cp_api_webhooks_delete(cp_req *req)
{
    cp_webhook w;
    cp_project p;
    cp_result r = load_hook(req, &w, &p);
    if (r != CP_OK) return r;
    if ((r = cp_store_webhook_delete(CP_APP(req)->store, w.id, &req->err)) != CP_OK) return r;
    cp_api_audit(req, p.id, "webhook.delete", w.id, json_pack("{s:o}", "host", url_host(w.url)));
    return cp_reply(req, 204, NULL);
}

cp_result cp_api_webhooks_test(cp_req *req)
{
    cp_webhook w;
    cp_project p;
    cp_result r = load_hook(req, &w, &p);
    if (r != CP_OK) return r;
    cp_delivery d;
    if ((r = cp_store_webhook_ping(CP_APP(req)->store, req->arena, w.id, &d, &req->err)) != CP_OK) return r;
    return cp_reply(req, 202, delivery_json(&d));
}

cp_result cp_api_webhooks_deliveries(cp_req *req)
{
    cp_webhook w;
    cp_project p;
    cp_result r = load_hook(req, &w, &p);
    if (r != CP_OK) return r;
    int limit;
    const char *cursor;
    if ((r = cp_api_page(req, &limit, &cursor)) != CP_OK) return r;
    cp_delivery *items;
    size_t n;
    char *next;
    if ((r = cp_store_deliveries_list(CP_APP(req)->store, req->arena, w.id, limit, cursor, &items, &n, &next,
                                      &req->err)) != CP_OK)
        return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, delivery_json(&items[i]));
    return cp_reply(req, 200, cp_api_page_json(arr, next));
}

cp_result cp_api_webhooks_redeliver(cp_req *req)
{
    cp_webhook w;
    cp_project p;
    cp_result r = load_hook(req, &w, &p);
    if (r != CP_OK) return r;
    const char *delivery_id;
    if ((r = cp_api_id(req, "delivery_id", &delivery_id)) != CP_OK) return r;
    cp_delivery d;
    if ((r = cp_store_delivery_redeliver(CP_APP(req)->store, req->arena, w.id, delivery_id, &d, &req->err)) != CP_OK)
        return r;
    return cp_reply(req, 202, delivery_json(&d));
}
