/* The Prometheus instruments (core/metrics.c) and the HTTP request families
 * (http/reqmetrics.c): buckets, label slots, bounded series, the text. */
#include <string.h>

#include "core/metrics.h"
#include "http/reqmetrics.h"
#include "test.h"

static bool has(cp_buf *b, const char *line)
{
    return strstr(cp_buf_cstr(b), line) != NULL;
}

TEST(histogram_buckets_are_inclusive_and_cumulative)
{
    static const double bounds[] = {0.005, 0.1};
    cp_histogram h = {.bounds = bounds, .n = 2};
    cp_histogram_observe(&h, 5000); /* exactly 5 ms: le="0.005" */
    cp_histogram_observe(&h, 7000); /* le="0.1" */
    cp_histogram_observe(&h, 20e6); /* +Inf only */
    cp_histogram_observe(&h, -5);   /* a clock step back counts as 0 */
    cp_buf b;
    cp_buf_init(&b, 1 << 16);
    cp_metrics_histogram(&b, "x_seconds", "k=\"v\"", &h);
    CHECK(has(&b, "x_seconds_bucket{k=\"v\",le=\"0.005\"} 2\n"));
    CHECK(has(&b, "x_seconds_bucket{k=\"v\",le=\"0.1\"} 3\n"));
    CHECK(has(&b, "x_seconds_bucket{k=\"v\",le=\"+Inf\"} 4\n"));
    CHECK(has(&b, "x_seconds_sum{k=\"v\"} 20.012000\n"));
    CHECK(has(&b, "x_seconds_count{k=\"v\"} 4\n"));
    cp_buf_reset(&b);
    cp_metrics_histogram(&b, "y", "", &h);
    CHECK(has(&b, "y_bucket{le=\"+Inf\"} 4\ny_sum 20.012000\ny_count 4\n"));
    cp_buf_free(&b);
}

TEST(phase_clouds_take_slots_and_overflow_to_other)
{
    cp_metrics_phase_observe("apply", "sandbox", 1000000);
    cp_metrics_phase_observe("plan", "aws", 1000);
    cp_metrics_phase_observe("mystery", "sandbox", 1000);
    cp_metrics_phase_observe("init", NULL, 1000);
    static const char *const many[] = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"};
    for (size_t i = 0; i < 8; i++) cp_metrics_phase_observe("init", many[i], 1000);
    CHECK_STR(cp_metrics_phase_cloud(0), "sandbox");
    CHECK_STR(cp_metrics_phase_cloud(1), "aws");
    CHECK_STR(cp_metrics_phase_cloud(CP_METRICS_SLOTS - 1), "other");
    CHECK_EQ(atomic_load(&cp_metrics_phase_hist(CP_PHASE_APPLY, 0)->counts[1]), 1u); /* 1 s: le="1" */
    CHECK_EQ(atomic_load(&cp_metrics_phase_hist(CP_PHASE_OTHER, 0)->counts[0]), 1u);
    /* NULL and the clouds past the 7 named slots (c6, c7, c8) count as other. */
    CHECK_EQ(atomic_load(&cp_metrics_phase_hist(CP_PHASE_INIT, CP_METRICS_SLOTS - 1)->counts[0]), 4u);
    CHECK_STR(cp_metrics_phase_name(CP_PHASE_FORCE_UNLOCK), "force-unlock");
}

static cp_result nop(cp_req *req)
{
    (void)req;
    return CP_OK;
}

TEST(request_series_are_bounded_by_the_table)
{
    static const cp_route routes[] = {{"GET", "/a/{id}", nop, 0}, {"POST", "/a", nop, 0}};
    static const cp_route other[] = {{"GET", "/metrics", nop, 0}};
    cp_reqmetrics_init(routes, 2);
    cp_reqmetrics_observe(routes, &routes[0], "GET", false, 200, 1000);
    cp_reqmetrics_observe(routes, &routes[0], "GET", false, 200, 1000);
    cp_reqmetrics_observe(routes, &routes[1], "POST", false, 418, 1000); /* not enumerated: its class */
    cp_reqmetrics_observe(routes, NULL, "BREW", false, 404, 1000);       /* unknown method: other */
    cp_reqmetrics_observe(routes, NULL, "GET", true, 200, 1000);
    cp_reqmetrics_observe(other, &other[0], "GET", false, 200, 1000);  /* another server's: not counted */
    cp_reqmetrics_observe(routes, &routes[1], "POST", false, 0, 1000); /* nothing sent: not counted */
    cp_buf b;
    cp_buf_init(&b, 1 << 20);
    cp_reqmetrics_write(&b);
    CHECK(has(&b, "cloudplane_http_requests_total{route=\"/a/{id}\",method=\"GET\",code=\"200\"} 2\n"));
    CHECK(has(&b, "cloudplane_http_requests_total{route=\"/a\",method=\"POST\",code=\"4xx\"} 1\n"));
    CHECK(has(&b, "cloudplane_http_requests_total{route=\"unmatched\",method=\"other\",code=\"404\"} 1\n"));
    CHECK(has(&b, "cloudplane_http_requests_total{route=\"web\",method=\"GET\",code=\"200\"} 1\n"));
    CHECK(has(&b, "cloudplane_http_request_duration_seconds_count{route=\"/a\",method=\"POST\"} 1\n"));
    CHECK(!has(&b, "/metrics"));
    CHECK(!has(&b, "BREW"));
    /* Four series of requests_total: one line each. */
    size_t n = 0;
    for (const char *p = cp_buf_cstr(&b); (p = strstr(p, "\ncloudplane_http_requests_total{")); p++) n++;
    CHECK_EQ(n, 4u);
    cp_buf_free(&b);
}

TEST(process_families)
{
    cp_buf b;
    cp_buf_init(&b, 1 << 16);
    cp_metrics_process(&b);
    CHECK(has(&b, "# TYPE process_cpu_seconds_total counter\n"));
    CHECK(!has(&b, "process_open_fds -1") && !has(&b, "process_open_fds 0\n"));
    CHECK(!has(&b, "process_resident_memory_bytes 0\n") && !has(&b, "process_start_time_seconds 0.00\n"));
    cp_buf_free(&b);
}

int main(void)
{
    RUN(histogram_buckets_are_inclusive_and_cumulative);
    RUN(phase_clouds_take_slots_and_overflow_to_other);
    RUN(request_series_are_bounded_by_the_table);
    RUN(process_families);
    TEST_END();
}
