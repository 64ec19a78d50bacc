/* archive.c: the sealed backup archive (format in archive.h). */
#include "backup/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"

#define CHUNK 65536
#define SEALED_MAX (CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)
#define FORMAT_VERSION 1u
#define HEADER_LEN (8 + 4 + 4 + 8 + 8 + crypto_pwhash_SALTBYTES + crypto_secretstream_xchacha20poly1305_HEADERBYTES)
/* A header can ask for any cost; a reader pays at most libsodium's SENSITIVE. */
#define OPS_MAX crypto_pwhash_OPSLIMIT_SENSITIVE
#define MEM_MAX crypto_pwhash_MEMLIMIT_SENSITIVE

static const unsigned char MAGIC[8] = {'C', 'P', 'B', 'A', 'C', 'K', 'U', 'P'};

typedef crypto_secretstream_xchacha20poly1305_state stream_state;

/* ---- byte order ---------------------------------------------------------- */

static void put_be(unsigned char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8) p[i] = (unsigned char)(v & 0xff);
}

static uint64_t get_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 8) | p[i];
    return v;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

/* Reads exactly n bytes; *got says how many came before EOF. */
static bool read_all(int fd, void *p, size_t n, size_t *got)
{
    unsigned char *c = p;
    size_t done = 0;
    while (done < n) {
        ssize_t k = read(fd, c + done, n - done);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        done += (size_t)k;
    }
    if (got) *got = done;
    return done == n;
}

cp_archive_kdf cp_archive_kdf_default(void)
{
    return (cp_archive_kdf){crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}

static cp_result derive(unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES], const char *pass,
                        const unsigned char *salt, cp_archive_kdf kdf, cp_error *err)
{
    if (crypto_pwhash(key, crypto_secretstream_xchacha20poly1305_KEYBYTES, pass, strlen(pass), salt, kdf.opslimit,
                      (size_t)kdf.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return cp_error_set(err, CP_ERR, "backup", NULL,
                            "not enough memory to derive the archive key (Argon2id, %llu MiB)",
                            (unsigned long long)(kdf.memlimit >> 20));
    return CP_OK;
}

/* ---- writer -------------------------------------------------------------- */

struct cp_archive_writer {
    int fd;
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    stream_state st;
    unsigned char plain[CHUNK];
    size_t len;
    unsigned char sealed[4 + SEALED_MAX];
};

/* Seals the buffered plaintext as one chunk. */
static cp_result push(cp_archive_writer *w, unsigned char tag, const unsigned char *ad, size_t adlen, cp_error *err)
{
    unsigned long long clen;
    crypto_secretstream_xchacha20poly1305_push(&w->st, w->sealed + 4, &clen, w->plain, w->len, ad, adlen, tag);
    put_be(w->sealed, clen, 4);
    sodium_memzero(w->plain, w->len);
    w->len = 0;
    if (!write_all(w->fd, w->sealed, 4 + (size_t)clen))
        return cp_error_set(err, CP_ERR, "backup", NULL, "cannot write %s: %s", w->tmp, strerror(errno));
    return CP_OK;
}

/* A full buffer is sealed only when more bytes come: the last bytes (the end
 * marker) always go out in the FINAL chunk, even when they fill it. */
static cp_result put(cp_archive_writer *w, const void *p, size_t n, cp_error *err)
{
    const unsigned char *c = p;
    while (n) {
        if (w->len == CHUNK) {
            cp_result r = push(w, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, NULL, 0, err);
            if (r != CP_OK) return r;
        }
        size_t k = CHUNK - w->len < n ? CHUNK - w->len : n;
        memcpy(w->plain + w->len, c, k);
        w->len += k;
        c += k;
        n -= k;
    }
    return CP_OK;
}

static cp_result put_entry_header(cp_archive_writer *w, const char *name, unsigned mode, uint64_t size, cp_error *err)
{
    size_t nl = strlen(name);
    if (nl == 0 || nl > CP_ARCHIVE_NAME_MAX)
        return cp_error_set(err, CP_EINVAL, "backup", NULL, "archive entry name too long: %.64s...", name);
    unsigned char h[1 + 2 + CP_ARCHIVE_NAME_MAX + 4 + 8];
    size_t o = 0;
    h[o++] = 'F';
    put_be(h + o, nl, 2);
    o += 2;
    memcpy(h + o, name, nl);
    o += nl;
    put_be(h + o, mode & 07777, 4);
    o += 4;
    put_be(h + o, size, 8);
    o += 8;
    return put(w, h, o, err);
}

cp_result cp_archive_create(const char *path, const char *passphrase, cp_archive_kdf kdf, const char *first_name,
                            const void *first_data, size_t first_len, cp_archive_writer **out, cp_error *err)
{
    *out = NULL;
    if (first_len > CHUNK - 1024)
        return cp_error_set(err, CP_EINVAL, "backup", NULL, "the archive's first entry must fit one chunk");
    cp_archive_writer *w = cp_xcalloc(1, sizeof *w);
    w->fd = -1;
    unsigned char header[HEADER_LEN], key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    cp_result r = CP_OK;
    if (snprintf(w->path, sizeof w->path, "%s", path) >= (int)sizeof w->path ||
        snprintf(w->tmp, sizeof w->tmp, "%s.tmp-XXXXXX", path) >= (int)sizeof w->tmp) {
        r = cp_error_set(err, CP_EINVAL, "backup", NULL, "path too long: %.64s...", path);
        goto out;
    }
    w->fd = mkostemp(w->tmp, O_CLOEXEC); /* mode 0600 */
    if (w->fd < 0) {
        r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot create a file beside %s: %s", path, strerror(errno));
        w->tmp[0] = '\0';
        goto out;
    }
    if (fchmod(w->fd, 0600) != 0) {
        r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot make %s private: %s", w->tmp, strerror(errno));
        goto out;
    }
    size_t o = 0;
    memcpy(header, MAGIC, sizeof MAGIC);
    o += sizeof MAGIC;
    put_be(header + o, FORMAT_VERSION, 4);
    o += 4;
    put_be(header + o, crypto_pwhash_ALG_ARGON2ID13, 4);
    o += 4;
    put_be(header + o, kdf.opslimit, 8);
    o += 8;
    put_be(header + o, kdf.memlimit, 8);
    o += 8;
    unsigned char *salt = header + o;
    randombytes_buf(salt, crypto_pwhash_SALTBYTES);
    o += crypto_pwhash_SALTBYTES;
    if ((r = derive(key, passphrase, salt, kdf, err)) != CP_OK) goto out;
    crypto_secretstream_xchacha20poly1305_init_push(&w->st, header + o, key);
    if (!write_all(w->fd, header, HEADER_LEN)) {
        r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot write %s: %s", w->tmp, strerror(errno));
        goto out;
    }
    /* The first chunk: the first entry alone, bound to the header. */
    if ((r = put_entry_header(w, first_name, 0600, first_len, err)) == CP_OK &&
        (r = put(w, first_data, first_len, err)) == CP_OK)
        r = push(w, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, header, HEADER_LEN, err);
out:
    sodium_memzero(key, sizeof key);
    if (r != CP_OK) {
        cp_archive_abort(w);
        return r;
    }
    *out = w;
    return CP_OK;
}

cp_result cp_archive_add(cp_archive_writer *w, const char *name, unsigned mode, const void *data, size_t len,
                         cp_error *err)
{
    cp_result r = put_entry_header(w, name, mode, len, err);
    return r == CP_OK ? put(w, data, len, err) : r;
}

cp_result cp_archive_add_fd(cp_archive_writer *w, const char *name, int fd, cp_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_SET) != 0)
        return cp_error_set(err, CP_ERR, "backup", NULL, "%s: not a readable regular file", name);
    cp_result r = put_entry_header(w, name, st.st_mode, (uint64_t)st.st_size, err);
    /* The size is in the entry header: the file must not change meanwhile
     * (callers pass a private snapshot, never a live file). */
    uint64_t left = (uint64_t)st.st_size;
    unsigned char buf[16384];
    while (left && r == CP_OK) {
        size_t want = left < sizeof buf ? (size_t)left : sizeof buf, got;
        if (!read_all(fd, buf, want, &got) || got != want) {
            r = cp_error_set(err, CP_ERR, "backup", NULL, "%s changed while it was read", name);
            break;
        }
        r = put(w, buf, got, err);
        left -= got;
    }
    return r;
}

cp_result cp_archive_commit(cp_archive_writer *w, cp_error *err)
{
    unsigned char end = 'E';
    cp_result r = put(w, &end, 1, err);
    if (r == CP_OK) r = push(w, crypto_secretstream_xchacha20poly1305_TAG_FINAL, NULL, 0, err);
    if (r == CP_OK && fsync(w->fd) != 0)
        r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot sync %s: %s", w->tmp, strerror(errno));
    if (r == CP_OK && close(w->fd) != 0)
        r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot write %s: %s", w->tmp, strerror(errno));
    else if (r != CP_OK)
        close(w->fd);
    w->fd = -1;
    if (r == CP_OK && rename(w->tmp, w->path) != 0)
        r = cp_error_set(err, CP_ERR, "backup", NULL, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    if (r != CP_OK) {
        cp_archive_abort(w);
        return r;
    }
    /* The rename is durable once the directory is synced. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", w->path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        CP_IGNORE(fsync(dfd)); /* the file is complete either way; at worst the rename is lost in a crash */
        close(dfd);
    }
    sodium_memzero(w, sizeof *w);
    free(w);
    return CP_OK;
}

void cp_archive_abort(cp_archive_writer *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    if (w->tmp[0]) unlink(w->tmp);
    sodium_memzero(w, sizeof *w);
    free(w);
}

/* ---- reader -------------------------------------------------------------- */

struct cp_archive_reader {
    int fd;
    stream_state st;
    unsigned char plain[CHUNK];
    size_t plen, ppos;
    bool final;
    uint64_t left; /* unread bytes of the current entry */
    unsigned char sealed[SEALED_MAX];
};

static cp_result damaged(cp_error *err, const char *why)
{
    return cp_error_set(err, CP_EINVAL, "backup", NULL, "the archive is damaged or was altered (%s): nothing restored",
                        why);
}

static cp_result pull(cp_archive_reader *r, const unsigned char *ad, size_t adlen, cp_error *err)
{
    unsigned char lenb[4];
    size_t got;
    if (r->final) return damaged(err, "data past its end");
    if (!read_all(r->fd, lenb, 4, &got)) return damaged(err, "cut short");
    uint64_t clen = get_be(lenb, 4);
    if (clen < crypto_secretstream_xchacha20poly1305_ABYTES || clen > SEALED_MAX) return damaged(err, "bad chunk");
    if (!read_all(r->fd, r->sealed, (size_t)clen, &got)) return damaged(err, "cut short");
    unsigned long long mlen;
    unsigned char tag;
    if (crypto_secretstream_xchacha20poly1305_pull(&r->st, r->plain, &mlen, &tag, r->sealed, clen, ad, adlen) != 0)
        return ad ? cp_error_set(err, CP_EAUTH, "backup", NULL,
                                 "wrong passphrase for this archive (or its header is damaged): nothing restored")
                  : damaged(err, "a chunk fails authentication");
    r->plen = (size_t)mlen;
    r->ppos = 0;
    r->final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    return CP_OK;
}

static cp_result take(cp_archive_reader *r, void *p, size_t n, cp_error *err)
{
    unsigned char *c = p;
    while (n) {
        if (r->ppos == r->plen) {
            cp_result rc = pull(r, NULL, 0, err);
            if (rc != CP_OK) return rc;
            continue;
        }
        size_t k = r->plen - r->ppos < n ? r->plen - r->ppos : n;
        memcpy(c, r->plain + r->ppos, k);
        r->ppos += k;
        c += k;
        n -= k;
    }
    return CP_OK;
}

cp_result cp_archive_open(const char *path, const char *passphrase, cp_archive_reader **out, cp_error *err)
{
    *out = NULL;
    cp_archive_reader *r = cp_xcalloc(1, sizeof *r);
    unsigned char header[HEADER_LEN], key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
    cp_result rc = CP_OK;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        rc = cp_error_set(err, CP_ENOTFOUND, "backup", NULL, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (!read_all(r->fd, header, HEADER_LEN, NULL) || memcmp(header, MAGIC, sizeof MAGIC) != 0) {
        rc = cp_error_set(err, CP_EINVAL, "backup", NULL, "%s is not a cloudplane backup archive", path);
        goto out;
    }
    uint64_t version = get_be(header + 8, 4), alg = get_be(header + 12, 4);
    cp_archive_kdf kdf = {get_be(header + 16, 8), get_be(header + 24, 8)};
    if (version != FORMAT_VERSION) {
        rc = cp_error_set(err, CP_EINVAL, "backup", NULL, "%s is archive format %llu; this cloudplane reads format %u",
                          path, (unsigned long long)version, FORMAT_VERSION);
        goto out;
    }
    if (alg != crypto_pwhash_ALG_ARGON2ID13 || kdf.opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf.opslimit > OPS_MAX ||
        kdf.memlimit < crypto_pwhash_MEMLIMIT_MIN || kdf.memlimit > MEM_MAX) {
        rc = damaged(err, "key derivation settings out of range");
        goto out;
    }
    if ((rc = derive(key, passphrase, header + 32, kdf, err)) != CP_OK) goto out;
    if (crypto_secretstream_xchacha20poly1305_init_pull(&r->st, header + 32 + crypto_pwhash_SALTBYTES, key) != 0) {
        rc = damaged(err, "bad stream header");
        goto out;
    }
    rc = pull(r, header, HEADER_LEN, err);
out:
    sodium_memzero(key, sizeof key);
    if (rc != CP_OK) {
        cp_archive_close(r);
        return rc;
    }
    *out = r;
    return CP_OK;
}

cp_result cp_archive_next(cp_archive_reader *r, cp_archive_entry *e, cp_error *err)
{
    unsigned char skip[4096];
    cp_result rc = CP_OK;
    while (r->left && rc == CP_OK) {
        size_t k = r->left < sizeof skip ? (size_t)r->left : sizeof skip;
        rc = take(r, skip, k, err);
        r->left -= k;
    }
    unsigned char kind, b[8];
    if (rc != CP_OK || (rc = take(r, &kind, 1, err)) != CP_OK) return rc;
    if (kind == 'E') {
        /* The end: it must close the final chunk, and the file ends there. */
        if (!r->final || r->ppos != r->plen) return damaged(err, "data past its end");
        size_t got;
        if (read_all(r->fd, b, 1, &got) || got) return damaged(err, "data past its end");
        return CP_ENOTFOUND;
    }
    if (kind != 'F' || (rc = take(r, b, 2, err)) != CP_OK) return rc != CP_OK ? rc : damaged(err, "bad entry");
    size_t nl = (size_t)get_be(b, 2);
    if (nl == 0 || nl > CP_ARCHIVE_NAME_MAX) return damaged(err, "bad entry name");
    if ((rc = take(r, e->name, nl, err)) != CP_OK) return rc;
    e->name[nl] = '\0';
    if (memchr(e->name, '\0', nl)) return damaged(err, "bad entry name");
    if ((rc = take(r, b, 4, err)) != CP_OK) return rc;
    e->mode = (unsigned)get_be(b, 4) & 07777;
    if ((rc = take(r, b, 8, err)) != CP_OK) return rc;
    e->size = r->left = get_be(b, 8);
    return CP_OK;
}

cp_result cp_archive_read(cp_archive_reader *r, void *buf, size_t cap, size_t *n, cp_error *err)
{
    size_t k = r->left < cap ? (size_t)r->left : cap;
    *n = 0;
    cp_result rc = take(r, buf, k, err);
    if (rc != CP_OK) return rc;
    r->left -= k;
    *n = k;
    return CP_OK;
}

void cp_archive_close(cp_archive_reader *r)
{
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    sodium_memzero(r, sizeof *r);
    free(r);
}
