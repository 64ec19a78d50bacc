/* backup_int.h: what backup.c and restore.c share: the archive's entry
 * names, reading whole files, and the SQLite checks. */
#ifndef CP_BACKUP_INT_H
#define CP_BACKUP_INT_H

#include <sqlite3.h>

#include "backup/backup.h"

#define CP_BACKUP_FORMAT 1
#define CP_BACKUP_MANIFEST "manifest.json"
#define CP_BACKUP_DB "cloudplane.db"
#define CP_BACKUP_JWT "keys/jwt.key"
#define CP_BACKUP_VAULT "keys/vault.keys"
#define CP_BACKUP_ISSUER "keys/issuer.jwks" /* run-token signing keys (app/issuer_key.h) */
#define CP_BACKUP_STATE "state"
/* Largest key or state file taken into memory. */
#define CP_BACKUP_FILE_MAX (256u << 20)

/* The whole file at path in *data (caller frees, after wiping if secret). */
cp_result cp_backup__read_file(const char *path, char **data, size_t *len, cp_error *err) CP_MUST_CHECK;
/* The newest migration this binary has for SQLite. */
long cp_backup__binary_schema(void);
/* MAX(version) of schema_migrations in db (0 when there is none). */
long cp_backup__db_schema(sqlite3 *db);
/* True when path names a PostgreSQL store. */
bool cp_backup__is_pg(const char *url);

#endif
