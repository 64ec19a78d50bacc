/* archive.h: the sealed backup archive. A file is a sequence of named
 * entries (name, mode, bytes) sealed as one libsodium secretstream under a
 * key derived from a passphrase (Argon2id); nothing in it is readable, or
 * can be changed, cut short or reordered unnoticed, without the passphrase.
 *
 * On disk: a 72-byte header in clear (magic "CPBACKUP", format version,
 * KDF algorithm, opslimit, memlimit, salt, secretstream header), then
 * chunks (4-byte big-endian length, ciphertext of up to 64 KiB). The header
 * is the additional data of the first chunk, and the last chunk carries the
 * FINAL tag. The first chunk is short and sealed alone, so a wrong
 * passphrase is told apart from damage further on. */
#ifndef CP_BACKUP_ARCHIVE_H
#define CP_BACKUP_ARCHIVE_H

#include <stdint.h>

#include "core/error.h"

#define CP_ARCHIVE_NAME_MAX 512

typedef struct cp_archive_writer cp_archive_writer;
typedef struct cp_archive_reader cp_archive_reader;

/* Argon2id cost of the key derivation. */
typedef struct {
    uint64_t opslimit;
    uint64_t memlimit;
} cp_archive_kdf;

/* The cost backups use: libsodium's MODERATE (256 MiB, 3 passes). */
cp_archive_kdf cp_archive_kdf_default(void);

/* Starts an archive that becomes path on commit: until then it is a 0600
 * temp file beside it. The first entry (written here, sealed alone) is
 * first_name with first_data. Owns nothing of the caller's. */
cp_result cp_archive_create(const char *path, const char *passphrase, cp_archive_kdf kdf, const char *first_name,
                            const void *first_data, size_t first_len, cp_archive_writer **out,
                            cp_error *err) CP_MUST_CHECK;
/* Adds an entry of len bytes from memory. */
cp_result cp_archive_add(cp_archive_writer *w, const char *name, unsigned mode, const void *data, size_t len,
                         cp_error *err) CP_MUST_CHECK;
/* Adds the regular file open on fd, from its start, streamed, under name;
 * fd stays the caller's. */
cp_result cp_archive_add_fd(cp_archive_writer *w, const char *name, int fd, cp_error *err) CP_MUST_CHECK;
/* Seals the end, syncs and renames the temp file to path; frees w. */
cp_result cp_archive_commit(cp_archive_writer *w, cp_error *err) CP_MUST_CHECK;
/* Removes the temp file and frees w (NULL is fine). */
void cp_archive_abort(cp_archive_writer *w);

typedef struct {
    char name[CP_ARCHIVE_NAME_MAX + 1];
    unsigned mode;
    uint64_t size;
} cp_archive_entry;

/* Opens path and checks the passphrase on the first chunk: CP_EAUTH when it
 * is wrong (or the header was altered), CP_EINVAL when the file is not an
 * archive this build reads. */
cp_result cp_archive_open(const char *path, const char *passphrase, cp_archive_reader **out,
                          cp_error *err) CP_MUST_CHECK;
/* The next entry's header; CP_ENOTFOUND after the last one (the end is then
 * verified: a cut-off or extended file is an error). The previous entry's
 * unread bytes are skipped. */
cp_result cp_archive_next(cp_archive_reader *r, cp_archive_entry *e, cp_error *err) CP_MUST_CHECK;
/* Up to cap bytes of the current entry into buf; *n = 0 at its end. */
cp_result cp_archive_read(cp_archive_reader *r, void *buf, size_t cap, size_t *n, cp_error *err) CP_MUST_CHECK;
void cp_archive_close(cp_archive_reader *r);

#endif
