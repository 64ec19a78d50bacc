/* job.c: one run, from claim to end. A job claims its run, starts the
 * heartbeat, prepares the runner (resource, credentials, tfvars), takes the
 * path cp_runner_choose_path picks (one function per path: fast apply, saved
 * plan, apply of an approved plan), and records the outcome. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "core/trace.h"
#include "core/xalloc.h"
#include "engine/catalog.h"
#include "engine/proc.h"
#include "store/db.h"
#include "store/run_params.h"
#include "worker/worker_int.h"
#include "store/store_drift.h"
#include "store/store_expiry.h"

/* Decrypts the account's credentials into "NAME=value" env strings. The
 * plaintext lives only here and in the tofu child's environment. */
static cp_result credentials(job *j, cp_strv *env, json_t *extra, cp_error *err)
{
    cp_app *app = j->w->app;
    cp_account acc;
    cp_result r = cp_store_account_get(app->store, j->a, j->res.account_id, &acc, err);
    if (r != CP_OK) return r;
    if (acc.deleted) return cp_error_set(err, CP_ECONFLICT, "account_removed", NULL, "the cloud account was removed");
    cp_worker__identity_setup(j, &acc, extra);
    if (j->identity.cloud) return CP_OK; /* workload identity: no secret to open */
    char *plain = NULL;
    size_t len = 0;
    r = cp_vault_open(app->vault, acc.key_id, acc.nonce, acc.ciphertext, acc.id, acc.project_id, &plain, &len, err);
    if (r != CP_OK) return r;
    json_t *c = json_loadb(plain, len, 0, NULL);
    cp_vault_wipe(plain, len);
    /* Where each field goes is the catalog's to say: child env or tfvars extra. */
    size_t n;
    const cp_cred_field *fs = cp_catalog_credentials(acc.cloud, &n);
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(c, fs[i].name));
        if (!v) continue;
        if (fs[i].env) cp_strv_addf(env, "%s=%s", fs[i].env, v);
        if (fs[i].tfvar) json_object_set_new(extra, fs[i].tfvar, json_string(v));
    }
    /* jansson does not wipe on free; overwrite the values we held. */
    const char *k;
    json_t *v;
    json_object_foreach(c, k, v) if (json_is_string(v))
        sodium_memzero((void *)json_string_value(v), json_string_length(v));
    json_decref(c);
    return CP_OK;
}

static const char *error_text(job *j, const cp_error *e)
{
    if (j->canceled || e->reason == CP_REASON_CANCELED) return "canceled by user";
    return e->message[0] ? e->message : "run failed";
}

/* wanted (on success only): the run's params, which become the resource's. */
static void finish(job *j, cp_run_status status, const char *error, json_t *outputs, const cp_run_params *wanted)
{
    if (j->lost) return;
    char *text = outputs ? json_dumps(outputs, JSON_COMPACT) : NULL;
    char *config = wanted && wanted->config ? json_dumps(wanted->config, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    cp_resource_spec spec = {wanted ? wanted->size : NULL, config, wanted ? wanted->monthly_cost_usd : 0,
                             wanted ? wanted->name : NULL};
    cp_error e;
    cp_worker__flush_events(j); /* events are committed before the run's final status */
    if (cp_store_run_finish(j->w->app->store, &j->run, status, error, text, wanted ? &spec : NULL, &e) == CP_OK) {
        if (error) cp_worker__log_line(j, "system", "error", error);
        if (outputs && status == CP_RUN_SUCCEEDED) cp_worker__store_event(j, "outputs", json_deep_copy(outputs));
        cp_worker__status_event(j, status);
        cp_worker__flush_events(j);
    } else {
        /* Lost lease: the new owner ends the run. Otherwise the run keeps
         * its lease until it expires and the reaper fails it. */
        cp_log_warn("run %s: could not record %s: %s", j->run.id, cp_run_status_name(status), e.message);
    }
    free(config);
    free(text);
}

/* A drift check's end: what it found (success) goes with the run's status. */
static void finish_check(job *j, cp_run_status status, const char *error, const cp_drift_outcome *found)
{
    if (j->lost) return;
    cp_error e;
    cp_worker__flush_events(j);
    if (cp_store_drift_check_finish(j->w->app->store, &j->run, status, error, found, &e) == CP_OK) {
        if (error) cp_worker__log_line(j, "system", "error", error);
        cp_worker__status_event(j, status);
        cp_worker__flush_events(j);
    } else {
        cp_log_warn("run %s: could not record %s: %s", j->run.id, cp_run_status_name(status), e.message);
    }
}

static void set_runner(job *j, cp_runner *r)
{
    pthread_mutex_lock(&j->w->mu);
    j->runner = r;
    if (r && j->lost)
        cp_runner_kill(r);
    else if (r && (j->canceled || j->failed || atomic_load(&j->w->stopping)))
        cp_runner_cancel(r);
    pthread_mutex_unlock(&j->w->mu);
}

/* ---- the three run paths ---- */

/* Fast path: one apply -auto-approve; on_event moves the run along. */
static cp_result path_fast_apply(job *j, cp_runner *runner, cp_run_op op, json_t **outputs, cp_error *e)
{
    CP_UNUSED(j);
    return cp_runner_apply_auto(runner, op, op == CP_RUN_DESTROY ? NULL : outputs, e);
}

/* The monthly cost before and after the run (catalog prices), for the
 * summary: before is the resource's current cost (nothing before a create),
 * after the run's params (nothing after a destroy). */
static json_t *plan_cost(const job *j, const cp_run_params *params)
{
    double before = j->run.operation == CP_OP_CREATE ? 0 : j->res.monthly_cost_usd;
    double after = j->run.operation == CP_OP_DESTROY ? 0 : params->monthly_cost_usd;
    return json_pack("{s:f, s:f, s:f}", "before_usd", before, "after_usd", after, "delta_usd", after - before);
}

/* Records a saved plan: its summary (with the cost change), and its bytes,
 * sealed in the vault (bound to this run and project), when a person must
 * approve it (the apply is then a later claim, maybe on another worker). */
static cp_result record_plan(job *j, const cp_runner_plan_result *pr, const cp_run_params *params, bool keep_plan,
                             cp_error *e)
{
    json_object_set_new(pr->summary, "cost", plan_cost(j, params));
    char *sum = json_dumps(pr->summary, JSON_COMPACT);
    if (!sum) return cp_error_set(e, CP_ERR, NULL, NULL, "out of memory");
    cp_vault_sealed sealed;
    cp_sealed_plan plan = {0};
    cp_result r = CP_OK;
    if (keep_plan) {
        r = cp_vault_seal_plan(j->w->app->vault, j->a, pr->plan, pr->plan_len, j->run.id, j->run.project_id, &sealed,
                               e);
        plan = (cp_sealed_plan){sealed.key_id, sealed.nonce_b64, sealed.ciphertext_b64};
    }
    if (r == CP_OK) r = cp_store_run_set_plan(j->w->app->store, &j->run, sum, keep_plan ? &plan : NULL, e);
    free(sum);
    /* Streamed again even when the stream's own summary made the run planned:
     * this one has the cost and, for an approval, the attribute changes. */
    if (r == CP_OK) cp_worker__store_event(j, "plan", json_incref(pr->summary));
    if (r == CP_OK && j->run.status != CP_RUN_PLANNED) r = cp_worker__transition(j, CP_RUN_PLANNED, e);
    return r;
}

/* Saved plan: plan -out. Then nothing to do (no changes), wait for a
 * person's approval (*parked: the run stays awaiting_approval), or, when no
 * approval is needed (a runner config without fast_apply), apply the plan
 * just made. */
static cp_result path_saved_plan(job *j, cp_runner *runner, cp_run_op op, const cp_run_params *params, json_t **outputs,
                                 bool *parked, cp_error *e)
{
    cp_runner_plan_result pr = {0};
    bool park = false;
    cp_result r = cp_runner_plan(runner, op, &pr, e);
    /* Approvers, and the plan-time guardrails, see what each change does to each attribute. */
    if (r == CP_OK && pr.changes && (j->approval || j->guarded)) r = cp_runner_plan_detail(runner, &pr, e);
    if (r == CP_OK && j->guarded) r = cp_worker__guardrails_plan(j, pr.summary, &park, e);
    if (r != CP_OK && !strcmp(e->code, "guardrail_blocked")) {
        /* Stopped by a hard rule: the plan is shown, never applied. */
        cp_error why = *e;
        if (record_plan(j, &pr, params, false, e) == CP_OK) *e = why;
        cp_runner_plan_result_free(&pr);
        return e->result;
    }
    bool wait = pr.changes && (j->approval || park);
    if (r == CP_OK) r = record_plan(j, &pr, params, wait, e);
    if (r == CP_OK && !pr.changes) {
        if (op == CP_RUN_APPLY) r = cp_runner_outputs(runner, outputs, e);
    } else if (r == CP_OK && wait) {
        if ((r = cp_worker__transition(j, CP_RUN_AWAITING_APPROVAL, e)) == CP_OK) {
            cp_worker__log_line(j, "system", "info", "plan ready: waiting for approval");
            cp_worker__flush_events(j); /* readers wait a moment for this status event, not longer */
            *parked = true;             /* the apply is a later claim of this run */
        }
    } else if (r == CP_OK) {
        if ((r = cp_worker__transition(j, CP_RUN_APPLYING, e)) == CP_OK)
            r = cp_runner_apply(runner, NULL, 0, op == CP_RUN_DESTROY ? NULL : outputs, e);
    }
    cp_runner_plan_result_free(&pr);
    return r;
}

/* Drift check: a refresh-only plan, read and never applied. */
static cp_result path_drift_check(job *j, cp_runner *runner, cp_drift_outcome *found, char **text, cp_error *e)
{
    json_t *changes = NULL;
    bool missing = false;
    cp_result r = cp_runner_drift_check(runner, &changes, &missing, e);
    if (r != CP_OK) return r;
    found->status = missing ? CP_DRIFT_MISSING : json_array_size(changes) > 0 ? CP_DRIFT_DRIFTED : CP_DRIFT_IN_SYNC;
    *text = json_dumps(changes, JSON_COMPACT);
    found->changes = *text;
    cp_worker__store_event(
        j, "drift", json_pack("{s:s, s:o}", "drift_status", cp_drift_status_name(found->status), "changes", changes));
    cp_worker__log_line(j, "system", "info",
                        found->status == CP_DRIFT_IN_SYNC   ? "drift check: in sync"
                        : found->status == CP_DRIFT_MISSING ? "drift check: the object is gone from the cloud"
                                                            : "drift check: the cloud differs from the order");
    return *text ? CP_OK : cp_error_set(e, CP_ERR, NULL, NULL, "out of memory");
}

/* A plan stored in the clear before plans were sealed (migration 0004):
 * base64. Caller wipes *plan (cp_vault_wipe). */
static cp_result legacy_plan(const char *b64, char **plan, size_t *len, cp_error *e)
{
    size_t cap = strlen(b64) + 1;
    *plan = cp_xmalloc(cap);
    if (sodium_base642bin((unsigned char *)*plan, cap, b64, cap - 1, NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL) ==
        0)
        return CP_OK;
    cp_vault_wipe(*plan, cap);
    *plan = NULL;
    return cp_error_set(e, CP_ERR, "plan_missing", NULL, "the approved plan could not be read");
}

/* Approved: apply exactly the plan that was approved, loaded now (never with
 * the run) and opened only if it was sealed for this run and project, once
 * the guardrails that can change after a plan pass it again. */
static cp_result path_apply_approved(job *j, cp_runner *runner, cp_run_op op, json_t **outputs, cp_error *e)
{
    cp_sealed_plan sp;
    char *plan = NULL;
    size_t len = 0;
    /* What changed since the approval (protection, hard rules) still stops it. */
    cp_result r = cp_worker__guardrails_apply(j, e);
    if (r != CP_OK) return r;
    r = cp_store_run_plan_load(j->w->app->store, j->a, &j->run, &sp, e);
    if (r != CP_OK && e->reason == CP_REASON_LEASE_LOST) cp_worker__fence(j);
    if (r == CP_OK && !sp.key_id)
        r = legacy_plan(sp.ciphertext, &plan, &len, e);
    else if (r == CP_OK)
        r = cp_vault_open_plan(j->w->app->vault, sp.key_id, sp.nonce, sp.ciphertext, j->run.id, j->run.project_id,
                               &plan, &len, e);
    if (r == CP_OK) r = cp_runner_apply(runner, plan, len, op == CP_RUN_DESTROY ? NULL : outputs, e);
    cp_vault_wipe(plan, len);
    return r;
}

/* The operator's non-secret env for a run on cloud (SANDBOX_ENDPOINT for
 * the sandbox cloud), NULL-terminated, allocated in a. */
static const char *const *extra_env(cp_workers *w, cp_arena *a, const char *cloud)
{
    const char **env = cp_arena_alloc(a, 2 * sizeof *env);
    env[0] = env[1] = NULL;
    pthread_mutex_lock(&w->mu);
    if (!strcmp(cloud, "sandbox") && w->sandbox_endpoint[0]) {
        size_t n = strlen(w->sandbox_endpoint) + sizeof "SANDBOX_ENDPOINT=";
        char *s = cp_arena_alloc(a, n);
        snprintf(s, n, "SANDBOX_ENDPOINT=%s", w->sandbox_endpoint);
        env[0] = s;
    }
    pthread_mutex_unlock(&w->mu);
    return env;
}

/* ---- one run ---- */

/* Everything a run needs before tofu starts: the resource, the approval
 * rule, credentials (into env), tfvars and the runner. */
static cp_result prepare(job *j, const cp_run_params *params, cp_strv *env, json_t *extra, json_t **tfvars,
                         cp_runner **runner, cp_error *e)
{
    cp_app *app = j->w->app;
    cp_result r = cp_store_resource_by_id(app->store, j->a, j->run.resource_id, &j->res, e);
    if (r != CP_OK) return r;
    j->approval = cp_store_run_requires_approval(app->store, &j->run);
    if (j->run.operation != CP_OP_DRIFT_CHECK && (r = cp_worker__guardrails_load(j, e)) != CP_OK) return r;
    if ((r = credentials(j, env, extra, e)) != CP_OK) return r;
    *tfvars =
        cp_catalog_tfvars(j->res.id, j->res.cloud, j->res.kind, params->name ? params->name : j->res.name,
                          params->region ? params->region : j->res.region, params->size, params->config, extra, e);
    if (!*tfvars) return e->result ? e->result : CP_ERR;
    cp_runner_spec spec = {.run_id = j->run.id,
                           .resource_id = j->res.id,
                           .module = cp_catalog_module(j->res.cloud, j->res.kind),
                           .tfvars = *tfvars,
                           .request_id = j->run.request_id,
                           .env = (const char *const *)env->v,
                           .on_event = cp_worker__on_event,
                           .on_tick = cp_worker__events_tick,
                           .ctx = j,
                           .destroy = j->run.operation == CP_OP_DESTROY,
                           .identity = &j->identity};
    cp_runner_config rc = j->w->rc;
    rc.extra_env = extra_env(j->w, j->a, j->res.cloud);
    if ((r = cp_runner_open(&rc, &spec, runner, e)) != CP_OK) return r;
    set_runner(j, *runner);
    if (j->lost) return cp_error_set_reason(e, CP_ECONFLICT, CP_REASON_LEASE_LOST, NULL, "lease not renewed in time");
    /* The point of no return: from here an expired lease fails the run
     * instead of re-queuing it. If the lease is gone already, the reaper
     * has re-queued the run and another worker may be running it: start
     * nothing. */
    r = cp_store_run_mark_tofu_started(app->store, &j->run, NULL, e);
    if (r != CP_OK && e->reason == CP_REASON_LEASE_LOST) cp_worker__fence(j);
    return r;
}

/* The failure a mid-phase write recorded (cp_worker__abort) wins over the
 * "canceled" the stopped phase reports. */
static cp_result take_abort(job *j, cp_result r, cp_error *e)
{
    pthread_mutex_lock(&j->w->mu);
    if (j->failed) {
        *e = j->fail;
        r = e->result != CP_OK ? e->result : CP_ERR;
    }
    pthread_mutex_unlock(&j->w->mu);
    return r;
}

static void execute(job *j)
{
    cp_error e;
    cp_error_clear(&e);
    cp_run_params params;
    cp_run_params_decode(j->run.params, &params);
    json_t *extra = json_object(), *outputs = NULL, *tfvars = NULL;
    cp_strv env;
    cp_strv_init(&env);
    cp_runner *runner = NULL;
    cp_run_op op = j->run.operation == CP_OP_DESTROY ? CP_RUN_DESTROY : CP_RUN_APPLY;
    bool parked = false, check = j->run.operation == CP_OP_DRIFT_CHECK;
    cp_drift_outcome found = {CP_DRIFT_IN_SYNC, NULL};
    char *found_text = NULL;
    cp_result r = prepare(j, &params, &env, extra, &tfvars, &runner, &e);
    if (r == CP_OK && check) {
        r = take_abort(j, path_drift_check(j, runner, &found, &found_text, &e), &e);
    } else if (r == CP_OK) {
        /* Guarded runs (rules, or a protected resource) never take the fast path: their plan is checked first. */
        switch (cp_runner_choose_path(&j->w->rc, j->approval || j->guarded, j->run.status == CP_RUN_APPLYING)) {
        case CP_PATH_APPLY_APPROVED:
            r = path_apply_approved(j, runner, op, &outputs, &e);
            break;
        case CP_PATH_SAVED_PLAN:
            r = path_saved_plan(j, runner, op, &params, &outputs, &parked, &e);
            break;
        case CP_PATH_FAST_APPLY:
            r = path_fast_apply(j, runner, op, &outputs, &e);
            break;
        }
        r = take_abort(j, r, &e);
    }
    if (r == CP_OK && !parked && j->run.status == CP_RUN_PLANNING) r = cp_worker__transition(j, CP_RUN_PLANNED, &e);
    if (check) {
        finish_check(j,
                     r == CP_OK    ? CP_RUN_SUCCEEDED
                     : j->canceled ? CP_RUN_CANCELED
                                   : CP_RUN_FAILED,
                     r == CP_OK ? NULL : error_text(j, &e), r == CP_OK ? &found : NULL);
    } else if (parked) {
        /* awaiting approval: nothing to finish */
    } else if (r == CP_OK) {
        if (!outputs && op != CP_RUN_DESTROY) outputs = json_object();
        finish(j, CP_RUN_SUCCEEDED, NULL, outputs, &params);
    } else {
        finish(j, j->canceled ? CP_RUN_CANCELED : CP_RUN_FAILED, error_text(j, &e), NULL, NULL);
        if (!j->canceled && !strcmp(e.code, "guardrail_blocked")) cp_worker__guardrails_failed(j);
    }
    set_runner(j, NULL);
    if (runner) cp_runner_close(runner);
    for (size_t i = 0; i < env.n; i++)
        if (env.v[i]) sodium_memzero(env.v[i], strlen(env.v[i]));
    cp_strv_free(&env);
    json_decref(tfvars);
    json_decref(outputs);
    json_decref(extra);
    json_decref(j->identity.fields);
    j->identity.fields = NULL;
    free(found_text);
    cp_run_params_release(&params);
}

/* Test only: CLOUDPLANE_TEST_PAUSE_AFTER_CLAIM_MS makes every claim stall
 * this long before the heartbeat starts, like a worker frozen right after
 * claiming, so the integration tests can let a lease expire before tofu
 * starts (backend/tests/integration/test_distributed.py). Unset in any real
 * deployment; start-up warns when it is set. */
static void test_pause_after_claim(cp_workers *w)
{
    for (int64_t left = w->test_pause_ms; left > 0 && !atomic_load(&w->stopping); left -= 100) {
        struct timespec ts = {0, (left < 100 ? left : 100) * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static job *job_new(cp_workers *w)
{
    job *j = cp_xcalloc(1, sizeof *j);
    j->w = w;
    j->a = cp_arena_new(16384);
    j->planned = json_array();
    pthread_mutex_init(&j->hb_mu, NULL);
    cp_cond_init_monotonic(&j->hb_cv);
    return j;
}

static void job_free(job *j)
{
    cp_worker__guardrails_free(j);
    json_decref(j->planned);
    pthread_mutex_destroy(&j->hb_mu);
    pthread_cond_destroy(&j->hb_cv);
    cp_arena_free(j->a);
    free(j);
}

/* Runs the claimed job with its heartbeat beside it; on the running list
 * meanwhile, so stop can cancel it. */
static void run_claimed(job *j)
{
    cp_workers *w = j->w;
    cp_app *app = w->app;
    if (app->events) j->sub = cp_events_subscribe(app->events, j->run.id, cp_worker__on_notice, j);
    /* No subscription (NULL): cancels still arrive by the heartbeat's poll. */
    pthread_mutex_lock(&w->mu);
    j->next = w->running;
    w->running = j;
    pthread_mutex_unlock(&w->mu);

    pthread_t hb;
    bool hb_ok = !j->lost && pthread_create(&hb, NULL, cp_worker__heartbeat, j) == 0;
    if (hb_ok)
        execute(j);
    else if (!j->lost) /* no lease renewal, so no tofu: the reaper queues the run again */
        cp_log_error("run %s: cannot start its heartbeat thread; left for the reaper", j->run.id);
    pthread_mutex_lock(&j->hb_mu);
    atomic_store(&j->done, true);
    pthread_cond_signal(&j->hb_cv);
    pthread_mutex_unlock(&j->hb_mu);
    if (hb_ok) pthread_join(hb, NULL);

    if (j->sub) cp_events_unsubscribe(app->events, j->sub);
    pthread_mutex_lock(&w->mu);
    for (job **pp = &w->running; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    pthread_mutex_unlock(&w->mu);
}

void cp_worker__process(cp_workers *w, const char *run_id)
{
    cp_app *app = w->app;
    job *j = job_new(w);
    cp_error e;
    j->claimed_ms = cp_mono_ms();
    cp_result r = cp_store_run_claim(app->store, j->a, run_id, w->id, app->cfg->lease_seconds * 1000, &j->run, &e);
    if (r != CP_OK) {
        /* Not claimable (taken, waiting its turn, ended) or unknown: not ours. */
        if (r != CP_ECONFLICT && r != CP_ENOTFOUND) cp_log_warn("claim of run %s failed: %s", run_id, e.message);
        job_free(j);
        return;
    }
    /* Every line about the run, here and in its heartbeat, under the id of
     * whoever queued it (core/trace.h). */
    cp_trace_set(j->run.request_id);
    cp_log(CP_LOG_INFO, "run claimed",
           json_pack("{s:s, s:s, s:s, s:I}", "run_id", j->run.id, "operation", cp_run_operation_name(j->run.operation),
                     "worker", w->id, "attempt", (json_int_t)j->run.attempt));
    test_pause_after_claim(w);
    /* A worker that stalled since its claim may have lost the run to the
     * reaper: one renewal tells, before anything is written for it. */
    bool ignored;
    cp_worker__lease_taken(j, j->claimed_ms);
    r = cp_worker__renew(j, &ignored, &e);
    if (r != CP_OK && e.reason == CP_REASON_LEASE_LOST) {
        j->lost = true;
        cp_log_warn("run %s: lease lost before the run started; leaving it to its new owner", j->run.id);
    } else {
        /* Any other failure: the heartbeat renews again within a beat. */
        if (r != CP_OK) cp_log_warn("run %s: first lease renewal failed (retrying): %s", j->run.id, e.message);
        cp_worker__status_event(j, j->run.status);
        cp_worker__log_header(j);
    }
    run_claimed(j);
    cp_worker__flush_events(j);
    /* db_statements: this process's total so far (benches read it from the log). */
    cp_log(CP_LOG_INFO, "run done",
           json_pack("{s:s, s:b, s:I}", "run_id", j->run.id, "fenced", j->lost, "db_statements",
                     (json_int_t)cp_db_statements_total()));
    cp_worker__push_next_of(w, j->a, j->run.resource_id);
    cp_worker__push_next_in_project(w, j->a, j->run.project_id);
    cp_trace_set(NULL);
    job_free(j);
}
