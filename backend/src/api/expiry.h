/* expiry.h: expiry at order time and in project settings, shared by the
 * resource and project handlers (api/expiry.c owns the rules). */
#ifndef CP_API_EXPIRY_H
#define CP_API_EXPIRY_H

#include "api/common.h"

/* An RFC 3339 date-time ("2026-12-01T18:00:00Z", a fraction and an offset
 * such as +02:00 allowed) as Unix ms; false when malformed. */
bool cp_api_expiry_time(const char *s, int64_t *ms);

/* The order body's fields (resources.c appends them to its table). */
#define CP_API_EXPIRY_ORDER_FIELDS                                                                                     \
    {.name = "ttl", .type = CP_JF_STRING, .nullable = true, .max_len = 16},                                            \
    {                                                                                                                  \
        .name = "expires_at", .type = CP_JF_STRING, .nullable = true, .max_len = 40                                    \
    }
/* The expiry an order gets (ms; 0 = none): its ttl or expires_at (not both),
 * else the project's default TTL. Past the project's maximum: 422
 * ttl_too_long for members; owners and admins may, and *over_max says so
 * (the caller audits it once the resource exists). */
cp_result cp_api_expiry_order(cp_req *req, json_t *body, const cp_project *p, int64_t now, int64_t *expires_at,
                              bool *over_max) CP_MUST_CHECK;
/* Audits an expiry past the project's maximum (resource.expiry_over_max). */
void cp_api_expiry_audit_over_max(cp_req *req, const cp_project *p, const char *resource_id, int64_t expires_at,
                                  int64_t now);

/* The project body's fields (projects.c appends them to its table). */
#define CP_API_EXPIRY_PROJECT_FIELDS                                                                                   \
    {.name = "default_ttl_seconds", .type = CP_JF_INT, .nullable = true, .min = 60, .max = 31622400},                  \
        {.name = "max_ttl_seconds", .type = CP_JF_INT, .nullable = true, .min = 60, .max = 31622400},                  \
    {                                                                                                                  \
        .name = "expiry_auto_approve", .type = CP_JF_BOOL                                                              \
    }
/* Applies the body's expiry settings to project p (already checked to be the
 * caller's, owner or admin), refusing a default above the maximum (422).
 * A p with no id (a project not created yet) only checks the body. */
cp_result cp_api_expiry_settings(cp_req *req, json_t *body, const cp_project *p) CP_MUST_CHECK;

#endif
