/* fuzz_lock.c: reading tofu's lock info: cp_runner__lock_field and
 * cp_runner__parse_created on the input, and cp_runner__lock_diag on a
 * diagnostic whose summary and detail are the input split at its first NUL.
 * Outputs stay NUL-terminated within their buffers (ASan and UBSan watch
 * the rest). */
#include "engine/runner_int.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void fields(const char *text)
{
    static const char *const names[] = {"ID", "Path", "Operation", "Who", "Version", "Created", "Info", ""};
    static const size_t caps[] = {1, 2, 8, 64, 256};
    for (size_t i = 0; i < CP_ARRAY_LEN(names); i++) {
        for (size_t c = 0; c < CP_ARRAY_LEN(caps); c++) {
            char out[256 + 1];
            out[caps[c]] = 'Z';
            if (cp_runner__lock_field(text, names[i], out, caps[c])) FUZZ_CHECK(strlen(out) < caps[c]);
            FUZZ_CHECK(out[caps[c]] == 'Z');
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    const char *detail = strlen(s) < size ? s + strlen(s) + 1 : NULL;

    fields(s);
    if (detail) fields(detail);
    CP_IGNORE(cp_runner__parse_created(s));
    char created[80];
    if (cp_runner__lock_field(s, "Created", created, sizeof created)) CP_IGNORE(cp_runner__parse_created(created));

    cp_runner *r = calloc(1, sizeof *r);
    FUZZ_CHECK(r != NULL);
    r->sandboxed = size % 2;
    r->cfg.state.kind = CP_STATE_S3;
    copy_str(r->hostname, sizeof r->hostname, "cp-0123456789abcdef-1");
    if (size % 3 == 0) copy_str(r->lock_id, sizeof r->lock_id, "3f1e8a52-7c1d-4b5e-9a0f-2d6c8b4e1a77");
    cp_tfev ev;
    memset(&ev, 0, sizeof ev);
    ev.type = CP_TFEV_DIAGNOSTIC;
    ev.summary = s;
    ev.detail = detail;
    cp_runner__lock_diag(r, &ev);
    FUZZ_CHECK(strnlen(r->lock_holder, sizeof r->lock_holder) < sizeof r->lock_holder);
    FUZZ_CHECK(strnlen(r->stray_id, sizeof r->stray_id) < sizeof r->stray_id);
    if (r->lock_holder[0]) FUZZ_CHECK(strncmp(r->lock_holder, "state is locked by ", 19) == 0);
    free(r);
    free(s);
    return 0;
}
