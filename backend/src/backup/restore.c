/* restore.c: `admin restore`: unpacks an archive into a staging dir inside
 * the target data dir, checks it (authentic to its end, a sound store of a
 * schema this binary knows), and only then moves store, keys and state into
 * place. A failure leaves the target as it was. */
#include "backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app/app.h"
#include "backup/backup_int.h"
#include "core/secretfile.h"

#define MANIFEST_MAX 65536

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    CP_UNUSED(st);
    CP_UNUSED(flag);
    CP_UNUSED(ftw);
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* rm -rf; what cannot be removed stays (the caller's result does not hinge on it). */
static void rm_rf(const char *path)
{
    CP_IGNORE(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS));
}

/* 1 empty (a lock file alone counts as empty), 0 not, -1 missing. */
static int dir_state(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strcmp(e->d_name, ".lock") != 0) empty = 0;
    closedir(d);
    return empty;
}

/* Only the names a backup writes; state/ paths without empty, . or .. parts. */
static bool name_ok(const char *name)
{
    if (!strcmp(name, CP_BACKUP_DB) || !strcmp(name, CP_BACKUP_JWT) || !strcmp(name, CP_BACKUP_VAULT) ||
        !strcmp(name, CP_BACKUP_ISSUER))
        return true;
    if (strncmp(name, CP_BACKUP_STATE "/", sizeof CP_BACKUP_STATE) != 0 || !name[sizeof CP_BACKUP_STATE]) return false;
    for (const char *p = name + sizeof CP_BACKUP_STATE; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return false;
        p += n;
        if (*p == '/' && !*++p) return false;
    }
    return true;
}

/* Writes the current entry to stage/name, mode 0600. */
static cp_result extract(cp_archive_reader *r, const cp_archive_entry *e, const char *stage, cp_error *err)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", stage, e->name) >= (int)sizeof path)
        return cp_error_set(err, CP_ERR, "backup", NULL, "path too long for %s", e->name);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    cp_result rc = cp_mkdirs(path, 0700, err);
    *slash = '/';
    if (rc != CP_OK) return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return cp_error_set(err, CP_ERR, "backup", NULL, "cannot create %s: %s", path, strerror(errno));
    unsigned char buf[65536];
    size_t n;
    while ((rc = cp_archive_read(r, buf, sizeof buf, &n, err)) == CP_OK && n) {
        for (size_t o = 0; o < n;) {
            ssize_t k = write(fd, buf + o, n - o);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                rc = cp_error_set(err, CP_ERR, "backup", NULL, "cannot write %s: %s", path, strerror(errno));
                break;
            }
            o += (size_t)k;
        }
        if (rc != CP_OK) break;
    }
    sodium_memzero(buf, sizeof buf);
    if (close(fd) != 0 && rc == CP_OK)
        rc = cp_error_set(err, CP_ERR, "backup", NULL, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

/* The first entry: what the archive holds. */
static cp_result read_manifest(cp_archive_reader *r, json_t **out, cp_error *err)
{
    cp_archive_entry e;
    cp_result rc = cp_archive_next(r, &e, err);
    if (rc == CP_ENOTFOUND || (rc == CP_OK && (strcmp(e.name, CP_BACKUP_MANIFEST) != 0 || e.size > MANIFEST_MAX)))
        return cp_error_set(err, CP_EINVAL, "backup", NULL, "the archive has no manifest: nothing restored");
    if (rc != CP_OK) return rc;
    char buf[MANIFEST_MAX];
    size_t n;
    if ((rc = cp_archive_read(r, buf, sizeof buf, &n, err)) != CP_OK) return rc;
    json_t *m = json_loadb(buf, n, 0, NULL);
    if (!m || json_integer_value(json_object_get(m, "format")) != CP_BACKUP_FORMAT) {
        json_decref(m);
        return cp_error_set(err, CP_EINVAL, "backup", NULL, "the archive's manifest is not one this cloudplane reads");
    }
    *out = m;
    return CP_OK;
}

static const char *mstr(json_t *m, const char *key)
{
    const char *s = json_string_value(json_object_get(m, key));
    return s ? s : "";
}

/* integrity_check, and a schema no newer than this binary's. */
static cp_result check_db(const char *path, long *schema, cp_error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    cp_result r = CP_OK;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        r = cp_error_set(err, CP_EINVAL, "backup", NULL, "the archived store does not open: %s",
                         db ? sqlite3_errmsg(db) : "out of memory");
        goto out;
    }
    const char *verdict = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        verdict = (const char *)sqlite3_column_text(st, 0);
    if (!verdict || strcmp(verdict, "ok") != 0) {
        r = cp_error_set(err, CP_EINVAL, "backup", NULL, "the archived store fails its integrity check: %.120s",
                         verdict ? verdict : sqlite3_errmsg(db));
        goto out;
    }
    *schema = cp_backup__db_schema(db);
    if (*schema > cp_backup__binary_schema())
        r = cp_error_set(err, CP_EINVAL, "backup", NULL,
                         "the archived store has schema version %ld, newer than this cloudplane's %ld: restore with "
                         "the version that made it",
                         *schema, cp_backup__binary_schema());
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

/* Moves stage/name to dst (replacing it). */
static cp_result install(const char *stage, const char *name, const char *dst, cp_error *err)
{
    char src[PATH_MAX];
    snprintf(src, sizeof src, "%s/%s", stage, name);
    if (rename(src, dst) != 0)
        return cp_error_set(err, CP_ERR, "backup", NULL, "cannot move the restored %s to %s: %s", name, dst,
                            strerror(errno));
    return CP_OK;
}

static bool staged(const char *stage, const char *name)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", stage, name);
    return access(p, F_OK) == 0;
}

/* Everything staged (and checked) goes into place. The store's WAL and
 * shared memory go first: an old WAL must never be replayed onto the
 * restored store. */
static cp_result put_in_place(const char *stage, const char *dir, const char *db, bool has_state, cp_error *err)
{
    char p[PATH_MAX + 8];
    cp_result r = CP_OK;
    if (staged(stage, CP_BACKUP_DB)) {
        snprintf(p, sizeof p, "%s-wal", db);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", db);
        unlink(p);
        if ((r = install(stage, CP_BACKUP_DB, db, err)) != CP_OK) return r;
    }
    snprintf(p, sizeof p, "%s/keys", dir);
    if ((r = cp_mkdirs(p, 0700, err)) != CP_OK) return r;
    snprintf(p, sizeof p, "%s/%s", dir, CP_BACKUP_JWT);
    if (staged(stage, CP_BACKUP_JWT) && (r = install(stage, CP_BACKUP_JWT, p, err)) != CP_OK) return r;
    snprintf(p, sizeof p, "%s/%s", dir, CP_BACKUP_VAULT);
    if (staged(stage, CP_BACKUP_VAULT) && (r = install(stage, CP_BACKUP_VAULT, p, err)) != CP_OK) return r;
    snprintf(p, sizeof p, "%s/%s", dir, CP_BACKUP_ISSUER);
    if (staged(stage, CP_BACKUP_ISSUER) && (r = install(stage, CP_BACKUP_ISSUER, p, err)) != CP_OK) return r;
    if (!has_state) return CP_OK;
    /* The old state goes into the stage, removed with it. */
    char old[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, CP_BACKUP_STATE);
    snprintf(old, sizeof old, "%s/state.old", stage);
    if (rename(p, old) != 0 && errno != ENOENT)
        return cp_error_set(err, CP_ERR, "backup", NULL, "cannot move %s aside: %s", p, strerror(errno));
    if (staged(stage, CP_BACKUP_STATE)) return install(stage, CP_BACKUP_STATE, p, err);
    return cp_mkdirs(p, 0700, err);
}

static void say_done(FILE *say, const char *file, const char *dir, json_t *m, const char *db, long schema,
                     size_t state_files, bool force)
{
    fprintf(say, "restored %s into %s\n", file, dir);
    if (!strcmp(mstr(m, "store"), "sqlite")) {
        long mine = cp_backup__binary_schema();
        fprintf(say, "  store: %s (schema version %ld%s)\n", db, schema,
                schema < mine ? ", migrated to this version's on the next start" : "");
    } else {
        fprintf(say, "  store: PostgreSQL, not in the archive: restore it with pg_restore (README, Backup and "
                     "restore)\n");
    }
    if (!strcmp(mstr(m, "jwt_key"), "env"))
        fprintf(say, "  JWT key: was CLOUDPLANE_JWT_SECRET at backup time; give the server the same value\n");
    else
        fprintf(say, "  JWT key: %s/%s (mode 0600)\n", dir, CP_BACKUP_JWT);
    if (!strcmp(mstr(m, "vault_keys"), "env"))
        fprintf(say, "  vault keys: were CLOUDPLANE_VAULT_KEYS at backup time; without the same value no credential "
                     "decrypts\n");
    else
        fprintf(say, "  vault keys: %s/%s (mode 0600)\n", dir, CP_BACKUP_VAULT);
    if (!strcmp(mstr(m, "issuer_keys"), "env"))
        fprintf(say, "  run-token issuer keys: were CLOUDPLANE_ISSUER_KEYS at backup time; give the server the same "
                     "value, or clouds stop trusting its tokens\n");
    else if (!strcmp(mstr(m, "issuer_keys"), "archive"))
        fprintf(say, "  run-token issuer keys: %s/%s (mode 0600)\n", dir, CP_BACKUP_ISSUER);
    if (!strcmp(mstr(m, "state"), "archive"))
        fprintf(say, "  OpenTofu state: %zu file(s) in %s/state\n", state_files, dir);
    else
        fprintf(say, "  OpenTofu state: in S3 at backup time, not in the archive\n");
    if (force)
        fprintf(say, "  replaced the store, the keys and state/; other files in %s were left as they were\n", dir);
    fprintf(say,
            "  a key file setting (CLOUDPLANE_*_FILE) overrides the restored keys: unset it, or copy them there\n");
}

cp_result cp_restore_run(const cp_config *cfg, const char *file, const char *passphrase, bool force, FILE *say,
                         cp_error *err)
{
    const char *dir = cfg->data_dir;
    char dbbuf[PATH_MAX], stage[PATH_MAX] = "";
    int lock = -1;
    const char *db = cp_app_database_url(cfg, dbbuf, sizeof dbbuf);
    int was = dir_state(dir);
    if (was == 0 && !force)
        return cp_error_set(err, CP_ECONFLICT, "backup", NULL,
                            "%s is not empty: restore into a new dir, or pass --force to replace its store, keys and "
                            "state (stop the server on it first)",
                            dir);
    cp_archive_reader *r = NULL;
    json_t *m = NULL;
    cp_result rc = cp_archive_open(file, passphrase, &r, err);
    if (rc == CP_OK) rc = read_manifest(r, &m, err);
    if (rc != CP_OK) goto out;
    bool sqlite = !strcmp(mstr(m, "store"), "sqlite");
    if (sqlite && cp_backup__is_pg(db)) {
        rc = cp_error_set(err, CP_EINVAL, "backup", NULL,
                          "the archive holds a SQLite store, but CLOUDPLANE_DATABASE_URL names PostgreSQL: restore "
                          "without it");
        goto out;
    }
    /* Held to the end: no server may start on dir meanwhile. */
    if ((rc = cp_app_lock_dir(dir, true, &lock, err)) != CP_OK) goto out;
    if (snprintf(stage, sizeof stage, "%s/.restore-XXXXXX", dir) >= (int)sizeof stage || !mkdtemp(stage)) {
        rc = cp_error_set(err, CP_ERR, "backup", NULL, "cannot make a staging dir in %s: %s", dir, strerror(errno));
        stage[0] = '\0';
        goto out;
    }
    cp_archive_entry e;
    size_t state_files = 0;
    bool has_db = false;
    while ((rc = cp_archive_next(r, &e, err)) == CP_OK) {
        if (!name_ok(e.name) || (!sqlite && !strcmp(e.name, CP_BACKUP_DB))) {
            rc = cp_error_set(err, CP_EINVAL, "backup", NULL,
                              "the archive holds an unexpected entry %.80s: nothing "
                              "restored",
                              e.name);
            break;
        }
        if ((rc = extract(r, &e, stage, err)) != CP_OK) break;
        has_db = has_db || !strcmp(e.name, CP_BACKUP_DB);
        if (!strncmp(e.name, CP_BACKUP_STATE "/", sizeof CP_BACKUP_STATE)) state_files++;
    }
    if (rc != CP_ENOTFOUND) goto out;
    long schema = 0;
    char staged_db[PATH_MAX + 16];
    snprintf(staged_db, sizeof staged_db, "%s/%s", stage, CP_BACKUP_DB);
    if (sqlite && !has_db) {
        rc = cp_error_set(err, CP_EINVAL, "backup", NULL, "the archive has no store: nothing restored");
        goto out;
    }
    if ((rc = sqlite ? check_db(staged_db, &schema, err) : CP_OK) != CP_OK) goto out;
    /* One flush of everything staged before any of it goes into place. */
    int sfd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sfd >= 0) {
        CP_IGNORE(syncfs(sfd)); /* durability only: the files are complete and checked */
        close(sfd);
    }
    if ((rc = put_in_place(stage, dir, db, !strcmp(mstr(m, "state"), "archive"), err)) != CP_OK) goto out;
    say_done(say, file, dir, m, db, schema, state_files, was == 0);
out:
    if (stage[0]) rm_rf(stage);
    /* A dir made here for a restore that failed goes again. */
    if (rc != CP_OK && was == -1 && lock >= 0) {
        char lp[PATH_MAX + 8];
        snprintf(lp, sizeof lp, "%s/.lock", dir);
        CP_IGNORE(unlink(lp));
        CP_IGNORE(rmdir(dir));
    }
    if (lock >= 0) close(lock);
    json_decref(m);
    cp_archive_close(r);
    return rc;
}
