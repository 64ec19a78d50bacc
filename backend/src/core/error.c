#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
    if (!src) src = "";
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

cp_result cp_error_set(cp_error *err, cp_result result, const char *code, const char *field,
                       const char *fmt, ...)
{
    if (!err) return result;
    err->result = result;
    copy_str(err->code, sizeof err->code, code ? code : cp_result_code(result));
    copy_str(err->field, sizeof err->field, field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return result;
}

void cp_error_clear(cp_error *err)
{
    if (err) memset(err, 0, sizeof *err);
}

int cp_result_http(cp_result r)
{
    switch (r) {
    case CP_OK: return 200;
    case CP_EINVAL: return 400;
    case CP_EAUTH: return 401;
    case CP_EFORBIDDEN: return 403;
    case CP_ENOTFOUND: return 404;
    case CP_EMETHOD: return 405;
    case CP_ECONFLICT: return 409;
    case CP_ETOOBIG: return 413;
    case CP_EMEDIA: return 415;
    case CP_EUNPROC: return 422;
    case CP_ERATE: return 429;
    case CP_EAGAIN: return 503;
    case CP_ERR:
    case CP_EDECLINED:
    default: return 500;
    }
}

const char *cp_result_code(cp_result r)
{
    switch (r) {
    case CP_OK: return "ok";
    case CP_EINVAL: return "bad_request";
    case CP_EAUTH: return "unauthorized";
    case CP_EFORBIDDEN: return "forbidden";
    case CP_ENOTFOUND: return "not_found";
    case CP_EMETHOD: return "method_not_allowed";
    case CP_ECONFLICT: return "conflict";
    case CP_ETOOBIG: return "payload_too_large";
    case CP_EMEDIA: return "unsupported_media_type";
    case CP_EUNPROC: return "validation_failed";
    case CP_ERATE: return "rate_limited";
    case CP_EAGAIN: return "unavailable";
    default: return "internal";
    }
}
