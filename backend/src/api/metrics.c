/* metrics.c: the /metrics scrape. Families, all with HELP and TYPE:
 *   cloudplane_up, _uptime_seconds, _rate_limited_total{kind}, _hash_busy_total,
 *   _connections_refused_total, _slow_clients_cut_total, _db_statements_total;
 *   cloudplane_http_requests_total{route,method,code}, _http_request_duration_seconds{route,method};
 *   cloudplane_runs{status}, _drift_resources{status}, _queue_depth (from the store);
 *   cloudplane_run_phase_duration_seconds{phase,cloud}, _workers{state},
 *   _state_lock_conflicts_total, _guardrail_checks_total{result,level},
 *   _webhook_deliveries_total{result}, _event_streams;
 *   process_*.
 * Every label value comes from a table or an enum: no id, email or name. */
#include "api/metrics.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/timeutil.h"
#include "engine/guardrails.h"
#include "http/connguard.h"
#include "http/reqmetrics.h"
#include "store/db.h"
#include "store/store_ops.h"
#include "store/store_webhooks.h"

/* The abuse limits at work: how often each refused, since start. */
static void limit_metrics(cp_app *app, cp_buf *b)
{
    static const char *const kinds[CP_LIMIT_COUNT] = {
        [CP_LIMIT_SIGNUP] = "signup", [CP_LIMIT_LOGIN] = "login", [CP_LIMIT_INVITE] = "invite"};
    cp_metrics_head(b, "cloudplane_rate_limited_total", "counter", "Requests refused (429) by a rate limit.");
    for (int i = 0; i < CP_LIMIT_COUNT; i++)
        cp_buf_printf(b, "cloudplane_rate_limited_total{kind=\"%s\"} %llu\n", kinds[i],
                      (unsigned long long)atomic_load(&app->limited[i]));
    uint64_t refused, cut;
    cp_connguard_totals(&refused, &cut);
    cp_metrics_head(b, "cloudplane_hash_busy_total", "counter",
                    "Requests refused (503) by a full password hashing pool.");
    cp_buf_printf(b, "cloudplane_hash_busy_total %llu\n", (unsigned long long)atomic_load(&app->hash_busy));
    cp_metrics_head(b, "cloudplane_connections_refused_total", "counter", "Connections refused by the per-IP limit.");
    cp_buf_printf(b, "cloudplane_connections_refused_total %llu\n", (unsigned long long)refused);
    cp_metrics_head(b, "cloudplane_slow_clients_cut_total", "counter", "Connections cut off at the read timeout.");
    cp_buf_printf(b, "cloudplane_slow_clients_cut_total %llu\n", (unsigned long long)cut);
}

/* Gauges read from the store: the same figures from every process. The
 * queue depth is the queued runs there, not the in-process queue or the
 * Redis stream: it is one number whatever the dispatch, counts a run once
 * however often it was pushed, and a queued run is one no worker holds. */
typedef struct {
    bool ok;
    int64_t runs[CP_RUN_STATUS_COUNT], drift[CP_DRIFT_STATUS_COUNT];
} store_counts;

/* Statements the scrapes sent: left out of cloudplane_db_statements_total,
 * so watching that counter does not move it. */
static _Atomic uint64_t scrape_statements;

static void store_read(cp_app *app, store_counts *c)
{
    cp_error e;
    cp_error_clear(&e);
    uint64_t before = cp_db_statements_thread();
    c->ok = cp_store_metrics_counts(app->store, c->runs, c->drift, &e) == CP_OK;
    atomic_fetch_add(&scrape_statements, cp_db_statements_thread() - before);
    if (!c->ok) cp_log_warn("metrics: store counts not read: %s", e.message);
}

static void store_metrics(const store_counts *c, cp_buf *b)
{
    if (!c->ok) return; /* left out rather than zero: a scrape without them is not a fleet without runs */
    cp_metrics_head(b, "cloudplane_runs", "gauge", "Runs in the store by status.");
    for (int i = 0; i < CP_RUN_STATUS_COUNT; i++)
        cp_buf_printf(b, "cloudplane_runs{status=\"%s\"} %" PRId64 "\n", cp_run_status_name((cp_run_status)i),
                      c->runs[i]);
    cp_metrics_head(b, "cloudplane_queue_depth", "gauge", "Runs queued and not yet claimed by a worker.");
    cp_buf_printf(b, "cloudplane_queue_depth %" PRId64 "\n", c->runs[CP_RUN_QUEUED]);
    cp_metrics_head(b, "cloudplane_drift_resources", "gauge",
                    "Resources (not destroyed) by what their last drift check found.");
    for (int i = 0; i < CP_DRIFT_STATUS_COUNT; i++)
        cp_buf_printf(b, "cloudplane_drift_resources{status=\"%s\"} %" PRId64 "\n",
                      cp_drift_status_name((cp_drift_status)i), c->drift[i]);
}

/* What this process's workers and runs did since start. */
static void run_metrics(cp_buf *b)
{
    cp_metrics_head(b, "cloudplane_run_phase_duration_seconds", "histogram",
                    "Durations of the tofu commands of runs in this process, by command and cloud.");
    char labels[128];
    for (size_t c = 0; c < CP_METRICS_SLOTS; c++) {
        const char *cloud = cp_metrics_phase_cloud(c);
        if (!cloud) continue;
        for (int p = 0; p < CP_PHASE_COUNT; p++) {
            const cp_histogram *h = cp_metrics_phase_hist((cp_metrics_phase)p, c);
            uint64_t any = 0;
            for (size_t i = 0; i <= h->n; i++) any |= atomic_load(&h->counts[i]);
            if (!any) continue;
            snprintf(labels, sizeof labels, "phase=\"%s\",cloud=\"%s\"", cp_metrics_phase_name((cp_metrics_phase)p),
                     cloud);
            cp_metrics_histogram(b, "cloudplane_run_phase_duration_seconds", labels, h);
        }
    }
    int64_t slots = cp_metrics_get(worker_slots), busy = cp_metrics_get(workers_busy);
    cp_metrics_head(b, "cloudplane_workers", "gauge", "Run worker slots of this process, busy or idle.");
    cp_buf_printf(b, "cloudplane_workers{state=\"busy\"} %" PRId64 "\ncloudplane_workers{state=\"idle\"} %" PRId64 "\n",
                  busy, slots > busy ? slots - busy : 0);
    cp_metrics_head(b, "cloudplane_state_lock_conflicts_total", "counter",
                    "Tofu commands that failed on a state lock another run held.");
    cp_buf_printf(b, "cloudplane_state_lock_conflicts_total %" PRIu64 "\n", cp_metrics_get(lock_conflicts));
    cp_metrics_head(b, "cloudplane_guardrail_checks_total", "counter",
                    "Guardrail checks that decided an order or a run, by outcome and level.");
    for (int l = 0; l < CP_GR_LEVEL_COUNT; l++)
        for (int o = 0; o < CP_GR_OUTCOME_COUNT; o++)
            cp_buf_printf(b, "cloudplane_guardrail_checks_total{result=\"%s\",level=\"%s\"} %" PRIu64 "\n",
                          cp_gr_outcome_name((cp_gr_outcome)o), cp_gr_level_name((cp_gr_level)l),
                          cp_metrics_get(guardrail_checks[l][o]));
    cp_metrics_head(b, "cloudplane_webhook_deliveries_total", "counter",
                    "Webhook delivery attempts by result (pending: failed, to be retried).");
    for (int i = CP_DELIVERY_PENDING; i <= CP_DELIVERY_FAILED; i++)
        cp_buf_printf(b, "cloudplane_webhook_deliveries_total{result=\"%s\"} %" PRIu64 "\n",
                      cp_delivery_status_name((cp_delivery_status)i), cp_metrics_get(webhook_deliveries[i]));
    cp_metrics_head(b, "cloudplane_event_streams", "gauge", "Open run event streams (SSE) on this process.");
    cp_buf_printf(b, "cloudplane_event_streams %" PRId64 "\n", cp_metrics_get(event_streams));
}

/* With a token configured, only "Bearer <token>": compared as SHA-256
 * digests in constant time, so neither content nor length shows in timing. */
static bool authorized(cp_req *req)
{
    const char *token = CP_APP(req)->cfg->metrics_token;
    if (!token || !token[0]) return true;
    const char *h = cp_req_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return false;
    unsigned char want[crypto_hash_sha256_BYTES], got[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(want, (const unsigned char *)token, strlen(token));
    crypto_hash_sha256(got, (const unsigned char *)h + 7, strlen(h + 7));
    return sodium_memcmp(want, got, sizeof want) == 0;
}

static cp_result scrape(cp_req *req)
{
    if (!authorized(req)) {
        req->extra_header[0] = "WWW-Authenticate";
        req->extra_header[1] = "Bearer";
        return cp_req_fail(req, CP_EAUTH, "unauthorized", NULL, "/metrics needs its bearer token");
    }
    cp_app *app = CP_APP(req);
    store_counts counts;
    store_read(app, &counts);
    cp_buf b;
    cp_buf_init(&b, 1 << 22);
    cp_metrics_head(&b, "cloudplane_up", "gauge", "Whether the process is serving.");
    cp_buf_printf(&b, "cloudplane_up 1\n");
    cp_metrics_head(&b, "cloudplane_uptime_seconds", "gauge", "Seconds since start.");
    cp_buf_printf(&b, "cloudplane_uptime_seconds %lld\n", (long long)((cp_now_ms() - app->started_at_ms) / 1000));
    limit_metrics(app, &b);
    cp_metrics_head(&b, "cloudplane_db_statements_total", "counter",
                    "Statements this process sent to the database (the scrapes' own left out).");
    cp_buf_printf(&b, "cloudplane_db_statements_total %llu\n",
                  (unsigned long long)(cp_db_statements_total() - atomic_load(&scrape_statements)));
    cp_reqmetrics_write(&b);
    store_metrics(&counts, &b);
    run_metrics(&b);
    cp_metrics_process(&b);
    cp_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", cp_buf_cstr(&b), b.len);
    cp_buf_free(&b);
    return CP_OK;
}

/* GET /metrics on the main port: not there when it has a listener of its own. */
cp_result cp_api_metrics(cp_req *req)
{
    if (CP_APP(req)->cfg->metrics_listen[0])
        return cp_req_fail(req, CP_ENOTFOUND, NULL, NULL, "/metrics is served on its own listener");
    return scrape(req);
}

static const cp_route listener_routes[] = {
    {"GET", "/metrics", scrape, CP_ROUTE_PUBLIC},
};

cp_result cp_api_metrics_start(cp_app *app, bool http, cp_server **out, cp_error *err)
{
    *out = NULL;
    if (http) cp_reqmetrics_init(cp_api_routes, cp_api_nroutes);
    const cp_config *cfg = app->cfg;
    if (!cfg->metrics_listen[0]) return CP_OK;
    cp_server_config sc = {
        .listen = cfg->metrics_listen,
        .threads = 1,
        .max_body = 1024,
        .access_log = cfg->access_log,
        .routes = listener_routes,
        .nroutes = CP_ARRAY_LEN(listener_routes),
        .app = app,
        .max_connections = 64,
        .read_timeout_s = (int)cfg->read_timeout_seconds,
        .no_web = true,
    };
    cp_result r = cp_server_start(&sc, out, err);
    if (r != CP_OK) return r;
    cp_log(CP_LOG_INFO, "metrics listening",
           json_pack("{s:s, s:i}", "listen", cfg->metrics_listen, "port", cp_server_port(*out)));
    return CP_OK;
}
