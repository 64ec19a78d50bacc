/* backup.c: the passphrase, and `admin backup`: an online snapshot of the
 * SQLite store, the keys and the local OpenTofu state, sealed in one
 * archive. */
#include "backup/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "app/app.h"
#include "backup/backup_int.h"
#include "core/embed.h"
#include "core/timeutil.h"
#include "core/xalloc.h"

/* ---- shared helpers ------------------------------------------------------ */

cp_result cp_backup__read_file(const char *path, char **data, size_t *len, cp_error *err)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cp_error_set(err, CP_ENOTFOUND, "backup", NULL, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > CP_BACKUP_FILE_MAX) {
        close(fd);
        return cp_error_set(err, CP_ERR, "backup", NULL, "%s is not a regular file of at most 256 MiB", path);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = cp_xmalloc(cap);
    for (;;) {
        if (n == cap) buf = cp_xrealloc(buf, cap *= 2);
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            int e = errno;
            close(fd);
            sodium_memzero(buf, cap);
            free(buf);
            return cp_error_set(err, CP_ERR, "backup", NULL, "cannot read %s: %s", path, strerror(e));
        }
        if (k == 0) break;
        n += (size_t)k;
    }
    close(fd);
    *data = buf;
    *len = n;
    return CP_OK;
}

long cp_backup__binary_schema(void)
{
    static const char prefix[] = "src/store/migrations/sqlite/";
    long max = 0;
    for (size_t i = 0; i < cp_embedded_count; i++) {
        const char *n = cp_embedded_files[i].name;
        if (strncmp(n, prefix, sizeof prefix - 1) != 0) continue;
        long v = strtol(n + sizeof prefix - 1, NULL, 10);
        if (v > max) max = v;
    }
    return max;
}

long cp_backup__db_schema(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    long v = 0;
    if (sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_migrations", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

bool cp_backup__is_pg(const char *url)
{
    return url && (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13));
}

/* ---- passphrase ---------------------------------------------------------- */

/* One line from the terminal, echo off. */
static bool ask(int tty, const char *prompt, char *out, size_t cap)
{
    struct termios old, quiet;
    bool restore = tcgetattr(tty, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        CP_IGNORE(tcsetattr(tty, TCSAFLUSH, &quiet)); /* checked by the caller's eyes: it would echo */
    }
    CP_IGNORE(write(tty, prompt, strlen(prompt))); /* a missing prompt does not change the answer */
    size_t n = 0;
    bool ok = false;
    for (;;) {
        char c;
        ssize_t k = read(tty, &c, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        if (c == '\n' || c == '\r') {
            ok = true;
            break;
        }
        if (n + 1 < cap) out[n++] = c;
    }
    out[n] = '\0';
    if (restore) CP_IGNORE(tcsetattr(tty, TCSAFLUSH, &old));
    CP_IGNORE(write(tty, "\n", 1));
    return ok;
}

cp_result cp_backup_passphrase(bool confirm, char *out, size_t cap, cp_error *err)
{
    const char *env = getenv(CP_BACKUP_PASSPHRASE_ENV);
    cp_result r = CP_OK;
    out[0] = '\0';
    if (env && env[0]) {
        if (strlen(env) >= cap)
            return cp_error_set(err, CP_EINVAL, "backup", NULL, "%s is longer than %zu bytes", CP_BACKUP_PASSPHRASE_ENV,
                                cap - 1);
        memcpy(out, env, strlen(env) + 1);
    } else {
        int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (tty < 0)
            return cp_error_set(err, CP_EINVAL, "backup", NULL,
                                "no passphrase: set %s, or run on a terminal to be asked for one",
                                CP_BACKUP_PASSPHRASE_ENV);
        char again[CP_BACKUP_PASSPHRASE_MAX];
        if (!ask(tty, "Backup passphrase: ", out, cap))
            r = cp_error_set(err, CP_EINVAL, "backup", NULL, "no passphrase was entered");
        else if (confirm && (!ask(tty, "Again: ", again, sizeof again) || strcmp(out, again) != 0))
            r = cp_error_set(err, CP_EINVAL, "backup", NULL, "the two passphrases differ");
        sodium_memzero(again, sizeof again);
        close(tty);
    }
    if (r == CP_OK && confirm && strlen(out) < CP_BACKUP_PASSPHRASE_MIN)
        r = cp_error_set(err, CP_EINVAL, "backup", NULL, "the backup passphrase must be at least %d characters",
                         CP_BACKUP_PASSPHRASE_MIN);
    if (r != CP_OK) sodium_memzero(out, cap);
    return r;
}

/* ---- the store ----------------------------------------------------------- */

static cp_result sqlite_fail(sqlite3 *db, const char *what, const char *path, cp_error *err)
{
    return cp_error_set(err, CP_ERR, "backup", NULL, "%s %s: %s", what, path,
                        db ? sqlite3_errmsg(db) : "out of memory");
}

/* Copies the live store at src into the empty file dst and reads its schema
 * version. One sqlite3_backup_step(-1) inside one read transaction: in WAL
 * mode the reader sees a single moment of the database and never blocks the
 * server's writers, which go on appending to the WAL meanwhile. Stepping in
 * chunks would be no more consistent and would restart from page 1 each
 * time another connection commits, which with runs writing events every few
 * milliseconds might never finish. */
static cp_result snapshot(const char *src, const char *dst, long *schema, cp_error *err)
{
    sqlite3 *s = NULL, *d = NULL;
    cp_result r = CP_OK;
    if (sqlite3_open_v2(src, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        r = sqlite_fail(s, "cannot open the store", src, err);
        goto out;
    }
    sqlite3_busy_timeout(s, 30000);
    if (sqlite3_open_v2(dst, &d, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        r = sqlite_fail(d, "cannot open", dst, err);
        goto out;
    }
    /* The read transaction starts at the first read, and holds the snapshot. */
    if (sqlite3_exec(s, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
        r = sqlite_fail(s, "cannot read the store", src, err);
        goto out;
    }
    sqlite3_backup *b = sqlite3_backup_init(d, "main", s, "main");
    if (!b) {
        r = sqlite_fail(d, "cannot start the backup of", src, err);
        goto out;
    }
    int rc;
    for (int tries = 0; (rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED; tries++) {
        if (tries == 600) break;
        sqlite3_sleep(50);
    }
    int fin = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE || fin != SQLITE_OK) {
        r = cp_error_set(err, CP_ERR, "backup", NULL, "the backup of %s failed: %s", src,
                         sqlite3_errstr(rc != SQLITE_DONE ? rc : fin));
        goto out;
    }
    *schema = cp_backup__db_schema(d);
out:
    if (s) {
        CP_IGNORE(sqlite3_exec(s, "COMMIT", NULL, NULL, NULL)); /* a read transaction: nothing to lose */
        sqlite3_close(s);
    }
    sqlite3_close(d);
    return r;
}

/* ---- keys and state ------------------------------------------------------ */

/* One key file into the archive; *from says where it came from. */
static cp_result add_key(cp_archive_writer *w, const char *env_value, const char *file_setting, const char *data_dir,
                         const char *name, const char *entry, const char **from, cp_error *err)
{
    if (env_value && env_value[0]) {
        *from = "env";
        return CP_OK;
    }
    char path[PATH_MAX];
    if (file_setting && file_setting[0])
        snprintf(path, sizeof path, "%s", file_setting);
    else
        snprintf(path, sizeof path, "%s/keys/%s", data_dir, name);
    char *data;
    size_t len;
    cp_result r = cp_backup__read_file(path, &data, &len, err);
    if (r == CP_ENOTFOUND)
        return cp_error_set(err, r, "backup", NULL, "no key at %s: is --data-dir the server's?", path);
    if (r != CP_OK) return r;
    r = cp_archive_add(w, entry, 0600, data, len, err);
    sodium_memzero(data, len);
    free(data);
    *from = "archive";
    return r;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* A state file, read whole. OpenTofu's local backend rewrites a state file in
 * place (truncate, write) while a run applies: a read that meets a half
 * written one reads again until it parses. */
static cp_result add_state_file(cp_archive_writer *w, const char *path, const char *entry, FILE *say, cp_error *err)
{
    char *data = NULL;
    size_t len = 0;
    cp_result r = CP_OK;
    for (int tries = 0;; tries++) {
        free(data);
        if ((r = cp_backup__read_file(path, &data, &len, err)) != CP_OK) return r;
        if (!ends_with(path, ".tfstate") && !ends_with(path, ".tfstate.backup")) break;
        json_t *j = json_loadb(data, len, 0, NULL);
        json_decref(j);
        if (j) break;
        if (tries == 100) {
            fprintf(say, "warning: %s is not valid JSON after 100 reads; archived as it is\n", path);
            break;
        }
        usleep(20000);
    }
    r = cp_archive_add(w, entry, 0600, data, len, err);
    free(data);
    return r;
}

/* Every file under dir (the local state root), as state/<relative path>;
 * lock info files are left out: a restored server holds no locks. */
static cp_result add_state_dir(cp_archive_writer *w, const char *dir, const char *rel, size_t *files, FILE *say,
                               cp_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return CP_OK;
        return cp_error_set(err, CP_ERR, "backup", NULL, "cannot list %s: %s", dir, strerror(errno));
    }
    cp_result r = CP_OK;
    struct dirent *e;
    while (r == CP_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || ends_with(e->d_name, ".lock.info")) continue;
        char path[PATH_MAX], entry[CP_ARCHIVE_NAME_MAX + 1];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            snprintf(entry, sizeof entry, "%s/%s", rel, e->d_name) >= (int)sizeof entry) {
            r = cp_error_set(err, CP_ERR, "backup", NULL, "path too long under %s", dir);
        } else if (lstat(path, &st) != 0) {
            if (errno != ENOENT) r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot stat %s", path);
        } else if (S_ISDIR(st.st_mode)) {
            r = add_state_dir(w, path, entry, files, say, err);
        } else if (S_ISREG(st.st_mode)) {
            r = add_state_file(w, path, entry, say, err);
            if (r == CP_OK) (*files)++;
        }
    }
    closedir(d);
    return r;
}

/* Says which top-level entries of the data dir stay out of the archive. */
static void say_left_out(const char *data_dir, FILE *say)
{
    static const char *const ours[] = {"cloudplane.db", "cloudplane.db-wal", "cloudplane.db-shm", "keys", "state"};
    static const char *const disposable[] = {"runs", "init-cache", "plugin-cache"};
    DIR *d = opendir(data_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        bool skip = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
        for (size_t i = 0; !skip && i < CP_ARRAY_LEN(ours); i++) skip = !strcmp(e->d_name, ours[i]);
        if (skip) continue;
        bool disp = false;
        for (size_t i = 0; i < CP_ARRAY_LEN(disposable); i++) disp = disp || !strcmp(e->d_name, disposable[i]);
        fprintf(say, "  not archived: %s (%s)\n", e->d_name,
                disp ? "disposable: rebuilt by the next run" : "not cloudplane's store, keys or state");
    }
    closedir(d);
}

/* ---- backup -------------------------------------------------------------- */

static char *manifest(bool pg, long schema, const char *jwt, const char *vault, const char *issuer, const char *state)
{
    json_t *m =
        json_pack("{s:i, s:I, s:s, s:I, s:s, s:s, s:s, s:s}", "format", CP_BACKUP_FORMAT, "created_at",
                  (json_int_t)cp_now_ms(), "store", pg ? "postgres" : "sqlite", "schema_version", (json_int_t)schema,
                  "jwt_key", jwt, "vault_keys", vault, "issuer_keys", issuer, "state", state);
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return s;
}

cp_result cp_backup_run(const cp_config *cfg, const char *file, const char *passphrase, cp_archive_kdf kdf, FILE *say,
                        cp_error *err)
{
    char dbbuf[PATH_MAX], snap[PATH_MAX] = "", state_root[PATH_MAX];
    int snap_fd = -1;
    const char *url = cp_app_database_url(cfg, dbbuf, sizeof dbbuf);
    bool pg = cp_backup__is_pg(url), local_state = strcmp(cfg->state_backend, "s3") != 0;
    long schema = 0;
    cp_archive_writer *w = NULL;
    cp_result r = CP_OK;
    char *man = NULL;
    struct stat st;
    if (!pg && stat(url, &st) != 0) {
        r = cp_error_set(err, CP_ENOTFOUND, "backup", NULL, "no SQLite store at %s: is --data-dir the server's?", url);
        goto out;
    }
    if (!pg) {
        /* The snapshot is as private as the store; it lives only until sealed. */
        if (snprintf(snap, sizeof snap, "%s.db-XXXXXX", file) >= (int)sizeof snap) {
            r = cp_error_set(err, CP_EINVAL, "backup", NULL, "path too long: %.64s...", file);
            snap[0] = '\0';
            goto out;
        }
        snap_fd = mkostemp(snap, O_CLOEXEC);
        if (snap_fd < 0) {
            r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot create a file beside %s: %s", file, strerror(errno));
            snap[0] = '\0';
            goto out;
        }
        r = snapshot(url, snap, &schema, err);
        /* From here on it is read through snap_fd: no name left to find it by. */
        unlink(snap);
        snap[0] = '\0';
        if (r != CP_OK) goto out;
    }
    const char *jwt_from = cfg->jwt_secret[0] ? "env" : "archive";
    const char *vault_from = cfg->vault_keys[0] ? "env" : "archive";
    /* The issuer's keys are made by the first start of a version that issues run tokens: maybe none yet. */
    char issuer_path[PATH_MAX];
    if (cfg->issuer_keys_file[0])
        snprintf(issuer_path, sizeof issuer_path, "%s", cfg->issuer_keys_file);
    else
        snprintf(issuer_path, sizeof issuer_path, "%s/keys/issuer.jwks", cfg->data_dir);
    const char *issuer_from = cfg->issuer_keys[0] ? "env" : access(issuer_path, F_OK) == 0 ? "archive" : "none";
    man = manifest(pg, schema, jwt_from, vault_from, issuer_from, local_state ? "archive" : "s3");
    if ((r = cp_archive_create(file, passphrase, kdf, CP_BACKUP_MANIFEST, man, strlen(man), &w, err)) != CP_OK)
        goto out;
    if (!pg && (r = cp_archive_add_fd(w, CP_BACKUP_DB, snap_fd, err)) != CP_OK) goto out;
    if ((r = add_key(w, cfg->jwt_secret, cfg->jwt_secret_file, cfg->data_dir, "jwt.key", CP_BACKUP_JWT, &jwt_from,
                     err)) != CP_OK ||
        (r = add_key(w, cfg->vault_keys, cfg->vault_keys_file, cfg->data_dir, "vault.keys", CP_BACKUP_VAULT,
                     &vault_from, err)) != CP_OK ||
        (strcmp(issuer_from, "none") && (r = add_key(w, cfg->issuer_keys, cfg->issuer_keys_file, cfg->data_dir,
                                                     "issuer.jwks", CP_BACKUP_ISSUER, &issuer_from, err)) != CP_OK))
        goto out;
    /* State after the store: a resource the snapshot shows has state at
     * least as new as that row, so destroy after restore finds it. */
    size_t state_files = 0;
    snprintf(state_root, sizeof state_root, "%s/state", cfg->data_dir);
    if (local_state && (r = add_state_dir(w, state_root, CP_BACKUP_STATE, &state_files, say, err)) != CP_OK) goto out;
    uint64_t size = 0;
    r = cp_archive_commit(w, err);
    w = NULL;
    if (r != CP_OK) goto out;
    if (stat(file, &st) == 0) size = (uint64_t)st.st_size;
    fprintf(say, "wrote %s (%llu bytes, sealed with the passphrase)\n", file, (unsigned long long)size);
    if (pg)
        fprintf(say, "  store: PostgreSQL, not in this archive: back it up with pg_dump (see README, Backup and "
                     "restore)\n");
    else
        fprintf(say, "  store: SQLite snapshot of %s (schema version %ld)\n", url, schema);
    fprintf(say, "  JWT key: %s\n",
            strcmp(jwt_from, "env") ? "in the archive" : "from CLOUDPLANE_JWT_SECRET, not archived: keep it safe");
    fprintf(say, "  vault keys: %s\n",
            strcmp(vault_from, "env")
                ? "in the archive"
                : "from CLOUDPLANE_VAULT_KEYS, not archived: without them no credential decrypts");
    fprintf(say, "  run-token issuer keys: %s\n",
            !strcmp(issuer_from, "archive") ? "in the archive"
            : !strcmp(issuer_from, "env")   ? "from CLOUDPLANE_ISSUER_KEYS, not archived: clouds trust only those keys"
                                            : "none yet (made at the server's next start)");
    if (local_state)
        fprintf(say, "  OpenTofu state: %zu file(s) from %s\n", state_files, state_root);
    else
        fprintf(say, "  OpenTofu state: in the S3 bucket %s, not archived\n", cfg->state_s3_bucket);
    say_left_out(cfg->data_dir, say);
out:
    cp_archive_abort(w);
    if (snap[0]) unlink(snap);
    if (snap_fd >= 0) close(snap_fd);
    free(man);
    return r;
}
