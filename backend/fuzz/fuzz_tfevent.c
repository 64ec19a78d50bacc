/* fuzz_tfevent.c: cp_tfev_parse on one line of `tofu -json` output with a
 * redactor holding known secrets, then cp_tfev_to_json. No field of the
 * event, nor its text, nor any string or key of its JSON holds a secret. */
#include "engine/tfevent.h"
#include "fuzz.h"

static const char *const secrets[] = {
    "hunter2-very-secret",
    "p@ss&<w>rd/\"\\\tx",
    "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nAgEAoIBAQDc+yz/0123\n-----END KEY-----\n",
};
static cp_redact *red;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    red = cp_redact_new();
    for (size_t i = 0; i < CP_ARRAY_LEN(secrets); i++) cp_redact_add(red, secrets[i], strlen(secrets[i]));
    return 0;
}

static void clean(const char *s, size_t n)
{
    if (!s) return;
    for (size_t i = 0; i < CP_ARRAY_LEN(secrets); i++) FUZZ_CHECK(!memmem(s, n, secrets[i], strlen(secrets[i])));
}

static void clean_str(const char *s)
{
    if (s) clean(s, strlen(s));
}

static void clean_json(json_t *j)
{
    if (json_is_string(j)) {
        clean(json_string_value(j), json_string_length(j));
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            clean_str(k);
            clean_json(v);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) clean_json(v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cp_tfev_parsed p;
    cp_tfev_parse(red, (const char *)data, size, size % 2 ? "stderr" : "stdout", &p);
    const cp_tfev *ev = &p.ev;
    FUZZ_CHECK(ev->message != NULL && p.text != NULL);
    FUZZ_CHECK(strcmp(cp_tfev_type_name(ev->type), "") != 0);
    clean_str(p.text);
    clean_str(ev->message);
    clean_str(ev->level);
    clean_str(ev->tofu_type);
    clean_str(ev->address);
    clean_str(ev->action);
    clean_str(ev->severity);
    clean_str(ev->summary);
    clean_str(ev->detail);
    clean_str(ev->operation);
    clean_str(p.version);
    clean_json(p.json);
    if (ev->type == CP_TFEV_OUTPUTS) FUZZ_CHECK(json_is_object(ev->data));
    json_t *j = cp_tfev_to_json(ev);
    FUZZ_CHECK(json_is_object(j));
    clean_json(j);
    char *dump = json_dumps(j, JSON_COMPACT);
    FUZZ_CHECK(dump != NULL);
    free(dump);
    json_decref(j);
    cp_tfev_parsed_free(&p);
    return 0;
}
