/* identity.c: a run's tokens (workload identity): what the runner needs to
 * mint them and where they go (engine/runner.h, cp_runner_identity). */
#include <stdlib.h>
#include <string.h>

#include "app/issuer_key.h"
#include "core/timeutil.h"
#include "engine/identity.h"
#include "worker/worker_int.h"

void cp_worker__identity_setup(job *j, const cp_account *acc, json_t *extra)
{
    j->identity = (cp_runner_identity){.mint = cp_worker__mint, .ctx = j};
    if (!acc->kind || strcmp(acc->kind, "workload_identity") != 0) return;
    json_t *fields = json_loads(acc->identity ? acc->identity : "{}", 0, NULL);
    if (!json_is_object(fields)) {
        json_decref(fields);
        fields = json_object();
    }
    char *aud = cp_identity_audience(acc->cloud, fields, acc->audience);
    cp_identity_extra(acc->cloud, fields, extra);
    j->identity.cloud = cp_arena_strdup(j->a, acc->cloud);
    j->identity.fields = fields;
    j->identity.audience = aud ? cp_arena_strdup(j->a, aud) : "";
    free(aud);
}

char *cp_worker__mint(void *ctx, const char *phase, const char *audience, cp_error *err)
{
    job *j = ctx;
    cp_app *app = j->w->app;
    char iss[512];
    cp_app_issuer_url(app, iss, sizeof iss);
    if (!iss[0] || !app->issuer) {
        cp_error_set(err, CP_EINVAL, "issuer_unset", NULL,
                     "run tokens need the issuer's public URL: set CLOUDPLANE_PUBLIC_URL on the workers");
        return NULL;
    }
    cp_issuer_claims c = {.issuer = iss,
                          .audience = audience,
                          .project_id = j->res.project_id,
                          .account_id = j->res.account_id,
                          .run_id = j->run.id,
                          .resource_id = j->res.id,
                          .phase = phase,
                          .now = cp_now_ms() / 1000,
                          .lifetime = app->cfg->run_timeout_seconds};
    return cp_issuer_mint(app->issuer, &c, err);
}
