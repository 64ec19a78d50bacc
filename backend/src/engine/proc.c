#include "engine/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "core/xalloc.h"

#define DEFAULT_MAX_LINE (64 * 1024)
#define TICK_MS 100
#define DRAIN_MS 2000 /* reading what is left after the child ended */
#define READ_CHUNK 16384

/* ---------------------------------------------------------------- strv */

void cp_strv_init(cp_strv *s)
{
    s->v = NULL;
    s->n = s->cap = 0;
}

void cp_strv_add(cp_strv *s, const char *str)
{
    if (s->n + 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        s->v = cp_xreallocarray(s->v, ncap, sizeof *s->v);
        s->cap = ncap;
    }
    s->v[s->n++] = cp_xstrdup(str);
    s->v[s->n] = NULL;
}

void cp_strv_addf(cp_strv *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *str = cp_xvasprintf(fmt, ap);
    va_end(ap);
    cp_strv_add(s, str);
    free(str);
}

void cp_strv_free(cp_strv *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    cp_strv_init(s);
}

/* ---------------------------------------------------------------- cancel */

struct cp_proc_cancel {
    atomic_bool requested;
    atomic_bool hard; /* no grace: SIGKILL at once */
    int pipe[2];      /* a byte in it wakes a waiting poll() */
};

cp_proc_cancel *cp_proc_cancel_new(void)
{
    cp_proc_cancel *c = cp_xcalloc(1, sizeof *c);

    atomic_init(&c->requested, false);
    atomic_init(&c->hard, false);
    if (pipe2(c->pipe, O_CLOEXEC | O_NONBLOCK) != 0) c->pipe[0] = c->pipe[1] = -1;
    return c;
}

void cp_proc_cancel_free(cp_proc_cancel *c)
{
    if (!c) return;
    if (c->pipe[0] >= 0) close(c->pipe[0]);
    if (c->pipe[1] >= 0) close(c->pipe[1]);
    free(c);
}

void cp_proc_cancel_request(cp_proc_cancel *c)
{
    if (!c) return;
    atomic_store(&c->requested, true);
    if (c->pipe[1] >= 0) {
        ssize_t w = write(c->pipe[1], "x", 1);
        (void)w; /* full pipe: already signalled */
    }
}

void cp_proc_cancel_kill(cp_proc_cancel *c)
{
    if (!c) return;
    atomic_store(&c->hard, true);
    cp_proc_cancel_request(c);
}

static bool cancel_hard(const cp_proc_cancel *c)
{
    return c && atomic_load(&((cp_proc_cancel *)c)->hard);
}

bool cp_proc_cancel_requested(const cp_proc_cancel *c)
{
    return c && atomic_load(&((cp_proc_cancel *)c)->requested);
}

static atomic_uint_fast64_t spawned;

uint64_t cp_proc_spawned(void)
{
    return (uint64_t)atomic_load(&spawned);
}

/* ---------------------------------------------------------------- child */

typedef struct {
    int stage; /* what failed in the child */
    int err;
} child_failure;

enum { ST_SETSID = 1, ST_RLIMIT, ST_CHDIR, ST_DUP, ST_EXEC };

static const char *stage_name(int st)
{
    switch (st) {
    case ST_SETSID:
        return "setsid";
    case ST_RLIMIT:
        return "setrlimit";
    case ST_CHDIR:
        return "chdir";
    case ST_DUP:
        return "dup2";
    default:
        return "exec";
    }
}

static int set_limit(int res, rlim_t v)
{
    struct rlimit rl = {v, v};
    return setrlimit(res, &rl);
}

/* Between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child(const cp_proc_spec *s, int in, int out, int errfd, int failfd, pid_t parent_pid)
{
    child_failure f; /* set on every path to fail: */
    struct sigaction dfl;

    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    /* Ignored signals stay ignored across exec; tofu must see SIGINT/SIGPIPE. */
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
    if (s->wrapper_ignores_sigint) {
        struct sigaction ign;
        memset(&ign, 0, sizeof ign);
        ign.sa_handler = SIG_IGN;
        sigaction(SIGINT, &ign, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (setsid() < 0) {
        f = (child_failure){ST_SETSID, errno};
        goto fail;
    }
    /* If the worker dies, tofu must not go on applying after the platform
     * freed its lock (bwrap adds --die-with-parent; this covers running
     * without it). The check after prctl closes the race with an early death. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) _exit(127);
    if (set_limit(RLIMIT_CORE, 0) != 0 ||
        (s->rlimit_cpu_s > 0 && set_limit(RLIMIT_CPU, (rlim_t)s->rlimit_cpu_s) != 0) ||
        (s->rlimit_as_bytes > 0 && set_limit(RLIMIT_AS, (rlim_t)s->rlimit_as_bytes) != 0) ||
        (s->rlimit_nofile > 0 && set_limit(RLIMIT_NOFILE, (rlim_t)s->rlimit_nofile) != 0)) {
        f = (child_failure){ST_RLIMIT, errno};
        goto fail;
    }
    if (s->cwd && chdir(s->cwd) != 0) {
        f = (child_failure){ST_CHDIR, errno};
        goto fail;
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0 || (s->pass_fd > 2 && dup2(s->pass_fd, 3) < 0)) {
        f = (child_failure){ST_DUP, errno};
        goto fail;
    }
    if (s->pass_fd == 3) fcntl(3, F_SETFD, 0);
    /* Nothing else leaks into tofu, whatever other threads opened without
     * O_CLOEXEC: mark everything above our fds close-on-exec (the failure
     * pipe sits high and is already close-on-exec). */
    syscall(SYS_close_range, s->pass_fd > 2 ? 4u : 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
    execve(s->path, s->argv, s->envp);
    f = (child_failure){ST_EXEC, errno};
fail:;
    ssize_t w = write(failfd, &f, sizeof f);
    (void)w;
    _exit(127);
}

/* ---------------------------------------------------------------- parent */

typedef struct {
    int fd;
    cp_proc_stream stream;
    cp_buf line;
    bool skipping; /* inside an over-long line: drop until newline */
    bool eof;
} reader;

static void emit_line(const cp_proc_spec *s, reader *r, bool truncated)
{
    size_t len = r->line.len;
    const char *p = cp_buf_cstr(&r->line);
    if (len && p[len - 1] == '\r') len--;
    if (s->on_line) s->on_line(s->ctx, r->stream, p, len, truncated);
    cp_buf_reset(&r->line);
}

static void feed(const cp_proc_spec *s, reader *r, const char *data, size_t n)
{
    while (n) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (!r->skipping) {
            size_t room = r->line.max - r->line.len;
            if (take > room) {
                cp_buf_add(&r->line, data, room);
                emit_line(s, r, true);
                r->skipping = true;
            } else {
                cp_buf_add(&r->line, data, take);
            }
        }
        if (!nl) return;
        if (r->skipping)
            r->skipping = false;
        else
            emit_line(s, r, false);
        data += take + 1;
        n -= take + 1;
    }
}

/* Reads what is available; sets eof at the end of the stream. */
static void drain(const cp_proc_spec *s, reader *r, cp_proc_result *res)
{
    char chunk[READ_CHUNK];
    for (;;) {
        ssize_t k = read(r->fd, chunk, sizeof chunk);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            if (errno != EAGAIN) r->eof = true;
            return;
        }
        if (k == 0) {
            r->eof = true;
            if (r->line.len && !r->skipping) emit_line(s, r, false);
            return;
        }
        if (r->stream == CP_PROC_STDOUT && s->capture_stdout) {
            if (!res->capture_overflow && cp_buf_add(s->capture_stdout, chunk, (size_t)k) != CP_OK)
                res->capture_overflow = true;
        } else {
            feed(s, r, chunk, (size_t)k);
        }
    }
}

static void signal_group(pid_t pgid, int sig)
{
    if (kill(-pgid, sig) != 0 && errno == ESRCH) kill(pgid, sig);
}

static bool child_exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* WNOWAIT keeps the zombie, so the group id cannot be reused while we still signal it. */
    return waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

/* Reads the child's output until it has exited and its pipes are drained (or
 * DRAIN_MS passed), interrupting it on cancel or timeout: SIGINT to the
 * group, SIGKILL after the grace period. */
static void supervise(const cp_proc_spec *s, reader rd[2], pid_t pid, int pidfd, int64_t start, cp_proc_result *res)
{
    int64_t deadline = s->timeout_ms > 0 ? start + s->timeout_ms : 0;
    int64_t kill_at = 0, drain_until = 0, next_tick = start + TICK_MS;
    bool interrupted = false, exited = false;
    int cancel_fd = s->cancel ? s->cancel->pipe[0] : -1;

    for (;;) {
        int64_t now = cp_mono_ms();
        if (!interrupted) {
            bool cancel = cp_proc_cancel_requested(s->cancel);
            bool timeout = deadline && now >= deadline;
            if ((cancel || timeout) && !exited) {
                interrupted = true;
                res->canceled = cancel;
                res->timed_out = !cancel;
                /* No SIGINT before a kill: an interrupted tofu at once
                 * writes its state, and a SIGKILL landing between the s3
                 * object and its DynamoDB digest leaves a state no tofu
                 * reads again until an operator repairs the digest. */
                if (!cancel_hard(s->cancel)) signal_group(pid, SIGINT);
                kill_at = now + (s->grace_ms > 0 ? s->grace_ms : 0);
            }
        }
        /* A kill without grace, also one that comes during a graceful cancel. */
        if (interrupted && cancel_hard(s->cancel)) kill_at = now;
        if (interrupted && !exited && !res->killed && now >= kill_at) {
            res->killed = true;
            signal_group(pid, SIGKILL);
        }
        if (!exited && child_exited(pid)) {
            exited = true;
            /* Whatever the child left in its group (a provisioner's sleep) goes too. */
            signal_group(pid, SIGKILL);
            drain_until = now + DRAIN_MS;
        }
        if (exited && ((rd[0].eof && rd[1].eof) || now >= drain_until)) break;
        if (s->on_tick && now >= next_tick) {
            s->on_tick(s->ctx);
            next_tick = now + TICK_MS;
        }

        struct pollfd pfd[4];
        int np = 0, idx[2] = {-1, -1};
        for (int i = 0; i < 2; i++)
            if (!rd[i].eof) {
                idx[i] = np;
                pfd[np++] = (struct pollfd){.fd = rd[i].fd, .events = POLLIN};
            }
        if (!interrupted && !exited && cancel_fd >= 0) pfd[np++] = (struct pollfd){.fd = cancel_fd, .events = POLLIN};
        if (!exited && pidfd >= 0) pfd[np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};

        int64_t wait = next_tick - now;
        if (deadline && !interrupted && deadline - now < wait) wait = deadline - now;
        if (interrupted && !res->killed && kill_at - now < wait) wait = kill_at - now;
        if (exited && drain_until - now < wait) wait = drain_until - now;
        /* Without a pidfd, exit is noticed by polling once the pipes closed. */
        if (!exited && pidfd < 0 && rd[0].eof && rd[1].eof && wait > 10) wait = 10;
        if (wait < 0) wait = 0;
        int pr = poll(pfd, (nfds_t)np, (int)wait);
        if (pr < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++)
            if (idx[i] >= 0 && (pfd[idx[i]].revents & (POLLIN | POLLHUP | POLLERR))) drain(s, &rd[i], res);
    }
}

/* The child's stdout, stderr and exec-failure pipes, and /dev/null for its
 * stdin. On failure the caller closes whatever was opened (fds stay -1 or valid). */
static cp_result open_pipes(int out[2], int errp[2], int fail[2], int *in, cp_error *err)
{
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 || pipe2(fail, O_CLOEXEC) != 0)
        return cp_error_set(err, CP_ERR, "spawn", NULL, "pipe: %s", strerror(errno));
    /* Keep the failure pipe clear of fds 0-3, which the child overwrites. */
    int hi = fcntl(fail[1], F_DUPFD_CLOEXEC, 10);
    if (hi < 0) return cp_error_set(err, CP_ERR, "spawn", NULL, "fcntl: %s", strerror(errno));
    close(fail[1]);
    fail[1] = hi;
    *in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (*in < 0) return cp_error_set(err, CP_ERR, "spawn", NULL, "/dev/null: %s", strerror(errno));
    return CP_OK;
}

/* Reaps the child and records how it ended. */
static void collect_exit(pid_t pid, int64_t start, cp_proc_result *res)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status))
        res->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        res->term_signal = WTERMSIG(status);
    res->duration_ms = cp_mono_ms() - start;
}

cp_result cp_proc_run(const cp_proc_spec *s, cp_proc_result *res, cp_error *err)
{
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    if (cp_proc_cancel_requested(s->cancel))
        return cp_error_set_reason(err, CP_EAGAIN, CP_REASON_CANCELED, NULL, "canceled before start");

    int out[2] = {-1, -1}, errp[2] = {-1, -1}, fail[2] = {-1, -1}, in = -1, pidfd = -1;
    cp_result rc = CP_ERR;
    reader rd[2];
    memset(rd, 0, sizeof rd);
    size_t max_line = s->max_line ? s->max_line : DEFAULT_MAX_LINE;
    cp_buf_init(&rd[0].line, max_line);
    cp_buf_init(&rd[1].line, max_line);

    if (open_pipes(out, errp, fail, &in, err) != CP_OK) goto out;

    int64_t start = cp_mono_ms();
    atomic_fetch_add(&spawned, 1);
    pid_t parent_pid = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        cp_error_set(err, CP_ERR, "spawn", NULL, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0) child(s, in, out[1], errp[1], fail[1], parent_pid);

    close(out[1]);
    close(errp[1]);
    close(fail[1]);
    close(in);
    out[1] = errp[1] = fail[1] = in = -1;

    child_failure f;
    ssize_t got;
    do got = read(fail[0], &f, sizeof f);
    while (got < 0 && errno == EINTR);
    if (got == (ssize_t)sizeof f) {
        waitpid(pid, NULL, 0);
        cp_error_set(err, CP_ERR, "spawn", NULL, "cannot start %s: %s: %s", s->path, stage_name(f.stage),
                     strerror(f.err));
        goto out;
    }

    /* exec succeeded, so setsid() did too: pid is the group id from here on. */
    if (s->on_start) s->on_start(s->ctx, pid);
    pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

    rd[0].fd = out[0];
    rd[0].stream = CP_PROC_STDOUT;
    rd[1].fd = errp[0];
    rd[1].stream = CP_PROC_STDERR;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);

    supervise(s, rd, pid, pidfd, start, res);
    for (int i = 0; i < 2; i++)
        if (rd[i].line.len && !rd[i].skipping) emit_line(s, &rd[i], false);

    collect_exit(pid, start, res);
    rc = CP_OK;

out:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (errp[i] >= 0) close(errp[i]);
        if (fail[i] >= 0) close(fail[i]);
    }
    if (in >= 0) close(in);
    if (pidfd >= 0) close(pidfd);
    cp_buf_free(&rd[0].line);
    cp_buf_free(&rd[1].line);
    return rc;
}
