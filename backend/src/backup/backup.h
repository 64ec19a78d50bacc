/* backup.h: `admin backup` and `admin restore`: what a data dir holds that a
 * restored server needs, written to and read from a sealed archive
 * (backup/archive.h).
 *
 * In the archive: manifest.json (format, store kind, schema version, where
 * each key came from), cloudplane.db (an online snapshot of the SQLite
 * store), keys/jwt.key and keys/vault.keys (unless they come from the
 * environment), and state/... (the local OpenTofu state of every resource).
 * Not in it, as disposable: runs/ (per-run workspaces), init-cache/ and
 * plugin-cache/ (rebuilt on the next run). */
#ifndef CP_BACKUP_H
#define CP_BACKUP_H

#include <stdio.h>

#include "backup/archive.h"
#include "core/config.h"

#define CP_BACKUP_PASSPHRASE_ENV "CLOUDPLANE_BACKUP_PASSPHRASE"
#define CP_BACKUP_PASSPHRASE_MIN 10
#define CP_BACKUP_PASSPHRASE_MAX 1024

/* The passphrase from CLOUDPLANE_BACKUP_PASSPHRASE, else asked on the
 * terminal without echo (twice when confirm). CP_EINVAL with a message that
 * says how to give one when there is neither, or when a new one (confirm)
 * is shorter than CP_BACKUP_PASSPHRASE_MIN. */
cp_result cp_backup_passphrase(bool confirm, char *out, size_t cap, cp_error *err) CP_MUST_CHECK;

/* Writes the archive of cfg's data dir to file, saying on `say` what it
 * holds. Safe while a server runs on the dir. */
cp_result cp_backup_run(const cp_config *cfg, const char *file, const char *passphrase, cp_archive_kdf kdf, FILE *say,
                        cp_error *err) CP_MUST_CHECK;

/* Restores file into cfg's data dir: CP_ECONFLICT when the dir is not empty
 * and force is false. Everything is unpacked and checked in a staging dir
 * inside it first; only a complete, authentic archive with a sound store
 * replaces anything. */
cp_result cp_restore_run(const cp_config *cfg, const char *file, const char *passphrase, bool force, FILE *say,
                         cp_error *err) CP_MUST_CHECK;

#endif
