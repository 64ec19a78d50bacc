/* The command-line client's argument parser and table printer (cli/args.c,
 * cli/output.c). */
#include <stdlib.h>

#include "cli/cli_int.h"
#include "test.h"

static const cp_cli_opt opts[] = {
    {"--size", "-s", "S", true, false, "size"},
    {"--tag", "-t", "K=V", true, true, "tag"},
    {"--wait", "-w", NULL, false, false, "wait"},
};
#define N CP_ARRAY_LEN(opts)

static bool parse(cp_cli_args *a, char *msg, int argc, char **argv)
{
    return cp_cli_parse(opts, N, argc, argv, a, msg, 256);
}

TEST(flags_values_and_positionals)
{
    cp_cli_args a;
    char msg[256];
    char *argv[] = {"bucket", "--size", "s1", "-t", "a=1", "--tag=b=2", "-w", "-o", "json", "x"};
    CHECK(parse(&a, msg, 10, argv));
    CHECK_EQ(a.npos, 2u);
    CHECK_STR(a.pos[0], "bucket");
    CHECK_STR(a.pos[1], "x");
    CHECK_STR(cp_cli_get(&a, opts, N, "--size"), "s1");
    CHECK_STR(cp_cli_get(&a, opts, N, "--wait"), "");
    CHECK(a.json);
    CHECK(!a.help);
    size_t n;
    const char *const *tags = cp_cli_get_all(&a, opts, N, "--tag", &n);
    CHECK_EQ(n, 2u);
    if (n == 2) {
        CHECK_STR(tags[0], "a=1");
        CHECK_STR(tags[1], "b=2");
    }
    CHECK(cp_cli_get(&a, opts, N, "--nope") == NULL);

    /* The last of a single flag wins; --output=table undoes json; -- ends flags. */
    char *argv2[] = {"-s", "a", "--size=b", "-o", "json", "--output=table", "--", "--wait", "-h"};
    CHECK(parse(&a, msg, 9, argv2));
    CHECK_STR(cp_cli_get(&a, opts, N, "--size"), "b");
    CHECK(!a.json);
    CHECK(cp_cli_get(&a, opts, N, "--wait") == NULL);
    CHECK_EQ(a.npos, 2u);
    CHECK(!a.help);

    char *argv3[] = {"x", "--help"};
    CHECK(parse(&a, msg, 2, argv3) && a.help);
    char *argv4[] = {"-"}; /* stdin, by convention: a positional */
    CHECK(parse(&a, msg, 1, argv4) && a.npos == 1);
}

TEST(refusals)
{
    cp_cli_args a;
    char msg[256];
    char *unknown[] = {"--bogus"};
    CHECK(!parse(&a, msg, 1, unknown));
    CHECK(strstr(msg, "--bogus") != NULL);
    char *missing[] = {"--size"};
    CHECK(!parse(&a, msg, 1, missing));
    CHECK(strstr(msg, "needs a value") != NULL);
    char *novalue[] = {"--wait=yes"};
    CHECK(!parse(&a, msg, 1, novalue));
    char *output[] = {"-o", "yaml"};
    CHECK(!parse(&a, msg, 2, output));
    char *output2[] = {"-o"};
    CHECK(!parse(&a, msg, 1, output2));
    char *many[CP_CLI_MAX_POS + 1];
    for (size_t i = 0; i < CP_CLI_MAX_POS + 1; i++) many[i] = "p";
    CHECK(!parse(&a, msg, CP_CLI_MAX_POS + 1, many));
    char *tags[2 * (CP_CLI_MAX_VALUES + 1)];
    for (size_t i = 0; i < CP_CLI_MAX_VALUES + 1; i++) tags[2 * i] = "-t", tags[2 * i + 1] = "k=v";
    CHECK(!parse(&a, msg, 2 * (CP_CLI_MAX_VALUES + 1), tags));
}

TEST(seconds)
{
    int64_t s = -1;
    CHECK(cp_cli_parse_seconds("90s", &s) && s == 90);
    CHECK(cp_cli_parse_seconds("90", &s) && s == 90);
    CHECK(cp_cli_parse_seconds("30m", &s) && s == 1800);
    CHECK(cp_cli_parse_seconds("2h", &s) && s == 7200);
    CHECK(cp_cli_parse_seconds("3d", &s) && s == 3 * 86400);
    CHECK(cp_cli_parse_seconds("1w", &s) && s == 7 * 86400);
    CHECK(cp_cli_parse_seconds("366d", &s) && s == 366 * 86400);
    const char *bad[] = {"", "s", "0s", "-1s", "1x", "1hh", "1.5h", " 1h", "367d", "99999999999999999999s", "1h "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = 42;
        CHECK(!cp_cli_parse_seconds(bad[i], &s));
        CHECK_EQ(s, 42);
    }
    CHECK(!cp_cli_parse_seconds(NULL, &s));
}

static const char *fmt_upper(json_t *item, char *buf, size_t cap)
{
    snprintf(buf, cap, "<%s>", json_string_value(json_object_get(item, "name")));
    return buf;
}

static char *render(json_t *items, const cp_cli_col *cols, size_t n)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    cp_cli_table(f, items, cols, n);
    fclose(f);
    return out;
}

TEST(table_aligns_columns)
{
    json_t *items = json_loads("[{\"id\":\"a\",\"name\":\"web\",\"n\":3,\"ok\":true,\"o\":{\"url\":\"x\"}},"
                               "{\"id\":\"longer-id\",\"name\":\"bücket\",\"n\":1.5,\"ok\":null,\"o\":{}}]",
                               0, NULL);
    static const cp_cli_col cols[] = {
        {"ID", "id", NULL}, {"N", "n", NULL}, {"OK", "ok", NULL}, {"URL", "o.url", NULL}, {"NAME", NULL, fmt_upper}};
    char *out = render(items, cols, CP_ARRAY_LEN(cols));
    CHECK_STR(out, "ID         N     OK   URL  NAME\n"
                   "a          3     yes  x    <web>\n"
                   "longer-id  1.50  -    -    <bücket>\n");
    free(out);

    /* A newline in a value would break the row: it becomes a space. */
    json_t *one = json_loads("[{\"id\":\"a\\nb\"}]", 0, NULL);
    out = render(one, cols, 1);
    CHECK_STR(out, "ID\na b\n");
    free(out);

    json_t *none = json_array();
    out = render(none, cols, 2);
    CHECK_STR(out, "ID  N\n");
    free(out);
    json_decref(one);
    json_decref(none);
    json_decref(items);
}

int main(void)
{
    RUN(flags_values_and_positionals);
    RUN(refusals);
    RUN(seconds);
    RUN(table_aligns_columns);
    TEST_END();
}
