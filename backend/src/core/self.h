/* self.h: facts about this process that several commands need: the id it
 * goes by (worker lease owner, queue consumer) and the files that ship next
 * to its executable (the web UI, the OpenTofu modules). */
#ifndef CP_SELF_H
#define CP_SELF_H

#include "core/cp.h"

/* "<hostname>-<pid>" into out (cut to cap); "host-<pid>" when the host name
 * cannot be read. */
void cp_self_host_id(char *out, size_t cap);

/* Looks for the directory rel (e.g. "frontend/dist") beside the executable's
 * directory and up to levels-1 directories above it, nearest first. Found:
 * its path in out, true. Not found (or out too small): rel itself in out,
 * relative to the working directory, false. */
bool cp_self_near_exe(const char *rel, int levels, char *out, size_t cap);

#endif
