/* issuer.c: the issuer's documents over HTTP (api/issuer.h). */
#include "api/issuer.h"

#include "api/common.h"
#include "app/issuer_key.h"
#include "engine/catalog.h"

/* Clouds cache these; a rotated key is published before it signs (rotation
 * keeps the old keys), so five minutes of staleness never breaks a run. */
static void cacheable(cp_req *req)
{
    req->extra_header[0] = "Cache-Control";
    req->extra_header[1] = "public, max-age=300";
}

cp_result cp_api_oidc_discovery(cp_req *req)
{
    char url[512];
    cp_app_issuer_url(CP_APP(req), url, sizeof url);
    cacheable(req);
    return cp_reply(req, 200, cp_issuer_discovery(url));
}

cp_result cp_api_oidc_jwks(cp_req *req)
{
    cacheable(req);
    return cp_reply(req, 200, cp_issuer_jwks(CP_APP(req)->issuer));
}

cp_result cp_api_workload_identity(cp_req *req)
{
    cp_app *app = CP_APP(req);
    char url[512];
    cp_app_issuer_url(app, url, sizeof url);
    json_t *clouds = json_object();
    static const char *const ids[] = {"aws", "azure", "gcp"};
    for (size_t i = 0; i < CP_ARRAY_LEN(ids); i++) {
        const char *aud = cp_catalog_identity_audience(ids[i]);
        if (aud) json_object_set_new(clouds, ids[i], json_pack("{s:s}", "default_audience", aud));
    }
    return cp_reply(req, 200,
                    json_pack("{s:s, s:b, s:s, s:s, s:o}", "issuer", url, "public_url_set",
                              app->cfg->public_url && app->cfg->public_url[0], "subject_format",
                              "project:<project_id>:account:<account_id>:run_phase:<plan|apply|destroy>", "algorithm",
                              CP_ISSUER_ALG, "clouds", clouds));
}
