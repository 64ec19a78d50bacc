/* gcp_key.c: see gcp_key.h. */
#include "engine/gcp_key.h"

#include <string.h>

/* The fields a service-account key file has. For those that name an
 * endpoint, the value Google issues (exact, or a prefix followed by the
 * key's own path). Any other field is dropped. */
static const struct {
    const char *name;
    const char *equals; /* NULL: any string */
    const char *prefix; /* NULL: no prefix rule */
} fields[] = {
    {"type", NULL, NULL}, /* checked with the other required fields below */
    {"project_id", NULL, NULL},
    {"private_key_id", NULL, NULL},
    {"private_key", NULL, NULL},
    {"client_email", NULL, NULL},
    {"client_id", NULL, NULL},
    {"auth_uri", "https://accounts.google.com/o/oauth2/auth", NULL},
    {"token_uri", "https://oauth2.googleapis.com/token", NULL},
    {"auth_provider_x509_cert_url", "https://www.googleapis.com/oauth2/v1/certs", NULL},
    {"client_x509_cert_url", NULL, "https://www.googleapis.com/robot/v1/metadata/x509/"},
    {"universe_domain", "googleapis.com", NULL},
};

static json_t *fail(json_t *k, json_t *out, cp_error *err, const char *prefix, const char *name, const char *msg)
{
    json_decref(k);
    json_decref(out);
    if (name) {
        char field[128];
        snprintf(field, sizeof field, "%.60s.%.60s", prefix, name);
        cp_error_set(err, CP_EUNPROC, "invalid_credentials", field, "%s", msg);
    } else {
        cp_error_set(err, CP_EUNPROC, "invalid_credentials", prefix, "%s", msg);
    }
    return NULL;
}

json_t *cp_gcp_key_rebuild(const char *text, const char *field_prefix, cp_error *err)
{
    json_t *k = json_loads(text ? text : "", JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(k)) return fail(k, NULL, err, field_prefix, NULL, "service_account_json is not valid JSON");
    json_t *out = json_object();
    for (size_t i = 0; i < CP_ARRAY_LEN(fields); i++) {
        json_t *v = json_object_get(k, fields[i].name);
        if (!v || json_is_null(v)) continue;
        const char *s = json_string_value(v);
        if (!s) return fail(k, out, err, field_prefix, fields[i].name, "every field of the key must be a string");
        if (fields[i].equals && strcmp(s, fields[i].equals) != 0)
            return fail(k, out, err, field_prefix, fields[i].name, "this field must name Google's own endpoint");
        if (fields[i].prefix && (strncmp(s, fields[i].prefix, strlen(fields[i].prefix)) != 0 ||
                                 strpbrk(s + strlen(fields[i].prefix), "/?#@\\")))
            return fail(k, out, err, field_prefix, fields[i].name, "this field must name Google's own endpoint");
        json_object_set_new(out, fields[i].name, json_string(s));
    }
    const char *type = json_string_value(json_object_get(out, "type"));
    const char *pk = json_string_value(json_object_get(out, "private_key"));
    if (!type || strcmp(type, "service_account") != 0 || !pk || !strstr(pk, "PRIVATE KEY") ||
        !json_object_get(out, "client_email"))
        return fail(k, out, err, field_prefix, NULL,
                    "service_account_json must be a service-account key (type service_account, with private_key and"
                    " client_email)");
    json_decref(k);
    return out;
}
