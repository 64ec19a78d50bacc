#include "core/ids.h"

#include <sodium.h>
#include <string.h>

#include "core/timeutil.h"

static const char alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

void cp_id_new(char out[CP_ID_LEN + 1])
{
    unsigned char b[16];
    uint64_t t = (uint64_t)cp_now_ms();
    for (int i = 5; i >= 0; i--) {
        b[i] = (unsigned char)(t & 0xff);
        t >>= 8;
    }
    randombytes_buf(b + 6, 10);
    /* 128 bits -> 26 base32 chars (first char carries 3 bits). */
    int bit = -2; /* 26*5 = 130 bits: two leading zero bits */
    for (int i = 0; i < CP_ID_LEN; i++) {
        unsigned v = 0;
        for (int k = 0; k < 5; k++, bit++) {
            v <<= 1;
            if (bit >= 0) v |= (b[bit / 8] >> (7 - bit % 8)) & 1u;
        }
        out[i] = alphabet[v];
    }
    out[CP_ID_LEN] = '\0';
}

bool cp_id_new_after(const char *last, char out[CP_ID_LEN + 1])
{
    cp_id_new(out);
    if (!last || strlen(last) != CP_ID_LEN || strcmp(out, last) > 0) return true;
    memcpy(out, last, CP_ID_LEN + 1);
    for (int i = CP_ID_LEN - 1; i >= 0; i--) {
        const char *d = strchr(alphabet, out[i]);
        if (d && d[1]) {
            out[i] = d[1];
            return cp_id_valid(out); /* past the largest id the first digit leaves the range */
        }
        out[i] = '0';
    }
    return false;
}

bool cp_id_valid(const char *s)
{
    if (!s || strlen(s) != CP_ID_LEN) return false;
    if (s[0] > '7') return false;
    for (size_t i = 0; i < CP_ID_LEN; i++)
        if (!strchr(alphabet, s[i]) || s[i] == '\0') return false;
    return true;
}

void cp_rand_hex(char *out, size_t nbytes)
{
    unsigned char buf[64];
    if (nbytes > sizeof buf) nbytes = sizeof buf;
    randombytes_buf(buf, nbytes);
    sodium_bin2hex(out, nbytes * 2 + 1, buf, nbytes);
}
