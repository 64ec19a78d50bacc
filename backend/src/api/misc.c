/* misc.c: the catalog and cost reports. */
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "core/timeutil.h"
#include "engine/catalog.h"

cp_result cp_api_catalog(cp_req *req)
{
    json_t *c = cp_catalog_json();
    if (!c) return cp_req_fail(req, CP_ERR, NULL, NULL, "catalog unavailable");
    /* Turned off by the operator: not offered at all. */
    json_t *clouds = json_object_get(c, "clouds");
    for (size_t i = json_array_size(clouds); !CP_APP(req)->cfg->sandbox_cloud && i-- > 0;)
        if (json_is_true(json_object_get(json_array_get(clouds, i), "simulated"))) json_array_remove(clouds, i);
    return cp_reply(req, 200, c);
}

cp_result cp_api_costs_summary(cp_req *req)
{
    const char *by = cp_req_query(req, "group_by");
    /* Absent means cloud; an empty value is not one of the documented ones and the store refuses it. */
    if (!by) by = "cloud";
    cp_cost_group *items;
    size_t n;
    cp_result r = cp_store_costs_summary(CP_APP(req)->store, req->arena, req->user_id, by, &items, &n, &req->err);
    if (r != CP_OK) return r;
    json_t *arr = json_array();
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        total += items[i].monthly_usd;
        json_array_append_new(arr, json_pack("{s:s, s:s, s:f, s:I}", "key", items[i].key, "label", items[i].label,
                                             "monthly_usd", items[i].monthly_usd, "count", (json_int_t)items[i].count));
    }
    return cp_reply(req, 200, json_pack("{s:s, s:f, s:o}", "group_by", by, "total_monthly_usd", total, "items", arr));
}

#define DAY_MS (24LL * 3600 * 1000)
#define HOURS_PER_MONTH 730.0

static int by_date_cloud(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(cp_json_str(x, "date", ""), cp_json_str(y, "date", ""));
    return c ? c : strcmp(cp_json_str(x, "cloud", ""), cp_json_str(y, "cloud", ""));
}

/* Accrued cost per UTC day per cloud: each cost period's monthly rate spread
 * over the hours it overlapped that day. */
cp_result cp_api_costs_daily(cp_req *req)
{
    const char *d = cp_req_query(req, "days");
    long days = 30;
    if (d) {
        char *end;
        days = strtol(d, &end, 10);
        if (!*d || *end || days < 1 || days > 366)
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "days", "days must be an integer from 1 to 366");
    }
    int64_t now = cp_now_ms();
    int64_t first_day = (now / DAY_MS - (days - 1)) * DAY_MS;
    cp_cost_period *ps;
    size_t n;
    cp_result r = cp_store_cost_periods(CP_APP(req)->store, req->arena, req->user_id, first_day, &ps, &n, &req->err);
    if (r != CP_OK) return r;
    json_t *acc = json_object(); /* "date|cloud" -> usd */
    for (size_t i = 0; i < n; i++) {
        int64_t start = ps[i].started_at > first_day ? ps[i].started_at : first_day;
        int64_t end = ps[i].ended_at ? ps[i].ended_at : now;
        for (int64_t day = start / DAY_MS * DAY_MS; day < end; day += DAY_MS) {
            int64_t lo = start > day ? start : day, hi = end < day + DAY_MS ? end : day + DAY_MS;
            if (hi <= lo) continue;
            double usd = ps[i].monthly_usd / HOURS_PER_MONTH * ((double)(hi - lo) / 3600000.0);
            char date[40], key[80];
            cp_time_iso(day, date, sizeof date);
            date[10] = '\0';
            snprintf(key, sizeof key, "%s|%s", date, ps[i].cloud);
            json_object_set_new(acc, key, json_real(json_real_value(json_object_get(acc, key)) + usd));
        }
    }
    json_t *items = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(acc, key, v)
    {
        const char *bar = strchr(key, '|');
        json_array_append_new(items, json_pack("{s:s%, s:s, s:f}", "date", key, (size_t)(bar - key), "cloud", bar + 1,
                                               "usd", json_real_value(v)));
    }
    json_decref(acc);
    /* Oldest day first, then cloud: what a chart wants. */
    size_t count = json_array_size(items);
    json_t **sorted = cp_arena_alloc(req->arena, (count + 1) * sizeof *sorted);
    for (size_t i = 0; i < count; i++) sorted[i] = json_array_get(items, i);
    qsort(sorted, count, sizeof *sorted, by_date_cloud);
    json_t *ordered = json_array();
    for (size_t i = 0; i < count; i++) json_array_append(ordered, sorted[i]);
    json_decref(items);
    return cp_reply(req, 200, json_pack("{s:I, s:o}", "days", (json_int_t)days, "items", ordered));
}
