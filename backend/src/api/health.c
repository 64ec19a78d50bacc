/* health.c: liveness, readiness, metrics, and the API contract. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "core/buf.h"
#include "core/embed.h"
#include "core/timeutil.h"
#include "http/connguard.h"
#include "queue/queue.h"
#include "store/db.h"

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

/* The abuse limits at work: how often each refused, since start. */
static void limit_metrics(cp_app *app, cp_buf *b)
{
    static const char *const kinds[CP_LIMIT_COUNT] = {
        [CP_LIMIT_SIGNUP] = "signup", [CP_LIMIT_LOGIN] = "login", [CP_LIMIT_INVITE] = "invite"};
    cp_buf_printf(b, "# HELP cloudplane_rate_limited_total Requests refused (429) by a rate limit.\n"
                     "# TYPE cloudplane_rate_limited_total counter\n");
    for (int i = 0; i < CP_LIMIT_COUNT; i++)
        cp_buf_printf(b, "cloudplane_rate_limited_total{kind=\"%s\"} %llu\n", kinds[i],
                      (unsigned long long)atomic_load(&app->limited[i]));
    uint64_t refused, cut;
    cp_connguard_totals(&refused, &cut);
    cp_buf_printf(b,
                  "# HELP cloudplane_hash_busy_total Requests refused (503) by a full password hashing pool.\n"
                  "# TYPE cloudplane_hash_busy_total counter\ncloudplane_hash_busy_total %llu\n"
                  "# HELP cloudplane_connections_refused_total Connections refused by the per-IP limit.\n"
                  "# TYPE cloudplane_connections_refused_total counter\ncloudplane_connections_refused_total %llu\n"
                  "# HELP cloudplane_slow_clients_cut_total Connections cut off at the read timeout.\n"
                  "# TYPE cloudplane_slow_clients_cut_total counter\ncloudplane_slow_clients_cut_total %llu\n",
                  (unsigned long long)atomic_load(&app->hash_busy), (unsigned long long)refused,
                  (unsigned long long)cut);
}

cp_result cp_api_metrics(cp_req *req)
{
    cp_app *app = CP_APP(req);
    cp_buf b;
    cp_buf_init(&b, 1 << 20);
    cp_buf_printf(&b,
                  "# HELP cloudplane_up Whether the process is serving.\n# TYPE cloudplane_up gauge\n"
                  "cloudplane_up 1\n"
                  "# HELP cloudplane_uptime_seconds Seconds since start.\n# TYPE cloudplane_uptime_seconds gauge\n"
                  "cloudplane_uptime_seconds %lld\n",
                  (long long)((cp_now_ms() - app->started_at_ms) / 1000));
    limit_metrics(app, &b);
    cp_buf_printf(&b,
                  "# HELP cloudplane_db_statements_total Statements this process sent to the database.\n"
                  "# TYPE cloudplane_db_statements_total counter\ncloudplane_db_statements_total %llu\n",
                  (unsigned long long)cp_db_statements_total());
    cp_reply_text(req, 200, "text/plain; version=0.0.4", cp_buf_cstr(&b), b.len);
    cp_buf_free(&b);
    return CP_OK;
}

cp_result cp_api_openapi(cp_req *req)
{
    const cp_embedded_file *f = cp_embed_get("openapi.yaml");
    if (!f) return cp_req_fail(req, CP_ENOTFOUND, NULL, NULL, "no API contract embedded");
    return cp_reply_text(req, 200, "application/yaml", (const char *)f->data, f->len);
}
