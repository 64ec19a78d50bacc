/* Unit tests for engine/catalog: names, regions, sizes, config, cost, tfvars. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "core/cp.h"
#include "engine/catalog.h"
#include "engine/workspace.h"
#include "test.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@cloudplane"
#define RSA "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 me@host"
#define ECDSA "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA== me@host"
#define RID "01jabcdefghjkmnpqrstvwxyz0"

static json_t *vm_cfg(void)
{
    return json_pack("{s:s}", "ssh_public_key", ED25519);
}

/* Validates with a VM config (vm kinds) or none (storage); returns the result and sets field. */
static cp_result check(const char *cloud, const char *kind, const char *name, const char *region, const char *size,
                       json_t *cfg, cp_error *err)
{
    cp_error_clear(err);
    cp_result r = cp_catalog_validate(cloud, kind, name, region, size, cfg, err);
    json_decref(cfg);
    return r;
}

static cp_result vm(const char *cloud, const char *name, const char *region, const char *size, cp_error *err)
{
    return check(cloud, "vm", name, region, size, vm_cfg(), err);
}

static cp_result st(const char *cloud, const char *name, const char *region, cp_error *err)
{
    return check(cloud, "storage", name, region, NULL, NULL, err);
}

TEST(loads_and_serves_the_public_document)
{
    CHECK_EQ(cp_catalog_init(NULL), CP_OK);
    json_t *doc = cp_catalog_json();
    CHECK(doc != NULL);
    json_t *clouds = json_object_get(doc, "clouds");
    CHECK_EQ(json_array_size(clouds), 4u);
    size_t i;
    json_t *c;
    json_array_foreach(clouds, i, c)
    {
        CHECK(json_object_get(c, "credential_env") == NULL);
        size_t j;
        json_t *f;
        CHECK(json_is_array(json_object_get(c, "credentials")));
        json_array_foreach(json_object_get(c, "credentials"), j, f)
        {
            CHECK(json_is_string(json_object_get(f, "name")));
            CHECK(json_is_string(json_object_get(f, "input")));
            CHECK(json_object_get(f, "env") == NULL);
            CHECK(json_object_get(f, "tfvar") == NULL);
            CHECK(json_is_boolean(json_object_get(f, "generated")));
        }
        CHECK(json_is_boolean(json_object_get(c, "simulated")));
        CHECK_EQ(json_array_size(json_object_get(c, "kinds")), 2u);
        json_t *k = json_array_get(json_object_get(c, "kinds"), 0);
        CHECK(json_is_string(json_object_get(k, "module")));
        CHECK(json_is_string(json_object_get(json_object_get(k, "name_rule"), "pattern")));
        CHECK(json_array_size(json_object_get(k, "sizes")) >= 3);
        k = json_array_get(json_object_get(c, "kinds"), 1);
        CHECK(json_is_number(json_object_get(k, "gb_month_usd")));
    }
    json_decref(doc);
    CHECK(cp_catalog_simulated("sandbox"));
    CHECK(!cp_catalog_simulated("aws"));
    CHECK_STR(cp_catalog_module("azure", "storage"), "azure_blob");
    CHECK(cp_catalog_module("aws", "database") == NULL);
    size_t n;
    const char *const *env = cp_catalog_credential_env("aws", &n);
    CHECK_EQ(n, 3u);
    CHECK_STR(env[0], "AWS_ACCESS_KEY_ID");
    env = cp_catalog_credential_env("sandbox", &n);
    CHECK_EQ(n, 1u);
    CHECK_STR(env[0], "SANDBOX_API_KEY");
}

static const cp_cred_field *cred(const char *cloud, const char *name)
{
    size_t n;
    const cp_cred_field *fs = cp_catalog_credentials(cloud, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(fs[i].name, name) == 0) return &fs[i];
    return NULL;
}

TEST(credential_fields)
{
    size_t n;
    const cp_cred_field *fs = cp_catalog_credentials("aws", &n);
    CHECK_EQ(n, 3u);
    CHECK_STR(fs[0].name, "access_key_id");
    CHECK_STR(fs[0].label, "Access key ID");
    CHECK_STR(fs[0].env, "AWS_ACCESS_KEY_ID");
    CHECK(fs[0].tfvar == NULL);
    CHECK(fs[0].required && !fs[0].secret);
    CHECK_EQ(fs[0].min, 16u);
    CHECK_EQ(fs[0].max, 128u);
    CHECK_STR(fs[0].rule, "upper-case letters and digits, e.g. AKIA…");
    CHECK_EQ(fs[0].input, CP_CRED_TEXT);
    CHECK(cp_catalog_credential_matches(&fs[0], "AKIAIOSFODNN7EXAMPLE"));
    CHECK(!cp_catalog_credential_matches(&fs[0], "akiaiosfodnn7example"));
    CHECK(fs[1].secret && fs[1].input == CP_CRED_PASSWORD && fs[1].pattern == NULL);
    CHECK(cp_catalog_credential_matches(&fs[1], "anything at all"));
    CHECK(!fs[2].required);
    CHECK_EQ(fs[2].max, 4096u);

    const cp_cred_field *t = cred("azure", "tenant_id");
    CHECK(t != NULL);
    CHECK_STR(t->env, "ARM_TENANT_ID");
    CHECK_STR(t->rule, "a UUID");
    CHECK(cp_catalog_credential_matches(t, "0d2a6c1e-9d8f-4b7a-a3c2-1e5f6a7b8c9d"));
    CHECK(!cp_catalog_credential_matches(t, "0d2a6c1e-9d8f-4b7a-a3c2-1e5f6a7b8c9"));
    CHECK_EQ(cred("azure", "client_secret")->min, 8u);
    CHECK(cred("azure", "project_id") == NULL);

    const cp_cred_field *key = cred("gcp", "service_account_json");
    CHECK(key != NULL);
    CHECK_STR(key->env, "GOOGLE_CREDENTIALS");
    CHECK_EQ(key->input, CP_CRED_FILE);
    CHECK_EQ(key->max, 65536u);
    const cp_cred_field *proj = cred("gcp", "project_id");
    CHECK(proj != NULL);
    CHECK(proj->env == NULL);
    CHECK_STR(proj->tfvar, "project_id");
    CHECK(cp_catalog_credential_matches(proj, "my-project-1"));
    CHECK(!cp_catalog_credential_matches(proj, "1-project"));

    /* The sandbox's one field, its API key, may be left empty: the platform makes one. */
    const cp_cred_field *sbx = cp_catalog_credentials("sandbox", &n);
    CHECK_EQ(n, 1u);
    CHECK(sbx != NULL && sbx->generated && !sbx->required && sbx->secret);
    CHECK(sbx != NULL && cp_catalog_credential_matches(sbx, "sbx_0123456789abcdef0123456789abcdef"));
    CHECK(sbx != NULL && !cp_catalog_credential_matches(sbx, "sbx_0123456789ABCDEF0123456789ABCDEF"));
    CHECK(!cred("aws", "secret_access_key")->generated);
    CHECK(cp_catalog_credentials("oracle", &n) == NULL);
    CHECK_EQ(n, 0u);
    CHECK(cp_catalog_credentials(NULL, &n) == NULL);

    /* The env list is derived: every env-bearing field, nothing else. */
    const char *const *env = cp_catalog_credential_env("gcp", &n);
    CHECK_EQ(n, 1u);
    CHECK_STR(env[0], "GOOGLE_CREDENTIALS");
    cp_catalog_credential_env("azure", &n);
    CHECK_EQ(n, 4u);
}

TEST(unknown_cloud_and_kind)
{
    cp_error e;
    CHECK_EQ(vm("oracle", "web-1", "x", "y", &e), CP_EUNPROC);
    CHECK_STR(e.field, "cloud");
    CHECK_EQ(check("aws", "db", "web-1", "us-east-1", NULL, NULL, &e), CP_EUNPROC);
    CHECK_STR(e.field, "kind");
}

TEST(s3_bucket_names)
{
    cp_error e;
    CHECK_EQ(st("aws", "my-bucket-01", "us-east-1", &e), CP_OK);
    CHECK_EQ(st("aws", "abc", "us-east-1", &e), CP_OK);
    const char *bad[] = {"ab",
                         "My-Bucket",
                         "my.bucket",
                         "-bucket",
                         "bucket-",
                         "my_bucket",
                         "xn--bucket",
                         "sthree-bucket",
                         "amzn-s3-demo-x",
                         "bucket-s3alias",
                         "bucket--ol-s3",
                         "bucket--x-s3",
                         ""};
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        CHECK_EQ(st("aws", bad[i], "us-east-1", &e), CP_EUNPROC);
        CHECK_STR(e.field, "name");
    }
    /* 64 characters is one too many. */
    CHECK_EQ(st("aws", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "us-east-1", &e),
             CP_EUNPROC);
    CHECK(strstr(e.message, "3-63 characters") != NULL);
    CHECK_EQ(st("aws", "xn--bucket", "us-east-1", &e), CP_EUNPROC);
    CHECK(strstr(e.message, "xn--") != NULL);
    /* The sandbox bucket follows the S3 rule. */
    CHECK_EQ(st("sandbox", "bucket-s3alias", "sandbox-east-1", &e), CP_EUNPROC);
    CHECK_EQ(st("sandbox", "my-bucket", "sandbox-east-1", &e), CP_OK);
}

TEST(azure_storage_account_names)
{
    cp_error e;
    CHECK_EQ(st("azure", "mystorage01", "eastus", &e), CP_OK);
    const char *bad[] = {"my-storage", "MyStorage", "ab", "abcdefghijklmnopqrstuvwxy" /* 25 */, "my_storage"};
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        CHECK_EQ(st("azure", bad[i], "eastus", &e), CP_EUNPROC);
        CHECK_STR(e.field, "name");
    }
    CHECK_EQ(st("azure", "abcdefghijklmnopqrstuvwx", "eastus", &e), CP_OK);
}

TEST(gcs_bucket_names)
{
    cp_error e;
    CHECK_EQ(st("gcp", "my_bucket-01", "us-central1", &e), CP_OK);
    CHECK_EQ(st("gcp", "googbucket", "us-central1", &e), CP_EUNPROC);
    CHECK(strstr(e.message, "goog") != NULL);
    CHECK_EQ(st("gcp", "my-google-bucket", "us-central1", &e), CP_EUNPROC);
    CHECK_EQ(st("gcp", "my.bucket", "us-central1", &e), CP_EUNPROC);
    CHECK_EQ(st("gcp", "_bucket", "us-central1", &e), CP_EUNPROC);
}

TEST(vm_names)
{
    cp_error e;
    CHECK_EQ(vm("aws", "web-1", "us-east-1", "t3.micro", &e), CP_OK);
    CHECK_EQ(vm("aws", "w", "us-east-1", "t3.micro", &e), CP_EUNPROC); /* aws: 2-63 */
    CHECK_EQ(vm("azure", "w", "eastus", "Standard_B1s", &e), CP_OK);   /* azure: 1-64 */
    CHECK_EQ(vm("gcp", "w", "us-central1", "e2-micro", &e), CP_OK);
    const char *bad[] = {"1web", "web-", "Web-1", "web_1", "web.1", "web 1", "-web"};
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        CHECK_EQ(vm("sandbox", bad[i], "sandbox-east-1", "sandbox.small", &e), CP_EUNPROC);
        CHECK_STR(e.field, "name");
        CHECK(strstr(e.message, "lower-case letters") != NULL);
    }
    /* An embedded NUL must not let the rest of the string slip past the regex. */
    json_t *cfg = vm_cfg();
    CHECK_EQ(cp_catalog_validate("sandbox", "vm", "web\n1", "sandbox-east-1", "sandbox.small", cfg, &e), CP_EUNPROC);
    json_decref(cfg);
}

TEST(regions_and_sizes)
{
    cp_error e;
    CHECK_EQ(vm("aws", "web-1", "mars-central-1", "t3.micro", &e), CP_EUNPROC);
    CHECK_STR(e.field, "region");
    CHECK(strstr(e.message, "us-east-1, us-east-2") != NULL);
    CHECK_EQ(vm("aws", "web-1", "eastus", "t3.micro", &e), CP_EUNPROC); /* another cloud's region */
    CHECK_EQ(vm("aws", "web-1", "us-east-1", "t3.huge", &e), CP_EUNPROC);
    CHECK_STR(e.field, "size");
    CHECK(strstr(e.message, "t3.micro, t3.small, t3.medium") != NULL);
    CHECK_EQ(vm("aws", "web-1", "us-east-1", NULL, &e), CP_EUNPROC);
    CHECK_STR(e.field, "size");
    CHECK_EQ(vm("azure", "web-1", "eastus", "t3.micro", &e), CP_EUNPROC);
    CHECK_EQ(vm("gcp", "web-1", "europe-west4", "e2-medium", &e), CP_OK);
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", "t3.micro", NULL, &e), CP_EUNPROC);
    CHECK_STR(e.field, "size");
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", "", NULL, &e), CP_OK);
}

TEST(ssh_keys)
{
    cp_error e;
    CHECK_EQ(check("aws", "vm", "web-1", "us-east-1", "t3.micro", json_pack("{s:s}", "ssh_public_key", RSA), &e),
             CP_OK);
    CHECK_EQ(check("aws", "vm", "web-1", "us-east-1", "t3.micro", json_pack("{s:s}", "ssh_public_key", ECDSA), &e),
             CP_OK);
    CHECK_EQ(check("azure", "vm", "web-1", "eastus", "Standard_B1s", json_pack("{s:s}", "ssh_public_key", ECDSA), &e),
             CP_EUNPROC);
    CHECK_STR(e.field, "config.ssh_public_key");
    CHECK(strstr(e.message, "ECDSA") != NULL);
    CHECK_EQ(check("azure", "vm", "web-1", "eastus", "Standard_B1s", json_pack("{s:s}", "ssh_public_key", ED25519), &e),
             CP_OK);
    const char *bad[] = {"ssh-dss AAAAB3NzaC1kc3MAAACBAP8= me@host",
                         "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\nxyz",
                         "ssh-ed25519 AAAAAAAA",
                         "hello",
                         "",
                         "ssh-rsa AAAAB3NzaC1yc2E!!!"};
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        CHECK_EQ(
            check("gcp", "vm", "web-1", "us-central1", "e2-micro", json_pack("{s:s}", "ssh_public_key", bad[i]), &e),
            CP_EUNPROC);
        CHECK_STR(e.field, "config.ssh_public_key");
    }
    CHECK_EQ(check("gcp", "vm", "web-1", "us-central1", "e2-micro", json_object(), &e), CP_EUNPROC);
    CHECK_STR(e.field, "config.ssh_public_key");
    CHECK(strstr(e.message, "required") != NULL);
    CHECK_EQ(check("gcp", "vm", "web-1", "us-central1", "e2-micro", json_pack("{s:i}", "ssh_public_key", 1), &e),
             CP_EUNPROC);
    /* Longer than 8192 characters. */
    char *big = malloc(9000);
    memcpy(big, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", 32);
    memset(big + 32, 'A', 9000 - 33);
    big[8999] = '\0';
    CHECK_EQ(check("aws", "vm", "web-1", "us-east-1", "t3.micro", json_pack("{s:s}", "ssh_public_key", big), &e),
             CP_EUNPROC);
    free(big);
}

static cp_result cidrs(json_t *list, cp_error *e)
{
    return check("sandbox", "vm", "web-1", "sandbox-east-1", "sandbox.small",
                 json_pack("{s:s,s:o}", "ssh_public_key", ED25519, "allowed_cidrs", list), e);
}

TEST(allowed_cidrs)
{
    cp_error e;
    CHECK_EQ(cidrs(json_pack("[s,s,s]", "203.0.113.0/24", "0.0.0.0/0", "10.1.2.3/32"), &e), CP_OK);
    CHECK_EQ(cidrs(json_array(), &e), CP_OK);
    const char *bad[] = {"10.0.0.0/33", "2001:db8::/32", "256.1.1.0/24", "10.0.0/8", "010.0.0.0/8",
                         "10.0.0.0",    "10.0.0.0/08",   " 10.0.0.0/8",  "a.b.c.d/8"};
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        CHECK_EQ(cidrs(json_pack("[s]", bad[i]), &e), CP_EUNPROC);
        CHECK_STR(e.field, "config.allowed_cidrs");
    }
    CHECK_EQ(cidrs(json_pack("[s,s]", "203.0.113.0/24", "203.0.113.7/24"), &e), CP_EUNPROC);
    CHECK(strstr(e.message, "[1]") != NULL && strstr(e.message, "host bits") != NULL);
    CHECK_EQ(cidrs(json_pack("[i]", 10), &e), CP_EUNPROC);
    json_t *many = json_array();
    for (int i = 0; i < 21; i++) json_array_append_new(many, json_string("10.0.0.0/8"));
    CHECK_EQ(cidrs(many, &e), CP_EUNPROC);
    CHECK(strstr(e.message, "at most 20") != NULL);
    CHECK_EQ(cidrs(json_string("10.0.0.0/8"), &e), CP_EUNPROC);
}

TEST(unknown_and_sandbox_config_keys)
{
    cp_error e;
    CHECK_EQ(check("aws", "vm", "web-1", "us-east-1", "t3.micro",
                   json_pack("{s:s,s:b}", "ssh_public_key", ED25519, "root_password", 1), &e),
             CP_EINVAL);
    CHECK_STR(e.field, "config.root_password");
    /* Test hooks exist only in the sandbox. */
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", NULL, json_pack("{s:i}", "simulate_seconds", 1), &e),
             CP_EINVAL);
    CHECK_STR(e.field, "config.simulate_seconds");
    CHECK_EQ(check("sandbox", "storage", "my-bucket", "sandbox-east-1", NULL,
                   json_pack("{s:i,s:b}", "simulate_seconds", 600, "simulate_failure", 1), &e),
             CP_OK);
    CHECK_EQ(check("sandbox", "storage", "my-bucket", "sandbox-east-1", NULL,
                   json_pack("{s:i}", "simulate_seconds", 601), &e),
             CP_EUNPROC);
    CHECK_EQ(check("sandbox", "storage", "my-bucket", "sandbox-east-1", NULL,
                   json_pack("{s:f}", "simulate_seconds", 1.5), &e),
             CP_EUNPROC);
    CHECK_EQ(check("sandbox", "storage", "my-bucket", "sandbox-east-1", NULL,
                   json_pack("{s:s}", "simulate_failure", "y"), &e),
             CP_EUNPROC);
    CHECK_STR(e.field, "config.simulate_failure");
    /* Storage keys are not VM keys and vice versa. */
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", NULL, json_pack("{s:s}", "ssh_public_key", ED25519), &e),
             CP_EINVAL);
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", NULL, json_pack("{s:i}", "expected_gb", 0), &e),
             CP_EUNPROC);
    CHECK_STR(e.field, "config.expected_gb");
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", NULL, json_pack("{s:i}", "expected_gb", 1000001), &e),
             CP_EUNPROC);
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", NULL, json_pack("{s:f}", "expected_gb", 12.5), &e),
             CP_OK);
    CHECK_EQ(check("aws", "storage", "my-bucket", "us-east-1", NULL, json_string("x"), &e), CP_EINVAL);
    CHECK_STR(e.field, "config");
}

TEST(monthly_cost)
{
    CHECK(fabs(cp_catalog_monthly_cost("aws", "vm", "t3.micro", NULL) - 0.0104 * 730) < 1e-9);
    CHECK(fabs(cp_catalog_monthly_cost("aws", "storage", NULL, NULL) - 2.3) < 1e-9);
    json_t *cfg = json_pack("{s:i}", "expected_gb", 50);
    CHECK(fabs(cp_catalog_monthly_cost("aws", "storage", NULL, cfg) - 1.15) < 1e-9);
    json_decref(cfg);
    CHECK(fabs(cp_catalog_monthly_cost("gcp", "vm", "e2-medium", NULL) - 0.0335 * 730) < 1e-9);
    CHECK(fabs(cp_catalog_monthly_cost("sandbox", "vm", "sandbox.large", NULL) - 0.04 * 730) < 1e-9);
    CHECK(cp_catalog_monthly_cost("aws", "vm", "t9.nano", NULL) < 0);
    CHECK(cp_catalog_monthly_cost("mars", "vm", "t3.micro", NULL) < 0);
}

/* Working-hours schedules: which VMs stop, what a stopped one costs, and
 * power_state in the config. */
TEST(stoppable_and_stopped_price)
{
    const char *why = NULL;
    CHECK(cp_catalog_stoppable("aws", "vm", &why) && why == NULL);
    CHECK(cp_catalog_stoppable("gcp", "vm", NULL));
    CHECK(cp_catalog_stoppable("sandbox", "vm", NULL));
    CHECK(!cp_catalog_stoppable("azure", "vm", &why) && why && strstr(why, "azurerm"));
    CHECK(!cp_catalog_stoppable("sandbox", "storage", &why) && why && strstr(why, "only VMs"));
    CHECK(!cp_catalog_stoppable("mars", "vm", &why) && why);

    json_t *stopped = json_pack("{s:s, s:s}", "ssh_public_key", ED25519, "power_state", "stopped");
    json_t *running = json_pack("{s:s, s:s}", "ssh_public_key", ED25519, "power_state", "running");
    json_t *paused = json_pack("{s:s, s:s}", "ssh_public_key", ED25519, "power_state", "paused");
    CHECK(fabs(cp_catalog_monthly_cost("aws", "vm", "t3.medium", stopped) - 1.60) < 1e-9);
    CHECK(fabs(cp_catalog_monthly_cost("aws", "vm", "t3.medium", running) - 0.0416 * 730) < 1e-9);
    CHECK(fabs(cp_catalog_monthly_cost("sandbox", "vm", "sandbox.small", stopped) - 1.60) < 1e-9);
    /* Every VM size bills less stopped than running. */
    json_t *doc = cp_catalog_json();
    size_t ci, ki, si;
    json_t *c, *k, *sz;
    json_array_foreach(json_object_get(doc, "clouds"), ci, c) json_array_foreach(json_object_get(c, "kinds"), ki, k)
    {
        CHECK(json_is_boolean(json_object_get(k, "stoppable")));
        json_array_foreach(json_object_get(k, "sizes"), si, sz)
        {
            double stop = json_number_value(json_object_get(sz, "stopped_monthly_cost_usd"));
            CHECK(stop > 0 && stop < json_number_value(json_object_get(sz, "hourly_usd")) * 730);
        }
    }
    json_decref(doc);

    cp_error e;
    CHECK_EQ(cp_catalog_validate("aws", "vm", "web-1", "us-east-1", "t3.micro", stopped, &e), CP_OK);
    CHECK_EQ(cp_catalog_validate("aws", "vm", "web-1", "us-east-1", "t3.micro", paused, &e), CP_EUNPROC);
    CHECK_STR(e.field, "config.power_state");
    CHECK_EQ(cp_catalog_validate("azure", "vm", "web-1", "eastus", "Standard_B1s", stopped, &e), CP_EUNPROC);
    CHECK_STR(e.code, "not_stoppable");
    CHECK_EQ(cp_catalog_validate("azure", "vm", "web-1", "eastus", "Standard_B1s", running, &e), CP_OK);
    json_t *bucket = json_pack("{s:s}", "power_state", "stopped");
    CHECK_EQ(cp_catalog_validate("sandbox", "storage", "my-bucket", "sandbox-east-1", NULL, bucket, &e), CP_EINVAL);

    json_t *tv = cp_catalog_tfvars(RID, "sandbox", "vm", "web-1", "sandbox-east-1", "sandbox.small", stopped, NULL, &e);
    CHECK_STR(json_string_value(json_object_get(tv, "power_state")), "stopped");
    json_decref(tv);
    tv = cp_catalog_tfvars(RID, "aws", "vm", "web-1", "us-east-1", "t3.micro", NULL, NULL, &e);
    CHECK(tv == NULL); /* no ssh key */
    json_t *plain = json_pack("{s:s}", "ssh_public_key", ED25519);
    tv = cp_catalog_tfvars(RID, "aws", "vm", "web-1", "us-east-1", "t3.micro", plain, NULL, &e);
    CHECK_STR(json_string_value(json_object_get(tv, "power_state")), "running");
    json_decref(tv);
    json_decref(plain);
    json_decref(bucket);
    json_decref(stopped);
    json_decref(running);
    json_decref(paused);
}

/* Variable names declared in a module's variables.tf. */
static json_t *module_vars(const char *module)
{
    char path[4096];
    const char *repo = getenv("CP_REPO_DIR") ? getenv("CP_REPO_DIR") : "../..";
    snprintf(path, sizeof path, "%s/terraform/modules/%s/variables.tf", repo, module);
    char *text = NULL;
    if (cp_workspace_read(path, 1 << 20, &text, NULL, NULL) != CP_OK) return NULL;
    json_t *names = json_object();
    regex_t re;
    regcomp(&re, "^variable \"([a-z_]+)\"", REG_EXTENDED | REG_NEWLINE);
    regmatch_t m[2];
    for (const char *p = text; regexec(&re, p, 2, m, p == text ? 0 : REG_NOTBOL) == 0; p += m[0].rm_eo) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(m[1].rm_eo - m[1].rm_so), p + m[1].rm_so);
        json_object_set_new(names, name, json_true());
    }
    regfree(&re);
    free(text);
    return names;
}

TEST(tfvars_have_exactly_each_modules_variables)
{
    static const struct {
        const char *cloud, *kind, *name, *region, *size;
    } cases[] = {
        {"aws", "vm", "web-1", "us-east-1", "t3.micro"},
        {"aws", "storage", "my-bucket", "us-east-1", NULL},
        {"azure", "vm", "web-1", "eastus", "Standard_B1s"},
        {"azure", "storage", "mystorage01", "eastus", NULL},
        {"gcp", "vm", "web-1", "us-central1", "e2-micro"},
        {"gcp", "storage", "my-bucket", "us-central1", NULL},
        {"sandbox", "vm", "web-1", "sandbox-east-1", "sandbox.small"},
        {"sandbox", "storage", "my-bucket", "sandbox-east-1", NULL},
    };
    json_t *extra = json_pack("{s:s}", "project_id", "cloudplane-test");
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        bool isvm = strcmp(cases[i].kind, "vm") == 0;
        json_t *cfg = isvm ? json_pack("{s:s,s:[s]}", "ssh_public_key", ED25519, "allowed_cidrs", "203.0.113.0/24")
                           : json_pack("{s:i}", "expected_gb", 10);
        cp_error e;
        json_t *tv = cp_catalog_tfvars(RID, cases[i].cloud, cases[i].kind, cases[i].name, cases[i].region,
                                       cases[i].size, cfg, extra, &e);
        const char *module = cp_catalog_module(cases[i].cloud, cases[i].kind);
        json_t *want = module_vars(module);
        CHECK(tv != NULL);
        CHECK(want != NULL && json_object_size(want) >= 4);
        if (tv && want) {
            const char *k;
            json_t *v;
            json_object_foreach(tv, k, v) if (!json_object_get(want, k))
            {
                fprintf(stderr, "  %s: tfvars key %s is not a module variable\n", module, k);
                CHECK(0);
            }
            json_object_foreach(want, k, v) if (!json_object_get(tv, k))
            {
                fprintf(stderr, "  %s: module variable %s is not set\n", module, k);
                CHECK(0);
            }
            CHECK_STR(json_string_value(json_object_get(tv, "resource_id")), RID);
            CHECK_STR(json_string_value(json_object_get(tv, "name")), cases[i].name);
            if (isvm) {
                CHECK_STR(json_string_value(json_object_get(tv, "ssh_public_key")), ED25519);
                CHECK_STR(json_string_value(json_array_get(json_object_get(tv, "allowed_cidrs"), 0)), "203.0.113.0/24");
            }
        }
        json_decref(tv);
        json_decref(want);
        json_decref(cfg);
    }
    json_decref(extra);
}

TEST(tfvars_rejects_before_anything)
{
    cp_error e;
    json_t *cfg = vm_cfg();
    CHECK(cp_catalog_tfvars("../../etc", "sandbox", "vm", "web-1", "sandbox-east-1", "sandbox.small", cfg, NULL, &e) ==
          NULL);
    CHECK_STR(e.field, "resource_id");
    CHECK(cp_catalog_tfvars(RID, "sandbox", "vm", "Web", "sandbox-east-1", "sandbox.small", cfg, NULL, &e) == NULL);
    CHECK_STR(e.field, "name");
    CHECK(cp_catalog_tfvars(RID, "gcp", "vm", "web-1", "us-central1", "e2-micro", cfg, NULL, &e) == NULL);
    CHECK_STR(e.field, "project_id");
    json_decref(cfg);
    cfg = json_pack("{s:s,s:i,s:b}", "ssh_public_key", ED25519, "simulate_seconds", 3, "simulate_failure", 1);
    json_t *tv = cp_catalog_tfvars(RID, "sandbox", "vm", "web-1", "sandbox-east-1", "sandbox.small", cfg, NULL, &e);
    CHECK(tv && json_integer_value(json_object_get(tv, "simulate_seconds")) == 3);
    CHECK(tv && json_is_true(json_object_get(tv, "simulate_failure")));
    CHECK(tv && json_array_size(json_object_get(tv, "allowed_cidrs")) == 0);
    json_decref(tv);
    json_decref(cfg);
}

int main(void)
{
    RUN(loads_and_serves_the_public_document);
    RUN(credential_fields);
    RUN(unknown_cloud_and_kind);
    RUN(s3_bucket_names);
    RUN(azure_storage_account_names);
    RUN(gcs_bucket_names);
    RUN(vm_names);
    RUN(regions_and_sizes);
    RUN(ssh_keys);
    RUN(allowed_cidrs);
    RUN(unknown_and_sandbox_config_keys);
    RUN(monthly_cost);
    RUN(stoppable_and_stopped_price);
    RUN(tfvars_have_exactly_each_modules_variables);
    RUN(tfvars_rejects_before_anything);
    TEST_END();
}
