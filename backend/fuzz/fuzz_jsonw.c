/* fuzz_jsonw.c: the JSON writer (core/jsonw.c) against jansson on any bytes.
 *   - as a string: byte-equal to jansson's dump when jansson accepts it
 *     (valid UTF-8); otherwise still one valid JSON string;
 *   - as a stored column: byte-equal to jansson's compact dump of its parse
 *     ({} when jansson refuses it), whether copied as canonical or not;
 *   - the first 8 bytes as a double: byte-equal to jansson's real. */
#include <jansson.h>
#include <math.h>

#include "core/json.h"
#include "core/jsonw.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cp_json_init();
    return 0;
}

static char *written(void (*fn)(cp_jsonw *, const void *, size_t), const void *arg, size_t len)
{
    cp_buf b;
    cp_buf_init(&b, 1 << 24);
    cp_jsonw w;
    cp_jsonw_init(&w, &b);
    fn(&w, arg, len);
    FUZZ_CHECK(cp_jsonw_result(&w) == CP_OK);
    return cp_buf_steal(&b, NULL);
}

static void as_string(cp_jsonw *w, const void *arg, size_t len)
{
    cp_jsonw_strn(w, arg, len);
}

static void as_stored(cp_jsonw *w, const void *arg, size_t len)
{
    (void)len;
    cp_jsonw_stored(w, arg);
}

static void as_real(cp_jsonw *w, const void *arg, size_t len)
{
    (void)len;
    cp_jsonw_real(w, *(const double *)arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    size_t slen = strlen(s);

    char *mine = written(as_string, s, slen);
    json_t *j = json_stringn(s, slen);
    if (j) {
        char *ref = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        FUZZ_CHECK(ref && strcmp(mine, ref) == 0);
        free(ref);
        json_decref(j);
    } else {
        json_t *back = json_loads(mine, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(json_is_string(back));
        json_decref(back);
    }
    free(mine);

    mine = written(as_stored, s, slen);
    j = json_loads(s, 0, NULL);
    if (!j) j = json_object();
    char *ref = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    FUZZ_CHECK(ref && strcmp(mine, ref) == 0);
    if (cp_jsonw_canonical(s, slen)) FUZZ_CHECK(strcmp(s, ref) == 0);
    free(ref);
    free(mine);

    if (size >= sizeof(double)) {
        double v;
        memcpy(&v, data, sizeof v);
        mine = written(as_real, &v, 0);
        j = json_real(v);
        ref = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        json_decref(j);
        FUZZ_CHECK(strcmp(mine, ref ? ref : "null") == 0);
        FUZZ_CHECK(isfinite(v) == (ref != NULL));
        free(ref);
        free(mine);
    }
    free(s);
    return 0;
}
