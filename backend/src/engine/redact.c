#include "engine/redact.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/xalloc.h"

#define JSON_VALUE_MIN 8
/* Redacted output is at most as long as the input plus a little per match. */
#define REDACT_OUT_MAX ((size_t)1 << 30)

typedef struct {
    char *s;
    size_t len;
} pattern;

struct cp_redact {
    pattern *pats; /* kept longest first, so the longest form wins */
    size_t n, cap;
    bool first[256]; /* some pattern starts with this byte: most positions are skipped at once */
};

cp_redact *cp_redact_new(void)
{
    return cp_xcalloc(1, sizeof(cp_redact));
}

void cp_redact_free(cp_redact *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) free(r->pats[i].s);
    free(r->pats);
    free(r);
}

size_t cp_redact_count(const cp_redact *r)
{
    return r ? r->n : 0;
}

static void add_pattern(cp_redact *r, const char *s, size_t len)
{
    if (len < CP_REDACT_MIN_LEN) return;
    for (size_t i = 0; i < r->n; i++)
        if (r->pats[i].len == len && memcmp(r->pats[i].s, s, len) == 0) return;
    if (r->n == r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 16;
        r->pats = cp_xreallocarray(r->pats, ncap, sizeof *r->pats);
        r->cap = ncap;
    }
    char *copy = cp_xmalloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    size_t at = 0;
    while (at < r->n && r->pats[at].len >= len) at++;
    memmove(&r->pats[at + 1], &r->pats[at], (r->n - at) * sizeof *r->pats);
    r->pats[at] = (pattern){copy, len};
    r->n++;
    r->first[(unsigned char)s[0]] = true;
}

/* JSON string escaping without the quotes. go: Go's encoder (lower-case \u00xx,
 * and <, >, & escaped); slash: '/' escaped (jansson's JSON_ESCAPE_SLASH);
 * upper: upper-case hex digits. */
static void add_json_form(cp_redact *r, const char *s, size_t len, bool go, bool slash, bool upper)
{
    cp_buf b;
    cp_buf_init(&b, len * 6 + 16);
    const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t n = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
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
        case '\b':
            esc[1] = go ? 'u' : 'b';
            n = go ? 6 : 2;
            break;
        case '\f':
            esc[1] = go ? 'u' : 'f';
            n = go ? 6 : 2;
            break;
        case '/':
            if (slash)
                esc[1] = '/';
            else
                n = 0;
            break;
        case '<':
        case '>':
        case '&':
            if (go)
                esc[1] = 'u', n = 6;
            else
                n = 0;
            break;
        default:
            if (c < 0x20)
                esc[1] = 'u', n = 6;
            else
                n = 0;
        }
        if (n == 6) {
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
        }
        if (n)
            cp_buf_add(&b, esc, n);
        else
            cp_buf_add(&b, &s[i], 1);
    }
    add_pattern(r, cp_buf_cstr(&b), b.len);
    cp_buf_free(&b);
}

static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Base64 of n bytes into out (4*ceil(n/3)+1 bytes), padded. Returns length. */
static size_t b64(const unsigned char *in, size_t n, const char *alpha, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) v |= in[i + 2];
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alpha[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alpha[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

static void add_base64_forms(cp_redact *r, const char *s, size_t len, const char *alpha)
{
    unsigned char *in = cp_xmalloc(len + 2);
    char *out = cp_xmalloc((len + 2) / 3 * 4 + 8);

    /* Standalone, padded and unpadded. */
    size_t n = b64((const unsigned char *)s, len, alpha, out);
    add_pattern(r, out, n);
    while (n && out[n - 1] == '=') n--;
    add_pattern(r, out, n);
    /* Embedded at byte offset 0, 1 or 2 of a larger blob: only the characters
     * whose 6 bits all come from the secret are predictable. */
    if (len >= JSON_VALUE_MIN) {
        for (size_t off = 0; off < 3; off++) {
            memset(in, 0, off);
            memcpy(in + off, s, len);
            b64(in, len + off, alpha, out);
            size_t start = (8 * off + 5) / 6, end = 8 * (off + len) / 6;
            if (end > start) add_pattern(r, out + start, end - start);
        }
    }
    free(in);
    free(out);
}

static void add_forms(cp_redact *r, const char *secret, size_t len);

void cp_redact_add(cp_redact *r, const char *secret, size_t len)
{
    if (!r || !secret || len < CP_REDACT_MIN_LEN) return;
    add_forms(r, secret, len);
    /* A multi-line secret (a PEM key) is printed line by line as often as whole. */
    if (!memchr(secret, '\n', len)) return;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(secret + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (secret + i)) : len - i;
        size_t m = n;
        if (m && secret[i + m - 1] == '\r') m--;
        if (m >= JSON_VALUE_MIN) add_forms(r, secret + i, m);
        i += n + 1;
    }
}

static void add_forms(cp_redact *r, const char *secret, size_t len)
{
    add_pattern(r, secret, len);
    for (int go = 0; go < 2; go++)
        for (int slash = 0; slash < 2; slash++)
            for (int upper = 0; upper < 2; upper++) add_json_form(r, secret, len, go, slash, upper);
    add_base64_forms(r, secret, len, B64_STD);
    add_base64_forms(r, secret, len, B64_URL);
}

static void add_values(cp_redact *r, json_t *j, int depth)
{
    if (depth > 32) return;
    if (json_is_string(j)) {
        if (json_string_length(j) >= JSON_VALUE_MIN) cp_redact_add(r, json_string_value(j), json_string_length(j));
        return;
    }
    json_t *v;
    if (json_is_object(j)) {
        const char *k;
        json_object_foreach(j, k, v) add_values(r, v, depth + 1);
    } else if (json_is_array(j)) {
        size_t i;
        json_array_foreach(j, i, v) add_values(r, v, depth + 1);
    }
}

cp_result cp_redact_add_json_values(cp_redact *r, const char *json_text)
{
    json_t *j = json_loads(json_text, JSON_DECODE_ANY, NULL);
    if (!j) return CP_EINVAL;
    add_values(r, j, 0);
    json_decref(j);
    return CP_OK;
}

/* One left-to-right pass; *hits counts the matches replaced. */
static char *redact_pass(const cp_redact *r, const char *s, size_t len, size_t *out_len, size_t *hits)
{
    cp_buf b;
    cp_buf_init(&b, REDACT_OUT_MAX);
    size_t i = 0, copied = 0;
    while (r && r->n && i < len) {
        size_t hit = 0;
        if (!r->first[(unsigned char)s[i]]) {
            i++;
            continue;
        }
        for (size_t p = 0; p < r->n && !hit; p++) {
            const pattern *pt = &r->pats[p];
            if (pt->len <= len - i && pt->s[0] == s[i] && memcmp(s + i, pt->s, pt->len) == 0) hit = pt->len;
        }
        if (!hit) {
            i++;
            continue;
        }
        /* Past REDACT_OUT_MAX (far above any line here) text is dropped, never
         * a secret: the match is skipped either way. */
        CP_IGNORE(cp_buf_add(&b, s + copied, i - copied));
        CP_IGNORE(cp_buf_adds(&b, CP_REDACT_MASK));
        i += hit;
        copied = i;
        (*hits)++;
    }
    cp_buf_add(&b, s + copied, len - copied);
    return cp_buf_steal(&b, out_len);
}

char *cp_redact_str(const cp_redact *r, const char *s, size_t len, size_t *out_len)
{
    size_t n, hits = 0;
    char *out = redact_pass(r, s, len, &n, &hits);
    /* A secret holding '*' can be spelled again by a mask and its
     * neighbours ("z***" in "zz***" leaves "z" + "***"): pass again until
     * nothing matches. Each match shrinks the text (patterns are longer than
     * the mask), so this ends; lines without a match take one pass. */
    while (hits) {
        hits = 0;
        char *again = redact_pass(r, out, n, &n, &hits);
        free(out);
        out = again;
    }
    if (out_len) *out_len = n;
    return out;
}

static void redact_json(const cp_redact *r, json_t *j, int depth)
{
    /* Deeper than this (jansson parses up to 2048 levels) a container is
     * emptied, not left unread: its strings may hold an escaped secret. */
    if (depth > 64 && (json_is_array(j) || json_is_object(j))) {
        if (json_is_array(j))
            json_array_clear(j);
        else
            json_object_clear(j);
        return;
    }
    if (json_is_string(j)) {
        size_t n;
        char *red = cp_redact_str(r, json_string_value(j), json_string_length(j), &n);
        if (n != json_string_length(j) || memcmp(red, json_string_value(j), n) != 0)
            json_string_setn_nocheck(j, red, n);
        free(red);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) redact_json(r, v, depth + 1);
    } else if (json_is_object(j)) {
        const char *k;
        json_t *v;
        void *tmp;
        json_t *renamed = NULL;
        json_object_foreach_safe(j, tmp, k, v)
        {
            redact_json(r, v, depth + 1);
            size_t n;
            char *red = cp_redact_str(r, k, strlen(k), &n);
            if (strcmp(red, k) != 0) {
                if (!renamed) renamed = json_object();
                json_object_set(renamed, red, v);
                json_object_del(j, k);
            }
            free(red);
        }
        if (renamed) {
            json_object_update(j, renamed);
            json_decref(renamed);
        }
    }
}

void cp_redact_json(const cp_redact *r, json_t *j)
{
    if (r && r->n) redact_json(r, j, 0);
}
