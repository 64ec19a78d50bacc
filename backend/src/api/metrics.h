/* metrics.h: /metrics (Prometheus text format 0.0.4) on the main port or on
 * a listener of its own (CLOUDPLANE_METRICS_LISTEN), behind an optional
 * Bearer token (CLOUDPLANE_METRICS_TOKEN). The families and their labels are
 * listed in metrics.c; the instruments live in core/metrics.h and
 * http/reqmetrics.h. */
#ifndef CP_API_METRICS_H
#define CP_API_METRICS_H

#include "app/app.h"
#include "http/server.h"

/* Before serving: counts the API's requests (http) and starts the metrics
 * listener when one is configured (*out NULL otherwise; cp_server_stop takes
 * NULL). serve calls it with http true, worker with false. */
cp_result cp_api_metrics_start(cp_app *app, bool http, cp_server **out, cp_error *err) CP_MUST_CHECK;

#endif
