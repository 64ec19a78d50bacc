/* Unit tests for engine/proc: exec errors through the error pipe, an env built
 * from nothing, bounded lines, exit codes, timeout with SIGKILL escalation,
 * cancel from another thread, stragglers, fd 3, rlimits, signal reset, setsid. */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "engine/proc.h"
#include "core/json.h"
#include "test.h"

typedef struct {
    cp_strv out, err;
    int truncated;
    pid_t pid;
} capture;

static void on_line(void *ctx, cp_proc_stream st, const char *line, size_t len, bool truncated)
{
    capture *c = ctx;
    char *s = strndup(line, len);
    cp_strv_add(st == CP_PROC_STDOUT ? &c->out : &c->err, s);
    free(s);
    c->truncated += truncated;
}

static void on_start(void *ctx, pid_t pid)
{
    ((capture *)ctx)->pid = pid;
}

static char *envp_min[] = {"PATH=/usr/bin:/bin", NULL};

/* Runs /bin/sh -c script. */
static cp_result sh(const char *script, cp_proc_spec *extra, capture *c, cp_proc_result *res, cp_error *err)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    cp_proc_spec s = extra ? *extra : (cp_proc_spec){.pass_fd = -1};
    s.path = "/bin/sh";
    s.argv = argv;
    if (!s.envp) s.envp = envp_min;
    s.on_line = on_line;
    s.on_start = on_start;
    s.ctx = c;
    cp_strv_init(&c->out);
    cp_strv_init(&c->err);
    c->truncated = 0;
    return cp_proc_run(&s, res, err);
}

static void cap_free(capture *c)
{
    cp_strv_free(&c->out);
    cp_strv_free(&c->err);
}

TEST(exec_failure_reaches_the_parent)
{
    char *argv[] = {"/nonexistent/tofu", NULL};
    cp_proc_spec s = {.path = "/nonexistent/tofu", .argv = argv, .envp = envp_min, .pass_fd = -1};
    cp_proc_result res;
    cp_error e;
    CHECK_EQ(cp_proc_run(&s, &res, &e), CP_ERR);
    CHECK(strstr(e.message, "cannot start /nonexistent/tofu: exec: No such file or directory") != NULL);
    s.path = "/bin/true";
    s.cwd = "/nonexistent-dir";
    CHECK_EQ(cp_proc_run(&s, &res, &e), CP_ERR);
    CHECK(strstr(e.message, "chdir") != NULL);
}

TEST(environment_is_exactly_what_was_given)
{
    char *argv[] = {"/usr/bin/env", NULL};
    char *envp[] = {"ONLY=this", "TF_IN_AUTOMATION=1", NULL};
    capture c;
    cp_strv_init(&c.out);
    cp_strv_init(&c.err);
    setenv("CP_SHOULD_NOT_LEAK", "x", 1);
    cp_proc_spec s = {.path = "/usr/bin/env", .argv = argv, .envp = envp, .pass_fd = -1, .on_line = on_line, .ctx = &c};
    cp_proc_result res;
    CHECK_EQ(cp_proc_run(&s, &res, NULL), CP_OK);
    CHECK_EQ(res.exit_code, 0);
    CHECK_EQ(c.out.n, 2u);
    CHECK_STR(c.out.n > 0 ? c.out.v[0] : NULL, "ONLY=this");
    CHECK_STR(c.out.n > 1 ? c.out.v[1] : NULL, "TF_IN_AUTOMATION=1");
    cap_free(&c);
}

TEST(lines_streams_exit_codes)
{
    capture c;
    cp_proc_result res;
    cp_proc_spec x = {.pass_fd = -1, .max_line = 1000};
    CHECK_EQ(sh("printf 'a\\r\\nb'; echo err >&2; head -c 5000 /dev/zero | tr '\\0' z; echo; echo after; exit 3", &x,
                &c, &res, NULL),
             CP_OK);
    CHECK_EQ(res.exit_code, 3);
    CHECK_EQ(c.out.n, 3u);
    if (c.out.n == 3) {
        CHECK_STR(c.out.v[0], "a");
        CHECK_EQ(strlen(c.out.v[1]), 1000u); /* "b" + 999 z: cut at max_line, the rest dropped */
        CHECK(c.out.v[1][0] == 'b');
        CHECK_STR(c.out.v[2], "after");
    }
    CHECK_EQ(c.truncated, 1);
    CHECK_EQ(c.err.n, 1u);
    CHECK_STR(c.err.n ? c.err.v[0] : NULL, "err");
    cap_free(&c);
}

TEST(capture_whole_stdout)
{
    capture c;
    cp_proc_result res;
    cp_buf b;
    cp_buf_init(&b, 1 << 20);
    cp_proc_spec x = {.pass_fd = -1, .capture_stdout = &b};
    CHECK_EQ(sh("head -c 300000 /dev/zero | tr '\\0' q; echo hi >&2", &x, &c, &res, NULL), CP_OK);
    CHECK_EQ(b.len, 300000u);
    CHECK(!res.capture_overflow);
    CHECK_EQ(c.out.n, 0u);
    CHECK_EQ(c.err.n, 1u);
    cap_free(&c);
    cp_buf_free(&b);
    cp_buf_init(&b, 1000);
    CHECK_EQ(sh("head -c 5000 /dev/zero", &x, &c, &res, NULL), CP_OK);
    CHECK(res.capture_overflow);
    cap_free(&c);
    cp_buf_free(&b);
}

TEST(timeout_interrupts_then_kills)
{
    capture c;
    cp_proc_result res;
    /* A child that ignores SIGINT needs the SIGKILL after the grace period. */
    cp_proc_spec x = {.pass_fd = -1, .timeout_ms = 300, .grace_ms = 300};
    int64_t t0 = cp_mono_ms();
    CHECK_EQ(sh("trap '' INT; sleep 30", &x, &c, &res, NULL), CP_OK);
    int64_t ms = cp_mono_ms() - t0;
    CHECK(res.timed_out && !res.canceled);
    CHECK(res.killed);
    CHECK_EQ(res.term_signal, SIGKILL);
    CHECK(ms >= 550 && ms < 3000);
    cap_free(&c);
    /* One that obeys SIGINT ends at the interrupt. */
    x.grace_ms = 10000;
    t0 = cp_mono_ms();
    CHECK_EQ(sh("sleep 30", &x, &c, &res, NULL), CP_OK);
    CHECK(res.timed_out && !res.killed);
    CHECK(cp_mono_ms() - t0 < 3000);
    cap_free(&c);
}

static void *cancel_later(void *p)
{
    usleep(200 * 1000);
    cp_proc_cancel_request(p);
    return NULL;
}

TEST(cancel_from_another_thread)
{
    cp_proc_cancel *cancel = cp_proc_cancel_new();
    capture c;
    cp_proc_result res;
    cp_proc_spec x = {.pass_fd = -1, .grace_ms = 5000, .cancel = cancel};
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, cancel);
    int64_t t0 = cp_mono_ms();
    CHECK_EQ(sh("sleep 30", &x, &c, &res, NULL), CP_OK);
    pthread_join(t, NULL);
    CHECK(res.canceled);
    CHECK_EQ(res.term_signal, SIGINT);
    CHECK(cp_mono_ms() - t0 < 3000);
    cap_free(&c);
    /* Sticky: nothing starts after a cancel. */
    cp_error e;
    CHECK_EQ(sh("true", &x, &c, &res, &e), CP_EAGAIN);
    cap_free(&c);
    cp_proc_cancel_free(cancel);
}

TEST(stragglers_do_not_hold_the_run)
{
    capture c;
    cp_proc_result res;
    int64_t t0 = cp_mono_ms();
    CHECK_EQ(sh("sleep 30 & echo started", NULL, &c, &res, NULL), CP_OK);
    CHECK(cp_mono_ms() - t0 < 3000);
    CHECK_EQ(res.exit_code, 0);
    CHECK_STR(c.out.n ? c.out.v[0] : NULL, "started");
    cap_free(&c);
}

TEST(fd3_rlimits_session_and_signals)
{
    int fd = memfd_create("cp-test", MFD_CLOEXEC);
    CHECK(write(fd, "from-memfd", 10) == 10);
    capture c;
    cp_proc_result res;
    cp_proc_spec x = {.pass_fd = fd, .rlimit_nofile = 123};
    CHECK_EQ(
        sh("cat /proc/self/fd/3; echo; ulimit -n; ulimit -c; cut -d' ' -f6 /proc/$$/stat; ls /proc/self/fd | wc -l", &x,
           &c, &res, NULL),
        CP_OK);
    CHECK_EQ(c.out.n, 5u);
    if (c.out.n == 5) {
        CHECK_STR(c.out.v[0], "from-memfd");
        CHECK_STR(c.out.v[1], "123");
        CHECK_STR(c.out.v[2], "0");
        char sid[32];
        snprintf(sid, sizeof sid, "%d", (int)c.pid);
        CHECK_STR(c.out.v[3], sid);               /* its own session (and process group) */
        CHECK(strtol(c.out.v[4], NULL, 10) <= 6); /* 0, 1, 2, 3, ls's own dir fd: nothing leaked */
    }
    cap_free(&c);
    close(fd);

    /* Ignored in the parent, default again in the child. */
    signal(SIGINT, SIG_IGN);
    CHECK_EQ(sh("kill -INT $$; echo survived", NULL, &c, &res, NULL), CP_OK);
    CHECK_EQ(res.term_signal, SIGINT);
    CHECK_EQ(c.out.n, 0u);
    cap_free(&c);
    /* Unless it is a wrapper that must outlive the interrupt. */
    cp_proc_spec w = {.pass_fd = -1, .wrapper_ignores_sigint = true};
    CHECK_EQ(sh("kill -INT $$; echo survived", &w, &c, &res, NULL), CP_OK);
    CHECK_STR(c.out.n ? c.out.v[0] : NULL, "survived");
    cap_free(&c);
    signal(SIGINT, SIG_DFL);
}

int main(void)
{
    cp_json_init(); /* as main.c does */
    RUN(exec_failure_reaches_the_parent);
    RUN(environment_is_exactly_what_was_given);
    RUN(lines_streams_exit_codes);
    RUN(capture_whole_stdout);
    RUN(timeout_interrupts_then_kills);
    RUN(cancel_from_another_thread);
    RUN(stragglers_do_not_hold_the_run);
    RUN(fd3_rlimits_session_and_signals);
    TEST_END();
}
