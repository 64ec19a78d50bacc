/* Tests of engine/drift.c: a refresh-only plan's resource_drift read into
 * attribute changes, table-driven over the shapes tofu writes (update,
 * delete = gone from the cloud, sensitive values, maps, lists, no-ops). */
#include <jansson.h>

#include "engine/drift.h"
#include "test.h"

typedef struct {
    const char *name;
    const char *plan;     /* the show -json document (only what is read) */
    const char *expected; /* cp_drift_changes' result */
    bool missing;
} drift_case;

#define ENTRY(actions, change) "{\"address\":\"sandbox_instance.this\",\"change\":{\"actions\":" actions "," change "}}"

static const drift_case cases[] = {
    {"no drift key", "{\"format_version\":\"1.2\"}", "[]", false},
    {"empty drift", "{\"resource_drift\":[]}", "[]", false},
    {"size changed",
     "{\"resource_drift\":[" ENTRY("[\"update\"]", "\"before\":{\"id\":\"i-1\",\"size\":\"small\"},"
                                                   "\"after\":{\"id\":\"i-1\",\"size\":\"large\"}") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"update\","
     "\"attributes\":[{\"path\":\"size\",\"before\":\"small\",\"after\":\"large\"}]}]",
     false},
    {"a tag added, one removed, one changed",
     "{\"resource_drift\":[" ENTRY("[\"update\"]", "\"before\":{\"tags\":{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}},"
                                                   "\"after\":{\"tags\":{\"a\":\"1\",\"b\":\"9\",\"d\":\"4\"}}") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"update\",\"attributes\":["
     "{\"path\":\"tags.b\",\"before\":\"2\",\"after\":\"9\"},{\"path\":\"tags.c\",\"before\":\"3\",\"after\":null},"
     "{\"path\":\"tags.d\",\"before\":null,\"after\":\"4\"}]}]",
     false},
    {"a map that appears is one change",
     "{\"resource_drift\":[" ENTRY("[\"update\"]",
                                   "\"before\":{\"tags\":null},\"after\":{\"tags\":{\"a\":\"1\"}}") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"update\","
     "\"attributes\":[{\"path\":\"tags\",\"before\":null,\"after\":{\"a\":\"1\"}}]}]",
     false},
    {"lists are compared whole",
     "{\"resource_drift\":[" ENTRY("[\"update\"]", "\"before\":{\"cidrs\":[\"10.0.0.0/8\"]},"
                                                   "\"after\":{\"cidrs\":[\"10.0.0.0/8\",\"0.0.0.0/0\"]}") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"update\",\"attributes\":[{\"path\":\"cidrs\","
     "\"before\":[\"10.0.0.0/8\"],\"after\":[\"10.0.0.0/8\",\"0.0.0.0/0\"]}]}]",
     false},
    {"a sensitive attribute is masked on both sides",
     "{\"resource_drift\":[" ENTRY("[\"update\"]", "\"before\":{\"password\":\"hunter22\"},"
                                                   "\"after\":{\"password\":\"swordfish\"},"
                                                   "\"before_sensitive\":{\"password\":true},"
                                                   "\"after_sensitive\":{\"password\":true}") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"update\","
     "\"attributes\":[{\"path\":\"password\",\"before\":\"***\",\"after\":\"***\"}]}]",
     false},
    {"sensitive on one side only is masked too",
     "{\"resource_drift\":[" ENTRY("[\"update\"]",
                                   "\"before\":{\"k\":{\"x\":\"old\"}},\"after\":{\"k\":{\"x\":\"new\"}},"
                                   "\"after_sensitive\":{\"k\":{\"x\":true}}") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"update\","
     "\"attributes\":[{\"path\":\"k.x\",\"before\":\"***\",\"after\":\"***\"}]}]",
     false},
    {"a whole sensitive map is one masked change",
     "{\"resource_drift\":[" ENTRY("[\"update\"]",
                                   "\"before\":{\"tags\":{\"a\":\"1\"}},\"after\":{\"tags\":{\"a\":\"2\"}},"
                                   "\"before_sensitive\":{\"tags\":true}") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"update\","
     "\"attributes\":[{\"path\":\"tags\",\"before\":\"***\",\"after\":\"***\"}]}]",
     false},
    {"gone from the cloud: a delete, missing",
     "{\"resource_drift\":[" ENTRY("[\"delete\"]",
                                   "\"before\":{\"id\":\"i-1\",\"size\":\"small\"},\"after\":null") "]}",
     "[{\"address\":\"sandbox_instance.this\",\"action\":\"delete\",\"attributes\":[]}]", true},
    {"no-op and read entries, and an update that changes nothing, are left out",
     "{\"resource_drift\":[" ENTRY("[\"no-op\"]", "\"before\":{\"a\":1},\"after\":{\"a\":2}") "," ENTRY(
         "[\"read\"]", "\"before\":null,\"after\":{\"a\":1}") "," ENTRY("[\"update\"]", "\"before\":{\"a\":1},"
                                                                                        "\"after\":{\"a\":1}") "]}",
     "[]", false},
    {"entries without an address or actions are skipped",
     "{\"resource_drift\":[{\"change\":{\"actions\":[\"update\"]}},{\"address\":\"x\"},7,null]}", "[]", false},
};

TEST(drift_changes_table)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const drift_case *c = &cases[i];
        json_error_t je;
        json_t *plan = json_loads(c->plan, 0, &je);
        json_t *want = json_loads(c->expected, 0, &je);
        CHECK(plan != NULL);
        CHECK(want != NULL);
        bool missing = !c->missing;
        json_t *got = cp_drift_changes(plan, &missing);
        if (!json_equal(got, want)) {
            char *g = json_dumps(got, JSON_COMPACT);
            fprintf(stderr, "  case \"%s\": got %s\n", c->name, g);
            free(g);
            CHECK(!"changes differ");
        }
        if (missing != c->missing) fprintf(stderr, "  case \"%s\": missing %d\n", c->name, missing);
        CHECK_EQ(missing, c->missing);
        json_decref(got);
        json_decref(want);
        json_decref(plan);
    }
}

TEST(drift_changes_of_nothing)
{
    bool missing = true;
    json_t *got = cp_drift_changes(NULL, &missing);
    CHECK(json_is_array(got) && json_array_size(got) == 0);
    CHECK(!missing);
    json_decref(got);
}

int main(void)
{
    RUN(drift_changes_table);
    RUN(drift_changes_of_nothing);
    TEST_END();
}
