/* reqmetrics.h: the HTTP request families, cloudplane_http_requests_total
 * {route,method,code} and cloudplane_http_request_duration_seconds
 * {route,method}. The route label is a pattern of the route table the server
 * was set up with ("/api/v1/resources/{id}"), or "web" (the UI's files) or
 * "unmatched" (no route): never a path. Methods and codes are enumerated, so
 * the series are bounded by the table. */
#ifndef CP_REQMETRICS_H
#define CP_REQMETRICS_H

#include "core/buf.h"
#include "http/http.h"

/* Counts the requests of the server with this route table (once, before
 * serving). */
void cp_reqmetrics_init(const cp_route *routes, size_t n);
/* One finished request of a server with this route table (others are not
 * counted): its route (NULL: none matched; then web says the UI's files
 * answered, else "unmatched"), method, status and duration. */
void cp_reqmetrics_observe(const cp_route *routes, const cp_route *route, const char *method, bool web, int status,
                           int64_t us);
/* Both families, HELP and TYPE included. */
void cp_reqmetrics_write(cp_buf *b);

#endif
