/* fuzz_json.c: a request body through cp_json_parse (strict: duplicate keys
 * refused) and cp_json_check against field tables shaped like the API's. A
 * body that passes has only known fields, every required one, and each
 * within its type and bounds; a failure always says why. */
#include <math.h>

#include "core/json.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cp_json_init();
    return 0;
}

static const cp_json_field resource_fields[] = {
    {"name", CP_JF_STRING, true, false, 1, 63, 0, 0},       {"project_id", CP_JF_STRING, true, false, 1, 32, 0, 0},
    {"module", CP_JF_STRING, true, false, 1, 64, 0, 0},     {"inputs", CP_JF_OBJECT, false, true, 0, 0, 0, 0},
    {"auto_approve", CP_JF_BOOL, false, false, 0, 0, 0, 0},
};
static const cp_json_field mixed_fields[] = {
    {"count", CP_JF_INT, true, false, 0, 0, 1, 100}, {"ratio", CP_JF_NUMBER, false, true, 0, 0, -1.5, 1.5},
    {"tags", CP_JF_ARRAY, false, false, 1, 4, 0, 0}, {"note", CP_JF_STRING, false, true, 0, 8, 0, 0},
    {"any", CP_JF_NUMBER, false, false, 0, 0, 0, 0},
};
static const cp_json_field no_fields[1] = {{"", CP_JF_STRING, false, false, 0, 0, 0, 0}};

/* Characters, as OpenAPI's minLength/maxLength count them: stepped by each
 * lead byte's sequence length (jansson has already refused invalid UTF-8). */
static size_t chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        unsigned char c = (unsigned char)s[i];
        i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }
    return n;
}

static void check_ok(json_t *j, const cp_json_field *f, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(f[i].name, key) != 0) i++;
        FUZZ_CHECK(i < n);
    }
    for (size_t i = 0; i < n; i++) {
        v = json_object_get(j, f[i].name);
        if (!v || (json_is_null(v) && f[i].nullable)) {
            FUZZ_CHECK(!f[i].required);
            continue;
        }
        if (f[i].type == CP_JF_STRING) {
            FUZZ_CHECK(json_is_string(v));
            size_t len = chars(json_string_value(v), json_string_length(v));
            FUZZ_CHECK(len >= f[i].min_len);
            FUZZ_CHECK(!f[i].max_len || len <= f[i].max_len);
        } else if (f[i].type == CP_JF_INT || f[i].type == CP_JF_NUMBER) {
            FUZZ_CHECK(f[i].type == CP_JF_INT ? json_is_integer(v) : json_is_number(v));
            double d = json_number_value(v);
            if (f[i].min < f[i].max) FUZZ_CHECK(isfinite(d) && d >= f[i].min && d <= f[i].max);
        } else if (f[i].type == CP_JF_ARRAY) {
            FUZZ_CHECK(json_is_array(v));
            FUZZ_CHECK(json_array_size(v) >= f[i].min_len);
            FUZZ_CHECK(!f[i].max_len || json_array_size(v) <= f[i].max_len);
        }
    }
}

static void check(json_t *j, const cp_json_field *f, size_t n)
{
    cp_error err;
    cp_error_clear(&err);
    cp_result r = cp_json_check(j, f, n, &err);
    if (r == CP_OK) {
        check_ok(j, f, n);
    } else {
        FUZZ_CHECK(r == CP_EINVAL || r == CP_EUNPROC);
        FUZZ_CHECK(err.result == r && err.code[0] && err.message[0]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_error err;
    cp_error_clear(&err);
    json_t *j = cp_json_parse((const char *)data, size, &err);
    if (!j) {
        FUZZ_CHECK(err.result == CP_EINVAL && strcmp(err.code, "malformed_json") == 0);
        return 0;
    }
    /* Strictness only refuses: what it accepts, a lax parse reads the same. */
    json_t *lax = json_loadb((const char *)data, size, 0, NULL);
    FUZZ_CHECK(lax && json_equal(j, lax));
    json_decref(lax);
    check(j, resource_fields, CP_ARRAY_LEN(resource_fields));
    check(j, mixed_fields, CP_ARRAY_LEN(mixed_fields));
    check(j, no_fields, 0);
    json_decref(j);
    return 0;
}
