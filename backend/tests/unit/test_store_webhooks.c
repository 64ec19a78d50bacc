/* Webhooks in the store (store/store_webhooks.c), on SQLite and PostgreSQL:
 * cp_store_event_emit on its own (guardrail.blocked, as the guardrails
 * raise it) writes one delivery per enabled, subscribed webhook and the
 * notifications of its people (whoever ordered, owners and admins); the
 * delivery loop's lease lets one owner record an attempt, and racing claims
 * lease each delivery once; redeliver keeps the event id; pruning the log
 * takes settled deliveries only. */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>

#include "core/ids.h"
#include "core/timeutil.h"
#include "store/store_int.h"
#include "test.h"
#include "test_store_util.h"
#include "store/store_webhooks.h"
#include "store/store_expiry.h"

static cp_store *st;
static const char *backend_name;
static int fixtures;

typedef struct {
    char *owner, *admin, *member, *viewer, *project;
} people;

static char *user_new(cp_arena *a, const char *tag)
{
    cp_user u;
    cp_error e;
    CHECK_EQ(cp_store_user_create(st, a, cp_arena_printf(a, "%s%d-%s@example.com", tag, fixtures, backend_name), tag,
                                  "h", &u, &e),
             CP_OK);
    return u.id;
}

static void people_new(cp_arena *a, people *p)
{
    fixtures++;
    p->owner = user_new(a, "owner");
    p->admin = user_new(a, "admin");
    p->member = user_new(a, "member");
    p->viewer = user_new(a, "viewer");
    cp_project proj;
    cp_error e;
    CHECK_EQ(cp_store_project_create(st, a, p->owner, "hooks", false, NULL, &proj, &e), CP_OK);
    p->project = proj.id;
    const char *tags[] = {"admin", "member", "viewer"};
    cp_role roles[] = {CP_ROLE_ADMIN, CP_ROLE_MEMBER, CP_ROLE_VIEWER};
    for (int i = 0; i < 3; i++) {
        cp_member m;
        CHECK_EQ(cp_store_member_add(st, a, p->project,
                                     cp_arena_printf(a, "%s%d-%s@example.com", tags[i], fixtures, backend_name),
                                     roles[i], &m, &e),
                 CP_OK);
    }
}

static char *hook_new(cp_arena *a, const char *project, const char *events, bool enabled)
{
    char *id = cp_arena_alloc(a, CP_ID_LEN + 1);
    cp_id_new(id);
    cp_webhook w = {.id = id,
                    .project_id = (char *)project,
                    .url = "https://hooks.example.com/x",
                    .events = (char *)events,
                    .secret_key_id = "k1",
                    .secret_nonce = "n",
                    .secret_ciphertext = "c",
                    .secret_hint = "abcd",
                    .enabled = enabled,
                    .created_at = 1,
                    .updated_at = 1};
    cp_error e;
    CHECK_EQ(cp_store_webhook_create(st, &w, &e), CP_OK);
    return id;
}

static size_t note_count(cp_arena *a, const char *user, const char *kind, cp_notification *last)
{
    cp_notification *items;
    char *next_page;
    size_t n, found = 0;
    int64_t unread;
    cp_error e;
    CHECK_EQ(cp_store_notifications_list(st, a, user, 200, NULL, &items, &n, &next_page, &unread, &e), CP_OK);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(items[i].kind, kind)) {
            if (last && !found) *last = items[i];
            found++;
        }
    return found;
}

TEST(emit_guardrail_blocked_standalone)
{
    cp_arena *a = cp_arena_new(16384);
    people p;
    people_new(a, &p);
    char *yes = hook_new(a, p.project, "[\"guardrail.blocked\",\"run.failed\"]", true);
    char *other = hook_new(a, p.project, "[\"run.failed\"]", true);
    char *off = hook_new(a, p.project, "[\"guardrail.blocked\"]", false);
    json_t *data = json_pack("{s:s, s:{s:s, s:s}, s:[]}", "stage", "order", "order", "name", "big-vm", "created_by",
                             p.member, "checks");
    cp_error e;
    CHECK_EQ(cp_store_event_emit(st, p.project, "guardrail.blocked", data, &e), CP_OK);
    CHECK_EQ(cp_store_event_emit(st, p.project, "no.such.event", data, &e), CP_EINVAL);
    json_decref(data);

    cp_delivery *items;
    size_t n;
    char *next;
    CHECK_EQ(cp_store_deliveries_list(st, a, yes, 50, NULL, &items, &n, &next, &e), CP_OK);
    CHECK_EQ(n, 1);
    if (n == 1) {
        CHECK_STR(items[0].event, "guardrail.blocked");
        CHECK_EQ(items[0].status, CP_DELIVERY_PENDING);
        CHECK_EQ(items[0].attempts, 0);
        json_t *body = json_loads(items[0].payload, 0, NULL);
        CHECK(body != NULL);
        CHECK_EQ(json_integer_value(json_object_get(body, "version")), 1);
        CHECK_STR(json_string_value(json_object_get(body, "id")), items[0].event_id);
        CHECK_STR(json_string_value(json_object_get(body, "event")), "guardrail.blocked");
        CHECK_STR(json_string_value(json_object_get(json_object_get(body, "project"), "name")), "hooks");
        CHECK_STR(json_string_value(json_object_get(json_object_get(body, "data"), "stage")), "order");
        json_decref(body);
    }
    CHECK_EQ(cp_store_deliveries_list(st, a, other, 50, NULL, &items, &n, &next, &e), CP_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(cp_store_deliveries_list(st, a, off, 50, NULL, &items, &n, &next, &e), CP_OK);
    CHECK_EQ(n, 0);

    /* Whoever ordered, and owners and admins; not the viewer. */
    cp_notification note;
    CHECK_EQ(note_count(a, p.member, "guardrail_blocked", &note), 1);
    CHECK(strstr(note.message, "big-vm") != NULL);
    CHECK(note.resource_id == NULL && note.run_id == NULL && note.expires_at == 0);
    CHECK_STR(note.resource_name, "big-vm");
    CHECK_EQ(note_count(a, p.owner, "guardrail_blocked", NULL), 1);
    CHECK_EQ(note_count(a, p.admin, "guardrail_blocked", NULL), 1);
    CHECK_EQ(note_count(a, p.viewer, "guardrail_blocked", NULL), 0);
    cp_arena_free(a);
}

static const cp_delivery_job *find(const cp_delivery_job *jobs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(jobs[i].d.id, id)) return &jobs[i];
    return NULL;
}

TEST(lease_lets_one_owner_record)
{
    cp_arena *a = cp_arena_new(16384);
    people p;
    people_new(a, &p);
    char *hook = hook_new(a, p.project, "[\"guardrail.blocked\"]", true);
    cp_delivery ping;
    cp_error e;
    CHECK_EQ(cp_store_webhook_ping(st, a, hook, &ping, &e), CP_OK);
    CHECK_STR(ping.event, "ping");
    int64_t now = cp_now_ms();
    cp_delivery_job *jobs;
    size_t n;
    /* Other suites' deliveries may be due too: look for this one. */
    CHECK_EQ(cp_store_deliveries_claim(st, a, "A", now, 60000, 50, &jobs, &n, &e), CP_OK);
    const cp_delivery_job *j = find(jobs, n, ping.id);
    CHECK(j != NULL);
    if (!j) goto out;
    CHECK_STR(j->url, "https://hooks.example.com/x");
    CHECK_STR(j->secret_ciphertext, "c");
    /* Leased: nobody else gets it, nor records it. */
    CHECK_EQ(cp_store_deliveries_claim(st, a, "B", now, 60000, 50, &jobs, &n, &e), CP_OK);
    CHECK(find(jobs, n, ping.id) == NULL);
    cp_delivery_result retry = {.status = CP_DELIVERY_PENDING,
                                .response_code = 503,
                                .error = "HTTP 503",
                                .duration_ms = 5,
                                .next_attempt_at = now + 30000,
                                .at = now};
    CHECK_EQ(cp_store_delivery_record(st, ping.id, "B", &retry, &e), CP_ECONFLICT);
    CHECK_EQ(cp_store_delivery_record(st, ping.id, "A", &retry, &e), CP_OK);
    CHECK_EQ(cp_store_delivery_record(st, ping.id, "A", &retry, &e), CP_ECONFLICT); /* the lease is released */
    /* Not due before its next attempt; due after. */
    CHECK_EQ(cp_store_deliveries_claim(st, a, "B", now + 1000, 60000, 50, &jobs, &n, &e), CP_OK);
    CHECK(find(jobs, n, ping.id) == NULL);
    CHECK_EQ(cp_store_deliveries_claim(st, a, "B", now + 30000, 60000, 50, &jobs, &n, &e), CP_OK);
    CHECK(find(jobs, n, ping.id) != NULL);
    cp_delivery_result done = {.status = CP_DELIVERY_SUCCEEDED, .response_code = 200, .duration_ms = 3, .at = now};
    CHECK_EQ(cp_store_delivery_record(st, ping.id, "B", &done, &e), CP_OK);
    cp_delivery d;
    CHECK_EQ(cp_store_delivery_get(st, a, hook, ping.id, &d, &e), CP_OK);
    CHECK_EQ(d.status, CP_DELIVERY_SUCCEEDED);
    CHECK_EQ(d.attempts, 2);
    CHECK_EQ(d.response_code, 200);
    CHECK(d.error == NULL && d.delivered_at == now);
    /* Redelivery: a new delivery with the same event id and payload. */
    cp_delivery again;
    CHECK_EQ(cp_store_delivery_redeliver(st, a, hook, ping.id, &again, &e), CP_OK);
    CHECK(strcmp(again.id, ping.id) != 0);
    CHECK_STR(again.event_id, ping.event_id);
    CHECK_STR(again.payload, ping.payload);
    CHECK_STR(again.redelivery_of, ping.id);
    cp_delivery gone;
    CHECK_EQ(cp_store_delivery_redeliver(st, a, hook, "01aaaaaaaaaaaaaaaaaaaaaaaa", &gone, &e), CP_ENOTFOUND);
    /* Pruning the log takes settled deliveries only. */
    int64_t removed = 0;
    CHECK_EQ(cp_store_deliveries_prune(st, cp_now_ms() + 1000, 1000, &removed, &e), CP_OK);
    CHECK(removed >= 1);
    CHECK_EQ(cp_store_delivery_get(st, a, hook, ping.id, &d, &e), CP_ENOTFOUND);
    CHECK_EQ(cp_store_delivery_get(st, a, hook, again.id, &d, &e), CP_OK);
out:
    cp_arena_free(a);
}

/* A disabled webhook's pending deliveries wait, are sent once it is enabled
 * again, and fail once their 24 hours are up. */
TEST(disabled_webhook_deliveries_wait)
{
    cp_arena *a = cp_arena_new(16384);
    people p;
    people_new(a, &p);
    char *hook = hook_new(a, p.project, "[\"run.failed\"]", true);
    cp_delivery first, second;
    cp_error e;
    CHECK_EQ(cp_store_webhook_ping(st, a, hook, &first, &e), CP_OK);
    CHECK_EQ(cp_store_webhook_ping(st, a, hook, &second, &e), CP_OK);
    cp_webhook w;
    CHECK_EQ(cp_store_webhook_get(st, a, hook, &w, &e), CP_OK);
    w.enabled = false;
    CHECK_EQ(cp_store_webhook_update(st, &w, &e), CP_OK);
    int64_t now = cp_now_ms();
    cp_delivery_job *jobs;
    size_t n;
    CHECK_EQ(cp_store_deliveries_claim(st, a, "A", now + 1000, 60000, 50, &jobs, &n, &e), CP_OK);
    CHECK(find(jobs, n, first.id) == NULL && find(jobs, n, second.id) == NULL);
    cp_delivery d;
    CHECK_EQ(cp_store_delivery_get(st, a, hook, first.id, &d, &e), CP_OK);
    CHECK_EQ(d.status, CP_DELIVERY_PENDING);
    CHECK_EQ(d.attempts, 0);
    CHECK(d.error == NULL);
    /* Enabled again: sent. */
    w.enabled = true;
    CHECK_EQ(cp_store_webhook_update(st, &w, &e), CP_OK);
    CHECK_EQ(cp_store_deliveries_claim(st, a, "A", now + 2000, 60000, 50, &jobs, &n, &e), CP_OK);
    const cp_delivery_job *j = find(jobs, n, first.id);
    CHECK(j != NULL && j->enabled);
    CHECK(find(jobs, n, second.id) != NULL);
    cp_delivery_result retry = {.status = CP_DELIVERY_PENDING,
                                .response_code = 503,
                                .error = "HTTP 503",
                                .next_attempt_at = now + 3000,
                                .at = now};
    CHECK_EQ(cp_store_delivery_record(st, second.id, "A", &retry, &e), CP_OK);
    cp_delivery_result done = {.status = CP_DELIVERY_SUCCEEDED, .response_code = 200, .at = now};
    CHECK_EQ(cp_store_delivery_record(st, first.id, "A", &done, &e), CP_OK);
    /* Disabled again past the 24 hours: the waiting one fails, unsent. */
    w.enabled = false;
    CHECK_EQ(cp_store_webhook_update(st, &w, &e), CP_OK);
    CHECK_EQ(cp_store_deliveries_claim(st, a, "A", now + 3000, 60000, 50, &jobs, &n, &e), CP_OK);
    CHECK(find(jobs, n, second.id) == NULL);
    CHECK_EQ(cp_store_delivery_get(st, a, hook, second.id, &d, &e), CP_OK);
    CHECK_EQ(d.status, CP_DELIVERY_PENDING);
    CHECK_EQ(cp_store_deliveries_claim(st, a, "A", d.give_up_at + 1, 60000, 50, &jobs, &n, &e), CP_OK);
    CHECK(find(jobs, n, second.id) == NULL);
    CHECK_EQ(cp_store_delivery_get(st, a, hook, second.id, &d, &e), CP_OK);
    CHECK_EQ(d.status, CP_DELIVERY_FAILED);
    CHECK_EQ(d.attempts, 1);
    CHECK_STR(d.error, "gave up after 24 hours: the webhook was disabled");
    CHECK(d.next_attempt_at == 0);
    cp_arena_free(a);
}

/* The notification list pages by cursor, newest first; unread counts all. */
TEST(notifications_page_by_cursor)
{
    cp_arena *a = cp_arena_new(16384);
    people p;
    people_new(a, &p);
    cp_error e;
    for (int i = 0; i < 3; i++) {
        json_t *data = json_pack("{s:s, s:{s:s, s:s}, s:[]}", "stage", "order", "order", "name",
                                 cp_arena_printf(a, "vm-%d", i), "created_by", p.member, "checks");
        CHECK_EQ(cp_store_event_emit(st, p.project, "guardrail.blocked", data, &e), CP_OK);
        json_decref(data);
    }
    cp_notification *items;
    size_t n;
    char *next;
    int64_t unread = 0;
    CHECK_EQ(cp_store_notifications_list(st, a, p.member, 2, NULL, &items, &n, &next, &unread, &e), CP_OK);
    CHECK_EQ(n, 2);
    CHECK_EQ(unread, 3);
    CHECK(next != NULL);
    if (n != 2 || !next) goto out;
    /* Ids made in the same millisecond need not sort as made: the pages split the
     * list, newest id first, each notification once. */
    CHECK(strcmp(items[0].id, items[1].id) > 0);
    CHECK_STR(next, items[1].id);
    char *seen = cp_arena_printf(a, "%s %s", items[0].resource_name, items[1].resource_name);
    CHECK_EQ(cp_store_notifications_list(st, a, p.member, 2, next, &items, &n, &next, &unread, &e), CP_OK);
    CHECK_EQ(n, 1);
    CHECK_EQ(unread, 3);
    CHECK(next == NULL);
    if (n == 1) {
        seen = cp_arena_printf(a, "%s %s", seen, items[0].resource_name);
        for (int i = 0; i < 3; i++) CHECK(strstr(seen, cp_arena_printf(a, "vm-%d", i)) != NULL);
    }
out:
    cp_arena_free(a);
}

#define RACERS 4
#define PINGS 12

typedef struct {
    const char *hook;
    int counts[RACERS];
} race_ctx;

static cp_result race_claim(tsu_race *r, int i, cp_arena *a)
{
    race_ctx *rc = r->ctx;
    cp_delivery_job *jobs;
    size_t n;
    cp_error e;
    char owner[16];
    snprintf(owner, sizeof owner, "w%d", i);
    cp_result res = cp_store_deliveries_claim(st, a, owner, cp_now_ms(), 60000, 50, &jobs, &n, &e);
    if (res == CP_EAGAIN) return CP_OK; /* SQLite busy: claims nothing, which is fine */
    if (res != CP_OK) return res;
    for (size_t k = 0; k < n; k++) rc->counts[i] += !strcmp(jobs[k].d.webhook_id, rc->hook);
    return CP_OK;
}

TEST(racing_claims_lease_each_delivery_once)
{
    cp_arena *a = cp_arena_new(16384);
    people p;
    people_new(a, &p);
    char *hook = hook_new(a, p.project, "[\"run.failed\"]", true);
    cp_error e;
    for (int i = 0; i < PINGS; i++) {
        cp_delivery d;
        CHECK_EQ(cp_store_webhook_ping(st, a, hook, &d, &e), CP_OK);
    }
    race_ctx rc = {.hook = hook};
    tsu_race race;
    CHECK_EQ(tsu_race_run(&race, RACERS, race_claim, &rc), RACERS);
    int total = 0;
    for (int i = 0; i < RACERS; i++) total += rc.counts[i];
    CHECK(total > 0 && total <= PINGS);
    /* Whatever the racers did not lease is still there for one more claim. */
    cp_delivery_job *jobs;
    size_t n;
    CHECK_EQ(cp_store_deliveries_claim(st, a, "late", cp_now_ms(), 60000, 50, &jobs, &n, &e), CP_OK);
    int rest = 0;
    for (size_t k = 0; k < n; k++) rest += !strcmp(jobs[k].d.webhook_id, hook);
    CHECK_EQ(total + rest, PINGS);
    cp_arena_free(a);
}

int main(void)
{
    static const t_case cases[] = {
        T_CASE(emit_guardrail_blocked_standalone),      T_CASE(lease_lets_one_owner_record),
        T_CASE(racing_claims_lease_each_delivery_once), T_CASE(disabled_webhook_deliveries_wait),
        T_CASE(notifications_page_by_cursor),
    };
    return tsu_main(&(tsu_suite){"store-webhooks", RACERS + 2, &st, &backend_name, cases, CP_ARRAY_LEN(cases)});
}
