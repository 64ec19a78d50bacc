/* identity.c: a workload-identity account's env and files (identity.h). */
#include "engine/identity.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "engine/catalog.h"

#define FILL_MAX 4096

/* s with each {name} replaced by vars' string value of name; unknown names
 * stay as written. Caller frees. */
static char *fill(const char *s, json_t *vars)
{
    cp_buf b;
    cp_buf_init(&b, FILL_MAX);
    while (*s) {
        const char *open = strchr(s, '{'), *close = open ? strchr(open, '}') : NULL;
        if (!open || !close) {
            CP_IGNORE(cp_buf_adds(&b, s));
            break;
        }
        CP_IGNORE(cp_buf_add(&b, s, (size_t)(open - s)));
        char name[64];
        size_t n = (size_t)(close - open - 1);
        snprintf(name, sizeof name, "%.*s", (int)(n < 63 ? n : 63), open + 1);
        const char *v = json_string_value(json_object_get(vars, name));
        if (v)
            CP_IGNORE(cp_buf_adds(&b, v));
        else
            CP_IGNORE(cp_buf_add(&b, open, n + 2));
        s = close + 1;
    }
    char *out = strdup(cp_buf_cstr(&b));
    cp_buf_free(&b);
    return out;
}

/* Fills every string of a template tree in place. */
static void fill_tree(json_t *t, json_t *vars)
{
    const char *k;
    json_t *v;
    json_object_foreach(t, k, v)
    {
        if (json_is_object(v)) {
            fill_tree(v, vars);
        } else if (json_is_string(v)) {
            char *f = fill(json_string_value(v), vars);
            json_object_set_new(t, k, json_string(f));
            free(f);
        }
    }
}

char *cp_identity_audience(const char *cloud, json_t *fields, const char *account_audience)
{
    if (account_audience && account_audience[0]) return strdup(account_audience);
    const char *def = cp_catalog_identity_audience(cloud);
    return def ? fill(def, fields) : NULL;
}

cp_result cp_identity_env(const char *cloud, json_t *fields, const char *audience, const char *token_path,
                          const char *cred_path, cp_strv *env, char **cred_text, cp_error *err)
{
    *cred_text = NULL;
    json_t *wi = cp_catalog_identity(cloud);
    if (!wi) return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "%s has no workload identity", cloud);
    size_t n;
    const cp_cred_field *fs = cp_catalog_identity_fields(cloud, &n);
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(fields, fs[i].name));
        if (v && fs[i].env) cp_strv_addf(env, "%s=%s", fs[i].env, v);
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(wi, "env"), k, v) cp_strv_addf(env, "%s=%s", k, json_string_value(v));
    const char *tf = json_string_value(json_object_get(wi, "token_file_env"));
    if (tf) cp_strv_addf(env, "%s=%s", tf, token_path);
    json_t *cf = json_object_get(wi, "credentials_file");
    if (cf) {
        json_t *vars = json_deep_copy(fields);
        json_object_set_new(vars, "audience", json_string(audience));
        json_object_set_new(vars, "token_file", json_string(token_path));
        json_t *doc = json_deep_copy(json_object_get(cf, "template"));
        fill_tree(doc, vars);
        *cred_text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(doc);
        json_decref(vars);
        cp_strv_addf(env, "%s=%s", json_string_value(json_object_get(cf, "env")), cred_path);
    }
    return CP_OK;
}

void cp_identity_extra(const char *cloud, json_t *fields, json_t *extra)
{
    size_t n;
    const cp_cred_field *fs = cp_catalog_identity_fields(cloud, &n);
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(fields, fs[i].name));
        if (v && fs[i].tfvar) json_object_set_new(extra, fs[i].tfvar, json_string(v));
    }
}
