/* reqmetrics.c: per-route request counters and duration histograms. One row
 * per route of the table, then "web" and "unmatched" rows per method; each
 * row counts by status code slot. Rows are allocated once at init; the hot
 * path is two relaxed atomic adds and a histogram add. */
#include "http/reqmetrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/metrics.h"
#include "core/xalloc.h"

/* Methods of the rows without a route; a route has its own. */
static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"};
#define NMETHODS (sizeof methods / sizeof methods[0])

/* The codes this server answers with; any other counts under its class ("5xx"). */
static const int codes[] = {200, 201, 202, 204, 206, 301, 302, 304, 400, 401, 403, 404, 405, 406, 408, 409,
                            410, 411, 412, 413, 414, 415, 416, 422, 428, 429, 431, 500, 501, 502, 503, 504};
#define NCODES (sizeof codes / sizeof codes[0])
#define NSLOTS (NCODES + 5) /* + 1xx .. 5xx */

typedef struct {
    _Atomic uint64_t by_code[NSLOTS];
    cp_histogram duration;
} row;

static const cp_route *table;
static size_t ntable;
static row *rows; /* ntable + 2 * NMETHODS */

void cp_reqmetrics_init(const cp_route *routes, size_t n)
{
    if (rows) return;
    size_t total = n + 2 * NMETHODS;
    rows = cp_xcalloc(total, sizeof *rows);
    for (size_t i = 0; i < total; i++) {
        rows[i].duration.bounds = cp_hist_bounds_request;
        rows[i].duration.n = cp_hist_bounds_request_n;
    }
    table = routes;
    ntable = n;
}

static size_t code_slot(int status)
{
    for (size_t i = 0; i < NCODES; i++)
        if (codes[i] == status) return i;
    int cls = status / 100;
    return NCODES + (size_t)(cls >= 1 && cls <= 5 ? cls - 1 : 4);
}

void cp_reqmetrics_observe(const cp_route *routes, const cp_route *route, const char *method, bool web, int status,
                           int64_t us)
{
    /* Another server's table (the metrics listener's), or no answer sent. */
    if (!rows || routes != table || !status) return;
    size_t r;
    if (route) {
        r = (size_t)(route - table);
    } else {
        size_t m = NMETHODS - 1;
        for (size_t i = 0; i + 1 < NMETHODS; i++)
            if (method && !strcmp(method, methods[i])) m = i;
        r = ntable + (web ? 0 : NMETHODS) + m;
    }
    atomic_fetch_add_explicit(&rows[r].by_code[code_slot(status)], 1, memory_order_relaxed);
    cp_histogram_observe(&rows[r].duration, us);
}

static void row_labels(size_t r, char *out, size_t cap)
{
    if (r < ntable) {
        snprintf(out, cap, "route=\"%s\",method=\"%s\"", table[r].pattern, table[r].method);
        return;
    }
    r -= ntable;
    snprintf(out, cap, "route=\"%s\",method=\"%s\"", r < NMETHODS ? "web" : "unmatched", methods[r % NMETHODS]);
}

void cp_reqmetrics_write(cp_buf *b)
{
    size_t total = rows ? ntable + 2 * NMETHODS : 0;
    char labels[256];
    /* A series appears once it has counted something: the table times every
     * code would be thousands of zeros. */
    cp_metrics_head(b, "cloudplane_http_requests_total", "counter",
                    "HTTP requests answered, by route template, method and status code.");
    for (size_t r = 0; r < total; r++) {
        row_labels(r, labels, sizeof labels);
        for (size_t c = 0; c < NSLOTS; c++) {
            uint64_t v = atomic_load_explicit(&rows[r].by_code[c], memory_order_relaxed);
            if (!v) continue;
            if (c < NCODES)
                cp_buf_printf(b, "cloudplane_http_requests_total{%s,code=\"%d\"} %" PRIu64 "\n", labels, codes[c], v);
            else
                cp_buf_printf(b, "cloudplane_http_requests_total{%s,code=\"%zuxx\"} %" PRIu64 "\n", labels,
                              c - NCODES + 1, v);
        }
    }
    cp_metrics_head(b, "cloudplane_http_request_duration_seconds", "histogram",
                    "HTTP request durations (an event stream's: its life), by route template and method.");
    for (size_t r = 0; r < total; r++) {
        uint64_t any = 0;
        for (size_t i = 0; i <= rows[r].duration.n; i++) any |= atomic_load(&rows[r].duration.counts[i]);
        if (!any) continue;
        row_labels(r, labels, sizeof labels);
        cp_metrics_histogram(b, "cloudplane_http_request_duration_seconds", labels, &rows[r].duration);
    }
}
