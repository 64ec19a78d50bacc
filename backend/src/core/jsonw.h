/* jsonw.h: a small escaping JSON writer that appends straight to a cp_buf,
 * for hot paths (list pages) where building a jansson tree only to serialise
 * it costs more than the query. Its output is byte-equal to jansson's
 * json_dumps(JSON_COMPACT) of the same values (tests/unit/test_jsonw.c and
 * fuzz/fuzz_jsonw.c hold it to that):
 *   - strings escape '"', '\\', and control characters as jansson does
 *     (\b \f \n \r \t, else \u00XX); everything else is written as is;
 *   - reals render as jansson's "%.17g" with ".0" added and the exponent
 *     trimmed; integers as %lld.
 * Where jansson would refuse a value, the writer still writes valid JSON:
 *   - invalid UTF-8 (jansson's json_string() returns NULL, so a tree holding
 *     it could not be built at all) becomes U+FFFD, one per bad byte. Every
 *     string the API accepts went through jansson's parser, which refuses
 *     invalid UTF-8, so only bytes written around the API can meet this;
 *   - a non-finite real (json_real() refuses it) is written as null.
 * Commas are the writer's business: call key/value functions in order.
 * The buffer's maximum applies; once an append fails, the writer stops
 * writing and cp_jsonw_result() says CP_ETOOBIG. */
#ifndef CP_JSONW_H
#define CP_JSONW_H

#include "core/buf.h"

#define CP_JSONW_MAX_DEPTH 32

typedef struct {
    cp_buf *out;
    int depth;
    bool need_comma; /* a value was written in the open container */
    bool failed;
} cp_jsonw;

void cp_jsonw_init(cp_jsonw *w, cp_buf *out);
/* CP_OK, or CP_ETOOBIG when the buffer's maximum was hit (output truncated). */
cp_result cp_jsonw_result(const cp_jsonw *w) CP_MUST_CHECK;

void cp_jsonw_obj_begin(cp_jsonw *w);
void cp_jsonw_obj_end(cp_jsonw *w);
void cp_jsonw_arr_begin(cp_jsonw *w);
void cp_jsonw_arr_end(cp_jsonw *w);
/* An object member's name; the next call writes its value. */
void cp_jsonw_key(cp_jsonw *w, const char *key);
/* The same for a name known at compile time that needs no escaping (a
 * string literal of plain ASCII letters, digits and '_'): no escaping pass. */
#define CP_JSONW_KEY(w, lit) cp_jsonw_key_raw((w), "\"" lit "\":", sizeof(lit) + 2)
void cp_jsonw_key_raw(cp_jsonw *w, const char *quoted, size_t len);

/* A string; NULL writes null. */
void cp_jsonw_str(cp_jsonw *w, const char *s);
void cp_jsonw_strn(cp_jsonw *w, const char *s, size_t len);
void cp_jsonw_int(cp_jsonw *w, int64_t v);
void cp_jsonw_real(cp_jsonw *w, double v);
void cp_jsonw_bool(cp_jsonw *w, bool v);
void cp_jsonw_null(cp_jsonw *w);
/* A millisecond timestamp as ISO-8601 UTC with milliseconds
 * ("2024-05-01T12:00:00.000Z", as core/timeutil.h's cp_time_iso), or null
 * for ms <= 0. */
void cp_jsonw_time(cp_jsonw *w, int64_t ms);
/* Stored JSON text (a column holding an object or array) as a value, written
 * as jansson would re-render it: json_dumps(json_loads(text, 0), JSON_COMPACT),
 * or {} when text is NULL or not a JSON object or array. Text already in that
 * compact form (what the store writes) is copied after a check, without
 * building a tree. */
void cp_jsonw_stored(cp_jsonw *w, const char *text);

/* Whether text is already exactly what jansson's compact dump of its parse
 * would write (so it can be copied as is); exposed for tests. */
bool cp_jsonw_canonical(const char *text, size_t len);
/* Writes jansson's rendering of a real ("%.17g" tidied) into buf (cap >= 32);
 * returns its length. Exposed for tests. */
size_t cp_jsonw_real_text(double v, char *buf, size_t cap);

#endif
