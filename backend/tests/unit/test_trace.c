/* Unit tests for core/trace.c and its users: the X-Request-Id validator,
 * made ids, the thread-local id cp_log adds to each line, and its hand-over
 * to the password hashing pool's threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/hashpool.h"
#include "core/log.h"
#include "core/trace.h"
#include "test.h"

TEST(trace_id_validator)
{
    CHECK(cp_trace_id_valid("a"));
    CHECK(cp_trace_id_valid("0123456789abcdef"));
    CHECK(cp_trace_id_valid("ui-7f3a:order.1_X"));
    char max[CP_TRACE_ID_MAX + 2];
    memset(max, 'x', CP_TRACE_ID_MAX);
    max[CP_TRACE_ID_MAX] = '\0';
    CHECK(cp_trace_id_valid(max)); /* 64 */
    max[CP_TRACE_ID_MAX] = 'x';
    max[CP_TRACE_ID_MAX + 1] = '\0';
    CHECK(!cp_trace_id_valid(max)); /* 65 */
    CHECK(!cp_trace_id_valid(NULL));
    CHECK(!cp_trace_id_valid(""));
    CHECK(!cp_trace_id_valid("has space"));
    CHECK(!cp_trace_id_valid("new\nline"));
    CHECK(!cp_trace_id_valid("tab\t"));
    CHECK(!cp_trace_id_valid("esc\x1b[31m"));
    CHECK(!cp_trace_id_valid("quote\""));
    CHECK(!cp_trace_id_valid("a/b"));
    CHECK(!cp_trace_id_valid("caf\xc3\xa9"));
    CHECK(!cp_trace_id_valid("semi;colon"));
}

TEST(trace_id_new_is_prefixed_random_and_valid)
{
    char a[CP_TRACE_ID_MAX + 1], b[CP_TRACE_ID_MAX + 1];
    cp_trace_id_new("", a);
    cp_trace_id_new("", b);
    CHECK_EQ(strlen(a), (size_t)16);
    CHECK(strspn(a, "0123456789abcdef") == 16);
    CHECK(strcmp(a, b) != 0);
    cp_trace_id_new("sched-drift-", a);
    CHECK(strncmp(a, "sched-drift-", 12) == 0 && strlen(a) == 28);
    CHECK(cp_trace_id_valid(a));
    /* A prefix too long is cut so the id still fits and stays valid. */
    char longp[100];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    cp_trace_id_new(longp, a);
    CHECK_EQ(strlen(a), (size_t)CP_TRACE_ID_MAX);
    CHECK(cp_trace_id_valid(a));
}

static void *read_other(void *arg)
{
    *(const char **)arg = cp_trace_get();
    return NULL;
}

TEST(trace_is_per_thread_and_refuses_bad_ids)
{
    cp_trace_set("req-1");
    CHECK_STR(cp_trace_get(), "req-1");
    const char *seen = "unset";
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, read_other, &seen), 0);
    pthread_join(t, NULL);
    CHECK(seen == NULL); /* another thread has none */
    cp_trace_set("bad id\n");
    CHECK(cp_trace_get() == NULL);
    cp_trace_set("req-2");
    cp_trace_set(NULL);
    CHECK(cp_trace_get() == NULL);
}

/* The JSON lines cp_log writes while fn runs (stderr sent to a file). */
static json_t *log_lines(void (*fn)(void))
{
    char path[] = "/tmp/cp-trace-log-XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    fn();
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    json_t *lines = json_array();
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char buf[4096];
    while (fgets(buf, sizeof buf, f)) json_array_append_new(lines, json_loads(buf, 0, NULL));
    fclose(f);
    unlink(path);
    return lines;
}

static void log_some(void)
{
    cp_log_info("no trace yet");
    cp_trace_set("ui-42");
    cp_log_warn("store: something failed");
    cp_log(CP_LOG_INFO, "request", json_pack("{s:s}", "request_id", "named-by-the-line"));
    cp_trace_set(NULL);
    cp_log_info("after");
}

TEST(log_lines_carry_the_thread_trace_id)
{
    json_t *l = log_lines(log_some);
    CHECK_EQ(json_array_size(l), (size_t)4);
    CHECK(json_object_get(json_array_get(l, 0), "request_id") == NULL);
    CHECK_STR(json_string_value(json_object_get(json_array_get(l, 1), "request_id")), "ui-42");
    CHECK_STR(json_string_value(json_object_get(json_array_get(l, 1), "msg")), "store: something failed");
    /* A line that names its own id keeps it. */
    CHECK_STR(json_string_value(json_object_get(json_array_get(l, 2), "request_id")), "named-by-the-line");
    CHECK(json_object_get(json_array_get(l, 3), "request_id") == NULL);
    json_decref(l);
}

typedef struct {
    char seen_done[CP_TRACE_ID_MAX + 1];
} seen;

static void note_done(cp_hashjob *job, void *cls)
{
    CP_UNUSED(job);
    seen *s = cls;
    const char *t = cp_trace_get();
    snprintf(s->seen_done, sizeof s->seen_done, "%s", t ? t : "(none)");
}

TEST(hashpool_threads_work_under_the_submitter_trace_id)
{
    cp_hashpool *p = cp_hashpool_new(1, 4);
    CHECK(p != NULL);
    if (!p) return;
    seen a = {""}, b = {""};
    cp_hashjob ja = {.kind = CP_HASHJOB_DUMMY, .password = "x", .done = note_done, .cls = &a};
    cp_hashjob jb = {.kind = CP_HASHJOB_DUMMY, .password = "x", .done = note_done, .cls = &b};
    cp_trace_set("login-a");
    CHECK(cp_hashpool_submit(p, &ja));
    cp_trace_set(NULL);
    CHECK(cp_hashpool_submit(p, &jb)); /* none: the pool thread must not keep a's */
    cp_hashpool_free(p);               /* drains */
    CHECK_STR(a.seen_done, "login-a");
    CHECK_STR(b.seen_done, "(none)");
}

int main(void)
{
    RUN(trace_id_validator);
    RUN(trace_id_new_is_prefixed_random_and_valid);
    RUN(trace_is_per_thread_and_refuses_bad_ids);
    RUN(log_lines_carry_the_thread_trace_id);
    RUN(hashpool_threads_work_under_the_submitter_trace_id);
    TEST_END();
}
