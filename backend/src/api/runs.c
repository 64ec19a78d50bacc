/* runs.c: run history, approval, cancel, and the live event stream (SSE with
 * Last-Event-ID replay, or a JSON page with ?format=json), opened with a
 * stream ticket, re-authorised while open, and capped per user. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/guardrails.h"
#include "api/run_feed.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "http/sse.h"
#include "queue/events.h"
#include "store/db.h"
#include "store/store_sessions.h"

/* A run parked for approval whose status event this stream has not seen (it
 * resumed past it) ends after this long with nothing new. */
#define PARKED_GRACE_MS 3000
/* A run that ended this recently may still write its final status event. */
#define FINAL_GRACE_MS 5000
/* A stream that notices may miss polls this often: no hub subscription, or
 * PostgreSQL (other API instances and workers write it) without Redis. */
#define POLL_MS 2000

/* The run if the caller is a member of its project (404 otherwise). */
static cp_result load_run(cp_req *req, cp_run *run, cp_role *role)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    if ((r = cp_store_run_get(CP_APP(req)->store, req->arena, id, run, &req->err)) != CP_OK) return r;
    *role = cp_store_member_role(CP_APP(req)->store, run->project_id, req->user_id);
    if (*role == CP_ROLE_NONE) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "run not found");
    return CP_OK;
}

cp_result cp_api_runs_list(cp_req *req)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    cp_resource res;
    if ((r = cp_store_resource_get(CP_APP(req)->store, req->arena, id, req->user_id, &res, NULL, &req->err)) != CP_OK)
        return r;
    int limit;
    const char *cursor;
    if ((r = cp_api_page(req, &limit, &cursor)) != CP_OK) return r;
    cp_run *items;
    size_t n;
    char *next;
    r = cp_store_runs_list(CP_APP(req)->store, req->arena, id, limit, cursor, &items, &n, &next, &req->err);
    if (r != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, cp_api_run_json(&items[i]));
    return cp_reply(req, 200, cp_api_page_json(arr, next));
}

cp_result cp_api_runs_recent(cp_req *req)
{
    int limit;
    const char *cursor;
    cp_result r = cp_api_page(req, &limit, &cursor);
    if (r != CP_OK) return r;
    cp_run *items;
    size_t n;
    if ((r = cp_store_runs_recent(CP_APP(req)->store, req->arena, req->user_id, limit, &items, &n, &req->err)) != CP_OK)
        return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, cp_api_run_json(&items[i]));
    return cp_reply(req, 200, cp_api_page_json(arr, NULL));
}

cp_result cp_api_runs_get(cp_req *req)
{
    cp_run run;
    cp_role role;
    cp_result r = load_run(req, &run, &role);
    if (r != CP_OK) return r;
    return cp_reply(req, 200, cp_api_run_json(&run));
}

cp_result cp_api_runs_approve(cp_req *req)
{
    cp_run run;
    cp_role role;
    cp_result r = load_run(req, &run, &role);
    if (r != CP_OK) return r;
    const char *reason = NULL;
    if (req->body.len > 0) { /* the body is optional: {reason} */
        static const cp_json_field fields[] = {{.name = "reason", .type = CP_JF_STRING, .min_len = 3, .max_len = 1000}};
        json_t *b;
        if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
        reason = cp_json_str(b, "reason", NULL);
    }
    if ((r = cp_api_need_role(req, role, CP_ROLE_ADMIN)) != CP_OK) return r;
    if ((r = cp_api_guardrails_approvable(req, &run)) != CP_OK) return r;
    if (run.override_required)
        r = cp_api_guardrails_approve(req, &run, reason);
    else
        r = cp_store_run_approve(CP_APP(req)->store, run.id, req->user_id, &req->err);
    if (r != CP_OK) return r;
    cp_api_dispatch(req, run.id);
    cp_api_audit(req, run.project_id, "run.approve", run.id, json_pack("{s:s}", "resource_id", run.resource_id));
    if ((r = cp_store_run_get(CP_APP(req)->store, req->arena, run.id, &run, &req->err)) != CP_OK) return r;
    return cp_reply(req, 200, cp_api_run_json(&run));
}

cp_result cp_api_runs_cancel(cp_req *req)
{
    cp_app *app = CP_APP(req);
    cp_run run;
    cp_role role;
    cp_result r = load_run(req, &run, &role);
    if (r != CP_OK) return r;
    if ((r = cp_api_need_role(req, role, CP_ROLE_MEMBER)) != CP_OK) return r;
    bool immediate = false;
    if ((r = cp_store_run_cancel(app->store, run.id, &immediate, &req->err)) != CP_OK) return r;
    if (immediate) {
        cp_error e;
        /* The same shape as the worker's status events: the resource's status too. */
        cp_resource res;
        cp_role res_role;
        bool have_res =
            cp_store_resource_get(app->store, req->arena, run.resource_id, req->user_id, &res, &res_role, &e) == CP_OK;
        json_t *ev = json_pack("{s:s, s:o}", "run_status", cp_run_status_name(CP_RUN_CANCELED), "resource_status",
                               have_res ? json_string(cp_resource_status_name(res.status)) : json_null());
        char *ev_text = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        /* Best effort, as the worker's events: the run's final status is committed. */
        if (ev_text)
            CP_IGNORE(
                cp_store_event_append(app->store, run.id, "status", ev_text, app->cfg->run_log_max_events, NULL, &e));
        free(ev_text);
        if (app->events) cp_events_publish(app->events, run.id, CP_NOTICE_EVENTS, 0);
        /* The next run of this resource may now go. */
        char **ids;
        size_t n;
        if (cp_store_runs_claimable(app->store, req->arena, 20, &ids, &n, &e) == CP_OK)
            for (size_t i = 0; i < n; i++) cp_api_dispatch(req, ids[i]);
    } else if (app->events) {
        cp_events_publish(app->events, run.id, CP_NOTICE_CANCEL, 0);
    }
    cp_api_audit(req, run.project_id, "run.cancel", run.id, json_pack("{s:s}", "resource_id", run.resource_id));
    if ((r = cp_store_run_get(app->store, req->arena, run.id, &run, &req->err)) != CP_OK) return r;
    return cp_reply(req, 202, cp_api_run_json(&run));
}

/* ---- events ---- */

static cp_result parse_seq(cp_req *req, const char *s, const char *field, int64_t *out)
{
    if (!cp_sse_parse_seq(s, out))
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", field, "%s must be a non-negative integer", field);
    return CP_OK;
}

/* An open stream reads the store only when woken: by a notice that its run
 * has new events, by an access notice naming its user or project (or a hub
 * resync), or at a time it set itself (its session's end, the grace periods
 * above). Idle, it costs no query; heartbeats come from sse.c. A revoked
 * session or a removed membership ends it as soon as the instance that made
 * the change has published the access notice (events.h). The events and the
 * run's status come from the run's feed (run_feed.h): one read per notice
 * for all of the run's streams in this process. */
typedef struct {
    cp_app *app;
    cp_run_feed *feed;
    cp_run_feed_member member;
    char run_id[CP_ID_LEN + 1];
    char project_id[CP_ID_LEN + 1];
    char user_id[64];
    char session_id[32];
    int64_t last_seq;
    int64_t session_until; /* wall ms the session ends unless refreshed; 0 = check now */
    int64_t parked_since;  /* mono ms this stream first saw the run parked; 0 when not */
    cp_sse *sse;
    atomic_bool recheck; /* an access notice named this stream's user or project */
    bool saw_final;      /* streamed the status event that ends the run */
    bool saw_parked;     /* the last status event streamed was awaiting_approval */
    bool settled;        /* has once found nothing new and looked at the run's status */
    bool poll;           /* notices may miss: read and re-check every POLL_MS */
} run_stream;

static void on_notice(void *ctx, const char *subject, cp_notice_kind kind, int64_t seq)
{
    CP_UNUSED(seq);
    run_stream *rs = ctx;
    switch (kind) {
    case CP_NOTICE_EVENTS:
        break; /* the hub matched the run */
    case CP_NOTICE_ACCESS_USER:
        if (strcmp(subject, rs->user_id) != 0) return;
        atomic_store(&rs->recheck, true);
        break;
    case CP_NOTICE_ACCESS_PROJECT:
        if (strcmp(subject, rs->project_id) != 0) return;
        atomic_store(&rs->recheck, true);
        break;
    case CP_NOTICE_RESYNC:
        atomic_store(&rs->recheck, true);
        break;
    default:
        return;
    }
    if (rs->sse) cp_sse_wake(rs->sse);
}

/* Why the stream's reader may no longer read it, or NULL. A read that fails
 * counts as a refusal: the stream fails closed and the client may reopen. */
static const char *access_lost(run_stream *rs, int64_t now)
{
    cp_error e;
    if (cp_store_session_check_until(rs->app->store, rs->session_id, rs->user_id, now, &rs->session_until, &e) != CP_OK)
        return "session_ended";
    if (cp_store_member_role(rs->app->store, rs->project_id, rs->user_id) == CP_ROLE_NONE) return "access_revoked";
    return NULL;
}

static void end_event(cp_buf *out, const char *reason)
{
    /* out holds at most one page of events: far below its cap. */
    CP_IGNORE(cp_buf_printf(out, "event: end\ndata: {\"reason\":\"%s\"}\n\n", reason));
}

#define EVENTS_PAGE 200

/* A stream behind its feed's window reads the store itself: a page after
 * rs->last_seq (with settle, the run first, as cp_run_feed_settle does). */
static void own_read(run_stream *rs, cp_buf *out, bool settle, cp_run_feed_page *pg, cp_run_feed_run *run)
{
    cp_arena *a = cp_arena_new(4096);
    cp_error e;
    if (settle) {
        cp_run cur;
        memset(run, 0, sizeof *run);
        if (cp_store_run_get(rs->app->store, a, rs->run_id, &cur, &e) == CP_OK) {
            run->read_ok = true;
            run->status = cur.status;
            run->finished_at = cur.finished_at;
            run->events_dropped = cur.events_dropped;
            run->events_pruned_at = cur.events_pruned_at;
        }
    }
    memset(pg, 0, sizeof *pg);
    cp_event *items;
    size_t n = 0;
    if (cp_store_events_list(rs->app->store, a, rs->run_id, rs->last_seq, EVENTS_PAGE, &items, &n, &e) != CP_OK) n = 0;
    for (size_t i = 0; i < n; i++) {
        if (cp_run_feed_frame(out, items[i].seq, items[i].type, items[i].data) != CP_OK) break;
        pg->n++;
        pg->last_seq = items[i].seq;
        if (!strcmp(items[i].type, "status")) {
            pg->status_seen = true;
            pg->status_known = cp_run_feed_status_of(items[i].data, &pg->status);
        }
    }
    pg->more = n == EVENTS_PAGE || (pg->n > 0 && pg->n < n);
    cp_arena_free(a);
}

/* Appends the events after rs->last_seq (with settle, reads the run before
 * them into *run) and notes what they say. */
static void stream_events(run_stream *rs, cp_buf *out, bool settle, cp_run_feed_page *pg, cp_run_feed_run *run)
{
    /* Polled: the window may be at most half a poll old. */
    int64_t max_age = rs->poll ? POLL_MS / 2 : 0;
    cp_result r = settle ? cp_run_feed_settle(rs->feed, rs->last_seq, EVENTS_PAGE, max_age, out, pg, run)
                         : cp_run_feed_events(rs->feed, rs->last_seq, EVENTS_PAGE, max_age, out, pg);
    if (r == CP_EDECLINED) own_read(rs, out, settle, pg, run);
    if (pg->n > 0) rs->last_seq = pg->last_seq;
    if (pg->status_seen) {
        rs->saw_final = pg->status_known && cp_run_status_is_final(pg->status);
        rs->saw_parked = pg->status_known && pg->status == CP_RUN_AWAITING_APPROVAL;
    }
}

/* True when the run waits for approval and this stream has said so, or has
 * waited PARKED_GRACE_MS; until then it asks to be filled again at that time. */
static bool parked_done(run_stream *rs, const cp_run_feed_run *run)
{
    if (!run->read_ok || run->status != CP_RUN_AWAITING_APPROVAL) {
        rs->parked_since = 0;
        return false;
    }
    int64_t now = cp_mono_ms();
    if (!rs->parked_since) rs->parked_since = now;
    if (rs->saw_parked || now - rs->parked_since >= PARKED_GRACE_MS) return true;
    cp_sse_wake_at(rs->sse, rs->parked_since + PARKED_GRACE_MS);
    return false;
}

/* Nothing new came with the wake-up: is the stream complete? The run is
 * read before its events (cp_run_feed_settle): events are committed before
 * a run's final status, so "final, and nothing newer" means nothing more
 * comes. */
static cp_result stream_settle(run_stream *rs, cp_buf *out)
{
    cp_run_feed_run run;
    cp_run_feed_page pg;
    stream_events(rs, out, true, &pg, &run);
    bool final = run.read_ok && cp_run_status_is_final(run.status);
    if (pg.n > 0 || pg.more) {
        cp_sse_wake(rs->sse); /* nothing new is the only way to settle */
        return CP_OK;
    }
    rs->settled = true;
    /* The final status event is written just after the final status commits;
     * wait for it, unless the run ended a while ago (then nothing more comes). */
    int64_t left = final && !rs->saw_final ? run.finished_at + FINAL_GRACE_MS - cp_now_ms() : 0;
    if (left > 0) {
        cp_sse_wake_at(rs->sse, cp_mono_ms() + left);
        return CP_OK;
    }
    if (final) {
        if (run.events_dropped > 0)
            cp_buf_printf(out, "event: truncated\ndata: {\"dropped\":%lld}\n\n", (long long)run.events_dropped);
        if (run.events_pruned_at > 0) {
            /* The log is gone by retention, not empty: say so before the end. */
            char at[40];
            cp_time_iso(run.events_pruned_at, at, sizeof at);
            cp_buf_printf(out, "event: pruned\ndata: {\"events_pruned_at\":\"%s\"}\n\n", at);
        }
        end_event(out, "run_finished");
        return CP_EDECLINED;
    }
    if (parked_done(rs, &run)) {
        /* Nothing happens until someone approves: the client reopens then. */
        end_event(out, "awaiting_approval");
        return CP_EDECLINED;
    }
    return CP_OK;
}

static cp_result stream_fill(void *ctx, cp_buf *out)
{
    run_stream *rs = ctx;
    int64_t now = cp_now_ms();
    /* Re-check access on every poll as a notice would have asked. */
    if (rs->poll) {
        atomic_store(&rs->recheck, true);
        cp_sse_wake_at(rs->sse, cp_mono_ms() + POLL_MS);
    }
    if (atomic_exchange(&rs->recheck, false) || now >= rs->session_until) {
        const char *why = access_lost(rs, now);
        if (why) {
            end_event(out, why);
            return CP_EDECLINED;
        }
    }
    /* The session ends then unless refreshed: look again at that time. */
    cp_sse_wake_at(rs->sse, cp_mono_ms() + (rs->session_until - now));
    /* The common wake-up (new events) costs no read of its own; only when
     * there is nothing new does the run's status decide whether the stream
     * is done. That is needed after the replay (the run may have parked or
     * ended before the stream opened) and after a status event that parks or
     * ends it; any other status change comes with its own status event. */
    cp_run_feed_page pg;
    stream_events(rs, out, false, &pg, NULL);
    if (pg.more)
        cp_sse_wake(rs->sse); /* more to send */
    else if (pg.n == 0 || !rs->settled || rs->saw_final || rs->saw_parked)
        /* Settled at once, in the same write: a run's last event and the
         * stream's end go out as one chunk. */
        return stream_settle(rs, out);
    return CP_OK;
}

static void stream_free(void *ctx)
{
    run_stream *rs = ctx;
    if (rs->feed) cp_run_feed_leave(rs->feed, &rs->member);
    cp_slots_release(rs->app->streams_by_user, rs->user_id);
    free(rs);
}

cp_result cp_api_runs_stream_ticket(cp_req *req)
{
    cp_app *app = CP_APP(req);
    cp_run run;
    cp_role role;
    cp_result r = load_run(req, &run, &role);
    if (r != CP_OK) return r;
    /* A signed ticket, not a stored one: it is good for one run, for this
     * user's session, for a minute, and opening a stream with it re-checks
     * the session and membership as every request does; the open stream
     * re-checks both whenever an access notice names its user or project,
     * and when its session would end. Nothing to store or clean up, and it
     * works on every API instance. A ticket that leaks from a URL log is
     * worth at most what its user could see of that one run while their
     * session lives; it is never accepted as an access token (aud "stream"). */
    cp_jwt_claims c;
    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "%s", req->user_id);
    snprintf(c.sid, sizeof c.sid, "%s", req->session_id);
    snprintf(c.aud, sizeof c.aud, "%s", CP_JWT_AUD_STREAM);
    snprintf(c.run, sizeof c.run, "%s", run.id);
    char ticket[CP_JWT_MAX];
    if (cp_jwt_sign(&app->jwt, &c, cp_now_ms(), app->cfg->stream_ticket_ttl_seconds, ticket) != CP_OK)
        return cp_req_fail(req, CP_ERR, NULL, NULL, "ticket signing failed");
    return cp_reply(
        req, 200,
        json_pack("{s:s, s:I}", "ticket", ticket, "expires_in", (json_int_t)app->cfg->stream_ticket_ttl_seconds));
}

cp_result cp_api_runs_events(cp_req *req)
{
    cp_run run;
    cp_role role;
    cp_result r = load_run(req, &run, &role);
    if (r != CP_OK) return r;
    int64_t after = 0;
    const char *q = cp_req_query(req, "after");
    const char *last = cp_req_header(req, "Last-Event-ID");
    if (q && (r = parse_seq(req, q, "after", &after)) != CP_OK) return r;
    if (!q && last && (r = parse_seq(req, last, "Last-Event-ID", &after)) != CP_OK) return r;
    const char *format = cp_req_query(req, "format");

    if (format && !strcmp(format, "json")) {
        int limit = 500;
        const char *l = cp_req_query(req, "limit");
        int64_t lv;
        if (l && ((r = parse_seq(req, l, "limit", &lv)) != CP_OK || lv < 1 || lv > 1000))
            return r != CP_OK ? r : cp_req_fail(req, CP_EUNPROC, "invalid_value", "limit", "limit must be 1 to 1000");
        if (l) limit = (int)lv;
        cp_event *items;
        size_t n;
        r = cp_store_events_list(CP_APP(req)->store, req->arena, run.id, after, limit, &items, &n, &req->err);
        if (r != CP_OK) return r;
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:I, s:o, s:s, s:o}", "seq", (json_int_t)items[i].seq, "ts",
                                                 cp_api_time(items[i].ts), "type", items[i].type, "data",
                                                 cp_api_json_text(items[i].data)));
        char *next = n == (size_t)limit ? cp_arena_printf(req->arena, "%lld", (long long)items[n - 1].seq) : NULL;
        json_t *page = cp_api_page_json(arr, next);
        json_object_set_new(page, "run_status", json_string(cp_run_status_name(run.status)));
        json_object_set_new(page, "dropped", json_integer(run.events_dropped));
        json_object_set_new(page, "events_pruned_at", cp_api_time(run.events_pruned_at));
        return cp_reply(req, 200, page);
    }
    if (format && strcmp(format, "sse") != 0)
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", "format", "format must be sse or json");

    cp_app *app = CP_APP(req);
    if (!cp_slots_acquire(app->streams_by_user, req->user_id, app->cfg->max_streams_per_user)) {
        req->extra_header[0] = "Retry-After";
        req->extra_header[1] = "5";
        return cp_req_fail(req, CP_ERATE, "too_many_streams", NULL,
                           "at most %ld event streams may be open at once; close one first",
                           app->cfg->max_streams_per_user);
    }
    run_stream *rs = cp_xcalloc(1, sizeof *rs);

    rs->app = app;
    snprintf(rs->run_id, sizeof rs->run_id, "%s", run.id);
    snprintf(rs->project_id, sizeof rs->project_id, "%s", run.project_id);
    snprintf(rs->user_id, sizeof rs->user_id, "%s", req->user_id);
    snprintf(rs->session_id, sizeof rs->session_id, "%s", req->session_id);
    rs->last_seq = after;
    rs->session_until = 0; /* the first fill learns when the session ends */
    if ((r = cp_sse_begin(req, stream_fill, stream_free, rs, &rs->sse)) != CP_OK) {
        cp_slots_release(app->streams_by_user, rs->user_id);
        free(rs);
        return r;
    }
    rs->member.fn = on_notice;
    rs->member.ctx = rs;
    rs->feed = cp_run_feed_join(app->store, app->events, rs->run_id, &rs->member);
    rs->poll =
        !app->events || (cp_db_kind_of(cp_store_db(app->store)) == CP_DB_PG && !cp_events_is_shared(app->events));
    return CP_OK;
}
