/* Unit tests for backup/: the sealed archive (round trip, a wrong passphrase,
 * every kind of alteration refused), and the entry names restore accepts.
 * restore.c is included for its static name check. */
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/backup/restore.c"
#include "backup/archive.h"
#include "core/json.h"
#include "test.h"

/* Cheap enough for a test; the header carries whatever cost was used. */
static const cp_archive_kdf FAST = {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
static char dir[] = "/tmp/cp-test-backup.XXXXXX";
static unsigned char big[300000]; /* several chunks */

static void path_of(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static cp_result write_archive(const char *path, const char *pass)
{
    cp_archive_writer *w;
    cp_error e;
    cp_result r = cp_archive_create(path, pass, FAST, "manifest.json", "{\"format\":1}", 12, &w, &e);
    if (r != CP_OK) return r;
    if ((r = cp_archive_add(w, "keys/vault.keys", 0600, "k1:SECRETKEYTEXT", 16, &e)) != CP_OK ||
        (r = cp_archive_add(w, "state/a/terraform.tfstate", 0600, big, sizeof big, &e)) != CP_OK ||
        (r = cp_archive_add(w, "state/empty", 0600, "", 0, &e)) != CP_OK) {
        cp_archive_abort(w);
        return r;
    }
    return cp_archive_commit(w, &e);
}

/* Reads every entry; CP_OK when the archive reads to its verified end. */
static cp_result read_archive(const char *path, const char *pass, int *entries, cp_error *e)
{
    cp_archive_reader *r;
    cp_result rc = cp_archive_open(path, pass, &r, e);
    if (rc != CP_OK) return rc;
    cp_archive_entry en;
    static unsigned char buf[sizeof big];
    *entries = 0;
    while ((rc = cp_archive_next(r, &en, e)) == CP_OK) {
        size_t n, got = 0;
        while ((rc = cp_archive_read(r, buf + got, sizeof buf - got, &n, e)) == CP_OK && n) got += n;
        if (rc != CP_OK) break;
        if (!strcmp(en.name, "state/a/terraform.tfstate") && (got != sizeof big || memcmp(buf, big, got) != 0))
            rc = CP_ERR;
        if (!strcmp(en.name, "keys/vault.keys") && (got != 16 || memcmp(buf, "k1:SECRETKEYTEXT", 16) != 0)) rc = CP_ERR;
        if (rc != CP_OK) break;
        (*entries)++;
    }
    cp_archive_close(r);
    return rc == CP_ENOTFOUND ? CP_OK : rc;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *d = malloc(1 << 20);
    *len = fread(d, 1, 1 << 20, f);
    fclose(f);
    return d;
}

static void spill(const char *path, const unsigned char *d, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    CP_IGNORE(fwrite(d, 1, len, f));
    fclose(f);
}

TEST(round_trip_private_and_sealed)
{
    char p[256];
    path_of(p, sizeof p, "a.cpb");
    CHECK_EQ(write_archive(p, "right passphrase"), CP_OK);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    int n = 0;
    cp_error e;
    CHECK_EQ(read_archive(p, "right passphrase", &n, &e), CP_OK);
    CHECK_EQ(n, 4);
    size_t len;
    unsigned char *d = slurp(p, &len);
    CHECK(d && len > sizeof big);
    CHECK(d && memmem(d, len, "SECRETKEYTEXT", 13) == NULL);
    CHECK(d && memmem(d, len, "right passphrase", 16) == NULL);
    CHECK(d && memmem(d, len, "vault.keys", 10) == NULL); /* names are sealed too */
    free(d);
}

TEST(wrong_passphrase_is_told_apart)
{
    char p[256];
    path_of(p, sizeof p, "a.cpb");
    int n;
    cp_error e;
    CHECK_EQ(read_archive(p, "wrong passphrase", &n, &e), CP_EAUTH);
    CHECK(strstr(e.message, "wrong passphrase") != NULL);
    CHECK(strstr(e.message, "right") == NULL);
}

/* Flips one bit at many offsets, cuts the file at many lengths, appends a
 * byte: never read as a whole archive. */
TEST(every_alteration_is_refused)
{
    char p[256], bad[256];
    path_of(p, sizeof p, "a.cpb");
    path_of(bad, sizeof bad, "bad.cpb");
    size_t len;
    unsigned char *d = slurp(p, &len);
    CHECK(d != NULL);
    if (!d) return;
    int n;
    cp_error e;
    for (size_t off = 0; off < len; off += off < 200 ? 1 : 997) {
        d[off] ^= 0x10;
        spill(bad, d, len);
        d[off] ^= 0x10;
        if (read_archive(bad, "right passphrase", &n, &e) == CP_OK) {
            fprintf(stderr, "  flipped byte %zu read fine\n", off);
            CHECK(0);
        }
    }
    for (size_t cut = 0; cut < len; cut += cut < 200 ? 7 : 4999) {
        spill(bad, d, cut);
        CHECK(read_archive(bad, "right passphrase", &n, &e) != CP_OK);
    }
    spill(bad, d, len - 1);
    CHECK(read_archive(bad, "right passphrase", &n, &e) != CP_OK);
    CHECK(strstr(e.message, "damaged or was altered") != NULL);
    d = realloc(d, len + 1);
    d[len] = 0;
    spill(bad, d, len + 1);
    CHECK(read_archive(bad, "right passphrase", &n, &e) != CP_OK);
    CHECK(strstr(e.message, "past its end") != NULL);
    free(d);
}

/* The end marker fills a chunk exactly: it must still close the final one. */
TEST(end_on_a_chunk_boundary)
{
    char p[256];
    path_of(p, sizeof p, "edge.cpb");
    for (size_t len = 65510; len <= 65516; len++) {
        cp_archive_writer *w;
        cp_error e;
        CHECK_EQ(cp_archive_create(p, "pass phrase", FAST, "manifest.json", "{}", 2, &w, &e), CP_OK);
        CHECK_EQ(cp_archive_add(w, "state/x", 0600, big, len, &e), CP_OK); /* 22 bytes of entry header */
        CHECK_EQ(cp_archive_commit(w, &e), CP_OK);
        cp_archive_reader *r;
        cp_archive_entry en;
        CHECK_EQ(cp_archive_open(p, "pass phrase", &r, &e), CP_OK);
        CHECK_EQ(cp_archive_next(r, &en, &e), CP_OK);
        CHECK_EQ(cp_archive_next(r, &en, &e), CP_OK);
        CHECK_EQ(en.size, len);
        cp_result last = cp_archive_next(r, &en, &e);
        if (last != CP_ENOTFOUND) fprintf(stderr, "  entry of %zu: %s\n", len, e.message);
        CHECK_EQ(last, CP_ENOTFOUND);
        cp_archive_close(r);
    }
}

TEST(a_failed_archive_leaves_no_file)
{
    char p[256];
    path_of(p, sizeof p, "never.cpb");
    cp_archive_writer *w;
    cp_error e;
    CHECK_EQ(cp_archive_create(p, "pass phrase", FAST, "manifest.json", "{}", 2, &w, &e), CP_OK);
    CHECK_EQ(cp_archive_add(w, "state/x", 0600, "x", 1, &e), CP_OK);
    cp_archive_abort(w);
    CHECK(access(p, F_OK) != 0);
    DIR *dd = opendir(dir);
    struct dirent *de;
    while (dd && (de = readdir(dd))) CHECK(strncmp(de->d_name, "never.cpb", 9) != 0);
    if (dd) closedir(dd);
}

TEST(restore_takes_only_its_own_names)
{
    CHECK(name_ok("cloudplane.db"));
    CHECK(name_ok("keys/jwt.key"));
    CHECK(name_ok("keys/vault.keys"));
    CHECK(name_ok("keys/issuer.jwks"));
    CHECK(name_ok("state/01abc/terraform.tfstate"));
    CHECK(name_ok("state/x"));
    CHECK(!name_ok("state"));
    CHECK(!name_ok("state/"));
    CHECK(!name_ok("state/../keys/jwt.key"));
    CHECK(!name_ok("state/a/../../x"));
    CHECK(!name_ok("state/./x"));
    CHECK(!name_ok("state//x"));
    CHECK(!name_ok("state/x/"));
    CHECK(!name_ok("/etc/passwd"));
    CHECK(!name_ok("keys/other"));
    CHECK(!name_ok("../cloudplane.db"));
    CHECK(!name_ok("manifest.json")); /* only as the first entry */
}

int main(void)
{
    cp_json_init();
    if (sodium_init() < 0 || !mkdtemp(dir)) return 1;
    randombytes_buf(big, sizeof big);
    RUN(round_trip_private_and_sealed);
    RUN(wrong_passphrase_is_told_apart);
    RUN(every_alteration_is_refused);
    RUN(end_on_a_chunk_boundary);
    RUN(a_failed_archive_leaves_no_file);
    RUN(restore_takes_only_its_own_names);
    rm_rf(dir);
    TEST_END();
}
