/* limits.c: the API's abuse limits: request rates per client and account,
 * and password hashing on the bounded pool (auth/hashpool.h). */
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#include "api/api.h"
#include "core/timeutil.h"
#include "engine/catalog.h"

static const char *const limit_what[CP_LIMIT_COUNT] = {
    [CP_LIMIT_SIGNUP] = "sign-ups",
    [CP_LIMIT_LOGIN] = "login attempts",
    [CP_LIMIT_INVITE] = "invitations",
};

void cp_api_retry_after(cp_req *req, int seconds)
{
    req->extra_header[0] = "Retry-After";
    req->extra_header[1] = cp_arena_printf(req->arena, "%d", seconds);
}

static cp_result too_many(cp_req *req, cp_limit_kind kind, int retry_after)
{
    atomic_fetch_add(&CP_APP(req)->limited[kind], 1);
    cp_api_retry_after(req, retry_after);
    return cp_req_fail(req, CP_ERATE, "rate_limited", NULL, "too many %s; try again in %d seconds", limit_what[kind],
                       retry_after);
}

cp_result cp_api_limit(cp_req *req, cp_limit_kind kind, const char *account)
{
    unsigned bit = 1u << kind;
    if (req->limits_taken & bit) return CP_OK; /* the handler runs again after a wait */
    req->limits_taken |= bit;
    cp_app *app = CP_APP(req);
    int64_t now = cp_now_ms();
    int wait = 0;
    if (!cp_throttle_take(app->limit_ip[kind], req->client_key, now, &wait)) return too_many(req, kind, wait);
    if (account && !cp_throttle_take(app->limit_account[kind], account, now, &wait)) return too_many(req, kind, wait);
    return CP_OK;
}

static void job_done(cp_hashjob *job, void *cls)
{
    CP_UNUSED(job);
    cp_req_wake(cls);
}

/* The first call queues (CP_EDECLINED) and the second finds the job done. */
static cp_result run_job(cp_req *req, cp_hashjob_kind kind, const char *hash, const char *password, cp_hashjob **done)
{
    cp_hashjob *job = req->await_ctx;
    if (job) {
        *done = job;
        req->await_ctx = NULL;
        return CP_OK;
    }
    cp_app *app = CP_APP(req);
    job = cp_arena_alloc(req->arena, sizeof *job);
    memset(job, 0, sizeof *job);
    job->kind = kind;
    job->hash = hash;
    job->password = password;
    job->done = job_done;
    job->cls = req;
    req->await_ctx = job;
    cp_req_await(req);
    if (!cp_hashpool_submit(app->hashpool, job)) {
        req->await_ctx = NULL; /* the server stops waiting: this returns other than CP_EDECLINED */
        atomic_fetch_add(&app->hash_busy, 1);
        int wait = cp_hashpool_retry_after(app->hashpool);
        cp_api_retry_after(req, wait);
        return cp_req_fail(req, CP_EAGAIN, "busy", NULL, "the server is busy; try again in %d seconds", wait);
    }
    return CP_EDECLINED;
}

cp_result cp_api_password_hash(cp_req *req, const char *password, char out[CP_PASSWORD_HASH_MAX])
{
    cp_hashjob *job = NULL;
    cp_result r = run_job(req, CP_HASHJOB_HASH, NULL, password, &job);
    if (r != CP_OK) return r;
    if (job->result != CP_OK) return cp_req_fail(req, CP_ERR, NULL, NULL, "password hashing failed");
    memcpy(out, job->out, CP_PASSWORD_HASH_MAX);
    sodium_memzero(job->out, sizeof job->out);
    return CP_OK;
}

cp_result cp_api_password_verify(cp_req *req, const char *hash, const char *password, bool *ok)
{
    cp_hashjob *job = NULL;
    cp_result r = run_job(req, hash ? CP_HASHJOB_VERIFY : CP_HASHJOB_DUMMY, hash, password, &job);
    if (r != CP_OK) return r;
    *ok = job->ok;
    return CP_OK;
}

cp_result cp_api_sandbox_policy(cp_req *req, const char *cloud, json_t *config)
{
    const cp_config *cfg = CP_APP(req)->cfg;
    if (!cp_catalog_simulated(cloud)) return CP_OK;
    if (!cfg->sandbox_cloud)
        return cp_req_fail(req, CP_EUNPROC, "cloud_disabled", "cloud",
                           "the simulated sandbox cloud is turned off on this server");
    json_t *v = config ? json_object_get(config, "simulate_seconds") : NULL;
    if (json_is_integer(v) && json_integer_value(v) > cfg->sandbox_max_simulate_seconds)
        return cp_req_fail(req, CP_EUNPROC, "out_of_range", "config.simulate_seconds",
                           "config.simulate_seconds must be a whole number from 0 to %ld",
                           cfg->sandbox_max_simulate_seconds);
    return CP_OK;
}
