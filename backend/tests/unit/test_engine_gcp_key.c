/* Unit tests for engine/gcp_key: a service-account key is rebuilt from its own
 * fields, and one that names an endpoint other than Google's is refused. */
#include <string.h>

#include "engine/gcp_key.h"
#include "test.h"

#define PK "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n"
#define BASE                                                                                                           \
    "\"type\":\"service_account\",\"project_id\":\"cp-test\",\"private_key_id\":\"abc\",\"private_key\":\"" PK         \
    "\",\"client_email\":\"r@cp-test.iam.gserviceaccount.com\",\"client_id\":\"1\""

/* Rebuilds {BASE, extra}; returns the result (caller frees) and leaves err set on refusal. */
static json_t *rebuild(const char *extra, cp_error *err)
{
    char text[2048];
    snprintf(text, sizeof text, "{" BASE "%s%s}", *extra ? "," : "", extra);
    cp_error_clear(err);
    return cp_gcp_key_rebuild(text, "credentials.service_account_json", err);
}

TEST(a_google_key_keeps_its_fields)
{
    cp_error e;
    json_t *k = rebuild("\"auth_uri\":\"https://accounts.google.com/o/oauth2/auth\","
                        "\"token_uri\":\"https://oauth2.googleapis.com/token\","
                        "\"auth_provider_x509_cert_url\":\"https://www.googleapis.com/oauth2/v1/certs\","
                        "\"client_x509_cert_url\":\"https://www.googleapis.com/robot/v1/metadata/x509/"
                        "r%40cp-test.iam.gserviceaccount.com\","
                        "\"universe_domain\":\"googleapis.com\"",
                        &e);
    CHECK(k != NULL);
    CHECK_EQ(json_object_size(k), 11);
    CHECK_STR(json_string_value(json_object_get(k, "token_uri")), "https://oauth2.googleapis.com/token");
    json_decref(k);
}

TEST(fields_a_key_file_does_not_have_are_dropped)
{
    cp_error e;
    json_t *k = rebuild("\"quota_project_id\":\"x\",\"service_account_impersonation_url\":\"http://10.0.0.1/\"", &e);
    CHECK(k != NULL);
    CHECK(json_object_get(k, "quota_project_id") == NULL);
    CHECK(json_object_get(k, "service_account_impersonation_url") == NULL);
    CHECK_EQ(json_object_size(k), 6);
    json_decref(k);
}

TEST(an_endpoint_that_is_not_googles_is_refused)
{
    static const struct {
        const char *extra, *field;
    } cases[] = {
        {"\"token_uri\":\"http://169.254.169.254/token\"", "credentials.service_account_json.token_uri"},
        {"\"token_uri\":\"https://oauth2.googleapis.com.evil.test/token\"",
         "credentials.service_account_json.token_uri"},
        {"\"universe_domain\":\"evil.test\"", "credentials.service_account_json.universe_domain"},
        {"\"auth_uri\":\"https://127.0.0.1/auth\"", "credentials.service_account_json.auth_uri"},
        {"\"auth_provider_x509_cert_url\":\"https://internal/certs\"",
         "credentials.service_account_json.auth_provider_x509_cert_url"},
        {"\"client_x509_cert_url\":\"https://www.googleapis.com/robot/v1/metadata/x509/a/../../../x\"",
         "credentials.service_account_json.client_x509_cert_url"},
        {"\"client_x509_cert_url\":\"https://evil.test/robot/v1/metadata/x509/a\"",
         "credentials.service_account_json.client_x509_cert_url"},
        {"\"token_uri\":17", "credentials.service_account_json.token_uri"},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        cp_error e;
        json_t *k = rebuild(cases[i].extra, &e);
        CHECK(k == NULL);
        CHECK_EQ(e.result, CP_EUNPROC);
        CHECK_STR(e.field, cases[i].field);
        CHECK(strstr(e.message, "169.254") == NULL && strstr(e.message, "evil") == NULL); /* names, never values */
        json_decref(k);
    }
}

TEST(not_a_key_is_refused_on_the_whole_field)
{
    cp_error e;
    CHECK(cp_gcp_key_rebuild("{", "credentials.service_account_json", &e) == NULL);
    CHECK_STR(e.field, "credentials.service_account_json");
    CHECK(cp_gcp_key_rebuild("{\"type\":\"authorized_user\",\"private_key\":\"-----BEGIN PRIVATE KEY-----\","
                             "\"client_email\":\"a@b\"}",
                             "credentials.service_account_json", &e) == NULL);
    CHECK_STR(e.field, "credentials.service_account_json");
    CHECK(cp_gcp_key_rebuild("[1]", "credentials.service_account_json", &e) == NULL);
}

int main(void)
{
    RUN(a_google_key_keeps_its_fields);
    RUN(fields_a_key_file_does_not_have_are_dropped);
    RUN(an_endpoint_that_is_not_googles_is_refused);
    RUN(not_a_key_is_refused_on_the_whole_field);
    TEST_END();
}
