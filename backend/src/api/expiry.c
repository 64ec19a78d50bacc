/* expiry.c: resources that end on their own. The expiry an order gets, a
 * project's expiry settings, extending a resource, and the notifications
 * the scheduler's expiry task writes (store/store_expiry.c). */
#include <ctype.h>
#include <string.h>
#include <time.h>

#include "api/expiry.h"
#include "core/duration.h"
#include "core/timeutil.h"
#include "store/store_expiry.h"

#define TTL_FORMAT "a count and a unit (m, h, d or w), e.g. 30m, 8h, 3d or 2w, of at most a year"

/* n digits at s as a number, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

bool cp_api_expiry_time(const char *s, int64_t *ms)
{
    /* YYYY-MM-DDTHH:MM:SS, each field its exact width. */
    if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap)) return false;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int n = 0;
        for (p++; isdigit((unsigned char)*p); p++, n++)
            if (n < 3) frac = frac * 10 + (*p - '0');
        if (n == 0) return false;
        for (; n < 3; n++) frac *= 10;
    }
    int64_t offset = 0;
    if ((*p == 'Z' || *p == 'z') && !p[1]) {
        offset = 0;
    } else if ((*p == '+' || *p == '-') && p[3] == ':' && !p[6]) {
        int oh = digits(p + 1, 2), om = digits(p + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
        offset = (*p == '-' ? -1 : 1) * (int64_t)(oh * 60 + om) * 60;
    } else {
        return false;
    }
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    *ms = ((int64_t)timegm(&tm) - offset) * 1000 + frac;
    return true;
}

/* 422 ttl_too_long unless until is within p's maximum from now, or the
 * caller may exceed it (owner, admin: *over_max). */
static cp_result check_max(cp_req *req, const cp_project *p, const char *field, int64_t now, int64_t until,
                           bool *over_max)
{
    *over_max = false;
    if (!p->max_ttl_seconds || until - now <= p->max_ttl_seconds * 1000) return CP_OK;
    if (p->role >= CP_ROLE_ADMIN) {
        *over_max = true;
        return CP_OK;
    }
    return cp_req_fail(req, CP_EUNPROC, "ttl_too_long", field,
                       "this project allows resources to live at most %lld seconds; an owner or admin may allow more",
                       (long long)p->max_ttl_seconds);
}

cp_result cp_api_expiry_order(cp_req *req, json_t *body, const cp_project *p, int64_t now, int64_t *expires_at,
                              bool *over_max)
{
    const char *ttl = cp_json_str(body, "ttl", NULL), *at = cp_json_str(body, "expires_at", NULL);
    *expires_at = 0;
    *over_max = false;
    const char *field = ttl ? "ttl" : "expires_at";
    if (ttl && at) return cp_req_fail(req, CP_EUNPROC, "invalid_value", "ttl", "give ttl or expires_at, not both");
    if (ttl) {
        int64_t secs;
        if (!cp_duration_parse(ttl, &secs))
            return cp_req_fail(req, CP_EUNPROC, "invalid_ttl", "ttl", "ttl must be " TTL_FORMAT);
        *expires_at = now + secs * 1000;
    } else if (at) {
        int64_t ms;
        if (!cp_api_expiry_time(at, &ms))
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "expires_at",
                               "expires_at must be a date-time such as 2026-12-01T18:00:00Z");
        if (ms <= now) return cp_req_fail(req, CP_EUNPROC, "invalid_value", "expires_at", "expires_at is in the past");
        if (ms - now > CP_DURATION_MAX_S * 1000)
            return cp_req_fail(req, CP_EUNPROC, "out_of_range", "expires_at",
                               "expires_at must be within a year from now");
        *expires_at = ms;
    } else if (p->default_ttl_seconds) {
        *expires_at = now + p->default_ttl_seconds * 1000;
        return CP_OK; /* the project's own default is within its maximum, or its owner chose otherwise */
    } else {
        return CP_OK;
    }
    return check_max(req, p, field, now, *expires_at, over_max);
}

void cp_api_expiry_audit_over_max(cp_req *req, const cp_project *p, const char *resource_id, int64_t expires_at,
                                  int64_t now)
{
    cp_api_audit(req, p->id, "resource.expiry_over_max", resource_id,
                 json_pack("{s:o, s:I, s:I}", "expires_at", cp_api_time(expires_at), "ttl_seconds",
                           (json_int_t)((expires_at - now) / 1000), "max_ttl_seconds", (json_int_t)p->max_ttl_seconds));
}

/* ---- project settings ---- */

cp_result cp_api_expiry_settings(cp_req *req, json_t *body, const cp_project *p)
{
    json_t *dv = json_object_get(body, "default_ttl_seconds"), *mv = json_object_get(body, "max_ttl_seconds");
    json_t *av = json_object_get(body, "expiry_auto_approve");
    if (!dv && !mv && !av) return CP_OK;
    int64_t def = dv ? (int64_t)json_integer_value(dv) : p->default_ttl_seconds;
    int64_t max = mv ? (int64_t)json_integer_value(mv) : p->max_ttl_seconds;
    if (def && max && def > max)
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", dv ? "default_ttl_seconds" : "max_ttl_seconds",
                           "default_ttl_seconds cannot exceed max_ttl_seconds");
    if (!p->id) return CP_OK; /* checked only */
    int64_t dvv = def, mvv = max;
    bool auto_approve = json_is_true(av);
    cp_expiry_settings x = {.default_ttl_set = dv != NULL,
                            .max_ttl_set = mv != NULL,
                            .default_ttl_seconds = json_is_integer(dv) ? &dvv : NULL,
                            .max_ttl_seconds = json_is_integer(mv) ? &mvv : NULL,
                            .auto_approve = av ? &auto_approve : NULL};
    return cp_store_project_expiry_set(CP_APP(req)->store, p->id, &x, &req->err);
}

/* ---- extend ---- */

cp_result cp_api_resources_extend(cp_req *req)
{
    static const cp_json_field fields[] = {{.name = "by", .type = CP_JF_STRING, .required = true, .max_len = 16}};
    cp_app *app = CP_APP(req);
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    cp_resource res;
    cp_role role;
    if ((r = cp_store_resource_get(app->store, req->arena, id, req->user_id, &res, &role, &req->err)) != CP_OK)
        return r;
    json_t *b;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if ((r = cp_api_need_role(req, role, CP_ROLE_MEMBER)) != CP_OK) return r;
    int64_t secs;
    if (!cp_duration_parse(cp_json_str(b, "by", ""), &secs))
        return cp_req_fail(req, CP_EUNPROC, "invalid_ttl", "by", "by must be " TTL_FORMAT);
    if (res.status == CP_RES_DESTROYED)
        return cp_req_fail(req, CP_ECONFLICT, "resource_destroyed", NULL, "the resource is already destroyed");
    if (!res.expires_at)
        return cp_req_fail(req, CP_ECONFLICT, "no_expiry", NULL, "the resource has no expiry to extend");
    cp_project p;
    if ((r = cp_api_project(req, res.project_id, CP_ROLE_MEMBER, &p)) != CP_OK) return r;
    int64_t now = cp_now_ms();
    /* From its expiry, or from now for one already past it. */
    int64_t until = (res.expires_at > now ? res.expires_at : now) + secs * 1000;
    bool over_max;
    if ((r = check_max(req, &p, "by", now, until, &over_max)) != CP_OK) return r;
    if ((r = cp_store_resource_expiry_move(app->store, res.id, res.expires_at, until, &req->err)) != CP_OK) return r;
    cp_api_audit(req, p.id, "resource.extend", res.id,
                 json_pack("{s:s, s:o, s:o, s:b}", "by", cp_json_str(b, "by", ""), "from", cp_api_time(res.expires_at),
                           "to", cp_api_time(until), "over_max", over_max));
    if (over_max) cp_api_expiry_audit_over_max(req, &p, res.id, until, now);
    if ((r = cp_store_resource_get(app->store, req->arena, res.id, req->user_id, &res, NULL, &req->err)) != CP_OK)
        return r;
    return cp_reply(req, 200, cp_api_resource_json(&res));
}

/* ---- notifications ---- */

cp_result cp_api_notifications_list(cp_req *req)
{
    int limit;
    const char *cursor;
    cp_result r = cp_api_page(req, &limit, &cursor);
    if (r != CP_OK) return r;
    cp_notification *items;
    size_t n;
    int64_t unread = 0;
    char *next = NULL;
    if ((r = cp_store_notifications_list(CP_APP(req)->store, req->arena, req->user_id, limit, cursor, &items, &n, &next,
                                         &unread, &req->err)) != CP_OK)
        return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const cp_notification *x = &items[i];
        json_array_append_new(arr, json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:b, s:s}", "id", x->id, "kind",
                                             x->kind, "resource_id", cp_json_str_or_null(x->resource_id),
                                             "resource_name", cp_json_str_or_null(x->resource_name), "project_id",
                                             x->project_id, "expires_at", cp_api_time(x->expires_at), "created_at",
                                             cp_api_time(x->created_at), "run_id", cp_json_str_or_null(x->run_id),
                                             "read", x->read, "message", x->message ? x->message : ""));
    }
    return cp_reply(req, 200,
                    json_pack("{s:o, s:o, s:I}", "items", arr, "next_cursor", cp_json_str_or_null(next), "unread",
                              (json_int_t)unread));
}

cp_result cp_api_notifications_read(cp_req *req)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    if ((r = cp_store_notification_read(CP_APP(req)->store, req->user_id, id, cp_now_ms(), &req->err)) != CP_OK)
        return r;
    return cp_reply(req, 204, NULL);
}
