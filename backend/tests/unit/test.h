/* test.h: a minimal test harness. Each test file is one executable; each
 * TEST runs in order and a failed CHECK records the failure and continues. */
#ifndef CP_TEST_H
#define CP_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_failed, t_passed, t_cur_failed;
static const char *t_name;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, t_name, #cond); \
            t_cur_failed = 1;                                                          \
        }                                                                              \
    } while (0)

#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK_STR(a, b)                                                                          \
    do {                                                                                         \
        const char *a_ = (a), *b_ = (b);                                                         \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                 \
            fprintf(stderr, "  FAIL %s:%d [%s]: \"%s\" != \"%s\"\n", __FILE__, __LINE__, t_name, \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                     \
            t_cur_failed = 1;                                                                    \
        }                                                                                        \
    } while (0)

#define TEST(name) static void name(void)
#define RUN(name)                                 \
    do {                                          \
        t_name = #name;                           \
        t_cur_failed = 0;                         \
        name();                                   \
        if (t_cur_failed) t_failed++;             \
        else t_passed++;                          \
        printf("%s %s\n", t_cur_failed ? "not ok" : "ok", #name); \
    } while (0)
#define TEST_END()                                          \
    do {                                                    \
        printf("%d passed, %d failed\n", t_passed, t_failed); \
        return t_failed ? 1 : 0;                            \
    } while (0)

#endif
