/* Unit tests for core/jsonw.c: the writer's output is byte-equal to jansson's
 * compact dump of the same values, on edge cases and on random strings,
 * reals, times and stored JSON texts. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/jsonw.h"
#include "core/timeutil.h"
#include "test.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* One value through the writer, as a malloc'd string. */
typedef void (*write_fn)(cp_jsonw *w, const void *arg);
static char *render(write_fn fn, const void *arg)
{
    cp_buf b;
    cp_buf_init(&b, 1 << 20);
    cp_jsonw w;
    cp_jsonw_init(&w, &b);
    fn(&w, arg);
    CHECK_EQ(cp_jsonw_result(&w), CP_OK);
    return cp_buf_steal(&b, NULL);
}

typedef struct {
    const char *s;
    size_t len;
} span;

static void write_str(cp_jsonw *w, const void *arg)
{
    const span *sp = arg;
    cp_jsonw_strn(w, sp->s, sp->len);
}

/* jansson's dump of the string, or NULL when jansson refuses it (bad UTF-8). */
static char *jansson_str(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (!j) return NULL;
    char *d = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    return d;
}

static int check_string(const char *s, size_t len)
{
    span sp = {s, len};
    char *mine = render(write_str, &sp), *ref = jansson_str(s, len);
    int bad = 0;
    if (ref) {
        if (strcmp(mine, ref) != 0) bad = 1;
    } else {
        /* Refused by jansson: still one valid JSON string, no longer than 3 bytes per input byte. */
        json_t *j = json_loads(mine, JSON_DECODE_ANY, NULL);
        if (!json_is_string(j)) bad = 1;
        json_decref(j);
    }
    if (bad) fprintf(stderr, "  string mismatch: mine %s ref %s\n", mine, ref ? ref : "(refused)");
    free(mine);
    free(ref);
    return bad;
}

TEST(strings_match_jansson_on_edge_cases)
{
    static const char *const cases[] = {
        "",
        "plain",
        "quote\" backslash\\ slash/",
        "\b\f\n\r\t",
        "\x01\x02\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
        "\xed\xa0\x80",     /* a surrogate: invalid */
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80", /* bad lead byte */
        "trail\xc3",        /* cut short */
        "\x80 lone continuation",
        "<script>\u2028\u2029</script>",
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) CHECK_EQ(check_string(cases[i], strlen(cases[i])), 0);
    /* Invalid bytes become U+FFFD, one each. */
    span sp = {"a\xff\xfe"
               "b",
               4};
    char *mine = render(write_str, &sp);
    CHECK_STR(mine, "\"a\xEF\xBF\xBD\xEF\xBF\xBD"
                    "b\"");
    free(mine);
}

TEST(strings_match_jansson_on_random_input)
{
    static const unsigned char pool[] = {'a',  'Z',  '0',  ' ',  '"',  '\\', '/',  '\n', '\t', 0x01, 0x1f, 0x7f,
                                         0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xff};
    int bad = 0;
    char s[64];
    for (int n = 0; n < 20000; n++) {
        size_t len = next_rand() % sizeof s;
        for (size_t i = 0; i < len; i++) {
            uint64_t r = next_rand();
            s[i] = (char)(r % 4 == 0 ? (unsigned char)(1 + (r >> 8) % 255) : pool[(r >> 8) % sizeof pool]);
        }
        bad += check_string(s, len);
        if (bad > 5) break;
    }
    CHECK_EQ(bad, 0);
}

static void write_real(cp_jsonw *w, const void *arg)
{
    cp_jsonw_real(w, *(const double *)arg);
}

static int check_real(double v)
{
    char *mine = render(write_real, &v);
    json_t *j = json_real(v);
    char *ref = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    int bad = strcmp(mine, ref ? ref : "null") != 0;
    if (bad) fprintf(stderr, "  real %.17g: mine %s ref %s\n", v, mine, ref ? ref : "null");
    free(mine);
    free(ref);
    return bad;
}

TEST(reals_match_jansson)
{
    static const double cases[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   2.3,
                                   7.2,
                                   12.5,
                                   1e21,
                                   1e22,
                                   1e-7,
                                   123456789012345678.0,
                                   5e-324,
                                   1.7976931348623157e308,
                                   100.0,
                                   0.5,
                                   3.1415926535897931,
                                   42.42};
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) CHECK_EQ(check_real(cases[i]), 0);
    int bad = 0;
    for (int n = 0; n < 20000 && bad < 5; n++) {
        uint64_t bits = next_rand();
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) continue;
        bad += check_real(v);
        bad += check_real((double)(next_rand() % 100000) / 100.0); /* prices */
    }
    CHECK_EQ(bad, 0);
    /* json_real refuses these; the writer keeps the JSON valid. */
    double inf = INFINITY;
    char *mine = render(write_real, &inf);
    CHECK_STR(mine, "null");
    free(mine);
}

static void write_int(cp_jsonw *w, const void *arg)
{
    cp_jsonw_int(w, *(const int64_t *)arg);
}

TEST(integers_match_jansson)
{
    const int64_t cases[] = {0, 1, -1, 9, 10, -10, 1234567890123, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        char *mine = render(write_int, &cases[i]);
        json_t *j = json_integer(cases[i]);
        char *ref = json_dumps(j, JSON_ENCODE_ANY);
        json_decref(j);
        CHECK_STR(mine, ref);
        free(mine);
        free(ref);
    }
}

static void write_time(cp_jsonw *w, const void *arg)
{
    cp_jsonw_time(w, *(const int64_t *)arg);
}

TEST(times_match_cp_time_iso)
{
    int bad = 0;
    const int64_t fixed[] = {1,
                             999,
                             1000,
                             86400000,
                             951782400000 /* 2000-02-29 */,
                             4102444800000 /* 2100-01-01 */,
                             253402300799999 /* 9999-12-31T23:59:59.999 */};
    for (int n = 0; n < 20000 + (int)CP_ARRAY_LEN(fixed) && bad < 5; n++) {
        int64_t ms = n < (int)CP_ARRAY_LEN(fixed) ? fixed[n] : (int64_t)(1 + next_rand() % 253402300799999ULL);
        char *mine = render(write_time, &ms);
        char iso[40], ref[48];
        cp_time_iso(ms, iso, sizeof iso);
        snprintf(ref, sizeof ref, "\"%s\"", iso);
        if (strcmp(mine, ref) != 0) {
            fprintf(stderr, "  time %lld: mine %s ref %s\n", (long long)ms, mine, ref);
            bad++;
        }
        free(mine);
    }
    CHECK_EQ(bad, 0);
    int64_t zero = 0;
    char *mine = render(write_time, &zero);
    CHECK_STR(mine, "null");
    free(mine);
}

static void write_stored(cp_jsonw *w, const void *arg)
{
    cp_jsonw_stored(w, arg);
}

/* What the old code wrote for a stored column: parse, {} if broken, dump. */
static char *jansson_stored(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (!j) j = json_object();
    char *d = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return d;
}

static int check_stored(const char *text)
{
    char *mine = render(write_stored, text), *ref = jansson_stored(text);
    int bad = strcmp(mine, ref) != 0;
    if (bad) fprintf(stderr, "  stored %s: mine %s ref %s\n", text ? text : "NULL", mine, ref);
    free(mine);
    free(ref);
    return bad;
}

TEST(stored_json_matches_jansson)
{
    static const char *const cases[] = {
        NULL,
        "",
        "{}",
        "[]",
        "{\"expected_gb\":10}",
        "{\"a\":{\"b\":[1,2,{\"c\":null}]},\"d\":true,\"e\":false}",
        "{ \"spaced\" : 1 }",
        "{\"real\":1.5}",
        "{\"exp\":1e3}",
        "{\"neg0\":-0}",
        "{\"lead\":01}",
        "{\"big\":9223372036854775807}",
        "{\"over\":9223372036854775808}",
        "{\"min\":-9223372036854775808}",
        "{\"esc\":\"\\u00e9\\/\"}",
        "{\"ctl\":\"\\u001F\\u001f\\n\"}",
        "{\"nul\":\"\\u0000\"}",
        "{\"dup\":1,\"dup\":2}",
        "{\"raw\":\"a\x01\"}",
        "{\"bad\":\"\xff\"}",
        "\"scalar\"",
        "42",
        "[1,2,]",
        "{\"a\":1}x",
        "{\"a\":1",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "{\"utf8\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
        "{\"\":\"\"}"};
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) CHECK_EQ(check_stored(cases[i]), 0);
    CHECK(cp_jsonw_canonical("{\"expected_gb\":10}", 18));
    CHECK(!cp_jsonw_canonical("{ }", 3));
}

/* Random trees dumped by jansson are canonical (when they hold no reals) and copied unchanged. */
static json_t *random_tree(int depth)
{
    uint64_t r = next_rand();
    int kind = depth > 3 ? (int)(r % 5) : (int)(r % 7);
    char s[12];
    size_t n = (r >> 8) % sizeof s;
    for (size_t i = 0; i < n; i++) s[i] = (char)(1 + (next_rand() % 126));
    switch (kind) {
    case 0:
        return json_stringn(s, n);
    case 1:
        return json_integer((json_int_t)next_rand());
    case 2:
        return json_boolean(r & 1);
    case 3:
        return json_null();
    case 4:
        return json_real((double)(r % 1000) / 8);
    case 5: {
        json_t *a = json_array();
        for (int i = (int)((r >> 16) % 4); i > 0; i--) json_array_append_new(a, random_tree(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = (int)((r >> 16) % 4); i > 0; i--) {
            char k[8];
            snprintf(k, sizeof k, "k%d\n", (int)(next_rand() % 50));
            json_object_set_new(o, k, random_tree(depth + 1));
        }
        return o;
    }
    }
}

TEST(stored_json_random_trees)
{
    int bad = 0;
    for (int n = 0; n < 3000 && bad < 5; n++) {
        json_t *o = json_object();
        json_object_set_new(o, "t", random_tree(0));
        char *text = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        bad += check_stored(text);
        if (!strchr(text, '.') && !cp_jsonw_canonical(text, strlen(text))) {
            fprintf(stderr, "  not canonical: %s\n", text);
            bad++;
        }
        free(text);
    }
    CHECK_EQ(bad, 0);
}

TEST(commas_and_nesting)
{
    cp_buf b;
    cp_buf_init(&b, 4096);
    cp_jsonw w;
    cp_jsonw_init(&w, &b);
    cp_jsonw_obj_begin(&w);
    cp_jsonw_key(&w, "items");
    cp_jsonw_arr_begin(&w);
    for (int i = 0; i < 2; i++) {
        cp_jsonw_obj_begin(&w);
        cp_jsonw_key(&w, "i");
        cp_jsonw_int(&w, i);
        cp_jsonw_key(&w, "o");
        cp_jsonw_stored(&w, "{}");
        cp_jsonw_obj_end(&w);
    }
    cp_jsonw_arr_end(&w);
    cp_jsonw_key(&w, "next");
    cp_jsonw_str(&w, NULL);
    cp_jsonw_key(&w, "b");
    cp_jsonw_bool(&w, true);
    cp_jsonw_obj_end(&w);
    CHECK_EQ(cp_jsonw_result(&w), CP_OK);
    CHECK_STR(cp_buf_cstr(&b), "{\"items\":[{\"i\":0,\"o\":{}},{\"i\":1,\"o\":{}}],\"next\":null,\"b\":true}");
    cp_buf_free(&b);

    /* The buffer's maximum stops the writer. */
    cp_buf_init(&b, 8);
    cp_jsonw_init(&w, &b);
    cp_jsonw_str(&w, "longer than eight");
    CHECK_EQ(cp_jsonw_result(&w), CP_ETOOBIG);
    cp_buf_free(&b);
}

int main(void)
{
    cp_json_init();
    RUN(strings_match_jansson_on_edge_cases);
    RUN(strings_match_jansson_on_random_input);
    RUN(reals_match_jansson);
    RUN(integers_match_jansson);
    RUN(times_match_cp_time_iso);
    RUN(stored_json_matches_jansson);
    RUN(stored_json_random_trees);
    RUN(commas_and_nesting);
    TEST_END();
}
