/* Unit tests for http/router.c. */
#include "http/server.h"
#include "core/json.h"
#include "test.h"

static cp_result h(cp_req *r)
{
    (void)r;
    return CP_OK;
}

static const cp_route routes[] = {
    {"GET", "/api/v1/projects", h, 0},
    {"POST", "/api/v1/projects", h, 0},
    {"GET", "/api/v1/projects/{id}", h, 0},
    {"DELETE", "/api/v1/projects/{id}/members/{user_id}", h, 0},
};

static cp_req *new_req(cp_arena *a)
{
    cp_req *r = cp_arena_alloc(a, sizeof *r);
    r->arena = a;
    return r;
}

TEST(router_matches_params_and_methods)
{
    cp_arena *a = cp_arena_new(1024);
    char allow[64];
    cp_req *r = new_req(a);
    CHECK_EQ(cp_router_match(routes, 4, "GET", "/api/v1/projects/abc", r, allow, sizeof allow), CP_OK);
    CHECK_STR(cp_req_param(r, "id"), "abc");
    CHECK(r->route == &routes[2]);
    r = new_req(a);
    CHECK_EQ(cp_router_match(routes, 4, "DELETE", "/api/v1/projects/p1/members/u2", r, allow, sizeof allow), CP_OK);
    CHECK_STR(cp_req_param(r, "id"), "p1");
    CHECK_STR(cp_req_param(r, "user_id"), "u2");
    CHECK(cp_req_param(r, "nope") == NULL);
    r = new_req(a);
    CHECK_EQ(cp_router_match(routes, 4, "PUT", "/api/v1/projects", r, allow, sizeof allow), CP_EMETHOD);
    CHECK_STR(allow, "GET, POST");
    CHECK_EQ(cp_router_match(routes, 4, "GET", "/api/v1/projects/", r, allow, sizeof allow), CP_ENOTFOUND);
    CHECK_EQ(cp_router_match(routes, 4, "GET", "/api/v1/projects/a/b", r, allow, sizeof allow), CP_ENOTFOUND);
    CHECK_EQ(cp_router_match(routes, 4, "GET", "/api/v1/project", r, allow, sizeof allow), CP_ENOTFOUND);
    CHECK_EQ(cp_router_match(routes, 4, "GET", "/api/v1/projectsX", r, allow, sizeof allow), CP_ENOTFOUND);
    cp_arena_free(a);
}

TEST(router_prefers_a_literal_segment_to_a_parameter)
{
    static const cp_route shadow[] = {
        {"DELETE", "/api/v1/auth/sessions/{id}", h, 0},
        {"POST", "/api/v1/auth/sessions/revoke-all", h, 0},
    };
    cp_arena *a = cp_arena_new(1024);
    char allow[64];
    cp_req *r = new_req(a);
    CHECK_EQ(cp_router_match(shadow, 2, "POST", "/api/v1/auth/sessions/revoke-all", r, allow, sizeof allow), CP_OK);
    CHECK(r->route == &shadow[1]);
    /* Not the session named "revoke-all": that path has only POST. */
    CHECK_EQ(cp_router_match(shadow, 2, "DELETE", "/api/v1/auth/sessions/revoke-all", new_req(a), allow, sizeof allow),
             CP_EMETHOD);
    CHECK_STR(allow, "POST");
    r = new_req(a);
    CHECK_EQ(cp_router_match(shadow, 2, "DELETE", "/api/v1/auth/sessions/s1", r, allow, sizeof allow), CP_OK);
    CHECK_STR(cp_req_param(r, "id"), "s1");
    CHECK_EQ(cp_router_match(shadow, 2, "POST", "/api/v1/auth/sessions/s1", new_req(a), allow, sizeof allow),
             CP_EMETHOD);
    CHECK_STR(allow, "DELETE");
    cp_arena_free(a);
}

int main(void)
{
    cp_json_init(); /* as main.c does */
    RUN(router_matches_params_and_methods);
    RUN(router_prefers_a_literal_segment_to_a_parameter);
    TEST_END();
}
