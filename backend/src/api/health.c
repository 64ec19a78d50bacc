/* health.c: liveness, readiness and the API contract (metrics: metrics.c). */
#include "api/api.h"
#include "core/embed.h"
#include "queue/queue.h"

cp_result cp_api_healthz(cp_req *req)
{
    return cp_reply(req, 200, json_pack("{s:s}", "status", "ok"));
}

cp_result cp_api_readyz(cp_req *req)
{
    cp_app *app = CP_APP(req);
    cp_error e;
    cp_error_clear(&e);
    if (cp_store_ping(app->store, &e) != CP_OK)
        return cp_req_fail(req, CP_EAGAIN, "not_ready", NULL, "database is not reachable");
    if (app->queue && cp_queue_ping(app->queue, &e) != CP_OK)
        return cp_req_fail(req, CP_EAGAIN, "not_ready", NULL, "queue is not reachable");
    return cp_reply(req, 200,
                    json_pack("{s:s, s:s, s:s}", "status", "ready", "database", "ok", "queue",
                              app->queue && cp_queue_is_redis(app->queue) ? "redis" : "in-process"));
}

cp_result cp_api_openapi(cp_req *req)
{
    const cp_embedded_file *f = cp_embed_get("openapi.yaml");
    if (!f) return cp_req_fail(req, CP_ENOTFOUND, NULL, NULL, "no API contract embedded");
    return cp_reply_text(req, 200, "application/yaml", (const char *)f->data, f->len);
}
