/* ids.h: opaque, time-ordered identifiers (ULID layout: 48-bit ms time +
 * 80 random bits, Crockford base32, lower-case). Ordering by id is ordering by
 * creation time, which keyset pagination relies on. */
#ifndef CP_IDS_H
#define CP_IDS_H

#include "core/cp.h"

#define CP_ID_LEN 26

/* out needs CP_ID_LEN + 1 bytes. */
void cp_id_new(char out[CP_ID_LEN + 1]);
/* A new id that sorts after last (NULL or "" = any): a fresh id when it
 * does, else last plus one (base32, with carry), since ids made in the same
 * millisecond, or on hosts whose clocks differ, sort either way. False only
 * when no id sorts after last. */
bool cp_id_new_after(const char *last, char out[CP_ID_LEN + 1]);
/* True if s looks like an id we issued (length and alphabet). */
bool cp_id_valid(const char *s);
/* Random hex string of 2*nbytes chars; out needs 2*nbytes+1. */
void cp_rand_hex(char *out, size_t nbytes);

#endif
