/* Unit tests for core/: buffers, arena, ids, time and deadlines, json checks,
 * errors, config, allocation helpers, the process's host id and paths. */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/self.h"
#include "core/timeutil.h"
#include "core/xalloc.h"
#include "test.h"

TEST(buf_respects_max)
{
    cp_buf b;
    cp_buf_init(&b, 8);
    CHECK_EQ(cp_buf_adds(&b, "1234"), CP_OK);
    CHECK_EQ(cp_buf_adds(&b, "5678"), CP_OK);
    CHECK_EQ(cp_buf_adds(&b, "9"), CP_ETOOBIG);
    CHECK_STR(cp_buf_cstr(&b), "12345678");
    CHECK_EQ(cp_buf_printf(&b, "%d", 1), CP_ETOOBIG);
    cp_buf_reset(&b);
    CHECK_EQ(cp_buf_printf(&b, "%s-%d", "ab", 42), CP_OK);
    CHECK_STR(cp_buf_cstr(&b), "ab-42");
    cp_buf_free(&b);
}

static int cleaned;
static void on_clean(void *p)
{
    cleaned += *(int *)p;
}

TEST(arena_allocates_and_cleans_up)
{
    cp_arena *a = cp_arena_new(64);
    char *s = cp_arena_strdup(a, "hello");
    char *big = cp_arena_alloc(a, 10000); /* larger than a chunk */
    big[9999] = 'x';
    char *f = cp_arena_printf(a, "%s %d", s, 7);
    CHECK_STR(f, "hello 7");
    CHECK_EQ(((uintptr_t)cp_arena_alloc(a, 3)) % 16, 0u);
    static int one = 1, two = 2;
    cleaned = 0;
    cp_arena_defer(a, on_clean, &one);
    cp_arena_defer(a, on_clean, &two);
    cp_arena_free(a);
    CHECK_EQ(cleaned, 3);
}

TEST(ids_are_valid_unique_and_time_ordered)
{
    char a[CP_ID_LEN + 1], b[CP_ID_LEN + 1];
    cp_id_new(a);
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
    cp_id_new(b);
    CHECK(cp_id_valid(a));
    CHECK(cp_id_valid(b));
    CHECK(strcmp(a, b) < 0);
    CHECK(!cp_id_valid("short"));
    CHECK(!cp_id_valid("0123456789abcdefghjkmnpqrU"));
    CHECK(!cp_id_valid("../../etc/passwd0000000000"));
}

TEST(id_new_after_sorts_after_the_last)
{
    char id[CP_ID_LEN + 1], late[CP_ID_LEN + 1] = "7zzzzzzzzzzzzzzzzzzzzzzzzy";
    CHECK(cp_id_new_after(NULL, id));
    CHECK(cp_id_valid(id));
    CHECK(cp_id_new_after(late, id)); /* a fresh id sorts before it: last plus one */
    CHECK_STR(id, "7zzzzzzzzzzzzzzzzzzzzzzzzz");
    CHECK(cp_id_new_after("01jabcdefghjkmnpqrstvwxyzz", id)); /* carry into the next digit, or a fresh later id */
    CHECK(strcmp(id, "01jabcdefghjkmnpqrstvwxyzz") > 0);
    CHECK(!cp_id_new_after("7zzzzzzzzzzzzzzzzzzzzzzzzz", id));
}

TEST(time_iso_round_trip)
{
    char buf[40];
    cp_time_iso(1764104193123LL, buf, sizeof buf);
    CHECK_STR(buf, "2025-11-25T20:56:33.123Z");
    int64_t ms = 0;
    CHECK(cp_time_parse_iso(buf, &ms));
    CHECK_EQ(ms, 1764104193123LL);
    CHECK(cp_time_parse_iso("2025-11-25T20:56:33Z", &ms));
    CHECK_EQ(ms, 1764104193000LL);
    CHECK(!cp_time_parse_iso("2025-11-25 20:56:33", &ms));
    CHECK(!cp_time_parse_iso("2025-11-25T20:56:33.Z", &ms));
}

TEST(deadline_is_monotonic_now_plus_ms)
{
    struct timespec before, after;
    clock_gettime(CLOCK_MONOTONIC, &before);
    struct timespec d = cp_deadline_ts(1999);
    clock_gettime(CLOCK_MONOTONIC, &after);
    CHECK(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
    int64_t dn = (int64_t)d.tv_sec * 1000000000LL + d.tv_nsec;
    int64_t bn = (int64_t)before.tv_sec * 1000000000LL + before.tv_nsec;
    int64_t an = (int64_t)after.tv_sec * 1000000000LL + after.tv_nsec;
    CHECK(dn >= bn + 1999000000LL);
    CHECK(dn <= an + 1999000000LL);
    struct timespec z = cp_deadline_ts(0), neg = cp_deadline_ts(-5);
    clock_gettime(CLOCK_MONOTONIC, &after);
    CHECK(z.tv_sec <= after.tv_sec && neg.tv_sec <= after.tv_sec);
}

TEST(self_host_id_is_host_dash_pid)
{
    char id[128], host[64] = "";
    cp_self_host_id(id, sizeof id);
    CHECK_EQ(gethostname(host, sizeof host - 1), 0);
    char want[128];
    snprintf(want, sizeof want, "%s-%ld", host, (long)getpid());
    CHECK_STR(id, want);
    char small[4];
    cp_self_host_id(small, sizeof small); /* cut, still terminated */
    CHECK_EQ(strlen(small), 3u);
}

TEST(self_near_exe_finds_a_dir_beside_the_binary)
{
    char exe[2048], dir[4096], got[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(exe, '/');
    CHECK(slash != NULL);
    if (slash) *slash = '\0';
    char rel[64];
    snprintf(rel, sizeof rel, "near-exe-%ld/x", (long)getpid());
    snprintf(dir, sizeof dir, "%s/near-exe-%ld", exe, (long)getpid());
    CHECK_EQ(mkdir(dir, 0700), 0);
    snprintf(dir, sizeof dir, "%s/%s", exe, rel);
    CHECK_EQ(mkdir(dir, 0700), 0);
    CHECK(cp_self_near_exe(rel, 1, got, sizeof got));
    CHECK_STR(got, dir);
    /* Not there, or out too small: rel itself, relative to the working dir. */
    CHECK(!cp_self_near_exe("no-such-dir-here/at-all", 3, got, sizeof got));
    CHECK_STR(got, "no-such-dir-here/at-all");
    rmdir(dir);
    snprintf(dir, sizeof dir, "%s/near-exe-%ld", exe, (long)getpid());
    rmdir(dir);
}

static const cp_json_field fields[] = {
    {.name = "name", .type = CP_JF_STRING, .required = true, .min_len = 2, .max_len = 5},
    {.name = "n", .type = CP_JF_INT, .min = 1, .max = 10},
    {.name = "opt", .type = CP_JF_BOOL, .nullable = true},
};

static cp_result check_text(const char *text, cp_error *e)
{
    cp_error_clear(e);
    json_t *j = cp_json_parse(text, strlen(text), e);
    if (!j) return e->result;
    cp_result r = cp_json_check(j, fields, 3, e);
    json_decref(j);
    return r;
}

TEST(json_check_rules)
{
    cp_error e;
    CHECK_EQ(check_text("{\"name\":\"abc\",\"n\":3,\"opt\":null}", &e), CP_OK);
    CHECK_EQ(check_text("{\"name\":\"abc\"", &e), CP_EINVAL);
    CHECK_STR(e.code, "malformed_json");
    CHECK_EQ(check_text("{\"name\":\"abc\",\"extra\":1}", &e), CP_EINVAL);
    CHECK_STR(e.field, "extra");
    CHECK_EQ(check_text("{\"n\":3}", &e), CP_EUNPROC);
    CHECK_STR(e.field, "name");
    CHECK_EQ(check_text("{\"name\":5}", &e), CP_EUNPROC);
    CHECK_STR(e.code, "invalid_type");
    CHECK_EQ(check_text("{\"name\":\"toolong\"}", &e), CP_EUNPROC);
    CHECK_STR(e.code, "too_long");
    CHECK_EQ(check_text("{\"name\":\"ab\",\"n\":11}", &e), CP_EUNPROC);
    CHECK_STR(e.field, "n");
    CHECK_EQ(check_text("{\"name\":\"ab\",\"n\":1.5}", &e), CP_EUNPROC);
    CHECK_EQ(check_text("[1,2]", &e), CP_EINVAL);
    CHECK_EQ(check_text("{\"name\":\"ab\",\"name\":\"cd\"}", &e), CP_EINVAL);
    CHECK_EQ(check_text("", &e), CP_EINVAL);
    /* Lengths count characters as JSON Schema's maxLength does, not bytes: five
     * two-byte and four-byte characters fit max_len 5, six do not, one is too short. */
    CHECK_EQ(check_text("{\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", &e), CP_OK);
    CHECK_EQ(check_text("{\"name\":\"\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\"}", &e),
             CP_OK);
    CHECK_EQ(check_text("{\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}", &e), CP_EUNPROC);
    CHECK_STR(e.code, "too_long");
    CHECK_EQ(check_text("{\"name\":\"\\ud83d\\ude00\"}", &e), CP_EUNPROC);
    CHECK_STR(e.code, "too_short");
    CHECK_EQ(cp_utf8_len("a\xc3\xa9\xf0\x9f\x98\x80", 7), 3);
    CHECK_EQ(cp_utf8_len("a\xc3\xa9", 2), 2); /* counts only the first len bytes */
}

TEST(error_maps_to_http)
{
    CHECK_EQ(cp_result_http(CP_EINVAL), 400);
    CHECK_EQ(cp_result_http(CP_EAUTH), 401);
    CHECK_EQ(cp_result_http(CP_ENOTFOUND), 404);
    CHECK_EQ(cp_result_http(CP_EMETHOD), 405);
    CHECK_EQ(cp_result_http(CP_ECONFLICT), 409);
    CHECK_EQ(cp_result_http(CP_ETOOBIG), 413);
    CHECK_EQ(cp_result_http(CP_EMEDIA), 415);
    CHECK_EQ(cp_result_http(CP_EUNPROC), 422);
    CHECK_EQ(cp_result_http(CP_ERATE), 429);
    CHECK_EQ(cp_result_http(CP_ERR), 500);
}

/* A bounded %.Ns or a full buffer that cuts a character of user input in two
 * must still leave text JSON can carry (else the error body is lost). */
TEST(error_text_stays_valid_utf8_when_cut)
{
    cp_error e;
    /* "é€😀" cut after 1, 2 and 5 bytes: each cut leaves half a character. */
    const char *in = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    for (int cut = 1; cut <= 8; cut++) {
        cp_error_set(&e, CP_EINVAL, "unknown_field", in, "no field '%.*s' here", cut, in);
        json_t *m = json_string(e.message), *f = json_string(e.field);
        CHECK(m != NULL);
        CHECK(f != NULL);
        json_decref(m);
        json_decref(f);
    }
    cp_error_set(&e, CP_EINVAL, NULL, NULL, "'%.3s'", in); /* é and the first byte of € */
    CHECK_STR(e.message, "'\xc3\xa9'");
    cp_error_set(&e, CP_EINVAL, NULL, NULL,
                 "a\xed\xa0\x80"
                 "b\xc0\xaf"
                 "c"); /* a surrogate and an overlong '/' */
    CHECK_STR(e.message, "abc");
    /* The field buffer is 64 bytes: 40 two-byte characters overflow it mid-character. */
    char longf[81];
    for (int i = 0; i < 40; i++) memcpy(longf + 2 * i, "\xc3\xa9", 2);
    longf[80] = '\0';
    cp_error_set(&e, CP_EINVAL, NULL, longf, "x");
    CHECK_EQ(strlen(e.field), 62);
}

TEST(error_reason_sets_its_code_and_plain_errors_have_none)
{
    cp_error e;
    cp_error_clear(&e);
    CHECK_EQ(e.reason, CP_REASON_NONE);
    CHECK_EQ(cp_error_set_reason(&e, CP_ECONFLICT, CP_REASON_STATE_LOCKED, NULL, "held by %s", "x"), CP_ECONFLICT);
    CHECK_EQ(e.reason, CP_REASON_STATE_LOCKED);
    CHECK_STR(e.code, "state_locked");
    CHECK_STR(e.message, "held by x");
    CHECK_EQ(cp_error_set(&e, CP_ERR, "canceled", NULL, "plain"), CP_ERR);
    CHECK_EQ(e.reason, CP_REASON_NONE); /* only cp_error_set_reason sets a reason */
    CHECK_STR(cp_reason_code(CP_REASON_CANCELED), "canceled");
    CHECK_STR(cp_reason_code(CP_REASON_TIMED_OUT), "timed_out");
    CHECK_STR(cp_reason_code(CP_REASON_TOFU_FAILED), "tofu_failed");
    CHECK_STR(cp_reason_code(CP_REASON_LEASE_LOST), "lease_lost");
    CHECK(cp_reason_code(CP_REASON_NONE) == NULL);
    CHECK_EQ(cp_error_set_reason(NULL, CP_ERR, CP_REASON_CANCELED, NULL, "no err"), CP_ERR);
}

TEST(config_defaults_env_flags_and_errors)
{
    cp_config c;
    bool help;
    char err[256];
    unsetenv("CLOUDPLANE_LISTEN");
    setenv("CLOUDPLANE_WORKERS", "5", 1);
    char *argv1[] = {"serve", "--listen", "127.0.0.1:9999", "--access-log=false", NULL};
    CHECK_EQ(cp_config_load(&c, 4, argv1, &help, err, sizeof err), CP_OK);
    CHECK_STR(c.listen, "127.0.0.1:9999");
    CHECK_STR(c.data_dir, "./var");
    CHECK_EQ(c.workers, 5);
    CHECK(!c.access_log);
    CHECK(!help);
    cp_config_free(&c);

    char *argv2[] = {"serve", "--workers", "999", NULL};
    CHECK_EQ(cp_config_load(&c, 3, argv2, &help, err, sizeof err), CP_EINVAL);
    CHECK(strstr(err, "--workers") && strstr(err, "[0, 64]"));
    cp_config_free(&c);

    char *argv3[] = {"serve", "--nope", NULL};
    CHECK_EQ(cp_config_load(&c, 2, argv3, &help, err, sizeof err), CP_EINVAL);
    CHECK(strstr(err, "unknown flag"));
    cp_config_free(&c);

    setenv("CLOUDPLANE_WORKERS", "abc", 1);
    char *argv4[] = {"serve", NULL};
    CHECK_EQ(cp_config_load(&c, 1, argv4, &help, err, sizeof err), CP_EINVAL);
    CHECK(strstr(err, "CLOUDPLANE_WORKERS") && strstr(err, "environment"));
    cp_config_free(&c);
    unsetenv("CLOUDPLANE_WORKERS");

    setenv("CLOUDPLANE_JWT_SECRET", "not-a-number", 1);
    char *argv5[] = {"serve", "--lease-seconds", "5", "--heartbeat-seconds", "5", NULL};
    CHECK_EQ(cp_config_load(&c, 5, argv5, &help, err, sizeof err), CP_EINVAL);
    CHECK(strstr(err, "heartbeat"));
    cp_config_free(&c);
    unsetenv("CLOUDPLANE_JWT_SECRET");
}

static char *vformat(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *vformat(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = cp_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

TEST(xalloc_returns_usable_memory)
{
    char *p = cp_xmalloc(0);
    CHECK(p != NULL);
    free(p);
    int *z = cp_xcalloc(16, sizeof *z);
    int sum = 0;
    for (int i = 0; i < 16; i++) sum |= z[i];
    CHECK_EQ(sum, 0);
    z[15] = 7;
    z = cp_xreallocarray(z, 1024, sizeof *z);
    CHECK_EQ(z[15], 7);
    z = cp_xrealloc(z, 0); /* still a live pointer, not freed */
    CHECK(z != NULL);
    free(z);
    char *s = cp_xstrdup("cloudplane");
    CHECK_STR(s, "cloudplane");
    free(s);
    s = cp_xstrndup("cloudplane", 5);
    CHECK_STR(s, "cloud");
    free(s);
    s = cp_xstrndup("abc", 100);
    CHECK_STR(s, "abc");
    free(s);
    s = cp_xasprintf("%s-%d-%zu", "run", 42, (size_t)7);
    CHECK_STR(s, "run-42-7");
    free(s);
    s = vformat("%s/%d", "plan", 3);
    CHECK_STR(s, "plan/3");
    free(s);
}

TEST(json_init_routes_jansson_through_xalloc_and_a_wiping_free)
{
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    CHECK(m != NULL && m != malloc);
    CHECK(f != NULL && f != free);
    json_t *j = json_pack("{s:s}", "k", "v");
    CHECK_STR(json_string_value(json_object_get(j, "k")), "v");
    json_decref(j);
    /* That it zeroes is seen from outside, in the memory scan of
     * test_request_bodies_with_secrets_are_wiped (integration). */
}

typedef enum { ALLOC_CALLOC_OVERFLOW, ALLOC_REALLOCARRAY_OVERFLOW, ALLOC_MALLOC_HUGE, ALLOC_JSON_HUGE } bad_alloc;

/* Runs one failing allocation in a child; its stderr and how it ended. */
static int child_alloc(bad_alloc what, char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        void *p = NULL;
        volatile size_t huge = SIZE_MAX / 2; /* volatile: keep the compiler from folding it */
        switch (what) {
        case ALLOC_CALLOC_OVERFLOW:
            p = cp_xcalloc(huge, 4);
            break;
        case ALLOC_REALLOCARRAY_OVERFLOW:
            p = cp_xreallocarray(NULL, 3, huge);
            break;
        case ALLOC_MALLOC_HUGE:
            p = cp_xmalloc(huge);
            break;
        case ALLOC_JSON_HUGE: /* jansson copies the string: malloc(huge + 1) fails before any read */
            json_decref(json_stringn_nocheck("", huge));
            break;
        }
        free(p);
        _exit(0); /* reached only if the helper returned */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0) len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return -1;
    return status;
}

TEST(xalloc_failure_logs_one_line_and_aborts)
{
    char out[1024];
    int st = child_alloc(ALLOC_CALLOC_OVERFLOW, out, sizeof out);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(out, "\"level\":\"error\"") != NULL);
    CHECK(strstr(out, "\"call\":\"cp_xcalloc\",\"reason\":\"size overflow\"") != NULL);
    CHECK(strchr(out, '\n') == out + strlen(out) - 1); /* exactly one line */
    json_t *j = json_loads(out, 0, NULL);
    CHECK(j != NULL); /* the same JSON lines as core/log */
    json_decref(j);

    st = child_alloc(ALLOC_REALLOCARRAY_OVERFLOW, out, sizeof out);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(out, "\"call\":\"cp_xreallocarray\",\"reason\":\"size overflow\"") != NULL);

#ifndef __SANITIZE_ADDRESS__
    /* A real malloc failure; under ASan its allocator reports the size itself
     * and exits before malloc can return NULL, so only the normal build checks it. */
    st = child_alloc(ALLOC_MALLOC_HUGE, out, sizeof out);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(out, "\"call\":\"cp_xmalloc\",\"reason\":\"out of memory\"") != NULL);

    /* jansson's own allocations abort the same way after cp_json_init(). */
    st = child_alloc(ALLOC_JSON_HUGE, out, sizeof out);
    CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(out, "\"call\":\"cp_xmalloc\",\"reason\":\"out of memory\"") != NULL);
#endif
}

int main(void)
{
    cp_json_init(); /* as main.c does */
    RUN(buf_respects_max);
    RUN(arena_allocates_and_cleans_up);
    RUN(ids_are_valid_unique_and_time_ordered);
    RUN(id_new_after_sorts_after_the_last);
    RUN(time_iso_round_trip);
    RUN(deadline_is_monotonic_now_plus_ms);
    RUN(self_host_id_is_host_dash_pid);
    RUN(self_near_exe_finds_a_dir_beside_the_binary);
    RUN(json_check_rules);
    RUN(error_maps_to_http);
    RUN(error_text_stays_valid_utf8_when_cut);
    RUN(error_reason_sets_its_code_and_plain_errors_have_none);
    RUN(config_defaults_env_flags_and_errors);
    RUN(xalloc_returns_usable_memory);
    RUN(xalloc_failure_logs_one_line_and_aborts);
    RUN(json_init_routes_jansson_through_xalloc_and_a_wiping_free);
    TEST_END();
}
