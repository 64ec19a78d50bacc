#include "core/json.h"

#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

/* jansson's hook type is malloc's; cp_xmalloc never returns NULL. */
static void *json_xmalloc(size_t n)
{
    return cp_xmalloc(n);
}

/* Every block jansson frees is zeroed first: parsed request bodies carry
 * passwords and cloud credentials, and jansson copies each string through
 * its lexer's buffers, so wiping the values alone would leave copies behind. */
static void json_wipe_free(void *p)
{
    if (!p) return;
    explicit_bzero(p, malloc_usable_size(p));
    free(p);
}

void cp_json_init(void)
{
    json_set_alloc_funcs(json_xmalloc, json_wipe_free);
}

json_t *cp_json_parse(const char *data, size_t len, cp_error *err)
{
    json_error_t je;
    if (len == 0) {
        cp_error_set(err, CP_EINVAL, "malformed_json", NULL, "request body is empty; a JSON object is required");
        return NULL;
    }
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        cp_error_set(err, CP_EINVAL, "malformed_json", NULL, "malformed JSON at line %d column %d: %s", je.line,
                     je.column, je.text);
    return j;
}

static const char *type_name(cp_jf_type t)
{
    switch (t) {
    case CP_JF_STRING:
        return "a string";
    case CP_JF_INT:
        return "an integer";
    case CP_JF_NUMBER:
        return "a number";
    case CP_JF_BOOL:
        return "a boolean";
    case CP_JF_OBJECT:
        return "an object";
    case CP_JF_ARRAY:
        return "an array";
    }
    return "?";
}

static bool type_ok(json_t *v, cp_jf_type t)
{
    switch (t) {
    case CP_JF_STRING:
        return json_is_string(v);
    case CP_JF_INT:
        return json_is_integer(v);
    case CP_JF_NUMBER:
        return json_is_number(v);
    case CP_JF_BOOL:
        return json_is_boolean(v);
    case CP_JF_OBJECT:
        return json_is_object(v);
    case CP_JF_ARRAY:
        return json_is_array(v);
    }
    return false;
}

cp_result cp_json_check(json_t *obj, const cp_json_field *fields, size_t n, cp_error *err)
{
    if (!json_is_object(obj))
        return cp_error_set(err, CP_EINVAL, "bad_request", NULL, "request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) known = strcmp(fields[i].name, key) == 0;
        if (!known) return cp_error_set(err, CP_EINVAL, "unknown_field", key, "unknown field '%.64s'", key);
    }
    for (size_t i = 0; i < n; i++) {
        const cp_json_field *f = &fields[i];
        v = json_object_get(obj, f->name);
        if (!v || (json_is_null(v) && f->nullable)) {
            if (f->required) return cp_error_set(err, CP_EUNPROC, "missing_field", f->name, "%s is required", f->name);
            continue;
        }
        if (!type_ok(v, f->type))
            return cp_error_set(err, CP_EUNPROC, "invalid_type", f->name, "%s must be %s", f->name, type_name(f->type));
        if (f->type == CP_JF_STRING) {
            size_t len = cp_utf8_len(json_string_value(v), json_string_length(v));
            if (len < f->min_len)
                return cp_error_set(err, CP_EUNPROC, "too_short", f->name, "%s must be at least %zu characters",
                                    f->name, f->min_len);
            if (f->max_len && len > f->max_len)
                return cp_error_set(err, CP_EUNPROC, "too_long", f->name, "%s must be at most %zu characters", f->name,
                                    f->max_len);
        } else if (f->type == CP_JF_ARRAY) {
            size_t len = json_array_size(v);
            if (len < f->min_len || (f->max_len && len > f->max_len))
                return cp_error_set(err, CP_EUNPROC, "invalid_length", f->name, "%s must have %zu to %zu items",
                                    f->name, f->min_len, f->max_len);
        } else if ((f->type == CP_JF_INT || f->type == CP_JF_NUMBER) && f->min < f->max) {
            double d = json_number_value(v);
            if (!isfinite(d) || d < f->min || d > f->max)
                return cp_error_set(err, CP_EUNPROC, "out_of_range", f->name, "%s must be between %g and %g", f->name,
                                    f->min, f->max);
        }
    }
    return CP_OK;
}

const char *cp_json_str(json_t *obj, const char *key, const char *def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

double cp_json_num(json_t *obj, const char *key, double def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

bool cp_json_bool(json_t *obj, const char *key, bool def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

size_t cp_utf8_len(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

json_t *cp_json_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}
