/* proc.h: running one child process under full control, for the tofu runner.
 * Owns: fork/execve with an explicit environment (nothing inherited), a
 * close-on-exec error pipe (exec failures reach the parent with errno), a new
 * session and process group per child, signal dispositions reset, rlimits,
 * stdout/stderr read as bounded lines (or stdout captured whole), and the stop
 * sequence: on cancel or timeout SIGINT to the group, after a grace period
 * SIGKILL. Stragglers left in the group after the child exits are killed.
 * Also a small growable argv/envp vector and the cancel token shared with
 * other threads. */
#ifndef CP_PROC_H
#define CP_PROC_H

#include <sys/types.h>

#include "core/buf.h"
#include "core/error.h"

/* ---- string vector (argv/envp): owns its strings, always NULL-terminated */
typedef struct {
    char **v;
    size_t n, cap;
} cp_strv;

void cp_strv_init(cp_strv *s);
void cp_strv_add(cp_strv *s, const char *str);
void cp_strv_addf(cp_strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cp_strv_free(cp_strv *s);

/* ---- cancel token: request from any thread (even a signal handler), and
 * every process run with it is stopped (SIGINT, grace, SIGKILL). Sticky. */
typedef struct cp_proc_cancel cp_proc_cancel;

cp_proc_cancel *cp_proc_cancel_new(void);
void cp_proc_cancel_free(cp_proc_cancel *c);
void cp_proc_cancel_request(cp_proc_cancel *c);
/* As request, but without the grace period: SIGKILL to the group at once. */
void cp_proc_cancel_kill(cp_proc_cancel *c);
bool cp_proc_cancel_requested(const cp_proc_cancel *c);

/* ---- running */
typedef enum { CP_PROC_STDOUT = 1, CP_PROC_STDERR = 2 } cp_proc_stream;

/* One output line without its newline; truncated when it exceeded max_line. */
typedef void (*cp_proc_line_fn)(void *ctx, cp_proc_stream stream, const char *line, size_t len, bool truncated);

typedef struct {
    const char *path; /* absolute path of the executable */
    char *const *argv;
    char *const *envp;           /* the child's whole environment */
    const char *cwd;             /* NULL = unchanged */
    int pass_fd;                 /* > 2: handed to the child as fd 3; -1 for none */
    bool wrapper_ignores_sigint; /* the child is a wrapper (bwrap) that must outlive SIGINT so the
                                  * Go program inside can stop gracefully: it starts with SIGINT
                                  * ignored, which Go undoes for the signals it subscribes to */
    /* rlimits set in the child; 0 leaves a limit as it is (core is always 0) */
    long rlimit_cpu_s;
    long rlimit_as_bytes;
    long rlimit_nofile;
    int timeout_ms;         /* 0: none; else SIGINT at expiry, then the grace period */
    int grace_ms;           /* SIGINT -> SIGKILL */
    size_t max_line;        /* 0: 64 KiB */
    cp_buf *capture_stdout; /* when set, stdout is appended here whole (bounded by its max) */
    cp_proc_line_fn on_line;
    void (*on_start)(void *ctx, pid_t pid); /* pid is also the process group id */
    void (*on_tick)(void *ctx);             /* at least every 100 ms while running */
    void *ctx;
    cp_proc_cancel *cancel; /* may be NULL */
} cp_proc_spec;

typedef struct {
    int exit_code;   /* exit status, or -1 when ended by a signal */
    int term_signal; /* the signal that ended it, else 0 */
    bool canceled;   /* stopped because cancel was requested */
    bool timed_out;  /* stopped because timeout_ms passed */
    bool killed;     /* needed SIGKILL after the grace period */
    bool capture_overflow;
    int64_t duration_ms;
} cp_proc_result;

/* Number of processes cp_proc_run has started in this program (tests use it
 * to prove that validation failures start nothing). */
uint64_t cp_proc_spawned(void);

/* Runs the process to its end. CP_OK whenever it started (inspect res);
 * CP_ERR with a message when it could not start (exec errno included);
 * CP_EAGAIN without starting when cancel was already requested. */
cp_result cp_proc_run(const cp_proc_spec *spec, cp_proc_result *res, cp_error *err) CP_MUST_CHECK;

#endif
