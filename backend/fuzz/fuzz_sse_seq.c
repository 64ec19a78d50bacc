/* fuzz_sse_seq.c: cp_sse_parse_seq, the Last-Event-ID / ?after= parse,
 * against a model of strtoll's grammar: blanks, an optional sign, digits,
 * nothing after; negative values refused, values past INT64_MAX clamped. */
#include <ctype.h>
#include <stdbool.h>

#include "fuzz.h"
#include "http/sse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* The model: 1 accepted with *v, 0 refused. */
static bool model(const char *s, int64_t *v)
{
    const char *p = s;
    while (isspace((unsigned char)*p)) p++;
    bool neg = *p == '-';
    if (*p == '+' || *p == '-') p++;
    if (!isdigit((unsigned char)*p)) return false;
    uint64_t acc = 0;
    bool nonzero = false, big = false;
    for (; isdigit((unsigned char)*p); p++) {
        int d = *p - '0';
        nonzero |= d != 0;
        if (acc > ((uint64_t)INT64_MAX - (uint64_t)d) / 10)
            big = true;
        else if (!big)
            acc = acc * 10 + (uint64_t)d;
    }
    if (*p) return false;
    if (neg && nonzero) return false;
    *v = big ? INT64_MAX : (int64_t)acc;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    int64_t got = -42, want = -42;
    bool ok = cp_sse_parse_seq(s, &got);
    bool mok = model(s, &want);
    FUZZ_CHECK(ok == mok);
    if (ok) {
        FUZZ_CHECK(got >= 0);
        FUZZ_CHECK(got == want);
    } else {
        FUZZ_CHECK(got == -42); /* untouched on failure */
    }
    free(s);
    return 0;
}
