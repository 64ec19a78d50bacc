/* store_metrics.c: the gauges a /metrics scrape reads from the store. */
#include <string.h>

#include "store/store_int.h"
#include "store/store_ops.h"

typedef struct {
    char *status;
    int64_t n;
} status_count;

static void fill_count(cp_dbrows *r, cp_arena *a, void *out)
{
    status_count *c = out;
    c->status = cp_dbrows_dup(r, 0, a);
    c->n = cp_dbrows_int(r, 1);
}

/* runs_status (status, id) covers the first. The second groups in the order
 * of resources_drift_counts, the partial index of the resources not destroyed
 * (migration 0011), so it reads that index alone: grouped by drift_status
 * directly, SQLite picks resources_drift_status and reads every row for its
 * status (10,000 resources: ~1 ms against ~10 ms). */
cp_result cp_store_metrics_counts(cp_store *s, int64_t *runs, int64_t *drift, cp_error *err)
{
    memset(runs, 0, sizeof *runs * CP_RUN_STATUS_COUNT);
    memset(drift, 0, sizeof *drift * CP_DRIFT_STATUS_COUNT);
    cp_arena *a = cp_arena_new(1024);
    status_count *items;
    size_t n;
    cp_result r = cp_store_many(s, a, "SELECT status, COUNT(*) FROM runs GROUP BY status", NULL, 0, fill_count,
                                sizeof *items, 64, (void **)&items, &n, err);
    for (size_t i = 0; r == CP_OK && i < n; i++) {
        cp_run_status st;
        if (cp_run_status_parse(items[i].status, &st)) runs[st] = items[i].n;
    }
    if (r == CP_OK)
        r = cp_store_many(s, a,
                          "SELECT drift_status, SUM(n) FROM (SELECT drift_status, COUNT(*) AS n FROM resources"
                          " WHERE status <> 'destroyed' GROUP BY project_id, cloud, drift_status) x"
                          " GROUP BY drift_status",
                          NULL, 0, fill_count, sizeof *items, 64, (void **)&items, &n, err);
    for (size_t i = 0; r == CP_OK && i < n; i++) {
        cp_drift_status st;
        if (cp_drift_status_parse(items[i].status, &st)) drift[st] = items[i].n;
    }
    cp_arena_free(a);
    return r;
}
