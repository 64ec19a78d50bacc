/* Tests of engine/plan_json.c: a saved plan's `show -json` merged into its
 * summary. Two fixtures are real `tofu show -json` output of sandbox plans
 * (tests/unit/fixtures, trimmed to resource_changes): plan_update.json (a
 * sandbox_instance resized, a CIDR added, a tag changed) and
 * plan_replace.json (the instance renamed: a replace forced by name, with
 * values known only after apply). The sandbox provider has no sensitive
 * attribute, so plan_update.json was hand-edited to mark tags.owner
 * sensitive on both sides. The table covers the shapes the fixtures lack. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine/plan_json.h"
#include "engine/redact.h"
#include "test.h"

static json_t *fixture(const char *name)
{
    const char *repo = getenv("CP_REPO_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/backend/tests/unit/fixtures/%s", repo ? repo : "..", name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    if (!j) fprintf(stderr, "  %s: %s\n", path, je.text);
    return j;
}

static json_t *summary_of(const char *address, const char *action)
{
    return json_pack("{s:i, s:i, s:i, s:[{s:s, s:s}]}", "add", 0, "change", 1, "destroy", 0, "resources", "address",
                     address, "action", action);
}

/* The attribute entry at path, or NULL. */
static json_t *attr(json_t *res, const char *path)
{
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(res, "attributes"), i, a)
    {
        if (!strcmp(json_string_value(json_object_get(a, "path")), path)) return a;
    }
    return NULL;
}

static void check_attr(json_t *res, const char *want)
{
    json_error_t je;
    json_t *w = json_loads(want, 0, &je);
    CHECK(w != NULL);
    json_t *got = attr(res, json_string_value(json_object_get(w, "path")));
    if (!json_equal(got, w)) {
        char *g = got ? json_dumps(got, JSON_COMPACT) : NULL;
        fprintf(stderr, "  want %s, got %s\n", want, g ? g : "nothing");
        free(g);
        CHECK(!"attribute differs");
    }
    json_decref(w);
}

TEST(update_fixture)
{
    json_t *plan = fixture("plan_update.json");
    CHECK(plan != NULL);
    json_t *s = summary_of("sandbox_instance.this", "update");
    cp_plan_json_merge(s, plan);
    json_t *res = json_array_get(json_object_get(s, "resources"), 0);
    CHECK_STR(json_string_value(json_object_get(res, "type")), "sandbox_instance");
    CHECK_STR(json_string_value(json_object_get(res, "action")), "update");
    CHECK(json_object_get(res, "replace_paths") == NULL);
    check_attr(res, "{\"path\":\"size\",\"before\":\"sandbox.small\",\"after\":\"sandbox.large\","
                    "\"sensitive\":false,\"known\":true}");
    check_attr(res, "{\"path\":\"allowed_cidrs.1\",\"before\":null,\"after\":\"192.168.0.0/16\","
                    "\"sensitive\":false,\"known\":true}");
    /* Hand-edited marker: the tag's values never leave. */
    check_attr(res, "{\"path\":\"tags.owner\",\"before\":\"***\",\"after\":\"***\",\"sensitive\":true,\"known\":true}");
    char *text = json_dumps(s, JSON_COMPACT);
    CHECK(strstr(text, "alice") == NULL && strstr(text, "\"bob\"") == NULL);
    free(text);
    /* Only what changes: size, the new CIDR, the tag. */
    CHECK_EQ(json_array_size(json_object_get(res, "attributes")), 3u);
    CHECK_EQ(json_integer_value(json_object_get(s, "change")), 1); /* the summary's counts stay */
    json_decref(s);
    json_decref(plan);
}

TEST(replace_fixture)
{
    json_t *plan = fixture("plan_replace.json");
    CHECK(plan != NULL);
    json_t *s = summary_of("sandbox_instance.this", "replace");
    cp_plan_json_merge(s, plan);
    json_t *res = json_array_get(json_object_get(s, "resources"), 0);
    json_t *rp = json_object_get(res, "replace_paths");
    CHECK(json_array_size(rp) == 1);
    CHECK_STR(json_string_value(json_array_get(rp, 0)), "name");
    check_attr(res, "{\"path\":\"name\",\"before\":\"web-1\",\"after\":\"web-2\",\"sensitive\":false,\"known\":true}");
    check_attr(res, "{\"path\":\"tags.Name\",\"before\":\"web-1\",\"after\":\"web-2\",\"sensitive\":false,"
                    "\"known\":true}");
    /* A new instance's id and addresses are known only after apply. */
    check_attr(res, "{\"path\":\"id\",\"before\":\"i-8e9f3b8fec998470\",\"after\":null,\"sensitive\":false,"
                    "\"known\":false}");
    check_attr(res, "{\"path\":\"public_ip\",\"before\":\"203.0.113.99\",\"after\":null,\"sensitive\":false,"
                    "\"known\":false}");
    CHECK(attr(res, "size") == NULL); /* unchanged */
    json_decref(s);
    json_decref(plan);
}

/* The run's redactor, applied to the merged summary as the runner does,
 * scrubs a credential that reached an attribute value. */
TEST(credentials_are_redacted)
{
    json_t *plan = fixture("plan_update.json");
    CHECK(plan != NULL);
    json_t *s = summary_of("sandbox_instance.this", "update");
    cp_plan_json_merge(s, plan);
    cp_redact *r = cp_redact_new();
    cp_redact_add(r, "sandbox.large", strlen("sandbox.large"));
    cp_redact_json(r, s);
    char *text = json_dumps(s, JSON_COMPACT);
    CHECK(strstr(text, "sandbox.large") == NULL);
    CHECK(strstr(text, "sandbox.small") != NULL);
    free(text);
    cp_redact_free(r);
    json_decref(s);
    json_decref(plan);
}

typedef struct {
    const char *name;
    const char *change;   /* tofu's change object */
    const char *expected; /* cp_plan_diff's entries, CP_DIFF_PLAN */
} diff_case;

static const diff_case cases[] = {
    {"nothing changes", "{\"actions\":[\"update\"],\"before\":{\"a\":1},\"after\":{\"a\":1}}", "[]"},
    {"a create lists every value, nested ones flattened",
     "{\"before\":null,\"after\":{\"a\":1,\"t\":{\"k\":\"v\"},\"l\":[\"x\"]},\"after_unknown\":{\"id\":true}}",
     "[{\"path\":\"a\",\"before\":null,\"after\":1,\"sensitive\":false,\"known\":true},"
     "{\"path\":\"t.k\",\"before\":null,\"after\":\"v\",\"sensitive\":false,\"known\":true},"
     "{\"path\":\"l.0\",\"before\":null,\"after\":\"x\",\"sensitive\":false,\"known\":true},"
     "{\"path\":\"id\",\"before\":null,\"after\":null,\"sensitive\":false,\"known\":false}]"},
    {"a delete lists every value gone", "{\"before\":{\"a\":1},\"after\":null}",
     "[{\"path\":\"a\",\"before\":1,\"after\":null,\"sensitive\":false,\"known\":true}]"},
    {"a list item removed", "{\"before\":{\"l\":[\"x\",\"y\"]},\"after\":{\"l\":[\"x\"]}}",
     "[{\"path\":\"l.1\",\"before\":\"y\",\"after\":null,\"sensitive\":false,\"known\":true}]"},
    {"a sensitive list item; a created sensitive value shows its before as null",
     "{\"before\":{\"l\":[\"x\"]},\"after\":{\"l\":[\"z\"],\"p\":\"pw\"},"
     "\"before_sensitive\":{\"l\":[true]},\"after_sensitive\":{\"l\":[true],\"p\":true}}",
     "[{\"path\":\"l.0\",\"before\":\"***\",\"after\":\"***\",\"sensitive\":true,\"known\":true},"
     "{\"path\":\"p\",\"before\":null,\"after\":\"***\",\"sensitive\":true,\"known\":true}]"},
    {"a whole sensitive map is one masked change",
     "{\"before\":{\"m\":{\"a\":\"1\"}},\"after\":{\"m\":{\"a\":\"2\"}},\"after_sensitive\":{\"m\":true}}",
     "[{\"path\":\"m\",\"before\":\"***\",\"after\":\"***\",\"sensitive\":true,\"known\":true}]"},
    {"an unknown list item",
     "{\"before\":{\"l\":[\"x\"]},\"after\":{\"l\":[\"x\",null]},\"after_unknown\":{\"l\":[false,true]}}",
     "[{\"path\":\"l.1\",\"before\":null,\"after\":null,\"sensitive\":false,\"known\":false}]"},
    {"an unknown value that is sensitive too",
     "{\"before\":{\"p\":\"old\"},\"after\":{},\"after_unknown\":{\"p\":true},\"before_sensitive\":{\"p\":true}}",
     "[{\"path\":\"p\",\"before\":\"***\",\"after\":null,\"sensitive\":true,\"known\":false}]"},
    {"markers of the wrong shape are ignored",
     "{\"before\":{\"a\":1},\"after\":{\"a\":2},\"before_sensitive\":[1],\"after_unknown\":\"x\"}",
     "[{\"path\":\"a\",\"before\":1,\"after\":2,\"sensitive\":false,\"known\":true}]"},
    {"no change object", "null", "[]"},
};

TEST(diff_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const diff_case *c = &cases[i];
        json_error_t je;
        json_t *change = json_loads(c->change, JSON_DECODE_ANY, &je);
        json_t *want = json_loads(c->expected, 0, &je);
        CHECK(want != NULL);
        json_t *got = json_array();
        cp_plan_diff(got, change, CP_DIFF_PLAN);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_COMPACT);
            fprintf(stderr, "  case \"%s\": got %s\n", c->name, g);
            free(g);
            CHECK(!"entries differ");
        }
        json_decref(got);
        json_decref(want);
        json_decref(change);
    }
}

TEST(actions_and_replace_paths)
{
    json_error_t je;
    json_t *a = json_loads("[\"delete\",\"create\"]", 0, &je);
    CHECK_STR(cp_plan_action(a), "replace");
    json_decref(a);
    a = json_loads("[\"create\",\"delete\"]", 0, &je);
    CHECK_STR(cp_plan_action(a), "replace");
    json_decref(a);
    a = json_loads("[\"no-op\"]", 0, &je);
    CHECK(cp_plan_action(a) == NULL);
    json_decref(a);
    CHECK(cp_plan_action(NULL) == NULL);

    /* A change the stream's summary lacks is not added; a path with a list index is dotted. */
    json_t *plan =
        json_loads("{\"resource_changes\":[{\"address\":\"a.b\",\"type\":\"t\",\"change\":{"
                   "\"actions\":[\"delete\",\"create\"],\"before\":{\"l\":[\"x\"]},\"after\":{\"l\":[\"y\"]},"
                   "\"replace_paths\":[[\"l\",0],[],[7.5]]}},{\"address\":\"other.x\",\"change\":{}}]}",
                   0, &je);
    CHECK(plan != NULL);
    json_t *s = summary_of("a.b", "replace");
    cp_plan_json_merge(s, plan);
    json_t *res = json_array_get(json_object_get(s, "resources"), 0);
    CHECK_EQ(json_array_size(json_object_get(s, "resources")), 1u);
    json_t *rp = json_object_get(res, "replace_paths");
    CHECK_EQ(json_array_size(rp), 1u);
    CHECK_STR(json_string_value(json_array_get(rp, 0)), "l.0");
    cp_plan_json_merge(s, NULL); /* no plan: nothing happens */
    json_decref(s);
    json_decref(plan);
}

int main(void)
{
    RUN(update_fixture);
    RUN(replace_fixture);
    RUN(credentials_are_redacted);
    RUN(diff_table);
    RUN(actions_and_replace_paths);
    TEST_END();
}
