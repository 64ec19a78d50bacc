/* sandbox.h: isolation of tofu with bubblewrap (bwrap). Owns the one-time
 * probe of whether bwrap works on this host and the bwrap command line: the
 * system read-only (/usr and the /bin, /lib... links, a few /etc files for
 * DNS, TLS and user lookup), private /tmp, /proc and /dev, new pid/ipc/uts
 * namespaces, all capabilities dropped, die-with-parent, the network kept
 * (clouds need it), and only the directories the caller names visible,
 * writable or not. */
#ifndef CP_SANDBOX_H
#define CP_SANDBOX_H

#include "engine/proc.h"

typedef struct {
    const char *path; /* absolute; bound at the same place inside */
    bool writable;
} cp_sandbox_mount;

/* True when bwrap exists and a trial sandbox ran. Probed once, thread-safe. */
bool cp_sandbox_available(void);
/* For the startup log: what is used, or why not. Static storage. */
const char *cp_sandbox_describe(void);
/* Logs once, at info when bwrap is used, else a warning that tofu runs
 * without it. Returns cp_sandbox_available(). */
bool cp_sandbox_log_status(void);

/* Appends "<bwrap> <options> --" to argv; the command follows. hostname
 * (<= 63 chars) names the sandbox, e.g. after the run, so that a tofu state
 * lock taken inside says which run holds it. */
void cp_sandbox_argv(cp_strv *argv, const char *hostname, const char *chdir, const cp_sandbox_mount *mounts, size_t n);

#endif
