/* issuer.h: the run-token issuer in the HTTP API: the public discovery
 * document and JWKS a cloud fetches to trust cloudplane's tokens, and what
 * the account form shows to set that trust up. */
#ifndef CP_API_ISSUER_H
#define CP_API_ISSUER_H

#include "api/api.h"

/* GET /.well-known/openid-configuration (public, cacheable). */
cp_result cp_api_oidc_discovery(cp_req *req);
/* GET /.well-known/jwks.json: public keys only (public, cacheable). */
cp_result cp_api_oidc_jwks(cp_req *req);
/* GET /api/v1/workload-identity: {issuer, public_url_set, subject_format,
 * clouds:{<cloud>:{default_audience}}}. */
cp_result cp_api_workload_identity(cp_req *req);

#endif
