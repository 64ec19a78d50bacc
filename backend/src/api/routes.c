/* routes.c: the HTTP API's route table. Every path here is in openapi.yaml, and
 * a test checks both directions. */
#include "api/app.h"

const cp_route cp_api_routes[] = {
    {"GET", "/healthz", cp_api_healthz, CP_ROUTE_PUBLIC},
    {"GET", "/readyz", cp_api_readyz, CP_ROUTE_PUBLIC},
    {"GET", "/metrics", cp_api_metrics, CP_ROUTE_PUBLIC},
    {"GET", "/api/v1/openapi.yaml", cp_api_openapi, CP_ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/signup", cp_api_signup, CP_ROUTE_PUBLIC},
    {"POST", "/api/v1/auth/login", cp_api_login, CP_ROUTE_PUBLIC},
    {"GET", "/api/v1/auth/me", cp_api_me, CP_ROUTE_AUTH},
};

const size_t cp_api_nroutes = CP_ARRAY_LEN(cp_api_routes);
