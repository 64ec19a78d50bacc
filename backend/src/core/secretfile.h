/* secretfile.h: reading secrets from files, and generating them once into the
 * data dir (mode 0600, created atomically) when none is configured. */
#ifndef CP_SECRETFILE_H
#define CP_SECRETFILE_H

#include "core/error.h"

/* Reads up to cap-1 bytes of path into out (trailing newlines trimmed). */
cp_result cp_secret_read(const char *path, char *out, size_t cap, cp_error *err) CP_MUST_CHECK;
/* If path exists, reads it; otherwise writes content there with mode 0600
 * (exclusive create, so concurrent starters agree) and sets *created. */
cp_result cp_secret_read_or_create(const char *path, const char *content, char *out, size_t cap, bool *created,
                                   cp_error *err) CP_MUST_CHECK;
/* mkdir -p with the given mode for each created component. */
cp_result cp_mkdirs(const char *path, unsigned mode, cp_error *err) CP_MUST_CHECK;

#endif
