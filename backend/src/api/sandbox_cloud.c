/* sandbox_cloud.c: the sandbox cloud's API (/sandbox/v1), which the
 * cloudplane/sandbox OpenTofu provider calls: instances and buckets, owned by
 * the tenant of the API key, kept in the store. It checks types and bounds so
 * that nothing it stores is garbage, but leaves the rules of names, regions
 * and sizes to the catalog, which checked the order before tofu ran. The key
 * is never logged, stored or echoed: only its hash goes further than the
 * guard. */
#include "api/sandbox_cloud.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/common.h"
#include "core/ids.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "store/store_sandbox.h"

#define KEY_PREFIX "sbx_"
#define ID_HEX 16 /* hex digits after "i-" / "b-" */
#define MAX_CIDRS 64
#define CIDR_MAX 64
#define MAX_TAGS 50
#define TAG_KEY_MAX 128
#define TAG_VALUE_MAX 256
#define SSH_KEY_MAX 8192

/* ---- keys ---- */

static bool lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return s[n] == '\0';
}

bool cp_sandbox_key_valid(const char *key)
{
    return key && strncmp(key, KEY_PREFIX, 4) == 0 && strnlen(key, CP_SANDBOX_KEY_LEN + 1) == CP_SANDBOX_KEY_LEN &&
           lower_hex(key + 4, CP_SANDBOX_KEY_LEN - 4);
}

void cp_sandbox_key_new(char out[CP_SANDBOX_KEY_LEN + 1])
{
    memcpy(out, KEY_PREFIX, 4);
    cp_rand_hex(out + 4, (CP_SANDBOX_KEY_LEN - 4) / 2);
}

void cp_sandbox_key_hash(const char *key, char out[CP_SANDBOX_HASH_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)key, strlen(key));
    sodium_bin2hex(out, CP_SANDBOX_HASH_LEN + 1, h, sizeof h);
}

cp_result cp_api_sandbox_authenticate(cp_req *req)
{
    cp_app *app = CP_APP(req);
    if (!app->cfg->sandbox_cloud)
        return cp_req_fail(req, CP_ENOTFOUND, "cloud_disabled", NULL,
                           "the simulated sandbox cloud is turned off on this server");
    const char *h = cp_req_header(req, "Authorization");
    const char *key = NULL;
    if (h && strncasecmp(h, "Bearer ", 7) == 0)
        for (key = h + 7; *key == ' ';) key++;
    if (!key || !*key)
        return cp_req_fail(req, CP_EAUTH, "unauthorized", NULL, "missing API key (Authorization: Bearer sbx_...)");
    /* One message for a malformed and an unknown key, and neither names it. */
    if (!cp_sandbox_key_valid(key)) return cp_req_fail(req, CP_EAUTH, "invalid_api_key", NULL, "unknown API key");
    char hash[CP_SANDBOX_HASH_LEN + 1];
    cp_sandbox_key_hash(key, hash);
    cp_result r = cp_store_sandbox_key_known(app->store, hash, &req->err);
    if (r == CP_ENOTFOUND) return cp_req_fail(req, CP_EAUTH, "invalid_api_key", NULL, "unknown API key");
    if (r != CP_OK) return r;
    int wait = 1;
    if (app->sandbox_throttle && !cp_throttle_take(app->sandbox_throttle, hash, cp_mono_ms(), &wait)) {
        req->extra_header[0] = "Retry-After";
        req->extra_header[1] = cp_arena_printf(req->arena, "%d", wait);
        return cp_req_fail(req, CP_ERATE, "throttled", NULL, "request rate of this API key exceeded; retry in %d s",
                           wait);
    }
    req->tenant = cp_arena_strdup(req->arena, hash);
    return CP_OK;
}

/* ---- input checks beyond types and lengths ---- */

/* Printable text only: no control characters in anything we store. */
static bool clean_text(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

static cp_result check_text_fields(cp_req *req, json_t *body)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (json_is_string(v) && !clean_text(json_string_value(v)))
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", k, "%s must not contain control characters", k);
    }
    return CP_OK;
}

static cp_result check_cidrs(cp_req *req, json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            cp_utf8_len(json_string_value(v), json_string_length(v)) > CIDR_MAX || !clean_text(json_string_value(v)))
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "allowed_cidrs",
                               "allowed_cidrs[%zu] must be a network of 1 to %d characters", i, CIDR_MAX);
    }
    return CP_OK;
}

static cp_result check_tags(cp_req *req, json_t *obj)
{
    if (json_object_size(obj) > MAX_TAGS)
        return cp_req_fail(req, CP_EUNPROC, "invalid_length", "tags", "tags take at most %d entries", MAX_TAGS);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t kl = cp_utf8_len(k, strlen(k));
        if (kl == 0 || kl > TAG_KEY_MAX || !clean_text(k))
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "tags",
                               "tag keys must be 1 to %d printable characters", TAG_KEY_MAX);
        if (!json_is_string(v) || cp_utf8_len(json_string_value(v), json_string_length(v)) > TAG_VALUE_MAX ||
            !clean_text(json_string_value(v)))
            return cp_req_fail(req, CP_EUNPROC, "invalid_value", "tags",
                               "tag values must be strings of at most %d printable characters", TAG_VALUE_MAX);
    }
    return CP_OK;
}

/* Text, CIDR list and tags of a body that passed its field table. */
static cp_result check_body(cp_req *req, json_t *body)
{
    cp_result r = check_text_fields(req, body);
    json_t *v;
    if (r == CP_OK && json_is_array(v = json_object_get(body, "allowed_cidrs"))) r = check_cidrs(req, v);
    if (r == CP_OK && json_is_object(v = json_object_get(body, "tags"))) r = check_tags(req, v);
    return r;
}

/* Name and region fix an object's identity: a change means a new one. */
static cp_result refuse_fixed(cp_req *req, json_t *body)
{
    static const char *const fixed[] = {"name", "region"};
    for (size_t i = 0; i < CP_ARRAY_LEN(fixed); i++)
        if (json_object_get(body, fixed[i]))
            return cp_req_fail(req, CP_EUNPROC, "not_patchable", fixed[i],
                               "%s cannot be changed; create a new object instead", fixed[i]);
    return CP_OK;
}

/* The value as stored JSON text; NULL when absent or null. Arena-owned. */
static const char *json_text(cp_req *req, json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v)) return NULL;
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    char *out = cp_arena_strdup(req->arena, s);
    free(s);
    return out;
}

/* A path id of the given kind ('i' or 'b') that we could have issued; else 404. */
static cp_result path_id(cp_req *req, char kind, const char *what, const char **out)
{
    const char *id = cp_req_param(req, "id");
    *out = id;
    if (!id || id[0] != kind || id[1] != '-' || !lower_hex(id + 2, ID_HEX))
        return cp_req_fail(req, CP_ENOTFOUND, "not_found", NULL, "%s not found", what);
    return CP_OK;
}

static char *new_id(cp_req *req, char kind)
{
    char *id = cp_arena_alloc(req->arena, ID_HEX + 3);
    id[0] = kind;
    id[1] = '-';
    cp_rand_hex(id + 2, ID_HEX / 2);
    return id;
}

/* ---- instances ---- */

static unsigned hex_byte(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 2; i++) v = v * 16 + (unsigned)(s[i] <= '9' ? s[i] - '0' : s[i] - 'a' + 10);
    return v;
}

/* Addresses derived from the id, so they are the same on every read. */
static void instance_ips(const char *id, char *pub, size_t pcap, char *priv, size_t qcap)
{
    const char *h = id + 2;
    snprintf(pub, pcap, "203.0.113.%u", 1 + (hex_byte(h) ^ hex_byte(h + 8)) % 254);
    snprintf(priv, qcap, "10.%u.%u.%u", hex_byte(h + 2), hex_byte(h + 4), 1 + hex_byte(h + 6) % 254);
}

static json_t *instance_json(const cp_sbx_instance *x)
{
    char pub[20], priv[20];
    instance_ips(x->id, pub, sizeof pub, priv, sizeof priv);
    json_t *cidrs = json_loads(x->allowed_cidrs, 0, NULL), *tags = json_loads(x->tags, 0, NULL);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o, s:o}", "id", x->id, "name", x->name,
                  "region", x->region, "size", x->size, "ssh_public_key", x->ssh_public_key, "allowed_cidrs",
                  json_is_array(cidrs) ? cidrs : json_array(), "tags", json_is_object(tags) ? tags : json_object(),
                  "public_ip", pub, "private_ip", priv, "status", x->status, "created_at", cp_api_time(x->created_at),
                  "updated_at", cp_api_time(x->updated_at));
    json_object_set_new(j, "power_state", json_string(x->power_state ? x->power_state : "running"));
    return j;
}

/* power_state, when given, is running or stopped. */
static cp_result check_power_state(cp_req *req, json_t *b)
{
    const char *v = json_string_value(json_object_get(b, "power_state"));
    if (v && strcmp(v, "running") != 0 && strcmp(v, "stopped") != 0)
        return cp_error_set(&req->err, CP_EUNPROC, "invalid_power_state", "power_state",
                            "power_state must be running or stopped");
    return CP_OK;
}

static cp_result reply_instance(cp_req *req, int status, const char *id)
{
    cp_sbx_instance x;
    cp_result r = cp_store_sandbox_instance_get(CP_APP(req)->store, req->arena, req->tenant, id, &x, &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, status, instance_json(&x));
}

cp_result cp_api_sandbox_instance_create(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "name", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 128},
        {.name = "region", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 64},
        {.name = "size", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 64},
        {.name = "ssh_public_key", .type = CP_JF_STRING, .nullable = true, .max_len = SSH_KEY_MAX},
        {.name = "allowed_cidrs", .type = CP_JF_ARRAY, .nullable = true, .max_len = MAX_CIDRS},
        {.name = "tags", .type = CP_JF_OBJECT, .nullable = true},
        {.name = "power_state", .type = CP_JF_STRING, .nullable = true},
    };
    json_t *b;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r == CP_OK) r = check_body(req, b);
    if (r == CP_OK) r = check_power_state(req, b);
    if (r != CP_OK) return r;
    const char *cidrs = json_text(req, b, "allowed_cidrs"), *tags = json_text(req, b, "tags");
    int64_t now = cp_now_ms();
    cp_sbx_instance x = {.id = new_id(req, 'i'),
                         .tenant = (char *)req->tenant,
                         .name = (char *)cp_json_str(b, "name", ""),
                         .region = (char *)cp_json_str(b, "region", ""),
                         .size = (char *)cp_json_str(b, "size", ""),
                         .ssh_public_key = (char *)cp_json_str(b, "ssh_public_key", ""),
                         .allowed_cidrs = (char *)(cidrs ? cidrs : "[]"),
                         .tags = (char *)(tags ? tags : "{}"),
                         .status = "running",
                         .created_at = now,
                         .updated_at = now,
                         .power_state = (char *)cp_json_str(b, "power_state", "running")};
    if ((r = cp_store_sandbox_instance_create(CP_APP(req)->store, &x, &req->err)) != CP_OK) return r;
    return cp_reply(req, 201, instance_json(&x));
}

cp_result cp_api_sandbox_instance_get(cp_req *req)
{
    const char *id;
    cp_result r = path_id(req, 'i', "instance", &id);
    if (r != CP_OK) return r;
    return reply_instance(req, 200, id);
}

cp_result cp_api_sandbox_instance_update(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "size", .type = CP_JF_STRING, .nullable = true, .min_len = 1, .max_len = 64},
        {.name = "ssh_public_key", .type = CP_JF_STRING, .nullable = true, .max_len = SSH_KEY_MAX},
        {.name = "allowed_cidrs", .type = CP_JF_ARRAY, .nullable = true, .max_len = MAX_CIDRS},
        {.name = "tags", .type = CP_JF_OBJECT, .nullable = true},
        {.name = "power_state", .type = CP_JF_STRING, .nullable = true},
        /* Known, so that a change is refused by name rather than as unknown. */
        {.name = "name", .type = CP_JF_STRING, .nullable = true},
        {.name = "region", .type = CP_JF_STRING, .nullable = true},
    };
    const char *id;
    json_t *b;
    cp_result r = path_id(req, 'i', "instance", &id);
    if (r == CP_OK) r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r == CP_OK) r = refuse_fixed(req, b);
    if (r == CP_OK) r = check_body(req, b);
    if (r == CP_OK) r = check_power_state(req, b);
    if (r != CP_OK) return r;
    json_t *size = json_object_get(b, "size"), *ssh = json_object_get(b, "ssh_public_key");
    cp_sbx_instance_patch p = {.size = json_string_value(size),
                               .ssh_public_key = json_string_value(ssh),
                               .allowed_cidrs = json_text(req, b, "allowed_cidrs"),
                               .tags = json_text(req, b, "tags"),
                               .power_state = json_string_value(json_object_get(b, "power_state"))};
    r = cp_store_sandbox_instance_update(CP_APP(req)->store, req->tenant, id, &p, cp_now_ms(), &req->err);
    if (r != CP_OK) return r;
    return reply_instance(req, 200, id);
}

cp_result cp_api_sandbox_instance_delete(cp_req *req)
{
    const char *id;
    cp_result r = path_id(req, 'i', "instance", &id);
    if (r == CP_OK) r = cp_store_sandbox_instance_delete(CP_APP(req)->store, req->tenant, id, cp_now_ms(), &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 204, NULL);
}

/* ---- buckets ---- */

static json_t *bucket_json(const cp_sbx_bucket *x)
{
    json_t *tags = json_loads(x->tags, 0, NULL);
    json_t *j =
        json_pack("{s:s, s:s, s:s, s:o, s:b, s:b, s:o, s:o}", "id", x->id, "name", x->name, "region", x->region, "tags",
                  json_is_object(tags) ? tags : json_object(), "versioning", x->versioning, "public", x->public_read,
                  "created_at", cp_api_time(x->created_at), "updated_at", cp_api_time(x->updated_at));
    char *url = cp_xasprintf("sandbox://%s", x->name);
    json_object_set_new(j, "url", json_string(url));
    free(url);
    return j;
}

static cp_result reply_bucket(cp_req *req, int status, const char *id)
{
    cp_sbx_bucket x;
    cp_result r = cp_store_sandbox_bucket_get(CP_APP(req)->store, req->arena, req->tenant, id, &x, &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, status, bucket_json(&x));
}

cp_result cp_api_sandbox_bucket_create(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "name", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 63},
        {.name = "region", .type = CP_JF_STRING, .required = true, .min_len = 1, .max_len = 64},
        {.name = "tags", .type = CP_JF_OBJECT, .nullable = true},
        {.name = "versioning", .type = CP_JF_BOOL, .nullable = true},
        {.name = "public", .type = CP_JF_BOOL, .nullable = true},
    };
    json_t *b;
    cp_result r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r == CP_OK) r = check_body(req, b);
    if (r != CP_OK) return r;
    const char *tags = json_text(req, b, "tags");
    int64_t now = cp_now_ms();
    cp_sbx_bucket x = {.id = new_id(req, 'b'),
                       .tenant = (char *)req->tenant,
                       .name = (char *)cp_json_str(b, "name", ""),
                       .region = (char *)cp_json_str(b, "region", ""),
                       .tags = (char *)(tags ? tags : "{}"),
                       .versioning = cp_json_bool(b, "versioning", false),
                       .public_read = cp_json_bool(b, "public", false),
                       .created_at = now,
                       .updated_at = now};
    if ((r = cp_store_sandbox_bucket_create(CP_APP(req)->store, &x, &req->err)) != CP_OK) return r;
    return cp_reply(req, 201, bucket_json(&x));
}

cp_result cp_api_sandbox_bucket_get(cp_req *req)
{
    const char *id;
    cp_result r = path_id(req, 'b', "bucket", &id);
    if (r != CP_OK) return r;
    return reply_bucket(req, 200, id);
}

cp_result cp_api_sandbox_bucket_update(cp_req *req)
{
    static const cp_json_field fields[] = {
        {.name = "tags", .type = CP_JF_OBJECT, .nullable = true},
        {.name = "versioning", .type = CP_JF_BOOL, .nullable = true},
        {.name = "public", .type = CP_JF_BOOL, .nullable = true},
        /* Known, so that a change is refused by name rather than as unknown. */
        {.name = "name", .type = CP_JF_STRING, .nullable = true},
        {.name = "region", .type = CP_JF_STRING, .nullable = true},
    };
    const char *id;
    json_t *b;
    cp_result r = path_id(req, 'b', "bucket", &id);
    if (r == CP_OK) r = cp_req_body(req, fields, CP_ARRAY_LEN(fields), &b);
    if (r == CP_OK) r = refuse_fixed(req, b);
    if (r == CP_OK) r = check_body(req, b);
    if (r != CP_OK) return r;
    json_t *ver = json_object_get(b, "versioning"), *pub = json_object_get(b, "public");
    bool versioning = json_is_true(ver), public_read = json_is_true(pub);
    cp_sbx_bucket_patch p = {.tags = json_text(req, b, "tags"),
                             .versioning = json_is_boolean(ver) ? &versioning : NULL,
                             .public_read = json_is_boolean(pub) ? &public_read : NULL};
    r = cp_store_sandbox_bucket_update(CP_APP(req)->store, req->tenant, id, &p, cp_now_ms(), &req->err);
    if (r != CP_OK) return r;
    return reply_bucket(req, 200, id);
}

cp_result cp_api_sandbox_bucket_delete(cp_req *req)
{
    const char *id;
    cp_result r = path_id(req, 'b', "bucket", &id);
    if (r == CP_OK) r = cp_store_sandbox_bucket_delete(CP_APP(req)->store, req->tenant, id, cp_now_ms(), &req->err);
    if (r != CP_OK) return r;
    return cp_reply(req, 204, NULL);
}
