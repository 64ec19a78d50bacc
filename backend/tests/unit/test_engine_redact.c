/* Unit tests for engine/redact (every encoded form of a secret is caught) and
 * engine/tfevent (tofu's -json lines become typed, redacted events). */
#include <stdlib.h>

#include "engine/redact.h"
#include "engine/tfevent.h"
#include "core/json.h"
#include "test.h"

static char *red(const cp_redact *r, const char *s)
{
    return cp_redact_str(r, s, strlen(s), NULL);
}

static bool scrubbed(const cp_redact *r, const char *text, const char *must_not_contain)
{
    char *out = red(r, text);
    bool ok = strstr(out, must_not_contain) == NULL && strstr(out, CP_REDACT_MASK) != NULL;
    if (!ok) fprintf(stderr, "  not scrubbed: %s\n", out);
    free(out);
    return ok;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Independent base64 for the test (padded). */
static void b64(const char *in, size_t n, char *out, bool url)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (unsigned)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)in[i + 2];
        char c[4] = {B64[(v >> 18) & 63], B64[(v >> 12) & 63], i + 1 < n ? B64[(v >> 6) & 63] : '=',
                     i + 2 < n ? B64[v & 63] : '='};
        for (int k = 0; k < 4; k++) {
            char ch = c[k];
            if (url && ch == '+') ch = '-';
            if (url && ch == '/') ch = '_';
            out[o++] = ch;
        }
    }
    out[o] = '\0';
}

TEST(raw_form)
{
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, "hunter2-secret", 14);
    char *out = red(r, "password=hunter2-secret; again hunter2-secret.");
    CHECK_STR(out, "password=***; again ***.");
    free(out);
    out = red(r, "nothing here");
    CHECK_STR(out, "nothing here");
    free(out);
    cp_redact_free(r);
}

TEST(short_secrets_are_ignored)
{
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, "abc", 3);
    cp_redact_add(r, "", 0);
    CHECK_EQ(cp_redact_count(r), 0u);
    char *out = red(r, "abc abc");
    CHECK_STR(out, "abc abc");
    free(out);
    cp_redact_add(r, "abcd", 4);
    out = red(r, "abcd abc");
    CHECK_STR(out, "*** abc");
    free(out);
    cp_redact_free(r);
}

TEST(json_escaped_forms)
{
    const char *secret = "pa\"ss\\wo/rd<&>\n\ttail";
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, secret, strlen(secret));
    /* As jansson writes it. */
    json_t *s = json_string(secret);
    char *enc = json_dumps(s, JSON_ENCODE_ANY);
    CHECK(scrubbed(r, enc, "ss\\\\wo"));
    char *out = red(r, enc);
    CHECK_STR(out, "\"***\"");
    free(out);
    free(enc);
    enc = json_dumps(s, JSON_ENCODE_ANY | JSON_ESCAPE_SLASH);
    out = red(r, enc);
    CHECK_STR(out, "\"***\"");
    free(out);
    free(enc);
    json_decref(s);
    /* As Go's encoding/json (tofu) writes it: <, >, & as \u003c... */
    const char *go = "{\"@message\":\"x pa\\\"ss\\\\wo/rd\\u003c\\u0026\\u003e\\n\\ttail y\"}";
    out = red(r, go);
    CHECK_STR(out, "{\"@message\":\"x *** y\"}");
    free(out);
    cp_redact_free(r);
}

TEST(base64_forms)
{
    const char *secret = "s3cr3t-Value?>~"; /* 15 bytes: '?' and '>' make + and / appear */
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, secret, strlen(secret));
    char enc[128], line[256];
    for (int url = 0; url < 2; url++) {
        b64(secret, strlen(secret), enc, url);
        snprintf(line, sizeof line, "token %s end", enc);
        CHECK(scrubbed(r, line, enc));
        /* Without padding. */
        size_t n = strlen(enc);
        while (n && enc[n - 1] == '=') enc[--n] = '\0';
        snprintf(line, sizeof line, "token %s end", enc);
        CHECK(scrubbed(r, line, enc));
    }
    /* Inside a larger blob (e.g. base64 of "user:secret" or of a JSON document),
     * at each of the three byte alignments. */
    for (int off = 0; off < 3; off++) {
        char plain[64];
        snprintf(plain, sizeof plain, "%.*s%s!!", off + 1, "xyz", secret);
        b64(plain, strlen(plain), enc, false);
        char *out = red(r, enc);
        /* The middle of the encoding, which only the secret determines, is gone. */
        CHECK(strstr(out, CP_REDACT_MASK) != NULL);
        CHECK(strlen(out) < strlen(enc));
        free(out);
    }
    cp_redact_free(r);
}

TEST(gcp_service_account_json)
{
    const char *sa =
        "{\n  \"type\": \"service_account\",\n  \"project_id\": \"cloudplane-test\",\n"
        "  \"private_key_id\": \"0123456789abcdef0123456789abcdef01234567\",\n"
        "  \"private_key\": \"-----BEGIN PRIVATE "
        "KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nBKcwggSjAgEAAoIBAQC7\\n-----END "
        "PRIVATE KEY-----\\n\",\n"
        "  \"client_email\": \"deployer@cloudplane-test.iam.gserviceaccount.com\",\n  \"client_id\": \"1234\"\n}\n";
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, sa, strlen(sa));
    CHECK_EQ(cp_redact_add_json_values(r, sa), CP_OK);
    CHECK_EQ(cp_redact_add_json_values(r, "not json"), CP_EINVAL);

    /* The whole document, raw and as a JSON string inside a tofu line. */
    CHECK(scrubbed(r, sa, "BEGIN PRIVATE KEY"));
    json_t *line = json_pack("{s:s}", "@message", sa);
    char *enc = json_dumps(line, JSON_COMPACT);
    CHECK(scrubbed(r, enc, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"));
    free(enc);
    json_decref(line);

    /* Each long field alone, e.g. a provider echoing the private key (its \n
     * escaped as JSON), or the key id in an error message. */
    json_t *doc = json_loads(sa, 0, NULL);
    const char *pk = json_string_value(json_object_get(doc, "private_key"));
    line = json_pack("{s:s}", "detail", pk);
    enc = json_dumps(line, JSON_COMPACT);
    CHECK(strstr(enc, "\\n") != NULL);
    CHECK(scrubbed(r, enc, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"));
    free(enc);
    json_decref(line);
    CHECK(scrubbed(r, "key 0123456789abcdef0123456789abcdef01234567 rejected",
                   "0123456789abcdef0123456789abcdef01234567"));
    CHECK(scrubbed(r, "as deployer@cloudplane-test.iam.gserviceaccount.com", "deployer@"));
    /* Short values (client_id "1234") are not secrets. */
    char *out = red(r, "client 1234");
    CHECK_STR(out, "client 1234");
    free(out);
    /* The raw private key with real newlines, line by line (e.g. cat of a key file). */
    CHECK(scrubbed(r, pk, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"));
    json_decref(doc);
    cp_redact_free(r);
}

TEST(redacts_json_trees_in_place)
{
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, "topsecret", 9);
    json_t *j =
        json_pack("{s:s,s:[s,{s:s}],s:i}", "a", "x topsecret y", "b", "topsecret", "topsecret-key", "v", "n", 1);
    cp_redact_json(r, j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "{\"a\":\"x *** y\",\"b\":[\"***\",{\"***-key\":\"v\"}],\"n\":1}");
    free(s);
    json_decref(j);
    cp_redact_free(r);
}

/* ---------------------------------------------------------------- tfevent */

static cp_tfev_parsed parse(const cp_redact *r, const char *line)
{
    cp_tfev_parsed p;
    cp_tfev_parse(r, line, strlen(line), "stdout", &p);
    return p;
}

TEST(version_from_tofu_or_terraform)
{
    cp_tfev_parsed p = parse(NULL, "{\"@level\":\"info\",\"@message\":\"OpenTofu " CP_TOFU_VERSION
                                   "\",\"tofu\":\"" CP_TOFU_VERSION "\",\"type\":\"version\",\"ui\":\"1.2\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_LOG);
    CHECK_STR(p.version, CP_TOFU_VERSION);
    CHECK_STR(p.ev.message, "OpenTofu " CP_TOFU_VERSION);
    cp_tfev_parsed_free(&p);
    p = parse(NULL,
              "{\"@level\":\"info\",\"@message\":\"Terraform 1.5.7\",\"terraform\":\"1.5.7\",\"type\":\"version\"}");
    CHECK_STR(p.version, "1.5.7");
    cp_tfev_parsed_free(&p);
}

TEST(typed_events)
{
    cp_tfev_parsed p = parse(NULL, "{\"@level\":\"info\",\"@message\":\"terraform_data.instance: Plan to "
                                   "create\",\"change\":{\"resource\":{\"addr\":"
                                   "\"terraform_data.instance\"},\"action\":\"create\"},\"type\":\"planned_change\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_PLANNED_CHANGE);
    CHECK_STR(p.ev.address, "terraform_data.instance");
    CHECK_STR(p.ev.action, "create");
    cp_tfev_parsed_free(&p);

    p = parse(NULL,
              "{\"@message\":\"x: Still creating... [10s elapsed]\",\"hook\":{\"resource\":{\"addr\":\"x\"},\"action\":"
              "\"create\",\"elapsed_seconds\":10},\"type\":\"apply_progress\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_APPLY_PROGRESS);
    CHECK(p.ev.elapsed_seconds == 10);
    cp_tfev_parsed_free(&p);
    p = parse(
        NULL,
        "{\"@message\":\"m\",\"hook\":{\"resource\":{\"addr\":\"x\"},\"action\":\"delete\"},\"type\":\"apply_start\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_APPLY_START);
    CHECK_STR(p.ev.action, "delete");
    cp_tfev_parsed_free(&p);
    p = parse(
        NULL,
        "{\"@message\":\"m\",\"hook\":{\"resource\":{\"addr\":\"x\"},\"action\":\"create\",\"elapsed_seconds\":4},"
        "\"type\":\"apply_complete\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_APPLY_COMPLETE);
    cp_tfev_parsed_free(&p);
    p = parse(
        NULL,
        "{\"@message\":\"m\",\"hook\":{\"resource\":{\"addr\":\"x\"},\"action\":\"create\",\"elapsed_seconds\":1},"
        "\"type\":\"apply_errored\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_APPLY_ERRORED);
    cp_tfev_parsed_free(&p);

    p = parse(NULL,
              "{\"@level\":\"error\",\"@message\":\"Error: boom\",\"diagnostic\":{\"severity\":\"error\",\"summary\":"
              "\"boom\",\"detail\":\"it broke\",\"address\":\"x\"},\"type\":\"diagnostic\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_DIAGNOSTIC);
    CHECK_STR(p.ev.severity, "error");
    CHECK_STR(p.ev.summary, "boom");
    CHECK_STR(p.ev.detail, "it broke");
    CHECK_STR(p.ev.level, "error");
    cp_tfev_parsed_free(&p);

    p = parse(NULL, "{\"@message\":\"Plan: 1 to add, 2 to change, 3 to destroy.\",\"changes\":{\"add\":1,\"change\":2,"
                    "\"import\":0,\"remove\":3,\"operation\":\"plan\"},\"type\":\"change_summary\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_CHANGE_SUMMARY);
    CHECK(p.ev.add == 1 && p.ev.change == 2 && p.ev.destroy == 3);
    CHECK_STR(p.ev.operation, "plan");
    json_t *j = cp_tfev_to_json(&p.ev);
    CHECK_STR(json_string_value(json_object_get(j, "type")), "change_summary");
    CHECK_EQ(json_integer_value(json_object_get(j, "destroy")), 3);
    json_decref(j);
    cp_tfev_parsed_free(&p);

    p = parse(NULL,
              "{\"@message\":\"Outputs: 1\",\"outputs\":{\"id\":{\"sensitive\":false,\"type\":\"string\",\"value\":"
              "\"sbx-1\"}},\"type\":\"outputs\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_OUTPUTS);
    CHECK_STR(json_string_value(json_object_get(json_object_get(p.ev.data, "id"), "value")), "sbx-1");
    cp_tfev_parsed_free(&p);
}

TEST(plain_unknown_and_broken_lines_are_logs)
{
    cp_tfev_parsed p = parse(NULL, "Initializing the backend...");
    CHECK_EQ(p.ev.type, CP_TFEV_LOG);
    CHECK_STR(p.ev.message, "Initializing the backend...");
    cp_tfev_parsed_free(&p);
    p = parse(NULL, "{\"@message\":\"Acquiring state lock\",\"type\":\"state_lock_acquire\"}");
    CHECK_EQ(p.ev.type, CP_TFEV_LOG);
    CHECK_STR(p.ev.tofu_type, "state_lock_acquire");
    CHECK_STR(p.ev.message, "Acquiring state lock");
    cp_tfev_parsed_free(&p);
    p = parse(NULL, "{\"@message\": \"unterminated");
    CHECK_EQ(p.ev.type, CP_TFEV_LOG);
    CHECK_STR(p.ev.message, "{\"@message\": \"unterminated");
    cp_tfev_parsed_free(&p);
    p = parse(NULL, "[1,2]");
    CHECK_EQ(p.ev.type, CP_TFEV_LOG);
    cp_tfev_parsed_free(&p);
    p = parse(NULL, "");
    CHECK_EQ(p.ev.type, CP_TFEV_LOG);
    cp_tfev_parsed_free(&p);
}

TEST(events_are_redacted)
{
    cp_redact *r = cp_redact_new();
    const char *secret = "AKIA&SECRET<value>";
    cp_redact_add(r, secret, strlen(secret));
    /* Go escapes & < > as \u0026 \u003c \u003e; also a diagnostic detail and an output value. */
    cp_tfev_parsed p = parse(r, "{\"@message\":\"echo AKIA\\u0026SECRET\\u003cvalue\\u003e\",\"type\":\"log\"}");
    CHECK_STR(p.ev.message, "echo ***");
    cp_tfev_parsed_free(&p);
    p = parse(
        r, "{\"@message\":\"Error\",\"diagnostic\":{\"severity\":\"error\",\"summary\":\"bad key AKIA&SECRET<value>\","
           "\"detail\":\"AKIA&SECRET<value>\"},\"type\":\"diagnostic\"}");
    CHECK_STR(p.ev.summary, "bad key ***");
    CHECK_STR(p.ev.detail, "***");
    cp_tfev_parsed_free(&p);
    p = parse(
        r, "{\"@message\":\"Outputs: 1\",\"outputs\":{\"k\":{\"value\":\"AKIA&SECRET<value>\"}},\"type\":\"outputs\"}");
    char *s = json_dumps(p.ev.data, JSON_COMPACT);
    CHECK(strstr(s, "AKIA") == NULL);
    free(s);
    cp_tfev_parsed_free(&p);
    p = parse(r, "plain text AKIA&SECRET<value> on stderr");
    CHECK_STR(p.ev.message, "plain text *** on stderr");
    cp_tfev_parsed_free(&p);
    cp_redact_free(r);
}

/* Found by fuzz_redact: the mask and its neighbours spelled the secret again. */
TEST(mask_never_spells_a_secret)
{
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, "z***", 4);
    char *out = red(r, "zz*** and z**** and zzz***");
    CHECK(strstr(out, "z***") == NULL);
    free(out);
    cp_redact_free(r);
}

/* Found by fuzz_tfevent: an escaped secret nested past the redactor's depth
 * limit came through decoded. */
TEST(json_too_deep_is_emptied)
{
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, "hunter2-secret", 14);
    char open[71], close[71], text[256];
    memset(open, '[', 70);
    memset(close, ']', 70);
    open[70] = close[70] = '\0';
    snprintf(text, sizeof text, "%s\"\\u0068unter2-secret\"%s", open, close);
    json_t *j = json_loads(text, 0, NULL);
    CHECK(j != NULL);
    cp_redact_json(r, j);
    char *s = json_dumps(j, JSON_COMPACT);
    CHECK(strstr(s, "hunter2") == NULL);
    free(s);
    json_decref(j);
    cp_redact_free(r);
}

int main(void)
{
    cp_json_init(); /* as main.c does */
    RUN(raw_form);
    RUN(short_secrets_are_ignored);
    RUN(json_escaped_forms);
    RUN(base64_forms);
    RUN(gcp_service_account_json);
    RUN(redacts_json_trees_in_place);
    RUN(version_from_tofu_or_terraform);
    RUN(typed_events);
    RUN(plain_unknown_and_broken_lines_are_logs);
    RUN(events_are_redacted);
    RUN(mask_never_spells_a_secret);
    RUN(json_too_deep_is_emptied);
    TEST_END();
}
