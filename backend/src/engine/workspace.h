/* workspace.h: the files tofu works on. Owns the per-run directory (created
 * 0700, named after the run id, never user text), copying a module into it,
 * writing generated JSON files (exclusive create, 0600, no symlink following),
 * reading files back with a size cap, removing a tree without following
 * symlinks, and the content hash that keys the shared init cache. */
#ifndef CP_WORKSPACE_H
#define CP_WORKSPACE_H

#include <jansson.h>

#include "core/error.h"

/* Creates <parent>/<name> (mode 0700; parent created as needed). name must be
 * [0-9a-zA-Z._-]{1,64} and not start with '.'. CP_ECONFLICT if it exists. */
cp_result cp_workspace_mkdir(const char *parent, const char *name, char *out, size_t cap, cp_error *err) CP_MUST_CHECK;
/* Copies the regular files *.tf, *.tf.json and .terraform.lock.hcl of
 * module_dir into dest (no subdirectories: our modules are flat). */
cp_result cp_workspace_copy_module(const char *module_dir, const char *dest, cp_error *err) CP_MUST_CHECK;
/* Copies one regular file (mode 0600); CP_ENOTFOUND if src is missing. */
cp_result cp_workspace_copy_file(const char *src, const char *dst, cp_error *err) CP_MUST_CHECK;
/* Writes data to dir/name, mode 0600, failing if it exists. */
cp_result cp_workspace_write(const char *dir, const char *name, const void *data, size_t len,
                             cp_error *err) CP_MUST_CHECK;
/* json_dumps(j, JSON_COMPACT|JSON_SORT_KEYS) to dir/name. */
cp_result cp_workspace_write_json(const char *dir, const char *name, json_t *j, cp_error *err) CP_MUST_CHECK;
/* Reads a whole file of at most max bytes; *data is NUL-terminated, caller frees. */
cp_result cp_workspace_read(const char *path, size_t max, char **data, size_t *len, cp_error *err) CP_MUST_CHECK;
/* rm -rf that never follows symlinks. Missing is fine. */
cp_result cp_workspace_remove(const char *path) CP_MUST_CHECK;
/* SHA-256 (hex, 64 chars + NUL) over the module's files (names and bytes, in
 * name order) followed by extra. */
cp_result cp_workspace_hash(const char *module_dir, const char *extra, char out[65], cp_error *err) CP_MUST_CHECK;

#endif
