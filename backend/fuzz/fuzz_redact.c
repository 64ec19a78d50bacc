/* fuzz_redact.c: cp_redact_str and cp_redact_json. Input: one length byte,
 * that many bytes of secret, then the text. The text's redacted copy never
 * holds the secret, nor any line of it that was registered, and is never
 * longer than the text; JSON redaction leaves no string or key holding it. */
#include "engine/redact.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static bool holds(const char *hay, size_t hn, const char *needle, size_t nn)
{
    return nn && memmem(hay, hn, needle, nn) != NULL;
}

static void check_json(json_t *j, const char *secret, size_t sn)
{
    if (json_is_string(j)) {
        FUZZ_CHECK(!holds(json_string_value(j), json_string_length(j), secret, sn));
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            FUZZ_CHECK(!holds(k, strlen(k), secret, sn));
            check_json(v, secret, sn);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) check_json(v, secret, sn);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t sn = data[0];
    if (sn > size - 1) sn = size - 1;
    const char *secret = (const char *)data + 1, *text = secret + sn;
    size_t tn = size - 1 - sn;

    cp_redact *r = cp_redact_new();
    cp_redact_add(r, secret, sn);
    size_t on;
    char *out = cp_redact_str(r, text, tn, &on);
    FUZZ_CHECK(on <= tn);
    FUZZ_CHECK(out[on] == '\0');
    if (sn >= CP_REDACT_MIN_LEN) {
        FUZZ_CHECK(!holds(out, on, secret, sn));
        json_t *j = json_loadb(text, tn, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (j) {
            cp_redact_json(r, j);
            check_json(j, secret, sn);
            json_decref(j);
        }
    } else {
        FUZZ_CHECK(on == tn && memcmp(out, text, tn) == 0);
    }
    free(out);
    cp_redact_free(r);
    return 0;
}
