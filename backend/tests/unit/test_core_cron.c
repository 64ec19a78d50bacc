/* Unit tests for core/cron.c: parsing (table of good and bad expressions),
 * zone ids, next fire times across DST gaps and overlaps (table), and a
 * cross-check of random expressions against Python's croniter + zoneinfo
 * (cron_check.py; skipped when croniter is not installed). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cron.h"
#include "core/timeutil.h"
#include "test.h"

static int64_t iso(const char *s)
{
    int64_t ms = -1;
    if (!cp_time_parse_iso(s, &ms)) fprintf(stderr, "bad test time %s\n", s);
    return ms;
}

TEST(parse_table)
{
    static const char *const good[] = {
        "* * * * *",
        "0 18 * * 1-5",
        "*/15 8-18 * * MON-FRI",
        "0 0 1,15 * *",
        "5/20 * * * *",
        "0 12 1-7/2 JAN,jul *",
        "59 23 31 12 7",
        "0 0 * * sun",
        "  0   9 * * *  ",
        "0-59/7 0,12 * 1-12/3 0-6",
    };
    static const char *const bad[] = {
        "",
        "* * * *",
        "* * * * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * 32 * *",
        "* * * 13 *",
        "* * * * 8",
        "*/0 * * * *",
        "5-1 * * * *",
        "a * * * *",
        "1,,2 * * * *",
        "1, * * * *",
        "MON * * * *",
        "* * * * MONDAY",
        "-1 * * * *",
        "*/60 * * * *",
        "1000 * * * *",
        "* * * JANUARY *",
        "*/ * * * *",
        "1-2-3 * * * *",
        "@daily",
        "* * * * 1/",
    };
    cp_cron c;
    cp_error e;
    for (size_t i = 0; i < CP_ARRAY_LEN(good); i++) {
        cp_result r = cp_cron_parse(good[i], "schedule.stop", &c, &e);
        if (r != CP_OK) fprintf(stderr, "  refused good '%s': %s\n", good[i], e.message);
        CHECK_EQ(r, CP_OK);
    }
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        cp_result r = cp_cron_parse(bad[i], "schedule.stop", &c, &e);
        if (r != CP_EUNPROC) fprintf(stderr, "  accepted bad '%s'\n", bad[i]);
        CHECK_EQ(r, CP_EUNPROC);
        if (r == CP_EUNPROC) {
            CHECK_STR(e.code, "invalid_cron");
            CHECK_STR(e.field, "schedule.stop");
        }
    }
    CHECK_EQ(cp_cron_parse("5/20 * * * *", "f", &c, &e), CP_OK);
    CHECK_EQ(c.minute, (1ULL << 5) | (1ULL << 25) | (1ULL << 45));
    CHECK_EQ(cp_cron_parse("0 0 * * 7", "f", &c, &e), CP_OK);
    CHECK_EQ(c.dow, 1u); /* 7 is Sunday */
    CHECK(c.dom_star && !c.dow_star);
    CHECK_EQ(cp_cron_parse("0 0 * 1-12/3 SUN-sat", "f", &c, &e), CP_OK);
    CHECK_EQ(c.month, (1u << 1) | (1u << 4) | (1u << 7) | (1u << 10));
    CHECK_EQ(c.dow, 0x7fu);
}

TEST(zones)
{
    static const char *const good[] = {"UTC",       "Europe/Berlin",       "America/Argentina/Buenos_Aires",
                                       "Etc/GMT+5", "Australia/Lord_Howe", "Asia/Kolkata"};
    static const char *const bad[] = {"",      "Mars/Olympus",   "Europe/Berlin ",     "../etc/passwd",
                                      "GMT+5", "europe\\berlin", "Europe/Berlin/Mitte"};
    for (size_t i = 0; i < CP_ARRAY_LEN(good); i++) CHECK(cp_cron_tz_valid(good[i]));
    for (size_t i = 0; i < CP_ARRAY_LEN(bad); i++) {
        if (cp_cron_tz_valid(bad[i])) fprintf(stderr, "  accepted zone '%s'\n", bad[i]);
        CHECK(!cp_cron_tz_valid(bad[i]));
    }
    CHECK(!cp_cron_tz_valid(NULL));
    cp_cron c;
    cp_error e;
    int64_t at;
    CHECK_EQ(cp_cron_parse("* * * * *", "f", &c, &e), CP_OK);
    CHECK_EQ(cp_cron_next(&c, "Nowhere/Town", 0, &at, &e), CP_EUNPROC);
}

TEST(next_table)
{
    static const struct {
        const char *expr, *tz, *after, *want; /* want NULL: never fires */
    } cases[] = {
        /* Europe/Berlin springs forward 2026-03-29 02:00 CET -> 03:00 CEST (01:00Z):
         * 02:30 does not exist and fires once, when the gap ends. */
        {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
        {"30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
        {"*/15 2 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T01:00:00Z"},
        {"*/15 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"},
        {"0 3 * * *", "Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T01:00:00Z"},
        /* Falls back 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z): 02:30 happens
         * twice and fires once, at the first. */
        {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
        {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
        {"30 2 * * *", "Europe/Berlin", "2026-10-25T01:10:00Z", "2026-10-26T01:30:00Z"},
        {"0 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"},
        /* Working hours. */
        {"0 18 * * 1-5", "Europe/Berlin", "2026-11-27T17:30:00Z", "2026-11-30T17:00:00Z"},
        {"0 8 * * MON-FRI", "America/New_York", "2026-03-07T00:00:00Z", "2026-03-09T12:00:00Z"},
        {"30 9 * * *", "Asia/Kolkata", "2026-06-01T00:00:00Z", "2026-06-01T04:00:00Z"},
        /* Lord Howe moves 30 minutes: 02:00 -> 02:30 on 2026-10-04. */
        {"15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00Z", "2026-10-03T15:30:00Z"},
        /* Fields. */
        {"0 0 13 * FRI", "UTC", "2026-11-01T00:00:00Z", "2026-11-06T00:00:00Z"},
        {"0 0 13 * *", "UTC", "2026-11-01T00:00:00Z", "2026-11-13T00:00:00Z"},
        {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
        {"*/7 * * * *", "UTC", "2026-06-01T00:59:30Z", "2026-06-01T01:00:00Z"},
        {"0 12 1-7/2 JAN,jul *", "UTC", "2026-06-01T00:00:00Z", "2026-07-01T12:00:00Z"},
        {"5/20 * * * *", "UTC", "2026-06-01T00:30:00Z", "2026-06-01T00:45:00Z"},
        {"0 0 * * 7", "UTC", "2026-11-30T00:00:00Z", "2026-12-06T00:00:00Z"},
        {"* * * * *", "UTC", "2026-06-01T00:00:00Z", "2026-06-01T00:01:00Z"},
        {"* * * * *", "UTC", "2026-06-01T00:00:00.001Z", "2026-06-01T00:01:00Z"},
        {"0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", NULL},
    };
    for (size_t i = 0; i < CP_ARRAY_LEN(cases); i++) {
        cp_cron c;
        cp_error e;
        int64_t at = 0;
        CHECK_EQ(cp_cron_parse(cases[i].expr, "f", &c, &e), CP_OK);
        cp_result r = cp_cron_next(&c, cases[i].tz, iso(cases[i].after), &at, &e);
        if (!cases[i].want) {
            CHECK_EQ(r, CP_ENOTFOUND);
            continue;
        }
        char got[32];
        cp_time_iso(at, got, sizeof got);
        if (r != CP_OK || at != iso(cases[i].want))
            fprintf(stderr, "  '%s' %s after %s: got %s (%d), want %s\n", cases[i].expr, cases[i].tz, cases[i].after,
                    r == CP_OK ? got : e.message, (int)r, cases[i].want);
        CHECK(r == CP_OK && at == iso(cases[i].want));
    }
}

/* ---- cross-check against croniter ---- */

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void rand_field(char *out, size_t cap, int lo, int hi)
{
    int span = hi - lo + 1, a = lo + (int)(next_rand() % (uint64_t)span), b = lo + (int)(next_rand() % (uint64_t)span);
    if (a > b) {
        int t = a;
        a = b, b = t;
    }
    /* croniter (6.x) misreads a range whose ends are equal ("5-5", "10-10/3"). */
    if (a == b) a > lo ? a-- : b++;
    switch (next_rand() % 6) {
    case 0:
        snprintf(out, cap, "*");
        break;
    case 1:
        snprintf(out, cap, "%d", a);
        break;
    case 2:
        snprintf(out, cap, "%d-%d", a, b);
        break;
    case 3:
        snprintf(out, cap, "*/%d", 1 + (int)(next_rand() % 6));
        break;
    case 4:
        snprintf(out, cap, "%d,%d", a, b);
        break;
    default:
        snprintf(out, cap, "%d-%d/%d", a, b, 1 + (int)(next_rand() % 3));
        break;
    }
}

TEST(cross_check_croniter)
{
    static const char *const zones[] = {"UTC",        "Europe/Berlin",    "America/New_York",
                                        "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"};
    enum { N = 400 };
    char path[] = "/tmp/cp-cron-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    FILE *f = fdopen(fd, "w");
    static char exprs[N][128];
    static int64_t afters[N], mine[N];
    static const char *tzs[N];
    static bool ok[N];
    for (int i = 0; i < N; i++) {
        char m[24], h[24], dom[24], mon[24], dow[24];
        rand_field(m, sizeof m, 0, 59);
        rand_field(h, sizeof h, 0, 23);
        rand_field(dom, sizeof dom, 1, 28);
        rand_field(mon, sizeof mon, 1, 12);
        rand_field(dow, sizeof dow, 0, 6);
        snprintf(exprs[i], sizeof exprs[i], "%s %s %s %s %s", m, h, dom, mon, dow);
        tzs[i] = zones[next_rand() % CP_ARRAY_LEN(zones)];
        /* 2025..2030, whole seconds */
        afters[i] = (1735689600LL + (int64_t)(next_rand() % (6ULL * 365 * 86400))) * 1000;
        cp_cron c;
        cp_error e;
        ok[i] =
            cp_cron_parse(exprs[i], "f", &c, &e) == CP_OK && cp_cron_next(&c, tzs[i], afters[i], &mine[i], &e) == CP_OK;
        CHECK(ok[i]);
        fprintf(f, "%s|%s|%lld\n", exprs[i], tzs[i], (long long)afters[i]);
    }
    fclose(f);
    const char *src = getenv("CP_SOURCE_DIR");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "python3 %s/tests/unit/cron_check.py %s 2>/dev/null", src ? src : "backend", path);
    FILE *p = popen(cmd, "r");
    int got = 0, mismatches = 0;
    char line[64];
    while (p && got < N && fgets(line, sizeof line, p)) {
        long long theirs = strtoll(line, NULL, 10);
        if (ok[got] && theirs != mine[got] && mismatches++ < 10) {
            char a[32], b[32], c[32];
            cp_time_iso(afters[got], a, sizeof a);
            cp_time_iso(mine[got], b, sizeof b);
            cp_time_iso(theirs, c, sizeof c);
            fprintf(stderr, "  '%s' %s after %s: cron.c %s, croniter %s\n", exprs[got], tzs[got], a, b, c);
        }
        got++;
    }
    int status = p ? pclose(p) : -1;
    unlink(path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) SKIP("croniter is not installed (pip install croniter)");
    CHECK_EQ(status, 0);
    CHECK_EQ(got, N);
    CHECK_EQ(mismatches, 0);
    printf("# cross-checked %d expressions against croniter\n", got);
}

int main(void)
{
    RUN(parse_table);
    RUN(zones);
    RUN(next_table);
    RUN(cross_check_croniter);
    TEST_END();
}
