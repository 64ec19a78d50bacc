/* run_events.c: what a job records about its run: the events readers stream
 * (log lines, progress, plan, status), the run's moves along the state
 * machine, and the runner's event callback that turns tofu's -json stream
 * into both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "queue/events.h"
#include "worker/worker_int.h"

static void batch_clear(event_batch *b)
{
    for (size_t i = 0; i < b->n; i++) free((char *)b->ev[i].data);
    b->n = b->bytes = 0;
}

void cp_worker__flush_events(job *j)
{
    event_batch *b = &j->events;
    if (b->n == 0) return;
    if (j->lost) { /* fenced: write nothing more */
        batch_clear(b);
        return;
    }
    cp_app *app = j->w->app;
    int64_t seq = 0;
    cp_error e;
    if (cp_store_events_append(app->store, j->run.id, b->ev, b->n, app->cfg->run_log_max_events, &seq, &e) == CP_OK) {
        if (seq > 0 && app->events) cp_events_publish(app->events, j->run.id, CP_NOTICE_EVENTS, seq);
    } else if (!j->event_warned) {
        /* A lost batch loses lines of the log, not the run: status and
         * outcome are separate, checked writes. Said once per run. */
        j->event_warned = true;
        cp_log_warn("run %s: could not store %zu events: %s", j->run.id, b->n, e.message);
    }
    batch_clear(b);
}

static bool batch_due(const event_batch *b)
{
    return b->n > 0 &&
           (b->n == EVENT_BATCH_MAX || b->bytes >= EVENT_BATCH_BYTES || cp_mono_ms() - b->since_ms >= EVENT_BATCH_MS);
}

void cp_worker__events_tick(void *ctx)
{
    job *j = ctx;
    if (batch_due(&j->events)) cp_worker__flush_events(j);
}

void cp_worker__store_event(job *j, const char *type, json_t *data)
{
    char *text = j->lost ? NULL : json_dumps(data, JSON_COMPACT); /* fenced: write nothing more */
    json_decref(data);
    if (!text) return;
    event_batch *b = &j->events;
    if (b->n == 0) b->since_ms = cp_mono_ms();
    b->ev[b->n++] = (cp_event_new){type, text, cp_now_ms()};
    b->bytes += strlen(text);
    if (batch_due(b)) cp_worker__flush_events(j);
}

void cp_worker__log_line(job *j, const char *stream, const char *level, const char *line)
{
    cp_worker__store_event(
        j, "log",
        json_pack("{s:s, s:s, s:s}", "stream", stream, "level", level ? level : "info", "line", line ? line : ""));
}

void cp_worker__status_event(job *j, cp_run_status run_status)
{
    cp_resource res;
    cp_error e;
    const char *rs = NULL;
    if (!cp_run_status_is_final(run_status) && j->run.operation != CP_OP_DRIFT_CHECK) {
        /* The claim set it, and nothing moves it before the run ends: no read. */
        rs = cp_resource_status_name(cp_resource_status_busy(j->run.operation, CP_RES_ACTIVE));
    } else if (cp_store_resource_by_id(j->w->app->store, j->a, j->run.resource_id, &res, &e) == CP_OK) {
        /* Unreadable resource: the event says null for it; the run status still goes out. */
        rs = cp_resource_status_name(res.status);
    }
    json_t *data = json_pack("{s:s, s:o}", "run_status", cp_run_status_name(run_status), "resource_status",
                             cp_json_str_or_null(rs));
    /* Whoever reads the run's events finds the id its log lines carry. */
    if (j->run.request_id) json_object_set_new(data, "request_id", json_string(j->run.request_id));
    cp_worker__store_event(j, "status", data);
}

void cp_worker__log_header(job *j)
{
    char line[160];
    snprintf(line, sizeof line, "run %s, attempt %lld, request %s", j->run.id, (long long)j->run.attempt,
             j->run.request_id ? j->run.request_id : "(none)");
    cp_worker__log_line(j, "system", "info", line);
}

cp_result cp_worker__transition(job *j, cp_run_status to, cp_error *err)
{
    if (j->lost)
        return cp_error_set_reason(err, CP_ECONFLICT, CP_REASON_LEASE_LOST, NULL, "run %s: lease lost", j->run.id);
    cp_worker__flush_events(j); /* a run's events are committed before its status moves on */
    cp_result r = cp_store_run_transition(j->w->app->store, &j->run, to, err);
    if (r == CP_OK) {
        j->run.status = to;
        if (to == CP_RUN_APPLYING) atomic_store(&j->applying_ms, cp_mono_ms());
        cp_worker__status_event(j, to);
        return CP_OK;
    }
    if (err->reason == CP_REASON_LEASE_LOST) cp_worker__fence(j);
    cp_log_warn("run %s: %s", j->run.id, err->message);
    return r;
}

static json_t *plan_summary(job *j, long add, long change, long destroy)
{
    return json_pack("{s:i, s:i, s:i, s:O}", "add", (int)add, "change", (int)change, "destroy", (int)destroy,
                     "resources", j->planned);
}

/* The plan's change summary, while planning: stored and streamed, and the
 * run is planned. A run whose plan cannot be recorded stops before it
 * applies anything. */
static void on_change_summary(job *j, const cp_tfev *ev)
{
    json_t *sum = plan_summary(j, ev->add, ev->change, ev->destroy);
    char *text = json_dumps(sum, JSON_COMPACT);
    cp_error e;
    cp_result r = text ? cp_store_run_set_plan(j->w->app->store, &j->run, text, NULL, &e)
                       : cp_error_set(&e, CP_ERR, NULL, NULL, "out of memory");
    free(text);
    if (r == CP_OK) {
        cp_worker__store_event(j, "plan", sum);
        r = cp_worker__transition(j, CP_RUN_PLANNED, &e);
    } else {
        json_decref(sum);
    }
    if (r == CP_OK) return;
    if (e.reason == CP_REASON_LEASE_LOST)
        cp_worker__fence(j);
    else
        cp_worker__abort(j, &e);
}

/* The state lock tofu took: its id lets the reconciler free it if this
 * worker dies. */
static void on_lock(job *j, const cp_tfev *ev)
{
    cp_error e;
    if (ev->lock_id && *ev->lock_id &&
        cp_store_run_mark_tofu_started(j->w->app->store, &j->run, ev->lock_id, &e) != CP_OK) {
        if (e.reason == CP_REASON_LEASE_LOST) cp_worker__fence(j);
        /* Without the id the reconciler still frees a dead run's lock when
         * its holder is provably this run's sandbox (cp_runner_free_lock_of). */
        else
            cp_log_warn("run %s: could not record lock id %s: %s", j->run.id, ev->lock_id, e.message);
    }
    cp_worker__log_line(j, "system", "info", ev->message);
}

static void on_progress(job *j, const cp_tfev *ev, const char *state, double elapsed)
{
    cp_worker__store_event(j, "progress",
                           json_pack("{s:s, s:s, s:s, s:f}", "address", ev->address ? ev->address : "", "action",
                                     ev->action ? ev->action : "", "state", state, "elapsed_seconds", elapsed));
}

void cp_worker__on_event(void *ctx, const cp_tfev *ev)
{
    job *j = ctx;
    if (j->lost) return;
    switch (ev->type) {
    case CP_TFEV_PLANNED_CHANGE:
        json_array_append_new(j->planned, json_pack("{s:s, s:s}", "address", ev->address ? ev->address : "", "action",
                                                    ev->action ? ev->action : ""));
        on_progress(j, ev, "planned", 0.0);
        break;
    case CP_TFEV_APPLY_START:
    case CP_TFEV_APPLY_PROGRESS:
    case CP_TFEV_APPLY_COMPLETE:
    case CP_TFEV_APPLY_ERRORED: {
        static const char *const states[] = {"started", "progress", "complete", "errored"};
        if (ev->type == CP_TFEV_APPLY_START && j->run.status == CP_RUN_PLANNED && !j->approval) {
            cp_error e;
            cp_result r = cp_worker__transition(j, CP_RUN_APPLYING, &e);
            /* A failure (logged by transition) loses only the intermediate
             * status: planned -> succeeded is a legal end as well. */
            CP_UNUSED(r);
        }
        on_progress(j, ev, states[ev->type - CP_TFEV_APPLY_START], ev->elapsed_seconds);
        break;
    }
    case CP_TFEV_CHANGE_SUMMARY:
        if (j->run.status == CP_RUN_PLANNING) on_change_summary(j, ev);
        cp_worker__log_line(j, ev->stream, ev->level, ev->message);
        break;
    case CP_TFEV_LOCK:
        on_lock(j, ev);
        break;
    case CP_TFEV_OUTPUTS:
        break; /* the final outputs are reported once the run succeeds */
    case CP_TFEV_PHASE_END:
        cp_worker__log_line(j, ev->stream, ev->level, ev->message);
        cp_worker__flush_events(j); /* what a phase said is stored when it ends */
        break;
    case CP_TFEV_DIAGNOSTIC: {
        const char *msg = ev->detail && *ev->detail
                              ? cp_arena_printf(j->a, "%s: %s", ev->summary ? ev->summary : "", ev->detail)
                              : ev->message;
        cp_worker__log_line(j, ev->stream, ev->severity ? ev->severity : ev->level, msg);
        break;
    }
    default:
        cp_worker__log_line(j, ev->stream, ev->level, ev->message);
    }
}
