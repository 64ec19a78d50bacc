/* jsonw.c: the escaping JSON writer (jsonw.h). */
#include "core/jsonw.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

void cp_jsonw_init(cp_jsonw *w, cp_buf *out)
{
    w->out = out;
    w->depth = 0;
    w->need_comma = false;
    w->failed = false;
}

cp_result cp_jsonw_result(const cp_jsonw *w)
{
    return w->failed ? CP_ETOOBIG : CP_OK;
}

/* The common case inline: room in the buffer (kept NUL-terminated, as cp_buf is). */
static inline void put(cp_jsonw *w, const char *p, size_t n)
{
    cp_buf *b = w->out;
    if (b->len + n < b->cap) {
        memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    if (w->failed) return;
    /* Grows by doubling, as cp_buf does, but at least a page at a time. */
    if (b->cap < 4096 && cp_buf_reserve(b, 4096 - b->len) != CP_OK) w->failed = true;
    if (!w->failed && cp_buf_add(b, p, n) != CP_OK) w->failed = true;
}

#define PUT_LIT(w, s) put((w), (s), sizeof(s) - 1)

/* Before a value (or a key): the comma that separates it from the last one. */
static void sep(cp_jsonw *w)
{
    if (w->need_comma) PUT_LIT(w, ",");
    w->need_comma = true;
}

static void w_open(cp_jsonw *w, const char *c)
{
    sep(w);
    put(w, c, 1);
    w->depth++;
    w->need_comma = false;
}

static void w_close(cp_jsonw *w, const char *c)
{
    put(w, c, 1);
    w->depth--;
    w->need_comma = true;
}

void cp_jsonw_obj_begin(cp_jsonw *w)
{
    w_open(w, "{");
}
void cp_jsonw_obj_end(cp_jsonw *w)
{
    w_close(w, "}");
}
void cp_jsonw_arr_begin(cp_jsonw *w)
{
    w_open(w, "[");
}
void cp_jsonw_arr_end(cp_jsonw *w)
{
    w_close(w, "]");
}

/* Length of the valid UTF-8 sequence at s (jansson's rules: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) {
        n = 2;
        cp = c & 0x1F;
    } else if (c < 0xF0) {
        n = 3;
        cp = c & 0x0F;
    } else if (c < 0xF5) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

/* 1: written as is; 0: needs an escape or a check (control, quote,
 * backslash, non-ASCII). */
static const unsigned char plain[256] = {
    [' '] = 1,
    ['!'] = 1,
    ['#' ... '['] = 1,
    [']' ... 0x7F] = 1,
};

static void put_escaped(cp_jsonw *w, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    PUT_LIT(w, "\"");
    while (s < end) {
        const unsigned char *run = s;
        while (s < end && plain[*s]) s++;
        if (s > run) put(w, (const char *)run, (size_t)(s - run));
        if (s == end) break;
        unsigned c = *s;
        if (c >= 0x80) {
            size_t n = utf8_seq(s, (size_t)(end - s));
            if (n) {
                put(w, (const char *)s, n);
                s += n;
            } else {
                PUT_LIT(w, "\xEF\xBF\xBD"); /* U+FFFD for each bad byte */
                s++;
            }
            continue;
        }
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        put(w, esc, n);
        s++;
    }
    PUT_LIT(w, "\"");
}

void cp_jsonw_key_raw(cp_jsonw *w, const char *quoted, size_t len)
{
    sep(w);
    put(w, quoted, len);
    w->need_comma = false;
}

void cp_jsonw_key(cp_jsonw *w, const char *key)
{
    sep(w);
    put_escaped(w, key, strlen(key));
    PUT_LIT(w, ":");
    w->need_comma = false;
}

void cp_jsonw_strn(cp_jsonw *w, const char *s, size_t len)
{
    sep(w);
    put_escaped(w, s, len);
}

void cp_jsonw_str(cp_jsonw *w, const char *s)
{
    if (!s) {
        cp_jsonw_null(w);
        return;
    }
    cp_jsonw_strn(w, s, strlen(s));
}

void cp_jsonw_int(cp_jsonw *w, int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--p = '-';
    sep(w);
    put(w, p, (size_t)(buf + sizeof buf - p));
}

/* jansson's jsonp_dtostr at its default precision (17). */
size_t cp_jsonw_real_text(double v, char *buf, size_t cap)
{
    int ret = snprintf(buf, cap, "%.17g", v);
    if (ret < 0 || (size_t)ret >= cap) return 0;
    size_t len = (size_t)ret;
    /* The C locale is never changed here: '.' is the decimal point. */
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        if (len + 3 > cap) return 0;
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    /* No '+' and no leading zeros in the exponent. */
    char *start = strchr(buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    return len;
}

/* Pages repeat the same few prices: the last renderings, per thread, spare
 * a "%.17g" (a few thousand instructions) for each. */
#define REAL_CACHE 8
typedef struct {
    uint64_t bits;
    unsigned char len; /* 0: empty */
    char text[31];
} real_text;
static __thread real_text real_cache[REAL_CACHE];

void cp_jsonw_real(cp_jsonw *w, double v)
{
    if (!isfinite(v)) {
        cp_jsonw_null(w);
        return;
    }
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    real_text *e = &real_cache[(bits ^ (bits >> 29) ^ (bits >> 47)) % REAL_CACHE];
    if (!e->len || e->bits != bits) {
        char buf[40];
        size_t n = cp_jsonw_real_text(v, buf, sizeof buf);
        if (n == 0 || n >= sizeof e->text) {
            sep(w);
            put(w, buf, n);
            return;
        }
        e->bits = bits;
        e->len = (unsigned char)n;
        memcpy(e->text, buf, n);
    }
    sep(w);
    put(w, e->text, e->len);
}

void cp_jsonw_bool(cp_jsonw *w, bool v)
{
    sep(w);
    if (v)
        PUT_LIT(w, "true");
    else
        PUT_LIT(w, "false");
}

void cp_jsonw_null(cp_jsonw *w)
{
    sep(w);
    PUT_LIT(w, "null");
}

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void cp_jsonw_time(cp_jsonw *w, int64_t ms)
{
    if (ms <= 0) {
        cp_jsonw_null(w);
        return;
    }
    /* Days to civil date (H. Hinnant's algorithm): no gmtime_r/strftime per field. */
    int64_t secs = ms / 1000, days = secs / 86400, sod = secs % 86400;
    int64_t z = days + 719468, era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    char buf[40];
    if (y > 9999) { /* beyond four digits: as strftime writes it */
        cp_time_iso(ms, buf, sizeof buf);
        cp_jsonw_str(w, buf);
        return;
    }
    memcpy(buf, "\"0000-00-00T00:00:00.000Z\"", 26);
    put2(buf + 1, (unsigned)(y / 100));
    put2(buf + 3, (unsigned)(y % 100));
    put2(buf + 6, m);
    put2(buf + 9, d);
    put2(buf + 12, (unsigned)(sod / 3600));
    put2(buf + 15, (unsigned)(sod / 60 % 60));
    put2(buf + 18, (unsigned)(sod % 60));
    unsigned msr = (unsigned)(ms % 1000);
    buf[21] = (char)('0' + msr / 100);
    put2(buf + 22, msr % 100);
    sep(w);
    put(w, buf, 26);
}

/* ---- stored JSON text ---- */

typedef struct {
    const unsigned char *p, *end;
} scan;

static bool canon_value(scan *s, int depth);

/* A string in jansson's output form: valid UTF-8, no raw control bytes, and
 * only the escapes jansson writes. */
static bool canon_string(scan *s)
{
    if (s->p >= s->end || *s->p != '"') return false;
    s->p++;
    while (s->p < s->end) {
        unsigned c = *s->p;
        if (plain[c]) {
            s->p++;
        } else if (c == '"') {
            s->p++;
            return true;
        } else if (c >= 0x80) {
            size_t n = utf8_seq(s->p, (size_t)(s->end - s->p));
            if (!n) return false;
            s->p += n;
        } else if (c == '\\') {
            if (s->end - s->p < 2) return false;
            unsigned e = s->p[1];
            if (strchr("\"\\bfnrt", (int)e) && e) {
                s->p += 2;
                continue;
            }
            /* \u00XX (upper-case hex) for a control character without a short form; not NUL. */
            if (e != 'u' || s->end - s->p < 6 || s->p[2] != '0' || s->p[3] != '0' || (s->p[4] != '0' && s->p[4] != '1'))
                return false;
            unsigned h = s->p[5];
            unsigned v = (unsigned)(s->p[4] - '0') * 16 + (h >= '0' && h <= '9'   ? h - '0'
                                                           : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                                                  : 99);
            if (v > 0x1F || v == 0 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t') return false;
            s->p += 6;
        } else {
            return false; /* raw control character: not JSON */
        }
    }
    return false;
}

/* An integer as jansson writes it: no "-0", no leading zeros, in int64 range.
 * Reals are left to jansson (their rendering is not a simple check). */
static bool canon_number(scan *s)
{
    const unsigned char *start = s->p;
    bool neg = false;
    if (s->p < s->end && *s->p == '-') {
        neg = true;
        s->p++;
    }
    const unsigned char *digits = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9') s->p++;
    size_t nd = (size_t)(s->p - digits);
    if (nd == 0 || (digits[0] == '0' && (nd > 1 || neg))) return false;
    if (s->p < s->end && (*s->p == '.' || *s->p == 'e' || *s->p == 'E')) return false;
    if (nd > 19) return false;
    if (nd == 19) {
        const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
        if (memcmp(digits, lim, 19) > 0) return false;
    }
    return s->p > start;
}

static bool literal(scan *s, const char *lit, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0) return false;
    s->p += n;
    return true;
}

#define CANON_MAX_KEYS 32

static bool canon_object(scan *s, int depth)
{
    const unsigned char *keys[CANON_MAX_KEYS];
    size_t klen[CANON_MAX_KEYS];
    int nkeys = 0;
    s->p++; /* '{' */
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        const unsigned char *k = s->p;
        if (!canon_string(s)) return false;
        /* jansson keeps one member per name: duplicates are not copied as is. */
        if (nkeys == CANON_MAX_KEYS) return false;
        size_t kl = (size_t)(s->p - k);
        for (int i = 0; i < nkeys; i++)
            if (klen[i] == kl && !memcmp(keys[i], k, kl)) return false;
        keys[nkeys] = k;
        klen[nkeys++] = kl;
        if (s->p >= s->end || *s->p != ':') return false;
        s->p++;
        if (!canon_value(s, depth + 1)) return false;
        if (s->p >= s->end) return false;
        if (*s->p == '}') {
            s->p++;
            return true;
        }
        if (*s->p != ',') return false;
        s->p++;
    }
}

static bool canon_array(scan *s, int depth)
{
    s->p++; /* '[' */
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (;;) {
        if (!canon_value(s, depth + 1)) return false;
        if (s->p >= s->end) return false;
        if (*s->p == ']') {
            s->p++;
            return true;
        }
        if (*s->p != ',') return false;
        s->p++;
    }
}

static bool canon_value(scan *s, int depth)
{
    if (s->p >= s->end || depth > CP_JSONW_MAX_DEPTH) return false;
    switch (*s->p) {
    case '{':
        return canon_object(s, depth);
    case '[':
        return canon_array(s, depth);
    case '"':
        return canon_string(s);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        return canon_number(s);
    }
}

bool cp_jsonw_canonical(const char *text, size_t len)
{
    scan s = {(const unsigned char *)text, (const unsigned char *)text + len};
    if (len == 0 || (text[0] != '{' && text[0] != '[')) return false;
    return canon_value(&s, 0) && s.p == s.end;
}

void cp_jsonw_stored(cp_jsonw *w, const char *text)
{
    size_t len = text ? strlen(text) : 0;
    if (text && cp_jsonw_canonical(text, len)) {
        sep(w);
        put(w, text, len);
        return;
    }
    /* Anything else (whitespace, reals, escapes jansson writes otherwise, a
     * broken column) as jansson renders it: the rare path. */
    json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    char *d = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    sep(w);
    if (d)
        put(w, d, strlen(d));
    else
        PUT_LIT(w, "{}");
    free(d);
}
