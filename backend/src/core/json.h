/* json.h: strict request-body parsing over jansson. Bodies are parsed with
 * duplicate keys rejected, then checked against a field table: unknown fields
 * are a 400, a missing or mistyped field a 422 naming the field. */
#ifndef CP_JSON_H
#define CP_JSON_H

#include <jansson.h>

#include "core/error.h"

/* Routes jansson's allocations through cp_xmalloc, so that out-of-memory
 * inside jansson aborts as every other allocation does. Call once at startup,
 * before threads start; calling it again is harmless. */
void cp_json_init(void);

typedef enum { CP_JF_STRING, CP_JF_INT, CP_JF_NUMBER, CP_JF_BOOL, CP_JF_OBJECT, CP_JF_ARRAY } cp_jf_type;

typedef struct {
    const char *name;
    cp_jf_type type;
    bool required;
    bool nullable;   /* JSON null accepted (and treated as absent) */
    size_t min_len;  /* strings: characters (code points, as JSON Schema counts); arrays: items */
    size_t max_len;  /* 0 = no limit */
    double min, max; /* numbers: inclusive bounds when min < max */
} cp_json_field;

/* Parses len bytes; on failure err is a 400 with the parser's position. Caller owns the result. */
json_t *cp_json_parse(const char *data, size_t len, cp_error *err);
/* Validates obj against fields. */
cp_result cp_json_check(json_t *obj, const cp_json_field *fields, size_t n, cp_error *err) CP_MUST_CHECK;

/* Typed getters that return a default when the key is absent or null. */
const char *cp_json_str(json_t *obj, const char *key, const char *def);
double cp_json_num(json_t *obj, const char *key, double def);
bool cp_json_bool(json_t *obj, const char *key, bool def);
/* Characters (UTF-8 code points) in the first len bytes of s: what a length limit counts. */
size_t cp_utf8_len(const char *s, size_t len);
/* json_string() that turns NULL into JSON null. */
json_t *cp_json_str_or_null(const char *s);

#endif
