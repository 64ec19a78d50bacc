/* resources.c: ordering, listing, resizing and destroying resources. Each
 * change is a run; the reply carries the resource and its run. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "api/guardrails.h"
#include "api/schedules.h"
#include "core/log.h"
#include "api/expiry.h"
#include "core/ids.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "engine/catalog.h"
#include "store/run_params.h"
#include "store/store_guardrails.h"

static cp_result reply_pair(cp_req *req, int status, const cp_resource *res, const cp_run *run)
{
    return cp_reply(req, status,
                    json_pack("{s:o, s:o}", "resource", cp_api_resource_json(res), "run", cp_api_run_json(run)));
}

/* Over 80 lines: an order's checks in the order its errors are documented,
 * then one transaction; split, the checks would be read apart. */
cp_result cp_api_resources_create(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "project_id", .type = CP_JF_STRING, .required = true, .max_len = 64},
        {.name = "account_id", .type = CP_JF_STRING, .required = true, .max_len = 64},
        {.name = "kind", .type = CP_JF_STRING, .required = true, .max_len = 16},
        {.name = "name", .type = CP_JF_STRING, .required = true, .max_len = 128},
        {.name = "region", .type = CP_JF_STRING, .required = true, .max_len = 64},
        {.name = "size", .type = CP_JF_STRING, .nullable = true, .max_len = 64},
        {.name = "config", .type = CP_JF_OBJECT, .nullable = true},
        {.name = "schedule", .type = CP_JF_OBJECT, .nullable = true},
        CP_API_GUARDRAIL_OVERRIDE_FIELD,
        CP_API_EXPIRY_ORDER_FIELDS,
    };
    cp_app *app = CP_APP(req);
    json_t *b;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r != CP_OK) return r;
    cp_project p;
    const char *pid = cp_json_str(b, "project_id", "");
    if (!cp_id_valid(pid)) return cp_req_fail(req, CP_EUNPROC, "not_found", "project_id", "project not found");
    if ((r = cp_api_project(req, pid, CP_ROLE_VIEWER, &p)) != CP_OK) {
        if (r == CP_ENOTFOUND) cp_req_fail(req, CP_EUNPROC, "not_found", "project_id", "project not found");
        return req->err.result;
    }
    if ((r = cp_api_need_role(req, p.role, CP_ROLE_MEMBER)) != CP_OK) return r;
    const char *aid = cp_json_str(b, "account_id", "");
    cp_account acc;
    if (!cp_id_valid(aid) || cp_store_account_get(app->store, req->arena, aid, &acc, &req->err) != CP_OK ||
        strcmp(acc.project_id, p.id) != 0 || acc.deleted)
        return cp_req_fail(req, CP_EUNPROC, "not_found", "account_id", "no such cloud account in this project");

    const char *kind = cp_json_str(b, "kind", ""), *name = cp_json_str(b, "name", "");
    const char *region = cp_json_str(b, "region", ""), *size = cp_json_str(b, "size", NULL);
    json_t *config = json_object_get(b, "config");
    if (json_is_null(config)) config = NULL;
    if ((r = cp_api_sandbox_policy(req, acc.cloud, config)) != CP_OK) return r;
    if ((r = cp_catalog_validate(acc.cloud, kind, name, region, size, config, &req->err)) != CP_OK) return r;
    double cost = cp_catalog_monthly_cost(acc.cloud, kind, size, config);
    cp_api_schedule sched;
    if ((r = cp_api_schedule_check(req, acc.cloud, kind, json_object_get(b, "schedule"), "schedule.", &sched)) != CP_OK)
        return r;
    int64_t now = cp_now_ms(), expires_at;
    bool over_max;
    if ((r = cp_api_expiry_order(req, b, &p, now, &expires_at, &over_max)) != CP_OK) return r;
    cp_api_order ord = {acc.cloud, kind, name, region, size, config, cost, NULL};
    cp_api_guard guard;
    bool replied;
    if ((r = cp_api_guardrails_order(req, &p, &ord, b, &guard, &replied)) != CP_OK || replied) return r;

    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    json_t *empty = json_object();
    char *config_text = json_dumps(config ? config : empty, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(empty);
    cp_run_params params = {.name = name, .region = region, .size = size, .config = config, .monthly_cost_usd = cost};
    char *params_text = cp_run_params_encode(&params);
    cp_resource in = {.id = id,
                      .project_id = p.id,
                      .account_id = acc.id,
                      .cloud = acc.cloud,
                      .kind = (char *)kind,
                      .name = (char *)name,
                      .region = (char *)region,
                      .size = (char *)size,
                      .config = config_text,
                      .monthly_cost_usd = cost,
                      .created_by = (char *)req->user_id,
                      .expires_at = expires_at};
    cp_resource res;
    cp_run run;
    r = guard.any ? cp_store_resource_create_guarded(app->store, req->arena, &in, params_text, &guard.store, &res, &run,
                                                     &req->err)
                  : cp_store_resource_create(app->store, req->arena, &in, params_text, &res, &run, &req->err);
    cp_api_guard_release(&guard);
    if (r == CP_ERATE) cp_api_retry_after(req, CP_RUNS_RETRY_AFTER_S); /* too_many_runs */
    free(config_text);
    free(params_text);
    if (r != CP_OK) return r;
    cp_api_dispatch(req, run.id);
    cp_api_audit(req, p.id, "resource.create", res.id,
                 json_pack("{s:s, s:s, s:s, s:s, s:o, s:f}", "name", name, "cloud", acc.cloud, "kind", kind, "region",
                           region, "size", cp_json_str_or_null(size), "monthly_cost_usd", cost));
    /* Set after the create's transaction: its first change waits for the create run anyway. */
    if (sched.text &&
        (cp_api_schedule_apply(req, p.id, res.id, &sched) != CP_OK ||
         cp_store_resource_get(app->store, req->arena, res.id, req->user_id, &res, NULL, &req->err) != CP_OK))
        cp_log_warn("resource %s: schedule not stored: %s", res.id, req->err.message);
    if (over_max) cp_api_expiry_audit_over_max(req, &p, res.id, expires_at, now);
    return reply_pair(req, 202, &res, &run);
}

static cp_result load(cp_req *req, cp_resource *res, cp_role *role)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    return cp_store_resource_get(CP_APP(req)->store, req->arena, id, req->user_id, res, role, &req->err);
}

cp_result cp_api_resources_get(cp_req *req)
{
    cp_resource res;
    cp_role role;
    cp_result r = load(req, &res, &role);
    if (r != CP_OK) return r;
    cp_buf b;
    cp_buf_init(&b, CP_API_RESOURCE_MAX);
    cp_jsonw w;
    cp_jsonw_init(&w, &b);
    cp_api_resource_write(&w, &res);
    if (cp_jsonw_result(&w) != CP_OK) {
        cp_buf_free(&b);
        return cp_req_fail(req, CP_ERR, NULL, NULL, "resource exceeds %u bytes", CP_API_RESOURCE_MAX);
    }
    size_t len;
    char *body = cp_buf_steal(&b, &len);
    return cp_reply_bytes(req, 200, "application/json", body, len, free, body);
}

/* A rendered list page: immutable once made, shared by the cache and the
 * replies sending it (each holds a reference), so a hit copies nothing. */
typedef struct {
    atomic_int refs;
    size_t len;
    char *body;
} page_blob;

static void page_unref(void *p)
{
    page_blob *pg = p;
    if (pg && atomic_fetch_sub(&pg->refs, 1) == 1) {
        free(pg->body);
        free(pg);
    }
}

static void page_reply(cp_req *req, page_blob *pg) /* takes over one reference */
{
    cp_reply_bytes(req, 200, "application/json", pg->body, pg->len, page_unref, pg);
}

/* Rendered list pages, keyed by user and query, valid while the data version
 * they were rendered at is current (read from the store on every request,
 * with the session check in the same statement, so a write through any API
 * instance invalidates every instance's pages at once, with no round trip of
 * its own).
 * Small and two-way: a first page (no cursor) and a later page never evict
 * each other, so walking pages leaves page 1 cached. It exists for the hot
 * path of UIs polling the same page, not as a general cache. */
#define PAGE_CACHE_SETS 64

typedef struct {
    char *key;
    int64_t version;
    page_blob *page;
} page_entry;

static page_entry page_cache[PAGE_CACHE_SETS][2];
static pthread_mutex_t page_mu = PTHREAD_MUTEX_INITIALIZER;

static page_entry *page_slot(const char *key, bool later_page)
{
    size_t h = 1469598103934665603ULL;
    for (const char *p = key; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return &page_cache[h % PAGE_CACHE_SETS][later_page];
}

static bool page_cached(cp_req *req, const char *key, bool later_page, int64_t version)
{
    page_blob *pg = NULL;
    pthread_mutex_lock(&page_mu);
    page_entry *e = page_slot(key, later_page);
    if (e->key && e->version == version && !strcmp(e->key, key)) {
        pg = e->page;
        atomic_fetch_add(&pg->refs, 1);
    }
    pthread_mutex_unlock(&page_mu);
    if (pg) page_reply(req, pg);
    return pg != NULL;
}

static void page_store(const char *key, bool later_page, int64_t version, page_blob *pg)
{
    char *k = cp_xstrdup(key);
    atomic_fetch_add(&pg->refs, 1);
    pthread_mutex_lock(&page_mu);
    page_entry *e = page_slot(key, later_page);
    char *old_key = e->key;
    page_blob *old = e->page;
    *e = (page_entry){k, version, pg};
    pthread_mutex_unlock(&page_mu);
    free(old_key);
    page_unref(old);
}

/* A page of up to 200 resources is ~110 KB; this only stops a runaway. */
#define PAGE_MAX (64u << 20)

/* Rendered rows: a row's JSON is a function of its fields alone, so a row
 * whose fields are byte for byte those it was rendered from is copied, not
 * written again. Keyed by id (a changed row replaces its own slot), checked
 * against every field (the key holds them all, compared exactly). Bounded:
 * ROW_CACHE_SLOTS rows of a few hundred bytes each, a few MB at most. A miss
 * of a page whose rows did not change (another user, limit or filter, or a
 * write elsewhere) then costs the statement and a copy per row. */
#define ROW_CACHE_SLOTS 2048
/* Rows with a key past this (a big config or outputs) are written each time. */
#define ROW_KEY_MAX 4096

typedef struct {
    char *key; /* NULL: empty */
    size_t key_len;
    char *json;
    size_t json_len;
} row_entry;

static row_entry row_cache[ROW_CACHE_SLOTS];
static pthread_mutex_t row_mu = PTHREAD_MUTEX_INITIALIZER;

/* A row's key: every field cp_api_resource_write reads, each string
 * length-prefixed, in a fixed buffer (rows with a longer one are written
 * each time, not cached). */
typedef struct {
    size_t len;
    bool full;
    char data[ROW_KEY_MAX];
} row_key_buf;

static void key_bytes(row_key_buf *k, const void *p, size_t n)
{
    if (k->full || n > sizeof k->data - k->len) {
        k->full = true;
        return;
    }
    memcpy(k->data + k->len, p, n);
    k->len += n;
}

static void key_str(row_key_buf *k, const char *s)
{
    uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
    key_bytes(k, &n, sizeof n);
    if (s) key_bytes(k, s, n);
}

/* false when the key does not fit. */
static bool row_key(row_key_buf *k, const cp_resource *r)
{
    k->len = 0;
    k->full = false;
    const char *strs[] = {r->id,      r->project_id, r->account_id, r->account_name, r->cloud,
                          r->kind,    r->name,       r->region,     r->size,         r->config,
                          r->outputs, r->created_by, r->run_id,     r->schedule,     r->power_state};
    for (size_t i = 0; i < CP_ARRAY_LEN(strs); i++) key_str(k, strs[i]);
    int64_t nums[] = {r->status,     r->created_at,   r->updated_at,       r->run_operation,   r->run_status,
                      r->expires_at, r->drift_status, r->drift_checked_at, r->schedule_next_at};
    key_bytes(k, nums, sizeof nums);
    key_bytes(k, &r->monthly_cost_usd, sizeof r->monthly_cost_usd);
    key_bytes(k, &r->is_protected, sizeof r->is_protected);
    return !k->full;
}

static row_entry *row_slot(const char *id)
{
    size_t h = 1469598103934665603ULL;
    for (const char *p = id; p && *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return &row_cache[h % ROW_CACHE_SLOTS];
}

/* Appends the cached JSON of the row with this key to out; false if none. */
static bool row_cached(const cp_resource *res, const row_key_buf *key, cp_buf *out)
{
    bool hit = false;
    pthread_mutex_lock(&row_mu);
    row_entry *e = row_slot(res->id);
    if (e->key && e->key_len == key->len && !memcmp(e->key, key->data, key->len))
        hit = cp_buf_add(out, e->json, e->json_len) == CP_OK;
    pthread_mutex_unlock(&row_mu);
    return hit;
}

static void row_store(const cp_resource *res, const row_key_buf *key, const char *json, size_t len)
{
    char *k = cp_xmalloc(key->len), *j = cp_xmalloc(len);
    memcpy(k, key->data, key->len);
    memcpy(j, json, len);
    pthread_mutex_lock(&row_mu);
    row_entry *e = row_slot(res->id);
    row_entry old = *e;
    *e = (row_entry){k, key->len, j, len};
    pthread_mutex_unlock(&row_mu);
    free(old.key);
    free(old.json);
}

/* A page's rows, each written as JSON as the store hands it over (no copy
 * of the row), then put in order: the store's rows come in no order. */
typedef struct {
    const char *id;  /* in the arena: the next cursor may be one */
    size_t off, len; /* its JSON in rows */
} page_row;

typedef struct {
    cp_arena *a;
    cp_buf json;
    page_row v[201]; /* a page of at most 200, and the one that says there is more */
    size_t n;
    bool failed;
} page_rows;

static void page_row_add(void *ctx, const cp_resource *res)
{
    page_rows *pr = ctx;
    if (pr->failed || pr->n == CP_ARRAY_LEN(pr->v)) return;
    size_t off = pr->json.len;
    row_key_buf key; /* on the stack: nothing to zero */
    bool keyed = row_key(&key, res);
    if (!keyed || !row_cached(res, &key, &pr->json)) {
        cp_jsonw w;
        cp_jsonw_init(&w, &pr->json);
        cp_api_resource_write(&w, res);
        if (cp_jsonw_result(&w) != CP_OK) {
            pr->failed = true;
            return;
        }
        if (keyed) row_store(res, &key, pr->json.data + off, pr->json.len - off);
    }
    pr->v[pr->n++] = (page_row){cp_arena_strdup(pr->a, res->id), off, pr->json.len - off};
}

static int newest_first(const void *x, const void *y)
{
    return strcmp(((const page_row *)y)->id, ((const page_row *)x)->id);
}

/* A page of up to 200 resources is ~110 KB; this only stops a runaway. */
#define PAGE_MAX (64u << 20)

/* {"items":[...],"next_cursor":...}, as cp_jsonw would write it, from the
 * rows in order: the first limit of them; one more means a next page. */
static page_blob *page_render(page_rows *pr, int limit)
{
    if (pr->failed) return NULL;
    size_t sorted = 1;
    while (sorted < pr->n && newest_first(&pr->v[sorted - 1], &pr->v[sorted]) < 0) sorted++;
    if (sorted < pr->n) qsort(pr->v, pr->n, sizeof pr->v[0], newest_first); /* SQLite's flat ways come in order */
    size_t n = pr->n > (size_t)limit ? (size_t)limit : pr->n;
    const char *next = pr->n > (size_t)limit ? pr->v[n - 1].id : NULL;
    cp_buf b;
    cp_buf_init(&b, PAGE_MAX);
    if (cp_buf_reserve(&b, pr->json.len + n + 64) != CP_OK) return NULL;
    cp_result r = cp_buf_add(&b, "{\"items\":[", 10);
    for (size_t i = 0; r == CP_OK && i < n; i++) {
        if (i) r = cp_buf_add(&b, ",", 1);
        if (r == CP_OK) r = cp_buf_add(&b, pr->json.data + pr->v[i].off, pr->v[i].len);
    }
    if (r == CP_OK) r = cp_buf_add(&b, "],\"next_cursor\":", 16);
    if (r == CP_OK) {
        cp_jsonw w;
        cp_jsonw_init(&w, &b);
        cp_jsonw_str(&w, next);
        r = cp_jsonw_result(&w);
    }
    if (r == CP_OK) r = cp_buf_add(&b, "}", 1);
    if (r != CP_OK) {
        cp_buf_free(&b);
        return NULL;
    }
    page_blob *pg = cp_xmalloc(sizeof *pg);
    atomic_init(&pg->refs, 1);
    pg->body = cp_buf_steal(&b, &pg->len);
    return pg;
}

cp_result cp_api_resources_list(cp_req *req)
{
    int limit;
    const char *cursor;
    cp_result r = cp_api_page(req, &limit, &cursor);
    if (r != CP_OK) return r;
    cp_resource_filter f = {cp_req_query(req, "project_id"),
                            cp_req_query(req, "cloud"),
                            cp_req_query(req, "kind"),
                            cp_req_query(req, "status"),
                            0,
                            cp_req_query(req, "drift_status")};
    /* Empty filters mean "any"; long ones cannot match and are refused early. */
    const char **fs[] = {&f.project_id, &f.cloud, &f.kind, &f.status, &f.drift_status};
    const char *names[] = {"project_id", "cloud", "kind", "status", "drift_status"};
    for (size_t i = 0; i < CP_ARRAY_LEN(fs); i++) {
        if (*fs[i] && !**fs[i]) *fs[i] = NULL;
        if (*fs[i] && cp_utf8_len(*fs[i], strlen(*fs[i])) > 64)
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", names[i], "%s is too long", names[i]);
    }
    const char *eb = cp_req_query(req, "expires_before");
    if (eb && !cp_api_expiry_time(eb, &f.expires_before))
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", "expires_before",
                           "expires_before must be a date-time such as 2026-12-01T18:00:00Z");
    if (eb && f.expires_before <= 0) f.expires_before = 1; /* before 1970: nothing */
    cp_app *app = CP_APP(req);
    int64_t version = -1;
    cp_error verr;
    const char *key =
        cp_arena_printf(req->arena, "%s|%s|%s|%s|%s|%s|%d|%s|%lld", req->user_id, f.project_id ? f.project_id : "",
                        f.cloud ? f.cloud : "", f.kind ? f.kind : "", f.status ? f.status : "",
                        f.drift_status ? f.drift_status : "", limit, cursor ? cursor : "", (long long)f.expires_before);
    if (req->has_data_version)
        version = req->data_version;
    else if (cp_store_data_version(app->store, &version, &verr) != CP_OK)
        version = -1;
    if (version >= 0 && page_cached(req, key, cursor != NULL, version)) return CP_OK;

    page_rows *pr = cp_arena_alloc(req->arena, sizeof *pr);
    pr->a = req->arena;
    cp_buf_init(&pr->json, PAGE_MAX);
    /* Room for a typical row each, so the rows rarely move while written. */
    if (cp_buf_reserve(&pr->json, (size_t)(limit + 1) * 640) != CP_OK) pr->failed = true;
    r = cp_store_resources_each(app->store, req->user_id, &f, limit, cursor, page_row_add, pr, &req->err);
    page_blob *pg = r == CP_OK ? page_render(pr, limit) : NULL;
    cp_buf_free(&pr->json);
    if (r != CP_OK) return r;
    if (!pg) return cp_req_fail(req, CP_ERR, NULL, NULL, "resource page exceeds %u bytes", PAGE_MAX);
    if (version >= 0) page_store(key, cursor != NULL, version, pg);
    page_reply(req, pg);
    return CP_OK;
}

/* The run that makes res name, size and config (NULL config: res's own). */
static cp_result enqueue(cp_req *req, cp_resource *res, cp_run_operation operation, const char *name, const char *size,
                         json_t *config, double cost, const cp_api_guard *guard)
{
    json_t *own = config ? NULL : cp_api_json_text(res->config);
    cp_run_params params = {
        .name = name, .region = res->region, .size = size, .config = config ? config : own, .monthly_cost_usd = cost};
    char *text = cp_run_params_encode(&params);
    json_decref(own);
    cp_run run;
    cp_store *st = CP_APP(req)->store;
    cp_result r = guard && guard->any ? cp_store_run_enqueue_guarded(st, req->arena, res->id, operation, text, cost,
                                                                     req->user_id, &guard->store, &run, &req->err)
                                      : cp_store_run_enqueue(st, req->arena, res->id, operation, text, cost,
                                                             req->user_id, &run, &req->err);
    free(text);
    if (r == CP_ERATE) cp_api_retry_after(req, CP_RUNS_RETRY_AFTER_S); /* too_many_runs */
    if (r != CP_OK) return r;
    cp_api_dispatch(req, run.id);
    json_t *detail = json_pack("{s:s, s:o}", "name", res->name, "size", cp_json_str_or_null(size));
    if (strcmp(name, res->name) != 0) json_object_set_new(detail, "new_name", json_string(name));
    cp_api_audit(req, res->project_id, operation == CP_OP_UPDATE ? "resource.update" : "resource.destroy", res->id,
                 detail);
    if ((r = cp_store_resource_get(CP_APP(req)->store, req->arena, res->id, req->user_id, res, NULL, &req->err)) !=
        CP_OK)
        return r;
    return reply_pair(req, 202, res, &run);
}

/* The body's tags: an object of strings, as config.tags. */
static cp_result body_tags(cp_req *req, json_t *b, json_t **tags)
{
    *tags = json_object_get(b, "tags");
    if (!*tags) return CP_OK;
    const char *k;
    json_t *v;
    json_object_foreach(*tags, k, v) if (!json_is_string(v)) return cp_req_fail(req, CP_EUNPROC, "invalid_tags", "tags",
                                                                                "tags must be an object of strings");
    return CP_OK;
}

cp_result cp_api_resources_update(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "size", .type = CP_JF_STRING, .max_len = 64},
        {.name = "name", .type = CP_JF_STRING, .max_len = 128},
        {.name = "tags", .type = CP_JF_OBJECT},
        CP_API_GUARDRAIL_OVERRIDE_FIELD,
    };
    cp_resource res;
    cp_role role;
    cp_result r = load(req, &res, &role);
    if (r != CP_OK) return r;
    json_t *b, *tags;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if (!json_object_get(b, "size") && !json_object_get(b, "name") && !json_object_get(b, "tags"))
        return cp_req_fail(req, CP_EUNPROC, "unchanged", NULL, "give a size, a name or tags to change");
    if ((r = cp_api_need_role(req, role, CP_ROLE_MEMBER)) != CP_OK) return r;
    if ((r = body_tags(req, b, &tags)) != CP_OK) return r;
    bool vm = strcmp(res.kind, "vm") == 0;
    if (!vm && json_object_get(b, "size"))
        return cp_req_fail(req, CP_EUNPROC, "not_resizable", "size", "only virtual machines have a size");
    const char *size = cp_json_str(b, "size", res.size), *name = cp_json_str(b, "name", res.name);
    json_t *config = cp_api_json_text(res.config);
    bool same_tags = !tags || json_equal(tags, json_object_get(config, "tags")) ||
                     (json_object_size(tags) == 0 && !json_object_get(config, "tags"));
    if (tags) json_object_set(config, "tags", tags);
    r = cp_catalog_validate(res.cloud, res.kind, name, res.region, size, config, &req->err);
    double cost = cp_catalog_monthly_cost(res.cloud, res.kind, size, config);
    /* Not the simulate_seconds cap: the order that set it was within the cap of its day. */
    if (r == CP_OK) r = cp_api_sandbox_policy(req, res.cloud, NULL);
    if (r == CP_OK && (!size || (res.size && !strcmp(res.size, size))) && !strcmp(name, res.name) && same_tags)
        r = cp_req_fail(req, CP_EUNPROC, "unchanged", NULL, "the resource already has this size, name and tags");
    cp_project p;
    if (r == CP_OK)
        r = cp_store_project_get(CP_APP(req)->store, req->arena, res.project_id, req->user_id, &p, &req->err);
    cp_api_guard guard = {0};
    bool replied = false;
    cp_api_order ord = {res.cloud, res.kind, name, res.region, size, config, cost, &res};
    if (r == CP_OK) r = cp_api_guardrails_order(req, &p, &ord, b, &guard, &replied);
    if (r == CP_OK && !replied) r = enqueue(req, &res, CP_OP_UPDATE, name, size, config, cost, &guard);
    cp_api_guard_release(&guard);
    json_decref(config);
    return r;
}

cp_result cp_api_resources_delete(cp_req *req)
{
    cp_resource res;
    cp_role role;
    cp_result r = load(req, &res, &role);
    if (r != CP_OK) return r;
    if ((r = cp_api_need_role(req, role, CP_ROLE_MEMBER)) != CP_OK) return r;
    if (res.is_protected)
        return cp_req_fail(req, CP_ECONFLICT, "resource_protected", NULL,
                           "the resource is protected: an owner or admin must lift the protection first");
    return enqueue(req, &res, CP_OP_DESTROY, res.name, res.size, NULL, res.monthly_cost_usd, NULL);
}
