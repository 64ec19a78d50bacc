/* Unit tests for engine/identity.c and the catalog's workload identity data:
 * what each cloud's provider is given for an account of kind
 * workload_identity (env, the token file, GCP's external_account file), the
 * default audiences, and the field rules the API checks. */
#include <string.h>

#include "engine/catalog.h"
#include "engine/identity.h"
#include "test.h"

#define TOKEN "/runs/r1/.cloudplane-token"
#define CRED "/runs/r1/.cloudplane-credentials.json"
#define PROVIDER "projects/123456789012/locations/global/workloadIdentityPools/cloudplane/providers/cloudplane"

static bool has(const cp_strv *env, const char *want)
{
    for (size_t i = 0; i < env->n; i++)
        if (!strcmp(env->v[i], want)) return true;
    return false;
}

static const cp_cred_field *field(const char *cloud, const char *name)
{
    size_t n;
    const cp_cred_field *fs = cp_catalog_identity_fields(cloud, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fs[i].name, name)) return &fs[i];
    return NULL;
}

TEST(aws_env)
{
    json_t *f = json_pack("{s:s, s:s}", "role_arn", "arn:aws:iam::123456789012:role/runs", "session_name", "cp");
    char *aud = cp_identity_audience("aws", f, NULL);
    CHECK_STR(aud, "sts.amazonaws.com");
    cp_strv env;
    cp_strv_init(&env);
    char *cred = NULL;
    cp_error e;
    CHECK_EQ(cp_identity_env("aws", f, aud, TOKEN, CRED, &env, &cred, &e), CP_OK);
    CHECK(has(&env, "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/runs"));
    CHECK(has(&env, "AWS_ROLE_SESSION_NAME=cp"));
    CHECK(has(&env, "AWS_WEB_IDENTITY_TOKEN_FILE=" TOKEN));
    CHECK_EQ(env.n, 3u);
    CHECK(cred == NULL);
    free(aud);
    cp_strv_free(&env);
    json_decref(f);
}

TEST(azure_env)
{
    const char *u = "0f8fad5b-d9cb-469f-a165-70867728950e";
    json_t *f = json_pack("{s:s, s:s, s:s}", "tenant_id", u, "client_id", u, "subscription_id", u);
    char *aud = cp_identity_audience("azure", f, NULL);
    CHECK_STR(aud, "api://AzureADTokenExchange");
    cp_strv env;
    cp_strv_init(&env);
    char *cred = NULL;
    cp_error e;
    CHECK_EQ(cp_identity_env("azure", f, aud, TOKEN, CRED, &env, &cred, &e), CP_OK);
    CHECK(has(&env, "ARM_USE_OIDC=true"));
    CHECK(has(&env, "ARM_OIDC_TOKEN_FILE_PATH=" TOKEN));
    CHECK(has(&env, "ARM_TENANT_ID=0f8fad5b-d9cb-469f-a165-70867728950e"));
    CHECK(has(&env, "ARM_CLIENT_ID=0f8fad5b-d9cb-469f-a165-70867728950e"));
    CHECK(has(&env, "ARM_SUBSCRIPTION_ID=0f8fad5b-d9cb-469f-a165-70867728950e"));
    CHECK(cred == NULL);
    /* An account's own audience wins. */
    char *own = cp_identity_audience("azure", f, "api://custom");
    CHECK_STR(own, "api://custom");
    free(own);
    free(aud);
    cp_strv_free(&env);
    json_decref(f);
}

TEST(gcp_external_account_file)
{
    json_t *f = json_pack("{s:s, s:s, s:s}", "workload_identity_provider", PROVIDER, "service_account_email",
                          "runs@my-project-123456.iam.gserviceaccount.com", "project_id", "my-project-123456");
    char *aud = cp_identity_audience("gcp", f, NULL);
    CHECK_STR(aud, "//iam.googleapis.com/" PROVIDER);
    cp_strv env;
    cp_strv_init(&env);
    char *cred = NULL;
    cp_error e;
    CHECK_EQ(cp_identity_env("gcp", f, aud, TOKEN, CRED, &env, &cred, &e), CP_OK);
    CHECK(has(&env, "GOOGLE_APPLICATION_CREDENTIALS=" CRED));
    CHECK_EQ(env.n, 1u);
    json_t *doc = cred ? json_loads(cred, 0, NULL) : NULL;
    CHECK_STR(json_string_value(json_object_get(doc, "type")), "external_account");
    CHECK_STR(json_string_value(json_object_get(doc, "audience")), "//iam.googleapis.com/" PROVIDER);
    CHECK_STR(json_string_value(json_object_get(doc, "subject_token_type")), "urn:ietf:params:oauth:token-type:jwt");
    CHECK_STR(json_string_value(json_object_get(doc, "token_url")), "https://sts.googleapis.com/v1/token");
    CHECK_STR(json_string_value(json_object_get(json_object_get(doc, "credential_source"), "file")), TOKEN);
    CHECK_STR(json_string_value(json_object_get(doc, "service_account_impersonation_url")),
              "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
              "runs@my-project-123456.iam.gserviceaccount.com:generateAccessToken");
    /* project_id becomes the module's tfvar, as with a key file account. */
    json_t *extra = json_object();
    cp_identity_extra("gcp", f, extra);
    CHECK_STR(json_string_value(json_object_get(extra, "project_id")), "my-project-123456");
    json_decref(extra);
    json_decref(doc);
    free(cred);
    free(aud);
    cp_strv_free(&env);
    json_decref(f);
}

TEST(field_rules)
{
    const cp_cred_field *arn = field("aws", "role_arn");
    CHECK(arn && arn->required && !arn->secret);
    CHECK(arn && cp_catalog_credential_matches(arn, "arn:aws:iam::123456789012:role/path/runs"));
    CHECK(arn && cp_catalog_credential_matches(arn, "arn:aws-us-gov:iam::123456789012:role/runs"));
    CHECK(arn && !cp_catalog_credential_matches(arn, "arn:aws:iam::123456789012:user/bob"));
    CHECK(arn && !cp_catalog_credential_matches(arn, "arn:aws:iam::12345:role/runs"));
    const cp_cred_field *wip = field("gcp", "workload_identity_provider");
    CHECK(wip && cp_catalog_credential_matches(wip, PROVIDER));
    CHECK(wip &&
          !cp_catalog_credential_matches(wip, "projects/x/locations/global/workloadIdentityPools/a/providers/b"));
    /* The sandbox cloud has no workload identity; nothing of it is secret elsewhere. */
    size_t n;
    CHECK(cp_catalog_identity_fields("sandbox", &n) == NULL && n == 0);
    CHECK(cp_catalog_identity_audience("sandbox") == NULL);
    cp_strv env;
    cp_strv_init(&env);
    char *cred;
    cp_error e;
    CHECK_EQ(cp_identity_env("sandbox", NULL, "x", TOKEN, CRED, &env, &cred, &e), CP_EINVAL);
    cp_strv_free(&env);
    /* The env names an identity account sets are known (the runner refuses an operator's use of them). */
    const char *const *names = cp_catalog_identity_env_names("azure", &n);
    bool oidc = false;
    for (size_t i = 0; i < n; i++) oidc |= !strcmp(names[i], "ARM_USE_OIDC");
    CHECK(oidc);
}

int main(void)
{
    cp_error e;
    if (cp_catalog_init(&e) != CP_OK) {
        fprintf(stderr, "%s\n", e.message);
        return 1;
    }
    RUN(aws_env);
    RUN(azure_env);
    RUN(gcp_external_account_file);
    RUN(field_rules);
    TEST_END();
}
