#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_text(char *dst, size_t cap, const char *src)
{
    if (!src) src = "";
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Bytes of the UTF-8 sequence at s (1 to 4), or 0 when it is not a valid one
 * (a stray continuation, an overlong form, a surrogate, past U+10FFFF, cut short). */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return n;
}

/* Drops in place what is not valid UTF-8. Bounded copies ("%.40s", the fixed
 * buffers) can cut a character of user input in two, and JSON cannot carry the
 * half: the error body would be lost. */
static void utf8_scrub(char *text)
{
    unsigned char *r = (unsigned char *)text, *w = r;
    while (*r) {
        size_t n = utf8_seq(r);
        if (n == 0) {
            r++;
            continue;
        }
        memmove(w, r, n);
        w += n;
        r += n;
    }
    *w = '\0';
}

static void set_v(cp_error *err, cp_result result, cp_reason reason, const char *code, const char *field,
                  const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
static void set_v(cp_error *err, cp_result result, cp_reason reason, const char *code, const char *field,
                  const char *fmt, va_list ap)
{
    err->result = result;
    err->reason = reason;
    set_text(err->code, sizeof err->code, code ? code : cp_result_code(result));
    set_text(err->field, sizeof err->field, field);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    utf8_scrub(err->field);
    utf8_scrub(err->message);
}

cp_result cp_error_set(cp_error *err, cp_result result, const char *code, const char *field, const char *fmt, ...)
{
    if (!err) return result;
    va_list ap;
    va_start(ap, fmt);
    set_v(err, result, CP_REASON_NONE, code, field, fmt, ap);
    va_end(ap);
    return result;
}

cp_result cp_error_set_reason(cp_error *err, cp_result result, cp_reason reason, const char *field, const char *fmt,
                              ...)
{
    if (!err) return result;
    va_list ap;
    va_start(ap, fmt);
    set_v(err, result, reason, cp_reason_code(reason), field, fmt, ap);
    va_end(ap);
    return result;
}

const char *cp_reason_code(cp_reason reason)
{
    switch (reason) {
    case CP_REASON_CANCELED:
        return "canceled";
    case CP_REASON_TIMED_OUT:
        return "timed_out";
    case CP_REASON_STATE_LOCKED:
        return "state_locked";
    case CP_REASON_TOFU_FAILED:
        return "tofu_failed";
    case CP_REASON_LEASE_LOST:
        return "lease_lost";
    case CP_REASON_NONE:
    default:
        return NULL;
    }
}

void cp_error_clear(cp_error *err)
{
    if (err) memset(err, 0, sizeof *err);
}

int cp_result_http(cp_result r)
{
    switch (r) {
    case CP_OK:
        return 200;
    case CP_EINVAL:
        return 400;
    case CP_EAUTH:
        return 401;
    case CP_EFORBIDDEN:
        return 403;
    case CP_ENOTFOUND:
        return 404;
    case CP_EMETHOD:
        return 405;
    case CP_ECONFLICT:
        return 409;
    case CP_ETOOBIG:
        return 413;
    case CP_EMEDIA:
        return 415;
    case CP_EUNPROC:
        return 422;
    case CP_ERATE:
        return 429;
    case CP_EAGAIN:
        return 503;
    case CP_ERR:
    case CP_EDECLINED:
    default:
        return 500;
    }
}

const char *cp_result_code(cp_result r)
{
    switch (r) {
    case CP_OK:
        return "ok";
    case CP_EINVAL:
        return "bad_request";
    case CP_EAUTH:
        return "unauthorized";
    case CP_EFORBIDDEN:
        return "forbidden";
    case CP_ENOTFOUND:
        return "not_found";
    case CP_EMETHOD:
        return "method_not_allowed";
    case CP_ECONFLICT:
        return "conflict";
    case CP_ETOOBIG:
        return "payload_too_large";
    case CP_EMEDIA:
        return "unsupported_media_type";
    case CP_EUNPROC:
        return "validation_failed";
    case CP_ERATE:
        return "rate_limited";
    case CP_EAGAIN:
        return "unavailable";
    default:
        return "internal";
    }
}
