/* Unit tests for API tokens: the cpt_<id>_<secret> format (auth/apitoken.c)
 * and the table of what each route asks of a token (api/token_scopes.c). */
#include <sodium.h>

#include "api/tokens.h"
#include "auth/apitoken.h"
#include "core/json.h"
#include "test.h"

#define ID "01hq3z8k7w0c9x2v5m4n6p8r1t"

TEST(new_token_parses_to_its_id_and_hash)
{
    char tok[CP_APITOKEN_LEN + 1], hash[CP_APITOKEN_HASH_HEX], id[CP_ID_LEN + 1], again[CP_APITOKEN_HASH_HEX];
    cp_apitoken_new(ID, tok, hash);
    CHECK_EQ(strlen(tok), (size_t)CP_APITOKEN_LEN);
    CHECK(!strncmp(tok, "cpt_" ID "_", 4 + CP_ID_LEN + 1));
    CHECK_EQ(strlen(hash), (size_t)64);
    CHECK(strstr(hash, tok + 4 + CP_ID_LEN + 1) == NULL); /* the hash is not the secret */
    CHECK(cp_apitoken_parse(tok, id, again));
    CHECK_STR(id, ID);
    CHECK_STR(again, hash);
    CHECK(cp_apitoken_hash_eq(hash, again));
    char tok2[CP_APITOKEN_LEN + 1], hash2[CP_APITOKEN_HASH_HEX];
    cp_apitoken_new(ID, tok2, hash2);
    CHECK(strcmp(tok, tok2) != 0); /* fresh randomness each time */
    CHECK(!cp_apitoken_hash_eq(hash, hash2));
}

TEST(malformed_tokens_are_refused)
{
    char good[CP_APITOKEN_LEN + 1], hash[CP_APITOKEN_HASH_HEX], id[CP_ID_LEN + 1], h[CP_APITOKEN_HASH_HEX];
    cp_apitoken_new(ID, good, hash);
    char buf[256];
    const char *fixed[] = {"", "cpt_", "cpt_x", "cpt_" ID, "cpt_" ID "_", "cpa_" ID "_", "Bearer cpt_"};
    for (size_t i = 0; i < CP_ARRAY_LEN(fixed); i++) {
        CHECK(!cp_apitoken_parse(fixed[i], id, h));
        CHECK_EQ(id[0], '\0');
    }
    /* One character too few, one too many. */
    snprintf(buf, sizeof buf, "%.*s", CP_APITOKEN_LEN - 1, good);
    CHECK(!cp_apitoken_parse(buf, id, h));
    snprintf(buf, sizeof buf, "%s0", good);
    CHECK(!cp_apitoken_parse(buf, id, h));
    /* The separator, the secret's alphabet (upper-case, base64 characters), the id's alphabet. */
    const struct {
        size_t at;
        char c;
    } flips[] = {{4 + CP_ID_LEN, '-'},
                 {4 + CP_ID_LEN + 1, 'A'},
                 {CP_APITOKEN_LEN - 1, '_'},
                 {CP_APITOKEN_LEN - 1, 'g'},
                 {4, 'U'},
                 {10, '_'}};
    for (size_t i = 0; i < CP_ARRAY_LEN(flips); i++) {
        snprintf(buf, sizeof buf, "%s", good);
        buf[flips[i].at] = flips[i].c;
        CHECK(!cp_apitoken_parse(buf, id, h));
    }
    /* A different secret for the same id parses, to a different hash. */
    snprintf(buf, sizeof buf, "%s", good);
    buf[CP_APITOKEN_LEN - 1] = buf[CP_APITOKEN_LEN - 1] == '0' ? '1' : '0';
    CHECK(cp_apitoken_parse(buf, id, h));
    CHECK(!cp_apitoken_hash_eq(h, hash));
    CHECK(!cp_apitoken_hash_eq("", hash));
    CHECK(cp_apitoken_is("cpt_") && !cp_apitoken_is("eyJ") && !cp_apitoken_is(NULL));
}

/* Every authenticated route but a GET is classified, and every entry names a route. */
TEST(scope_table_matches_the_routes)
{
    for (size_t i = 0; i < cp_api_nroutes; i++) {
        const cp_route *r = &cp_api_routes[i];
        if (!(r->flags & CP_ROUTE_AUTH) || !strcmp(r->method, "GET")) continue;
        if (!cp_api_route_scope(r->method, r->pattern)) {
            fprintf(stderr, "  no token scope for %s %s (api/token_scopes.c)\n", r->method, r->pattern);
            CHECK(0);
        }
    }
    for (size_t i = 0; i < cp_api_nroute_scopes; i++) {
        const cp_route_scope *s = &cp_api_route_scopes[i];
        bool found = false;
        for (size_t j = 0; j < cp_api_nroutes && !found; j++)
            found = !strcmp(cp_api_routes[j].method, s->method) && !strcmp(cp_api_routes[j].pattern, s->pattern) &&
                    (cp_api_routes[j].flags & CP_ROUTE_AUTH);
        if (!found) fprintf(stderr, "  token scope for no route: %s %s\n", s->method, s->pattern);
        CHECK(found);
        unsigned bits = s->scope;
        CHECK(bits == CP_SCOPE_READ || bits == CP_SCOPE_ORDER || bits == CP_SCOPE_APPROVE || bits == CP_SCOPE_ADMIN);
    }
    const cp_route_scope *o = cp_api_route_scope("POST", "/api/v1/resources");
    CHECK(o && o->scope == CP_SCOPE_ORDER);
    const cp_route_scope *a = cp_api_route_scope("POST", "/api/v1/runs/{id}/approve");
    CHECK(a && a->scope == CP_SCOPE_APPROVE);
    const cp_route_scope *t = cp_api_route_scope("POST", "/api/v1/projects/{id}/tokens");
    CHECK(t && t->scope == CP_SCOPE_ADMIN);
}

TEST(scope_names)
{
    CHECK_EQ(cp_scope_parse("read"), (unsigned)CP_SCOPE_READ);
    CHECK_EQ(cp_scope_parse("admin"), (unsigned)CP_SCOPE_ADMIN);
    CHECK_EQ(cp_scope_parse("Admin"), 0u);
    CHECK_EQ(cp_scopes_from_text("[\"order\",\"approve\",\"bogus\"]"), (unsigned)(CP_SCOPE_ORDER | CP_SCOPE_APPROVE));
    CHECK_EQ(cp_scopes_from_text("not json"), 0u);
    json_t *j = cp_scopes_json(CP_SCOPE_READ | CP_SCOPE_ADMIN);
    char *s = json_dumps(j, JSON_COMPACT);
    CHECK_STR(s, "[\"read\",\"admin\"]");
    free(s);
    json_decref(j);
}

int main(void)
{
    cp_json_init();
    if (sodium_init() < 0) return 1;
    RUN(new_token_parses_to_its_id_and_hash);
    RUN(malformed_tokens_are_refused);
    RUN(scope_table_matches_the_routes);
    RUN(scope_names);
    TEST_END();
}
