/* accounts.c: cloud accounts. Credentials are checked against the cloud's
 * fields in the catalog (engine/catalog.h), sealed in the
 * vault bound to (account id, project id), and never returned or logged: error
 * messages name fields, never values. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/common.h"
#include "api/sandbox_cloud.h"
#include "core/ids.h"
#include "core/timeutil.h"
#include "engine/catalog.h"
#include "engine/gcp_key.h"
#include "store/store_sandbox.h"

/* Checks obj (at body key `where`) against the catalog's fields fs: no
 * unknown key, required ones present, strings of the right length and form.
 * Messages name fields, never values. */
static cp_result check_fields(cp_req *req, const char *cloud, const char *where, json_t *cred, const cp_cred_field *fs,
                              size_t n)
{
    if (cred && !json_is_object(cred))
        return cp_req_fail(req, CP_EUNPROC, "invalid_type", where, "%s must be an object", where);
    const char *key;
    json_t *v;
    json_object_foreach(cred, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) known = !strcmp(fs[i].name, key);
        if (!known)
            return cp_req_fail(req, CP_EINVAL, "unknown_field", cp_arena_printf(req->arena, "%s.%.40s", where, key),
                               "%s %s take no field '%.40s'", cloud, where, key);
    }
    for (size_t i = 0; i < n; i++) {
        const char *field = cp_arena_printf(req->arena, "%s.%s", where, fs[i].name);
        v = json_object_get(cred, fs[i].name);
        if (!v || json_is_null(v)) {
            if (fs[i].required)
                return cp_req_fail(req, CP_EUNPROC, "missing_field", field, "%s is required for %s", fs[i].name, cloud);
            continue;
        }
        if (!json_is_string(v))
            return cp_req_fail(req, CP_EUNPROC, "invalid_type", field, "%s must be a string", fs[i].name);
        const char *s = json_string_value(v);
        size_t len = cp_utf8_len(s, json_string_length(v)); /* characters, as the message says */
        if (len < fs[i].min || len > fs[i].max)
            return cp_req_fail(req, CP_EUNPROC, "invalid_length", field, "%s must be %zu to %zu characters", fs[i].name,
                               fs[i].min, fs[i].max);
        if (!cp_catalog_credential_matches(&fs[i], s))
            return cp_req_fail(req, CP_EUNPROC, "invalid_format", field, "%s must be %s", fs[i].name, fs[i].rule);
    }
    return CP_OK;
}

static cp_result check_credentials(cp_req *req, const char *cloud, json_t *cred, char **hint)
{
    *hint = NULL;
    size_t n;
    const cp_cred_field *fs = cp_catalog_credentials(cloud, &n);
    cp_result r = check_fields(req, cloud, "credentials", cred, fs, n);
    if (r != CP_OK) return r;
    if (!strcmp(cloud, "gcp")) {
        /* Sealed as rebuilt: only a key file's own fields, endpoints Google's own. */
        json_t *k = cp_gcp_key_rebuild(cp_json_str(cred, "service_account_json", ""),
                                       "credentials.service_account_json", &req->err);
        if (!k) return req->err.result;
        *hint = cp_arena_strdup(req->arena, json_string_value(json_object_get(k, "client_email")));
        char *text = json_dumps(k, JSON_COMPACT | JSON_SORT_KEYS);
        json_object_set_new(cred, "service_account_json", json_string(text));
        cp_vault_wipe(text, strlen(text));
        json_decref(k);
    } else if (!strcmp(cloud, "aws")) {
        const char *id = cp_json_str(cred, "access_key_id", "");
        *hint = cp_arena_printf(req->arena, "%.4s…%s", id, id + strlen(id) - 4);
    } else if (!strcmp(cloud, "azure")) {
        *hint = cp_arena_printf(req->arena, "client %s", cp_json_str(cred, "client_id", ""));
    }
    return CP_OK;
}

/* A sandbox account's API key: the one given, or a new one set into creds.
 * Its hash goes to the sandbox cloud's key registry, its last four to the hint. */
static void sandbox_key(cp_req *req, json_t *creds, char hash[CP_SANDBOX_HASH_LEN + 1], char **hint)
{
    const char *key = json_string_value(json_object_get(creds, "api_key"));
    if (!key) {
        char fresh[CP_SANDBOX_KEY_LEN + 1];
        cp_sandbox_key_new(fresh);
        json_object_set_new(creds, "api_key", json_string(fresh));
        sodium_memzero(fresh, sizeof fresh);
        key = json_string_value(json_object_get(creds, "api_key"));
    }
    cp_sandbox_key_hash(key, hash);
    *hint = cp_arena_printf(req->arena, "sbx_…%s", key + strlen(key) - 4);
}

/* jansson does not wipe on free; overwrite the values we held. */
static void wipe_strings(json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) if (json_is_string(v))
        sodium_memzero((void *)json_string_value(v), json_string_length(v));
}

/* An account of kind workload_identity: no secret, so no vault record; only
 * what to assume (the catalog's identity fields) and the token's audience. */
static cp_result create_identity(cp_req *req, const cp_project *p, json_t *b, const char *cloud)
{
    size_t n;
    const cp_cred_field *fs = cp_catalog_identity_fields(cloud, &n);
    if (!fs) return cp_req_fail(req, CP_EUNPROC, "invalid_value", "kind", "%s has no workload identity", cloud);
    if (json_object_get(b, "credentials"))
        return cp_req_fail(req, CP_EINVAL, "unknown_field", "credentials",
                           "a workload identity account stores no credentials");
    json_t *ident = json_object_get(b, "identity");
    if (!ident) return cp_req_fail(req, CP_EUNPROC, "missing_field", "identity", "identity is required");
    cp_result r = check_fields(req, cloud, "identity", ident, fs, n);
    if (r != CP_OK) return r;
    const char *aud = cp_json_str(b, "audience", NULL);
    if (aud && strpbrk(aud, "\r\n\t"))
        return cp_req_fail(req, CP_EUNPROC, "invalid_format", "audience", "audience must be one line of text");
    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    char *text = json_dumps(ident, JSON_COMPACT | JSON_SORT_KEYS);
    cp_account acc = {.id = id,
                      .project_id = p->id,
                      .cloud = (char *)cloud,
                      .name = (char *)cp_json_str(b, "name", ""),
                      .hint = (char *)cp_json_str(ident, fs[0].name, NULL),
                      .key_id = "",
                      .nonce = "",
                      .ciphertext = "",
                      .created_at = cp_now_ms(),
                      .kind = "workload_identity",
                      .identity = cp_arena_strdup(req->arena, text),
                      .audience = (char *)aud};
    free(text);
    if ((r = cp_store_account_create(CP_APP(req)->store, &acc, &req->err)) != CP_OK) return r;
    cp_api_audit(req, p->id, "account.add", id,
                 json_pack("{s:s, s:s, s:s}", "name", acc.name, "cloud", cloud, "kind", acc.kind));
    return cp_reply(req, 201, cp_api_account_json(&acc));
}

cp_result cp_api_accounts_create(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "name", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 100},
        {.name = "cloud", .type = CP_JF_STRING, .required = true, .max_len = 16},
        {.name = "credentials", .type = CP_JF_OBJECT},
        {.name = "kind", .type = CP_JF_STRING, .max_len = 32},
        {.name = "identity", .type = CP_JF_OBJECT},
        {.name = "audience", .type = CP_JF_STRING, .min_len = 1, .max_len = 256},
    };
    cp_app *app = CP_APP(req);
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    json_t *b;
    if ((r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b)) != CP_OK) return r;
    if ((r = cp_api_need_role(req, p.role, CP_ROLE_ADMIN)) != CP_OK) return r;
    const char *cloud = cp_json_str(b, "cloud", "");
    if (strcmp(cloud, "aws") && strcmp(cloud, "azure") && strcmp(cloud, "gcp") && strcmp(cloud, "sandbox"))
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", "cloud", "cloud must be aws, azure, gcp or sandbox");
    if ((r = cp_api_sandbox_policy(req, cloud, NULL)) != CP_OK) return r;
    const char *kind = cp_json_str(b, "kind", "credentials");
    if (!strcmp(kind, "workload_identity")) return create_identity(req, &p, b, cloud);
    if (strcmp(kind, "credentials"))
        return cp_req_fail(req, CP_EUNPROC, "invalid_value", "kind", "kind must be credentials or workload_identity");
    if (json_object_get(b, "identity") || json_object_get(b, "audience"))
        return cp_req_fail(req, CP_EINVAL, "unknown_field", json_object_get(b, "identity") ? "identity" : "audience",
                           "identity and audience are for kind workload_identity");
    json_t *cred = json_object_get(b, "credentials");
    char *hint;
    if ((r = check_credentials(req, cloud, cred, &hint)) != CP_OK) return r;

    cp_account acc = {.project_id = p.id,
                      .cloud = (char *)cloud,
                      .name = (char *)cp_json_str(b, "name", ""),
                      .hint = hint,
                      .created_at = cp_now_ms()};
    char id[CP_ID_LEN + 1];
    cp_id_new(id);
    acc.id = id;
    bool sandbox = !strcmp(cloud, "sandbox");
    char key_hash[CP_SANDBOX_HASH_LEN + 1];
    json_t *creds = cred ? json_deep_copy(cred) : json_object();
    if (sandbox) sandbox_key(req, creds, key_hash, &acc.hint);
    char *plain = json_dumps(creds, JSON_COMPACT | JSON_SORT_KEYS);
    wipe_strings(creds);
    json_decref(creds);
    cp_vault_sealed sealed;
    r = cp_vault_seal(app->vault, req->arena, plain, strlen(plain), id, p.id, &sealed, &req->err);
    cp_vault_wipe(plain, strlen(plain));
    if (r != CP_OK) return r;
    acc.key_id = sealed.key_id;
    acc.nonce = sealed.nonce_b64;
    acc.ciphertext = sealed.ciphertext_b64;
    /* A sandbox key is usable the moment its account exists, and not before. */
    r = sandbox ? cp_store_sandbox_account_create(app->store, &acc, key_hash, &req->err)
                : cp_store_account_create(app->store, &acc, &req->err);
    if (r != CP_OK) return r;
    cp_api_audit(req, p.id, "account.add", id, json_pack("{s:s, s:s}", "name", acc.name, "cloud", cloud));
    return cp_reply(req, 201, cp_api_account_json(&acc));
}

cp_result cp_api_accounts_list(cp_req *req)
{
    cp_project p;
    cp_result r = cp_api_project(req, cp_req_param(req, "id"), CP_ROLE_VIEWER, &p);
    if (r != CP_OK) return r;
    cp_account *items;
    size_t n;
    if ((r = cp_store_accounts_list(CP_APP(req)->store, req->arena, p.id, &items, &n, &req->err)) != CP_OK) return r;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        if (!items[i].deleted) json_array_append_new(arr, cp_api_account_json(&items[i]));
    return cp_reply(req, 200, cp_api_page_json(arr, NULL));
}

cp_result cp_api_accounts_delete(cp_req *req)
{
    const char *id;
    cp_result r = cp_api_id(req, "id", &id);
    if (r != CP_OK) return r;
    cp_account acc;
    r = cp_store_account_get(CP_APP(req)->store, req->arena, id, &acc, &req->err);
    if (r != CP_OK) return r;
    if (acc.deleted) return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "account not found");
    cp_project p;
    if ((r = cp_api_project(req, acc.project_id, CP_ROLE_ADMIN, &p)) != CP_OK) return r;
    if ((r = cp_store_account_delete(CP_APP(req)->store, id, &req->err)) != CP_OK) return r;
    cp_api_audit(req, p.id, "account.remove", id, json_pack("{s:s, s:s}", "name", acc.name, "cloud", acc.cloud));
    return cp_reply(req, 204, NULL);
}
