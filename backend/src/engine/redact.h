/* redact.h: the secret scrubber every line passes before it leaves the runner
 * (events, logs, error messages). Built from a list of secret strings; each is
 * replaced by "***" in its raw form, its JSON-escaped forms (as jansson and Go's
 * encoder write them) and its base64 forms (standard and URL-safe, padded and
 * not, plus the runs of characters that only the secret determines when it is
 * embedded at any offset inside a larger base64 blob). A multi-line secret
 * (a PEM private key) also has each of its lines of 8+ bytes registered, since
 * tools print such keys line by line.
 *
 * Secrets shorter than CP_REDACT_MIN_LEN bytes are ignored: scrubbing "ab" or
 * "1" would mangle every log line, and the holes themselves would spell out the
 * secret. Credentials that short are not credentials.
 *
 * Redacting repeats until no form matches, so masks never spell a secret
 * again; JSON nested past 64 levels is emptied rather than left unread.
 *
 * Adding is not thread-safe; once built, redacting is read-only and may be
 * called from any thread. */
#ifndef CP_REDACT_H
#define CP_REDACT_H

#include <jansson.h>

#include "core/error.h"

#define CP_REDACT_MIN_LEN 4
#define CP_REDACT_MASK "***"

typedef struct cp_redact cp_redact;

cp_redact *cp_redact_new(void);
void cp_redact_free(cp_redact *r);
/* Registers a secret of len bytes and its encoded forms. Short ones are ignored. */
void cp_redact_add(cp_redact *r, const char *secret, size_t len);
/* For credential JSON (e.g. a GCP service-account key): registers every string
 * value of at least 8 bytes, at any depth, as a secret. The caller registers
 * the whole text with cp_redact_add as well. CP_EINVAL if it is not JSON. */
cp_result cp_redact_add_json_values(cp_redact *r, const char *json_text) CP_MUST_CHECK;
/* Number of registered patterns (all forms). */
size_t cp_redact_count(const cp_redact *r);

/* Redacted copy of s[0..len); NUL-terminated, *out_len set if not NULL.
 * Caller frees. r may be NULL (plain copy). */
char *cp_redact_str(const cp_redact *r, const char *s, size_t len, size_t *out_len);
/* Redacts every string value and object key in j, in place. */
void cp_redact_json(const cp_redact *r, json_t *j);

#endif
