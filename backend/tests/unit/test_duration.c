/* The durations people type for a resource's lifetime and the retention ages (core/duration.c). */
#include "core/duration.h"
#include "test.h"

TEST(units_and_counts)
{
    int64_t s = -1;
    CHECK(cp_duration_parse("30m", &s) && s == 1800);
    CHECK(cp_duration_parse("8h", &s) && s == 8 * 3600);
    CHECK(cp_duration_parse("3d", &s) && s == 3 * 86400);
    CHECK(cp_duration_parse("2w", &s) && s == 14 * 86400);
    CHECK(cp_duration_parse("1m", &s) && s == 60);
    CHECK(cp_duration_parse("366d", &s) && s == CP_DURATION_MAX_S);
    CHECK(cp_duration_parse("527040m", &s) && s == CP_DURATION_MAX_S);
}

TEST(refuses_everything_else)
{
    const char *bad[] = {"",    "m",   "0m",   "05h",  "-1h",  "+1h", "1",     "1s",       "1H",       "1 h",   " 1h",
                         "1h ", "1hh", "1.5h", "1e3m", "367d", "53w", "8785h", "1000000m", "9999999w", "0x10m", "1d2h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t s = 42;
        if (cp_duration_parse(bad[i], &s)) fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK(!cp_duration_parse(bad[i], &s));
        CHECK_EQ(s, 42);
    }
    int64_t s = 42;
    CHECK(!cp_duration_parse(NULL, &s));
}

TEST(ages)
{
    int64_t s = -1;
    CHECK(cp_duration_parse_age("45s", &s) && s == 45);
    CHECK(cp_duration_parse_age("90d", &s) && s == 90 * 86400);
    CHECK(cp_duration_parse_age("12h", &s) && s == 12 * 3600);
    CHECK(cp_duration_parse_age("30m", &s) && s == 1800);
    CHECK(cp_duration_parse_age("520w", &s) && s == 520 * 7 * 86400); /* longer than a lifetime may be */
    CHECK(cp_duration_parse_age("36500d", &s) && s == CP_AGE_MAX_S);
    s = -1;
    CHECK(cp_duration_parse_age("0", &s) && s == 0);
    s = -1;
    CHECK(cp_duration_parse_age("off", &s) && s == 0);
    const char *bad[] = {"",    "s",  "0s",     "00",      "Off", "OFF",  "no",
                         "-1d", "1y", "36501d", "999999w", "1d ", "1.5d", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s = 42;
        if (cp_duration_parse_age(bad[i], &s)) fprintf(stderr, "  accepted \"%s\"\n", bad[i] ? bad[i] : "(null)");
        CHECK(!cp_duration_parse_age(bad[i], &s));
        CHECK_EQ(s, 42);
    }
}

int main(void)
{
    RUN(units_and_counts);
    RUN(refuses_everything_else);
    RUN(ages);
    TEST_END();
}
